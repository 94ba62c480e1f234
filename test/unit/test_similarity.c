/*
 * test_similarity.c
 *		Unit tests of the similarity metrics (src/core/similarity.c): known values, statuses,
 *		symmetry, identity and range, the early-exit band of the OSA distance against a
 *		naive reference, the no-allocation promise for short inputs, and ns/pair timings.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "similarity.h"

#define A (&cd_malloc_allocator)

/* ---------------------------------------------------------------- helpers */

typedef struct CountCtx
{
	int			allocs;
	int			live;
	int			fail;			/* return NULL from alloc */
} CountCtx;

static void *
count_alloc(size_t size, void *ctx)
{
	CountCtx   *c = ctx;

	c->allocs++;
	if (c->fail)
		return NULL;
	c->live++;
	return malloc(size);
}

static void *
count_resize(void *ptr, size_t size, void *ctx)
{
	(void) ctx;
	return realloc(ptr, size);
}

static void
count_release(void *ptr, void *ctx)
{
	CountCtx   *c = ctx;

	c->live--;
	free(ptr);
}

static double
jw(const char *a, const char *b)
{
	double		r = -1;

	ck_assert_int_eq(cd_jaro_winkler(a, strlen(a), b, strlen(b), A, &r), CD_SIM_OK);
	return r;
}

static int
lev(const char *a, const char *b, int max)
{
	int			r = -1;

	ck_assert_int_eq(cd_levenshtein(a, strlen(a), b, strlen(b), max, A, &r), CD_SIM_OK);
	return r;
}

static double
levsim(const char *a, const char *b)
{
	double		r = -1;

	ck_assert_int_eq(cd_levenshtein_similarity(a, strlen(a), b, strlen(b), A, &r), CD_SIM_OK);
	return r;
}

static double
trgm(const char *a, const char *b)
{
	double		r = -1;

	ck_assert_int_eq(cd_trigram_similarity(a, strlen(a), b, strlen(b), A, &r), CD_SIM_OK);
	return r;
}

static double
tok(const char *a, const char *b)
{
	double		r = -1;

	ck_assert_int_eq(cd_token_similarity(a, strlen(a), b, strlen(b), A, &r), CD_SIM_OK);
	return r;
}

/* decode UTF-8 (known valid) into code points; returns the count */
static size_t
to_cps(const char *s, size_t len, int32_t *out)
{
	size_t		i = 0;
	size_t		n = 0;

	while (i < len)
	{
		int			k = cd_utf8_decode((const unsigned char *) s + i, len - i, &out[n]);

		ck_assert_int_gt(k, 0);
		i += (size_t) k;
		n++;
	}
	return n;
}

/* textbook full-matrix OSA distance, the reference for the banded implementation */
static int
ref_osa(const char *sa, const char *sb)
{
	size_t		alen = strlen(sa);
	size_t		blen = strlen(sb);
	int32_t    *a = malloc((alen + 1) * sizeof(int32_t));
	int32_t    *b = malloc((blen + 1) * sizeof(int32_t));
	size_t		la = to_cps(sa, alen, a);
	size_t		lb = to_cps(sb, blen, b);
	int		   *d = malloc((la + 1) * (lb + 1) * sizeof(int));
	int			r;

#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (size_t i = 0; i <= la; i++)
		D(i, 0) = (int) i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = (int) j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++)
		{
			int			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			int			v = D(i - 1, j) + 1;

			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
				D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	r = D(la, lb);
#undef D
	free(a);
	free(b);
	free(d);
	return r;
}

/* deterministic xorshift so every run checks the same pairs */
static uint64_t rng_state;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t) (rng_state >> 32);
}

/* a random string from a small mixed-script alphabet, so that matches and swaps happen */
static void
rand_str(char *buf, int maxcps)
{
	static const char *const alpha[] = {"a", "b", "c", "d", "e", "щ", "ш", "中", "😀", " "};
	int			n = (int) (rng() % (unsigned) (maxcps + 1));

	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		strcat(buf, alpha[rng() % 10]);
}

static char *
repeat(const char *unit, int times)
{
	size_t		ul = strlen(unit);
	char	   *s = malloc(ul * (size_t) times + 1);

	for (int i = 0; i < times; i++)
		memcpy(s + ul * (size_t) i, unit, ul);
	s[ul * (size_t) times] = '\0';
	return s;
}

/* ---------------------------------------------------------------- Jaro-Winkler */

typedef struct JwCase
{
	const char *a;
	const char *b;
	double		expect;
} JwCase;

