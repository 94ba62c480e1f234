/*
 * name_grams.c
 *		Index keys of person names and the similarity bound of a query (see name_grams.h).
 *
 * Layout: word analysis (the same words, folds, phonetic keys, initials and patronymics
 * as name_match.c), the other readings, the keys of a word for a stored name or for a
 * query, cd_name_grams (stored names), the query plan, and the bound.
 */
#include <stdlib.h>
#include <string.h>

#include "name_grams.h"
#include "name_match.h"
#include "name_readings.h"
#include "phonetic.h"
#include "translit.h"

#define MAXN CD_NAME_MAX_WORDS
#define MAXW CD_NAME_MAX_WORD
#define FOLD_SIZE CD_SPELL_FOLD_SIZE(MAXW)
#define CMP_MAX 64				/* the typo rule compares folds on this many letters */
#define ALT_KEY 32				/* keys of other readings count on this many classes */
#define RD_SIZE CD_RD_SIZE(MAXW)	/* a reading at most triples a word (j -> dzh) */
#define MAX_RUNS ((MAXN - 1) + (MAXN - 2) + (MAXN - 3))
#define NSLOTS 5				/* trigram lengths of a query word: its own +- 2 (one edit
								 * of the written word may move the fold 2 letters) */
#define SLOT_SAME 2
#define NEED_NONE INT16_MAX		/* no typo reaches that length */
#define MAX_TRIGRAMS CMP_MAX
#define HASH_MASK 0x1FFFFFFFu

/* ---------------------------------------------------------------- words */

typedef struct GWord
{
	char		raw[MAXW + 1];	/* transliterated word, at most MAXW letters */
	char		fold[FOLD_SIZE];	/* its spelling fold */
	char		phon[FOLD_SIZE];	/* its phonetic key */
	size_t		rlen;
	size_t		flen;
	size_t		plen;
	bool		initial;
	bool		patronymic;
} GWord;

typedef struct GSide
{
	GWord		w[MAXN];
	int			n;
} GSide;

typedef struct Lit
{
	const char *s;
	size_t		n;
} Lit;

#define LIT(x) {x, sizeof(x) - 1}

static bool
ends_with(const char *s, size_t n, const char *suf, size_t sn)
{
	return n >= sn && memcmp(s + n - sn, suf, sn) == 0;
}

static bool
is_vowel6(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* an initial: one letter, or what one Cyrillic letter gives (name_match.c) */
static const Lit initial_multi[] = {
	LIT("zh"), LIT("kh"), LIT("ts"), LIT("ch"), LIT("sh"), LIT("shch"), LIT("yu"),
	LIT("ya"), LIT("yo"), LIT("ye"), LIT("yi"), LIT("ie")
};

#define N_INITIAL_MULTI (sizeof(initial_multi) / sizeof(initial_multi[0]))

static bool
initial_like(const char *s, size_t n)
{
	size_t		i;

	if (n == 1)
		return true;
	if (n > 4)
		return false;
	for (i = 0; i < N_INITIAL_MULTI; i++)
		if (initial_multi[i].n == n && memcmp(initial_multi[i].s, s, n) == 0)
			return true;
	return false;
}

/*
 * The folds of every initial (36 letters and digits, and the multi-letter ones): a
 * word's fold prefixes that are one of them are the initials it can begin with.
 * Computed once per process.
 */
#define N_FOLD_INITIALS (36 + N_INITIAL_MULTI)
#define FOLD_INITIAL_SIZE CD_SPELL_FOLD_SIZE(4)

static char fold_initials[N_FOLD_INITIALS][FOLD_INITIAL_SIZE];
static size_t fold_initials_len[N_FOLD_INITIALS];
static size_t fold_initials_max;
static bool fold_initials_done;

static void
init_fold_initials(void)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t		i;

	if (fold_initials_done)
		return;
	fold_initials_max = 0;
	for (i = 0; i < N_FOLD_INITIALS; i++)
	{
		char		src[5];
		size_t		n;

		if (i < 36)
		{
			src[0] = letters[i];
			n = 1;
		}
		else
		{
			n = initial_multi[i - 36].n;
			memcpy(src, initial_multi[i - 36].s, n);
		}
		src[n] = '\0';
		fold_initials_len[i] = cd_spell_fold_word(src, n, fold_initials[i]);
		if (fold_initials_len[i] > fold_initials_max)
			fold_initials_max = fold_initials_len[i];
	}
	fold_initials_done = true;
}

static bool
is_fold_initial(const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < N_FOLD_INITIALS; i++)
		if (fold_initials_len[i] == n && memcmp(fold_initials[i], s, n) == 0)
			return true;
	return false;
}

/* patronymic by its form; "-ich" alone only in a name of 3+ words and not first */
static bool
patronymic_raw(const char *raw, size_t rlen, int pos, int nwords)
{
	static const Lit endings[] = {
		LIT("ovich"), LIT("evich"), LIT("ovych"), LIT("evych"), LIT("ovna"), LIT("evna"),
		LIT("ichna"), LIT("ivna")
	};
	static const Lit particles[] = {
		LIT("ogly"), LIT("ogli"), LIT("oglu"), LIT("kyzy"), LIT("kizi"), LIT("qizi"),
		LIT("uly"), LIT("uulu")
	};
	bool		ich = ends_with(raw, rlen, "ich", 3) && nwords >= 3 && pos > 0;
	size_t		i;

	if (rlen <= 4)
	{
		for (i = 0; i < sizeof(particles) / sizeof(particles[0]); i++)
			if (particles[i].n == rlen && memcmp(particles[i].s, raw, rlen) == 0)
				return true;
		return false;
	}
	if (rlen < 6)
		return ich;
	for (i = 0; i < sizeof(endings) / sizeof(endings[0]); i++)
		if (ends_with(raw, rlen, endings[i].s, endings[i].n))
			return true;
	return ich;
}

static inline bool
patronymic_like(const GWord *w, int pos, int nwords)
{
	return patronymic_raw(w->raw, w->rlen, pos, nwords);
}

static void
fill_word(GWord *w, const char *s, size_t n)
{
	if (n > MAXW)
		n = MAXW;
	memcpy(w->raw, s, n);
	w->raw[n] = '\0';
	w->rlen = n;
	w->flen = cd_spell_fold_word(w->raw, n, w->fold);
	w->plen = cd_phonetic_folded_word(w->fold, w->flen, w->phon);
	w->initial = initial_like(w->raw, n);
	w->patronymic = false;
}

/* the first MAXN words of transliterated text, with their patronymic marks */
static void
split_words(const char *t, size_t len, GSide *side)
{
	size_t		i = 0;
	int			k;

	side->n = 0;
	while (i < len && side->n < MAXN)
	{
		size_t		start;

		while (i < len && t[i] == ' ')
			i++;
		start = i;
		while (i < len && t[i] != ' ')
			i++;
		if (i > start)
			fill_word(&side->w[side->n++], t + start, i - start);
	}
	for (k = 0; k < side->n; k++)
		side->w[k].patronymic = patronymic_like(&side->w[k], k, side->n);
}

/*
 * The concatenation of words [i, i + r) (cat, MAXW + 1 bytes) and its fold, as
 * name_match.c joins them; false when the concatenation is longer than MAXW (such runs
 * are never joined).
 */
