/*
 * name_fn.c
 *		SQL glue for the text keys: name_key, translit, person_key, company_key.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "crmdedup.h"
#include "guard_memo.h"
#include "name_key.h"
#include "translit.h"
#include "unicode_fold.h"

typedef CdTextStatus (*TextKeyFn) (const char *in, size_t len, CdBuf *out);

/*
 * Run a core key function on a text argument.  An empty key (no letters or digits) is NULL: it must never make two rows equal.
 */
static Datum
text_key(FunctionCallInfo fcinfo, text *raw, TextKeyFn fn, const char *funcname)
{
	size_t		len = VARSIZE_ANY_EXHDR(raw);
	CdBuf		buf;
	CdTextStatus st;
	text	   *result;

	cd_check_input_length(len, funcname);
	cd_check_library_versions();

	cd_buf_init(&buf, &cd_palloc_allocator);
	st = fn(VARDATA_ANY(raw), len, &buf);

	switch (st)
	{
		case CD_TEXT_OK:
			break;
		case CD_TEXT_INVALID_UTF8:
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 in argument of %s", funcname)));
			break;
		case CD_TEXT_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory in %s", funcname)));
			break;
		case CD_TEXT_ICU_ERROR:
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("ICU transliteration failed in %s", funcname)));
			break;
	}
	PG_FREE_IF_COPY(raw, 0);
	if (buf.len == 0)
		PG_RETURN_NULL();
	result = cstring_to_text_with_len(buf.data, (int) buf.len);
	cd_buf_free(&buf);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(name_key);
Datum
name_key(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);	/* detoasted once, for the memo and the key */

	CD_KEY_MEMO_RETURN(CD_MEMO_NAME, raw, NULL);	/* a guard's key index */
	return text_key(fcinfo, raw, cd_name_key, "name_key");
}

PG_FUNCTION_INFO_V1(translit);
Datum
translit(PG_FUNCTION_ARGS)
{
	return text_key(fcinfo, PG_GETARG_TEXT_PP(0), cd_translit, "translit");
}

PG_FUNCTION_INFO_V1(person_key);
Datum
person_key(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);	/* detoasted once, for the memo and the key */

	CD_KEY_MEMO_RETURN(CD_MEMO_PERSON, raw, NULL);	/* a guard's key index */
	return text_key(fcinfo, raw, cd_person_key, "person_key");
}

PG_FUNCTION_INFO_V1(company_key);
Datum
company_key(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);	/* detoasted once, for the memo and the key */

	CD_KEY_MEMO_RETURN(CD_MEMO_COMPANY, raw, NULL);	/* a guard's key index */
	return text_key(fcinfo, raw, cd_company_key, "company_key");
}