static const JwCase jw_cases[] = {
	{"martha", "marhta", 0.961},
	{"dwayne", "duane", 0.840},
	{"dixon", "dicksonx", 0.813},
	{"", "", 1.0},
	{"", "abc", 0.0},
	{"abc", "", 0.0},
	{"abc", "abc", 1.0},
	{"abc", "xyz", 0.0},
	{"a", "a", 1.0},
	{"a", "b", 0.0},
	{"ab", "ba", 0.0},			/* window 0: no match */
	{"jones", "johnson", 0.832},
	{"massey", "massie", 0.933},
	{"crate", "trace", 0.733},	/* no common prefix: no boost */
	{"marta", "marhta", 0.961},
	{"дмитрий", "дмитрй", 0.971},
	{"щукин", "шукин", 0.867},	/* Cyrillic per character: 4 of 5 match */
	{"王小明", "王晓明", 0.800},
	{"ivan", "i", 0.775},
	{"abcdefgh", "abcdefgh", 1.0},
};

START_TEST(test_jw_known)
{
	const JwCase *c = &jw_cases[_i];

	ck_assert_double_eq_tol(jw(c->a, c->b), c->expect, 0.0005);
	ck_assert_double_eq_tol(jw(c->b, c->a), c->expect, 0.0005);
}
END_TEST

START_TEST(test_jw_exact_martha)
{
	/* jaro = (1 + 1 + 5/6) / 3 = 17/18, jw = 17/18 + 3 * 0.1 * (1/18) */
	ck_assert_double_eq_tol(jw("martha", "marhta"), 17.0 / 18.0 + 0.3 / 18.0, 1e-12);
}
END_TEST

START_TEST(test_jw_boost_threshold)
{
	/* jaro <= 0.7 gets no prefix boost: "abcxyz" vs "abcqrs" jaro = (0.5+0.5+1)/3 */
	ck_assert_double_eq_tol(jw("abcxyz", "abcqrs"), 2.0 / 3.0, 1e-12);
	/* the prefix counts at most 4 code points */
	ck_assert_double_eq_tol(jw("abcdefgh", "abcdefgx"),
							(7.0 / 8 + 7.0 / 8 + 1.0) / 3 + 0.4 * (1 - (7.0 / 8 + 7.0 / 8 + 1.0) / 3),
							1e-12);
}
END_TEST

/* ---------------------------------------------------------------- OSA distance */

typedef struct LevCase
{
	const char *a;
	const char *b;
	int			max;
	int			expect;
} LevCase;

static const LevCase lev_cases[] = {
	{"ca", "abc", -1, 3},		/* OSA, not unrestricted Damerau (which gives 2) */
	{"abcd", "acbd", -1, 1},
	{"kitten", "sitting", -1, 3},
	{"", "", -1, 0},
	{"", "abc", -1, 3},
	{"abc", "", -1, 3},
	{"ab", "ba", -1, 1},
	{"abc", "abc", -1, 0},
	{"flaw", "lawn", -1, 2},
	{"saturday", "sunday", -1, 3},
	{"щукин", "шукин", -1, 1},	/* one per character, not per byte */
	{"中文", "文中", -1, 1},
	{"中国人", "中国", -1, 1},
	{"gumbo", "gambol", -1, 2},
	{"book", "back", -1, 2},
	{"abcdef", "badcfe", -1, 3},
	{"ivan", "iavn", -1, 1},
	{"petrov", "petrova", -1, 1},
	{"ёлка", "елка", -1, 1},
	{"😀a", "a😀", -1, 1},
	{"aaaa", "aaab", -1, 1},
	{"abab", "baba", -1, 2},
	{"kitten", "sitting", 0, 1},
	{"kitten", "sitting", 1, 2},
	{"kitten", "sitting", 2, 3},
	{"kitten", "sitting", 3, 3},
	{"kitten", "sitting", 4, 3},
	{"kitten", "sitting", 1000000, 3},
	{"kitten", "sitting", 2147483647, 3},
	{"abc", "abc", 0, 0},
	{"", "abcdef", 2, 3},
	{"", "abcdef", 6, 6},
	{"", "", 0, 0},
	{"abcd", "acbd", 0, 1},
	{"abcd", "acbd", 1, 1},
	{"abcdefghij", "jihgfedcba", 3, 4},
	{"александр", "алесандр", 1, 1},
	{"александра", "александр", 0, 1},
};

START_TEST(test_lev_known)
{
	const LevCase *c = &lev_cases[_i];

	ck_assert_int_eq(lev(c->a, c->b, c->max), c->expect);
	ck_assert_int_eq(lev(c->b, c->a, c->max), c->expect);
	if (c->max < 0)
		ck_assert_int_eq(ref_osa(c->a, c->b), c->expect);
}
END_TEST

typedef struct SimCase
{
	const char *a;
	const char *b;
	double		expect;
} SimCase;

static const SimCase levsim_cases[] = {
	{"kitten", "sitting", 1.0 - 3.0 / 7.0},
	{"", "", 1.0},
	{"abc", "", 0.0},
	{"abc", "abc", 1.0},
	{"щукин", "шукин", 0.8},
	{"abc", "xyz", 0.0},
	{"ab", "ba", 0.5},
};

