/*
 * name_ops.c
 *		The operator text %~ text ("may be the same name") and the GIN opclass
 *		crmdedup.name_ops that finds its candidates across scripts, over the pure core
 *		name_grams.c.  GUC crmdedup.name_threshold.
 *
 * a %~ b is name_similarity(a, b) >= crmdedup.name_threshold, and the two names hold the
 * evidence the index looks for (name_grams.h: cd_name_evidence); the index keeps the
 * items whose bound reaches the threshold and always asks for a recheck.  So the same
 * rows come back with and without the index, whatever the similarity rules become.
 */
#include "postgres.h"

#include "access/gin.h"
#include "access/stratnum.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "crmdedup.h"
#include "name_grams.h"

#define NAME_SIMILAR_STRATEGY 1

/* a bound or an evidence reaches the threshold up to rounding */
#define THRESHOLD_EPSILON 1e-9

static double name_threshold = 0.6;

/* name_similarity() of match_fn.c: the operator takes its semantics and errors as they are */
extern PGDLLEXPORT Datum name_similarity(PG_FUNCTION_ARGS);

void
cd_name_ops_init(void)
{
	DefineCustomRealVariable("crmdedup.name_threshold",
							 "Least name similarity for the %~ operator.",
							 "Two names are \"may be the same name\" (a %~ b) when "
							 "crmdedup.name_similarity(a, b) reaches this value.",
							 &name_threshold,
							 0.6,
							 0.0,
							 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/* errors of the core, with the texts crmdedup.name_similarity() raises */
static void
check_status(CdMatchStatus st)
{
	switch (st)
	{
		case CD_MATCH_OK:
			break;
		case CD_MATCH_INVALID_UTF8:
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 in argument of %s", "name_similarity")));
			break;
		case CD_MATCH_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("argument of %s is too long", "name_similarity"),
					 errdetail("Each argument may have at most %d bytes.", CD_MATCH_MAX_BYTES)));
			break;
		case CD_MATCH_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory in %s", "name_similarity")));
			break;
		case CD_MATCH_ICU_ERROR:
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("ICU transliteration failed in %s", "name_similarity")));
			break;
	}
}

/* ---------------------------------------------------------------- the operator */

/* the plan of the last value seen in one argument position (fn_extra) */
typedef struct SideCache
{
	char	   *data;			/* copy of the value, in fn_mcxt */
	size_t		len;
	CdNameQuery *plan;			/* in fn_mcxt */
} SideCache;

typedef struct SimilarCache
{
	SideCache	side[2];
} SimilarCache;

/*
 * The plan of a value, from the cache when the value is the one seen last at this
 * position (the constant side of "name %~ 'query'" is planned once per statement).
 */
static CdNameQuery *
cached_plan(FunctionCallInfo fcinfo, SimilarCache *cache, int pos, text *val)
{
	SideCache  *sc = &cache->side[pos];
	const char *data = VARDATA_ANY(val);
	size_t		len = VARSIZE_ANY_EXHDR(val);
	MemoryContext old;
	CdMatchStatus st;
	CdNameQuery *plan;

	if (sc->plan && sc->len == len && memcmp(sc->data, data, len) == 0)
		return sc->plan;
	if (sc->plan)
	{
		cd_name_query_free(sc->plan);
		pfree(sc->data);
		sc->plan = NULL;
		sc->data = NULL;
	}
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	st = cd_name_query_new(data, len, &cd_palloc_allocator, &plan);
	if (st == CD_MATCH_OK)
	{
		sc->data = palloc(len + 1);
		memcpy(sc->data, data, len);
		sc->len = len;
		sc->plan = plan;
	}
	MemoryContextSwitchTo(old);
	check_status(st);
	return plan;
}

PG_FUNCTION_INFO_V1(name_similar);

