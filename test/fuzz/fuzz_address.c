/*
 * fuzz_address.c
 *		libFuzzer harness for the matching rules of 0.2.0: cd_address_similarity,
 *		cd_address_number_cap and cd_name_part_similarity.
 *
 * The input is split in two at its first 0x1F byte (or in the middle when there is none).
 * Beyond not crashing it checks: a known status, 0 on failure, results in [0,1], the same
 * status and bit-identical result with the arguments swapped, the number cap is 1 or
 * CD_ADDRESS_NUMBER_CAP and symmetric, an address is never above its words' token
 * similarity, a name part is never below name_similarity, and a failing allocator gives
 * NOMEM (or the same result) and leaks nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address_match.h"
#include "field_match.h"
#include "name_match.h"
#include "similarity.h"
#include "translit.h"

#include "fuzz_common.h"

typedef CdMatchStatus (*PairFn) (const char *a, size_t alen, const char *b, size_t blen,
								 const CdAllocator *al, double *out);

static double
check_pair(PairFn fn, const char *a, size_t alen, const char *b, size_t blen, CdMatchStatus *st)
{
	double		r1 = -1,
				r2 = -1;
	CdMatchStatus s1 = fn(a, alen, b, blen, &cd_malloc_allocator, &r1);
	CdMatchStatus s2 = fn(b, blen, a, alen, &cd_malloc_allocator, &r2);

	CHECK(s1 >= CD_MATCH_OK && s1 <= CD_MATCH_ICU_ERROR);
	CHECK(s1 == s2);
	CHECK(memcmp(&r1, &r2, sizeof(double)) == 0);
	if (s1 != CD_MATCH_OK)
		CHECK(r1 == 0);
	else
		CHECK(r1 >= 0 && r1 <= 1);

	/* a failing allocator: NOMEM or the same answer, nothing leaked */
	for (int k = 0; k < 4; k++)
	{
		FailCtx		fc = {0, 0, k};
		CdAllocator fa = {fail_alloc, fail_resize, fail_release, &fc};
		double		r3 = -1;
		CdMatchStatus s3 = fn(a, alen, b, blen, &fa, &r3);

		CHECK(fc.live == 0);
		CHECK(s3 == CD_MATCH_NOMEM ? r3 == 0 : (s3 == s1 && memcmp(&r3, &r1, sizeof(double)) == 0));
	}
	*st = s1;
	return r1;
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
	CdMatchStatus st,
				st2;
	double		r,
				n;

	/* the number cap on raw bytes: any bytes are words separated by spaces */
	{
		double		c1 = cd_address_number_cap(a, alen, b, blen);
		double		c2 = cd_address_number_cap(b, blen, a, alen);

		CHECK(c1 == c2);
		CHECK(c1 == 1 || c1 == CD_ADDRESS_NUMBER_CAP);
		CHECK(cd_address_number_cap(a, alen, a, alen) == 1);
	}

	r = check_pair(cd_address_similarity, a, alen, b, blen, &st);
	if (st == CD_MATCH_OK)
	{
		CdBuf		ta,
					tb;
		double		tok = 0;

		cd_buf_init(&ta, &cd_malloc_allocator);
		cd_buf_init(&tb, &cd_malloc_allocator);
		CHECK(cd_translit(a, alen, &ta) == CD_TEXT_OK && cd_translit(b, blen, &tb) == CD_TEXT_OK);
		if (ta.len > 0 && tb.len > 0 &&
			cd_token_similarity(ta.data, ta.len, tb.data, tb.len, &cd_malloc_allocator, &tok) == CD_SIM_OK)
			CHECK(r <= tok + 1e-12);
		cd_buf_free(&ta);
		cd_buf_free(&tb);
	}

	r = check_pair(cd_name_part_similarity, a, alen, b, blen, &st);
	n = check_pair(cd_name_similarity, a, alen, b, blen, &st2);
	CHECK(st == st2);
	if (st == CD_MATCH_OK)
		CHECK(r >= n - 1e-12);
	return 0;
}
