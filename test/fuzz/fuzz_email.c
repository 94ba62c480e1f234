/*
 * fuzz_email.c
 *		libFuzzer harness for the email normalizer and key (src/core/email.c).
 *
 * Beyond not crashing, it checks the promises of email.h: a status in range, the output
 * empty on failure, bounded and NUL-terminated on success, both functions agreeing on the
 * status, and both idempotent on their own output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cd_buf.h"
#include "email.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		out[CD_EMAIL_MAX];
	char		key[CD_EMAIL_MAX];
	char		again[CD_EMAIL_MAX];
	size_t		olen,
				klen,
				alen;
	CdEmailStatus st;
	CdEmailStatus kst;

	st = cd_email_normalize((const char *) data, size, out, &olen);
	kst = cd_email_key((const char *) data, size, key, &klen);
	check(st >= CD_EMAIL_OK && st <= CD_EMAIL_BAD_DOMAIN);
	check(kst == st);
	check(cd_email_status_reason(st) != NULL);
	if (st != CD_EMAIL_OK)
	{
		check(olen == 0 && out[0] == '\0');
		check(klen == 0 && key[0] == '\0');
		return 0;
	}
	check(olen > 0 && olen <= 254 && strlen(out) == olen);
	check(klen > 0 && klen <= 254 && strlen(key) == klen);
	check(cd_utf8_valid(out, olen) && cd_utf8_valid(key, klen));
	check(memchr(out, '@', olen) != NULL);

	/* normalize is idempotent, and the key of the normalized form is the key */
	check(cd_email_normalize(out, olen, again, &alen) == CD_EMAIL_OK);
	check(alen == olen && memcmp(again, out, olen) == 0);
	check(cd_email_key(out, olen, again, &alen) == CD_EMAIL_OK);
	check(alen == klen && memcmp(again, key, klen) == 0);
	/* a key is a normalized address and its own key */
	check(cd_email_normalize(key, klen, again, &alen) == CD_EMAIL_OK);
	check(alen == klen && memcmp(again, key, klen) == 0);
	check(cd_email_key(key, klen, again, &alen) == CD_EMAIL_OK);
	check(alen == klen && memcmp(again, key, klen) == 0);
	return 0;
}