/* a %~ b: name_similarity reaches the threshold, and so does the evidence */
Datum
name_similar(PG_FUNCTION_ARGS)
{
	double		threshold = name_threshold;
	double		sim;
	text	   *a;
	text	   *b;
	SimilarCache *cache;
	CdNameQuery *pa;
	CdNameQuery *pb;
	bool		result;

	sim = DatumGetFloat8(DirectFunctionCall2(name_similarity,
											 PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)));
	if (sim < threshold)
		PG_RETURN_BOOL(false);

	cache = (SimilarCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(SimilarCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	a = PG_GETARG_TEXT_PP(0);
	b = PG_GETARG_TEXT_PP(1);
	pa = cached_plan(fcinfo, cache, 0, a);
	pb = cached_plan(fcinfo, cache, 1, b);
	result = cd_name_evidence(pa, pb) >= threshold - THRESHOLD_EPSILON;
	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	PG_RETURN_BOOL(result);
}

PG_FUNCTION_INFO_V1(name_distance);

/*
 * a <~> b = 1 - name_similarity(a, b): a distance for ORDER BY ... LIMIT k over the rows
 * a GIN scan of %~ found.  IMMUTABLE like name_similarity (no threshold).  No GiST
 * opclass orders by it: README, "A cross-script fuzzy name index", gives the numbers.
 */
Datum
name_distance(PG_FUNCTION_ARGS)
{
	double		sim = DatumGetFloat8(DirectFunctionCall2(name_similarity,
														 PG_GETARG_DATUM(0),
														 PG_GETARG_DATUM(1)));

	PG_RETURN_FLOAT8(1.0 - sim);
}

/* ---------------------------------------------------------------- GIN support */

/* what extractQuery hands to the consistent functions (extra_data) */
typedef struct NameOpsQuery
{
	double		threshold;		/* crmdedup.name_threshold when the scan began */
	CdNameQuery *plan;
} NameOpsQuery;

static Datum *
keys_to_datums(const uint32_t *keys, int n)
{
	Datum	   *d = (Datum *) palloc(sizeof(Datum) * (n > 0 ? n : 1));

	for (int i = 0; i < n; i++)
		d[i] = Int32GetDatum((int32) keys[i]);
	return d;
}

PG_FUNCTION_INFO_V1(name_ops_extract_value);

/*
 * The keys of a stored name.  A value longer than name_similarity() accepts gets none:
 * %~ raises an error for it, so no scan may return it.
 */
Datum
name_ops_extract_value(PG_FUNCTION_ARGS)
{
	text	   *val = PG_GETARG_TEXT_PP(0);
	int32	   *nentries = (int32 *) PG_GETARG_POINTER(1);
	size_t		len = VARSIZE_ANY_EXHDR(val);
	Datum	   *entries = NULL;

	*nentries = 0;
	if (len <= CD_MATCH_MAX_BYTES)
	{
		uint32_t   *keys;
		int			n;

		cd_check_input_length(len, "name_ops");
		check_status(cd_name_grams(VARDATA_ANY(val), len, &cd_palloc_allocator, &keys, &n));
		if (n > 0)
		{
			entries = keys_to_datums(keys, n);
			*nentries = n;
			pfree(keys);
		}
	}
	PG_FREE_IF_COPY(val, 0);
	PG_RETURN_POINTER(entries);
}

PG_FUNCTION_INFO_V1(name_ops_extract_query);

Datum
name_ops_extract_query(PG_FUNCTION_ARGS)
{
	text	   *val = PG_GETARG_TEXT_PP(0);
	int32	   *nentries = (int32 *) PG_GETARG_POINTER(1);
	StrategyNumber strategy = PG_GETARG_UINT16(2);
	Pointer   **extra_data = (Pointer **) PG_GETARG_POINTER(4);
	int32	   *searchMode = (int32 *) PG_GETARG_POINTER(6);
	NameOpsQuery *nq;
	Datum	   *entries;
	int			n;

	if (strategy != NAME_SIMILAR_STRATEGY)
		elog(ERROR, "unrecognized strategy number: %d", strategy);

	if (VARSIZE_ANY_EXHDR(val) > CD_MATCH_MAX_BYTES)
		check_status(CD_MATCH_TOO_LONG);
	cd_check_input_length(VARSIZE_ANY_EXHDR(val), "name_similarity");
	nq = (NameOpsQuery *) palloc(sizeof(NameOpsQuery));
	nq->threshold = name_threshold;
	check_status(cd_name_query_new(VARDATA_ANY(val), VARSIZE_ANY_EXHDR(val),
								   &cd_palloc_allocator, &nq->plan));
	n = cd_name_query_nkeys(nq->plan);
	entries = keys_to_datums(cd_name_query_keys(nq->plan), n);
	*nentries = n;
	if (n > 0)
	{
		*extra_data = (Pointer *) palloc(sizeof(Pointer) * n);
		for (int i = 0; i < n; i++)
			(*extra_data)[i] = (Pointer) nq;
	}

	/*
	 * At threshold 0 every row is "the same name", also one that shares no key with
	 * the query (or has none): scan everything and let the recheck decide.
	 */
	if (nq->threshold <= 0)
		*searchMode = GIN_SEARCH_MODE_ALL;
	PG_FREE_IF_COPY(val, 0);
	PG_RETURN_POINTER(entries);
}

PG_FUNCTION_INFO_V1(name_ops_consistent);

Datum
name_ops_consistent(PG_FUNCTION_ARGS)
{
	bool	   *check = (bool *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	int32		nkeys = PG_GETARG_INT32(3);
	Pointer    *extra_data = (Pointer *) PG_GETARG_POINTER(4);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	NameOpsQuery *nq;

	StaticAssertStmt(sizeof(bool) == sizeof(uint8_t), "bool is not one byte");

	if (strategy != NAME_SIMILAR_STRATEGY)
		elog(ERROR, "unrecognized strategy number: %d", strategy);
	*recheck = true;
	if (nkeys == 0 || extra_data == NULL)
		PG_RETURN_BOOL(true);	/* GIN_SEARCH_MODE_ALL without keys: threshold 0 */
	nq = (NameOpsQuery *) extra_data[0];
	PG_RETURN_BOOL(cd_name_query_bound(nq->plan, (const uint8_t *) check) >=
				   nq->threshold - THRESHOLD_EPSILON);
}

PG_FUNCTION_INFO_V1(name_ops_triconsistent);

Datum
name_ops_triconsistent(PG_FUNCTION_ARGS)
{
	GinTernaryValue *check = (GinTernaryValue *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	int32		nkeys = PG_GETARG_INT32(3);
	Pointer    *extra_data = (Pointer *) PG_GETARG_POINTER(4);
	NameOpsQuery *nq;

	StaticAssertStmt(GIN_FALSE == CD_GRAM_ABSENT && GIN_TRUE == CD_GRAM_PRESENT &&
					 GIN_MAYBE == CD_GRAM_MAYBE, "ternary values differ");

	if (strategy != NAME_SIMILAR_STRATEGY)
		elog(ERROR, "unrecognized strategy number: %d", strategy);
	if (nkeys == 0 || extra_data == NULL)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
	nq = (NameOpsQuery *) extra_data[0];

	/* an unknown key counts as present, so the bound is the most any answer allows */
	if (cd_name_query_bound(nq->plan, (const uint8_t *) check) >=
		nq->threshold - THRESHOLD_EPSILON)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
	PG_RETURN_GIN_TERNARY_VALUE(GIN_FALSE);
}
