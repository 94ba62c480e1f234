/*
 * fuzz_similarity.c
 *		libFuzzer harness for the similarity metrics (src/core/similarity.c).
 *
 * Input layout: one control byte, then two strings separated by the first 0xFF byte (never
 * valid UTF-8, so it cannot hide a real string) or, without one, split in the middle.
 * The control byte picks an extra OSA limit and, when its top bit is set, an allocator
 * that fails at one call, to walk the out-of-memory paths.  Every function runs in both
 * argument orders; statuses, symmetry, ranges, identity and the early-exit equivalence
 * min(lev(a,b,-1), max+1) == lev(a,b,max) are checked, and __builtin_trap() fires on any
 * violation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "similarity.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

typedef struct FailCtx
{
	int			calls;
	int			fail_at;		/* 0: never */
	int			live;
} FailCtx;

static void *
f_alloc(size_t size, void *ctx)
{
	FailCtx    *c = ctx;

	if (++c->calls == c->fail_at)
		return NULL;
	c->live++;
	return malloc(size);
}

static void *
f_resize(void *ptr, size_t size, void *ctx)
{
	(void) ctx;
	return realloc(ptr, size);
}

static void
f_release(void *ptr, void *ctx)
{
	FailCtx    *c = ctx;

	c->live--;
	free(ptr);
}

/* code points in s, or -1 when invalid */
static long
count_cps(const char *s, size_t len)
{
	size_t		i = 0;
	long		n = 0;

	while (i < len)
	{
		int32_t		cp;
		int			k = cd_utf8_decode((const unsigned char *) s + i, len - i, &cp);

		if (k < 0)
			return -1;
		i += (size_t) k;
		n++;
	}
	return n;
}

static int
same_double(double x, double y)
{
	return memcmp(&x, &y, sizeof(double)) == 0;
}

/* run a double-valued metric both ways; returns the status, *out the value */
typedef CdSimStatus (*DblFn) (const char *, size_t, const char *, size_t,
							  const CdAllocator *, double *);

static CdSimStatus
both_ways(DblFn fn, const char *a, size_t al, const char *b, size_t bl,
		  const CdAllocator *alloc, int may_fail, double *out)
{
	double		x = -1;
	double		y = -1;
	CdSimStatus s1 = fn(a, al, b, bl, alloc, &x);
	CdSimStatus s2 = fn(b, bl, a, al, alloc, &y);

	if (s1 == CD_SIM_NOMEM || s2 == CD_SIM_NOMEM)
	{
		CHECK(may_fail);
		if (s1 == CD_SIM_NOMEM)
			CHECK(x == 0.0);
		if (s2 == CD_SIM_NOMEM)
			CHECK(y == 0.0);
		*out = 0;
		return CD_SIM_NOMEM;
	}
	CHECK(s1 == s2);
	if (s1 != CD_SIM_OK)
	{
		CHECK(x == 0.0 && y == 0.0);
		*out = 0;
		return s1;
	}
	CHECK(x >= 0.0 && x <= 1.0);
	CHECK(same_double(x, y));
	*out = x;
	return s1;
}

