/*
 * fuzz_cluster.c
 *		libFuzzer harness for the duplicate clustering (src/core/cluster.c).
 *
 * Input layout: byte 0 picks n (0..71), byte 1 the mode, bytes 2 and 3 the threshold and
 * the floor, then one byte per upper-triangle pair in row order (missing bytes: never
 * compared); the lower triangle and the diagonal get the leftover bytes, or garbage, since
 * they must not be read.  In grid mode scores are multiples of 1/128 (a few dozen
 * distinct values, so ties are common), their evidence is a whole number of steps, sums
 * are exact, and the result must equal a naive reference bit for bit; otherwise the bytes
 * pick arbitrary doubles and only the invariants of cluster.h are checked.  Score bytes also
 * map to NaN, +-inf and values outside [0,1].  A mode bit makes the allocator fail.
 * __builtin_trap() fires on any violation.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#define MAXN 72

static int	fail_calls;

static void *
fail_alloc(size_t size, void *ctx)
{
	(void) size;
	(void) ctx;
	fail_calls++;
	return NULL;
}

static void *
fail_resize(void *ptr, size_t size, void *ctx)
{
	(void) ptr;
	(void) size;
	(void) ctx;
	return NULL;
}

static void
fail_release(void *ptr, void *ctx)
{
	(void) ptr;
	(void) ctx;
	__builtin_trap();
}

static const CdAllocator fail_allocator = {fail_alloc, fail_resize, fail_release, NULL};

static double
special(uint8_t b)
{
	switch (b % 6)
	{
		case 0:
			return NAN;
		case 1:
			return INFINITY;
		case 2:
			return -INFINITY;
		case 3:
			return 1.5;
		case 4:
			return -0.25;
		default:
			return 1e300;
	}
}

/* grid: 0..128 -> k/128, 129..134 special, the rest never compared */
static double
grid_score(uint8_t b)
{
	if (b <= 128)
		return b / 128.0;
	if (b <= 134)
		return special(b);
	return NAN;
}

/* free: 0..239 -> b/239 + a little noise, 240..245 special, the rest never compared */
static double
free_score(uint8_t b, size_t k)
{
	if (b < 240)
		return b / 239.0 * (1.0 - 1e-7 * (double) (k % 7));
	if (b < 246)
		return special(b);
	return NAN;
}

static double
param(uint8_t b)
{
	if (b <= 130)
		return b / 128.0;
	if (b <= 136)
		return special(b);
	return (b - 137) / 100.0 - 0.05;
}

static double
read_score(const double *m, int n, int i, int j, int *known)
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
 * The threshold's evidence: 2 (unreachable) above 1 or NaN, 0 (reached by all) at 0.  The
 * mapping itself, cd_cluster_evidence, is checked against its definition in test_cluster.c;
 * this oracle checks the clustering built on it.
 */
