/*
 * fuzz_types.c
 *		libFuzzer harness for the values of the crmdedup.phone and crmdedup.email types
 *		(type_values.h): the code phone_in/phone_recv/email_in/email_recv run once the
 *		server has handed them the bytes.  The first byte picks what is driven:
 *		  mode 0: phone text input (the next byte picks the region, the rest is the text);
 *		  mode 1: phone binary receive (8 bytes, big-endian int64, as pq_getmsgint64 reads);
 *		  mode 2: email text input and binary receive (same format: the address as text);
 *		  mode 3: an arbitrary byte string read as a stored email value (only the layout
 *		          check may look at it).
 *		Checks, besides memory safety: whatever the text input accepts, the binary receive
 *		accepts and prints back to the same value (a dump in text or binary restores);
 *		what the binary receive accepts is a fixed point of output then input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "type_values.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const regions[] = {
	"RU", "US", "GB", "DE", "CN", "IN", "BR", "KZ", "ZZ", "zz", "XX", "", "RUS"
};

#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_phone_value(int64_t v)
{
	char		buf[CD_PHONE_TEXT_MAX];
	size_t		n;
	int64_t		back;

	check(cd_phone_value_valid(v));
	n = cd_phone_value_format(v, buf);
	check(n >= 3 && n <= CD_PHONE_MAX && buf[0] == '+' && strlen(buf) == n);
	check(cd_phone_value_parse(buf, n, "ZZ", 2, &back) == CD_PHONE_OK && back == v);
	/* the stored number carries its country code, so no region changes it */
	check(cd_phone_value_parse(buf, n, "RU", 2, &back) == CD_PHONE_OK && back == v);
}

static void
check_email_value(const char *val, size_t len)
{
	const char *key;
	const char *addr;
	size_t		keylen;
	size_t		addrlen;
	char		again[CD_EMAIL_VALUE_MAX];
	size_t		againlen;

	check(len >= 2 && len <= CD_EMAIL_VALUE_MAX);
	check(cd_email_value_parts(val, len, &key, &keylen, &addr, &addrlen));
	check(keylen <= 254 && addrlen <= 254);
	check(memchr(key, '@', keylen) != NULL && memchr(addr, '@', addrlen) != NULL);
	check(memchr(key, '\0', keylen) == NULL && memchr(addr, '\0', addrlen) == NULL);
	/* the printed address (what email_out and email_send give) reads back as the value */
	check(cd_email_value_encode(addr, addrlen, again, &againlen) == CD_EMAIL_OK);
	check(againlen == len && memcmp(again, val, len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4)
	{
		case 0:
			{
				const char *region;
				int64_t		v;
				int64_t		v2;
				CdPhoneStatus st;

				if (size < 2)
					return 0;
				region = regions[data[1] % NREGIONS];
				st = cd_phone_value_parse((const char *) data + 2, size - 2, region,
										  strlen(region), &v);
				check(st >= CD_PHONE_OK && st <= CD_PHONE_TOO_LONG);
				check(cd_phone_status_reason(st) != NULL);
				check(cd_phone_value_parse((const char *) data + 2, size - 2, region,
										   strlen(region), &v2) == st && v2 == v);
				if (st == CD_PHONE_OK)
					check_phone_value(v);
				else
					check(v == 0);
				break;
			}
		case 1:
			{
				uint64_t	u = 0;
				int64_t		v;

				if (size < 9)
					return 0;
				for (int i = 1; i <= 8; i++)
					u = (u << 8) | data[i];
				memcpy(&v, &u, sizeof(v));
				/* a rejected value has nothing more to check: it never enters */
				if (cd_phone_value_valid(v))
					check_phone_value(v);
				break;
			}
		case 2:
			{
				char		val[CD_EMAIL_VALUE_MAX];
				size_t		len;
				CdEmailStatus st;

				st = cd_email_value_encode((const char *) data + 1, size - 1, val, &len);
				check(st >= CD_EMAIL_OK && st <= CD_EMAIL_BAD_DOMAIN);
				check(cd_email_status_reason(st) != NULL);
				if (st == CD_EMAIL_OK)
					check_email_value(val, len);
				else
					check(len == 0);
				break;
			}
		case 3:
			{
				const char *key;
				const char *addr;
				size_t		keylen;
				size_t		addrlen;

				if (cd_email_value_parts((const char *) data + 1, size - 1, &key, &keylen,
										 &addr, &addrlen))
				{
					check(keylen >= 1 && key + keylen <= (const char *) data + size);
					check(addr + addrlen <= (const char *) data + size);
				}
				break;
			}
	}
	return 0;
}
