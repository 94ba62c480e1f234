/*
 * unicode_fold.h
 *		Unicode folding of names for keys: NFKC, full case fold, diacritics removed,
 *		invisible characters dropped, punctuation/space runs made one ASCII space.
 *
 * Every function of the text keys (this file, translit.h, name_key.h) appends its result
 * to "out", taking all memory from out's allocator, and returns a CdTextStatus.  An
 * empty result (no letters or digits in the input) is OK with nothing appended.  On any
 * error nothing is appended (out->len is restored).
 */
#ifndef CD_UNICODE_FOLD_H
#define CD_UNICODE_FOLD_H

#include <stddef.h>

#include "cd_buf.h"

#ifndef CD_TEXT_STATUS_DEFINED
#define CD_TEXT_STATUS_DEFINED
typedef enum CdTextStatus
{
	CD_TEXT_OK = 0,
	CD_TEXT_INVALID_UTF8,		/* input is not well-formed UTF-8 */
	CD_TEXT_NOMEM,				/* the allocator returned NULL */
	CD_TEXT_ICU_ERROR			/* ICU failed (transliterator could not be opened, ...) */
} CdTextStatus;
#endif

/*
 * The folded form of a name (this is name_key).  Rules:
 *  - NFKC and full Unicode case folding (ß -> ss, ﬁ -> fi, Ⅻ -> xii, fullwidth -> ASCII);
 *  - combining marks removed from Latin, Greek and Cyrillic letters (é -> e, ё -> е),
 *    except that й, ў and ї keep their mark: they are letters of their own, not
 *    accented letters, and transliteration needs them (Юлия Чайковская -> chaykovskaya);
 *    Hebrew and Arabic points are removed too; marks that spell sounds in other scripts
 *    (Devanagari and Thai vowel signs, Japanese voicing marks) are kept;
 *  - at most 30 marks are kept on one letter (the Unicode stream-safe limit): floods of
 *    marks cost O(n) and keys stay short;
 *  - default-ignorable and format characters (zero-width, bidi controls, soft hyphen,
 *    variation selectors) are dropped without splitting the word;
 *  - letters and digits are kept; every run of anything else (spaces, punctuation,
 *    symbols, emoji, controls including NUL, unassigned and private-use code points)
 *    becomes one ASCII space; no leading or trailing space.  Apostrophes and hyphens
 *    inside words split them: O'Brien -> "o brien", Анна-Мария -> "анна мария".
 * Pure ASCII input is handled without utf8proc.
 */
extern CdTextStatus cd_fold(const char *in, size_t len, CdBuf *out);

/* cd_fold with options, for the other text keys */
#define CD_FOLD_JOIN_APOSTROPHES 0x01	/* apostrophes inside a word vanish: O'Brien -> obrien */
extern CdTextStatus cd_fold_ext(const char *in, size_t len, int flags, CdBuf *out);

/* true when the code point counts as an apostrophe for CD_FOLD_JOIN_APOSTROPHES */
extern bool cd_is_apostrophe(int32_t cp);

#endif							/* CD_UNICODE_FOLD_H */
