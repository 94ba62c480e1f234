/*
 * cluster_fn.c
 *		SQL glue for clustering one connected component of scored duplicate candidates:
 *		cluster_pairs(ids, a, b, scores, threshold, floor).  The pairs become a dense
 *		matrix for the core's average-linkage clustering (src/core/cluster.c), which does
 *		not chain A ~ B ~ C into one cluster when A and C are known to differ.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "cluster.h"
#include "crmdedup.h"

/* an id of the component, for the distinctness check */
typedef struct ClusterId
{
	const char *data;
	int			len;
	int			index;
} ClusterId;

static int
cluster_id_cmp(const void *a, const void *b)
{
	const ClusterId *x = a;
	const ClusterId *y = b;
	int			c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	c = memcmp(x->data, y->data, x->len);
	if (c != 0)
		return c;
	return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}

/* the elements of a one-dimensional array argument without NULLs */
static Datum *
array_elements(ArrayType *arr, Oid elemtype, int16 elemlen, bool elembyval, char elemalign,
			   const char *argname, int *count)
{
	Datum	   *elems;
	bool	   *nulls;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", argname)));
	deconstruct_array(arr, elemtype, elemlen, elembyval, elemalign, &elems, &nulls, count);
	for (int i = 0; i < *count; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain nulls", argname),
					 errdetail("Element %d is null.", i + 1)));
	return elems;
}

/* ids must name distinct records, or cluster ids would be ambiguous */
static void
check_distinct_ids(Datum *ids, int n)
{
	ClusterId  *sorted;

	if (n < 2)
		return;
	sorted = palloc(sizeof(ClusterId) * n);
	for (int i = 0; i < n; i++)
	{
		text	   *t = (text *) DatumGetPointer(ids[i]);

		sorted[i].data = VARDATA_ANY(t);
		sorted[i].len = VARSIZE_ANY_EXHDR(t);
		sorted[i].index = i;
	}
	qsort(sorted, n, sizeof(ClusterId), cluster_id_cmp);
	for (int i = 1; i < n; i++)
		if (sorted[i].len == sorted[i - 1].len &&
			memcmp(sorted[i].data, sorted[i - 1].data, sorted[i].len) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ids must be distinct"),
					 errdetail("ids[%d] and ids[%d] are both \"%s\".",
							   sorted[i - 1].index + 1, sorted[i].index + 1,
							   text_to_cstring((text *) DatumGetPointer(ids[sorted[i].index])))));
	pfree(sorted);
}

PG_FUNCTION_INFO_V1(cluster_pairs);

/*
 * cluster_pairs(ids text[], a int[], b int[], scores float8[], threshold float8,
 *				 floor float8) -> SETOF (id, cluster_id, center, score_to_center)
 *
 * Pair k joins ids[a[k]] and ids[b[k]] (1-based positions) with scores[k].  Pairs not
 * given were never compared (NaN: 0 in averages, but not known different); repeated
 * pairs keep their highest score; a[k] = b[k] is ignored.  One row per member, in ids
 * order; a cluster is named by its center's id.
 */
