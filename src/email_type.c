/*
 * email_type.c
 *		The crmdedup.email type: equality, ordering and hashing follow the dedup key
 *		(email_key), so a unique index refuses a second spelling of one mailbox; the
 *		canonical address (email_normalize) is kept beside the key and is what the type
 *		prints, so no deliverable detail (a +tag, the dots) is lost.
 *
 * Layout after the varlena header (written by cd_email_value_encode in the core, which
 * test/fuzz/fuzz_types.c drives): one byte holding the key's length, the key, then the
 * address when it differs from the key (else nothing).  Both are at most 254 bytes.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "crmdedup.h"
#include "type_values.h"

typedef struct varlena EmailValue;

#define EMAIL_KEY_LEN(e)	((int) (uint8) VARDATA_ANY(e)[0])
#define EMAIL_KEY(e)		(VARDATA_ANY(e) + 1)
#define EMAIL_ADDR_LEN(e)	((int) VARSIZE_ANY_EXHDR(e) - 1 - EMAIL_KEY_LEN(e))
#define EMAIL_ADDR(e)		(EMAIL_KEY(e) + EMAIL_KEY_LEN(e))

static EmailValue *
make_email(const char *raw, size_t len)
{
	char		val[CD_EMAIL_VALUE_MAX];
	size_t		vallen;
	CdEmailStatus st;
	EmailValue *result;

	cd_check_library_versions();
	st = cd_email_value_encode(raw, len, val, &vallen);
	if (st != CD_EMAIL_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type crmdedup.email: \"%.*s\"",
						cd_clip_len(raw, len, 200), raw),
				 errdetail("The value is rejected: %s.", cd_email_status_reason(st))));
	result = (EmailValue *) palloc(VARHDRSZ + vallen);
	SET_VARSIZE(result, VARHDRSZ + vallen);
	memcpy(VARDATA(result), val, vallen);
	return result;
}

static char *
email_address_cstring(EmailValue *e)
{
	if (EMAIL_ADDR_LEN(e) > 0)
		return pnstrdup(EMAIL_ADDR(e), EMAIL_ADDR_LEN(e));
	return pnstrdup(EMAIL_KEY(e), EMAIL_KEY_LEN(e));
}

PG_FUNCTION_INFO_V1(email_in);
Datum
email_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(make_email(str, strlen(str)));
}

PG_FUNCTION_INFO_V1(email_out);
Datum
email_out(PG_FUNCTION_ARGS)
{
	EmailValue *e = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_CSTRING(email_address_cstring(e));
}

/* binary form is the address as text; it is parsed again, so only valid values enter */
PG_FUNCTION_INFO_V1(email_recv);
Datum
email_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			nbytes;
	char	   *str = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);

	PG_RETURN_POINTER(make_email(str, nbytes));
}

PG_FUNCTION_INFO_V1(email_send);
Datum
email_send(PG_FUNCTION_ARGS)
{
	EmailValue *e = PG_GETARG_VARLENA_PP(0);
	char	   *s = email_address_cstring(e);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, s, strlen(s));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(email_from_text);
Datum
email_from_text(PG_FUNCTION_ARGS)
{
	text	   *raw = PG_GETARG_TEXT_PP(0);

	PG_RETURN_POINTER(make_email(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw)));
}

PG_FUNCTION_INFO_V1(email_to_text);
Datum
email_to_text(PG_FUNCTION_ARGS)
{
	EmailValue *e = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(email_address_cstring(e)));
}

PG_FUNCTION_INFO_V1(email_canonical);
Datum
email_canonical(PG_FUNCTION_ARGS)
{
	EmailValue *e = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(EMAIL_KEY(e), EMAIL_KEY_LEN(e)));
}

/* keys are lower-case ASCII or UTF-8 in NFC: byte order is a stable total order */
static int
email_cmp_internal(EmailValue *a, EmailValue *b)
{
	int			la = EMAIL_KEY_LEN(a);
	int			lb = EMAIL_KEY_LEN(b);
	int			r = memcmp(EMAIL_KEY(a), EMAIL_KEY(b), Min(la, lb));

	if (r != 0)
		return r < 0 ? -1 : 1;
	return la < lb ? -1 : (la > lb ? 1 : 0);
}

#define EMAIL_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	EmailValue *a = PG_GETARG_VARLENA_PP(0); \
	EmailValue *b = PG_GETARG_VARLENA_PP(1); \
	int			c = email_cmp_internal(a, b); \
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	PG_RETURN_BOOL(expr); \
}

EMAIL_CMP_FN(email_eq, c == 0)
EMAIL_CMP_FN(email_ne, c != 0)
EMAIL_CMP_FN(email_lt, c < 0)
EMAIL_CMP_FN(email_le, c <= 0)
EMAIL_CMP_FN(email_gt, c > 0)
EMAIL_CMP_FN(email_ge, c >= 0)

PG_FUNCTION_INFO_V1(email_cmp);
Datum
email_cmp(PG_FUNCTION_ARGS)
{
	EmailValue *a = PG_GETARG_VARLENA_PP(0);
	EmailValue *b = PG_GETARG_VARLENA_PP(1);
	int			c = email_cmp_internal(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	PG_RETURN_INT32(c);
}

PG_FUNCTION_INFO_V1(email_hash);
Datum
email_hash(PG_FUNCTION_ARGS)
{
	EmailValue *e = PG_GETARG_VARLENA_PP(0);
	Datum		h = hash_any((const unsigned char *) EMAIL_KEY(e), EMAIL_KEY_LEN(e));

	PG_FREE_IF_COPY(e, 0);
	return h;
}

PG_FUNCTION_INFO_V1(email_hash_extended);
Datum
email_hash_extended(PG_FUNCTION_ARGS)
{
	EmailValue *e = PG_GETARG_VARLENA_PP(0);
	Datum		h = hash_any_extended((const unsigned char *) EMAIL_KEY(e), EMAIL_KEY_LEN(e),
									  PG_GETARG_INT64(1));

	PG_FREE_IF_COPY(e, 0);
	return h;
}
