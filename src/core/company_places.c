/*
 * company_places.c
 *		Finds a country or region closing a company's term key (company_places.h).
 *		The table is sorted by last word, so one binary search on the key's last word
 *		leaves a few places to compare whole.
 */
#include "company_places.h"

#include <string.h>

/* bytewise order of a place's last word against the word w (wl bytes) */
static int
last_word_cmp(const CdCompanyPlace *p, const char *w, size_t wl)
{
	const char *pw = p->words + (p->len - p->last_len);
	size_t		pl = (size_t) p->last_len;
	int			c = memcmp(pw, w, pl < wl ? pl : wl);

	return c != 0 ? c : pl < wl ? -1 : pl > wl ? 1 : 0;
}

size_t
cd_company_place_start(const char *key, size_t len)
{
	size_t		ws = len;
	int			lo = 0;
	int			hi = cd_company_nplaces;

	if (key == NULL || len == 0)
		return 0;
	while (ws > 0 && key[ws - 1] != ' ')
		ws--;
	if (ws == 0)
		return 0;				/* one word: nothing would remain */
	/* the first place whose last word is not below the key's */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (last_word_cmp(&cd_company_places[mid], key + ws, len - ws) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; i < cd_company_nplaces && last_word_cmp(&cd_company_places[i], key + ws, len - ws) == 0; i++)
	{
		const CdCompanyPlace *p = &cd_company_places[i];
		size_t		pl = (size_t) p->len;

		/* the whole key is the longest place that ends it: nothing is left out */
		if (pl == len && memcmp(key, p->words, pl) == 0)
			return 0;
		/* the place as whole words, and a word before it */
		if (pl + 1 < len && key[len - pl - 1] == ' ' && memcmp(key + len - pl, p->words, pl) == 0)
		{
			size_t		start = len - pl - 1;

			while (start > 0 && key[start - 1] == ' ')
				start--;
			return start;
		}
	}
	return 0;
}