static bool
run_fold(const GSide *side, int i, int r, char *cat, size_t *catlen, char *fold, size_t *flen)
{
	size_t		clen = 0;
	int			k;

	for (k = 0; k < r; k++)
	{
		const GWord *w = &side->w[i + k];

		if (clen + w->rlen > MAXW)
			return false;
		memcpy(cat + clen, w->raw, w->rlen);
		clen += w->rlen;
	}
	cat[clen] = '\0';
	*catlen = clen;
	*flen = cd_spell_fold_word(cat, clen, fold);
	return true;
}

/*
 * Words [i, i + r) are all pinyin syllables: only such runs join by their pinyin reading
 * in name_match.c (pinyin_run).
 */
static bool
pinyin_run(const GSide *side, int i, int r)
{
	for (int k = i; k < i + r; k++)
		if (!cd_rd_pinyin_syllable(side->w[k].raw, side->w[k].rlen))
			return false;
	return true;
}

/* ---------------------------------------------------------------- readings */

/*
 * Other readings of a Latin spelling (English j = дж, French ch = ш, pinyin x = с, ...):
 * the rules of name_readings.h, the ones name_match.c compares by.
 */
#define N_READINGS CD_RD_COUNT
#define RD_ALL CD_RD_ALL
#define RD_PINYIN CD_RD_PINYIN

/*
 * Which readings the words of a text may have: all when it has Latin letters, the
 * pinyin one when it has Han characters (a superset of what name_match.c allows).
 */
static unsigned
text_readings(const char *s, size_t len)
{
	size_t		i = 0;
	unsigned	mask = 0;

	while (i < len)
	{
		int32_t		cp;
		int			k = cd_utf8_decode((const unsigned char *) s + i, len - i, &cp);

		if (k < 0)
			return RD_ALL;		/* cannot happen: the text was validated */
		i += (size_t) k;
		if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
			(cp >= 0xC0 && cp <= 0x24F) || (cp >= 0x1E00 && cp <= 0x1EFF) ||
			(cp >= 0xFF21 && cp <= 0xFF5A))
			return RD_ALL;
		if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
			(cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FFFF))
			mask = RD_PINYIN;
	}
	return mask;
}

/* ---------------------------------------------------------------- keys */

/* a bijective 32-bit mixer (xorshift-multiply), so that near grams spread */
static uint32_t
mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

/* FNV-1a over a tag and a string, mixed */
static uint32_t
hash_gram(const char *tag, const char *s, size_t n)
{
	uint32_t	h = 2166136261U;
	size_t		i;

	for (; *tag; tag++)
	{
		h ^= (unsigned char) *tag;
		h *= 16777619U;
	}
	h ^= 0xFF;					/* separates the tag from the gram */
	h *= 16777619U;
	for (i = 0; i < n; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 16777619U;
	}
	return mix32(h);
}

/*
 * Keys of words and runs (sounds, gender stems, sorted letters) take one of 2^BUCKET_BITS
 * values per class, joined runs (nearly one of their own per name) one of 2^JOINED_BITS:
 * a rare key alone costs a GIN entry tuple of about 30 bytes on a half-full entry page
 * (GIN splits entry pages in the middle, and builds in key order), a posting in a
 * shared list 1-4 bytes.  Sharing a value only makes an item look closer than it is,
 * and the recheck drops it: on test_name_grams.c's corpus 16 and 14 bits let 11 % more
 * pairs reach the threshold than whole hashes, 12 bits for joined keys 30 % (a shared
 * joined key credits a word with 1).  Trigram, nickname, initial and shape keys come
 * from small sets and keep their values.
 */
#define BUCKET_BITS 16
#define JOINED_BITS 14

static inline uint32_t
make_key(CdGramClass cls, uint32_t h)
{
	uint32_t	mask = HASH_MASK;

	if (cls == CD_GRAM_JOINED)
		mask = (1u << JOINED_BITS) - 1;
	else if (cls == CD_GRAM_SOUND || cls == CD_GRAM_GENDER || cls == CD_GRAM_SWAP)
		mask = (1u << BUCKET_BITS) - 1;
	return ((uint32_t) cls << 29) | (h & mask);
}

static inline uint32_t
trigram_key(uint32_t packed, size_t len)
{
	return make_key(CD_GRAM_TRIGRAM, mix32(((uint32_t) len << 24) | packed));
}

static uint32_t
shape_key(int what, int n)
{
	return make_key(CD_GRAM_SHAPE, ((uint32_t) what << 8) | (uint32_t) n);
}

#define SHAPE_WORDS 1
#define SHAPE_PATRONYMICS 2
#define WORDS_CAP 8				/* the shape key of 8 words stands for 8 or more */
#define PATRONYMICS_CAP 4		/* likewise for 4 patronymics */
/*
 * The most common counts have no key: a name of 2 words holds no word-count key, one
 * without patronymics no patronymic-count key.  Their keys were held by most rows
 * (name-grams-3: 2 words 64 %, no patronymic 80 % of the benchmark's names), so a scan
 * stepped through posting lists of most of the table for every query; an item that
 * holds none of the counts a query asks for has the default count or one not asked.
 */
#define WORDS_DEFAULT 2
#define PATRONYMICS_DEFAULT 0
/*
 * The default word count with a patronymic (name-grams-5): a name of 2 words, one or both
 * patronymics (Андрей Иванович), holds this key besides its patronymic count.  Such an
 * item pays only 0.25 + 0.05 for a query's surname it lacks (Andrej Chudykh / Андрей
 * Иванович 0.769), so without the key every item sharing a 2-word query's given name
 * (the "1 patronymic" key of 3-word names is too common to leave out) could be one and
 * was a candidate; with it, the 2-word items that hold none are known to have no
 * patronymic.  Measured at 1,000,000 names over 150 of the benchmark's queries: candidate
 * items per query 94,600 -> 55,600 (the same 2,448 pass the bound).
 */
#define SHAPE_DEFAULT_PATRONYMIC 3

/* growable array of keys from the allocator */
typedef struct KeyVec
{
	uint32_t   *v;
	size_t		n;
	size_t		cap;
	bool		failed;
	const CdAllocator *al;
} KeyVec;

static void
kv_push(KeyVec *kv, uint32_t key)
{
	if (kv->failed)
		return;
	if (kv->n == kv->cap)
	{
		size_t		ncap = kv->cap ? kv->cap * 2 : 256;
		uint32_t   *p = kv->v ? kv->al->resize(kv->v, ncap * sizeof(uint32_t), kv->al->ctx)
			: kv->al->alloc(ncap * sizeof(uint32_t), kv->al->ctx);

		if (p == NULL)
		{
			kv->failed = true;
			return;
		}
		kv->v = p;
		kv->cap = ncap;
	}
	kv->v[kv->n++] = key;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *) a;
	uint32_t	y = *(const uint32_t *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* sort v[0..n) and drop duplicates; returns the new length */
static size_t
sort_unique(uint32_t *v, size_t n)
{
	size_t		i,
				o = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(uint32_t), cmp_u32);
	for (i = 0; i < n; i++)
		if (o == 0 || v[o - 1] != v[i])
			v[o++] = v[i];
	return o;
}