START_TEST(test_levsim_known)
{
	const SimCase *c = &levsim_cases[_i];

	ck_assert_double_eq_tol(levsim(c->a, c->b), c->expect, 1e-12);
	ck_assert_double_eq_tol(levsim(c->b, c->a), c->expect, 1e-12);
}
END_TEST

/* ---------------------------------------------------------------- trigrams */

static const SimCase trgm_cases[] = {
	{"word", "words", 4.0 / 7.0},
	{"abc", "abd", 2.0 / 6.0},
	{"ivan petrov", "petrov ivan", 1.0},
	{"", "", 0.0},				/* as pg_trgm: no trigram, no similarity */
	{"", "abc", 0.0},
	{"a", "a", 1.0},
	{"!!!", "!!!", 0.0},
	{"a", "b", 0.0},
	{"ab ab", "ab", 1.0},		/* sets: a repeated word counts once */
	{"щука", "щуки", 3.0 / 7.0},
	{"a-b", "a b", 1.0},		/* ASCII punctuation separates words */
	{"中文", "中国", 1.0 / 5.0},
	{"ivan", "ivan petrov", 5.0 / 12.0},
	{"aaa", "aaaa", 1.0},		/* the same trigram set: "aaa" repeats */
	{"aaab", "aaaab", 1.0},
	{"ab1", "ab2", 2.0 / 6.0},	/* digits are word characters */
};

START_TEST(test_trgm_known)
{
	const SimCase *c = &trgm_cases[_i];

	ck_assert_double_eq_tol(trgm(c->a, c->b), c->expect, 1e-12);
	ck_assert_double_eq_tol(trgm(c->b, c->a), c->expect, 1e-12);
}
END_TEST

/* ---------------------------------------------------------------- tokens */

static const SimCase tok_cases[] = {
	{"ivan petrov", "petrov ivan", 1.0},
	{"ivan petrov", "ivan ivanovich petrov", 4.0 / 4.25},
	{"i petrov", "ivan petrov", (0.9 + 1.0) * 2.0 / 4.0},
	{"ivan", "ivan petrov", 2.0 / 2.25},
	{"ivan", "ivan petrov sergeevich", 2.0 / 2.5},
	{"", "", 0.0},
	{"ivan", "", 0.0},
	{"   ", "ivan", 0.0},
	{"ivan", "ivan", 1.0},
	{"anna", "boris", 0.0},
	{"martha smith", "marhta smith", (17.0 / 18.0 + 0.3 / 18.0 + 1.0) / 2.0},
	{"al smith", "alexander smith", (0.9 + 1.0) / 2.0},
	{"ivan  petrov ", " petrov\tivan", 1.0},
	{"и петров", "иван петров", (0.9 + 1.0) / 2.0},
	{"a b", "a b", 1.0},
	{"a a", "a", 2.0 / 2.25},
	{"x y", "p q", 0.0},
};

START_TEST(test_tok_known)
{
	const SimCase *c = &tok_cases[_i];

	ck_assert_double_eq_tol(tok(c->a, c->b), c->expect, 1e-12);
	ck_assert_double_eq_tol(tok(c->b, c->a), c->expect, 1e-12);
}
END_TEST

START_TEST(test_tok_initial_never_exact)
{
	ck_assert_double_lt(tok("i petrov", "ivan petrov"), 1.0);
	ck_assert_double_eq_tol(tok("i", "ivan"), 0.9, 1e-12);
	/* a high JW is kept, not lowered to 0.9 */
	ck_assert_double_gt(tok("aleksandr", "aleksandra"), 0.9);
}
END_TEST

START_TEST(test_tok_greedy_best_first)
{
	/* "ivanov" must pair with "ivanov", not be taken by "ivan" */
	double		s = tok("ivan ivanov", "ivanov ivan");

	ck_assert_double_eq_tol(s, 1.0, 1e-12);
}
END_TEST

/* ---------------------------------------------------------------- statuses */

typedef enum Fn
{
	FN_JW,
	FN_LEV,
	FN_LEVMAX,
	FN_LEVSIM,
	FN_TRGM,
	FN_TOK,
	FN_COUNT
} Fn;

static CdSimStatus
call(Fn fn, const char *a, size_t al, const char *b, size_t bl, const CdAllocator *alloc,
	 double *out)
{
	CdSimStatus st;
	int			d = -7;

	*out = -7;
	switch (fn)
	{
		case FN_JW:
			return cd_jaro_winkler(a, al, b, bl, alloc, out);
		case FN_LEV:
			st = cd_levenshtein(a, al, b, bl, -1, alloc, &d);
			*out = d;
			return st;
		case FN_LEVMAX:
			st = cd_levenshtein(a, al, b, bl, 2, alloc, &d);
			*out = d;
			return st;
		case FN_LEVSIM:
			return cd_levenshtein_similarity(a, al, b, bl, alloc, out);
		case FN_TRGM:
			return cd_trigram_similarity(a, al, b, bl, alloc, out);
		default:
			return cd_token_similarity(a, al, b, bl, alloc, out);
	}
}

