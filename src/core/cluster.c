/*
 * cluster.c
 *		Average-linkage clustering of one component of scored duplicate candidates, with a
 *		cannot-link floor.  See cluster.h for the definitions.
 *
 * The clusters keep, for every pair of live clusters, the sum of their cross-pair scores
 * and whether any cross pair is below the floor; merging q into p adds q's row into p's.
 * Each live cluster p also caches its best partner among the live clusters above it
 * (highest average, smallest index on ties), so a merge only rescans the rows whose
 * best partner was one of the two merged clusters instead of every pair.  Scanning the
 * cached bests in index order then yields the lexicographically first best pair.
 */
#include "cluster.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* averages are compared as integer multiples of CD_CLUSTER_RESOLUTION */
#define KEY_SCALE 1e9

/* scratch of a component: see cluster_layout() */
typedef struct ClusterWork
{
	int			n;
	double	   *sum;			/* upper triangle: sum of cross-pair evidence */
	unsigned char *apart;		/* upper triangle: some cross pair is below the floor */
	int64_t    *best_key;		/* per cluster: key of its best partner above it */
	int		   *best;			/* per cluster: that partner, or -1 */
	int		   *size;			/* per cluster: members; 0 once merged away */
	int		   *parent;			/* per node: the cluster it was merged into, or itself */
} ClusterWork;

/* offset of pair (p, q), p < q, in an upper-triangle array of n nodes */
static inline size_t
tri_index(int n, int p, int q)
{
	return (size_t) p * (size_t) (2 * n - p - 1) / 2 + (size_t) (q - p - 1);
}

/* score of nodes i < j, clamped to [0,1]; *known is false for NaN ("never compared") */
static inline double
read_score(const double *scores, int n, int i, int j, bool *known)
{
	double		v = scores[(size_t) i * (size_t) n + (size_t) j];

	if (isnan(v))
	{
		*known = false;
		return 0.0;
	}
	*known = true;
	if (v < 0.0)
		return 0.0;
	if (v > 1.0)
		return 1.0;
	return v;
}

/* evidence is a whole number of these steps (2^-32 of the scale, 5e-9 bits) */
#define EVIDENCE_STEPS 4294967296.0

/* see cluster.h; the sums of a component (at most 2,000^2 / 4 cross pairs) stay exact */
double
cd_cluster_evidence(double p)
{
	double		bits;

	if (!(p > 0.0))
		return 0.0;				/* 0 and below, and NaN */
	if (p >= 1.0)
		return 1.0;
	bits = log2(p) - log2(1.0 - p);
	if (bits <= -CD_CLUSTER_EVIDENCE_BITS)
		return 0.0;
	if (bits >= CD_CLUSTER_EVIDENCE_BITS)
		return 1.0;
	return round((bits + CD_CLUSTER_EVIDENCE_BITS) / (2.0 * CD_CLUSTER_EVIDENCE_BITS) *
				 EVIDENCE_STEPS) / EVIDENCE_STEPS;
}

/* an average in [0,1] as an integer key; rounding noise of equal scores vanishes */
static inline int64_t
average_key(double sum, double pairs)
{
	double		avg = sum / pairs;

	if (!(avg > 0.0))
		avg = 0.0;
	else if (avg > 1.0)
		avg = 1.0;
	return (int64_t) llround(avg * KEY_SCALE);
}

/*
 * The threshold as evidence, on the same scale: NaN and anything above 1 (beyond
 * rounding) can never be reached, 0 and below are reached by every average.
 */
static int64_t
threshold_key(double threshold)
{
	if (isnan(threshold) || threshold > 1.0 + CD_CLUSTER_RESOLUTION / 2)
		return (int64_t) (3 * KEY_SCALE);
	if (threshold <= 0.0)
		return 0;
	return (int64_t) llround(cd_cluster_evidence(threshold) * KEY_SCALE);
}

/* offset of pair (a, b) of live clusters, a != b, in either order */
static inline size_t
pair_index(const ClusterWork *w, int a, int b)
{
	return a < b ? tri_index(w->n, a, b) : tri_index(w->n, b, a);
}

