/*
 * fuzz_name_grams.c
 *		libFuzzer harness for the name_ops index core: cd_name_grams, cd_name_query_new,
 *		cd_name_query_bound(_keys) and cd_name_evidence.
 *
 * The input is split in two at its first 0x1F byte (or in the middle when there is none).
 * Beyond not crashing it checks: the documented statuses; keys sorted, distinct, of a
 * known class, two shape keys for a name with words; the plan's stored keys equal
 * cd_name_grams; bounds in [0,1], 1 for a name against itself; the evidence symmetric and
 * at most either bound; keys of an item made unknown, or word keys made present, never
 * lower the bound, and all keys unknown give 1; the bound never below
 * cd_name_similarity_one_edit (name_similarity with typos of one edit: the contract that
 * keeps %~ from losing pairs); and a failing allocator gives NOMEM and leaks nothing.
 * The input read as one lower-case word also goes through the shared readings
 * (name_readings.h): every rewrite fits CD_RD_SIZE and is NUL-terminated; the pinyin key fits CD_RD_KEY_SIZE and ignores letters past
 * CD_NAME_MAX_WORD.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "name_grams.h"
#include "name_match.h"
#include "name_readings.h"

#include "fuzz_common.h"

static CdMatchStatus
expected_status(const char *s, size_t len)
{
	if (len > CD_MATCH_MAX_BYTES)
		return CD_MATCH_TOO_LONG;
	if (!cd_utf8_valid(s, len))
		return CD_MATCH_INVALID_UTF8;
	return CD_MATCH_OK;
}

static void
check_keys(const uint32_t *k, int n)
{
	int			shapes = 0;

	CHECK(n >= 0);
	CHECK(n == 0 || k != NULL);
	for (int i = 0; i < n; i++)
	{
		CHECK(i == 0 || k[i - 1] < k[i]);
		CHECK((int) CD_GRAM_CLASS(k[i]) >= CD_GRAM_TRIGRAM && CD_GRAM_CLASS(k[i]) <= CD_GRAM_SHAPE);
		if (CD_GRAM_CLASS(k[i]) == CD_GRAM_SHAPE)
			shapes++;
	}
	/* a word count and a patronymic count, each but the default (2 words, none) */
	CHECK(shapes <= 2);
}

/* keys and plan of one side; NULL plan when the status is not OK */
static CdNameQuery *
side(const char *s, size_t len, uint32_t **keys, int *nkeys)
{
	CdMatchStatus want = expected_status(s, len);
	CdMatchStatus st = cd_name_grams(s, len, &cd_malloc_allocator, keys, nkeys);
	CdNameQuery *q = NULL;
	CdMatchStatus qst;

	CHECK(st == want || (want == CD_MATCH_OK && st == CD_MATCH_ICU_ERROR));
	if (st != CD_MATCH_OK)
	{
		CHECK(*keys == NULL && *nkeys == 0);
		return NULL;
	}
	check_keys(*keys, *nkeys);
	qst = cd_name_query_new(s, len, &cd_malloc_allocator, &q);
	CHECK(qst == CD_MATCH_OK || qst == CD_MATCH_ICU_ERROR);
	if (qst == CD_MATCH_OK)
	{
		int			ns;
		const uint32_t *sk = cd_name_query_stored_keys(q, &ns);
		const uint32_t *qk = cd_name_query_keys(q);

		CHECK(ns == *nkeys);
		CHECK(ns == 0 || memcmp(sk, *keys, ns * sizeof(uint32_t)) == 0);
		for (int i = 1; i < cd_name_query_nkeys(q); i++)
			CHECK(qk[i - 1] < qk[i]);
		CHECK(cd_name_query_nwords(q) >= 0 && cd_name_query_nwords(q) <= CD_NAME_MAX_WORDS);
		CHECK((cd_name_query_nwords(q) == 0) == (*nkeys == 0));
		CHECK((cd_name_query_nkeys(q) == 0) == (*nkeys == 0));
	}
	return q;
}

/*
 * What GIN relies on, from the real state of an item (its keys): turning any keys into
 * unknown (MAYBE) never lowers the bound; a word key that becomes present never lowers
 * it either (shape keys are not flipped: an item holds exactly one of each kind); and
 * all keys unknown give 1.
 */
static void
check_monotone(CdNameQuery *q, const uint32_t *keys, int nkeys, const uint8_t *data, size_t size)
{
	int			n = cd_name_query_nkeys(q);
	const uint32_t *qk = cd_name_query_keys(q);
	uint8_t    *real;
	uint8_t    *st;
	double		b_real;

	/* an item without keys (no words) is never scanned: GIN has nothing to find it by */
	if (n == 0 || nkeys == 0)
		return;
	real = malloc(n);
	st = malloc(n);
	for (int x = 0, y = 0; x < n; x++)
	{
		while (y < nkeys && keys[y] < qk[x])
			y++;
		real[x] = (y < nkeys && keys[y] == qk[x]) ? CD_GRAM_PRESENT : CD_GRAM_ABSENT;
	}
	b_real = cd_name_query_bound(q, real);
	CHECK(b_real == cd_name_query_bound_keys(q, keys, nkeys));

	/* unknowns over the real state */
	memcpy(st, real, n);
	for (size_t i = 0; i < size && i < 32; i++)
	{
		st[(data[i] * 131 + (int) i * 17) % n] = CD_GRAM_MAYBE;
		CHECK(cd_name_query_bound(q, st) >= b_real);
	}

	/* word keys made present, one after the other */
	memcpy(st, real, n);
	for (size_t i = 0; i < size && i < 16; i++)
	{
		int			x = (data[i] * 37 + (int) i * 101) % n;
		double		before = cd_name_query_bound(q, st);

		if (CD_GRAM_CLASS(qk[x]) == CD_GRAM_SHAPE)
			continue;
		st[x] = CD_GRAM_PRESENT;
		CHECK(cd_name_query_bound(q, st) >= before);
	}

	memset(st, CD_GRAM_MAYBE, n);
	CHECK(cd_name_query_bound(q, st) == 1.0);
	free(st);
	free(real);
}

