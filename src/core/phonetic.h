/*
 * phonetic.h
 *		A phonetic key for person names in any script, and the spelling fold it is built on.
 *
 * cd_phonetic(): the text is transliterated (cd_translit: any script to lower-case ASCII
 * words), then every word becomes a sound key; words keep their order and are joined by
 * single spaces.  The key is our own design, built and measured on Cyrillic-Latin name
 * pairs, in two steps:
 *
 * 1. Spelling fold (cd_spell_fold_word), which merges the ways one name is written in
 *	  Latin letters (Russian romanizations first of all), scanning left to right:
 *		shtch chtch shch stch sch -> sh     tch -> ch     cz -> ch     (sh ch zh kept)
 *		kh -> h   ph -> f   th -> t   gh -> g   ck -> k   ts tz tc -> c (the "ts" sound)
 *		word endings iy yy ij yj ii y j -> i      (Yuriy Yury Iurii Juri -> yuri)
 *		word ending ic -> ich in words of 5+ letters (Petrovic -> petrovich)
 *		word endings off -> ov, eff -> ev        (Smirnoff -> smirnov)
 *		word start mc -> mak                      (McIlvenny = Макилвенни)
 *		x -> ks   q -> k   w -> v   c -> c before e/i/y, else k
 *		glides before a/e/o/u: y, j always, i at the start or after a consonant
 *		(not before o), iy/ij at the start or after a consonant:
 *			+a -> ya   +u -> yu   +e -> e   +o -> e after a consonant, yo after a
 *			vowel; at the start yo -> e (Yolkin = Ёлкин -> elkin), jo -> yo
 *		other y, j -> i                            (Chaykovskiy -> chaikovski)
 *		ou -> u;  ue oe ae between consonants -> u o a    (Mueller -> muler)
 *		u before a/e/i/o at the start of a word -> v      (Wellin Уэллин -> vellin)
 *		then runs of one letter become one letter        (Anna -> ana; digits stay)
 *	  The result is used to compare words (name_match.c) and for nickname lookup.
 * 2. Sound classes over the folded word: a first vowel becomes "a" (all vowels and
 *	  glides at the start are one class), other vowels are dropped, an "h" after a
 *	  vowel and not before one is dropped (silent), and consonants map to classes
 *		b p v f d t l m n r k  as themselves    g h -> g   s z c -> s
 *		sh -> x   ch -> q   zh -> j
 *	  with a run of one class written once; digits are kept as they are.  An
 *	  affricate is keyed by its second half: d before z (dz, dzh: Джон Dzhon = Jon)
 *	  and t before c (tts: Гётце Gettse = Goetze) are dropped.
 * So Щукин Shchukin Schukin Chtchoukine Shukin -> xkn; Haritonov Kharitonov -> grtnv;
 * Yuri Yury Iurii Juri -> ar; Aleksandr Alexander -> alksndr; Tsoi Tsoy Tcoi -> s;
 * Smith Smyth -> smt; Mueller Muller Müller -> mlr.
 *
 * Measured on the Wikidata Latin-Cyrillic name-word pairs (131,713 pairs,
 * wd_russian_80): the keys of both sides are equal for 74.4% of the pairs, against
 * 32.4% for plain transliteration equality and 53.7% for the spelling fold alone; two
 * random words share a key about once in 4,500 pairs.  Most misses are words read by
 * the rules of another language (English j = дж, French ch = ш, Japanese shi = си,
 * pinyin q = ц): the key follows one reading, name_match.c also tries the others.
 * The key is lossy by design: use it as a blocking key or as one signal, never as
 * proof of identity.
 *
 * Keys change only with CD_PHONETIC_VERSION (an index on cd_phonetic() must be rebuilt
 * when it changes), and with the transliteration tables (cd_translit_data_version()).
 */
#ifndef CD_PHONETIC_H
#define CD_PHONETIC_H

#include <stddef.h>

#include "cd_buf.h"
#include "field_match.h"

#define CD_PHONETIC_VERSION "phonetic-2"

/*
 * Append the phonetic key of in[0..len) to out (memory from out's allocator).  Nothing
 * usable in the input: OK with nothing appended.  On error nothing is appended.
 * Statuses: TOO_LONG (len > CD_MATCH_MAX_BYTES), INVALID_UTF8, NOMEM, ICU_ERROR.
 */
extern CdMatchStatus cd_phonetic(const char *in, size_t len, CdBuf *out);

/* ---- for name_match.c and tests: one word of lower-case ASCII letters and digits ---- */

/* output size that is always enough for a word of n bytes, NUL included */
#define CD_SPELL_FOLD_SIZE(n) (2 * (n) + 2)

/*
 * Spelling fold of one word w[0..n) (lower-case ASCII letters and digits, as written by
 * cd_translit) into out (at least CD_SPELL_FOLD_SIZE(n) bytes), NUL-terminated.
 * Returns the length written.  Other bytes are copied unchanged.
 */
extern size_t cd_spell_fold_word(const char *w, size_t n, char *out);

/*
 * The vowel a spelling fold f[0..n) starts with, after a "y" glide; '\0' when it starts
 * with a consonant.  Two spellings of one name start with the same vowel sound.
 */
extern char cd_fold_lead_vowel(const char *f, size_t n);

/* sound key of an already spelling-folded word; out needs n + 1 bytes */
extern size_t cd_phonetic_folded_word(const char *f, size_t n, char *out);

#endif							/* CD_PHONETIC_H */
