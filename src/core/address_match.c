/*
 * address_match.c
 *		Street address similarity: token similarity with agreeing numbers (see
 *		address_match.h).
 */
#include <stdbool.h>
#include <string.h>

#include "address_match.h"
#include "field_match.h"
#include "similarity.h"
#include "translit.h"

#define MAX_NUMBERS 32

typedef struct Number
{
	const char *p;				/* the digits without leading zeros */
	size_t		len;
} Number;

/* the numbers of a transliterated address, in order */
static int
read_numbers(const char *s, size_t len, Number *out)
{
	int			n = 0;
	size_t		i = 0;

	while (i < len && n < MAX_NUMBERS)
	{
		while (i < len && s[i] == ' ')
			i++;
		if (i < len && s[i] >= '0' && s[i] <= '9')
		{
			while (i < len && s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
				i++;
			out[n].p = s + i;
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
			out[n].len = (size_t) (s + i - out[n].p);
			n++;
		}
		while (i < len && s[i] != ' ')
			i++;
	}
	return n;
}

/* every number of x is found among those of y, each of y used once */
static bool
numbers_within(const Number *x, int nx, const Number *y, int ny)
{
	bool		used[MAX_NUMBERS] = {false};

	for (int i = 0; i < nx; i++)
	{
		bool		found = false;

		for (int j = 0; j < ny && !found; j++)
			if (!used[j] && x[i].len == y[j].len && memcmp(x[i].p, y[j].p, x[i].len) == 0)
				used[j] = found = true;
		if (!found)
			return false;
	}
	return true;
}

double
cd_address_number_cap(const char *a, size_t alen, const char *b, size_t blen)
{
	Number		na[MAX_NUMBERS];
	Number		nb[MAX_NUMBERS];
	int			ca = read_numbers(a, alen, na);
	int			cb = read_numbers(b, blen, nb);

	if (ca == 0 || cb == 0)
		return 1;
	if (numbers_within(na, ca, nb, cb) || numbers_within(nb, cb, na, ca))
		return 1;
	return CD_ADDRESS_NUMBER_CAP;
}

CdMatchStatus
cd_address_similarity(const char *a, size_t alen, const char *b, size_t blen,
					  const CdAllocator *al, double *out)
{
	CdMatchStatus st;
	CdBuf		ta;
	CdBuf		tb;
	CdTextStatus ts;
	CdSimStatus ss = CD_SIM_OK;

	*out = 0;
	st = cd_match_check_args(a, alen, b, blen);
	if (st != CD_MATCH_OK)
		return st;
	cd_match_canonical_order(&a, &alen, &b, &blen);
	cd_buf_init(&ta, al);
	cd_buf_init(&tb, al);
	ts = cd_translit(a, alen, &ta);
	if (ts == CD_TEXT_OK)
		ts = cd_translit(b, blen, &tb);
	if (ts == CD_TEXT_OK && ta.len > 0 && tb.len > 0)
	{
		ss = cd_token_similarity(ta.data, ta.len, tb.data, tb.len, al, out);
		if (ss == CD_SIM_OK)
		{
			double		cap = cd_address_number_cap(ta.data, ta.len, tb.data, tb.len);

			if (*out > cap)
				*out = cap;
		}
		else
			*out = 0;
	}
	cd_buf_free(&ta);
	cd_buf_free(&tb);
	switch (ts)
	{
		case CD_TEXT_OK:
			break;
		case CD_TEXT_INVALID_UTF8:
			return CD_MATCH_INVALID_UTF8;
		case CD_TEXT_NOMEM:
			return CD_MATCH_NOMEM;
		default:
			return CD_MATCH_ICU_ERROR;
	}
	switch (ss)
	{
		case CD_SIM_OK:
			return CD_MATCH_OK;
		case CD_SIM_TOO_LONG:
			return CD_MATCH_TOO_LONG;
		case CD_SIM_NOMEM:
			return CD_MATCH_NOMEM;
		default:
			return CD_MATCH_INVALID_UTF8;
	}
}