/*
 * The packed trigrams of a fold (first CMP_MAX letters, padded as pg_trgm pads a word,
 * " wo" ... "rd "), without pg_trgm's first one, "  w": every word holding " wo" holds
 * it, and its keys (a first letter at a length) had the longest posting lists of all,
 * each a posting tree of its own.  Returns the count (the number of letters).
 */
static int
fold_trigrams(const char *fold, size_t flen, uint32_t *out)
{
	unsigned char p[CMP_MAX + 2];
	size_t		xl = flen < CMP_MAX ? flen : CMP_MAX;
	size_t		i;

	p[0] = ' ';
	memcpy(p + 1, fold, xl);
	p[xl + 1] = ' ';
	for (i = 0; i + 3 <= xl + 2; i++)
		out[i] = ((uint32_t) p[i] << 16) | ((uint32_t) p[i + 1] << 8) | p[i + 2];
	return (int) xl;
}

/* trigram keys of a fold at the given word length, distinct, appended to kv */
static void
push_trigrams(KeyVec *kv, const uint32_t *tri, int ntri, size_t len)
{
	size_t		from = kv->n;
	int			i;

	for (i = 0; i < ntri; i++)
		kv_push(kv, trigram_key(tri[i], len));
	if (!kv->failed)
		kv->n = from + sort_unique(kv->v + from, kv->n - from);
}

/*
 * Most trigram positions of a word that one edit can destroy when the other word is
 * delta letters longer (OSA: a transposition touches 4 positions, a substitution or
 * deletion 3, an insertion 2).
 */
static int
destroyed_positions(int delta)
{
	return delta == 0 ? 4 : delta > 0 ? 2 : 3;
}

/*
 * Can the typo rule of name_match.c pair folds of lengths xl and yl (both cut at
 * CMP_MAX) by trigrams, with one edit?  Sets *credit: the most the rule gives such a
 * pair when the letters are not just two adjacent ones swapped (the SWAP key covers that
 * in folds of 4-5 letters, at 0.95): a letter changed in folds of up to 5 letters scores
 * at most 0.9 (SHORT_SUBST_CAP of name_match.c), every other typo at most 0.95.
 *
 * The evidence credits one edit per word, also in folds of 9+ letters, where the rule
 * allows two (cd_name_similarity_one_edit is what it covers).  Two edits may destroy 8
 * of a word's trigram positions, so a 9-letter word of the query was credited a typo
 * (0.95) by any stored word of 7-11 letters sharing one or two of its trigrams: every
 * patronymic ("vic", "ich", "ch ") for Egorovich.  The query then asked for its
 * trigrams at 5 lengths, GIN could skip none of their posting lists, and the bound let
 * through every "... Denis ...ovich" for "Vozorsky Denis Egorovich" (name-grams-4 at
 * 1,000,000 names: 114,000 candidate items and 4,800 rechecks per query; one edit:
 * 76,000 and 2,000).  A word with two edits keeps its other evidence (its sound key, a
 * nickname group, initials, joins).
 */
static bool
typo_by_trigrams(int xl, int yl, double *credit)
{
	int			maxl = xl > yl ? xl : yl;
	int			minl = xl < yl ? xl : yl;

	if (minl < 4)
		return false;
	*credit = maxl <= 5 && maxl == minl ? 0.9 : 0.95;
	return maxl - minl <= 1;
}

/*
 * Most trigram positions of a word the typo can destroy: as destroyed_positions, but
 * in folds of up to 5 letters of the same length a swap is left to the SWAP key, so
 * only a changed letter (3 positions) counts.
 */
static int
typo_destroys(int xl, int yl)
{
	int			maxl = xl > yl ? xl : yl;

	if (maxl <= 5 && xl == yl)
		return 3;
	return destroyed_positions(yl - xl);
}

/*
 * name_match.c's typo of the written word (written_typo, folds_stay_near): one edit of
 * the transliterated word where the spelling fold made more of it.  Folds of 4+ letters:
 *	- 1 letter apart: they share a trigram, the shorter loses at most 3 of its distinct
 *	  trigrams, the longer at most 4 (one edit of the folds: 2 and 3);
 *	- 2 letters apart: they begin with the same 3 letters (the query asks for its
 *	  trigrams " ab" and "abc" at those lengths only);
 *	- of equal length: as a typo of the folds (typo_destroys), scoring 0.9 in folds of
 *	  up to 5 letters.
 * It scores at most 0.95.  This returns, for slots 1 letter apart, how many of the
 * query word's distinct trigrams the stored word may lack (xl the query word's length).
 */
static int
written_typo_loses(int xl, int yl)
{
	return xl < yl ? 3 : 4;
}

/*
 * The role of an initial or gender key: a stored word and a query word that can pair
 * ask for opposite roles, so that two full words beginning alike, or two male forms,
 * do not meet.
 */
typedef enum Side2
{
	SIDE_STORED,
	SIDE_QUERY
} Side2;

static void
push_gender(KeyVec *kv, Side2 side, bool male, const char *stem, size_t n)
{
	/* stored male and queried female forms write "m", the others "f" */
	const char *tag = (male == (side == SIDE_STORED)) ? "m" : "f";

	kv_push(kv, make_key(CD_GRAM_GENDER, hash_gram(tag, stem, n)));
}

/*
 * Stems of the male and female forms of name_match.c's gender rule; the rules share
 * one key space (a stem of one rule meeting a stem of another only lets a pair through
 * to the recheck).
 */
static void
push_gender_keys(KeyVec *kv, Side2 side, const GWord *w)
{
	const char *f = w->fold;
	size_t		n = w->flen;

	/*
	 * "" / "a" after a consonant: Ivanov/Ivanova, Ivan/Ivana.  From stems of 4 letters
	 * on the two folds are one letter added at the end, which the trigrams of the typo
	 * rule find (word_credit: 0.95 at the length one more or less): only stems of 3
	 * letters (Lev/Leva) need a key.
	 */
	if (n == 3 && !is_vowel6(f[n - 1]))
		push_gender(kv, side, true, f, n);
	if (n == 4 && f[n - 1] == 'a' && !is_vowel6(f[n - 2]))
		push_gender(kv, side, false, f, n - 1);
	/* i/aya, i/ya, oi/aya */
	if (n >= 3 && f[n - 1] == 'i')
		push_gender(kv, side, true, f, n - 1);
	if (n >= 4 && ends_with(f, n, "oi", 2))
		push_gender(kv, side, true, f, n - 2);
	if (n >= 5 && ends_with(f, n, "aya", 3))
		push_gender(kv, side, false, f, n - 3);
	if (n >= 4 && ends_with(f, n, "ya", 2))
		push_gender(kv, side, false, f, n - 2);
}

static void
push_initial(KeyVec *kv, bool own, const char *s, size_t n)
{
	kv_push(kv, make_key(CD_GRAM_INITIAL, hash_gram(own ? "o" : "p", s, n)));
}

/*
 * An initial writes itself, a full word the initials it begins with (raw and folded: one
 * key when they are the same letters), in opposite roles on the two sides: a stored
 * initial meets a queried full word and the other way round (name_match.c: an initial
 * that begins a word that is none).
 */
