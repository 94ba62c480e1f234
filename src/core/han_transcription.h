/*
 * han_transcription.h
 *		Is a run of pinyin syllables the Chinese transcription of a Latin name word?
 *		Chinese writes a foreign name with one character per syllable of its sound
 *		(Baskerville 巴斯克威尔 "ba si ke wei er", Kudryavtsev 库德里亚夫采夫 "ku de li ya fu
 *		cai fu"), so its pinyin never spells the Latin word; what survives is the order of
 *		its consonants, within the few classes Mandarin tells apart.
 *
 * Both sides become a skeleton: a class per consonant sound, vowels dropped, plus a
 * mark V when the word begins with a vowel (y counts as one).  Classes: P (b p), T (d t),
 * K (g k, hard c, q), H (h, kh), F (f v w ph), M (m), N (n), L (l r), S (s z, soft c, sh
 * ch zh ts tz j), Latin x is K S, and on the Latin side only th (matches T or S: Smith
 * 史密斯 "shi mi si"), on the pinyin side only J (j q: matches S or K, as 加 "jia" writes
 * ga and ka) and X (x: matches S, H or K).
 *
 * A consonant is weak where transcription often leaves it out or adds it: on the Latin
 * side h; r and l before a consonant, at the end or after another consonant (Pyotr 彼得
 * "bi de"); n before a consonant; m before b or p; ng; j; on the pinyin side a
 * syllable's final n, ng or r, and the syllable "er" (which writes a final r or l).  Dropping a weak
 * class costs half of a strong one, and M for N half of another change.  Two skeletons
 * of m classes (the shorter one) at distance d (strong units) score:
 *		d = 0, m >= 3                                                         0.85
 *		d = 0, m = 2; or d <= 0.5, m >= 3                                     0.8
 *		d <= 1, m >= 4                                                        0.75
 *		otherwise                                                             0
 * A run of two syllables must have d = 0: two syllables are as often a Chinese name of
 * its own (张静 "zhang jing": S N J N, one weak class from Shchukin's S K N).
 * On the 5,000 Wikidata word pairs bench/quality scores (wd_chinese_80; the rules came
 * from some of its other 44,048 pairs) name_similarity reaches 0.75 for 0.753 of the true
 * pairs and 16 of 5,000 shuffled false pairs.
 */
#ifndef CD_HAN_TRANSCRIPTION_H
#define CD_HAN_TRANSCRIPTION_H

#include <stdbool.h>
#include <stddef.h>

#define CD_TR_MAX 32			/* classes a skeleton holds */

typedef struct CdTrSkeleton
{
	int			nsyl;			/* syllables of a pinyin skeleton; 0 for a Latin one */
	unsigned char n;
	char		cls[CD_TR_MAX];
	bool		weak[CD_TR_MAX];
} CdTrSkeleton;

/*
 * The skeleton of a Latin word (lower-case ASCII letters, as cd_translit writes them).
 * False, and no skeleton, for an empty word, any other byte, or more than CD_TR_MAX
 * classes.
 */
extern bool cd_tr_latin_skeleton(const char *w, size_t n, CdTrSkeleton *out);

/*
 * The skeleton of a run of pinyin syllables (nsyl of them, each lower-case ASCII
 * letters, as cd_rd_pinyin_syllable() accepts).  False for no syllables or too many
 * classes.
 */
extern bool cd_tr_pinyin_skeleton(const char *const *syl, const size_t *len, int nsyl,
								  CdTrSkeleton *out);

/* the score of the table above for a Latin and a pinyin skeleton: 0, 0.75, 0.8 or 0.85 */
extern double cd_tr_similarity(const CdTrSkeleton *latin, const CdTrSkeleton *pinyin);

#endif							/* CD_HAN_TRANSCRIPTION_H */
