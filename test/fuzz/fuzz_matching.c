/*
 * fuzz_matching.c
 *		libFuzzer harness for the field-matching core: cd_name_similarity,
 *		cd_company_similarity, cd_company_word_slip, cd_phone_similarity,
 *		cd_email_similarity, cd_phonetic, cd_nickname_canonical and the Han transcription
 *		skeletons (cd_tr_*).
 *
 * The input is split in two at its first 0x1F byte (or in the middle when there is none).
 * Beyond not crashing it checks the promises of field_match.h: a known status, 0 on
 * failure, results in [0,1], the same status and bit-identical result with the
 * arguments swapped, identity f(a, a) = 1 when a has content, the shape of phonetic keys
 * and canonical names, and that a failing allocator gives NOMEM and leaks nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "field_match.h"
#include "han_transcription.h"
#include "name_match.h"
#include "phonetic.h"
#include "translit.h"

#include "fuzz_common.h"

static void
check_pair(CdMatchStatus s1, double r1, CdMatchStatus s2, double r2)
{
	CHECK(s1 >= CD_MATCH_OK && s1 <= CD_MATCH_ICU_ERROR);
	CHECK(s1 == s2);
	CHECK(memcmp(&r1, &r2, sizeof(double)) == 0);
	if (s1 != CD_MATCH_OK)
		CHECK(r1 == 0);
	else
		CHECK(r1 >= 0 && r1 <= 1);
}

/* the translit of s has a word (cd_translit OK and non-empty) */
static int
has_words(const char *s, size_t len)
{
	CdBuf		b;
	int			r;

	cd_buf_init(&b, &cd_malloc_allocator);
	r = cd_translit(s, len, &b) == CD_TEXT_OK && b.len > 0;
	cd_buf_free(&b);
	return r;
}

static size_t
count_words(const char *s, size_t len)
{
	size_t		i,
				n = 0;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
			n++;
	return n;
}

/* lower-case letters/digits words separated by single spaces */
static void
check_words_shape(const CdBuf *b, const char *alphabet)
{
	size_t		i;

	for (i = 0; i < b->len; i++)
	{
		char		c = b->data[i];

		if (c == ' ')
			CHECK(i > 0 && i + 1 < b->len && b->data[i - 1] != ' ');
		else
			CHECK(strchr(alphabet, c) != NULL && c != '\0');
	}
}

static void
check_unary(const char *a, size_t alen)
{
	CdBuf		k1,
				k2,
				tr;
	CdMatchStatus st;
	int			valid = alen <= CD_MATCH_MAX_BYTES && cd_utf8_valid(a, alen);

	cd_buf_init(&k1, &cd_malloc_allocator);
	cd_buf_init(&k2, &cd_malloc_allocator);
	cd_buf_init(&tr, &cd_malloc_allocator);

	st = cd_phonetic(a, alen, &k1);
	CHECK(st == (alen > CD_MATCH_MAX_BYTES ? CD_MATCH_TOO_LONG :
				 valid ? CD_MATCH_OK : CD_MATCH_INVALID_UTF8));
	if (st == CD_MATCH_OK)
	{
		CHECK(cd_translit(a, alen, &tr) == CD_TEXT_OK);
		CHECK((k1.len > 0) == (tr.len > 0));
		check_words_shape(&k1, "abpvfgkdtsxqjlmnr0123456789");
		CHECK(count_words(k1.data, k1.len) == (count_words(tr.data, tr.len)));
		CHECK(cd_phonetic(a, alen, &k2) == CD_MATCH_OK);
		CHECK(k1.len == k2.len && (k1.len == 0 || memcmp(k1.data, k2.data, k1.len) == 0));
	}
	else
		CHECK(k1.len == 0);

	cd_buf_reset(&k2);
	st = cd_nickname_canonical(a, alen, &k2);
	CHECK(st == (alen > CD_MATCH_MAX_BYTES ? CD_MATCH_TOO_LONG :
				 valid ? CD_MATCH_OK : CD_MATCH_INVALID_UTF8));
	if (st == CD_MATCH_OK)
	{
		check_words_shape(&k2, "abcdefghijklmnopqrstuvwxyz0123456789");
		CHECK(count_words(k2.data, k2.len) == count_words(tr.data, tr.len));
	}
	else
		CHECK(k2.len == 0);

	cd_buf_free(&k1);
	cd_buf_free(&k2);
	cd_buf_free(&tr);
}

