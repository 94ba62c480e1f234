/*
 * test_cluster.c
 *		Unit tests of the duplicate clustering (src/core/cluster.c): the chain case that
 *		single linkage gets wrong, cliques, the floor, never-compared pairs, ties, threshold
 *		edges, clamping, averages of evidence rather than of scores, cluster centers, the
 *		allocator contract, and random matrices checked against a naive reference and the
 *		invariants promised in cluster.h.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"

#define A (&cd_malloc_allocator)
#define MAXN 64
#define RES CD_CLUSTER_RESOLUTION

/* ---------------------------------------------------------------- helpers */

typedef struct Pair
{
	int			i;
	int			j;
	double		s;
} Pair;

/* an n x n matrix of NaN ("never compared") with the given pairs set symmetrically */
static double *
matrix(int n, const Pair *pairs, int npairs)
{
	double	   *m = malloc(sizeof(double) * (size_t) (n > 0 ? n * n : 1));

	for (int k = 0; k < n * n; k++)
		m[k] = NAN;
	for (int k = 0; k < npairs; k++)
	{
		m[pairs[k].i * n + pairs[k].j] = pairs[k].s;
		m[pairs[k].j * n + pairs[k].i] = pairs[k].s;
	}
	return m;
}

static void
set_pair(double *m, int n, int i, int j, double s)
{
	m[i * n + j] = s;
	m[j * n + i] = s;
}

static void
run(int n, const double *m, double t, double f, int *labels)
{
	ck_assert_int_eq(cd_cluster_average_linkage(n, m, t, f, A, labels), 0);
}

static void
assert_labels(const int *got, const int *want, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "labels[%d] = %d, expected %d", i, got[i], want[i]);
}

/* the pair's score as cluster.h defines it: upper triangle, NaN unknown, clamped */
static double
score_of(const double *m, int n, int i, int j, int *known)
{
	double		v = i < j ? m[i * n + j] : m[j * n + i];

	if (isnan(v))
	{
		*known = 0;
		return 0;
	}
	*known = 1;
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/*
 * The threshold on the evidence scale: unreachable (2) above 1 or NaN, reached by all at
 * 0; cd_cluster_evidence itself is checked against its definition in test_evidence.
 */
static double
threshold_ev(double t)
{
	if (isnan(t) || t > 1 + RES / 2)
		return 2;
	return t <= 0 ? 0 : cd_cluster_evidence(t);
}

static int64_t
key_of(double avg)
{
	if (!(avg > 0))
		avg = 0;
	if (avg > 1)
		avg = 1;
	return llround(avg * 1e9);
}

/* sum of cross evidence of clusters la and lb, and whether a scored pair is below floor */
static double
cross(const double *m, int n, const int *lab, int la, int lb, double f, int *apart,
	  int *pairs)
{
	double		sum = 0;

	*apart = 0;
	*pairs = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
		{
			int			known;
			double		v;

			if (lab[i] != la || lab[j] != lb || i == j)
				continue;
			v = score_of(m, n, i, j, &known);
			sum += cd_cluster_evidence(v);
			(*pairs)++;
			if (known && v < f)
				*apart = 1;
		}
	return sum;
}

/* naive reference: every merge recomputes every cluster pair from the node pairs */
static void
reference(int n, const double *m, double t, double f, int *lab)
{
	int64_t		tkey = llround(threshold_ev(t) * 1e9);

	for (int i = 0; i < n; i++)
		lab[i] = i;
	for (;;)
	{
		int			bp = -1,
					bq = -1;
		int64_t		bk = 0;

		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++)
			{
				int			apart,
							pairs;
				double		sum;
				int64_t		k;

				if (lab[p] != p || lab[q] != q)
					continue;
				sum = cross(m, n, lab, p, q, f, &apart, &pairs);
				if (apart)
					continue;
				k = key_of(sum / pairs);
				if (bp < 0 || k > bk)
				{
					bp = p;
					bq = q;
					bk = k;
				}
			}
		if (bp < 0 || bk < tkey)
			break;
		for (int i = 0; i < n; i++)
			if (lab[i] == bq)
				lab[i] = bp;
	}
}

