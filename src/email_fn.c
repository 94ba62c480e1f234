/*
 * email_fn.c
 *		SQL glue for the email normalizer: email_key, email_normalize, email_parse.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "crmdedup.h"
#include "guard_memo.h"
#include "email.h"

/* An address is at most 254 octets; allow room for a display name and spaces. */
#define EMAIL_MAX_RAW 4096

typedef CdEmailStatus (*EmailFn) (const char *raw, size_t len, char out[CD_EMAIL_MAX], size_t *outlen);

static CdEmailStatus
run(EmailFn fn, text *raw, char out[CD_EMAIL_MAX], size_t *outlen)
{
	size_t		len = VARSIZE_ANY_EXHDR(raw);

	cd_check_library_versions();
	*outlen = 0;
	if (len > EMAIL_MAX_RAW)
		return CD_EMAIL_TOO_LONG;
	return fn(VARDATA_ANY(raw), len, out, outlen);
}

static Datum
email_text_result(FunctionCallInfo fcinfo, text *raw, EmailFn fn)
{
	char		out[CD_EMAIL_MAX];
	size_t		outlen;

	if (run(fn, raw, out, &outlen) != CD_EMAIL_OK)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, (int) outlen));
}

PG_FUNCTION_INFO_V1(email_key);

Datum
email_key(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);	/* detoasted once, for the memo and the key */

	CD_KEY_MEMO_RETURN(CD_MEMO_EMAIL, raw, NULL);	/* a guard's key index */
	return email_text_result(fcinfo, raw, cd_email_key);
}

PG_FUNCTION_INFO_V1(email_normalize);

Datum
email_normalize(PG_FUNCTION_ARGS)
{
	return email_text_result(fcinfo, PG_GETARG_TEXT_PP(0), cd_email_normalize);
}

PG_FUNCTION_INFO_V1(email_parse);

/* (address, key, valid, reason) */
Datum
email_parse(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);
	char		out[CD_EMAIL_MAX];
	size_t		outlen;
	CdEmailStatus st;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {true, true, false, true};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	st = run(cd_email_normalize, raw, out, &outlen);
	if (st == CD_EMAIL_OK)
	{
		values[0] = PointerGetDatum(cstring_to_text_with_len(out, (int) outlen));
		nulls[0] = false;
		st = run(cd_email_key, raw, out, &outlen);
		if (st == CD_EMAIL_OK)
		{
			values[1] = PointerGetDatum(cstring_to_text_with_len(out, (int) outlen));
			nulls[1] = false;
		}
	}
	values[2] = BoolGetDatum(st == CD_EMAIL_OK);
	if (st != CD_EMAIL_OK)
	{
		values[3] = CStringGetTextDatum(cd_email_status_reason(st));
		nulls[3] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