/* every class of s is in alphabet, and nothing past CD_TR_MAX */
static void
check_skeleton(const CdTrSkeleton *s, const char *alphabet)
{
	CHECK(s->n <= CD_TR_MAX);
	for (int i = 0; i < s->n; i++)
		CHECK(s->cls[i] != '\0' && strchr(alphabet, s->cls[i]) != NULL);
}

static bool
is_score(double v)
{
	return v == 0 || v == 0.75 || v == 0.8 || v == 0.85;
}

/*
 * a as a Latin word and b split at spaces as pinyin syllables (any bytes: the core must
 * not read past them): skeletons of the documented classes, a Latin skeleton exactly for
 * lower-case ASCII letters short enough to fit, scores from the table, symmetric, and a
 * skeleton of 2+ classes meets itself
 */
static void
check_transcription(const char *a, size_t alen, const char *b, size_t blen)
{
	CdTrSkeleton l,
				p;
	const char *syl[16];
	size_t		len[16];
	int			n = 0;
	size_t		i = 0;
	bool		letters = alen > 0;
	bool		lok,
				pok;

	for (size_t k = 0; k < alen; k++)
		if (a[k] < 'a' || a[k] > 'z')
			letters = false;
	lok = cd_tr_latin_skeleton(a, alen, &l);
	CHECK(!lok || letters);
	if (letters && 2 * alen + 1 <= CD_TR_MAX)
		CHECK(lok);
	if (!lok)
		CHECK(l.n == 0);
	else
	{
		check_skeleton(&l, "VPTKHFMNLSQ");
		CHECK(l.nsyl == 0);
	}
	while (i < blen && n < 16)
	{
		size_t		start;

		while (i < blen && b[i] == ' ')
			i++;
		start = i;
		while (i < blen && b[i] != ' ')
			i++;
		if (i > start)
		{
			syl[n] = b + start;
			len[n++] = i - start;
		}
	}
	pok = cd_tr_pinyin_skeleton(syl, len, n, &p);
	if (!pok)
		CHECK(p.n == 0);
	else
	{
		check_skeleton(&p, "VPTKHFMNLSJX");
		CHECK(p.nsyl == n);
	}
	if (lok && pok)
	{
		double		s1 = cd_tr_similarity(&l, &p);
		double		s2 = cd_tr_similarity(&p, &l);

		CHECK(is_score(s1) && s1 == s2);
	}
	if (lok)
		CHECK(l.n < 2 ? cd_tr_similarity(&l, &l) == 0 : cd_tr_similarity(&l, &l) >= 0.8);
	if (pok)
		CHECK(p.n < 2 ? cd_tr_similarity(&p, &p) == 0 : cd_tr_similarity(&p, &p) >= 0.8);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const regions[] = {"RU", "US", "ZZ", "DE", "GB", "XX", "", NULL};
	const char *in = (const char *) data;
	const uint8_t *sep = memchr(data, 0x1F, size);
	const char *a = in;
	size_t		alen = sep ? (size_t) (sep - data) : size / 2;
	const char *b = in + alen + (sep ? 1 : 0);
	size_t		blen = size - alen - (sep ? 1 : 0);
	const char *region = regions[size % (sizeof(regions) / sizeof(regions[0]))];
	const CdAllocator *al = &cd_malloc_allocator;
	double		r1,
				r2;
	CdMatchStatus s1,
				s2;
	int			ok_a = alen <= CD_MATCH_MAX_BYTES && cd_utf8_valid(a, alen);

	/* names */
	s1 = cd_name_similarity(a, alen, b, blen, al, &r1);
	s2 = cd_name_similarity(b, blen, a, alen, al, &r2);
	check_pair(s1, r1, s2, r2);
	s1 = cd_name_similarity(a, alen, a, alen, al, &r1);
	if (ok_a)
		CHECK(s1 == CD_MATCH_OK && r1 == (has_words(a, alen) ? 1.0 : 0.0));

	/* companies */
	s1 = cd_company_similarity(a, alen, b, blen, al, &r1);
	s2 = cd_company_similarity(b, blen, a, alen, al, &r2);
	check_pair(s1, r1, s2, r2);
	s1 = cd_company_similarity(a, alen, a, alen, al, &r1);
	if (ok_a)
		CHECK(s1 == CD_MATCH_OK && (r1 == 1.0 || r1 == 0.0));
	if (ok_a && !has_words(a, alen))
		CHECK(r1 == 0.0);

	/*
	 * company word slips (0.2.0): OK, symmetric, never for equal words, words under 4
	 * bytes, over 64 bytes or with a digit; without cut, never for lengths more than 2
	 * apart; with cut, anything found without cut found too
	 */
	{
		bool		w1 = true,
					w2 = true,
					c1 = true,
					c2 = true;

		CHECK(cd_company_word_slip(a, alen, b, blen, false, al, &w1) == CD_MATCH_OK);
		CHECK(cd_company_word_slip(b, blen, a, alen, false, al, &w2) == CD_MATCH_OK);
		CHECK(cd_company_word_slip(a, alen, b, blen, true, al, &c1) == CD_MATCH_OK);
		CHECK(cd_company_word_slip(b, blen, a, alen, true, al, &c2) == CD_MATCH_OK);
		CHECK(w1 == w2 && c1 == c2 && (!w1 || c1));
		if (c1)
		{
			size_t		mx = alen > blen ? alen : blen;
			size_t		mn = alen < blen ? alen : blen;

			CHECK(mn >= 4 && mx <= 64 && !(alen == blen && memcmp(a, b, alen) == 0));
			for (size_t i = 0; i < alen; i++)
				CHECK(a[i] < '0' || a[i] > '9');
			for (size_t i = 0; i < blen; i++)
				CHECK(b[i] < '0' || b[i] > '9');
			if (w1)
				CHECK(mx - mn <= 2);
		}
	}

	check_transcription(a, alen, b, blen);

	/* phones */
	s1 = cd_phone_similarity(a, alen, b, blen, region, &r1);
	s2 = cd_phone_similarity(b, blen, a, alen, region, &r2);
	check_pair(s1, r1, s2, r2);
	s1 = cd_phone_similarity(a, alen, a, alen, region, &r1);
	if (ok_a && memchr(a, '3', alen))
		CHECK(s1 == CD_MATCH_OK && r1 == 1.0);

	/* emails */
	s1 = cd_email_similarity(a, alen, b, blen, &r1);
	s2 = cd_email_similarity(b, blen, a, alen, &r2);
	check_pair(s1, r1, s2, r2);
	s1 = cd_email_similarity(a, alen, a, alen, &r1);
	if (ok_a)
		CHECK(s1 == CD_MATCH_OK && (r1 == 1.0 || r1 == 0.0));
	if (ok_a && memchr(a, 'e', alen))
		CHECK(r1 == 1.0);

	/* unary functions */
	check_unary(a, alen);
	check_unary(b, blen);

	/* a failing allocator: NOMEM or OK, and nothing leaked */
	{
		FailCtx		ctx = {0, 0, size > 0 ? data[size - 1] % 6 : 0};
		CdAllocator fal = {fail_alloc, fail_resize, fail_release, &ctx};
		CdBuf		out;

		s1 = cd_name_similarity(a, alen, b, blen, &fal, &r1);
		CHECK(s1 != CD_MATCH_NOMEM || r1 == 0);
		ctx.allocs = 0;
		s2 = cd_company_similarity(a, alen, b, blen, &fal, &r2);
		CHECK(s2 != CD_MATCH_NOMEM || r2 == 0);
		ctx.allocs = 0;
		cd_buf_init(&out, &fal);
		s1 = cd_phonetic(a, alen, &out);
		CHECK(s1 != CD_MATCH_NOMEM || out.len == 0);
		cd_buf_free(&out);
		CHECK(ctx.live == 0);
	}
	return 0;
}
