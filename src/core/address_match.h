/*
 * address_match.h
 *		Similarity of two street addresses: the words in any order with typos (token
 *		similarity of the transliterations), but numbers must agree.
 *
 * Token similarity alone scores "1200 w 12th st" / "1201 w 12th st" 0.97: one
 * changed digit in a long line, yet another building.  So the numbers of each side
 * are read (every word that starts with a digit: house numbers, "12th", "5b", flat
 * numbers; its leading digits, leading zeros dropped) and when neither side's
 * numbers are all found among the other side's (counting repeats), the similarity
 * is capped at CD_ADDRESS_NUMBER_CAP.  A side without numbers, or numbers that one
 * side adds (a flat number, a house number left out), do not cap.
 */
#ifndef CD_ADDRESS_MATCH_H
#define CD_ADDRESS_MATCH_H

#include <stddef.h>

#include "cd_buf.h"
#include "field_match.h"

/* below the default "similar address" level (0.8): at most "somewhat similar" */
#define CD_ADDRESS_NUMBER_CAP 0.6

/*
 * The cap for two transliterated addresses (ASCII words separated by spaces, as
 * cd_translit writes them): CD_ADDRESS_NUMBER_CAP when their numbers disagree as
 * above, else 1.  Allocates nothing; numbers past the 32nd of a side are ignored.
 */
extern double cd_address_number_cap(const char *a, size_t alen, const char *b, size_t blen);

/*
 * crmdedup.address_similarity(a, b): cd_token_similarity of the cd_translit of each,
 * capped by cd_address_number_cap; 0 when a transliteration is empty.  The argument
 * checks of field_match.h.
 */
extern CdMatchStatus cd_address_similarity(const char *a, size_t alen, const char *b, size_t blen,
										   const CdAllocator *al, double *out);

#endif							/* CD_ADDRESS_MATCH_H */
