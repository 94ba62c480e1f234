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

/*
 * ICU and utf8proc are not instrumented, so coverage cannot lead the fuzzer into tricky
 * Unicode.  An input starting with byte 0xF5 (never in UTF-8) is read instead as a list of
 * indexes into these pieces: case-folding and composition traps, separators, providers.
 */
static const char *const pieces[] = {
	"a", "b", "e", "i", "o", "k", "s", "1", ".", "-", "_", "+", "@", "'", "\xC3\x9F",
	"\xC4\xB0", "\xC4\xB1", "\xC5\xBF", "\xE2\x84\xAA", "\xCE\xA3", "\xCF\x82",
	"\xCD\x85", "\xE1\xBE\xB3", "\xCE\x90", "\xEF\xAC\x83", "\xCC\x81", "\xCC\x88",
	"\xCC\x87", "\xCC\xA3", "\xE1\x84\x80", "\xE1\x85\xA1", "\xE1\x86\xA8",
	"\xEA\xB0\x80", "\xC3\xA9", "\xD0\xB4", "\xD0\x94", "\xD1\x91", "\xD0\x81",
	"\xD0\xB9", "\xE4\xBE\x8B", "\xC3\xBC", "\xC7\x85", "\xEF\xAC\x80",
	"\xE2\x84\xA6", "\xE2\x84\xAB", "\xEF\xBD\x89", "\xEF\xBC\xA0", "\xEF\xBC\x8E",
	"\xE3\x80\x82", "\xC2\xAD", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xC2\xB7",
	"\xD9\xA3", "\xD7\x90", "\xD8\xA7", " ", "<", ">", "\"", ",", "(", ")", "mailto:",
	"%40", "%D0%B4", "?", "gmail.com", "googlemail.com", "yandex.com.tr", "ya.ru", "proton.me",
	"pm.me", "me.com", "outlook.com", "x.ru", "\xD1\x80\xD1\x84", "xn--", "xn--p1ai",
	"\xE1\xBE\xBC", "\xCD\x80", "\xCD\x84", "\xE0\xBD\xB3", "\xE0\xBD\xB1",
	"\xE0\xBD\xB2", "\xE1\xBA\x9E", "\xCF\x90", "\xE1\xBA\x9B", "\xE0\xA4\x95",
	"\xE0\xA5\x8D", "\xE0\xA4\xB7", "\xE0\xA4\x82", "\xF0\x9F\x98\x80",
	"\xE2\x80\xAE", "\xC2\xA0", "\xE2\x80\x8B", "[", "]", "\\", "\x00", "\xFF",
};

#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

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
	char		built[4096];

	if (size > 0 && data[0] == 0xF5)
	{
		size_t		n = 0;

		for (size_t i = 1; i < size; i++)
		{
			const char *p = pieces[data[i] % NPIECES];
			size_t		pl = p[0] == '\0' ? 1 : strlen(p);

			if (n + pl > sizeof(built))
				break;
			memcpy(built + n, p, pl);
			n += pl;
		}
		data = (const uint8_t *) built;
		size = n;
	}

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
