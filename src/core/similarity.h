/*
 * similarity.h
 *		String similarity metrics of the pure core: Jaro-Winkler, optimal string alignment
 *		(restricted Damerau-Levenshtein) distance, trigram Jaccard and an order-free token
 *		similarity for person and company names.
 *
 * Every metric works on Unicode code points, not bytes: "щукин" and "шукин" are one edit
 * apart.  Inputs are taken as already normalized by the caller (case folded, marks and
 * punctuation handled by the name_key family); nothing is folded here.
 *
 * Common rules for all functions:
 *	- Inputs are (pointer, byte length) pairs, need not be NUL-terminated and may contain
 *	  any bytes.  A NUL byte is an ordinary (ASCII, non-word) code point.
 *	- Invalid UTF-8 in either input is CD_SIM_INVALID_UTF8; otherwise an input of more than
 *	  CD_SIM_MAX_CHARS code points is CD_SIM_TOO_LONG (both inputs are always checked, so
 *	  the status does not depend on argument order).  Work is O(n) before that check, and
 *	  at most O(CD_SIM_MAX_CHARS^2) after it.  Measured worst cases on the 2-core machine
 *	  class (-O2): OSA of two unlike 4096-code-point strings 60-90 ms (about 4 ns per
 *	  cell; with a limit max it is O(n * max): 0.1 ms for max = 100), Jaro-Winkler
 *	  10-15 ms, token similarity of 256 x 256 distinct tokens 55-75 ms, trigrams < 1 ms.
 *	  Short names (about 10 code points): 0.05-0.15 us per pair for each metric.
 *	- CD_SIM_NOMEM when the allocator returned NULL.  Nothing is allocated for inputs of up
 *	  to CD_SIM_LOCAL_CHARS code points each (stack buffers are used); longer inputs take
 *	  scratch memory from the allocator and release it before returning.
 *	- On any status other than CD_SIM_OK, *out is set to 0.
 *	- Every metric is exactly symmetric: f(a, b) == f(b, a) bit for bit.  Where an
 *	  algorithm is order-dependent (greedy Jaro matching, greedy token pairing) the pair
 *	  is first put in a canonical order (fewer code points first, then code point order).
 */
#ifndef CD_SIMILARITY_H
#define CD_SIMILARITY_H

#include <stddef.h>

#include "cd_buf.h"

/* longest input, in code points, that any metric accepts */
#define CD_SIM_MAX_CHARS 4096

/* inputs up to this many code points are handled without calling the allocator */
#define CD_SIM_LOCAL_CHARS 64

/*
 * cd_token_similarity() pairs every token of one side with every token of the other; more
 * than this many space-separated tokens on either side is CD_SIM_TOO_LONG (names have a
 * handful, so this only stops hostile input from costing O(tokens^2) memory).
 */
#define CD_SIM_MAX_TOKENS 256

typedef enum CdSimStatus
{
	CD_SIM_OK = 0,
	CD_SIM_INVALID_UTF8,
	CD_SIM_TOO_LONG,
	CD_SIM_NOMEM
} CdSimStatus;

/*
 * Jaro-Winkler similarity in [0,1].  Jaro: match window floor(max(|a|,|b|)/2) - 1,
 * jaro = (m/|a| + m/|b| + (m - t/2)/m) / 3 with m matched code points and t matched code
 * points out of order (0 when m = 0).  Winkler: when jaro > 0.7 (the boost threshold of
 * Winkler's paper), jw = jaro + l * 0.1 * (1 - jaro) with l the common prefix length, at
 * most 4.  Both empty: 1 (identical); one empty: 0.
 * JW("martha","marhta") = 0.961, JW("dwayne","duane") = 0.84, JW("dixon","dicksonx") = 0.813.
 */
extern CdSimStatus cd_jaro_winkler(const char *a, size_t alen, const char *b, size_t blen,
								   const CdAllocator *al, double *out);

/*
 * Optimal string alignment distance (Damerau-Levenshtein restricted: insertion, deletion,
 * substitution and transposition of two adjacent code points each cost 1, and no
 * substring is edited twice).  OSA("ca","abc") = 3, OSA("abcd","acbd") = 1.
 * max >= 0: the result is min(distance, max + 1); only a band of width 2*max+1 is
 * computed and the computation stops as soon as the distance must exceed max, so the
 * cost is O(n * max).  max < 0: no limit, O(n * m).
 */
extern CdSimStatus cd_levenshtein(const char *a, size_t alen, const char *b, size_t blen,
								  int max, const CdAllocator *al, int *out);

/* 1 - OSA distance / max(|a|, |b|) in [0,1], lengths in code points; both empty: 1 */
extern CdSimStatus cd_levenshtein_similarity(const char *a, size_t alen,
											 const char *b, size_t blen,
											 const CdAllocator *al, double *out);

/*
 * Trigram Jaccard similarity, pg_trgm-like but over code points.  Words are maximal runs
 * of word code points: ASCII letters and digits and every non-ASCII code point (the input
 * is folded, so only ASCII characters separate words; ASCII spaces, punctuation and
 * controls do).  Each word is padded with two spaces in front and one after and yields
 * its |word| + 1 trigrams; a trigram is packed losslessly into a uint64 key (3 x 21 bits).
 * Sets, not multisets: result = |A n B| / |A u B|.  No word on either side: 0 (as
 * pg_trgm's similarity()), so f(a, a) = 1 only when a has a word.
 * similarity("word", "words") = 4/7.
 */
extern CdSimStatus cd_trigram_similarity(const char *a, size_t alen, const char *b, size_t blen,
										 const CdAllocator *al, double *out);

/*
 * Order-free token similarity with partial tokens, for names ("petrov ivan" vs
 * "ivan i. petrov" after normalization).
 *	- Tokens are maximal runs of code points other than ASCII whitespace (space, \t, \n,
 *	  \v, \f, \r).  Punctuation is part of a token: the caller normalizes it away.
 *	- Token pair similarity s(x, y) = JW(x, y), raised to 0.9 when it is lower and one
 *	  token is a proper prefix of the other ("i" vs "ivan", "al" vs "alexander"): an
 *	  initial or abbreviation counts as a near match, never as an exact one.
 *	- Pairing: all pairs with s > 0 are taken greedily in order of decreasing s (ties by
 *	  token position), each token used at most once.  S = sum of s over chosen pairs.
 *	- With na, nb the token counts, k = min(na, nb) and e = |na - nb| the extra tokens of
 *	  the longer side:
 *			score = 2 S / (2 k + 0.25 e)
 *	  i.e. sum * 2 / (na + nb) where each extra token of the longer side weighs 0.25, so a
 *	  missing middle name or patronymic costs little: "ivan petrov" vs "ivan ivanovich
 *	  petrov" = 4 / 4.25 = 0.941, "ivan" vs "ivan petrov" = 2 / 2.25 = 0.889; a token of
 *	  the shorter side left unpaired (or poorly paired) costs in full.
 *	- No token on either side: 0.  f(a, a) = 1 when a has a token.
 *	- More than CD_SIM_MAX_TOKENS tokens on either side: CD_SIM_TOO_LONG.
 */
extern CdSimStatus cd_token_similarity(const char *a, size_t alen, const char *b, size_t blen,
									   const CdAllocator *al, double *out);

#endif							/* CD_SIMILARITY_H */
