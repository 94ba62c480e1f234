/*
 * similarity_fn.c
 *		SQL glue for the string metrics: jaro_winkler, levenshtein, trigram_similarity,
 *		token_similarity.  They compare characters as given (no folding), like
 *		fuzzystrmatch; callers fold with name_key() or translit() first.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "crmdedup.h"
#include "similarity.h"

static void
check_sim_status(CdSimStatus st, const char *funcname)
{
	switch (st)
	{
		case CD_SIM_OK:
			break;
		case CD_SIM_INVALID_UTF8:
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 in argument of %s", funcname)));
			break;
		case CD_SIM_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("argument of %s is too long", funcname),
					 errdetail("Each argument may have at most %d characters and %d words.",
							   CD_SIM_MAX_CHARS, CD_SIM_MAX_TOKENS)));
			break;
		case CD_SIM_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory in %s", funcname)));
			break;
	}
}

typedef CdSimStatus (*SimFn) (const char *a, size_t alen, const char *b, size_t blen,
							  const CdAllocator *al, double *out);

static Datum
similarity_call(FunctionCallInfo fcinfo, SimFn fn, const char *funcname)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	double		result;

	check_sim_status(fn(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
						VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b),
						&cd_palloc_allocator, &result), funcname);
	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	PG_RETURN_FLOAT8(result);
}

PG_FUNCTION_INFO_V1(jaro_winkler);
Datum
jaro_winkler(PG_FUNCTION_ARGS)
{
	return similarity_call(fcinfo, cd_jaro_winkler, "jaro_winkler");
}

PG_FUNCTION_INFO_V1(trigram_similarity);
Datum
trigram_similarity(PG_FUNCTION_ARGS)
{
	return similarity_call(fcinfo, cd_trigram_similarity, "trigram_similarity");
}

PG_FUNCTION_INFO_V1(token_similarity);
Datum
token_similarity(PG_FUNCTION_ARGS)
{
	return similarity_call(fcinfo, cd_token_similarity, "token_similarity");
}

PG_FUNCTION_INFO_V1(levenshtein_similarity);
Datum
levenshtein_similarity(PG_FUNCTION_ARGS)
{
	return similarity_call(fcinfo, cd_levenshtein_similarity, "levenshtein_similarity");
}

PG_FUNCTION_INFO_V1(levenshtein_distance);

/* levenshtein(a, b [, max]): OSA distance; with max, at most max + 1 (early exit) */
Datum
levenshtein_distance(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int			max = -1;
	int			result;

	if (PG_NARGS() > 2)
	{
		max = PG_GETARG_INT32(2);
		if (max < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max distance must not be negative")));
	}
	check_sim_status(cd_levenshtein(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
									VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b),
									max, &cd_palloc_allocator, &result), "levenshtein");
	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	PG_RETURN_INT32(result);
}