/* everything cluster.h promises about a result */
static void
check_invariants(int n, const double *m, double t, double f, const int *lab)
{
	for (int i = 0; i < n; i++)
	{
		ck_assert_int_ge(lab[i], 0);
		ck_assert_int_le(lab[i], i);
		ck_assert_int_eq(lab[lab[i]], lab[i]);
	}
	for (int r = 0; r < n; r++)
	{
		int			apart,
					pairs;
		double		sum;

		if (lab[r] != r)
			continue;
		sum = cross(m, n, lab, r, r, f, &apart, &pairs);
		ck_assert_msg(!apart, "cluster %d holds a pair below the floor", r);
		if (pairs > 0)
			ck_assert_msg(sum / pairs >= threshold_ev(t) - RES - 1e-12,
						  "cluster %d average %.12f below threshold %.12f", r, sum / pairs, t);
		/* maximality: no two final clusters may still be mergeable */
		for (int s = r + 1; s < n; s++)
		{
			if (lab[s] != s)
				continue;
			sum = cross(m, n, lab, r, s, f, &apart, &pairs);
			if (!apart)
				ck_assert_msg(sum / pairs < threshold_ev(t) + RES,
							  "clusters %d and %d (average %.12f) should have merged", r, s,
							  sum / pairs);
		}
	}
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

typedef struct CountCtx
{
	int			allocs;
	int			live;
	int			fail;
} CountCtx;

static void *
count_alloc(size_t size, void *ctx)
{
	CountCtx   *c = ctx;

	c->allocs++;
	if (c->fail)
		return NULL;
	c->live++;
	return malloc(size);
}

static void *
count_resize(void *ptr, size_t size, void *ctx)
{
	(void) ctx;
	return realloc(ptr, size);
}

static void
count_release(void *ptr, void *ctx)
{
	CountCtx   *c = ctx;

	c->live--;
	free(ptr);
}

/* ---------------------------------------------------------------- evidence */

/* cd_cluster_evidence against cluster.h's definition, written here from it */
START_TEST(test_evidence)
{
	static const double scores[] = {1e-12, 0.0005, 0.001, 0.05, 0.3, 0.5, 0.7, 0.9, 0.95,
	0.999, 0.9995, 1 - 1e-12};
	double		prev = -1;

	for (size_t k = 0; k < sizeof(scores) / sizeof(scores[0]); k++)
	{
		double		p = scores[k];
		double		bits = log(p / (1 - p)) / log(2.0);
		double		want;
		double		got = cd_cluster_evidence(p);

		bits = bits < -CD_CLUSTER_EVIDENCE_BITS ? -CD_CLUSTER_EVIDENCE_BITS :
			bits > CD_CLUSTER_EVIDENCE_BITS ? CD_CLUSTER_EVIDENCE_BITS : bits;
		want = (bits + CD_CLUSTER_EVIDENCE_BITS) / (2 * CD_CLUSTER_EVIDENCE_BITS);
		ck_assert_msg(fabs(got - want) <= 1.0 / 4294967296.0,
					  "evidence(%g) = %.12f, expected %.12f", p, got, want);
		/* a whole number of steps of 2^-32 */
		ck_assert_double_eq(got * 4294967296.0, round(got * 4294967296.0));
		ck_assert(got >= prev);
		prev = got;
	}
	ck_assert_double_eq(cd_cluster_evidence(0.5), 0.5);
	ck_assert_double_eq(cd_cluster_evidence(0.0), 0.0);
	ck_assert_double_eq(cd_cluster_evidence(1.0), 1.0);
	ck_assert_double_eq(cd_cluster_evidence(-0.5), 0.0);
	ck_assert_double_eq(cd_cluster_evidence(1.5), 1.0);
	ck_assert_double_eq(cd_cluster_evidence(NAN), 0.0);
	ck_assert_double_eq(cd_cluster_evidence(-INFINITY), 0.0);
	ck_assert_double_eq(cd_cluster_evidence(INFINITY), 1.0);
	/* 0.9: log2(9) = 3.17 bits */
	ck_assert_double_eq_tol(cd_cluster_evidence(0.9), (log2(9.0) + 10) / 20, 1e-9);
}
END_TEST

/* ---------------------------------------------------------------- table of cases */

typedef struct ClusterCase
{
	const char *name;
	int			n;
	Pair		pairs[16];
	int			npairs;
	double		threshold;
	double		floor;
	int			want[8];
} ClusterCase;

#define P3(a,b,c) {{0, 1, a}, {1, 2, b}, {0, 2, c}}, 3

static const ClusterCase cases[] = {
	/* the chain: A~B, B~C, A!~C must not become {A,B,C} */
	{"chain, A-C below floor", 3, P3(0.95, 0.95, 0.05), 0.9, 0.2, {0, 0, 2}},
	{"chain, floor 0: the average alone refuses", 3, P3(0.95, 0.95, 0.05), 0.9, 0.0, {0, 0, 2}},
	{"chain, A-C never compared", 3, P3(0.95, 0.95, NAN), 0.9, 0.2, {0, 0, 2}},
	/* never compared counts as the lowest evidence, -10 bits: (4.25 - 10) / 2 bits */
	{"chain, low threshold, A-C never compared", 3, P3(0.95, 0.95, NAN), 0.1, 0.2, {0, 0, 0}},
	{"chain, threshold 0.4, A-C never compared", 3, P3(0.95, 0.95, NAN), 0.4, 0.2, {0, 0, 2}},
	{"chain, low threshold, A-C below floor", 3, P3(0.95, 0.95, 0.05), 0.4, 0.2, {0, 0, 2}},
	{"chain, middle node first", 3, P3(0.05, 0.95, 0.95), 0.9, 0.2, {0, 1, 0}},
	{"chain, stronger B-C wins B", 3, P3(0.95, 0.96, 0.05), 0.9, 0.2, {0, 1, 1}},
	{"triangle, all strong", 3, P3(0.95, 0.93, 0.91), 0.9, 0.2, {0, 0, 0}},
	{"triangle, average just below", 3, P3(0.95, 0.95, 0.79), 0.9, 0.2, {0, 0, 2}},
	{"triangle, average reaches", 3, P3(0.95, 0.95, 0.85), 0.9, 0.2, {0, 0, 0}},
	{"best pair blocked by floor elsewhere", 3, {{0, 2, 0.99}, {0, 1, 0.95}, {1, 2, 0.1}}, 3,
	0.9, 0.2, {0, 1, 0}},
	{"pair at the floor is not below it", 3, P3(0.95, 0.95, 0.2), 0.5, 0.2, {0, 0, 0}},
	{"n = 2 merged", 2, {{0, 1, 0.9}}, 1, 0.9, 0.2, {0, 0}},
	{"n = 2 apart", 2, {{0, 1, 0.89}}, 1, 0.9, 0.2, {0, 1}},
	{"n = 2 never compared", 2, {{0, 1, NAN}}, 1, 0.9, 0.2, {0, 1}},
	{"n = 2 never compared, threshold 0", 2, {{0, 1, NAN}}, 1, 0.0, 0.2, {0, 0}},
	{"n = 2 scored 0, threshold 0, floor 0.2", 2, {{0, 1, 0.0}}, 1, 0.0, 0.2, {0, 1}},
	{"n = 2 scored 0, threshold 0, floor 0", 2, {{0, 1, 0.0}}, 1, 0.0, 0.0, {0, 0}},
	{"threshold above 1", 2, {{0, 1, 1.0}}, 1, 1.01, 0.2, {0, 1}},
	{"threshold NaN", 2, {{0, 1, 1.0}}, 1, NAN, 0.2, {0, 1}},
	{"threshold -inf", 3, {{0, 1, 0.3}}, 1, -INFINITY, 0.2, {0, 0, 0}},
	{"threshold within resolution", 2, {{0, 1, 0.9}}, 1, 0.9 + 1e-10, 0.2, {0, 0}},
	{"threshold beyond resolution", 2, {{0, 1, 0.9}}, 1, 0.9 + 1e-8, 0.2, {0, 1}},
	{"floor NaN: no floor", 3, P3(0.95, 0.95, 0.1), 0.5, NAN, {0, 0, 0}},
	{"same with floor 0.2", 3, P3(0.95, 0.95, 0.1), 0.5, 0.2, {0, 0, 2}},
	{"floor above 1: only never-compared pairs merge", 3, P3(1.0, 1.0, NAN), 0.0, 1.5, {0, 1, 0}},
	{"floor above 1, threshold 0.5: nothing merges", 3, {{0, 1, 1.0}}, 1, 0.5, 1.5, {0, 1, 2}},
	/* 10 bits and -4.25 bits average 2.9 bits, below the 3.2 bits of 0.9 */
	{"score above 1 counts as 1", 3, P3(1.0, 1.5, 0.05), 0.9, 0.01, {0, 0, 2}},
	{"score below 0 counts as 0 and is below floor", 2, {{0, 1, -0.5}}, 1, -1.0, 0.2, {0, 1}},
	{"+inf counts as 1", 2, {{0, 1, INFINITY}}, 1, 1.0, 0.2, {0, 0}},
	{"-inf counts as 0", 2, {{0, 1, -INFINITY}}, 1, 0.0, 0.0, {0, 0}},
	{"equal pairs: the smallest index first", 4, {{0, 1, 0.9}, {1, 2, 0.9}, {2, 3, 0.9}}, 3,
	0.9, 0.2, {0, 0, 2, 2}},
	{"all equal at the threshold: one cluster", 4,
		{{0, 1, 0.9}, {0, 2, 0.9}, {0, 3, 0.9}, {1, 2, 0.9}, {1, 3, 0.9}, {2, 3, 0.9}}, 6,
	0.9, 0.2, {0, 0, 0, 0}},
	{"equal pairs, ties by the second index", 3, {{0, 2, 0.9}, {0, 1, 0.9}, {1, 2, 0.1}}, 3,
	0.9, 0.0, {0, 0, 2}},
	/* scores average 0.77, evidence 6.3 bits (10, 10, -1.2): what cluster.h is about */
	{"two typed badly: evidence joins them", 3, P3(0.9999, 0.3, 0.9999), 0.9, 0.2, {0, 0, 0}},
	/* 0-2 is 40 bits but counts 10: (10 - 9) / 2 bits, not (40 - 9) / 2 */
	{"one sure pair does not outvote", 3, P3(0.9999, 0.002, 1 - 1e-12), 0.9, 0.001, {0, 0, 2}},
	{"weighted average joins a pair", 3, {{0, 1, 1.0}, {0, 2, 0.95}, {1, 2, 0.85}}, 3,
	0.9, 0.2, {0, 0, 0}},
	{"unscored node stays alone", 4, {{0, 1, 0.97}, {1, 2, 0.97}, {0, 2, 0.97}}, 3,
	0.9, 0.2, {0, 0, 0, 3}},
	{"two pairs, weak link", 4, {{0, 1, 0.97}, {2, 3, 0.97}, {1, 2, 0.95}}, 3,
	0.9, 0.2, {0, 0, 2, 2}},
	{"labels are the smallest member", 5, {{4, 1, 0.97}, {3, 0, 0.96}}, 2,
	0.9, 0.2, {0, 1, 2, 0, 1}},
};

START_TEST(test_table)
{
	const ClusterCase *c = &cases[_i];
	double	   *m = matrix(c->n, c->pairs, c->npairs);
	int			labels[8];

	run(c->n, m, c->threshold, c->floor, labels);
	for (int i = 0; i < c->n; i++)
		ck_assert_msg(labels[i] == c->want[i], "%s: labels[%d] = %d, expected %d",
					  c->name, i, labels[i], c->want[i]);
	check_invariants(c->n, m, c->threshold, c->floor, labels);
	free(m);
}
END_TEST

/* ---------------------------------------------------------------- structural cases */

START_TEST(test_clique_of_five)
{
	double	   *m = matrix(5, NULL, 0);
	int			labels[5];
	int			want[5] = {0, 0, 0, 0, 0};

	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			set_pair(m, 5, i, j, 0.97);
	run(5, m, 0.9, 0.2, labels);
	assert_labels(labels, want, 5);
	ck_assert_int_eq(cd_cluster_center(5, m, labels, 0), 0);
	free(m);
}
END_TEST

/* two cliques of 3 joined by one edge weaker than the cliques but above the threshold */
START_TEST(test_two_cliques_one_edge)
{
	double	   *m = matrix(6, NULL, 0);
	int			labels[6];
	int			want[6] = {0, 0, 0, 3, 3, 3};

	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
		{
			set_pair(m, 6, i, j, 0.97);
			set_pair(m, 6, i + 3, j + 3, 0.97);
		}
	set_pair(m, 6, 2, 3, 0.95);
	run(6, m, 0.9, 0.2, labels);
	assert_labels(labels, want, 6);
	/* the same with the other cross pairs scored low: still two */
	for (int i = 0; i < 3; i++)
		for (int j = 3; j < 6; j++)
			if (!(i == 2 && j == 3))
				set_pair(m, 6, i, j, 0.1);
	run(6, m, 0.9, 0.2, labels);
	assert_labels(labels, want, 6);
	check_invariants(6, m, 0.9, 0.2, labels);
	free(m);
}
END_TEST

/*
 * An edge stronger than the cliques merges first (greedy agglomeration), and then neither
 * clique may take that pair: three clusters, never one.  Pinned so the behaviour is known.
 */
START_TEST(test_two_cliques_stronger_edge)
{
	double	   *m = matrix(6, NULL, 0);
	int			labels[6];
	int			want[6] = {0, 0, 2, 2, 4, 4};

	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
		{
			set_pair(m, 6, i, j, 0.97);
			set_pair(m, 6, i + 3, j + 3, 0.97);
		}
	set_pair(m, 6, 2, 3, 0.99);
	run(6, m, 0.9, 0.2, labels);
	assert_labels(labels, want, 6);
	check_invariants(6, m, 0.9, 0.2, labels);
	free(m);
}
END_TEST

/* a long chain of strong neighbours never becomes one cluster */

/* components: labels are the smallest node of each component, whatever the edge order */
START_TEST(test_components_basic)
{
	int			a[] = {4, 1, 5, 2, 9};
	int			b[] = {5, 2, 6, 0, 9};
	int			labels[10];
	int			want[] = {0, 0, 0, 3, 4, 4, 4, 7, 8, 9};

	ck_assert_int_eq(cd_components(10, 5, a, b, labels), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(labels[i], want[i]);
}
END_TEST

/* random graphs against a naive fixed point of min-label propagation */
START_TEST(test_components_random)
{
	enum
	{
		N = 300, M = 280
	};
	int			a[M];
	int			b[M];
	int			labels[N];
	int			ref[N];
	unsigned	seed = 12345;

	for (int round = 0; round < 50; round++)
	{
		bool		changed = true;

		for (int k = 0; k < M; k++)
		{
			seed = seed * 1103515245u + 12345u;
			a[k] = (int) ((seed >> 8) % N);
			seed = seed * 1103515245u + 12345u;
			b[k] = (int) ((seed >> 8) % (N + 2)) - 1;	/* a few out of range: ignored */
		}
		for (int i = 0; i < N; i++)
			ref[i] = i;
		while (changed)
		{
			changed = false;
			for (int k = 0; k < M; k++)
			{
				int			lo;

				if (b[k] < 0 || b[k] >= N)
					continue;
				lo = ref[a[k]] < ref[b[k]] ? ref[a[k]] : ref[b[k]];
				if (ref[a[k]] != lo || ref[b[k]] != lo)
				{
					ref[a[k]] = ref[b[k]] = lo;
					changed = true;
				}
			}
		}
		ck_assert_int_eq(cd_components(N, M, a, b, labels), 0);
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(labels[i], ref[i]);
		/* the same edges in batches of varying size, with final labels in between */
		ck_assert_int_eq(cd_components(N, 0, NULL, NULL, labels), 0);
		for (int k = 0; k < M;)
		{
			int			len = 1 + (k * 7 + round) % 37;

			if (len > M - k)
				len = M - k;
			ck_assert_int_eq(cd_components_add(N, len, a + k, b + k, labels), 0);
			if (k % 3 == 0)
				ck_assert_int_eq(cd_components_finish(N, labels), 0);
			k += len;
		}
		ck_assert_int_eq(cd_components_finish(N, labels), 0);
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(labels[i], ref[i]);
	}
}
END_TEST

START_TEST(test_components_bad_arguments)
{
	int			labels[2] = {7, 7};
	int			a[] = {0};

	ck_assert_int_eq(cd_components(-1, 0, NULL, NULL, labels), -1);
	ck_assert_int_eq(cd_components(2, -1, a, a, labels), -1);
	ck_assert_int_eq(cd_components(2, 1, NULL, a, labels), -1);
	ck_assert_int_eq(cd_components(2, 0, NULL, NULL, NULL), -1);
	ck_assert_int_eq(labels[0], 7);
	ck_assert_int_eq(cd_components(0, 0, NULL, NULL, NULL), 0);
	ck_assert_int_eq(cd_components_add(-1, 0, NULL, NULL, labels), -1);
	ck_assert_int_eq(cd_components_add(2, 1, a, NULL, labels), -1);
	ck_assert_int_eq(cd_components_add(2, 0, NULL, NULL, NULL), -1);
	ck_assert_int_eq(cd_components_finish(-1, labels), -1);
	ck_assert_int_eq(cd_components_finish(2, NULL), -1);
	ck_assert_int_eq(labels[0], 7);
	ck_assert_int_eq(cd_components_add(0, 0, NULL, NULL, NULL), 0);
	ck_assert_int_eq(cd_components_finish(0, NULL), 0);
}
END_TEST

START_TEST(test_long_chain)
{
	enum
	{
		N = 12
	};
	double	   *m = matrix(N, NULL, 0);
	int			labels[N];
	int			largest = 0;

	for (int i = 0; i + 1 < N; i++)
		set_pair(m, N, i, i + 1, 0.95);
	for (int i = 0; i < N; i++)
		for (int j = i + 2; j < N; j++)
			set_pair(m, N, i, j, 0.05);
	run(N, m, 0.9, 0.2, labels);
	for (int r = 0; r < N; r++)
	{
		int			size = 0;

		for (int i = 0; i < N; i++)
			size += labels[i] == r;
		if (size > largest)
			largest = size;
	}
	ck_assert_int_eq(largest, 2);
	ck_assert_int_eq(labels[0], 0);
	ck_assert_int_eq(labels[1], 0);
	ck_assert_int_eq(labels[2], 2);
	check_invariants(N, m, 0.9, 0.2, labels);
	free(m);
}
END_TEST

/* only the upper triangle is read: lower triangle and diagonal may hold anything */
START_TEST(test_upper_triangle_only)
{
	double	   *m = matrix(3, (Pair[]) {{0, 1, 0.95}, {1, 2, 0.95}, {0, 2, 0.05}}, 3);
	int			labels[3];
	int			want[3] = {0, 0, 2};

	m[1 * 3 + 0] = 0.0;
	m[2 * 3 + 0] = 1.0;
	m[2 * 3 + 1] = NAN;
	for (int i = 0; i < 3; i++)
		m[i * 3 + i] = -7.0;
	run(3, m, 0.9, 0.2, labels);
	assert_labels(labels, want, 3);
	ck_assert_int_eq(cd_cluster_center(3, m, labels, 0), 0);
	free(m);
}
END_TEST

START_TEST(test_all_nan)
{
	double	   *m = matrix(4, NULL, 0);
	int			labels[4];
	int			alone[4] = {0, 1, 2, 3};
	int			one[4] = {0, 0, 0, 0};

	run(4, m, 0.5, 0.2, labels);
	assert_labels(labels, alone, 4);
	run(4, m, 0.0, 0.2, labels);
	assert_labels(labels, one, 4);
	free(m);
}
END_TEST

START_TEST(test_n_one_and_zero)
{
	double		m1 = NAN;
	int			labels[2] = {-5, -5};

	run(1, &m1, 0.9, 0.2, labels);
	ck_assert_int_eq(labels[0], 0);
	ck_assert_int_eq(labels[1], -5);
	ck_assert_int_eq(cd_cluster_center(1, &m1, labels, 0), 0);

	labels[0] = -5;
	ck_assert_int_eq(cd_cluster_average_linkage(0, NULL, 0.9, 0.2, A, labels), 0);
	ck_assert_int_eq(labels[0], -5);
	ck_assert_int_eq(cd_cluster_average_linkage(0, NULL, 0.9, 0.2, A, NULL), 0);
	ck_assert_int_eq(cd_cluster_center(0, &m1, labels, 0), -1);
}
END_TEST

START_TEST(test_bad_arguments)
{
	double		m[4] = {NAN, 0.9, 0.9, NAN};
	int			labels[2] = {-5, -5};

	ck_assert_int_eq(cd_cluster_average_linkage(-1, m, 0.9, 0.2, A, labels), -1);
	ck_assert_int_eq(cd_cluster_average_linkage(CD_CLUSTER_MAX_NODES + 1, m, 0.9, 0.2, A,
												labels), -1);
	ck_assert_int_eq(cd_cluster_average_linkage(2, NULL, 0.9, 0.2, A, labels), -1);
	ck_assert_int_eq(cd_cluster_average_linkage(2, m, 0.9, 0.2, A, NULL), -1);
	ck_assert_int_eq(labels[0], -5);
	ck_assert_int_eq(labels[1], -5);
	ck_assert_int_eq(cd_cluster_center(2, NULL, labels, 0), -1);
	ck_assert_int_eq(cd_cluster_center(2, m, NULL, 0), -1);
	ck_assert_int_eq(cd_cluster_center(-3, m, labels, 0), -1);
}
END_TEST

/* ---------------------------------------------------------------- centers */

START_TEST(test_center_highest_average)
{
	double	   *m = matrix(4, (Pair[]) {{0, 1, 0.9}, {0, 2, 0.95}, {1, 2, 0.8}, {2, 3, 0.1}}, 4);
	int			labels[4] = {0, 0, 0, 3};

	ck_assert_int_eq(cd_cluster_center(4, m, labels, 0), 0);
	ck_assert_int_eq(cd_cluster_center(4, m, labels, 3), 3);
	ck_assert_int_eq(cd_cluster_center(4, m, labels, 1), -1);
	set_pair(m, 4, 1, 2, 0.99);
	/* now, in bits, 0: (3.17 + 4.25) / 2, 1: (3.17 + 6.63) / 2, 2: (4.25 + 6.63) / 2 */
	ck_assert_int_eq(cd_cluster_center(4, m, labels, 0), 2);
	free(m);
}
END_TEST

START_TEST(test_center_ties_and_nan)
{
	double	   *m = matrix(6, (Pair[]) {{3, 5, 0.9}, {0, 2, 0.9}, {1, 2, 0.9}}, 3);
	int			labels[6] = {0, 0, 0, 3, 4, 3};

	ck_assert_int_eq(cd_cluster_center(6, m, labels, 3), 3);
	/* 0-1 never compared counts as -10 bits: 0 and 1 average -3.4 bits, 2 3.17 */
	ck_assert_int_eq(cd_cluster_center(6, m, labels, 0), 2);
	ck_assert_int_eq(cd_cluster_center(6, m, labels, 4), 4);
	/* rounding noise is a tie: the smallest index wins */
	set_pair(m, 6, 0, 1, 0.9);
	set_pair(m, 6, 0, 2, 0.1 + 0.2);
	set_pair(m, 6, 1, 2, 0.3);
	/* 0: .9 and .30000000000000004, 1: .9 and .3: the same evidence */
	ck_assert_int_eq(cd_cluster_center(6, m, labels, 0), 0);
	free(m);
}
END_TEST

START_TEST(test_center_chain_result)
{
	double	   *m = matrix(3, (Pair[]) {{0, 1, 0.95}, {1, 2, 0.95}, {0, 2, 0.05}}, 3);
	int			labels[3];

	run(3, m, 0.9, 0.2, labels);
	ck_assert_int_eq(cd_cluster_center(3, m, labels, labels[0]), 0);
	ck_assert_int_eq(cd_cluster_center(3, m, labels, labels[2]), 2);
	free(m);
}
END_TEST

/* ---------------------------------------------------------------- memory */

START_TEST(test_small_no_alloc)
{
	CountCtx	cc = {0, 0, 1};
	CdAllocator al = {count_alloc, count_resize, count_release, &cc};
	int			n = CD_CLUSTER_LOCAL_NODES;
	double	   *m = matrix(n, NULL, 0);
	int			labels[CD_CLUSTER_LOCAL_NODES];

	for (int i = 0; i + 1 < n; i++)
		set_pair(m, n, i, i + 1, 0.95);
	ck_assert_int_eq(cd_cluster_average_linkage(n, m, 0.9, 0.2, &al, labels), 0);
	ck_assert_int_eq(cc.allocs, 0);
	ck_assert_int_eq(cd_cluster_average_linkage(n, m, 0.9, 0.2, NULL, labels), 0);
	free(m);
}
END_TEST

START_TEST(test_large_alloc_released)
{
	CountCtx	cc = {0, 0, 0};
	CdAllocator al = {count_alloc, count_resize, count_release, &cc};
	int			n = CD_CLUSTER_LOCAL_NODES + 1;
	double	   *m = matrix(n, NULL, 0);
	int			labels[CD_CLUSTER_LOCAL_NODES + 1];

	for (int i = 0; i + 1 < n; i++)
		set_pair(m, n, i, i + 1, 0.95);
	ck_assert_int_eq(cd_cluster_average_linkage(n, m, 0.9, 0.2, &al, labels), 0);
	ck_assert_int_eq(cc.allocs, 1);
	ck_assert_int_eq(cc.live, 0);
	check_invariants(n, m, 0.9, 0.2, labels);
	free(m);
}
END_TEST

START_TEST(test_nomem)
{
	CountCtx	cc = {0, 0, 1};
	CdAllocator al = {count_alloc, count_resize, count_release, &cc};
	int			n = 40;
	double	   *m = matrix(n, NULL, 0);
	int			labels[40];

	for (int i = 0; i < n; i++)
		labels[i] = -5;
	ck_assert_int_eq(cd_cluster_average_linkage(n, m, 0.9, 0.2, &al, labels), -1);
	ck_assert_int_eq(cd_cluster_average_linkage(n, m, 0.9, 0.2, NULL, labels), -1);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(labels[i], -5);
	free(m);
}
END_TEST

/* ---------------------------------------------------------------- random matrices */

/* a random component: scores on a 1/64 grid (exact sums), some never compared */
static double *
random_matrix(int n, int nan_pct, int grid)
{
	double	   *m = matrix(n, NULL, 0);

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
		{
			if ((int) (rng() % 100) < nan_pct)
				continue;
			if (grid)
				set_pair(m, n, i, j, (double) (rng() % 65) / 64.0);
			else
				set_pair(m, n, i, j, (double) (rng() >> 11) / 9007199254740992.0);
		}
	return m;
}

/* exact agreement with the naive reference on grid scores, and every invariant */
START_TEST(test_random_vs_reference)
{
	rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t) _i;
	for (int iter = 0; iter < 400; iter++)
	{
		int			n = 2 + (int) (rng() % 30);
		int			nan_pct = (int) (rng() % 90);
		static const double ts[] = {0.0, 0.25, 0.5, 0.75, 0.9, 1.0};
		double		t = ts[rng() % 6];
		double		f = (double) (rng() % 5) / 8.0;
		double	   *m = random_matrix(n, nan_pct, 1);
		int			got[MAXN],
					want[MAXN],
					again[MAXN];

		/* sometimes make ties everywhere: only a few distinct scores */
		if (iter % 3 == 0)
			for (int i = 0; i < n * n; i++)
				if (!isnan(m[i]))
					m[i] = m[i] < 0.5 ? 0.25 : 0.9375;
		run(n, m, t, f, got);
		reference(n, m, t, f, want);
		for (int i = 0; i < n; i++)
			ck_assert_msg(got[i] == want[i],
						  "iter %d n %d t %.3f f %.3f: labels[%d] = %d, reference %d",
						  iter, n, t, f, i, got[i], want[i]);
		check_invariants(n, m, t, f, got);
		run(n, m, t, f, again);
		assert_labels(again, got, n);
		free(m);
	}
}
END_TEST

/* arbitrary doubles (no exact ties): the invariants, and centers are members */
START_TEST(test_random_invariants)
{
	rng_state = 0xD1B54A32D192ED03ULL + (uint64_t) _i;
	for (int iter = 0; iter < 300; iter++)
	{
		int			n = 1 + (int) (rng() % MAXN);
		double		t = (double) (rng() % 1000) / 1000.0;
		double		f = (double) (rng() % 400) / 1000.0;
		double	   *m = random_matrix(n, (int) (rng() % 95), 0);
		int			got[MAXN];

		run(n, m, t, f, got);
		check_invariants(n, m, t, f, got);
		for (int i = 0; i < n; i++)
		{
			int			c = cd_cluster_center(n, m, got, got[i]);

			ck_assert_int_ge(c, 0);
			ck_assert_int_eq(got[c], got[i]);
		}
		free(m);
	}
}
END_TEST

/* larger components agree with the reference too (fewer of them: the reference is slow) */
START_TEST(test_random_vs_reference_large)
{
	rng_state = 0x243F6A8885A308D3ULL;
	for (int iter = 0; iter < 6; iter++)
	{
		int			n = 40 + (int) (rng() % 25);
		double	   *m = random_matrix(n, 50, 1);
		int			got[MAXN],
					want[MAXN];

		run(n, m, 0.5, 0.1, got);
		reference(n, m, 0.5, 0.1, want);
		assert_labels(got, want, n);
		free(m);
	}
}
END_TEST

/* ---------------------------------------------------------------- limits and timing */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
time_case(const char *what, int n, double *m, double t)
{
	int		   *labels = malloc(sizeof(int) * (size_t) n);
	double		t0 = now_ms();
	int			clusters = 0;

	run(n, m, t, 0.2, labels);
	for (int i = 0; i < n; i++)
	{
		ck_assert_int_le(labels[i], i);
		ck_assert_int_eq(labels[labels[i]], labels[i]);
		clusters += labels[i] == i;
	}
	printf("cluster timing: %-44s n=%d: %8.1f ms, %d clusters\n", what, n, now_ms() - t0,
		   clusters);
	free(labels);
}

START_TEST(test_max_nodes_timing)
{
	int			n = CD_CLUSTER_MAX_NODES;
	double	   *m = malloc(sizeof(double) * (size_t) n * (size_t) n);
	int			labels[10];

	for (size_t k = 0; k < (size_t) n * (size_t) n; k++)
		m[k] = 0.95;
	time_case("all pairs 0.95 (everything merges)", n, m, 0.9);

	rng_state = 7;
	for (size_t k = 0; k < (size_t) n * (size_t) n; k++)
		m[k] = (double) (rng() >> 11) / 9007199254740992.0;
	time_case("uniform random scores, threshold 0.5", n, m, 0.5);

	/* blocks of 10 near-duplicates, other pairs never compared */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			m[(size_t) i * n + j] = i / 10 == j / 10 ? 0.9 + (double) (rng() % 100) / 1000 : NAN;
	time_case("blocks of 10, other pairs never compared", n, m, 0.9);

	/* a path: each node strong with the next only */
	for (size_t k = 0; k < (size_t) n * (size_t) n; k++)
		m[k] = NAN;
	for (int i = 0; i + 1 < n; i++)
		m[(size_t) i * n + i + 1] = 0.95;
	time_case("path of strong neighbours", n, m, 0.9);

	ck_assert_int_eq(cd_cluster_average_linkage(n + 1, m, 0.9, 0.2, A, labels), -1);
	free(m);
}
END_TEST

static Suite *
cluster_suite(void)
{
	Suite	   *s = suite_create("cluster");
	TCase	   *tc;

	tc = tcase_create("evidence");
	tcase_add_test(tc, test_evidence);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_loop_test(tc, test_table, 0, (int) (sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_add_test(tc, test_clique_of_five);
	tcase_add_test(tc, test_two_cliques_one_edge);
	tcase_add_test(tc, test_two_cliques_stronger_edge);
	tcase_add_test(tc, test_long_chain);
	tcase_add_test(tc, test_upper_triangle_only);
	tcase_add_test(tc, test_all_nan);
	tcase_add_test(tc, test_n_one_and_zero);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("center");
	tcase_add_test(tc, test_center_highest_average);
	tcase_add_test(tc, test_center_ties_and_nan);
	tcase_add_test(tc, test_center_chain_result);
	suite_add_tcase(s, tc);

	tc = tcase_create("components");
	tcase_add_test(tc, test_components_basic);
	tcase_add_test(tc, test_components_random);
	tcase_add_test(tc, test_components_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_small_no_alloc);
	tcase_add_test(tc, test_large_alloc_released);
	tcase_add_test(tc, test_nomem);
	suite_add_tcase(s, tc);

	tc = tcase_create("properties");
	tcase_add_loop_test(tc, test_random_vs_reference, 0, 4);
	tcase_add_loop_test(tc, test_random_invariants, 0, 3);
	tcase_add_test(tc, test_random_vs_reference_large);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_max_nodes_timing);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner    *sr = srunner_create(cluster_suite());
	int			failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