typedef struct StatusCase
{
	const char *a;
	size_t		alen;
	const char *b;
	size_t		blen;
	CdSimStatus expect;
} StatusCase;

static const StatusCase status_cases[] = {
	{"\xff", 1, "abc", 3, CD_SIM_INVALID_UTF8},
	{"\xd0", 1, "abc", 3, CD_SIM_INVALID_UTF8},	/* truncated */
	{"\xc0\x80", 2, "abc", 3, CD_SIM_INVALID_UTF8},	/* overlong NUL */
	{"\xed\xa0\x80", 3, "abc", 3, CD_SIM_INVALID_UTF8},	/* surrogate */
	{"ab\xf4\x90\x80\x80", 6, "", 0, CD_SIM_INVALID_UTF8},	/* above U+10FFFF */
	{"abc\x80", 4, "abc", 3, CD_SIM_INVALID_UTF8},	/* stray continuation */
	{"a\0b", 3, "a\0b", 3, CD_SIM_OK},	/* NUL is a code point */
};

START_TEST(test_status_table)
{
	const StatusCase *c = &status_cases[_i];

	for (int f = 0; f < FN_COUNT; f++)
	{
		double		r;
		double		r2;

		ck_assert_int_eq(call(f, c->a, c->alen, c->b, c->blen, A, &r), c->expect);
		ck_assert_int_eq(call(f, c->b, c->blen, c->a, c->alen, A, &r2), c->expect);
		if (c->expect != CD_SIM_OK)
		{
			ck_assert_double_eq(r, 0.0);
			ck_assert_double_eq(r2, 0.0);
		}
		else
			ck_assert_double_eq(r, r2);
	}
}
END_TEST

START_TEST(test_too_long)
{
	char	   *ok_ascii = repeat("a", CD_SIM_MAX_CHARS);
	char	   *long_ascii = repeat("a", CD_SIM_MAX_CHARS + 1);
	char	   *ok_cyr = repeat("щ", CD_SIM_MAX_CHARS);
	char	   *long_cyr = repeat("щ", CD_SIM_MAX_CHARS + 1);

	for (int f = 0; f < FN_COUNT; f++)
	{
		double		r;

		ck_assert_int_eq(call(f, ok_ascii, strlen(ok_ascii), "a", 1, A, &r), CD_SIM_OK);
		ck_assert_int_eq(call(f, ok_cyr, strlen(ok_cyr), "щ", 2, A, &r), CD_SIM_OK);
		ck_assert_int_eq(call(f, long_ascii, strlen(long_ascii), "a", 1, A, &r), CD_SIM_TOO_LONG);
		ck_assert_double_eq(r, 0.0);
		ck_assert_int_eq(call(f, "a", 1, long_cyr, strlen(long_cyr), A, &r), CD_SIM_TOO_LONG);
		/* invalid UTF-8 wins over too long whatever the order */
		ck_assert_int_eq(call(f, long_ascii, strlen(long_ascii), "\xff", 1, A, &r),
						 CD_SIM_INVALID_UTF8);
		ck_assert_int_eq(call(f, "\xff", 1, long_ascii, strlen(long_ascii), A, &r),
						 CD_SIM_INVALID_UTF8);
	}
	free(ok_ascii);
	free(long_ascii);
	free(ok_cyr);
	free(long_cyr);
}
END_TEST

START_TEST(test_longest_inputs_values)
{
	/* 4096 code points on both sides: the O(n^2) worst case still answers correctly */
	char	   *x = repeat("щa", CD_SIM_MAX_CHARS / 2);
	char	   *y = repeat("aщ", CD_SIM_MAX_CHARS / 2);
	int			d = -1;
	double		s = -1;

	ck_assert_int_eq(cd_levenshtein(x, strlen(x), y, strlen(y), -1, A, &d), CD_SIM_OK);
	ck_assert_int_eq(d, 2);
	ck_assert_int_eq(cd_levenshtein(x, strlen(x), y, strlen(y), 1, A, &d), CD_SIM_OK);
	ck_assert_int_eq(d, 2);
	ck_assert_int_eq(cd_levenshtein(x, strlen(x), "", 0, 10, A, &d), CD_SIM_OK);
	ck_assert_int_eq(d, 11);
	ck_assert_int_eq(cd_levenshtein(x, strlen(x), "", 0, -1, A, &d), CD_SIM_OK);
	ck_assert_int_eq(d, CD_SIM_MAX_CHARS);
	ck_assert_int_eq(cd_jaro_winkler(x, strlen(x), y, strlen(y), A, &s), CD_SIM_OK);
	ck_assert_double_eq_tol(s, 2.5 / 3.0, 1e-12);	/* every match out of order: t = m */
	ck_assert_int_eq(cd_trigram_similarity(x, strlen(x), y, strlen(y), A, &s), CD_SIM_OK);
	ck_assert(s > 0.0 && s <= 1.0);
	free(x);
	free(y);
}
END_TEST