static double
threshold_ev(double t)
{
	if (isnan(t) || t > 1 + 0.5e-9)
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

static double sums[MAXN][MAXN];
static int	apart[MAXN][MAXN];
static int	sizes[MAXN];

/* per cluster pair (by label): sum of cross evidence and any scored pair below floor */
static void
tabulate(int n, const double *m, double f, const int *lab)
{
	memset(sums, 0, sizeof(sums));
	memset(apart, 0, sizeof(apart));
	memset(sizes, 0, sizeof(sizes));
	for (int i = 0; i < n; i++)
		sizes[lab[i]]++;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
		{
			int			known;
			double		v = read_score(m, n, i, j, &known);
			int			a = lab[i] < lab[j] ? lab[i] : lab[j];
			int			b = lab[i] < lab[j] ? lab[j] : lab[i];

			sums[a][b] += cd_cluster_evidence(v);
			if (known && v < f)
				apart[a][b] = 1;
		}
}

/* naive reference with the same keys and tie rule: O(n^2) per merge */
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

		tabulate(n, m, f, lab);
		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++)
			{
				int64_t		k;

				if (sizes[p] == 0 || lab[p] != p || sizes[q] == 0 || lab[q] != q ||
					apart[p][q])
					continue;
				k = key_of(sums[p][q] / ((double) sizes[p] * sizes[q]));
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

static void
check_invariants(int n, const double *m, double t, double f, const int *lab)
{
	for (int i = 0; i < n; i++)
	{
		CHECK(lab[i] >= 0 && lab[i] <= i);
		CHECK(lab[lab[i]] == lab[i]);
	}
	tabulate(n, m, f, lab);
	for (int r = 0; r < n; r++)
	{
		double		pairs;
		int			c;
		int64_t		keys[MAXN];

		if (lab[r] != r)
			continue;
		CHECK(!apart[r][r]);
		pairs = (double) sizes[r] * (sizes[r] - 1) / 2;
		if (sizes[r] > 1)
			CHECK(sums[r][r] / pairs >= threshold_ev(t) - 1e-9 - 1e-12);
		for (int s = r + 1; s < n; s++)
		{
			if (lab[s] != s || apart[r][s])
				continue;
			CHECK(sums[r][s] / ((double) sizes[r] * sizes[s]) < threshold_ev(t) + 1e-9);
		}

		/* the center is a member with the highest average evidence (by key), smallest on ties */
		c = cd_cluster_center(n, m, lab, r);
		CHECK(c >= r && c < n && lab[c] == r);
		if (sizes[r] == 1)
		{
			CHECK(c == r);
			continue;
		}
		for (int i = r; i < n; i++)
		{
			double		sum = 0;

			if (lab[i] != r)
				continue;
			for (int j = r; j < n; j++)
			{
				int			known;

				if (j != i && lab[j] == r)
					sum += cd_cluster_evidence(read_score(m, n, i, j, &known));
			}
			keys[i] = key_of(sum / (sizes[r] - 1));
		}
		for (int i = r; i < n; i++)
			if (lab[i] == r && i != c)
				CHECK(i < c ? keys[i] < keys[c] : keys[i] <= keys[c]);
	}
	CHECK(cd_cluster_center(n, m, lab, -1) == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static double m[MAXN * MAXN];
	int			labels[MAXN + 1];
	int			want[MAXN];
	int			n;
	int			grid;
	int			failing;
	double		t,
				f;
	size_t		pos = 4;
	size_t		k = 0;
	int			rc;

	if (size < 4)
		return 0;
	n = data[0] % MAXN;
	grid = !(data[1] & 1);
	failing = (data[1] & 2) != 0;
	t = param(data[2]);
	f = param(data[3]);

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++, k++)
		{
			double		v = NAN;

			if (pos < size)
			{
				v = grid ? grid_score(data[pos]) : free_score(data[pos], k);
				pos++;
			}
			m[i * n + j] = v;
		}
	/* lower triangle and diagonal: whatever is left, else garbage; never read */
	for (int i = 0; i < n; i++)
		for (int j = 0; j <= i; j++)
		{
			m[i * n + j] = pos < size ? (double) data[pos] - 100.0 : (i + j) % 3 ? NAN : 7.0;
			if (pos < size)
				pos++;
		}

	for (int i = 0; i <= MAXN; i++)
		labels[i] = -7;
	if (failing)
	{
		fail_calls = 0;
		rc = cd_cluster_average_linkage(n, m, t, f, &fail_allocator, labels);
		if (n > CD_CLUSTER_LOCAL_NODES)
		{
			CHECK(rc == -1 && fail_calls == 1);
			for (int i = 0; i <= MAXN; i++)
				CHECK(labels[i] == -7);
			return 0;
		}
		CHECK(rc == 0 && fail_calls == 0);
	}
	else
		CHECK(cd_cluster_average_linkage(n, m, t, f, &cd_malloc_allocator, labels) == 0);
	for (int i = n; i <= MAXN; i++)
		CHECK(labels[i] == -7);

	check_invariants(n, m, t, f, labels);
	if (grid)
	{
		reference(n, m, t, f, want);
		for (int i = 0; i < n; i++)
			CHECK(labels[i] == want[i]);
	}
	return 0;
}
