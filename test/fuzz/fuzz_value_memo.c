/*
 * fuzz_value_memo.c
 *		libFuzzer harness for the value memo (src/core/value_memo.c) and the functions it
 *		memoizes: any input gives the same status and output through an active memo (on
 *		the first call, which fills it, and on the second, which reads it) as without one,
 *		for cd_translit, cd_person_key, cd_email_normalize, cd_email_key and cd_phone_parse
 *		(two regions), and the same similarity from cd_name_similarity and
 *		cd_company_similarity (whose prepared name words the memo keeps) of the input's two
 *		halves (split at the first newline, or in the middle); a small budget makes the memo empty itself often, and an allocator
 *		that fails sometimes leaves it consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cd_buf.h"
#include "email.h"
#include "fuzz_common.h"
#include "name_key.h"
#include "name_match.h"
#include "phone.h"
#include "translit.h"
#include "value_memo.h"

static CdMemo *memo;
static FailCtx memo_fail = {0, 0, 1 << 30};
static CdAllocator memo_al = {fail_alloc, fail_resize, fail_release, &memo_fail};

typedef CdTextStatus (*TextFn) (const char *in, size_t len, CdBuf *out);

static void
same_text(TextFn fn, const char *in, size_t len)
{
	CdBuf		a;
	CdBuf		b;
	CdTextStatus sa;
	CdTextStatus sb;

	cd_buf_init(&a, &cd_malloc_allocator);
	cd_buf_init(&b, &cd_malloc_allocator);
	cd_memo_use(NULL);
	sa = fn(in, len, &a);
	for (int rep = 0; rep < 2; rep++)
	{
		cd_memo_use(memo);
		cd_buf_reset(&b);
		sb = fn(in, len, &b);
		CHECK(sa == sb);
		if (sa == CD_TEXT_OK)
			CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	}
	cd_memo_use(NULL);
	cd_buf_free(&a);
	cd_buf_free(&b);
}

typedef CdEmailStatus (*EmailFn) (const char *raw, size_t len, char out[CD_EMAIL_MAX], size_t *outlen);

static void
same_email(EmailFn fn, const char *in, size_t len)
{
	char		a[CD_EMAIL_MAX];
	char		b[CD_EMAIL_MAX];
	size_t		al = 0;
	size_t		bl = 0;
	CdEmailStatus sa;

	cd_memo_use(NULL);
	sa = fn(in, len, a, &al);
	for (int rep = 0; rep < 2; rep++)
	{
		cd_memo_use(memo);
		CHECK(fn(in, len, b, &bl) == sa);
		if (sa == CD_EMAIL_OK)
			CHECK(al == bl && strcmp(a, b) == 0);
	}
	cd_memo_use(NULL);
}

static void
same_phone(const char *in, size_t len, const char *region)
{
	CdPhoneResult a;
	CdPhoneResult b;
	CdPhoneStatus sa;

	memset(&a, 0, sizeof(a));
	cd_memo_use(NULL);
	sa = cd_phone_parse(in, len, region, strlen(region), &a);
	for (int rep = 0; rep < 2; rep++)
	{
		memset(&b, 0, sizeof(b));
		cd_memo_use(memo);
		CHECK(cd_phone_parse(in, len, region, strlen(region), &b) == sa);
		CHECK(strcmp(a.e164, b.e164) == 0 && strcmp(a.ext, b.ext) == 0);
		CHECK(strcmp(a.region, b.region) == 0 && a.country_code == b.country_code);
	}
	cd_memo_use(NULL);
}

typedef CdMatchStatus (*SimFn) (const char *a, size_t alen, const char *b, size_t blen,
							   const CdAllocator *al, double *out);

static void
same_similarity(SimFn fn, const char *in, size_t size)
{
	const char *nl = memchr(in, '\n', size);
	size_t		alen = nl != NULL ? (size_t) (nl - in) : size / 2;
	const char *b = nl != NULL ? nl + 1 : in + alen;
	size_t		blen = size - (size_t) (b - in);
	double		x0 = 0;
	double		y0 = 0;
	double		x1 = 0;
	CdMatchStatus s0;
	CdMatchStatus t0;

	cd_memo_use(NULL);
	s0 = fn(in, alen, b, blen, &cd_malloc_allocator, &x0);
	t0 = fn(b, blen, in, alen, &cd_malloc_allocator, &y0);
	for (int rep = 0; rep < 2; rep++)
	{
		cd_memo_use(memo);
		CHECK(fn(in, alen, b, blen, &cd_malloc_allocator, &x1) == s0);
		CHECK(memcmp(&x0, &x1, sizeof(double)) == 0);
		/* the other way round: the memo now holds both names' words */
		CHECK(fn(b, blen, in, alen, &cd_malloc_allocator, &x1) == t0);
		CHECK(memcmp(&y0, &x1, sizeof(double)) == 0);
	}
	cd_memo_use(NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *) data;

	if (memo == NULL)
	{
		memo = cd_memo_create(&memo_al, 16384);
		CHECK(memo != NULL);
	}
	/* now and then an allocator that fails from the next few requests on */
	memo_fail.allocs = 0;
	memo_fail.fail_at = size > 0 && data[0] % 7 == 0 ? data[0] % 3 : 1 << 30;
	same_text(cd_translit, in, size);
	same_text(cd_person_key, in, size);
	same_email(cd_email_normalize, in, size);
	same_email(cd_email_key, in, size);
	same_phone(in, size, "RU");
	same_phone(in, size, "ZZ");
	same_similarity(cd_name_similarity, in, size);
	same_similarity(cd_company_similarity, in, size);
	return 0;
}