START_TEST(test_token_limit)
{
	char	   *ok = repeat("a ", CD_SIM_MAX_TOKENS);
	char	   *over = repeat("a ", CD_SIM_MAX_TOKENS + 1);
	double		s = -1;

	ck_assert_int_eq(cd_token_similarity(ok, strlen(ok), ok, strlen(ok), A, &s), CD_SIM_OK);
	ck_assert_double_eq(s, 1.0);
	ck_assert_int_eq(cd_token_similarity(over, strlen(over), "a", 1, A, &s), CD_SIM_TOO_LONG);
	ck_assert_double_eq(s, 0.0);
	ck_assert_int_eq(cd_token_similarity("a", 1, over, strlen(over), A, &s), CD_SIM_TOO_LONG);
	free(ok);
	free(over);
}
END_TEST

/* ---------------------------------------------------------------- memory */

START_TEST(test_no_alloc_short)
{
	/* 64 code points of two-byte Cyrillic with spaces: no call to the allocator */
	char	   *x = repeat("щу ", 21);	/* 63 code points */
	char	   *y = repeat("шуб", 21);
	CountCtx	ctx = {0, 0, 0};
	CdAllocator al = {count_alloc, count_resize, count_release, &ctx};
	double		r;

	x = realloc(x, strlen(x) + 2);
	y = realloc(y, strlen(y) + 2);
	strcat(x, "x");				/* 64 */
	strcat(y, "y");
	for (int f = 0; f < FN_COUNT; f++)
		ck_assert_int_eq(call(f, x, strlen(x), y, strlen(y), &al, &r), CD_SIM_OK);
	/* all one-letter tokens: the most token pairs a 64-code-point input can make */
	{
		char	   *z = repeat("a ", 32);

		ck_assert_int_eq(call(FN_TOK, z, strlen(z) - 1, z, strlen(z) - 1, &al, &r), CD_SIM_OK);
		ck_assert_double_eq(r, 1.0);
		free(z);
	}
	ck_assert_int_eq(ctx.allocs, 0);
	free(x);
	free(y);
}
END_TEST

START_TEST(test_alloc_long_released)
{
	char	   *x = repeat("щу ", 30);
	char	   *y = repeat("шуб", 30);
	CountCtx	ctx = {0, 0, 0};
	CdAllocator al = {count_alloc, count_resize, count_release, &ctx};
	double		r;

	for (int f = 0; f < FN_COUNT; f++)
	{
		ctx.allocs = 0;
		ck_assert_int_eq(call(f, x, strlen(x), y, strlen(y), &al, &r), CD_SIM_OK);
		ck_assert_int_gt(ctx.allocs, 0);
		ck_assert_int_eq(ctx.live, 0);
	}
	free(x);
	free(y);
}
END_TEST

START_TEST(test_nomem)
{
	char	   *x = repeat("щу ", 30);
	char	   *y = repeat("шуб", 30);
	double		r;

	/* an allocator that always fails: every function reports it and leaks nothing */
	for (int f = 0; f < FN_COUNT; f++)
	{
		CountCtx	ctx = {0, 0, 1};
		CdAllocator al = {count_alloc, count_resize, count_release, &ctx};

		ck_assert_int_eq(call(f, x, strlen(x), y, strlen(y), &al, &r), CD_SIM_NOMEM);
		ck_assert_double_eq(r, 0.0);
		ck_assert_int_eq(ctx.live, 0);
		/* short inputs never reach it */
		ck_assert_int_eq(call(f, "ivan", 4, "ivan petrov", 11, &al, &r), CD_SIM_OK);
	}
	free(x);
	free(y);
}
END_TEST

/* an allocator that fails exactly at call number fail_at (1-based) */
typedef struct FailAtCtx
{
	int			calls;
	int			fail_at;
	int			live;
} FailAtCtx;

static void *
failat_alloc(size_t size, void *ctx)
{
	FailAtCtx  *c = ctx;

	if (++c->calls == c->fail_at)
		return NULL;
	c->live++;
	return malloc(size);
}

static void
failat_release(void *ptr, void *ctx)
{
	FailAtCtx  *c = ctx;

	c->live--;
	free(ptr);
}

START_TEST(test_nomem_each_step)
{
	char	   *x = repeat("щу ", 30);
	char	   *y = repeat("шуб", 30);
	double		r;

	for (int f = 0; f < FN_COUNT; f++)
	{
		for (int k = 1; k <= 4; k++)
		{
			FailAtCtx	ctx = {0, k, 0};
			CdAllocator al = {failat_alloc, count_resize, failat_release, &ctx};
			CdSimStatus st = call(f, x, strlen(x), y, strlen(y), &al, &r);

			if (ctx.calls >= k)
			{
				ck_assert_int_eq(st, CD_SIM_NOMEM);
				ck_assert_double_eq(r, 0.0);
			}
			else
				ck_assert_int_eq(st, CD_SIM_OK);
			ck_assert_int_eq(ctx.live, 0);
		}
	}
	free(x);
	free(y);
}
END_TEST

