/*
 * fuzz_email_key_sim.c
 *		libFuzzer harness for the property a guard's bound relies on (guard.c): two
 *		addresses whose email keys differ (or one without a key) are never similar enough
 *		for a level above CD_EMAIL_SIM_OTHER_KEY.  A guard that looked the new row's email
 *		key up in its index and did not find a candidate there knows the candidate's key
 *		differs, and bounds that field's weight by the levels such a pair can reach.
 *
 * Input: two addresses split at the first 0x1F byte; also, the first address with its
 * ASCII letters' case flipped where the input's last byte's bits say so and blanks
 * around it (the raw comparison of two invalid addresses is case-insensitive).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "field_match.h"

/* fuzz_common.h's CHECK (its failing allocator is not needed here) */
#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void
check_pair(const char *a, size_t alen, const char *b, size_t blen)
{
	char		ka[CD_EMAIL_MAX];
	char		kb[CD_EMAIL_MAX];
	size_t		kal;
	size_t		kbl;
	double		sim = 0;
	bool		a_ok;
	bool		b_ok;

	a_ok = cd_email_key(a, alen, ka, &kal) == CD_EMAIL_OK;
	b_ok = cd_email_key(b, blen, kb, &kbl) == CD_EMAIL_OK;
	if (!a_ok && !b_ok)
		return;
	if (a_ok && b_ok && kal == kbl && memcmp(ka, kb, kal) == 0)
		return;
	if (cd_email_similarity(a, alen, b, blen, &sim) != CD_MATCH_OK)
		return;
	CHECK(sim <= CD_EMAIL_SIM_OTHER_KEY);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	const uint8_t *sep = memchr(data, 0x1F, size);
	size_t		alen = sep ? (size_t) (sep - data) : size;
	char	   *v;
	size_t		vlen = 0;
	uint8_t		bits = size > 0 ? data[size - 1] : 0;

	if (size > 4096)
		return 0;
	if (sep)
		check_pair(s, alen, (const char *) sep + 1, size - alen - 1);
	/* a variant of the first address: case flipped, blanks around */
	v = malloc(alen + 4);
	if (v == NULL)
		return 0;
	if (bits & 1)
		v[vlen++] = ' ';
	if (bits & 2)
		v[vlen++] = '\t';
	for (size_t i = 0; i < alen; i++)
	{
		char		c = s[i];

		if (((bits >> (i % 6 + 2)) & 1) || (bits & 0x80))
		{
			if (c >= 'a' && c <= 'z')
				c = (char) (c - 'a' + 'A');
			else if (c >= 'A' && c <= 'Z')
				c = (char) (c - 'A' + 'a');
		}
		v[vlen++] = c;
	}
	if (bits & 4)
		v[vlen++] = '\n';
	check_pair(s, alen, v, vlen);
	check_pair(v, vlen, s, alen);
	free(v);
	return 0;
}
