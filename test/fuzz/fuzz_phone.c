/*
 * fuzz_phone.c
 *		libFuzzer harness for cd_phone_parse.  The first input byte picks the default
 *		region (known, "ZZ", or malformed), the rest is the raw phone text.  Besides
 *		memory safety it checks the result's invariants: an OK result is well-formed
 *		E.164 that reads back as itself from any region, and parsing is deterministic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const regions[] = {
	"RU", "KZ", "BY", "US", "CA", "GB", "DE", "FR", "IT", "CN", "IN", "BR", "JP", "KR",
	"AU", "MX", "HU", "SG", "ZZ", "zz", "ru", "XX", "R", "", "RUS", "0Z"
};

#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_result(CdPhoneStatus st, const CdPhoneResult *res)
{
	size_t		n;

	check(st >= CD_PHONE_OK && st <= CD_PHONE_TOO_LONG);
	check(cd_phone_status_reason(st) != NULL);

	n = strnlen(res->ext, sizeof(res->ext));
	check(n <= CD_PHONE_EXT_MAX);
	check(strspn(res->ext, "0123456789") == n);

	n = strnlen(res->region, sizeof(res->region));
	check(n == 0 || (n == 2 && res->region[0] >= 'A' && res->region[0] <= 'Z' &&
					 res->region[1] >= 'A' && res->region[1] <= 'Z'));
	check(res->country_code >= 0 && res->country_code <= 999);

	n = strnlen(res->e164, sizeof(res->e164));
	check(n <= CD_PHONE_MAX);
	if (st == CD_PHONE_OK)
	{
		char		cc[8];
		size_t		cn;

		check(n >= 3 && res->e164[0] == '+');
		check(strspn(res->e164 + 1, "0123456789") == n - 1);
		check(res->country_code > 0);
		cn = (size_t) snprintf(cc, sizeof(cc), "%d", res->country_code);
		check(cn < n - 1 && memcmp(res->e164 + 1, cc, cn) == 0);
	}
	else
		check(n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *region;
	const char *raw;
	size_t		len;
	CdPhoneResult res;
	CdPhoneResult res2;
	CdPhoneStatus st;

	if (size == 0)
		return 0;
	region = regions[data[0] % NREGIONS];
	raw = (const char *) data + 1;
	len = size - 1;

	st = cd_phone_parse(raw, len, region, strlen(region), &res);
	check_result(st, &res);

	/* deterministic, and independent of what *res held before */
	memset(&res2, 0xA5, sizeof(res2));
	check(cd_phone_parse(raw, len, region, strlen(region), &res2) == st);
	check(strcmp(res.e164, res2.e164) == 0 && strcmp(res.ext, res2.ext) == 0 &&
		  strcmp(res.region, res2.region) == 0 && res.country_code == res2.country_code);

	if (st == CD_PHONE_OK)
	{
		/* E.164 is a fixed point, wherever it is read from */
		CdPhoneResult again;

		check(cd_phone_parse(res.e164, strlen(res.e164), "ZZ", 2, &again) == CD_PHONE_OK);
		check(strcmp(again.e164, res.e164) == 0);
		check(strcmp(again.region, res.region) == 0);
		check(again.country_code == res.country_code);
		check(cd_phone_parse(res.e164, strlen(res.e164), "RU", 2, &again) == CD_PHONE_OK);
		check(strcmp(again.e164, res.e164) == 0);
	}
	return 0;
}
