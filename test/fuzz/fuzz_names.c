/*
 * fuzz_names.c
 *		libFuzzer harness for the name keys (cd_fold/cd_name_key, cd_translit,
 *		cd_person_key, cd_company_key).
 *
 * Beyond "no crash", it checks what the keys promise: valid UTF-8 input is accepted and
 * invalid input rejected by every function; outputs are trimmed, single-spaced words
 * (Latin ASCII for translit and person_key); name_key, translit and person_key are
 * idempotent; the ASCII fast path agrees with the general path; and NFD input gives the
 * same name_key as the input itself (unless a run of more than 30 marks was capped).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "cd_buf.h"
#include "name_key.h"
#include "translit.h"
#include "unicode_fold.h"

typedef CdTextStatus (*KeyFn) (const char *in, size_t len, CdBuf *out);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* trimmed words separated by single spaces; ascii: only [a-z0-9] in words */
static void
check_shape(const CdBuf *b, int ascii)
{
	if (b->len == 0)
		return;
	check(b->data[0] != ' ' && b->data[b->len - 1] != ' ');
	check(cd_utf8_valid(b->data, b->len));
	check(strlen(b->data) == b->len);
	for (size_t i = 0; i < b->len; i++)
	{
		unsigned char c = (unsigned char) b->data[i];

		if (c == ' ')
			check(b->data[i + 1] != ' ');
		else if (ascii)
			check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
		else if (c < 0x80)
			check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
	}
}

static int
same(const CdBuf *a, const CdBuf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void
check_idempotent(KeyFn fn, const CdBuf *first)
{
	CdBuf		again;

	cd_buf_init(&again, &cd_malloc_allocator);
	check(fn(first->len ? first->data : "", first->len, &again) == CD_TEXT_OK);
	check(same(first, &again));
	cd_buf_free(&again);
}

/* longest run of combining marks in valid UTF-8 */
static int
longest_mark_run(const char *s, size_t len)
{
	size_t		i = 0;
	int			run = 0;
	int			best = 0;

	while (i < len)
	{
		int32_t		c;
		int			n = cd_utf8_decode((const unsigned char *) s + i, len - i, &c);
		utf8proc_category_t cat;

		if (n < 0)
			return 1000;
		cat = utf8proc_category(c);
		if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
			cat == UTF8PROC_CATEGORY_ME || utf8proc_get_property(c)->combining_class)
			run++;
		else
			run = 0;
		if (run > best)
			best = run;
		i += (size_t) n;
	}
	return best;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *) data;
	bool		valid = cd_utf8_valid(in, size);
	KeyFn		fns[] = {cd_name_key, cd_translit, cd_person_key, cd_company_key};
	CdBuf		out[4];
	int			ascii_only = 1;

	for (size_t i = 0; i < size; i++)
		if (data[i] >= 0x80)
			ascii_only = 0;

	for (int f = 0; f < 4; f++)
	{
		CdTextStatus st;

		cd_buf_init(&out[f], &cd_malloc_allocator);
		st = fns[f](in, size, &out[f]);
		check(st == (valid ? CD_TEXT_OK : CD_TEXT_INVALID_UTF8));
		if (!valid)
			check(out[f].len == 0);
		check_shape(&out[f], f == 1 || f == 2);
	}
	if (!valid)
		goto done;

	check_idempotent(cd_name_key, &out[0]);
	check_idempotent(cd_translit, &out[1]);
	check_idempotent(cd_person_key, &out[2]);

	/* cd_fold is name_key */
	{
		CdBuf		b;

		cd_buf_init(&b, &cd_malloc_allocator);
		check(cd_fold(in, size, &b) == CD_TEXT_OK);
		check(same(&b, &out[0]));
		cd_buf_free(&b);
	}

	/* the ASCII fast path agrees with the general path (NBSP forces the latter) */
	if (ascii_only)
	{
		char	   *s = malloc(size + 2);
		CdBuf		b;

		check(s != NULL);
		memcpy(s, in, size);
		s[size] = (char) 0xC2;
		s[size + 1] = (char) 0xA0;
		cd_buf_init(&b, &cd_malloc_allocator);
		check(cd_name_key(s, size + 2, &b) == CD_TEXT_OK);
		check(same(&b, &out[0]));
		cd_buf_reset(&b);
		check(cd_company_key(s, size + 2, &b) == CD_TEXT_OK);
		check(same(&b, &out[3]));
		cd_buf_free(&b);
		free(s);
	}

	/*
	 * Canonically equivalent input, same key (NFD by utf8proc, as a reference), unless
	 * the cap of 30 marks per letter applies (measured on NFKD + case fold, what the
	 * key sees): then which marks survive depends on their order.
	 */
	if (size > 0 && size <= 4096 && memchr(in, '\0', size) == NULL)
	{
		utf8proc_uint8_t *nfd = NULL;
		utf8proc_uint8_t *nfkd = NULL;
		utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *) in, (utf8proc_ssize_t) size,
										  &nfd, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
		utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *) in, (utf8proc_ssize_t) size,
										  &nfkd, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
										  UTF8PROC_COMPAT | UTF8PROC_CASEFOLD);

		if (n >= 0 && nfd != NULL && k >= 0 && nfkd != NULL &&
			longest_mark_run((const char *) nfkd, (size_t) k) <= 30)
		{
			CdBuf		b;

			cd_buf_init(&b, &cd_malloc_allocator);
			check(cd_name_key((const char *) nfd, (size_t) n, &b) == CD_TEXT_OK);
			check(same(&b, &out[0]));
			cd_buf_free(&b);
		}
		free(nfd);
		free(nfkd);
	}

done:
	for (int f = 0; f < 4; f++)
		cd_buf_free(&out[f]);
	return 0;
}
