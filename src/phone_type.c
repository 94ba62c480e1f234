/*
 * phone_type.c
 *		The crmdedup.phone type: a phone number stored as its E.164 digits in an int8, so
 *		equality, ordering and hashing are those of integers (E.164 never starts with 0,
 *		so the digits read as a number lose nothing).  Input accepts every format
 *		phone_e164() accepts; numbers without a country code take the region from the
 *		GUC crmdedup.default_region, as date input takes DateStyle.  The stored value is
 *		always the canonical number, whatever the GUC.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "crmdedup.h"
#include "type_values.h"

char	   *cd_default_region = NULL;

static bool
check_default_region(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || !cd_phone_region_known(*newval, strlen(*newval)))
	{
		GUC_check_errdetail("Use an ISO 3166-1 alpha-2 country code such as RU, US or CN, or ZZ.");
		return false;
	}
	return true;
}

void
cd_phone_type_init(void)
{
	DefineCustomStringVariable("crmdedup.default_region",
							   "Region assumed by crmdedup.phone input for numbers written without a country code.",
							   "An ISO 3166-1 alpha-2 code; ZZ accepts only numbers with a country code.",
							   &cd_default_region,
							   "ZZ",
							   PGC_USERSET,
							   0,
							   check_default_region,
							   NULL,
							   NULL);
}

static int64
parse_phone(const char *raw, size_t len, const char *region, const char *typname)
{
	int64_t		value;
	CdPhoneStatus st;

	cd_check_phone_region(region, strlen(region));
	cd_check_library_versions();
	st = cd_phone_value_parse(raw, len, region, strlen(region), &value);
	if (st != CD_PHONE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%.*s\"", typname,
						cd_clip_len(raw, len, 200), raw),
				 errdetail("The value is rejected: %s.", cd_phone_status_reason(st)),
				 (st == CD_PHONE_NO_COUNTRY ?
				  errhint("Write the number with its country code, or SET crmdedup.default_region.") : 0)));
	return value;
}

PG_FUNCTION_INFO_V1(phone_in);
Datum
phone_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_INT64(parse_phone(str, strlen(str), cd_default_region, "crmdedup.phone"));
}

PG_FUNCTION_INFO_V1(phone_out);
Datum
phone_out(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);

	PG_RETURN_CSTRING(psprintf("+" INT64_FORMAT, v));
}

/* binary form: the int8; a received value must be a number E.164 could hold */
PG_FUNCTION_INFO_V1(phone_recv);
Datum
phone_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		v = pq_getmsgint64(buf);

	cd_check_library_versions();
	/* only canonical numbers may enter, whatever path they come by */
	if (!cd_phone_value_valid(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary value for type crmdedup.phone"),
				 errdetail("The value " INT64_FORMAT " is not the digits of a valid E.164 number.", v)));
	PG_RETURN_INT64(v);
}

PG_FUNCTION_INFO_V1(phone_send);
Datum
phone_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, PG_GETARG_INT64(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* text -> phone with the GUC region (the cast) */
PG_FUNCTION_INFO_V1(phone_from_text);
Datum
phone_from_text(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);

	PG_RETURN_INT64(parse_phone(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), cd_default_region,
								"crmdedup.phone"));
}

/* to_phone(raw, region): an explicit region, so IMMUTABLE */
PG_FUNCTION_INFO_V1(phone_from_text_region);
Datum
phone_from_text_region(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);
	char	   *region = text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_INT64(parse_phone(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), region, "crmdedup.phone"));
}

PG_FUNCTION_INFO_V1(phone_to_text);
Datum
phone_to_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("+" INT64_FORMAT, PG_GETARG_INT64(0))));
}

/* comparison support: the int8 order of the digits */
#define PHONE_CMP_FN(name, op) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL(PG_GETARG_INT64(0) op PG_GETARG_INT64(1)); \
}

PHONE_CMP_FN(phone_eq, ==)
PHONE_CMP_FN(phone_ne, !=)
PHONE_CMP_FN(phone_lt, <)
PHONE_CMP_FN(phone_le, <=)
PHONE_CMP_FN(phone_gt, >)
PHONE_CMP_FN(phone_ge, >=)

PG_FUNCTION_INFO_V1(phone_cmp);
Datum
phone_cmp(PG_FUNCTION_ARGS)
{
	int64		a = PG_GETARG_INT64(0);
	int64		b = PG_GETARG_INT64(1);

	PG_RETURN_INT32(a < b ? -1 : (a > b ? 1 : 0));
}

PG_FUNCTION_INFO_V1(phone_hash);
Datum
phone_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint8, PG_GETARG_DATUM(0));
}

PG_FUNCTION_INFO_V1(phone_hash_extended);
Datum
phone_hash_extended(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(hashint8extended, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}

/* the country calling code of a stored number, from the digits */
PG_FUNCTION_INFO_V1(phone_country_code);
Datum
phone_country_code(PG_FUNCTION_ARGS)
{
	char		e164[CD_PHONE_MAX + 2];
	CdPhoneResult res;

	snprintf(e164, sizeof(e164), "+" INT64_FORMAT, PG_GETARG_INT64(0));
	if (cd_phone_parse(e164, strlen(e164), "ZZ", 2, &res) != CD_PHONE_OK || res.country_code <= 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(res.country_code);
}
