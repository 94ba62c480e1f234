/*
 * company_places.h
 *		Countries and regions that close a company name (Philips Electronics UK, Henkel
 *		Rus), from data/company_places.tsv compiled by tools/gen_company_places_data.py.
 *		The scorer reads a name so closed as the name without the place when the other
 *		name of the pair names no place (record_score.c, words_contained).
 */
#ifndef CD_COMPANY_PLACES_H
#define CD_COMPANY_PLACES_H

#include <stddef.h>

typedef struct CdCompanyPlace
{
	const char *words;			/* lower-case ASCII words separated by single spaces */
	int			len;
	int			last_len;		/* bytes of the last word */
	int			nwords;
} CdCompanyPlace;

/* sorted bytewise by last word, places of more words first within a last word */
extern const CdCompanyPlace cd_company_places[];
extern const int cd_company_nplaces;
extern const char cd_company_places_data_version_string[];	/* "company-places-1" */

/*
 * The length of the words of key (a company term key: words separated by single spaces)
 * before a place that closes it, when one does and words remain before it: "philips
 * electronics uk" -> 19 ("philips electronics"), "acme north america" -> 4; 0 when no
 * listed place ends key as whole words, or when the longest place ending key is all of
 * it ("uk", "latin america").  The longest place wins ("acme latin america" -> "acme",
 * not "acme latin").
 */
extern size_t cd_company_place_start(const char *key, size_t len);

#endif							/* CD_COMPANY_PLACES_H */