static CdSimStatus
lev_both(const char *a, size_t al, const char *b, size_t bl, int max,
		 const CdAllocator *alloc, int may_fail, int *out)
{
	int			x = -1;
	int			y = -1;
	CdSimStatus s1 = cd_levenshtein(a, al, b, bl, max, alloc, &x);
	CdSimStatus s2 = cd_levenshtein(b, bl, a, al, max, alloc, &y);

	if (s1 == CD_SIM_NOMEM || s2 == CD_SIM_NOMEM)
	{
		CHECK(may_fail);
		*out = -1;
		return CD_SIM_NOMEM;
	}
	CHECK(s1 == s2);
	if (s1 != CD_SIM_OK)
	{
		CHECK(x == 0 && y == 0);
		*out = 0;
		return s1;
	}
	CHECK(x == y);
	*out = x;
	return s1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *a;
	const char *b;
	size_t		alen;
	size_t		blen;
	const uint8_t *sep;
	uint8_t		ctl;
	FailCtx		fctx = {0, 0, 0};
	CdAllocator alloc = {f_alloc, f_resize, f_release, &fctx};
	int			may_fail;
	long		na;
	long		nb;
	long		longer;
	CdSimStatus expect;
	CdSimStatus st;
	double		v;
	int			d;
	int			dm;
	static const int limits[] = {0, 1, 2, 3, 7};

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	sep = memchr(data, 0xFF, size);
	if (sep)
	{
		alen = (size_t) (sep - data);
		blen = size - alen - 1;
		a = (const char *) data;
		b = (const char *) sep + 1;
	}
	else
	{
		alen = size / 2;
		blen = size - alen;
		a = (const char *) data;
		b = (const char *) data + alen;
	}
	may_fail = (ctl & 0x80) != 0;
	if (may_fail)
		fctx.fail_at = (ctl & 0x07) + 1;

	na = count_cps(a, alen);
	nb = count_cps(b, blen);
	if (na < 0 || nb < 0)
		expect = CD_SIM_INVALID_UTF8;
	else if (na > CD_SIM_MAX_CHARS || nb > CD_SIM_MAX_CHARS)
		expect = CD_SIM_TOO_LONG;
	else
		expect = CD_SIM_OK;
	longer = na > nb ? na : nb;

	/* Jaro-Winkler */
	st = both_ways(cd_jaro_winkler, a, alen, b, blen, &alloc, may_fail, &v);
	CHECK(st == expect || st == CD_SIM_NOMEM);
	if (st == CD_SIM_OK)
	{
		if (alen == blen && memcmp(a, b, alen) == 0)
			CHECK(v == 1.0);
		st = both_ways(cd_jaro_winkler, a, alen, a, alen, &alloc, may_fail, &v);
		CHECK(st == CD_SIM_OK ? v == 1.0 : st == CD_SIM_NOMEM);
	}

	/* OSA distance, unbounded and with limits */
	st = lev_both(a, alen, b, blen, -1, &alloc, may_fail, &d);
	CHECK(st == expect || st == CD_SIM_NOMEM);
	if (st == CD_SIM_OK)
	{
		long		diff = na > nb ? na - nb : nb - na;

		CHECK(d >= diff && d <= longer);
		CHECK((d == 0) == (alen == blen && memcmp(a, b, alen) == 0));
		for (size_t i = 0; i <= sizeof(limits) / sizeof(limits[0]); i++)
		{
			int			mx = i < sizeof(limits) / sizeof(limits[0]) ? limits[i] : (ctl & 0x3F);

			st = lev_both(a, alen, b, blen, mx, &alloc, may_fail, &dm);
			if (st == CD_SIM_NOMEM)
				continue;
			CHECK(st == CD_SIM_OK);
			CHECK(dm == (d < mx + 1 ? d : mx + 1));
		}
		st = lev_both(a, alen, a, alen, 0, &alloc, may_fail, &dm);
		CHECK(st == CD_SIM_OK ? dm == 0 : st == CD_SIM_NOMEM);

		st = both_ways(cd_levenshtein_similarity, a, alen, b, blen, &alloc, may_fail, &v);
		CHECK(st == CD_SIM_OK || st == CD_SIM_NOMEM);
		if (st == CD_SIM_OK)
		{
			double		want = longer == 0 ? 1.0 : 1.0 - (double) d / (double) longer;

			CHECK(v - want < 1e-12 && want - v < 1e-12);
		}
	}
	else
	{
		st = both_ways(cd_levenshtein_similarity, a, alen, b, blen, &alloc, may_fail, &v);
		CHECK(st == expect || st == CD_SIM_NOMEM);
	}

	/* trigrams */
	st = both_ways(cd_trigram_similarity, a, alen, b, blen, &alloc, may_fail, &v);
	CHECK(st == expect || st == CD_SIM_NOMEM);
	if (st == CD_SIM_OK)
	{
		st = both_ways(cd_trigram_similarity, a, alen, a, alen, &alloc, may_fail, &v);
		CHECK(st == CD_SIM_NOMEM || (st == CD_SIM_OK && (v == 0.0 || v == 1.0)));
	}

	/* tokens: may also be too long by token count */
	st = both_ways(cd_token_similarity, a, alen, b, blen, &alloc, may_fail, &v);
	if (expect == CD_SIM_OK)
		CHECK(st == CD_SIM_OK || st == CD_SIM_TOO_LONG || st == CD_SIM_NOMEM);
	else
		CHECK(st == expect || st == CD_SIM_NOMEM);
	if (st == CD_SIM_OK)
	{
		st = both_ways(cd_token_similarity, a, alen, a, alen, &alloc, may_fail, &v);
		CHECK(st == CD_SIM_NOMEM || (st == CD_SIM_OK && (v == 0.0 || v == 1.0)));
	}

	/* every byte of scratch memory went back to the allocator */
	CHECK(fctx.live == 0);
	return 0;
}
