/*
 * name_match.h
 *		Similarity of person names across scripts, of company names, and the given-name
 *		(nickname) groups they use.  Status and common rules: see field_match.h.
 *
 * Words.  Both sides are transliterated (cd_translit: Иванов Пётр -> "ivanov petr",
 * 王小明 -> "wang xiao ming") and split into words; only the first CD_NAME_MAX_WORDS
 * words of a side and the first CD_NAME_MAX_WORD letters of a word count.  Adjacent
 * words of one side whose concatenation is a word of the other side are joined first
 * ("xiao ming" = "xiaoming", "anna maria" = "annamaria"); for Latin or Han text also
 * when the concatenation read as pinyin (see "Other readings") has the phonetic key, of
 * 3+ classes, of a word of the other side (王小明 "wang xiao ming" = Ван Сяомин "van
 * syaomin").  A join must lengthen the fold of each word it takes (P. Popov is not
 * "ppopov" = Popov), and a one-letter word joins only as a pinyin syllable of a run of
 * them (L. I. is not Li; 王阿明 "wang a ming" = Wang Aming).  Every word is spelling-folded
 * (phonetic.h: kh/h, ts/tc, x/ks, iy/y endings, yu/iu/ju ...) and gets its phonetic key.
 *
 * Word pair similarity s(x, y), the first rule that applies:
 *		same spelling fold (Yuri = Yuriy = Iurii, Kharitonov = Haritonov)     1
 *		share a nickname group (Sasha = Aleksandr, Bill = William)           0.95
 *		male and female form (Ivanov/Ivanova, -ev/-eva, -in/-ina, -iy/-aya,
 *		  -oy/-aya, Ivan/Ivana, Evgeniy/Evgeniya)                            0.85
 *		an initial (a one-letter word, or what one Cyrillic letter gives: "yu",
 *		  "zh", "shch"...) that begins the other word; the first of two
 *		  initials in a row does not begin a patronymic (Д. В. = Дарья
 *		  Валерьевна, not Виктория Дмитриевна)                              initial
 *		a typo: both folds of 4+ letters, at most 1 edit apart (2 from 9
 *		  letters on): Jaro-Winkler of the folds, at most 0.95 (0.9 when both
 *		  are given names of different groups).  Up to 5 letters, where one
 *		  changed letter is as often another name (Mary/Mark, Jane/June): two
 *		  adjacent letters swapped always; a letter dropped, doubled (Sara/Sarah)
 *		  or changed to a neighbouring key on a QWERTY or ЙЦУКЕН keyboard
 *		  (Suaan/Susan, Ивпн/Иван; at most 0.9) only when not both are given
 *		  names of different groups (Jane/June, Mary/Mark stay apart: no
 *		  neighbours)
 *		same phonetic key of 3+ classes (Shchukin / Chtchoukine), unless
 *		  both are given names of different groups or the folds begin with
 *		  different vowel sounds (Yana / Yuna); two words that begin with a
 *		  glide before the same vowel agree (Йозеф "yozef" folds to "ezef",
 *		  Josef to "yosef"; Иоганн "iogann" / Johann)                        0.9
 *		otherwise                                                            0
 * Other readings (person names only): a word that has no pair of 0.9 or more also
 * gets the phonetic keys of its Latin spelling read by the rules of other languages,
 * as Russian transcription follows them (the rules of name_readings.h, which the index
 * keys of name_grams.c follow too): English j, g before e/i = дж, aw ow = оу, ee ea = и,
 * au = о, ay ai = эй, ew = ью, gh silent, and (0.2.0) the vowels of a stressed
 * syllable (Kate Кейт, Moore Мур, Andy Энди); French j, g before e/i = ж, ch = ш, au
 * eau = о, oi = уа; German ch = х, initial st sp = шт шп, v = ф, ei = ай, eu = ой, h
 * silent after a vowel, Polish sz rz = ш ж; Italian c, g before e/i = ч, дж, ch = к,
 * gli = ль; Spanish j, g before e/i = х; Japanese (Hepburn to Polivanov) sh ch j = с т
 * дз; Hungarian and Central European s = ш, sz = с, cs = ч, c = ц, ch = х; pinyin (to
 * Palladius) j z = цз, q c = ц, x = с, zh = чж, ng = н.  Two such words that scored
 * below 0.9 by the rules above (none, or a typo) and whose key sets meet (same first vowel sound, not both given names of
 * different groups; two alternative keys must have 3+ classes) score 0.9: John /
 * Джон, Jacques / Жак, Charon / Шарон, Spierer / Шпирер, Giannone / Джанноне, Jorge /
 * Хорхе, Shimura / Симура, Qiuhong / Цюхун.  A key of two classes meets only the other
 * word's own key, from folds at most one letter apart in length (John / Джон, not
 * Magnia / Мин), and against a Latin word from folds that differ by a consonant at
 * most (Mary / Morris, Hahn / John do not meet); a reading that keeps the word's own
 * key of two classes (Moore "mur", Dean "din": only vowels changed) meets only a
 * word of a script with one known transliteration whose fold is the reading's but for
 * a consonant (Мур, Дин; not Мира, Дан), and a reading that changes the first vowel
 * of a vowel-initial word (Andy "endi", Austin "ostin") meets only such a word within
 * one edit of its fold (two from 8 letters) and no other reading, both only against Cyrillic, Greek and other text with one
 * known transliteration: between two Latin or pinyin spellings a vowel still tells
 * names apart (Chen / Chan, 陈 / Chan).  Cyrillic, Greek and other texts with one known
 * transliteration get no other readings; Han text gets the pinyin one.  The French
 * reading also drops a final s, es, t, d, x (Jacques Chirac / Жак Ширак).
 * Han transcriptions (person names; 0.2.0): Han text against text in another script may
 * be a foreign name written by its sound, one character per syllable (克林顿 "ke lin dun"
 * = Clinton, 爱因斯坦 "ai yin si tan" = Einstein).  A run of 2-8 pinyin syllables that met
 * no word of the other side by spelling or sound is joined into one word when its
 * consonant skeleton is near that of a word of the other side that is not itself a
 * pinyin syllable (han_transcription.h); runs that join_words joined on a Han side carry
 * their skeleton too.  Such a pair scores 0.75, 0.8 or 0.85 (the "somewhat similar"
 * level of a name), or 0.9 when the other readings meet as well.  The name index's
 * evidence has no key for it: cd_name_similarity_one_edit leaves it out, and %~ finds
 * such a pair only when the other keys allow its score.
 * "Ivan" vs "Ivanov" or "Petr" vs "Petrov" (a name and a surname made from it) are 2
 * edits apart and have different keys: they do not match.
 *
 * Pairing: the word pairs are chosen to maximize the sum of s (an exact best assignment
 * while the smaller side has at most 6 words, best-first greedy beyond).  An initial
 * scores 0.8 when some other pair scored at least 0.85 (I. Petrov = Ivan Petrov) and
 * 0.4 otherwise (I. P. is weak evidence for Ivan Petrov).  With M pairs of s > 0 and
 * sum S, the words left unpaired on each side are charged as follows: as many as
 * possible are counted as mismatched pairs, patronymics with patronymics (0.5 each) and
 * other words with other words (1 each); what remains on the longer side are extra
 * words, 0.05 for a patronymic (-ovich -evich -ovna -evna -ichna, -ich in a name of 3+
 * words and not first, ogly/kyzy...) and 0.25 for any other word.  Then
 *		score = S / (M + 0.5 kp + kn + 0.05 extra_patronymics + 0.25 extra_words)
 * A patronymic on one side only costs less than a nickname for one word (Соловьёва Надя /
 * Соловьёва Надя Леонидовна 0.976 > Соловьёва Надя / Надежда Соловьёва 0.975): most
 * records carry no patronymic, so its absence is no evidence, while a different spelling
 * of the given name is a little; a name without one still scores below its exact namesake
 * (Иван Попов / Иван Попов 1 > Иван Попов / Иван Павлович Попов 0.976).
 * Identical transliterations score 1.
 * Examples: Иванов Пётр / Petr Ivanov 1; И. Петров / Иван Петров 0.9; Саша Иванов /
 * Александр Иванов 0.975; Петров Иван Сергеевич / Иван Петров 0.976; Иванов Иван /
 * Иванова Ивана 0.85; Ivan Petrov / Ivan Sidorov 0.5 (a different surname); Anna Smith
 * / John Smith 0.5; Ivan Petrov / Petr Ivanov 0: each word of one is only the stem of
 * a word of the other, which reads as two different people (the given name of one is
 * the surname stem of the other), not as a swap.
 *
 * Company names: cd_company_key() (legal forms and quotes removed), transliterated,
 * then the same pairing without nickname, gender, initial and patronymic rules:
 * ООО «Ромашка» / Romashka LLC 1, Альфа-Банк / Alfa Bank 1, Romashka Trade / Romashka
 * 0.8, Romashka / Vasilek 0.  A company word pair below 0.85 by those rules (0.2.0) is
 * also compared on the transliterated spelling: a typo (lengths and OSA distance at most
 * 1 apart, 2 from 9 letters; in words of 4-5 letters only a letter dropped, doubled,
 * swapped or a keyboard neighbour) scores its Jaro-Winkler capped at 0.95 (0.9 for a
 * changed letter in a short word), and a word of 4+ letters that begins one 3+ letters
 * longer 0.85 (Schlumberger Tech / Schlumberger Technology 0.925).
 *
 * Memory: two to three text buffers per call from the allocator, released before
 * returning; word work uses bounded stack buffers.
 */