/* recompute the best partner of cluster p among the live clusters above it */
static void
rescan_row(ClusterWork *w, int p)
{
	int			n = w->n;
	int			best = -1;
	int64_t		best_key = 0;
	size_t		base = tri_index(n, p, p + 1);

	for (int q = p + 1; q < n; q++)
	{
		int64_t		key;

		if (w->size[q] == 0 || w->apart[base + (size_t) (q - p - 1)])
			continue;
		key = average_key(w->sum[base + (size_t) (q - p - 1)],
						  (double) w->size[p] * (double) w->size[q]);
		if (best < 0 || key > best_key)
		{
			best = q;
			best_key = key;
		}
	}
	w->best[p] = best;
	w->best_key[p] = best_key;
}

/* merge cluster q into cluster p (p < q, both live) and repair the cached bests */
static void
merge_clusters(ClusterWork *w, int p, int q)
{
	int			n = w->n;

	for (int k = 0; k < n; k++)
	{
		size_t		pk,
					qk;

		if (k == p || k == q || w->size[k] == 0)
			continue;
		pk = pair_index(w, p, k);
		qk = pair_index(w, q, k);
		w->sum[pk] += w->sum[qk];
		w->apart[pk] |= w->apart[qk];
	}
	w->size[p] += w->size[q];
	w->size[q] = 0;
	w->best[q] = -1;
	w->parent[q] = p;

	rescan_row(w, p);
	for (int k = 0; k < q; k++)
	{
		if (k == p || w->size[k] == 0)
			continue;
		if (w->best[k] == q || (k < p && w->best[k] == p))
			rescan_row(w, k);
		else if (k < p)
		{
			/* only the pair (k, p) changed in row k: it may now beat the cached best */
			size_t		kp = tri_index(n, k, p);
			int64_t		key;

			if (w->apart[kp])
				continue;
			key = average_key(w->sum[kp], (double) w->size[k] * (double) w->size[p]);
			if (w->best[k] < 0 || key > w->best_key[k] ||
				(key == w->best_key[k] && p < w->best[k]))
			{
				w->best[k] = p;
				w->best_key[k] = key;
			}
		}
	}
}

/* bytes of scratch for n nodes */
static size_t
cluster_bytes(int n)
{
	size_t		pairs = (size_t) n * (size_t) (n - 1) / 2;

	return pairs * (sizeof(double) + 1) +
		(size_t) n * (sizeof(int64_t) + 3 * sizeof(int));
}

/* where each array starts in the scratch (largest alignment first) */
static void
cluster_layout(int n, char *base, ClusterWork *w)
{
	size_t		pairs = (size_t) n * (size_t) (n - 1) / 2;
	size_t		off = 0;

	w->n = n;
	w->sum = (double *) (base + off);
	off += pairs * sizeof(double);
	w->best_key = (int64_t *) (base + off);
	off += (size_t) n * sizeof(int64_t);
	w->best = (int *) (base + off);
	off += (size_t) n * sizeof(int);
	w->size = (int *) (base + off);
	off += (size_t) n * sizeof(int);
	w->parent = (int *) (base + off);
	off += (size_t) n * sizeof(int);
	w->apart = (unsigned char *) (base + off);
}

#define LOCAL_PAIRS (CD_CLUSTER_LOCAL_NODES * (CD_CLUSTER_LOCAL_NODES - 1) / 2)
#define LOCAL_BYTES (LOCAL_PAIRS * (sizeof(double) + 1) + \
					 CD_CLUSTER_LOCAL_NODES * (sizeof(int64_t) + 3 * sizeof(int)))