/* ---------------------------------------------------------------- properties */

/* early exit: min(lev(a,b,-1), max+1) == lev(a,b,max), and lev(a,b,-1) == reference */
START_TEST(test_prop_early_exit)
{
	static const int maxes[] = {0, 1, 2, 3, 5, 8, 13};
	char		a[200];
	char		b[200];
	int			checked = 0;

	rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t) _i;
	for (int it = 0; it < 1500; it++)
	{
		int			full;
		int			ref;

		rand_str(a, 14);
		if (rng() % 3 == 0)
		{
			/* a near copy, so that small distances are common */
			strcpy(b, a);
			if (strlen(b) > 1 && (b[0] & 0x80) == 0 && (b[1] & 0x80) == 0)
			{
				char		t = b[0];

				b[0] = b[1];
				b[1] = t;
			}
			strcat(b, rng() % 2 ? "a" : "");
		}
		else
			rand_str(b, 14);
		full = lev(a, b, -1);
		ref = ref_osa(a, b);
		ck_assert_msg(full == ref, "lev(\"%s\",\"%s\") = %d, reference %d", a, b, full, ref);
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++)
		{
			int			mx = maxes[m];
			int			got = lev(a, b, mx);
			int			want = full < mx + 1 ? full : mx + 1;

			ck_assert_msg(got == want, "lev(\"%s\",\"%s\",%d) = %d, want %d", a, b, mx, got, want);
			checked++;
		}
	}
	ck_assert_int_eq(checked, 1500 * 7);
}
END_TEST

/* the same on strings longer than the stack buffers */
START_TEST(test_prop_early_exit_long)
{
	char		a[1200];
	char		b[1200];

	rng_state = 0xC0FFEE1234567ULL;
	for (int it = 0; it < 150; it++)
	{
		int			full;
		int			mx = (int) (rng() % 40);
		int			got;

		rand_str(a, 120);
		strcpy(b, a);
		/* a few random edits so the distance is near the band */
		for (int e = (int) (rng() % 12); e > 0; e--)
		{
			size_t		bl = strlen(b);
			size_t		p = bl ? rng() % bl : 0;

			if (bl > 0 && (b[p] & 0x80) == 0)
				b[p] = "abcde"[rng() % 5];
		}
		strcat(b, "xy");
		full = lev(a, b, -1);
		ck_assert_int_eq(full, ref_osa(a, b));
		got = lev(a, b, mx);
		ck_assert_int_eq(got, full < mx + 1 ? full : mx + 1);
	}
}
END_TEST

/* symmetry (bit-exact), identity and range of every metric on random pairs */
START_TEST(test_prop_symmetry_identity_range)
{
	char		a[400];
	char		b[400];

	rng_state = 0x5EED0000ULL + (uint64_t) _i;
	for (int it = 0; it < 1000; it++)
	{
		rand_str(a, _i == 0 ? 12 : 90);
		rand_str(b, _i == 0 ? 12 : 90);
		for (int f = 0; f < FN_COUNT; f++)
		{
			double		ab;
			double		ba;
			double		aa;

			ck_assert_int_eq(call(f, a, strlen(a), b, strlen(b), A, &ab), CD_SIM_OK);
			ck_assert_int_eq(call(f, b, strlen(b), a, strlen(a), A, &ba), CD_SIM_OK);
			ck_assert_msg(memcmp(&ab, &ba, sizeof(double)) == 0,
						  "f%d asymmetric on \"%s\" / \"%s\": %.17g vs %.17g", f, a, b, ab, ba);
			ck_assert_int_eq(call(f, a, strlen(a), a, strlen(a), A, &aa), CD_SIM_OK);
			if (f == FN_LEV || f == FN_LEVMAX)
			{
				ck_assert(ab >= 0);
				ck_assert_double_eq(aa, 0);
			}
			else
			{
				ck_assert(ab >= 0.0 && ab <= 1.0);
				if (f == FN_JW || f == FN_LEVSIM)
					ck_assert_double_eq(aa, 1.0);
			}
		}
	}
}
END_TEST

/* trigram and token identity need a word / token; with one they are exactly 1 */
START_TEST(test_prop_identity_words)
{
	char		a[400];

	rng_state = 0xABCDEFULL;
	for (int it = 0; it < 500; it++)
	{
		double		r;

		rand_str(a, 40);
		strcat(a, " b");
		ck_assert_double_eq(trgm(a, a), 1.0);
		ck_assert_double_eq(tok(a, a), 1.0);
		r = jw(a, a);
		ck_assert_double_eq(r, 1.0);
	}
}
END_TEST