static void
push_initial_keys(KeyVec *kv, Side2 side, const GWord *w)
{
	size_t		k;

	if (w->initial)
	{
		bool		own = side == SIDE_STORED;

		push_initial(kv, own, w->raw, w->rlen);
		if (w->flen > 0 && (w->flen != w->rlen || memcmp(w->fold, w->raw, w->rlen) != 0))
			push_initial(kv, own, w->fold, w->flen);
		return;
	}
	for (k = 1; k <= 4 && k < w->rlen; k++)
		if (initial_like(w->raw, k))
			push_initial(kv, side == SIDE_QUERY, w->raw, k);
	for (k = 1; k <= fold_initials_max && k < w->flen; k++)
		if (is_fold_initial(w->fold, k) &&
			!(k < w->rlen && memcmp(w->fold, w->raw, k) == 0 && initial_like(w->raw, k)))
			push_initial(kv, side == SIDE_QUERY, w->fold, k);
}

/* a sound key of two classes, with the length and first vowel of the fold it came from */
static void
push_short_sound(KeyVec *kv, const char *tag, const char *key, size_t flen, char lead)
{
	char		k[4] = {key[0], key[1], (char) (flen < 255 ? flen : 255), lead};

	kv_push(kv, make_key(CD_GRAM_SOUND, hash_gram(tag, k, 4)));
}

/*
 * The phonetic key of a word and of its other readings.  Keys of 3+ classes meet any
 * equal key.  A key of two classes is common (Jon, Jan, Min): name_match.c lets such a
 * key of another reading meet only a word's own key, from folds at most one letter
 * apart in length and with the same first vowel sound, so those are written in two
 * roles ("o" own, "a" another reading) with the fold's length and first vowel
 * (name-grams-6), and a query asks for the other role at lengths +-1.
 */
static void
push_sound_keys(KeyVec *kv, Side2 side, const GWord *w, unsigned mask)
{
	size_t		r;
	int			d;
	char		lead = cd_fold_lead_vowel(w->fold, w->flen);

	if (w->plen >= 3)
		kv_push(kv, make_key(CD_GRAM_SOUND, hash_gram("s", w->phon, w->plen)));
	else if (w->plen == 2)
	{
		if (side == SIDE_STORED)
			push_short_sound(kv, "o", w->phon, w->flen, lead);
		else
			for (d = -1; d <= 1; d++)
				if ((int) w->flen + d >= 0)
					push_short_sound(kv, "a", w->phon, (size_t) ((int) w->flen + d), lead);
	}
	for (r = 0; r < N_READINGS; r++)
	{
		char		rw[RD_SIZE];
		char		fold[CD_SPELL_FOLD_SIZE(RD_SIZE)];
		char		key[CD_SPELL_FOLD_SIZE(RD_SIZE)];
		size_t		rl,
					fl,
					kl;

		if (!(mask & (1u << r)))
			continue;
		rl = cd_rd_rewrite(w->raw, w->rlen, (int) r, rw);
		if (rl == 0)
			continue;
		rw[rl] = '\0';
		fl = cd_spell_fold_word(rw, rl, fold);
		kl = cd_phonetic_folded_word(fold, fl, key);
		if (kl > ALT_KEY)
			kl = ALT_KEY;
		if (kl >= 3)
			kv_push(kv, make_key(CD_GRAM_SOUND, hash_gram("s", key, kl)));
		else if (kl == 2)
		{
			char		rlead = cd_fold_lead_vowel(fold, fl);

			if (side == SIDE_STORED)
				push_short_sound(kv, "a", key, fl, rlead);
			else
				for (d = -1; d <= 1; d++)
					if ((int) fl + d >= 0)
						push_short_sound(kv, "o", key, (size_t) ((int) fl + d), rlead);
		}
	}
}

static void
push_nickname_keys(KeyVec *kv, const GWord *w)
{
	size_t		lo = 0,
				hi = cd_nickname_nentries;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (strcmp(cd_nickname_entries[mid].key, w->fold) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < cd_nickname_nentries && strcmp(cd_nickname_entries[lo].key, w->fold) == 0; lo++)
	{
		const char *canon = cd_nickname_canonicals[cd_nickname_entries[lo].group];

		kv_push(kv, make_key(CD_GRAM_NICKNAME, hash_gram("n", canon, strlen(canon))));
	}
}

