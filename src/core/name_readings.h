/*
 * name_readings.h
 *		The other readings of a Latin spelling of a name, shared by the similarity rules
 *		(name_match.c) and the index keys that bound them (name_grams.c): one rule set, so
 *		that the keys follow exactly what the similarity reads.
 *
 * One Latin spelling stands for different sounds in different languages, and Russian
 * writes a name by how it sounds in its own language: English j is дж (John Джон),
 * French j is ж (Jacques Жак), German and Polish j is й (Jahn Ян: the primary key's
 * reading); ch is ч in English, ш in French, х in German, к in Italian, т in Japanese
 * (Polivanov); sh is с in Japanese; pinyin j q x are цз ц с in Russian (Palladius).
 * Readings, in this order (bit k of a mask is reading k):
 *		0 English    j, g before e/i/y = dzh; gh silent; initial wh wr kn = u r n; aw ow =
 *		             ou (Hawkins Хоукинс, Barlow Барлоу); ee ea = i; oo = u; au = o
 *		             (Paul Пол), ay ai = ei (Gray Грэй), ew = yu (Lewis Льюис), final ey
 *		             ie = i
 *		1 French     j, g before e/i/y = zh, ch = sh, qu = k, gu = g before e/i/y, eau au
 *		             = o, ou = u, oi = ua (Benoît Бенуа), final ier = ie, a final s, es,
 *		             t, d, x, and e after a consonant silent
 *		2 German     sch = sh, ch = kh, initial st sp = sht shp, sz = sh, rz = zh, v = f,
 *		             ei = ai (Eichel Айхель), eu = oi (Eugen Ойген), ie = i, h silent
 *		             after a vowel before a consonant or at the end (Uhl Уль)
 *		3 Italian    c, g before e/i = ch, dzh (cc, gg, ci, gi before a vowel too),
 *		             ch = k, sc before e/i = sh, gli = ly, gn = ny
 *		4 Spanish    j, g before e/i/y = kh, qu = k, gu = g before e/i/y
 *		5 Japanese   (Hepburn to Polivanov) sh = s, ch = t, j = dz
 *		6 Hungarian  sz = s, cs = ch, zs = zh, s = sh, ch = kh, c = ts
 *		7 English vowels  English, with eigh ei = i, final ge = dzh, ce = s, a vowel
 *		             before one consonant and a final e long (a e i o u = ei i ai ou yu:
 *		             Kate Кейт, Pete Пит, Luke Люк), a before a consonant = e (Andy Энди),
 *		             u before two consonants or one at the end = a (Duffy Даффи), a final
 *		             e after a consonant silent (Moore Мур): a reading of its own, as
 *		             Jaffe (Джаффе) keeps its e and James (Джеймс) its a
 *		8 pinyin     (to Palladius) zh = chzh, j z = tsz, q c = ts, x = s, initial r = zh,
 *		             ong = un, ng = n
 * At each position the rules of a reading are tried in order (longer patterns first);
 * a letter no rule takes is copied.
 */
#ifndef CD_NAME_READINGS_H
#define CD_NAME_READINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "phonetic.h"

#define CD_RD_COUNT 9
#define CD_RD_ALL ((1u << CD_RD_COUNT) - 1)
#define CD_RD_PINYIN (1u << (CD_RD_COUNT - 1))	/* the last reading */

/* bytes that always hold a rewrite of a word of n letters (j -> dzh triples it), NUL too */
#define CD_RD_SIZE(n) (3 * (n) + 1)
/* bytes that always hold cd_rd_pinyin_key() of a word of n letters */
#define CD_RD_KEY_SIZE(n) CD_SPELL_FOLD_SIZE(CD_RD_SIZE(n))

/*
 * w[0..n) (lower-case ASCII, as cd_translit writes it) rewritten by reading k
 * (0 <= k < CD_RD_COUNT) into out (CD_RD_SIZE(n) bytes, NUL-terminated); returns the
 * length, or 0 when no rule changed the word (out is then unspecified).
 */
extern size_t cd_rd_rewrite(const char *w, size_t n, int k, char *out);

/*
 * The phonetic key (phonetic.h) of w[0..n) read as pinyin, into key
 * (CD_RD_KEY_SIZE(n) bytes); returns its length.  Only the first CD_NAME_MAX_WORD
 * letters count.
 */
extern size_t cd_rd_pinyin_key(const char *w, size_t n, char *key);

/*
 * w has the shape of one pinyin syllable without tone: an optional initial (b p m f d
 * t n l g k h j q x zh ch sh r z c s y w), vowels, then at most n, ng or r.
 */
extern bool cd_rd_pinyin_syllable(const char *w, size_t n);

#endif							/* CD_NAME_READINGS_H */
