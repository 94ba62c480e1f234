/*
 * field_match.h
 *		Similarity of phone numbers and email addresses, and the status codes shared by
 *		the field-matching core (phonetic.h, name_match.h, this file).
 *
 * Common rules of every function of the matching core:
 *	- Inputs are (pointer, byte length) pairs of UTF-8 text, not NUL-terminated.  An
 *	  argument longer than CD_MATCH_MAX_BYTES bytes is CD_MATCH_TOO_LONG; then invalid
 *	  UTF-8 in any argument is CD_MATCH_INVALID_UTF8 (both arguments are checked before
 *	  any work, so the status does not depend on argument order).
 *	- Similarities are in [0,1] and exactly symmetric, f(a, b) == f(b, a) bit for bit:
 *	  each function first puts its two arguments in a canonical order (shorter first,
 *	  then bytewise) and computes only from that order.
 *	- f(a, a) == 1 for any a with a usable letter or digit; 0 when either side has
 *	  nothing usable (empty, only spaces or punctuation).
 *	- On any status other than CD_MATCH_OK the result is 0.
 *	- Work is O(n) in the input length (plus bounded constant work per name word).
 */
#ifndef CD_FIELD_MATCH_H
#define CD_FIELD_MATCH_H

#include <stddef.h>

#include "cd_buf.h"
#include "phone.h"

/* longest argument, in bytes, that any matching function accepts */
#define CD_MATCH_MAX_BYTES 4096

typedef enum CdMatchStatus
{
	CD_MATCH_OK = 0,
	CD_MATCH_INVALID_UTF8,
	CD_MATCH_TOO_LONG,
	CD_MATCH_NOMEM,
	CD_MATCH_ICU_ERROR
} CdMatchStatus;

/*
 * Phone numbers: both are parsed with cd_phone_parse() for the default region (a
 * NUL-terminated ISO 3166-1 alpha-2 code; NULL, "" or a region cd_phone_region_known()
 * does not know is read as "ZZ": the SQL glue validates it).  No memory is allocated.
 *  - Both valid numbers (digits d = E.164 without "+"):
 *		same E.164                                        1  (0.9 when both carry
 *		                                                     extensions and they differ)
 *		same national number, another country code        0.7
 *		one adjacent transposition                        0.85
 *		one substituted digit                             0.8
 *		last 7 digits equal                               0.6
 *		else                                              0
 *  - Otherwise (a side is not a valid number): the same rules on digit strings, times
 *	  0.8: the raw digits (ASCII and other decimal digits, first 32) of an invalid side
 *	  against the raw digits of the other side and, for a valid side, also against its
 *	  E.164 and national digits (best of these).  A digit string shorter than 7 digits
 *	  matches nothing.
 *  - Identity: byte-identical texts with a digit give 1, even when not a valid number.
 *  - No digit on a side: 0.
 */
extern CdMatchStatus cd_phone_similarity(const char *a, size_t alen, const char *b, size_t blen,
										 const char *region, double *out);

/*
 * One side of cd_phone_similarity, prepared once for a value compared with many (a
 * guard's new row against its candidates): the argument check, the raw digits, and
 * (on the first comparison that needs it) the parse, kept for the next comparisons.
 * cd_phone_similarity_sides(a, b) gives what cd_phone_similarity gives for the two
 * texts and the region both sides were prepared with (the same one).  The text must
 * outlive the side.  memo false: parsed with cd_phone_parse_once (a value not compared
 * again soon).  No memory is allocated.
 */
typedef struct CdPhoneSide
{
	const char *raw;
	size_t		len;
	CdMatchStatus check;		/* of this text alone: CD_MATCH_TOO_LONG, _INVALID_UTF8, _OK */
	const char *reg;			/* the region read ("ZZ" when unknown) */
	size_t		reglen;
	int			ndigits;		/* the raw digits (ASCII and other decimal digits, first 32) */
	char		digits[33];
	bool		memo;			/* parse through the active value memo (cd_phone_parse) */
	bool		parsed;			/* valid and res are set */
	bool		valid;
	CdPhoneResult res;
} CdPhoneSide;

extern void cd_phone_side_init(CdPhoneSide *side, const char *raw, size_t len, const char *region,
							   bool memo);
extern CdMatchStatus cd_phone_similarity_sides(CdPhoneSide *a, CdPhoneSide *b, double *out);

/*
 * Email addresses, both keyed with cd_email_key() (provider rules) and normalized with
 * cd_email_normalize().  "Loose local part": the normalized local part cut at "+" and
 * without ".", "-" and "_".  Known providers: the domains of data/email_providers.tsv
 * and a short list of other big free-mail domains in field_match.c.
 *  - same key                                                         1
 *  - same domain (of the key), same loose local part                  0.8
 *  - same domain, key local parts one edit apart (OSA)                0.75
 *  - other domain, same key or loose local part:
 *		the domains look like one provider with a typo (the two are 1 edit apart, 2
 *		for domains of 8+ characters, and one of them is a known provider; or both are
 *		that close to the same known provider; never two distinct known providers)  0.9
 *		a role mailbox (info, admin, sales, office, ...: not a person)       0.35
 *		both domains known free-mail providers (people keep a handle)        0.75
 *		else                                                                 0.7
 *  - other domain and other local part, each a typo of the other (key local parts
 *	  and domains each at most 1 edit apart, 2 when the longer has 8+ bytes)  0.7 (0.2.0)
 *  - else                      0.5 * Jaro-Winkler(key local parts)
 *  - an invalid address on either side: 0.5 * Jaro-Winkler of the two raw texts,
 *	  trimmed and ASCII lower-cased; identical such texts (with a letter or digit) 1.
 * No memory is allocated.
 */
extern CdMatchStatus cd_email_similarity(const char *a, size_t alen, const char *b, size_t blen,
										 double *out);

/*
 * The largest cd_email_similarity of two addresses whose cd_email_key()s differ, or of
 * which one has a key and the other none (the table above: 0.9 at most; two texts equal
 * but for ASCII case and blanks around them have the same key or none).  A guard that
 * did not find a row by the new row's email key bounds that field by the levels this
 * similarity reaches (guard.c); test/fuzz/fuzz_email_key_sim.c checks it.
 */
#define CD_EMAIL_SIM_OTHER_KEY 0.9

/* ---- internal, shared by the matching core ---- */

/* the argument checks of every matching function, in the documented order */
extern CdMatchStatus cd_match_check_args(const char *a, size_t alen, const char *b, size_t blen);

/* put (a, b) in the canonical order (shorter first, then bytewise) that makes results symmetric */
extern void cd_match_canonical_order(const char **a, size_t *alen, const char **b, size_t *blen);

#endif							/* CD_FIELD_MATCH_H */