/* levenshtein_similarity is 1 - d / max(len) */
START_TEST(test_prop_levsim_consistent)
{
	char		a[200];
	char		b[200];
	int32_t		cps[200];

	rng_state = 0x1234ULL;
	for (int it = 0; it < 1000; it++)
	{
		size_t		la;
		size_t		lb;
		size_t		mx;
		int			d;

		rand_str(a, 20);
		rand_str(b, 20);
		la = to_cps(a, strlen(a), cps);
		lb = to_cps(b, strlen(b), cps);
		mx = la > lb ? la : lb;
		d = lev(a, b, -1);
		ck_assert_int_ge(d, (int) (la > lb ? la - lb : lb - la));
		ck_assert_int_le(d, (int) mx);
		if (mx == 0)
			ck_assert_double_eq(levsim(a, b), 1.0);
		else
			ck_assert_double_eq_tol(levsim(a, b), 1.0 - (double) d / (double) mx, 1e-15);
	}
}
END_TEST

/*
 * Reference token similarity straight from the header's definition (JW of every pair
 * through the public function, prefix rule, plain greedy over all pairs), to check the
 * implementation's shortcuts.  Canonical order: fewer code points first, then byte order
 * (which is code point order for valid UTF-8).
 */
typedef struct RefTok
{
	const char *p;
	size_t		len;
} RefTok;

typedef struct RefPair
{
	double		sim;
	int			i;
	int			j;
} RefPair;

static int
ref_pair_cmp(const void *x, const void *y)
{
	const RefPair *a = x;
	const RefPair *b = y;

	if (a->sim != b->sim)
		return a->sim > b->sim ? -1 : 1;
	if (a->i != b->i)
		return a->i < b->i ? -1 : 1;
	return (a->j > b->j) - (a->j < b->j);
}