#ifndef CD_NAME_MATCH_H
#define CD_NAME_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "cd_buf.h"
#include "field_match.h"

#define CD_NAME_MAX_WORDS 12	/* words of a side that count */
#define CD_NAME_MAX_WORD 48		/* letters of a transliterated word that count */

extern CdMatchStatus cd_name_similarity(const char *a, size_t alen, const char *b, size_t blen,
										const CdAllocator *al, double *out);

/*
 * cd_name_similarity with the typo rule limited to one edit in words of any length (it
 * allows two in words of 9+ letters) and without Han transcriptions: the similarity the
 * evidence of the name index (name_grams.h) covers.  Not thread-safe.
 */
extern CdMatchStatus cd_name_similarity_one_edit(const char *a, size_t alen, const char *b,
												 size_t blen, const CdAllocator *al,
												 double *out);

/*
 * One part of a person's name (a first, last or middle name field): the same rules as
 * cd_name_similarity (the short-word typo rule, once only here, is now part of both).
 */
extern CdMatchStatus cd_name_part_similarity(const char *a, size_t alen, const char *b,
											 size_t blen, const CdAllocator *al, double *out);
extern CdMatchStatus cd_company_similarity(const char *a, size_t alen, const char *b, size_t blen,
										   const CdAllocator *al, double *out);

