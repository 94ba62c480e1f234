/*
 * phone_fn.c
 *		SQL glue for the phone normalizer: phone_e164, phone_extension, phone_parse.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "crmdedup.h"
#include "guard_memo.h"
#include "phone.h"

/* Longer text is never a phone number; it is rejected without being scanned. */
#define PHONE_MAX_RAW 1024

/*
 * A region argument must be known; an unknown one is an error in the call (22023), not in
 * the data.  Shared by every function that takes a region.
 */
void
cd_check_phone_region(const char *region, size_t len)
{
	if (!cd_phone_region_known(region, len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown phone region \"%s\"", pnstrdup(region, len)),
				 errhint("Use an ISO 3166-1 alpha-2 country code such as 'RU', 'US' or 'CN', "
						 "or 'ZZ' to accept only numbers written with a country code.")));
}

static CdPhoneStatus
parse_args(text *raw, text *region, CdPhoneResult *res)
{
	size_t		len = VARSIZE_ANY_EXHDR(raw);

	cd_check_phone_region(VARDATA_ANY(region), VARSIZE_ANY_EXHDR(region));
	cd_check_library_versions();
	memset(res, 0, sizeof(*res));
	if (len > PHONE_MAX_RAW)
		return CD_PHONE_TOO_LONG;
	return cd_phone_parse(VARDATA_ANY(raw), len,
						  VARDATA_ANY(region), VARSIZE_ANY_EXHDR(region), res);
}

PG_FUNCTION_INFO_V1(phone_e164);

Datum
phone_e164(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);
	text	   *region = PG_GETARG_TEXT_PP(1);
	CdPhoneResult res;

	CD_KEY_MEMO_RETURN(CD_MEMO_PHONE, raw, region);	/* a guard's key index: computed already */

	if (parse_args(raw, region, &res) != CD_PHONE_OK)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(res.e164));
}

PG_FUNCTION_INFO_V1(phone_extension);

Datum
phone_extension(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(raw);
	CdPhoneResult res;

	if (len > PHONE_MAX_RAW)
		PG_RETURN_NULL();
	memset(&res, 0, sizeof(res));
	(void) cd_phone_parse(VARDATA_ANY(raw), len, "ZZ", 2, &res);
	if (res.ext[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(res.ext));
}

PG_FUNCTION_INFO_V1(phone_parse);

/* (e164, extension, country_code, region, valid, reason) */
Datum
phone_parse(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);
	text	   *region = PG_GETARG_TEXT_PP(1);
	CdPhoneResult res;
	CdPhoneStatus st;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	st = parse_args(raw, region, &res);

	if (st == CD_PHONE_OK)
		values[0] = CStringGetTextDatum(res.e164);
	else
		nulls[0] = true;
	if (res.ext[0])
		values[1] = CStringGetTextDatum(res.ext);
	else
		nulls[1] = true;
	if (res.country_code > 0)
		values[2] = Int32GetDatum(res.country_code);
	else
		nulls[2] = true;
	if (res.region[0])
		values[3] = CStringGetTextDatum(res.region);
	else
		nulls[3] = true;
	values[4] = BoolGetDatum(st == CD_PHONE_OK);
	if (st == CD_PHONE_OK)
		nulls[5] = true;
	else
		values[5] = CStringGetTextDatum(cd_phone_status_reason(st));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