int
cd_cluster_average_linkage(int n, const double *scores, double threshold,
						   double floor_score, const CdAllocator *al, int *labels)
{
	union
	{
		max_align_t align;
		char		bytes[LOCAL_BYTES];
	}			local;
	char	   *mem = local.bytes;
	bool		heap = false;
	ClusterWork w;
	int64_t		tkey = threshold_key(threshold);

	if (n < 0 || n > CD_CLUSTER_MAX_NODES)
		return -1;
	if (n == 0)
		return 0;
	if (scores == NULL || labels == NULL)
		return -1;
	if (n == 1)
	{
		labels[0] = 0;
		return 0;
	}
	if (n > CD_CLUSTER_LOCAL_NODES)
	{
		if (al == NULL)
			return -1;
		mem = al->alloc(cluster_bytes(n), al->ctx);
		if (mem == NULL)
			return -1;
		heap = true;
	}
	cluster_layout(n, mem, &w);

	for (int p = 0; p < n; p++)
	{
		w.size[p] = 1;
		w.parent[p] = p;
		for (int q = p + 1; q < n; q++)
		{
			bool		known;
			double		v = read_score(scores, n, p, q, &known);
			size_t		pq = tri_index(n, p, q);

			w.sum[pq] = cd_cluster_evidence(v);
			/* written as !(v >= floor) would make a NaN floor forbid everything */
			w.apart[pq] = known && v < floor_score;
		}
	}
	for (int p = 0; p < n; p++)
		rescan_row(&w, p);

	for (;;)
	{
		int			p = -1;

		/* a merged average is a weighted mean of the old ones: the best never rises */
		for (int k = 0; k < n; k++)
		{
			if (w.size[k] == 0 || w.best[k] < 0)
				continue;
			if (p < 0 || w.best_key[k] > w.best_key[p])
				p = k;
		}
		if (p < 0 || w.best_key[p] < tkey)
			break;
		merge_clusters(&w, p, w.best[p]);
	}

	/* parents always have smaller indexes, so one pass in index order resolves roots */
	for (int i = 0; i < n; i++)
		labels[i] = w.parent[i] == i ? i : labels[w.parent[i]];

	if (heap)
		al->release(mem, al->ctx);
	return 0;
}

int
cd_cluster_center(int n, const double *scores, const int *labels, int cluster_label)
{
	int			center = -1;
	int			first = -1;
	int			members = 0;
	int64_t		center_key = 0;

	if (n <= 0 || scores == NULL || labels == NULL)
		return -1;
	for (int i = 0; i < n; i++)
	{
		if (labels[i] != cluster_label)
			continue;
		if (first < 0)
			first = i;
		members++;
	}
	if (members <= 1)
		return first;

	for (int i = first; i < n; i++)
	{
		double		sum = 0.0;
		int64_t		key;

		if (labels[i] != cluster_label)
			continue;
		for (int j = first; j < n; j++)
		{
			bool		known;

			if (j == i || labels[j] != cluster_label)
				continue;
			sum += cd_cluster_evidence(j > i ? read_score(scores, n, i, j, &known)
									   : read_score(scores, n, j, i, &known));
		}
		key = average_key(sum, (double) (members - 1));
		if (center < 0 || key > center_key)
		{
			center = i;
			center_key = key;
		}
	}
	return center;
}

static int
component_root(int *labels, int x)
{
	while (labels[x] != x)
	{
		labels[x] = labels[labels[x]];	/* path halving: parents only get smaller */
		x = labels[x];
	}
	return x;
}

int
cd_components_add(int n, int m, const int *a, const int *b, int *labels)
{
	if (n < 0 || m < 0 || (n > 0 && labels == NULL) || (m > 0 && (a == NULL || b == NULL)))
		return -1;
	for (int k = 0; k < m; k++)
	{
		int			ra;
		int			rb;

		if (a[k] < 0 || a[k] >= n || b[k] < 0 || b[k] >= n)
			continue;
		ra = component_root(labels, a[k]);
		rb = component_root(labels, b[k]);
		if (ra < rb)
			labels[rb] = ra;
		else if (rb < ra)
			labels[ra] = rb;
	}
	return 0;
}

int
cd_components_finish(int n, int *labels)
{
	if (n < 0 || (n > 0 && labels == NULL))
		return -1;
	/* parents precede children, so in index order every parent is already final */
	for (int i = 0; i < n; i++)
		labels[i] = labels[labels[i]];
	return 0;
}

int
cd_components(int n, int m, const int *a, const int *b, int *labels)
{
	if (n < 0 || m < 0 || (n > 0 && labels == NULL) || (m > 0 && (a == NULL || b == NULL)))
		return -1;
	for (int i = 0; i < n; i++)
		labels[i] = i;
	(void) cd_components_add(n, m, a, b, labels);
	return cd_components_finish(n, labels);
}
