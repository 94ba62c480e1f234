/*
 * type_values.c
 *		Encoding and validation of the crmdedup.phone and crmdedup.email values; see
 *		type_values.h.
 */
#include "type_values.h"

#include <stdio.h>
#include <string.h>

CdPhoneStatus
cd_phone_value_parse(const char *raw, size_t len, const char *region, size_t region_len,
					 int64_t *value)
{
	CdPhoneResult res;
	CdPhoneStatus st = cd_phone_parse(raw, len, region, region_len, &res);
	int64_t		v = 0;

	*value = 0;
	if (st != CD_PHONE_OK)
		return st;
	/* cd_phone_parse promises "+" and at most 15 digits: no overflow */
	for (const char *p = res.e164 + 1; *p; p++)
		v = v * 10 + (*p - '0');
	*value = v;
	return st;
}

bool
cd_phone_value_valid(int64_t v)
{
	char		buf[CD_PHONE_TEXT_MAX];
	int64_t		back;

	if (v <= 0 || v > CD_PHONE_VALUE_MAX)
		return false;
	cd_phone_value_format(v, buf);
	/* "ZZ": the number must carry its country code, as the stored digits always do */
	return cd_phone_value_parse(buf, strlen(buf), "ZZ", 2, &back) == CD_PHONE_OK && back == v;
}

size_t
cd_phone_value_format(int64_t v, char buf[CD_PHONE_TEXT_MAX])
{
	int			n = snprintf(buf, CD_PHONE_TEXT_MAX, "+%lld", (long long) v);

	return n < 0 ? 0 : (size_t) n;
}

CdEmailStatus
cd_email_value_encode(const char *raw, size_t len, char out[CD_EMAIL_VALUE_MAX],
					  size_t *outlen)
{
	char		key[CD_EMAIL_MAX];
	char		addr[CD_EMAIL_MAX];
	size_t		keylen = 0;
	size_t		addrlen = 0;
	CdEmailStatus st;

	*outlen = 0;
	st = cd_email_normalize(raw, len, addr, &addrlen);
	if (st == CD_EMAIL_OK)
		st = cd_email_key(raw, len, key, &keylen);
	if (st != CD_EMAIL_OK)
		return st;
	/* both are at most 254 octets (email.h), so the length fits the byte */
	if (keylen > 255 || addrlen >= CD_EMAIL_MAX)
		return CD_EMAIL_TOO_LONG;
	if (addrlen == keylen && memcmp(addr, key, keylen) == 0)
		addrlen = 0;
	out[0] = (char) (unsigned char) keylen;
	memcpy(out + 1, key, keylen);
	memcpy(out + 1 + keylen, addr, addrlen);
	*outlen = 1 + keylen + addrlen;
	return CD_EMAIL_OK;
}

bool
cd_email_value_parts(const char *val, size_t len, const char **key, size_t *keylen,
					 const char **addr, size_t *addrlen)
{
	size_t		kl;

	if (len < 1)
		return false;
	kl = (unsigned char) val[0];
	if (kl == 0 || 1 + kl > len)
		return false;
	*key = val + 1;
	*keylen = kl;
	if (len > 1 + kl)
	{
		*addr = val + 1 + kl;
		*addrlen = len - 1 - kl;
	}
	else
	{
		*addr = *key;
		*addrlen = kl;
	}
	return true;
}