static void
push_swap_key(KeyVec *kv, const GWord *w)
{
	char		s[6];
	size_t		i,
				j;

	if (w->flen < 4 || w->flen > 5)
		return;
	memcpy(s, w->fold, w->flen);
	for (i = 1; i < w->flen; i++)
		for (j = i; j > 0 && s[j - 1] > s[j]; j--)
		{
			char		t = s[j];

			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	kv_push(kv, make_key(CD_GRAM_SWAP, hash_gram("w", s, w->flen)));
}

/*
 * A run of r words joins into a word of the other side by its fold ("j": "xiao ming" =
 * "xiaoming") or, read as pinyin, by its phonetic key ("p": 王小明 "wang xiao ming" =
 * Ван Сяомин "van syaomin").  Runs of 2, 3 and 4 words share the tag (one key to ask
 * per query word, not two): the bound lets a join take up to 3 words from the count.
 */
static inline uint32_t
joined_key(char how, int r, const char *s, size_t n)
{
	char		tag[2] = {how, '\0'};	/* runs of 2, 3 and 4 words share one tag */

	(void) r;
	return make_key(CD_GRAM_JOINED, hash_gram(tag, s, n));
}

/* a stored name holds the same run key twice: a join may then take more words */
static inline uint32_t
repeat_key(void)
{
	return make_key(CD_GRAM_JOINED, hash_gram("repeat", "", 0));
}

/* a run of a stored name without a patronymic would be one once joined (a join may add one) */
static inline uint32_t
patronymic_run_key(void)
{
	return make_key(CD_GRAM_JOINED, hash_gram("patronymic", "", 0));
}

static CdMatchStatus
text_status(CdTextStatus ts)
{
	switch (ts)
	{
		case CD_TEXT_OK:
			return CD_MATCH_OK;
		case CD_TEXT_INVALID_UTF8:
			return CD_MATCH_INVALID_UTF8;
		case CD_TEXT_NOMEM:
			return CD_MATCH_NOMEM;
		default:
			return CD_MATCH_ICU_ERROR;
	}
}

/* checks and transliteration shared by both sides; *mask: the readings its words may have */
static CdMatchStatus
read_side(const char *in, size_t len, const CdAllocator *al, GSide *side, unsigned *mask)
{
	CdBuf		tr;
	CdTextStatus ts;

	side->n = 0;
	*mask = 0;
	if (len > CD_MATCH_MAX_BYTES)
		return CD_MATCH_TOO_LONG;
	if (!cd_utf8_valid(in, len))
		return CD_MATCH_INVALID_UTF8;
	init_fold_initials();
	*mask = text_readings(in, len);
	cd_buf_init(&tr, al);
	ts = cd_translit(in, len, &tr);
	if (ts == CD_TEXT_OK)
		split_words(tr.data, tr.len, side);
	cd_buf_free(&tr);
	return text_status(ts);
}

/* ---------------------------------------------------------------- stored names */

/* the keys of a stored name, appended to kv (unsorted) */
/* a word of the run [i, i + r) is a patronymic */
static bool
run_has_patronymic(const GSide *side, int i, int r)
{
	for (int w = i; w < i + r; w++)
		if (side->w[w].patronymic)
			return true;
	return false;
}

static void
push_stored_keys(KeyVec *kv, const GSide *side, unsigned mask)
{
	int			i,
				r,
				npatr = 0;
	size_t		runs_from;
	bool		patronymic_run = false;

	if (side->n == 0)
		return;
	for (i = 0; i < side->n; i++)
	{
		const GWord *w = &side->w[i];
		uint32_t	tri[MAX_TRIGRAMS];
		int			ntri = fold_trigrams(w->fold, w->flen, tri);

		push_trigrams(kv, tri, ntri, w->flen < CMP_MAX ? w->flen : CMP_MAX);
		push_sound_keys(kv, SIDE_STORED, w, mask);
		push_nickname_keys(kv, w);
		push_gender_keys(kv, SIDE_STORED, w);
		push_initial_keys(kv, SIDE_STORED, w);
		push_swap_key(kv, w);
		if (w->patronymic)
			npatr++;
	}
	runs_from = kv->n;
	for (i = 0; i + 1 < side->n; i++)
		for (r = 2; r <= 4 && i + r <= side->n; r++)
		{
			char		fold[FOLD_SIZE];
			char		key[CD_SPELL_FOLD_SIZE(RD_SIZE)];
			char		cat[MAXW + 1];
			size_t		flen,
						clen,
						kl;

			if (!run_fold(side, i, r, cat, &clen, fold, &flen))
				continue;
			kv_push(kv, joined_key('j', r, fold, flen));
			if ((mask & RD_PINYIN) && pinyin_run(side, i, r) &&
				(kl = cd_rd_pinyin_key(cat, clen, key)) >= 3)
				kv_push(kv, joined_key('p', r, key, kl));
			/*
			 * Only a run without a patronymic of its own can add one when joined (one
			 * that holds one replaces it: Petrov Sergeevich -> petrovsergeevich); the
			 * key was held by every name ending in a patronymic (20 % of the
			 * benchmark's names), and every query asks for it.
			 */
			if (patronymic_raw(cat, clen, 1, MAXN) && !run_has_patronymic(side, i, r))
				patronymic_run = true;
		}
	if (!kv->failed && kv->n - runs_from > 1)
	{
		size_t		nruns = kv->n - runs_from;
		size_t		distinct = sort_unique(kv->v + runs_from, nruns);

		kv->n = runs_from + distinct;
		if (distinct < nruns)
			kv_push(kv, repeat_key());
	}
	if (patronymic_run)
		kv_push(kv, patronymic_run_key());
	if (side->n != WORDS_DEFAULT)
		kv_push(kv, shape_key(SHAPE_WORDS, side->n < WORDS_CAP ? side->n : WORDS_CAP));
	if (npatr != PATRONYMICS_DEFAULT)
		kv_push(kv, shape_key(SHAPE_PATRONYMICS, npatr < PATRONYMICS_CAP ? npatr : PATRONYMICS_CAP));
	if (side->n == WORDS_DEFAULT && npatr > 0)
		kv_push(kv, shape_key(SHAPE_DEFAULT_PATRONYMIC, 1));
}

CdMatchStatus
cd_name_grams(const char *in, size_t len, const CdAllocator *al, uint32_t **keys, int *nkeys)
{
	GSide		side;
	KeyVec		kv = {NULL, 0, 0, false, al};
	CdMatchStatus st;
	unsigned	mask;

	*keys = NULL;
	*nkeys = 0;
	st = read_side(in, len, al, &side, &mask);
	if (st != CD_MATCH_OK || side.n == 0)
		return st;
	push_stored_keys(&kv, &side, mask);
	if (kv.failed)
	{
		if (kv.v)
			al->release(kv.v, al->ctx);
		return CD_MATCH_NOMEM;
	}
	*keys = kv.v;
	*nkeys = (int) sort_unique(kv.v, kv.n);
	return CD_MATCH_OK;
}

/* ---------------------------------------------------------------- queries */

/* a list of key indices: [off, off + n) of the plan's index pool */
typedef struct Range
{
	uint32_t	off;
	uint32_t	n;
} Range;

typedef struct QWord
{
	Range		trg[NSLOTS];	/* trigram keys at lengths xl - 2 .. xl + 2 */
	int16_t		need[NSLOTS];	/* present trigrams that make a typo possible */
	double		tcredit[NSLOTS];	/* what such a typo scores at most */
	Range		sound;
	Range		nick;
	Range		gender;
	Range		initial;
	Range		swap;
	Range		joined;			/* a stored run of 2-4 words joins into it */
	bool		patronymic;		/* a patronymic at its place in the query */
	bool		patronymic_like;	/* a patronymic at some place and word count */
} QWord;

typedef struct QRun
{
	int			first;			/* words [first, first + len) */
	int			len;
	Range		trg;			/* the trigrams of the run's fold, at its length: when an
								 * item holds them all, a stored word may be that fold */
	Range		sounds;			/* read as pinyin, the run sounds like a stored word */
	Range		joined;			/* it joins with a stored run of 2-4 words */
} QRun;

struct CdNameQuery
{
	const CdAllocator *al;
	int			nkeys;
	uint32_t   *keys;			/* the query keys, sorted */
	uint32_t   *idx;			/* pool of indices into keys, cut by the Ranges */
	int			nstored;
	uint32_t   *stored;			/* the keys of the same name when stored, sorted */
	uint8_t    *scratch;		/* nkeys states for cd_name_query_bound_keys */
	int			nwords;
	int			npatr;
	int			nruns;
	QWord		words[MAXN];
	QRun		runs[MAX_RUNS];
	Range		nw[WORDS_CAP + 1];	/* "k words", k = 1..nw_asked */
	Range		np[PATRONYMICS_CAP + 1];	/* "p patronymics", p = 0..np_asked */
	int			nw_asked;
	int			np_asked;
	Range		default_patr;	/* the item has 2 words and a patronymic */
	Range		repeat;			/* the item holds a run key twice */
	Range		patronymic_run;	/* a run of the item reads as a patronymic */
};

static inline Range
range_begin(const KeyVec *kv)
{
	Range		r = {(uint32_t) kv->n, 0};

	return r;
}

static inline void
range_end(const KeyVec *kv, Range *r)
{
	r->n = (uint32_t) (kv->n - r->off);
}

static void
plan_word(KeyVec *kv, const GWord *w, unsigned mask, QWord *qw)
{
	uint32_t	tri[MAX_TRIGRAMS];
	int			ntri = fold_trigrams(w->fold, w->flen, tri);
	int			xl = w->flen < CMP_MAX ? (int) w->flen : CMP_MAX;
	int			s;

	for (s = 0; s < NSLOTS; s++)
	{
		int			delta = s - SLOT_SAME;
		int			yl = xl + delta;
		double		credit = 0;
		bool		typo = yl >= 0 && yl <= CMP_MAX && typo_by_trigrams(xl, yl, &credit);
		bool		written = xl >= 4 && yl >= 4 && yl <= CMP_MAX && delta != 0;

		qw->need[s] = NEED_NONE;
		qw->tcredit[s] = 0;
		qw->trg[s] = range_begin(kv);
		if (written && (delta == 2 || delta == -2))
			push_trigrams(kv, tri, 2, (size_t) yl);
		else if (s == SLOT_SAME || typo || written)
			push_trigrams(kv, tri, ntri, (size_t) yl);
		range_end(kv, &qw->trg[s]);
		if (typo)
		{
			qw->need[s] = (int16_t) ((int) qw->trg[s].n - typo_destroys(xl, yl));
			qw->tcredit[s] = credit;
		}
		if (written)
		{
			int			need = (int) qw->trg[s].n - written_typo_loses(xl, yl);

			if (delta == 2 || delta == -2)
				need = (int) qw->trg[s].n;	/* both: the same first 3 letters */
			if (need < 1)
				need = 1;		/* the folds share a trigram */
			if (need < qw->need[s])
				qw->need[s] = (int16_t) need;
			qw->tcredit[s] = 0.95;
		}
	}
	qw->sound = range_begin(kv);
	push_sound_keys(kv, SIDE_QUERY, w, mask);
	range_end(kv, &qw->sound);
	qw->nick = range_begin(kv);
	push_nickname_keys(kv, w);
	range_end(kv, &qw->nick);
	qw->gender = range_begin(kv);
	push_gender_keys(kv, SIDE_QUERY, w);
	range_end(kv, &qw->gender);
	qw->initial = range_begin(kv);
	push_initial_keys(kv, SIDE_QUERY, w);
	range_end(kv, &qw->initial);
	qw->swap = range_begin(kv);
	push_swap_key(kv, w);
	range_end(kv, &qw->swap);
	qw->joined = range_begin(kv);
	kv_push(kv, joined_key('j', 2, w->fold, w->flen));
	if (w->plen >= 3)
		kv_push(kv, joined_key('p', 2, w->phon, w->plen));
	range_end(kv, &qw->joined);
	qw->patronymic = w->patronymic;
	qw->patronymic_like = patronymic_like(w, 1, MAXN);
}

static void
plan_runs(KeyVec *kv, const GSide *side, unsigned mask, CdNameQuery *plan)
{
	int			w,
				r;

	for (w = 0; w + 1 < side->n; w++)
		for (r = 2; r <= 4 && w + r <= side->n; r++)
		{
			char		fold[FOLD_SIZE];
			char		key[CD_SPELL_FOLD_SIZE(RD_SIZE)];
			char		cat[MAXW + 1];
			size_t		flen,
						clen,
						kl;
			QRun	   *run;

			if (!run_fold(side, w, r, cat, &clen, fold, &flen))
				continue;
			run = &plan->runs[plan->nruns++];
			run->first = w;
			run->len = r;
			run->trg = range_begin(kv);
			{
				uint32_t	tri[MAX_TRIGRAMS];
				int			ntri = fold_trigrams(fold, flen, tri);
				int			nsel = 0;

				/*
				 * Every third trigram and the last: a stored word of the run's length
				 * that holds them all may be the run joined (the recheck decides); all
				 * of them would be three times the keys to scan.
				 */
				for (int t = 0; t < ntri; t++)
					if (t % 3 == 0 || t == ntri - 1)
						tri[nsel++] = tri[t];
				push_trigrams(kv, tri, nsel, flen < CMP_MAX ? flen : CMP_MAX);
			}
			range_end(kv, &run->trg);
			kl = (mask & RD_PINYIN) && pinyin_run(side, w, r) ?
				cd_rd_pinyin_key(cat, clen, key) : 0;
			run->sounds = range_begin(kv);
			if (kl >= 3)
				kv_push(kv, make_key(CD_GRAM_SOUND, hash_gram("s", key, kl)));
			range_end(kv, &run->sounds);
			run->joined = range_begin(kv);
			kv_push(kv, joined_key('j', 2, fold, flen));
			if (kl >= 3)
				kv_push(kv, joined_key('p', 2, key, kl));
			range_end(kv, &run->joined);
		}
}

CdMatchStatus
cd_name_query_new(const char *in, size_t len, const CdAllocator *al, CdNameQuery **out)
{
	GSide		side;
	CdNameQuery plan;
	CdNameQuery *q;
	KeyVec		kv = {NULL, 0, 0, false, al};
	KeyVec		sk = {NULL, 0, 0, false, al};
	uint32_t   *sorted = NULL;
	size_t		nsorted = 0,
				nstored,
				i;
	CdMatchStatus st;
	unsigned	mask;
	int			w,
				k;

	*out = NULL;
	st = read_side(in, len, al, &side, &mask);
	if (st != CD_MATCH_OK)
		return st;

	memset(&plan, 0, sizeof(plan));
	plan.al = al;
	plan.nwords = side.n;
	for (w = 0; w < side.n; w++)
	{
		plan_word(&kv, &side.w[w], mask, &plan.words[w]);
		if (side.w[w].patronymic)
			plan.npatr++;
	}
	plan_runs(&kv, &side, mask, &plan);
	if (side.n > 0)
	{
		/*
		 * Every count but the default (which has no key): an item that holds none of
		 * them present has the default count.  The keys of rare counts have short
		 * posting lists.
		 */
		plan.nw_asked = WORDS_CAP;
		plan.np_asked = PATRONYMICS_CAP;
		for (k = 1; k <= plan.nw_asked; k++)
		{
			plan.nw[k] = range_begin(&kv);
			if (k != WORDS_DEFAULT)
				kv_push(&kv, shape_key(SHAPE_WORDS, k));
			range_end(&kv, &plan.nw[k]);
		}
		for (k = 0; k <= plan.np_asked; k++)
		{
			plan.np[k] = range_begin(&kv);
			if (k != PATRONYMICS_DEFAULT)
				kv_push(&kv, shape_key(SHAPE_PATRONYMICS, k));
			range_end(&kv, &plan.np[k]);
		}
		plan.default_patr = range_begin(&kv);
		kv_push(&kv, shape_key(SHAPE_DEFAULT_PATRONYMIC, 1));
		range_end(&kv, &plan.default_patr);
		plan.repeat = range_begin(&kv);
		kv_push(&kv, repeat_key());
		range_end(&kv, &plan.repeat);
		plan.patronymic_run = range_begin(&kv);
		kv_push(&kv, patronymic_run_key());
		range_end(&kv, &plan.patronymic_run);
	}
	push_stored_keys(&sk, &side, mask);
	nstored = sk.failed ? 0 : sort_unique(sk.v, sk.n);
	if (kv.failed || sk.failed)
		goto nomem;

	/* the distinct keys, and the pool rewritten as indices into them */
	if (kv.n > 0)
	{
		sorted = al->alloc(kv.n * sizeof(uint32_t), al->ctx);
		if (sorted == NULL)
			goto nomem;
		memcpy(sorted, kv.v, kv.n * sizeof(uint32_t));
		nsorted = sort_unique(sorted, kv.n);
	}
	for (i = 0; i < kv.n; i++)
	{
		uint32_t   *hit = bsearch(&kv.v[i], sorted, nsorted, sizeof(uint32_t), cmp_u32);

		kv.v[i] = (uint32_t) (hit - sorted);
	}

	q = al->alloc(sizeof(CdNameQuery) + (nsorted + kv.n + nstored) * sizeof(uint32_t) +
				  nsorted, al->ctx);
	if (q == NULL)
		goto nomem;
	*q = plan;
	q->keys = (uint32_t *) (q + 1);
	q->idx = q->keys + nsorted;
	q->stored = q->idx + kv.n;
	q->scratch = (uint8_t *) (q->stored + nstored);
	q->nkeys = (int) nsorted;
	q->nstored = (int) nstored;
	if (nsorted)
		memcpy(q->keys, sorted, nsorted * sizeof(uint32_t));
	if (kv.n)
		memcpy(q->idx, kv.v, kv.n * sizeof(uint32_t));
	if (nstored)
		memcpy(q->stored, sk.v, nstored * sizeof(uint32_t));
	if (sorted)
		al->release(sorted, al->ctx);
	if (kv.v)
		al->release(kv.v, al->ctx);
	if (sk.v)
		al->release(sk.v, al->ctx);
	*out = q;
	return CD_MATCH_OK;

nomem:
	if (sorted)
		al->release(sorted, al->ctx);
	if (kv.v)
		al->release(kv.v, al->ctx);
	if (sk.v)
		al->release(sk.v, al->ctx);
	return CD_MATCH_NOMEM;
}

void
cd_name_query_free(CdNameQuery *q)
{
	if (q)
		q->al->release(q, q->al->ctx);
}

int
cd_name_query_nkeys(const CdNameQuery *q)
{
	return q->nkeys;
}

const uint32_t *
cd_name_query_keys(const CdNameQuery *q)
{
	return q->keys;
}

int
cd_name_query_nwords(const CdNameQuery *q)
{
	return q->nwords;
}

const uint32_t *
cd_name_query_stored_keys(const CdNameQuery *q, int *nkeys)
{
	*nkeys = q->nstored;
	return q->stored;
}

/* ---------------------------------------------------------------- bound */

static int
count_present(const CdNameQuery *q, Range r, const uint8_t *state)
{
	int			c = 0;
	uint32_t	i;

	for (i = 0; i < r.n; i++)
		if (state[q->idx[r.off + i]] != CD_GRAM_ABSENT)
			c++;
	return c;
}

static inline bool
any_present(const CdNameQuery *q, Range r, const uint8_t *state)
{
	uint32_t	i;

	for (i = 0; i < r.n; i++)
		if (state[q->idx[r.off + i]] != CD_GRAM_ABSENT)
			return true;
	return false;
}

static inline bool
all_present(const CdNameQuery *q, Range r, const uint8_t *state)
{
	return r.n > 0 && count_present(q, r, state) == (int) r.n;
}

/* the best score a query word can get with any word of the item, by the keys it holds */
static double
word_credit(const CdNameQuery *q, const QWord *w, const uint8_t *state)
{
	int			s;
	double		best = 0;

	if (all_present(q, w->trg[SLOT_SAME], state))
		return 1.0;				/* same fold: a stored word of its length with its trigrams */
	if (any_present(q, w->nick, state) || any_present(q, w->swap, state))
		return 0.95;			/* nickname group; a swap of two letters */
	for (s = 0; s < NSLOTS; s++)
		if (w->need[s] != NEED_NONE && w->tcredit[s] > best &&
			(w->need[s] <= 0 || count_present(q, w->trg[s], state) >= w->need[s]))
			best = w->tcredit[s];	/* a typo (Jaro-Winkler, capped) */
	if (best >= 0.95)
		return best;
	if (any_present(q, w->sound, state))
		return 0.9;				/* same sound, in some reading */
	if (best > 0)
		return best;
	if (any_present(q, w->gender, state))
		return 0.85;
	if (any_present(q, w->initial, state))
		return 0.8;
	return 0;
}

/*
 * The counts an item may have, as a bit set; 0 when nothing is known of the count.  A
 * real item holds at most one key of each kind, and none when it has the default count
 * (dflt: its range is empty), so the bound for an item is the best over this set.  The
 * query asks for the counts from..asked only (the others are rare and tighten little:
 * fewer keys to scan); an item holding none of them present may have the default count
 * or any count above asked.  The key of cap stands for cap and more.
 */
static uint32_t
possible_counts(const CdNameQuery *q, const Range *keys, int from, int asked, int cap,
				int dflt, const uint8_t *state)
{
	uint32_t	set = 0;
	uint32_t	above = ((2u << MAXN) - 1) & ~((2u << asked) - 1);
	bool		exact = false;

	for (int k = from; k <= asked; k++)
	{
		uint8_t		st;

		if (keys[k].n == 0)
			continue;			/* the default count: no key */
		st = state[q->idx[keys[k].off]];
		if (st != CD_GRAM_ABSENT)
			set |= 1u << k;
		if (st == CD_GRAM_PRESENT)
			exact = true;
	}
	/* the last key stands for it and every larger count */
	if (asked == cap && (set & (1u << cap)))
		set |= above;
	if (exact)
		return set;
	set |= 1u << dflt;			/* the item may hold no count key: the default */
	if (asked < cap)
		set |= above;			/* the item may hold a count the query did not ask */
	return set;
}

/*
 * The least name_match.c can charge for uq unpaired query words (at most pq_max of them
 * patronymics, at most oq_max others) and ur unpaired item words (likewise pr_max,
 * or_max): patronymics pair with patronymics at 0.5, other words with other words at 1,
 * what is left over costs 0.05 (patronymic) or 0.25.
 */
static double
min_charge(int uq, int pq_max, int oq_max, int ur, int pr_max, int or_max)
{
	double		best = -1;
	int			pq,
				pr;

	for (pq = uq - oq_max > 0 ? uq - oq_max : 0; pq <= pq_max && pq <= uq; pq++)
		for (pr = ur - or_max > 0 ? ur - or_max : 0; pr <= pr_max && pr <= ur; pr++)
		{
			int			oq = uq - pq,
						or_ = ur - pr,
						kp = pr < pq ? pr : pq,
						kn = or_ < oq ? or_ : oq;
			double		c = 0.5 * kp + kn + 0.05 * (pr + pq - 2 * kp) +
				0.25 * (or_ + oq - 2 * kn);

			if (best < 0 || c < best)
				best = c;
		}
	return best < 0 ? 0 : best;
}

/*
 * The best S / (m + charge) over m pairs: credits sorted in descending order; the query
 * has uq_words words that are charged when unpaired, cq of them with a credit (so at
 * most that many of them pair), pq_max of them may be patronymics, oq_max others; the
 * item has k words (k < 0: unknown, then none of its words need be left over), pr_max
 * of which may be patronymics and or_max others.
 */
static double
best_score(const double *credit, int n, int uq_words, int cq, int pq_max, int oq_max,
		   int k, int pr_max, int or_max)
{
	double		best = 0,
				sum = 0;
	int			m;

	for (m = 1; m <= n && credit[m - 1] > 0; m++)
	{
		int			uq = uq_words - (m < cq ? m : cq);
		double		charge,
					b;

		if (k >= 0 && m > k)
			break;
		sum += credit[m - 1];
		if (k >= 0)
			charge = min_charge(uq, pq_max, oq_max, k - m, pr_max, or_max);
		else
			charge = min_charge(uq, pq_max, oq_max, 0, 0, 0);
		b = sum / (m + charge);
		if (b > best)
			best = b;
	}
	return best > 1 ? 1 : best;
}

static void
sort_descending(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] < v[j]; j--)
		{
			double		t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/*
 * The bound when no words are joined: the best over the word counts (ks) and
 * patronymic counts (ps) the item may have; nothing known of the count: any.  dp: the
 * item may have 2 words and a patronymic (SHAPE_DEFAULT_PATRONYMIC not absent); when it
 * may not, an item of 2 words has no patronymic.
 */
static double
plain_bound(const double *credit, int n, int credited, int npatr, uint32_t ks, uint32_t ps,
			bool dp)
{
	double		best = 0;

	if (ks == 0)
		return best_score(credit, n, n, credited, npatr, n - npatr, -1, 0, 0);
	for (int k = 1; k <= MAXN; k++)
	{
		uint32_t	pk = ps & ((2u << k) - 1);	/* the patronymic counts that fit */

		if (!(ks & (1u << k)))
			continue;
		if (k == WORDS_DEFAULT && !dp)
		{
			if (!(ps & 1u))
				continue;		/* a patronymic count key: not 2 words then */
			pk = 1u;
		}
		if (pk == 0)
		{
			double		b = best_score(credit, n, n, credited, npatr, n - npatr, k, k, k);

			if (b > best)
				best = b;
			continue;
		}
		for (int p = 0; p <= k; p++)
			if (pk & (1u << p))
			{
				double		b = best_score(credit, n, n, credited, npatr, n - npatr, k, p, k - p);

				if (b > best)
					best = b;
			}
	}
	return best;
}

double
cd_name_query_bound(const CdNameQuery *q, const uint8_t *state)
{
	double		credit[MAXN + MAX_RUNS];
	bool		in_join[MAXN] = {false};
	bool		joined = false;
	uint32_t	ks,
				ps;
	bool		dp;
	int			n = q->nwords,
				reduction = 0,
				hits = 0,
				runs_hit = 0,
				chargeable = 0,
				credited = 0,
				patr_like = 0,
				i,
				k;
	double		best;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
	{
		credit[i] = word_credit(q, &q->words[i], state);
		if (any_present(q, q->words[i].joined, state))
		{
			/* a stored run of 2-4 words may join into this word, at 1 */
			credit[i] = 1.0;
			reduction += 3;
			hits++;
			joined = true;
		}
	}
	for (i = 0; i < q->nruns; i++)
	{
		const QRun *run = &q->runs[i];
		bool		hit = all_present(q, run->trg, state) || any_present(q, run->sounds, state);

		if (any_present(q, run->joined, state))
		{
			hit = true;
			reduction += 3;
			hits++;
		}
		if (hit)
		{
			/* the run's words may become one word that pairs at 1 */
			joined = true;
			runs_hit++;
			for (int w = run->first; w < run->first + run->len; w++)
				in_join[w] = true;
		}
	}

	/*
	 * An initial scores 0.8 only beside a pair of 0.85 or more that is no initial
	 * (name_match.c), else 0.4: without such a credit (or a join) initials count 0.4.
	 * Then the long posting lists of initials alone never make an item a candidate.
	 */
	if (!joined)
	{
		bool		strong = false;

		for (i = 0; i < n; i++)
			if (credit[i] >= 0.85 - 1e-9)
				strong = true;
		if (!strong)
			for (i = 0; i < n; i++)
				if (credit[i] >= 0.8 - 1e-9)
					credit[i] = 0.4;
	}

	ks = possible_counts(q, q->nw, 1, q->nw_asked, WORDS_CAP, WORDS_DEFAULT, state);
	ps = possible_counts(q, q->np, 0, q->np_asked, PATRONYMICS_CAP, PATRONYMICS_DEFAULT, state);
	dp = any_present(q, q->default_patr, state);

	/* without joins: every word counts, with its own patronymic mark */
	{
		double		plain[MAXN];
		int			credited_all = 0;

		for (i = 0; i < n; i++)
		{
			plain[i] = credit[i];
			if (credit[i] > 0)
				credited_all++;
		}
		sort_descending(plain, n);
		best = plain_bound(plain, n, credited_all, q->npatr, ks, ps, dp);
	}
	if (!joined)
		return best;

	/*
	 * Words may be joined on either side (name_match.c joins runs of 2-4 adjacent words
	 * whose concatenation is a word of the other side).  Each run of the query that
	 * may join adds a unit that pairs at 1, and its words cost nothing when left over
	 * (they may have been joined); the item has between k - reduction and k words, of
	 * which at most p, and one more per join when a run of the item reads as a
	 * patronymic, are patronymics; any query word may be one (places change).  The
	 * bound is the better of this and the bound without joins.
	 */
	for (i = 0; i < n; i++)
	{
		/* counted over all words, so that a run found joinable never lowers the bound */
		if (q->words[i].patronymic_like)
			patr_like++;
		if (in_join[i])
			continue;
		chargeable++;
		if (credit[i] > 0)
			credited++;
	}
	for (i = 0; i < runs_hit; i++)
		credit[n + i] = 1.0;
	sort_descending(credit, n + runs_hit);
	if (ks == 0 || any_present(q, q->repeat, state))
	{
		double		b = best_score(credit, n + runs_hit, chargeable, credited, patr_like,
								   chargeable, -1, 0, 0);

		return b > best ? b : best;
	}
	for (k = 1; k <= MAXN; k++)
	{
		int			pmax = k;

		if (!(ks & (1u << k)))
			continue;
		/* the most patronymics an item of k words may hold, before joins */
		if ((ps & ((2u << k) - 1)) != 0)
			for (pmax = k; pmax > 0 && !(ps & (1u << pmax)); pmax--)
				;
		if (k == WORDS_DEFAULT && !dp)
		{
			if (!(ps & 1u))
				continue;		/* a patronymic count key: not 2 words then */
			pmax = 0;
		}
		if (pmax < k && any_present(q, q->patronymic_run, state))
			pmax += hits;
		for (int kk = k - reduction > 1 ? k - reduction : 1; kk <= k; kk++)
		{
			double		b = best_score(credit, n + runs_hit, chargeable, credited, patr_like,
									   chargeable, kk, pmax < kk ? pmax : kk, kk);

			if (b > best)
				best = b;
		}
	}
	return best;
}

double
cd_name_query_bound_keys(CdNameQuery *q, const uint32_t *keys, int nkeys)
{
	int			i = 0,
				j = 0;

	/* both sorted: a merge */
	while (i < q->nkeys)
	{
		while (j < nkeys && keys[j] < q->keys[i])
			j++;
		q->scratch[i] = (j < nkeys && keys[j] == q->keys[i]) ? CD_GRAM_PRESENT : CD_GRAM_ABSENT;
		i++;
	}
	return cd_name_query_bound(q, q->scratch);
}

double
cd_name_evidence(CdNameQuery *a, CdNameQuery *b)
{
	double		ab = cd_name_query_bound_keys(a, b->stored, b->nstored);
	double		ba = cd_name_query_bound_keys(b, a->stored, a->nstored);

	return ab < ba ? ab : ba;
}