/* the input as a word of lower-case letters (as cd_translit writes them), one reading at a time */
static void
check_readings(const uint8_t *data, size_t size)
{
	char		w[CD_NAME_MAX_WORD + 8];
	char		out[CD_RD_SIZE(CD_NAME_MAX_WORD + 8)];
	char		key[CD_RD_KEY_SIZE(CD_NAME_MAX_WORD + 8)];
	char		key2[CD_RD_KEY_SIZE(CD_NAME_MAX_WORD + 8)];
	size_t		n = size < sizeof(w) ? size : sizeof(w);
	size_t		kl,
				kl2;

	for (size_t i = 0; i < n; i++)
		w[i] = (char) ('a' + data[i] % 26);
	for (int k = 0; k < CD_RD_COUNT; k++)
	{
		size_t		o;

		memset(out, 0x7F, sizeof(out));
		o = cd_rd_rewrite(w, n, k, out);
		CHECK(o <= 3 * n);
		if (o > 0)
			CHECK(out[o] == '\0' && strlen(out) == o);
		else
			CHECK(n == 0 || memchr(out, '\0', 3 * n + 1) != NULL);
	}
	CHECK(cd_rd_rewrite(w, n, CD_RD_COUNT, out) == 0);
	kl = cd_rd_pinyin_key(w, n, key);
	CHECK(kl < sizeof(key));
	kl2 = cd_rd_pinyin_key(w, n < CD_NAME_MAX_WORD ? n : CD_NAME_MAX_WORD, key2);
	CHECK(kl == kl2 && memcmp(key, key2, kl) == 0);
	(void) cd_rd_pinyin_syllable(w, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *) data;
	const uint8_t *sep = memchr(data, 0x1F, size);
	const char *a = in;
	size_t		alen = sep ? (size_t) (sep - data) : size / 2;
	const char *b = in + alen + (sep ? 1 : 0);
	size_t		blen = size - alen - (sep ? 1 : 0);
	uint32_t   *ka = NULL,
			   *kb = NULL;
	int			na = 0,
				nb = 0;
	CdNameQuery *qa = side(a, alen, &ka, &na);
	CdNameQuery *qb = side(b, blen, &kb, &nb);

	check_readings(data, size);

	if (qa && qb)
	{
		double		ab = cd_name_query_bound_keys(qa, kb, nb);
		double		ba = cd_name_query_bound_keys(qb, ka, na);
		double		ev = cd_name_evidence(qa, qb);
		double		sim = -1;

		CHECK(ab >= 0 && ab <= 1 && ba >= 0 && ba <= 1);
		CHECK(ev == (ab < ba ? ab : ba));
		CHECK(ev == cd_name_evidence(qb, qa));
		CHECK(cd_name_query_bound_keys(qa, ka, na) == (na > 0 ? 1.0 : 0.0));
		/* the evidence covers typos of one edit (name_grams.h) */
		if (cd_name_similarity_one_edit(a, alen, b, blen, &cd_malloc_allocator, &sim) ==
			CD_MATCH_OK)
			CHECK(ab >= sim - 1e-9 && ba >= sim - 1e-9);
		check_monotone(qa, kb, nb, data, size);
	}
	cd_name_query_free(qa);
	cd_name_query_free(qb);
	free(ka);
	free(kb);

	/* a failing allocator: NOMEM or OK, and nothing leaked */
	if (expected_status(a, alen) == CD_MATCH_OK)
	{
		FailCtx		ctx = {0, 0, size > 0 ? data[size - 1] % 8 : 0};
		CdAllocator fal = {fail_alloc, fail_resize, fail_release, &ctx};
		uint32_t   *k = NULL;
		int			n = 0;
		CdNameQuery *q = NULL;
		CdMatchStatus st;

		st = cd_name_grams(a, alen, &fal, &k, &n);
		CHECK(st == CD_MATCH_OK || st == CD_MATCH_NOMEM || st == CD_MATCH_ICU_ERROR);
		if (st == CD_MATCH_OK && k)
			fal.release(k, fal.ctx);
		ctx.allocs = 0;
		st = cd_name_query_new(a, alen, &fal, &q);
		CHECK(st == CD_MATCH_OK || st == CD_MATCH_NOMEM || st == CD_MATCH_ICU_ERROR);
		CHECK(st == CD_MATCH_OK || q == NULL);
		cd_name_query_free(q);
		CHECK(ctx.live == 0);
	}
	return 0;
}
