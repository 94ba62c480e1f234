/*
 * match_fn.c
 *		SQL glue for field matching: phonetic, nickname_canonical, name_similarity,
 *		name_part_similarity,
 *		company_similarity, address_similarity, phone_similarity, email_similarity.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "address_match.h"
#include "crmdedup.h"
#include "guard_memo.h"
#include "field_match.h"
#include "name_match.h"
#include "phone.h"
#include "phonetic.h"

static void
check_match_status(CdMatchStatus st, const char *funcname)
{
	switch (st)
	{
		case CD_MATCH_OK:
			break;
		case CD_MATCH_INVALID_UTF8:
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 in argument of %s", funcname)));
			break;
		case CD_MATCH_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("argument of %s is too long", funcname),
					 errdetail("Each argument may have at most 4096 bytes.")));
			break;
		case CD_MATCH_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory in %s", funcname)));
			break;
		case CD_MATCH_ICU_ERROR:
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("ICU transliteration failed in %s", funcname)));
			break;
	}
}

typedef CdMatchStatus (*KeyFn) (const char *in, size_t len, CdBuf *out);

static Datum
key_call(FunctionCallInfo fcinfo, text *raw, KeyFn fn, const char *funcname)
{
	CdBuf		buf;
	text	   *result;

	cd_check_input_length(VARSIZE_ANY_EXHDR(raw), funcname);
	cd_check_library_versions();
	cd_buf_init(&buf, &cd_palloc_allocator);
	check_match_status(fn(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), &buf), funcname);
	if (buf.len == 0)
		PG_RETURN_NULL();
	result = cstring_to_text_with_len(buf.data, (int) buf.len);
	cd_buf_free(&buf);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(phonetic);
Datum
phonetic(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);	/* detoasted once, for the memo and the key */

	CD_KEY_MEMO_RETURN(CD_MEMO_PHONETIC, raw, NULL);	/* a guard's key index */
	return key_call(fcinfo, raw, cd_phonetic, "phonetic");
}

PG_FUNCTION_INFO_V1(nickname_canonical);
Datum
nickname_canonical(PG_FUNCTION_ARGS)
{
	return key_call(fcinfo, PG_GETARG_TEXT_PP(0), cd_nickname_canonical, "nickname_canonical");
}

typedef CdMatchStatus (*PairFn) (const char *a, size_t alen, const char *b, size_t blen,
								 const CdAllocator *al, double *out);

static Datum
pair_call(FunctionCallInfo fcinfo, PairFn fn, const char *funcname)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	double		result;

	cd_check_library_versions();
	check_match_status(fn(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
						  VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b),
						  &cd_palloc_allocator, &result), funcname);
	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	PG_RETURN_FLOAT8(result);
}

PG_FUNCTION_INFO_V1(name_similarity);
Datum
name_similarity(PG_FUNCTION_ARGS)
{
	return pair_call(fcinfo, cd_name_similarity, "name_similarity");
}

PG_FUNCTION_INFO_V1(name_part_similarity);
Datum
name_part_similarity(PG_FUNCTION_ARGS)
{
	return pair_call(fcinfo, cd_name_part_similarity, "name_part_similarity");
}

PG_FUNCTION_INFO_V1(company_similarity);
Datum
company_similarity(PG_FUNCTION_ARGS)
{
	return pair_call(fcinfo, cd_company_similarity, "company_similarity");
}

PG_FUNCTION_INFO_V1(address_similarity);
Datum
address_similarity(PG_FUNCTION_ARGS)
{
	return pair_call(fcinfo, cd_address_similarity, "address_similarity");
}

PG_FUNCTION_INFO_V1(email_similarity);
Datum
email_similarity(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	double		result;

	cd_check_library_versions();
	check_match_status(cd_email_similarity(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
										   VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), &result),
					   "email_similarity");
	PG_RETURN_FLOAT8(result);
}

PG_FUNCTION_INFO_V1(phone_similarity);
Datum
phone_similarity(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	text	   *region = PG_GETARG_TEXT_PP(2);
	char	   *r = text_to_cstring(region);
	double		result;

	cd_check_phone_region(r, strlen(r));
	cd_check_library_versions();
	check_match_status(cd_phone_similarity(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
										   VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), r, &result),
					   "phone_similarity");
	PG_RETURN_FLOAT8(result);
}
