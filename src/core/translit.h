/*
 * translit.h
 *		Any script to lower-case Latin ASCII words, for cross-script name keys.
 *
 * The text is folded first (cd_fold, with apostrophes inside words removed:
 * Дар'я -> darya, O'Brien -> obrien).  Cyrillic, Greek and the Latin letters without a
 * decomposition go through compiled tables (data/translit_*.tsv) that follow how people
 * actually write names in Latin letters (Пётр Щукин -> petr shchukin, Юлия Чайковская ->
 * yuliya chaykovskaya, Ukrainian per the national 2010 system when the string looks
 * Ukrainian); other digits become ASCII digits; every other run of letters (Han, kana,
 * Hangul, Arabic, Hebrew, Georgian, Armenian, Thai, Devanagari, ...) goes through one ICU
 * "Any-Latin; Latin-ASCII" transliterator, opened once per process and cached.  A run that
 * ICU handled is a word of its own (Иван王 -> "ivan wang").  Han characters come out as
 * one word per syllable without tones (王小明 -> "wang xiao ming"); Japanese kanji get
 * Chinese readings (ICU has no Japanese readings).
 * Result: lower-case ASCII letters and digits, words separated by one space.
 * Status and buffer rules: see unicode_fold.h.  Not thread-safe (per-process caches).
 * CD_TEXT_ICU_ERROR only when the ICU transliterator cannot be opened or fails; the
 * open is retried on the next call that needs ICU.
 */
#ifndef CD_TRANSLIT_H
#define CD_TRANSLIT_H

#include "unicode_fold.h"

extern CdTextStatus cd_translit(const char *in, size_t len, CdBuf *out);
/* version of the compiled tables, e.g. "cyrillic-1;greek-1;latin-1;cjk-surnames-1" */
extern const char *cd_translit_data_version(void);

/* ---- for name_key.c: transliteration of already folded text ---- */

/* which rule set (CdTranslitLang) a folded string calls for (Ukrainian, ...) */
extern int	cd_translit_detect_lang(const char *folded, size_t len);
/* transliterate folded text (the output of cd_fold_ext) with the given rule set */
extern CdTextStatus cd_translit_folded(const char *folded, size_t len, int lang, CdBuf *out);

#endif							/* CD_TRANSLIT_H */