Datum
cluster_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *ids_arr = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *a_arr = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *b_arr = PG_GETARG_ARRAYTYPE_P(2);
	ArrayType  *scores_arr = PG_GETARG_ARRAYTYPE_P(3);
	float8		threshold = PG_GETARG_FLOAT8(4);
	float8		floor_score = PG_GETARG_FLOAT8(5);
	Datum	   *ids;
	Datum	   *a;
	Datum	   *b;
	Datum	   *scores;
	int			n;
	int			na;
	int			nb;
	int			nscores;
	double	   *m;
	int		   *labels;
	int		   *center_of;

	if (isnan(threshold))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must not be NaN")));
	if (isnan(floor_score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("floor must not be NaN")));

	ids = array_elements(ids_arr, TEXTOID, -1, false, TYPALIGN_INT, "ids", &n);
	if (n > CD_CLUSTER_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many ids for cluster_pairs"),
				 errdetail("The component has %d members; at most %d are accepted.",
						   n, CD_CLUSTER_MAX_NODES),
				 errhint("Cluster one connected component at a time, or raise the score that links candidates.")));
	a = array_elements(a_arr, INT4OID, sizeof(int32), true, TYPALIGN_INT, "a", &na);
	b = array_elements(b_arr, INT4OID, sizeof(int32), true, TYPALIGN_INT, "b", &nb);
	scores = array_elements(scores_arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							TYPALIGN_DOUBLE, "scores", &nscores);
	if (na != nb || na != nscores)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a, b and scores must have the same length"),
				 errdetail("a has %d elements, b has %d and scores has %d.", na, nb, nscores)));
	check_distinct_ids(ids, n);

	m = palloc(sizeof(double) * (Size) n * (Size) Max(n, 1));
	for (Size k = 0; k < (Size) n * (Size) n; k++)
		m[k] = get_float8_nan();
	for (int k = 0; k < na; k++)
	{
		int32		i = DatumGetInt32(a[k]);
		int32		j = DatumGetInt32(b[k]);
		float8		s = DatumGetFloat8(scores[k]);
		double	   *cell;

		if (i < 1 || i > n || j < 1 || j > n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pair %d refers to a position outside ids", k + 1),
					 errdetail("a[%d] = %d and b[%d] = %d, but ids has %d elements (positions start at 1).",
							   k + 1, i, k + 1, j, n)));
		if (!isnan(s) && !(s >= 0.0 && s <= 1.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("score of pair %d is out of range", k + 1),
					 errdetail("scores[%d] = %g; scores must be between 0 and 1 (NaN: never compared).",
							   k + 1, s)));
		if (i == j || isnan(s))
			continue;
		cell = &m[(Size) (i - 1) * n + (j - 1)];
		if (isnan(*cell) || s > *cell)
		{
			*cell = s;
			m[(Size) (j - 1) * n + (i - 1)] = s;
		}
	}

	labels = palloc(sizeof(int) * Max(n, 1));
	center_of = palloc(sizeof(int) * Max(n, 1));
	if (cd_cluster_average_linkage(n, m, threshold, floor_score, &cd_palloc_allocator,
								   labels) != 0)
		elog(ERROR, "cd_cluster_average_linkage failed for %d members", n);
	for (int i = 0; i < n; i++)
		if (labels[i] == i)
			center_of[i] = cd_cluster_center(n, m, labels, i);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		int			c = center_of[labels[i]];
		double		s = i == c ? 1.0 : m[(Size) i * n + c];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = ids[i];
		values[1] = ids[c];
		values[2] = ids[c];
		values[3] = Float8GetDatum(isnan(s) ? 0.0 : s);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	pfree(m);
	pfree(labels);
	pfree(center_of);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pair_components);

/*
 * pair_components(n int, a int[], b int[]) -> int[]
 *
 * Connected components of nodes 1..n joined by the edges a[k] - b[k]: element i of the
 * result is the smallest node of i's component.  Reports number the records of the pairs
 * above the clustering threshold and call this once, instead of propagating labels through
 * the pairs table in SQL (one full pass per step of the longest path).
 */
Datum
pair_components(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	ArrayType  *a_arr = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *b_arr = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *a;
	Datum	   *b;
	int			na;
	int			nb;
	int		   *ia;
	int		   *ib;
	int		   *labels;
	Datum	   *out;

	if (n < 0 || (Size) n > MaxAllocSize / sizeof(Datum))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 0 and %d", (int) (MaxAllocSize / sizeof(Datum)))));
	a = array_elements(a_arr, INT4OID, sizeof(int32), true, TYPALIGN_INT, "a", &na);
	b = array_elements(b_arr, INT4OID, sizeof(int32), true, TYPALIGN_INT, "b", &nb);
	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a and b must have the same length"),
				 errdetail("a has %d elements and b has %d.", na, nb)));
	ia = palloc(sizeof(int) * Max(na, 1));
	ib = palloc(sizeof(int) * Max(na, 1));
	for (int k = 0; k < na; k++)
	{
		int32		x = DatumGetInt32(a[k]);
		int32		y = DatumGetInt32(b[k]);

		if (x < 1 || x > n || y < 1 || y > n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("edge %d joins %d and %d, outside nodes 1..%d", k + 1, x, y, n)));
		ia[k] = x - 1;
		ib[k] = y - 1;
	}
	labels = palloc(sizeof(int) * Max(n, 1));
	if (cd_components(n, na, ia, ib, labels) != 0)
		elog(ERROR, "cd_components failed for %d nodes", n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
		out[i] = Int32GetDatum(labels[i] + 1);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}