static int
ref_split(const char *s, RefTok *out)
{
	int			n = 0;
	size_t		i = 0;
	size_t		len = strlen(s);

	while (i < len)
	{
		size_t		st;

		while (i < len && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
			i++;
		if (i >= len)
			break;
		st = i;
		while (i < len && !(s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
			i++;
		out[n].p = s + st;
		out[n].len = i - st;
		n++;
	}
	return n;
}

static double
ref_tok(const char *a, const char *b)
{
	int32_t		tmp[400];
	size_t		ca = to_cps(a, strlen(a), tmp);
	size_t		cb = to_cps(b, strlen(b), tmp);
	RefTok		ta[200];
	RefTok		tb[200];
	static RefPair pairs[200 * 200];
	int			usedA[200] = {0};
	int			usedB[200] = {0};
	int			na;
	int			nb;
	int			np = 0;
	double		sum = 0;
	int			k;
	int			e;

	if (ca > cb || (ca == cb && strcmp(a, b) > 0))
	{
		const char *t = a;

		a = b;
		b = t;
	}
	na = ref_split(a, ta);
	nb = ref_split(b, tb);
	if (na == 0 || nb == 0)
		return 0.0;
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
		{
			double		sim = -1;
			size_t		sh = ta[i].len < tb[j].len ? ta[i].len : tb[j].len;

			ck_assert_int_eq(cd_jaro_winkler(ta[i].p, ta[i].len, tb[j].p, tb[j].len, A, &sim),
							 CD_SIM_OK);
			if (sim < 0.9 && ta[i].len != tb[j].len && memcmp(ta[i].p, tb[j].p, sh) == 0)
				sim = 0.9;
			if (sim > 0)
			{
				pairs[np].sim = sim;
				pairs[np].i = i;
				pairs[np].j = j;
				np++;
			}
		}
	qsort(pairs, (size_t) np, sizeof(RefPair), ref_pair_cmp);
	for (int p = 0; p < np; p++)
	{
		if (usedA[pairs[p].i] || usedB[pairs[p].j])
			continue;
		usedA[pairs[p].i] = usedB[pairs[p].j] = 1;
		sum += pairs[p].sim;
	}
	k = na < nb ? na : nb;
	e = na < nb ? nb - na : na - nb;
	return 2.0 * sum / (2.0 * k + 0.25 * e);
}

START_TEST(test_prop_token_reference)
{
	static const char *const words[] = {
		"ivan", "i", "iv", "ivanov", "petrov", "p", "petrova", "anna", "an", "щукин", "шукин",
		"王", "王小明", "a", "ab", "ba"
	};
	char		a[400];
	char		b[400];

	rng_state = 0x70C0ULL + (uint64_t) _i;
	for (int it = 0; it < 1500; it++)
	{
		double		got;
		double		want;

		if (_i != 1)
		{
			/*
			 * name-like: tokens from a small vocabulary, many near pairs; _i == 2 makes
			 * enough pairs (up to 14 x 14) for the heapsort path
			 */
			int			n = (int) (rng() % (_i == 0 ? 5 : 15));
			int			m = (int) (rng() % (_i == 0 ? 5 : 15));

			a[0] = b[0] = '\0';
			for (int t = 0; t < n; t++)
			{
				strcat(a, words[rng() % 16]);
				strcat(a, " ");
			}
			for (int t = 0; t < m; t++)
			{
				strcat(b, rng() % 3 ? " " : "\t");
				strcat(b, words[rng() % 16]);
			}
		}
		else
		{
			rand_str(a, 40);
			rand_str(b, 40);
		}
		got = tok(a, b);
		want = ref_tok(a, b);
		ck_assert_msg(fabs(got - want) < 1e-12, "tok(\"%s\",\"%s\") = %.15g, reference %.15g",
					  a, b, got, want);
	}
}
END_TEST

/* ---------------------------------------------------------------- timing */

static const char *const bench_pairs[][2] = {
	{"ivan petrov", "ivan petrov"},
	{"ivan petrov", "ivan petrof"},
	{"martha", "marhta"},
	{"jonathan smith", "jon smith"},
	{"aleksandr", "alexander"},
	{"elena ivanova", "yelena ivanova"},
	{"иван петров", "иван петрова"},
	{"щукин", "шукин"},
	{"maria garcia", "mariya garsia"},
	{"john doe", "jane roe"},
	{"ekaterina", "katerina"},
	{"smith", "smyth"},
	{"dmitry", "dmitriy"},
	{"li wei", "wei li"},
	{"olga", "olya"},
	{"sergey kuznetsov", "sergei kuznetsov"},
};
#define NBENCH (sizeof(bench_pairs) / sizeof(bench_pairs[0]))

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static volatile double bench_sink;

START_TEST(test_timing)
{
	static const char *const names[] = {
		"jaro_winkler", "levenshtein", "levenshtein max=2", "levenshtein_similarity",
		"trigram_similarity", "token_similarity"
	};
	size_t		la[NBENCH];
	size_t		lb[NBENCH];
	int			rounds = 20000;

	for (size_t p = 0; p < NBENCH; p++)
	{
		la[p] = strlen(bench_pairs[p][0]);
		lb[p] = strlen(bench_pairs[p][1]);
	}
#if defined(__SANITIZE_ADDRESS__)
	printf("similarity timing (sanitizer build: numbers are several times the optimized ones)\n");
#else
	printf("similarity timing\n");
#endif
	for (int f = 0; f < FN_COUNT; f++)
	{
		double		t0;
		double		ns;
		double		acc = 0;

		t0 = now_ns();
		for (int r = 0; r < rounds; r++)
			for (size_t p = 0; p < NBENCH; p++)
			{
				double		v;

				call(f, bench_pairs[p][0], la[p], bench_pairs[p][1], lb[p], A, &v);
				acc += v;
			}
		ns = (now_ns() - t0) / ((double) rounds * NBENCH);
		bench_sink = acc;
		printf("  %-24s %7.1f ns/pair\n", names[f], ns);
		ck_assert(ns > 0);
	}
	fflush(stdout);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *
similarity_suite(void)
{
	Suite	   *s = suite_create("similarity");
	TCase	   *tc;

	tc = tcase_create("known");
	tcase_add_loop_test(tc, test_jw_known, 0, sizeof(jw_cases) / sizeof(jw_cases[0]));
	tcase_add_test(tc, test_jw_exact_martha);
	tcase_add_test(tc, test_jw_boost_threshold);
	tcase_add_loop_test(tc, test_lev_known, 0, sizeof(lev_cases) / sizeof(lev_cases[0]));
	tcase_add_loop_test(tc, test_levsim_known, 0, sizeof(levsim_cases) / sizeof(levsim_cases[0]));
	tcase_add_loop_test(tc, test_trgm_known, 0, sizeof(trgm_cases) / sizeof(trgm_cases[0]));
	tcase_add_loop_test(tc, test_tok_known, 0, sizeof(tok_cases) / sizeof(tok_cases[0]));
	tcase_add_test(tc, test_tok_initial_never_exact);
	tcase_add_test(tc, test_tok_greedy_best_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_loop_test(tc, test_status_table, 0, sizeof(status_cases) / sizeof(status_cases[0]));
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_longest_inputs_values);
	tcase_add_test(tc, test_token_limit);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_no_alloc_short);
	tcase_add_test(tc, test_alloc_long_released);
	tcase_add_test(tc, test_nomem);
	tcase_add_test(tc, test_nomem_each_step);
	suite_add_tcase(s, tc);

	tc = tcase_create("properties");
	tcase_add_loop_test(tc, test_prop_early_exit, 0, 3);
	tcase_add_test(tc, test_prop_early_exit_long);
	tcase_add_loop_test(tc, test_prop_symmetry_identity_range, 0, 2);
	tcase_add_test(tc, test_prop_identity_words);
	tcase_add_test(tc, test_prop_levsim_consistent);
	tcase_add_loop_test(tc, test_prop_token_reference, 0, 3);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);

	tc = tcase_create("timing");
	tcase_add_test(tc, test_timing);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner    *sr = srunner_create(similarity_suite());
	int			failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