/*
 * Company words (0.2.0): is word a word b written with one slip of the kind
 * cd_company_similarity tolerates in company words (a typo of 1 edit, 2 when both words
 * have 9+ letters;
 * in 4-5 letters only a letter dropped or added, two adjacent letters swapped or a
 * keyboard neighbour; no word under 4 letters, none with a digit), or, with cut, cut
 * short (the shorter begins the longer, 5+ letters and 60%+ of it)?  *out false for
 * equal words.  Words as in a company term key (transliterated, lower case).
 */
extern CdMatchStatus cd_company_word_slip(const char *a, size_t alen, const char *b, size_t blen,
										  bool cut, const CdAllocator *al, bool *out);

/*
 * The canonical given name of a nickname, diminutive or variant, transliterated:
 * "sasha" / "Саша" -> "aleksandr", "bob" -> "robert", "Yuri" -> "yuriy", "Smith" -> "smith".
 * The input is transliterated first; each word is looked up by its spelling fold and
 * replaced by the canonical name of its first group, or written as transliterated when
 * it is in no group; words are joined by single spaces.  Appends to out (memory from
 * out's allocator); nothing appended on error or for an input without letters.
 */
extern CdMatchStatus cd_nickname_canonical(const char *word, size_t len, CdBuf *out);

/* version of data/nicknames.tsv compiled in, e.g. "nicknames-2" */
extern const char *cd_nicknames_data_version(void);

/* ---- internal: the table generated by tools/gen_nicknames_data.py ---- */
typedef struct CdNicknameEntry
{
	const char *key;			/* spelling fold of a name (or the source spelling) */
	uint16_t	group;
} CdNicknameEntry;

extern const char cd_nicknames_version[];
extern const char *const cd_nickname_canonicals[];
extern const size_t cd_nickname_ngroups;
extern const CdNicknameEntry cd_nickname_entries[];	/* sorted by key, bytewise */
extern const size_t cd_nickname_nentries;
extern const CdNicknameEntry cd_nickname_sources[];	/* data file spellings, for tests */
extern const size_t cd_nickname_nsources;

#endif							/* CD_NAME_MATCH_H */
