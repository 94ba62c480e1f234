/*
 * name_match.c
 *		Person and company name similarity across scripts, and nickname lookup (see
 *		name_match.h for the rules and the formula).
 *
 * Everything after transliteration works on bounded stack records: at most
 * CD_NAME_MAX_WORDS words of at most CD_NAME_MAX_WORD letters per side, so the cost of
 * a call is the transliteration (O(n)) plus a bounded amount of word work.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "han_transcription.h"
#include "name_key.h"
#include "name_match.h"
#include "name_readings.h"
#include "phonetic.h"
#include "similarity.h"
#include "translit.h"
#include "value_memo.h"

#define MAXN CD_NAME_MAX_WORDS
#define MAXW CD_NAME_MAX_WORD
#define FOLD_SIZE CD_SPELL_FOLD_SIZE(MAXW)
#define MAX_GROUPS 6			/* nickname groups kept per word */
#define CMP_MAX 64				/* folds compare on at most this many letters: JW and
								 * OSA need no allocation up to CD_SIM_LOCAL_CHARS */
#define SHORT_SUBST_CAP 0.9		/* a changed letter in words of 4-5 letters */
#define DP_MAX 6				/* exact assignment while the smaller side is this small */
#define TYPO_EDITS_LONG 2		/* edits the typo rule allows in folds of 9+ letters */
#define FOLD_TYPO_STEP 0.01		/* a typo that needs the fold scores this much less */

/*
 * Edits the typo rule allows in folds of 9+ letters: TYPO_EDITS_LONG, except inside
 * cd_name_similarity_one_edit (the similarity name_grams.c's evidence covers).
 */
static int	typo_edits_long = TYPO_EDITS_LONG;

/*
 * Han text read as the transcription of a foreign name (han_transcription.h): on,
 * except inside cd_name_similarity_one_edit (name_grams.c's evidence has no key for it).
 */
static bool han_transcriptions = true;

#define TR_RUN_MAX 8			/* syllables one transcribed word may take */

#define ALT_KEY 32				/* an alternative key counts on this many classes */
#define ALT_FOLD 32				/* folds of readings kept for alt_meets */
#define N_READINGS CD_RD_COUNT	/* other readings of a Latin spelling: name_readings.h */
#define RD_SIZE CD_RD_SIZE(MAXW)
#define RD_ALL CD_RD_ALL
#define RD_PINYIN CD_RD_PINYIN

#define WF_PATRONYMIC 0x01
#define WF_INITIAL 0x02
#define WF_FIRST_INITIAL 0x04	/* an initial with another initial right after it */
#define WF_TRANSCRIBED 0x08		/* pinyin syllables joined as a foreign name's
								 * transcription; tr holds their skeleton */

/* how a word pair matched */
typedef enum PairKind
{
	PK_NONE = 0,
	PK_EXACT,
	PK_NICK,
	PK_GENDER,
	PK_INITIAL,
	PK_TYPO,
	PK_PHONETIC,
	PK_TRANSCRIPTION			/* Han text as a foreign name's transcription */
} PairKind;

typedef struct Word
{
	char		raw[MAXW + 1];	/* transliterated word */
	char		fold[FOLD_SIZE];	/* its spelling fold */
	char		phon[FOLD_SIZE];	/* its phonetic key */
	uint16_t	groups[MAX_GROUPS]; /* nickname groups, ascending */
	uint8_t		rlen;
	uint8_t		flen;
	uint8_t		plen;
	uint8_t		ngroups;
	uint8_t		flags;
	/* keys of the other readings (see "readings" below), filled on first need */
	int8_t		nalt;			/* -1: not computed yet */
	uint8_t		altlen[N_READINGS];
	uint8_t		altflen[N_READINGS];	/* length of the fold the key came from */
	char		altlead[N_READINGS];
	char		alt[N_READINGS][ALT_KEY];
	char		altfold[N_READINGS][ALT_FOLD];	/* the fold, when shorter than ALT_FOLD */
	CdTrSkeleton tr;			/* with WF_TRANSCRIBED only */
} Word;

typedef struct Side
{
	Word		w[MAXN];
	int			n;
	unsigned	readings;		/* RD_* bits: which other readings its words may have */
} Side;

/* ---------------------------------------------------------------- nicknames */

/* index of the first entry whose key is fold, or -1 */
static long
nick_find(const char *fold)
{
	size_t		lo = 0;
	size_t		hi = cd_nickname_nentries;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (strcmp(cd_nickname_entries[mid].key, fold) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < cd_nickname_nentries && strcmp(cd_nickname_entries[lo].key, fold) == 0)
		return (long) lo;
	return -1;
}

static void
nick_groups(Word *w)
{
	long		i = nick_find(w->fold);

	w->ngroups = 0;
	if (i < 0)
		return;
	while ((size_t) i < cd_nickname_nentries && w->ngroups < MAX_GROUPS &&
		   strcmp(cd_nickname_entries[i].key, w->fold) == 0)
		w->groups[w->ngroups++] = cd_nickname_entries[i++].group;
}

static bool
groups_meet(const Word *x, const Word *y)
{
	int			i = 0,
				j = 0;

	/* both lists ascending: the generator sorts entries by (key, group) */
	while (i < x->ngroups && j < y->ngroups)
	{
		if (x->groups[i] == y->groups[j])
			return true;
		if (x->groups[i] < y->groups[j])
			i++;
		else
			j++;
	}
	return false;
}

const char *
cd_nicknames_data_version(void)
{
	return cd_nicknames_version;
}

/* ---------------------------------------------------------------- words */

/* a string literal with its length, so that table scans need no strlen */
typedef struct Lit
{
	const char *s;
	size_t		n;
} Lit;

#define LIT(x) {x, sizeof(x) - 1}

static inline bool
ends_with_lit(const char *s, size_t n, const Lit *suf)
{
	return n >= suf->n && memcmp(s + n - suf->n, suf->s, suf->n) == 0;
}

static inline bool
equals_lit(const char *s, size_t n, const Lit *lit)
{
	return n == lit->n && memcmp(s, lit->s, n) == 0;
}

/* what one Cyrillic letter transliterates to, when it is more than one Latin letter */
static bool
initial_like(const char *s, size_t n)
{
	static const Lit multi[] = {
		LIT("zh"), LIT("kh"), LIT("ts"), LIT("ch"), LIT("sh"), LIT("shch"), LIT("yu"),
		LIT("ya"), LIT("yo"), LIT("ye"), LIT("yi"), LIT("ie")
	};
	size_t		i;

	if (n == 1)
		return true;
	if (n > 4)
		return false;
	for (i = 0; i < sizeof(multi) / sizeof(multi[0]); i++)
		if (equals_lit(s, n, &multi[i]))
			return true;
	return false;
}

/* patronymic by its form; "-ich" alone only in a name of 3+ words and not first */
static bool
is_patronymic(const Word *w, int pos, int nwords)
{
	static const Lit endings[] = {
		LIT("ovich"), LIT("evich"), LIT("ovych"), LIT("evych"), LIT("ovna"), LIT("evna"),
		LIT("ichna"), LIT("ivna")
	};
	static const Lit particles[] = {
		LIT("ogly"), LIT("ogli"), LIT("oglu"), LIT("kyzy"), LIT("kizi"), LIT("qizi"),
		LIT("uly"), LIT("uulu")
	};
	static const Lit ich = LIT("ich");
	size_t		i;

	if (w->rlen <= 4)
	{
		for (i = 0; i < sizeof(particles) / sizeof(particles[0]); i++)
			if (equals_lit(w->raw, w->rlen, &particles[i]))
				return true;
		return false;
	}
	if (w->rlen < 6)
		return ends_with_lit(w->raw, w->rlen, &ich) && nwords >= 3 && pos > 0;
	for (i = 0; i < sizeof(endings) / sizeof(endings[0]); i++)
		if (ends_with_lit(w->raw, w->rlen, &endings[i]))
			return true;
	return ends_with_lit(w->raw, w->rlen, &ich) && nwords >= 3 && pos > 0;
}

static void
fill_word(Word *w, const char *s, size_t n, bool person)
{
	if (n > MAXW)
		n = MAXW;
	memcpy(w->raw, s, n);
	w->raw[n] = '\0';
	w->rlen = (uint8_t) n;
	w->flen = (uint8_t) cd_spell_fold_word(w->raw, n, w->fold);
	w->plen = (uint8_t) cd_phonetic_folded_word(w->fold, w->flen, w->phon);
	w->flags = 0;
	w->ngroups = 0;
	w->nalt = -1;
	if (person)
	{
		nick_groups(w);
		if (initial_like(w->raw, n))
			w->flags |= WF_INITIAL;
	}
}

/* split transliterated text into at most MAXN words */
static void
split_words(const char *t, size_t len, bool person, Side *side)
{
	size_t		i = 0;

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
			fill_word(&side->w[side->n++], t + start, i - start, person);
	}
}

/*
 * split_words through the value memo (value_memo.h): the prepared words of a
 * transliterated text (spelling folds, phonetic keys, nickname groups, initials) are the
 * same for every pair the text takes part in, so a scorer that keeps a memo active
 * prepares each name once while it stays in the memo.  split_words depends on its
 * arguments only, so a kept result is the result it computes.  Each word is kept up to
 * its other-reading keys, which split_words leaves unset (nalt -1: filled on first need
 * by the pair that needs them, as without the memo).
 */
#define WORD_KEPT offsetof(Word, altlen)

static void
split_words_memo(const char *t, size_t len, bool person, Side *side)
{
	const char	extra = person ? 'p' : 'c';
	const char *v;
	size_t		vl;
	char		kept[MAXN * WORD_KEPT];
	int			i;

	if (cd_memo_active == NULL)
	{
		split_words(t, len, person, side);
		return;
	}
	if (cd_memo_find(CD_MEMO_NAME_WORDS, &extra, 1, t, len, &v, &vl)
		&& vl % WORD_KEPT == 0 && vl / WORD_KEPT <= MAXN)
	{
		side->n = (int) (vl / WORD_KEPT);
		for (i = 0; i < side->n; i++)
		{
			memcpy(&side->w[i], v + i * WORD_KEPT, WORD_KEPT);
			side->w[i].nalt = -1;
		}
		return;
	}
	split_words(t, len, person, side);
	for (i = 0; i < side->n; i++)
		memcpy(kept + i * WORD_KEPT, &side->w[i], WORD_KEPT);
	cd_memo_add(CD_MEMO_NAME_WORDS, &extra, 1, t, len, kept, (size_t) side->n * WORD_KEPT);
}

/* words i .. i + r - 1 of x are all pinyin syllables */
static bool
pinyin_run(const Side *x, int i, int r)
{
	int			k;

	for (k = i; k < i + r; k++)
		if (!cd_rd_pinyin_syllable(x->w[k].raw, x->w[k].rlen))
			return false;
	return true;
}

/*
 * A run of a person's name may join unless a one-letter word of it is an initial rather
 * than a syllable: "L. I." is not "Li", but 王阿明 "wang a ming" is "Wang Aming".  A
 * company's letters always may: "A&B Ltd" is "AB Ltd".
 */
static bool
joinable_run(const Side *x, int i, int r, bool person)
{
	int			k;

	if (!person)
		return true;
	for (k = i; k < i + r; k++)
		if (x->w[k].rlen == 1)
			return (x->readings & RD_PINYIN) && pinyin_run(x, i, r);
	return true;
}

/* the transcription skeleton (han_transcription.h) of words i .. i + r - 1 of x */
static bool
run_skeleton(const Side *x, int i, int r, CdTrSkeleton *out)
{
	const char *syl[TR_RUN_MAX];
	size_t		len[TR_RUN_MAX];
	int			k;

	if (r > TR_RUN_MAX)
		return false;
	for (k = 0; k < r; k++)
	{
		syl[k] = x->w[i + k].raw;
		len[k] = x->w[i + k].rlen;
	}
	return cd_tr_pinyin_skeleton(syl, len, r, out);
}

/*
 * Join runs of 2-4 adjacent words of x whose concatenation is a word of y: "xiao ming"
 * against "xiaoming", "anna maria" against "annamaria"; for a side that may be pinyin,
 * also when the concatenation read as pinyin has the key (3+ classes) of a word of y:
 * 王小明 "wang xiao ming" against Ван Сяомин "van syaomin".
 */
static void
join_words(Side *x, const Side *y, bool person)
{
	int			i;

	for (i = 0; i + 1 < x->n; i++)
	{
		int			r;
		int			j;
		bool		longer = false;

		for (j = 0; j < y->n; j++)
			if (y->w[j].flen > x->w[i].flen)
				longer = true;
		if (!longer)
			continue;
		for (r = (x->n - i < 4 ? x->n - i : 4); r >= 2; r--)
		{
			char		cat[MAXW + 1];
			char		cfold[FOLD_SIZE];
			size_t		clen = 0;
			size_t		cflen;
			bool		fits = true;
			int			k;

			for (k = 0; k < r; k++)
			{
				if (clen + x->w[i + k].rlen > MAXW)
				{
					fits = false;
					break;
				}
				memcpy(cat + clen, x->w[i + k].raw, x->w[i + k].rlen);
				clen += x->w[i + k].rlen;
			}
			if (!fits || !joinable_run(x, i, r, person))
				continue;
			cflen = cd_spell_fold_word(cat, clen, cfold);
			for (k = 0; k < r; k++)
				if (cflen <= x->w[i + k].flen)
					break;
			if (k < r)
				continue;		/* a word vanished in the fold: "p popov" -> "popov" */
			for (j = 0; j < y->n; j++)
				if (y->w[j].flen == cflen && memcmp(y->w[j].fold, cfold, cflen) == 0)
					break;
			if (j == y->n && person && (x->readings & RD_PINYIN) && pinyin_run(x, i, r))
			{
				char		key[CD_SPELL_FOLD_SIZE(RD_SIZE)];
				size_t		kl = cd_rd_pinyin_key(cat, clen, key);

				for (j = 0; kl >= 3 && j < y->n; j++)
					if (y->w[j].plen == kl && memcmp(y->w[j].phon, key, kl) == 0)
						break;
				if (kl < 3)
					j = y->n;
			}
			if (j == y->n)
				continue;
			{
				/* Han text: the run may also be a foreign name's transcription */
				CdTrSkeleton tr;
				bool		transcribed = person && han_transcriptions &&
					x->readings == RD_PINYIN && y->readings != RD_PINYIN &&
					pinyin_run(x, i, r) && run_skeleton(x, i, r, &tr);

				fill_word(&x->w[i], cat, clen, person);
				if (transcribed)
				{
					x->w[i].flags |= WF_TRANSCRIBED;
					x->w[i].tr = tr;
				}
			}
			memmove(&x->w[i + 1], &x->w[i + r], sizeof(Word) * (x->n - i - r));
			x->n -= r - 1;
			break;
		}
	}
}

/* the same word, or the same sound, on both sides: no transcription is needed there */
static bool
same_sound(const Word *x, const Word *y)
{
	return (x->flen == y->flen && memcmp(x->fold, y->fold, x->flen) == 0) ||
		(x->plen > 0 && x->plen == y->plen && memcmp(x->phon, y->phon, x->plen) == 0);
}

/*
 * The skeleton of a word of the other side that a transcription may stand for: not a
 * pinyin syllable, which is a Chinese name written in Latin letters (Wang / 吴洋 "wu
 * yang" is no transcription).
 */
static bool
transcription_target(const Word *w, CdTrSkeleton *out)
{
	return !cd_rd_pinyin_syllable(w->raw, w->rlen) &&
		cd_tr_latin_skeleton(w->raw, w->rlen, out);
}

/*
 * Han text against text in another script: join a run of 2 to TR_RUN_MAX pinyin
 * syllables of x into one word when the run reads as the Chinese transcription of a
 * word of y (han_transcription.h: 巴斯克威尔 "ba si ke wei er" = Baskerville).  Only
 * syllables and words that met nothing by sound or spelling take part, so a Chinese
 * name written in pinyin (王小明 / Wang Xiaoming, joined by join_words) is left as it
 * is.  Of the runs starting at a syllable the one that scores best is joined, the
 * longest of equal scores; pair_score gives the joined word its score.
 */
static void
join_transcriptions(Side *x, const Side *y)
{
	CdTrSkeleton ys[MAXN];
	bool		yok[MAXN];
	bool		free_syl[MAXN];
	bool		any = false;
	int			i,
				j,
				k;

	if (!han_transcriptions || x->readings != RD_PINYIN || y->readings == RD_PINYIN)
		return;
	for (j = 0; j < y->n; j++)
	{
		yok[j] = true;
		for (k = 0; k < x->n && yok[j]; k++)
			if (same_sound(&x->w[k], &y->w[j]))
				yok[j] = false;
		if (yok[j])
			yok[j] = transcription_target(&y->w[j], &ys[j]);
		any = any || yok[j];
	}
	if (!any)
		return;
	for (i = 0; i < x->n; i++)
	{
		free_syl[i] = cd_rd_pinyin_syllable(x->w[i].raw, x->w[i].rlen);
		for (j = 0; j < y->n && free_syl[i]; j++)
			if (same_sound(&x->w[i], &y->w[j]))
				free_syl[i] = false;
	}
	for (i = 0; i + 1 < x->n; i++)
	{
		int			run = 0;
		int			r,
					best_r = 0;
		double		best = 0;
		CdTrSkeleton best_skel;
		char		cat[MAXW + 1];
		size_t		clen = 0;

		while (i + run < x->n && run < TR_RUN_MAX && free_syl[i + run])
			run++;
		for (r = run; r >= 2; r--)
		{
			CdTrSkeleton ps;

			clen = 0;
			for (k = 0; k < r; k++)
				clen += x->w[i + k].rlen;
			if (clen > MAXW || !run_skeleton(x, i, r, &ps))
				continue;
			for (j = 0; j < y->n; j++)
			{
				double		sc;

				if (!yok[j])
					continue;
				sc = cd_tr_similarity(&ys[j], &ps);
				if (sc > best)
				{
					best = sc;
					best_r = r;
					best_skel = ps;
				}
			}
		}
		if (best_r == 0)
			continue;
		clen = 0;
		for (k = 0; k < best_r; k++)
		{
			memcpy(cat + clen, x->w[i + k].raw, x->w[i + k].rlen);
			clen += x->w[i + k].rlen;
		}
		fill_word(&x->w[i], cat, clen, true);
		x->w[i].flags |= WF_TRANSCRIBED;
		x->w[i].tr = best_skel;
		memmove(&x->w[i + 1], &x->w[i + best_r], sizeof(Word) * (x->n - i - best_r));
		memmove(&free_syl[i + 1], &free_syl[i + best_r], sizeof(bool) * (x->n - i - best_r));
		x->n -= best_r - 1;
		free_syl[i] = false;
	}
}

/* ---------------------------------------------------------------- word pairs */

/* m is the male and f the female form of one name (folds): Ivanov/Ivanova ... */
static bool
gender_form(const Word *m, const Word *f)
{
	static const Lit pairs[][2] = {
		{LIT("i"), LIT("aya")}, {LIT("oi"), LIT("aya")}, {LIT("i"), LIT("ya")}
	};
	size_t		ml = m->flen,
				fl = f->flen;
	size_t		i;

	/* "" -> "a" after a consonant: Ivanov/Ivanova, Ilin/Ilina, Ivan/Ivana */
	if (fl == ml + 1 && ml >= 3 && f->fold[ml] == 'a' && memcmp(m->fold, f->fold, ml) == 0 &&
		strchr("aeiouy", m->fold[ml - 1]) == NULL)
		return true;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
	{
		size_t		ms = pairs[i][0].n;
		size_t		fs = pairs[i][1].n;

		if (ml >= ms + 2 && fl >= fs + 2 && ml - ms == fl - fs &&
			ends_with_lit(m->fold, ml, &pairs[i][0]) &&
			ends_with_lit(f->fold, fl, &pairs[i][1]) &&
			memcmp(m->fold, f->fold, ml - ms) == 0)
			return true;
	}
	return false;
}

/*
 * x is an initial that begins y.  Of two initials in a row the first is the given
 * name's, never the patronymic's (Д. В. Кузнецова is Дарья Валерьевна, not Виктория
 * Дмитриевна: "И. О." and "Фамилия И. О." in every order).
 */
static bool
initial_of(const Word *x, const Word *y)
{
	if (!(x->flags & WF_INITIAL) || (y->flags & WF_INITIAL))
		return false;
	if ((x->flags & WF_FIRST_INITIAL) && (y->flags & WF_PATRONYMIC))
		return false;
	return (y->rlen > x->rlen && memcmp(y->raw, x->raw, x->rlen) == 0) ||
		(y->flen > x->flen && x->flen > 0 && memcmp(y->fold, x->fold, x->flen) == 0);
}

/*
 * The vowel after a glide a transliterated word starts with (y, j, or i before a
 * vowel: Йозеф "yozef", Josef, Иоганн "iogann", Johann), '\0' without one.  The fold
 * writes an initial "yo" as "e" (Ёлкин = Елкин = Yolkin) and keeps "jo" and "io", so
 * cd_fold_lead_vowel() of the folds tells these apart although they all begin with [jo].
 */
static char
glide_vowel(const char *raw, size_t n)
{
	if (n >= 2 && (raw[0] == 'y' || raw[0] == 'j' || raw[0] == 'i') &&
		strchr("aeiou", raw[1]) != NULL && !(raw[0] == 'i' && raw[1] == 'i'))
		return raw[1];
	return '\0';
}

/* ---------------------------------------------------------------- readings */

/*
 * One Latin spelling stands for different sounds in different languages, and Russian
 * writes a name by how it sounds in its own language: English j is дж (John Джон),
 * French j is ж (Jacques Жак), German and Polish j is й (Jahn Ян: the primary key's
 * reading); ch is ч in English, ш in French, х in German, к in Italian, т in Japanese
 * (Polivanov); sh is с in Japanese; pinyin j q x are цз ц с in Russian (Palladius).  A
 * word's phonetic key follows one reading; for person names every word also gets the
 * keys of the readings of name_readings.h (only those its letters change), and two
 * words whose key sets meet are the same name by sound (rule "same phonetic key" of
 * name_match.h).  name_grams.c keys the same readings from the same rules.
 */

/* the keys of the other readings of a word, once */
static void
fill_alternates(Word *w, unsigned mask)
{
	int			k;

	if (w->nalt >= 0)
		return;
	w->nalt = 0;
	for (k = 0; k < N_READINGS; k++)
	{
		char		rw[RD_SIZE];
		char		fold[CD_SPELL_FOLD_SIZE(RD_SIZE)];
		char		key[CD_SPELL_FOLD_SIZE(RD_SIZE)];
		size_t		rl,
					fl,
					kl;
		int			j;
		bool		dup;
		char		lead;

		if (!(mask & (1u << k)))
			continue;
		rl = cd_rd_rewrite(w->raw, w->rlen, k, rw);
		if (rl == 0)
			continue;
		fl = cd_spell_fold_word(rw, rl, fold);
		kl = cd_phonetic_folded_word(fold, fl, key);
		if (kl > ALT_KEY)
			kl = ALT_KEY;
		lead = cd_fold_lead_vowel(fold, fl);

		/*
		 * A reading with the word's own key adds nothing when the key has 3+ classes
		 * and the same first vowel sound (the rule "same phonetic key" compares it),
		 * but a key of two classes is never compared as the word's own: Moore read
		 * in English is "mure" (Мур), Dean "din" (Дин), with the keys of the spelling.
		 */
		dup = kl == w->plen && memcmp(key, w->phon, kl) == 0 && kl >= 3 &&
			lead == cd_fold_lead_vowel(w->fold, w->flen);
		for (j = 0; !dup && j < w->nalt; j++)
			dup = w->altlen[j] == kl && memcmp(w->alt[j], key, kl) == 0 &&
				w->altlead[j] == lead && w->altflen[j] == (fl < 255 ? fl : 255) &&
				(fl >= ALT_FOLD || memcmp(w->altfold[j], fold, fl) == 0);
		if (dup || kl < 2)
			continue;
		memcpy(w->alt[w->nalt], key, kl);
		w->altlen[w->nalt] = (uint8_t) kl;
		w->altflen[w->nalt] = (uint8_t) (fl < 255 ? fl : 255);
		w->altlead[w->nalt] = lead;
		if (fl < ALT_FOLD)
			memcpy(w->altfold[w->nalt], fold, fl);
		w->nalt++;
	}
}

/* OSA edit distance of two short folds (each under ALT_FOLD letters) */
static int
short_edits(const char *a, size_t al, const char *b, size_t bl)
{
	uint8_t		d[ALT_FOLD + 1][ALT_FOLD + 1];

	for (size_t i = 0; i <= al; i++)
		d[i][0] = (uint8_t) i;
	for (size_t j = 0; j <= bl; j++)
		d[0][j] = (uint8_t) j;
	for (size_t i = 1; i <= al; i++)
		for (size_t j = 1; j <= bl; j++)
		{
			int			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
				d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = (uint8_t) v;
		}
	return d[al][bl];
}

static inline bool
is_vowel_letter(char c)
{
	return strchr("aeiouy", c) != NULL;
}

/*
 * Folds a and b are equal or one edit apart by a consonant (one added, dropped or
 * changed, or two adjacent letters swapped): a vowel added, dropped or changed is how
 * short names differ (Dan/Din, Sammy/Сэм, Jon/Jan).
 */
static bool
one_consonant_edit(const char *a, size_t al, const char *b, size_t bl)
{
	size_t		i = 0;

	if (al > bl)
		return one_consonant_edit(b, bl, a, al);
	if (bl - al > 1)
		return false;
	while (i < al && a[i] == b[i])
		i++;
	if (i == al)
		return al == bl || !is_vowel_letter(b[al]);
	if (al == bl)
	{
		if (i + 1 < al && a[i] == b[i + 1] && a[i + 1] == b[i] &&
			memcmp(a + i + 2, b + i + 2, al - i - 2) == 0)
			return true;
		return memcmp(a + i + 1, b + i + 1, al - i - 1) == 0 &&
			!is_vowel_letter(a[i]) && !is_vowel_letter(b[i]);
	}
	return memcmp(a + i, b + i + 1, al - i) == 0 && !is_vowel_letter(b[i]);
}

/* reading i of x changed the vowel x begins with (Andy "endi") */
static inline bool
lead_changed(const Word *x, int i)
{
	char		own = cd_fold_lead_vowel(x->fold, x->flen);

	return x->altlead[i] != own && x->altlead[i] != '\0' && own != '\0';
}

/*
 * The alternative key i of x meets the own key of w (wm: the readings w's text may
 * have, 0 for Cyrillic, Greek and other text with one known transliteration): same
 * key, same first vowel sound.  The key keeps only a word's first vowel, so a reading
 * that changes it (English Andy "endi" = Энди, Austin "ostin" = Остин, German Eugen
 * "oigen" = Ойген) says more than its key: such a reading's fold must also be near
 * w's (one edit, two from 8 letters), or every word of that skeleton would meet
 * (Utsubo "atsubo" and Ясуба).  Keys of two classes are common (Jon, Jan, Min, Mira):
 * such a key also needs folds of about the same length, John/Джон (dzhon/dzhon), not
 * Magnia/Мин (mania/min), and against a Latin word the reading's fold but for a
 * consonant (two Latin spellings are compared letter by letter: Mary is not Morris,
 * nor Hahn John).  A reading that changed only vowels keeps the spelling's own key of
 * two classes, which alone never meets: its evidence is in the vowels, so its fold
 * must be w's but for a consonant: Moore/Мур (mur/mur), Dean/Дин, Rose/Роуз
 * (rous/rouz), not Dean/Дан.  Readings that change vowels only meet a word of one
 * known transliteration (wm 0): two Latin spellings apart by a vowel are two names
 * (Chen/Chan, Sara/Sera), whatever one of them would sound like in English, and so
 * are two pinyin syllables (陈 chen, 詹 zhan).
 */
static inline bool
alt_meets(const Word *x, int i, const Word *w, unsigned wm)
{
	size_t		kl = x->altlen[i];
	size_t		kfl = x->altflen[i];

	if (kl != w->plen || memcmp(x->alt[i], w->phon, kl) != 0 ||
		x->altlead[i] != cd_fold_lead_vowel(w->fold, w->flen))
		return false;
	if (kl >= 3)
	{
		size_t		ml = kfl > w->flen ? kfl : w->flen;

		if (!lead_changed(x, i))
			return true;
		return wm == 0 && kfl < ALT_FOLD && w->flen < ALT_FOLD &&
			short_edits(x->altfold[i], kfl, w->fold, w->flen) <= (ml >= 8 ? 2 : 1);
	}
	if (kl == x->plen && memcmp(x->alt[i], x->phon, kl) == 0)
		return wm == 0 && kfl < ALT_FOLD &&
			one_consonant_edit(x->altfold[i], kfl, w->fold, w->flen);
	if (wm & ~RD_PINYIN)
		return kfl < ALT_FOLD && one_consonant_edit(x->altfold[i], kfl, w->fold, w->flen);
	return kfl <= (size_t) w->flen + 1 && w->flen <= kfl + 1;
}

/*
 * Some reading of x sounds like y, or the reverse, or two readings of 3+ classes meet
 * (not readings that changed a first vowel: Angela and Engel both read "endzhel...").
 * xm and ym are the readings allowed for each word (Side.readings).
 */
static bool
readings_meet(Word *x, unsigned xm, Word *y, unsigned ym)
{
	int			i,
				j;

	fill_alternates(x, xm);
	fill_alternates(y, ym);
	for (i = 0; i < x->nalt; i++)
	{
		if (alt_meets(x, i, y, ym))
			return true;
		for (j = 0; j < y->nalt && x->altlen[i] >= 3 && !lead_changed(x, i); j++)
			if (x->altlen[i] == y->altlen[j] && memcmp(x->alt[i], y->alt[j], y->altlen[j]) == 0 &&
				x->altlead[i] == y->altlead[j] && !lead_changed(y, j))
				return true;
	}
	for (j = 0; j < y->nalt; j++)
		if (alt_meets(y, j, x, xm))
			return true;
	return false;
}

/*
 * Which readings the words of a text may have: all for Latin-script text (where the
 * spelling leaves the language open), the pinyin one for Han text (its transliteration
 * is pinyin), none for other scripts (Cyrillic, Greek ... are transliterated by one
 * known rule set) or mixed text.
 */
static unsigned
text_readings(const char *s, size_t len)
{
	size_t		i = 0;
	bool		latin = false,
				han = false;

	while (i < len)
	{
		int32_t		cp;
		int			k = cd_utf8_decode((const unsigned char *) s + i, len - i, &cp);

		if (k < 0)
			return 0;			/* cannot happen: the text was validated */
		i += k;
		if (cp < 0x80)
		{
			if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
				latin = true;
		}
		else if ((cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
				 (cp >= 0x1E00 && cp <= 0x1EFF) || (cp >= 0xFF21 && cp <= 0xFF5A))
			latin = true;
		else if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
				 (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FFFF))
			han = true;
		else if (!(cp <= 0xBF || (cp >= 0x300 && cp <= 0x36F) ||
				   (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) ||
				   (cp >= 0xFF00 && cp <= 0xFF20)))
			return 0;			/* a letter (or sign) of another script */
	}
	if (latin && han)
		return 0;
	return latin ? RD_ALL : han ? RD_PINYIN : 0;
}

/*
 * Keys next to each other on a keyboard, by the Latin letters they type: QWERTY, and
 * the Russian ЙЦУКЕН layout by the transliteration of its one-letter keys (й y, у u,
 * к k ...; "_" for keys that give more or less than one letter), rows staggered as on a
 * real keyboard (a key touches the two above it and the two below it).  The most
 * frequent typing slip is the key next to the right one (Susan/Suaan, Long/Lomg,
 * Иван/Ивпн); a letter changed to one far away on both layouts is more often another
 * name (Jane/June, Mary/Mark, Evan/Ivan, Sara/Sera).
 */
static const char *const kb_rows[][3] = {
	{"qwertyuiop", "asdfghjkl", "zxcvbnm"},
	{"y_ukeng__z__", "fyvaprold_e", "__smit_b_"}
};

static bool kb_near_tab[26][26];
static bool kb_near_done;

static void
kb_mark(char a, char b)
{
	if (a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z')
		kb_near_tab[a - 'a'][b - 'a'] = kb_near_tab[b - 'a'][a - 'a'] = true;
}

static bool
keyboard_near(char a, char b)
{
	if (!kb_near_done)
	{
		size_t		l;

		for (l = 0; l < sizeof(kb_rows) / sizeof(kb_rows[0]); l++)
			for (int r = 0; r < 3; r++)
			{
				const char *row = kb_rows[l][r];
				size_t		n = strlen(row);

				for (size_t i = 0; i < n; i++)
				{
					if (i + 1 < n)
						kb_mark(row[i], row[i + 1]);
					/* the row below is shifted right by half a key: i - 1 and i */
					if (r < 2)
					{
						const char *below = kb_rows[l][r + 1];
						size_t		bn = strlen(below);

						if (i < bn)
							kb_mark(row[i], below[i]);
						if (i >= 1 && i - 1 < bn)
							kb_mark(row[i], below[i - 1]);
					}
				}
			}
		kb_near_done = true;
	}
	if (a < 'a' || a > 'z' || b < 'a' || b > 'z')
		return false;
	return kb_near_tab[a - 'a'][b - 'a'];
}

/*
 * Equal length, one letter different, the two letters keyboard neighbours and not both
 * vowels: a vowel for a vowel is how short names differ (Jane/June, Lena/Lana, Chen/Chan).
 */
static bool
near_key_slip(const char *a, const char *b, size_t n)
{
	size_t		i = 0,
				j;

	while (i < n && a[i] == b[i])
		i++;
	if (i == n)
		return false;
	for (j = i + 1; j < n; j++)
		if (a[j] != b[j])
			return false;
	if (strchr("aeiouy", a[i]) != NULL && strchr("aeiouy", b[i]) != NULL)
		return false;
	return keyboard_near(a[i], b[i]);
}

/* equal but for two adjacent letters swapped (Jonh/John) */
static bool
swapped_pair(const char *a, const char *b, size_t al, size_t bl)
{
	size_t		i = 0;

	if (al != bl)
		return false;
	while (i < al && a[i] == b[i])
		i++;
	return i + 1 < al && a[i] == b[i + 1] && a[i + 1] == b[i] &&
		memcmp(a + i + 2, b + i + 2, al - i - 2) == 0;
}

/*
 * The typo test of two spellings: their Jaro-Winkler similarity in *jw when their OSA
 * distance is at most lim, else *jw = -1 (also when a spelling is not valid UTF-8: the
 * status says so).  *dist: the distance when it is at most lim (else lim + 1).
 */
static CdSimStatus
typo_similarity_d(const char *a, size_t alen, const char *b, size_t blen, int lim,
				  const CdAllocator *al, double *jw, int *dist)
{
	int			d = lim + 1;
	CdSimStatus st = cd_levenshtein(a, alen, b, blen, lim, al, &d);

	*dist = d;
	*jw = -1;
	if (st == CD_SIM_OK && d <= lim)
	{
		st = cd_jaro_winkler(a, alen, b, blen, al, jw);
		if (st != CD_SIM_OK)
			*jw = -1;
	}
	return st;
}

static CdSimStatus
typo_similarity(const char *a, size_t alen, const char *b, size_t blen, int lim,
				const CdAllocator *al, double *jw)
{
	int			d;

	return typo_similarity_d(a, alen, b, blen, lim, al, jw, &d);
}

/*
 * Person words that are a typo of d edits apart by their folds: are they farther apart
 * as written (transliterated)?  Then the fold took part in the match, and the slip
 * scores FOLD_TYPO_STEP less than one typed as it reads (fold_typo_step in
 * pair_score).  *farther is false when a written word cannot be compared (cut inside a
 * character).
 */
static CdMatchStatus
written_farther(const Word *x, const Word *y, int d, const CdAllocator *al, bool *farther)
{
	size_t		xl = x->rlen < CMP_MAX ? x->rlen : CMP_MAX;
	size_t		yl = y->rlen < CMP_MAX ? y->rlen : CMP_MAX;
	int			wd = d + 1;
	CdSimStatus st;

	*farther = false;
	st = cd_levenshtein(x->raw, xl, y->raw, yl, d, al, &wd);
	if (st == CD_SIM_NOMEM)
		return CD_MATCH_NOMEM;
	if (st == CD_SIM_OK && wd > d)
		*farther = true;
	return CD_MATCH_OK;
}

/*
 * Company words only (0.2.0), after the rules above found nothing strong: the same word
 * written with a typo or cut short, on the transliterated spelling (raw) rather than on
 * the spelling fold, which is made for person names and can take a typo in a long word
 * further apart (maatschappij / maataschappij).
 *	- a typo: lengths at most lim apart and OSA distance at most lim (lim 2 from 9
 *	  letters, else 1), Jaro-Winkler capped at 0.95; in words of 4-5 letters only a
 *	  letter dropped or doubled, two adjacent letters swapped or a letter changed to a
 *	  keyboard neighbour (not a vowel for a vowel), the latter capped at SHORT_SUBST_CAP
 *	  (Akzo Novel / Akzo Nobel); words of fewer than 4 letters never;
 *	- an abbreviation: a word of 4+ letters that begins a word at least 3 letters longer
 *	  (tech / technology, intern / international) scores COMPANY_ABBREV.
 * A score only ever rises here.
 */
#define COMPANY_ABBREV 0.85

static CdMatchStatus
company_word_variant(const Word *x, const Word *y, const CdAllocator *al, double *score,
					 PairKind *kind)
{
	size_t		xl = x->rlen < CMP_MAX ? x->rlen : CMP_MAX;
	size_t		yl = y->rlen < CMP_MAX ? y->rlen : CMP_MAX;
	size_t		maxl = xl > yl ? xl : yl;
	size_t		minl = xl < yl ? xl : yl;
	int			lim = maxl >= 9 ? 2 : 1;
	const Word *s = xl <= yl ? x : y;
	const Word *l = xl <= yl ? y : x;

	if (minl < 4)
		return CD_MATCH_OK;
	if (maxl - minl <= (size_t) lim)
	{
		bool		swap = maxl <= 5 && swapped_pair(x->raw, y->raw, xl, yl);
		bool		slip = maxl <= 5 && maxl == minl && !swap && near_key_slip(x->raw, y->raw, xl);

		if (maxl > 5 || swap || slip || maxl > minl)
		{
			double		jw;
			CdSimStatus st = typo_similarity(x->raw, xl, y->raw, yl, lim, al, &jw);

			if (st == CD_SIM_NOMEM)
				return CD_MATCH_NOMEM;
			/* a word cut at MAXW bytes may end inside a character: no typo then */
			if (jw >= 0)
			{
				double		cap = (maxl <= 5 && maxl == minl && !swap) ? SHORT_SUBST_CAP : 0.95;

				if (jw > cap)
					jw = cap;
				if (jw > *score)
				{
					*score = jw;
					*kind = PK_TYPO;
				}
			}
		}
	}
	if (maxl >= minl + 3 && memcmp(s->raw, l->raw, minl) == 0 && COMPANY_ABBREV > *score)
	{
		*score = COMPANY_ABBREV;
		*kind = PK_TYPO;
	}
	return CD_MATCH_OK;
}

/*
 * Company words (0.2.0): is one word of a company term key the other written with a
 * slip, by the typo rule of company_word_variant (the rule cd_company_similarity
 * applies to company words): both at least 4 letters, no digit in either (Fund 2019 /
 * Fund 2020, Unit 12 / Unit 13 are other entities), lengths at most lim apart and OSA
 * distance at most lim (lim 2 when both words have 9+ letters, else 1: electric /
 * electronic are two words, not a slip); in words of 4-5 letters only a
 * letter dropped or added, two adjacent letters swapped or a letter changed to a
 * keyboard neighbour (not a vowel for a vowel).  With cut, also a word cut short: the
 * shorter one begins the longer one and has at least 5 letters and 60% of its letters
 * (koninkl / koninklijke).  Equal words are not a slip.  Words longer than CMP_MAX
 * bytes, or not valid UTF-8, never are.
 */
CdMatchStatus
cd_company_word_slip(const char *a, size_t alen, const char *b, size_t blen, bool cut,
					 const CdAllocator *al, bool *out)
{
	size_t		maxl = alen > blen ? alen : blen;
	size_t		minl = alen < blen ? alen : blen;
	size_t		lim = minl >= 9 ? 2 : 1;

	*out = false;
	if (minl < 4 || maxl > CMP_MAX || (alen == blen && memcmp(a, b, alen) == 0))
		return CD_MATCH_OK;
	for (size_t i = 0; i < alen; i++)
		if (a[i] >= '0' && a[i] <= '9')
			return CD_MATCH_OK;
	for (size_t i = 0; i < blen; i++)
		if (b[i] >= '0' && b[i] <= '9')
			return CD_MATCH_OK;
	if (cut && minl >= 5 && minl * 5 >= maxl * 3 &&
		memcmp(a, b, minl) == 0)
	{
		*out = true;
		return CD_MATCH_OK;
	}
	if (maxl - minl <= lim &&
		(maxl > 5 || maxl > minl || swapped_pair(a, b, alen, blen) ||
		 (alen == blen && near_key_slip(a, b, alen))))
	{
		int			d = (int) lim + 1;
		CdSimStatus st = cd_levenshtein(a, alen, b, blen, (int) lim, al, &d);

		if (st == CD_SIM_NOMEM)
			return CD_MATCH_NOMEM;
		*out = st == CD_SIM_OK && d <= (int) lim;
	}
	return CD_MATCH_OK;
}

/*
 * The distinct trigrams of a word's fold (its first CMP_MAX letters, padded " wo" ...
 * "rd ", without "  w"), sorted: the trigrams name_grams.c keys a word by.  Returns the
 * count.
 */
static int
fold_trigram_set(const Word *w, uint32_t *out)
{
	unsigned char p[CMP_MAX + 2];
	size_t		xl = w->flen < CMP_MAX ? w->flen : CMP_MAX;
	int			n = 0,
				o = 0;

	p[0] = ' ';
	memcpy(p + 1, w->fold, xl);
	p[xl + 1] = ' ';
	for (size_t i = 0; i + 3 <= xl + 2; i++)
	{
		uint32_t	t = ((uint32_t) p[i] << 16) | ((uint32_t) p[i + 1] << 8) | p[i + 2];
		int			k = n;

		/* insertion sort: at most CMP_MAX trigrams */
		while (k > 0 && out[k - 1] > t)
		{
			out[k] = out[k - 1];
			k--;
		}
		out[k] = t;
		n++;
	}
	for (int i = 0; i < n; i++)
		if (o == 0 || out[o - 1] != out[i])
			out[o++] = out[i];
	return o;
}

/*
 * Do the folds of two words stay near, as one edit of the written spelling leaves them
 * when the fold rewrites the letters around it (anastasiya / anastsiya: "ts" is one
 * sound, so the folds anastasya / anascya are three edits apart; sophie / sopie: sofe /
 * sope; jiang / jiqng: iyang / ikng)?  Both folds of 4+ letters (first CMP_MAX), and
 *	- of equal length: each loses at most 3 of its distinct trigrams in folds of up to 5
 *	  letters, 4 in longer ones (what one edit of the folds destroys);
 *	- 1 letter apart: they share a trigram, the shorter loses at most 3, the longer 4;
 *	- 2 letters apart: as for 1 letter apart (the longer may lose 5), and they begin with
 *	  the same 3 letters (polanev / polaev: polanev / polav).
 * name_grams.c bounds the rule by exactly these (plan_word, written_typo_loses), so the
 * index finds every pair it pairs; the first letters keep the evidence of folds 2
 * letters apart to two keys per length (all the trigrams there made the benchmark's
 * median latency 1.9 times what it was).
 */
static bool
folds_stay_near(const Word *x, const Word *y)
{
	uint32_t	tx[CMP_MAX],
				ty[CMP_MAX];
	int			xl = x->flen < CMP_MAX ? x->flen : CMP_MAX;
	int			yl = y->flen < CMP_MAX ? y->flen : CMP_MAX;
	int			delta = xl > yl ? xl - yl : yl - xl;
	int			nx,
				ny,
				shared = 0,
				i = 0,
				j = 0,
				lose_short,
				lose_long;

	if (xl < 4 || yl < 4 || delta > 2)
		return false;
	nx = fold_trigram_set(x, tx);
	ny = fold_trigram_set(y, ty);
	while (i < nx && j < ny)
	{
		if (tx[i] == ty[j])
		{
			shared++;
			i++;
			j++;
		}
		else if (tx[i] < ty[j])
			i++;
		else
			j++;
	}
	if (shared == 0 || (delta == 2 && memcmp(x->fold, y->fold, 3) != 0))
		return false;
	lose_short = delta == 0 ? (xl <= 5 ? 3 : 4) : 3;
	lose_long = delta == 0 ? (xl <= 5 ? 3 : 4) : 3 + delta;
	if (xl <= yl)
		return nx - shared <= lose_short && ny - shared <= lose_long;
	return ny - shared <= lose_short && nx - shared <= lose_long;
}

/*
 * Person words: a typo of one edit in the written (transliterated) spelling, by the
 * rules the folds are compared with (the same length gates, caps and exceptions:
 * Peer / Peter stay apart), where the fold made it two or more edits (Jiqng / Jiang:
 * ikng / iyang; Полаев / Поланев: polav / polanev), and the folds stay near
 * (folds_stay_near).  One edit in words of any length; scores at most 0.9 where the folds
 * have the same 4-5 letters (as a changed letter there).  *score only rises.
 * Measured on 25,399 slips of the demo generator's kinds (a neighbour key, a letter
 * dropped, doubled or two swapped) in the words of the benchmark's names, each compared
 * as a one-word name: 1,338 scored below 0.85 before, 611 of them now score 0.85 or
 * more; no slip scores less.
 */
static CdMatchStatus
written_typo(const Word *x, const Word *y, bool short_typos, bool both_known_apart,
			 const CdAllocator *al, double *score, PairKind *kind)
{
	size_t		xl = x->rlen < CMP_MAX ? x->rlen : CMP_MAX;
	size_t		yl = y->rlen < CMP_MAX ? y->rlen : CMP_MAX;
	size_t		maxl = xl > yl ? xl : yl;
	size_t		minl = xl < yl ? xl : yl;
	bool		swap,
				slip;
	double		jw,
				cap;
	CdSimStatus st;

	if (minl < 4 || maxl - minl > 1)
		return CD_MATCH_OK;
	swap = maxl <= 5 && swapped_pair(x->raw, y->raw, xl, yl);
	slip = maxl <= 5 && maxl == minl && !swap && near_key_slip(x->raw, y->raw, xl);
	if (!(maxl > 5 || swap || (short_typos && !both_known_apart && (maxl > minl || slip))))
		return CD_MATCH_OK;
	if (!folds_stay_near(x, y))
		return CD_MATCH_OK;
	st = typo_similarity(x->raw, xl, y->raw, yl, 1, al, &jw);
	if (st == CD_SIM_NOMEM)
		return CD_MATCH_NOMEM;
	if (st != CD_SIM_OK || jw < 0)
		return CD_MATCH_OK;		/* a word cut at MAXW bytes: no typo then */
	cap = both_known_apart ? 0.9 : 0.95;
	if ((maxl <= 5 && maxl == minl && !swap) || (x->flen == y->flen && x->flen <= 5))
		cap = SHORT_SUBST_CAP;
	if (jw > cap)
		jw = cap;
	if (jw > *score)
	{
		*score = jw;
		*kind = PK_TYPO;
	}
	return CD_MATCH_OK;
}

static CdMatchStatus
pair_score(const Word *x, const Word *y, bool person, bool short_typos, const CdAllocator *al,
		   double *score, PairKind *kind)
{
	bool		both_known_apart;
	size_t		xl,
				yl,
				maxl,
				minl;

	*score = 0;
	*kind = PK_NONE;
	if (x->flen == y->flen && memcmp(x->fold, y->fold, x->flen) == 0)
	{
		*score = 1.0;
		*kind = PK_EXACT;
		return CD_MATCH_OK;
	}
	both_known_apart = person && x->ngroups > 0 && y->ngroups > 0;
	if (both_known_apart && groups_meet(x, y))
	{
		*score = 0.95;
		*kind = PK_NICK;
		return CD_MATCH_OK;
	}
	if (person)
	{
		if (gender_form(x, y) || gender_form(y, x))
		{
			*score = 0.85;
			*kind = PK_GENDER;
			return CD_MATCH_OK;
		}
		if (initial_of(x, y) || initial_of(y, x))
		{
			*score = 0.8;
			*kind = PK_INITIAL;
			return CD_MATCH_OK;
		}
	}

	xl = x->flen < CMP_MAX ? x->flen : CMP_MAX;
	yl = y->flen < CMP_MAX ? y->flen : CMP_MAX;
	maxl = xl > yl ? xl : yl;
	minl = xl < yl ? xl : yl;
	if (minl >= 4)
	{
		int			lim = maxl >= 9 ? typo_edits_long : 1;

		/*
		 * In words of up to 5 letters one changed letter is as often another name
		 * (Mary/Mark, Jane/June, Lena/Lana, Eric/Erica) as a typo (Suaan/Susan,
		 * Ivpn/Ivan, Sara/Sarah, Hnry/Henry): there a letter dropped or doubled, or
		 * changed to a keyboard neighbour (keyboard_near), counts as a typo of person
		 * names (short_typos) unless the nickname data knows both words as names of
		 * their own, and a changed letter scores at most SHORT_SUBST_CAP; two adjacent
		 * letters swapped are always a typo.
		 * name_grams.c bounds these rules (word_credit).
		 */
		bool		swap = maxl <= 5 && swapped_pair(x->fold, y->fold, xl, yl);
		bool		slip = maxl <= 5 && maxl == minl && !swap &&
			(x->rlen == y->rlen ? near_key_slip(x->raw, y->raw, x->rlen) :
			 near_key_slip(x->fold, y->fold, xl));

		if (maxl - minl <= (size_t) lim &&
			(maxl > 5 || swap ||
			 (short_typos && !both_known_apart && (maxl > minl || slip))))
		{
			double		jw;
			int			d;
			CdSimStatus st = typo_similarity_d(x->fold, xl, y->fold, yl, lim, al, &jw, &d);

			if (st == CD_SIM_NOMEM)
				return CD_MATCH_NOMEM;
			if (st != CD_SIM_OK)
				return CD_MATCH_INVALID_UTF8;	/* cannot happen: folds are ASCII */
			if (jw >= 0)
			{
				double		cap = both_known_apart ? 0.9 : 0.95;
				bool		farther = false;

				if (maxl <= 5 && maxl == minl && !swap)
					cap = SHORT_SUBST_CAP;
				*score = jw < cap ? jw : cap;
				*kind = PK_TYPO;

				/*
				 * The fold merges spellings, not slips: when the written words are more
				 * edits apart than their folds, the fold took part (Мирноов / Смирнов:
				 * mirnov / smirnov one edit, mirnoov / smirnov two as written), and
				 * the pair ranks below one whose slip is one as typed (Мирноов /
				 * Миронов: two letters swapped, one edit either way), which the cap
				 * would otherwise tie.
				 */
				if (person)
				{
					CdMatchStatus ms = written_farther(x, y, d, al, &farther);

					if (ms != CD_MATCH_OK)
						return ms;
					if (farther)
						*score -= FOLD_TYPO_STEP;
				}
			}
		}
	}
	if (person && *score < 0.95)
	{
		CdMatchStatus st = written_typo(x, y, short_typos, both_known_apart, al, score, kind);

		if (st != CD_MATCH_OK)
			return st;
	}
	/*
	 * The key drops vowels and puts all first vowels in one class, which suits
	 * spellings of one name (Yuri, Iurii, Juri; Shchukin, Chtchoukine) but would also
	 * make short names meet (Mary/Mira, Anna/Inna, Jane/June): the folds already merge
	 * the spellings, so between words the key needs 3+ classes and the first vowel
	 * sounds must agree.
	 */
	if (*score < 0.9 && x->plen >= 3 && x->plen == y->plen &&
		memcmp(x->phon, y->phon, x->plen) == 0 && !both_known_apart &&
		(cd_fold_lead_vowel(x->fold, x->flen) == cd_fold_lead_vowel(y->fold, y->flen) ||
		 (glide_vowel(x->raw, x->rlen) != '\0' &&
		  glide_vowel(x->raw, x->rlen) == glide_vowel(y->raw, y->rlen))))
	{
		*score = 0.9;
		*kind = PK_PHONETIC;
	}
	/* a word joined by join_transcriptions against the other side's Latin word */
	if (person && *score < 0.85 && ((x->flags ^ y->flags) & WF_TRANSCRIBED))
	{
		const Word *t = (x->flags & WF_TRANSCRIBED) ? x : y;
		const Word *o = t == x ? y : x;
		CdTrSkeleton ls;

		if (transcription_target(o, &ls))
		{
			double		tr = cd_tr_similarity(&ls, &t->tr);

			if (tr > *score)
			{
				*score = tr;
				*kind = PK_TRANSCRIPTION;
			}
		}
	}
	if (!person && *score < 0.85)
		return company_word_variant(x, y, al, score, kind);
	return CD_MATCH_OK;
}

/* ---------------------------------------------------------------- pairing and score */

/*
 * Best assignment of rows (the larger side) to columns (the smaller side, at most
 * DP_MAX) maximizing the sum of s; row_to_col[r] = column or -1.
 */
static void
assign_dp(int nr, int nc, const double s[MAXN][MAXN], int *row_to_col)
{
	double		dp[MAXN + 1][1 << DP_MAX];
	int8_t		choice[MAXN + 1][1 << DP_MAX];
	int			nm = 1 << nc;
	int			r,
				m,
				j,
				best = 0;

	for (r = 0; r <= nr; r++)
		for (m = 0; m < nm; m++)
		{
			dp[r][m] = -1.0;
			choice[r][m] = -1;
		}
	dp[0][0] = 0;
	for (r = 0; r < nr; r++)
		for (m = 0; m < nm; m++)
		{
			if (dp[r][m] < 0)
				continue;
			if (dp[r][m] > dp[r + 1][m])
			{
				dp[r + 1][m] = dp[r][m];
				choice[r + 1][m] = -1;
			}
			for (j = 0; j < nc; j++)
			{
				double		v;

				if ((m & (1 << j)) || s[r][j] <= 0)
					continue;
				v = dp[r][m] + s[r][j];
				if (v > dp[r + 1][m | (1 << j)])
				{
					dp[r + 1][m | (1 << j)] = v;
					choice[r + 1][m | (1 << j)] = (int8_t) j;
				}
			}
		}
	for (m = 1; m < nm; m++)
		if (dp[nr][m] > dp[nr][best])
			best = m;
	m = best;
	for (r = nr; r > 0; r--)
	{
		j = choice[r][m];
		row_to_col[r - 1] = j;
		if (j >= 0)
			m &= ~(1 << j);
	}
}

/*
 * The other readings (see "readings") for the words of a person name that found no
 * pair of 0.9 or more by their own spelling: what sounds alike in some reading scores
 * as a phonetic match.  Words with a strong pair already are left alone, which keeps
 * the common case (same spelling up to the fold) free of the extra keys.
 */
static void
apply_readings(Side *rows, Side *cols, double s[MAXN][MAXN], PairKind kind[MAXN][MAXN])
{
	bool		row_done[MAXN] = {false};
	bool		col_done[MAXN] = {false};
	int			r,
				c;

	for (r = 0; r < rows->n; r++)
		for (c = 0; c < cols->n; c++)
			if (s[r][c] >= 0.9)
				row_done[r] = col_done[c] = true;
	for (r = 0; r < rows->n; r++)
		for (c = 0; c < cols->n; c++)
		{
			Word	   *x = &rows->w[r];
			Word	   *y = &cols->w[c];

			if (row_done[r] || col_done[c] || (x->ngroups > 0 && y->ngroups > 0) ||
				(kind[r][c] != PK_NONE && kind[r][c] != PK_TYPO &&
				 kind[r][c] != PK_TRANSCRIPTION))
				continue;
			if (readings_meet(x, rows->readings, y, cols->readings))
			{
				s[r][c] = 0.9;
				kind[r][c] = PK_PHONETIC;
			}
		}
}

/* best-first greedy pairing, for sides too large for assign_dp */
static void
assign_greedy(int nr, int nc, const double s[MAXN][MAXN], int *row_to_col)
{
	bool		col_used[MAXN] = {false};
	int			r;

	for (r = 0; r < nr; r++)
		row_to_col[r] = -1;
	for (;;)
	{
		double		bestv = 0;
		int			br = -1,
					bc = -1,
					c;

		for (r = 0; r < nr; r++)
		{
			if (row_to_col[r] >= 0)
				continue;
			for (c = 0; c < nc; c++)
				if (!col_used[c] && s[r][c] > bestv)
				{
					bestv = s[r][c];
					br = r;
					bc = c;
				}
		}
		if (br < 0)
			break;
		row_to_col[br] = bc;
		col_used[bc] = true;
	}
}

static CdMatchStatus
score_sides(Side *a, Side *b, bool person, bool short_typos, const CdAllocator *al, double *out)
{
	Side	   *rows = a->n >= b->n ? a : b;
	Side	   *cols = a->n >= b->n ? b : a;
	double		s[MAXN][MAXN];
	PairKind	kind[MAXN][MAXN];
	int			row_to_col[MAXN];
	bool		col_used[MAXN] = {false};
	int			r,
				c,
				pairs = 0;
	bool		strong = false;
	double		sum = 0,
				denom;
	int			pr = 0,
				or_ = 0,
				pc = 0,
				oc = 0,
				kp,
				kn;

	*out = 0;
	if (rows->n == 0 || cols->n == 0)
		return CD_MATCH_OK;
	for (r = 0; r < rows->n; r++)
		for (c = 0; c < cols->n; c++)
		{
			CdMatchStatus st = pair_score(&rows->w[r], &cols->w[c], person, short_typos, al,
										  &s[r][c], &kind[r][c]);

			if (st != CD_MATCH_OK)
				return st;
		}
	if (person)
		apply_readings(rows, cols, s, kind);
	if (cols->n <= DP_MAX)
		assign_dp(rows->n, cols->n, s, row_to_col);
	else
		assign_greedy(rows->n, cols->n, s, row_to_col);

	for (r = 0; r < rows->n; r++)
	{
		c = row_to_col[r];
		if (c >= 0 && kind[r][c] != PK_INITIAL && s[r][c] >= 0.85)
			strong = true;
	}
	for (r = 0; r < rows->n; r++)
	{
		c = row_to_col[r];
		if (c < 0)
		{
			if (rows->w[r].flags & WF_PATRONYMIC)
				pr++;
			else
				or_++;
			continue;
		}
		col_used[c] = true;
		pairs++;
		sum += kind[r][c] == PK_INITIAL ? (strong ? 0.8 : 0.4) : s[r][c];
	}
	for (c = 0; c < cols->n; c++)
		if (!col_used[c])
		{
			if (cols->w[c].flags & WF_PATRONYMIC)
				pc++;
			else
				oc++;
		}
	kp = pr < pc ? pr : pc;
	kn = or_ < oc ? or_ : oc;
	denom = pairs + 0.5 * kp + kn + 0.05 * (pr + pc - 2 * kp) + 0.25 * (or_ + oc - 2 * kn);
	if (denom <= 0)
		return CD_MATCH_OK;
	*out = sum / denom;
	if (*out > 1)
		*out = 1;
	return CD_MATCH_OK;
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

static void
mark_patronymics(Side *side)
{
	int			i;

	for (i = 0; i < side->n; i++)
	{
		if (is_patronymic(&side->w[i], i, side->n))
			side->w[i].flags |= WF_PATRONYMIC;
		if (i + 1 < side->n && (side->w[i].flags & WF_INITIAL) &&
			(side->w[i + 1].flags & WF_INITIAL))
			side->w[i].flags |= WF_FIRST_INITIAL;
	}
}

/* compare two transliterated texts; ra, rb: the readings their words may have */
static CdMatchStatus
compare_translit(const CdBuf *ta, const CdBuf *tb, bool person, bool short_typos, unsigned ra, unsigned rb,
				 const CdAllocator *al, double *out)
{
	Side		sa,
				sb;

	*out = 0;
	if (ta->len == 0 || tb->len == 0)
		return CD_MATCH_OK;
	if (ta->len == tb->len && memcmp(ta->data, tb->data, ta->len) == 0)
	{
		*out = 1.0;
		return CD_MATCH_OK;
	}
	split_words_memo(ta->data, ta->len, person, &sa);
	split_words_memo(tb->data, tb->len, person, &sb);
	sa.readings = ra;
	sb.readings = rb;
	join_words(&sa, &sb, person);
	join_words(&sb, &sa, person);
	if (person)
	{
		join_transcriptions(&sa, &sb);
		join_transcriptions(&sb, &sa);
		mark_patronymics(&sa);
		mark_patronymics(&sb);
	}
	return score_sides(&sa, &sb, person, short_typos, al, out);
}

static CdMatchStatus
person_similarity(const char *a, size_t alen, const char *b, size_t blen, bool short_typos,
				  const CdAllocator *al, double *out)
{
	CdMatchStatus st;
	CdBuf		ta,
				tb;
	CdTextStatus ts;

	*out = 0;
	st = cd_match_check_args(a, alen, b, blen);
	if (st != CD_MATCH_OK)
		return st;
	cd_match_canonical_order(&a, &alen, &b, &blen);

	cd_buf_init(&ta, al);
	cd_buf_init(&tb, al);
	ts = cd_translit(a, alen, &ta);
	if (ts == CD_TEXT_OK)
		ts = cd_translit(b, blen, &tb);
	if (ts == CD_TEXT_OK)
		st = compare_translit(&ta, &tb, true, short_typos, text_readings(a, alen),
							  text_readings(b, blen), al, out);
	else
		st = text_status(ts);
	cd_buf_free(&ta);
	cd_buf_free(&tb);
	if (st != CD_MATCH_OK)
		*out = 0;
	return st;
}

CdMatchStatus
cd_name_similarity(const char *a, size_t alen, const char *b, size_t blen,
				   const CdAllocator *al, double *out)
{
	return person_similarity(a, alen, b, blen, true, al, out);
}

/*
 * cd_name_similarity with typos of one edit in words of any length (the rule allows two
 * in folds of 9+ letters) and without Han transcriptions (join_transcriptions): what the
 * evidence of name_grams.c covers (its unit tests and
 * fuzzer check the contract against it).  Not thread-safe, like the rest of the core, and
 * only for callers whose allocator cannot longjmp (the unit tests and the fuzzer): an error
 * raised between the two assignments would leave the one-edit rule on for the backend.
 */
CdMatchStatus
cd_name_similarity_one_edit(const char *a, size_t alen, const char *b, size_t blen,
							const CdAllocator *al, double *out)
{
	CdMatchStatus st;

	typo_edits_long = 1;
	han_transcriptions = false;
	st = cd_name_similarity(a, alen, b, blen, al, out);
	typo_edits_long = TYPO_EDITS_LONG;
	han_transcriptions = true;
	return st;
}

/*
 * One part of a name: the same rules since the short-word typo rule moved into
 * cd_name_similarity (name_grams.c bounds it now); kept as its own entry point for
 * the first, last and middle name roles.
 */
CdMatchStatus
cd_name_part_similarity(const char *a, size_t alen, const char *b, size_t blen,
						const CdAllocator *al, double *out)
{
	return cd_name_similarity(a, alen, b, blen, al, out);
}

/* company key, then transliterated */
static CdTextStatus
company_translit(const char *s, size_t len, CdBuf *tmp, CdBuf *out)
{
	CdTextStatus ts = cd_company_key(s, len, tmp);

	if (ts == CD_TEXT_OK && tmp->len > 0)
		ts = cd_translit(tmp->data, tmp->len, out);
	return ts;
}

CdMatchStatus
cd_company_similarity(const char *a, size_t alen, const char *b, size_t blen,
					  const CdAllocator *al, double *out)
{
	CdMatchStatus st;
	CdBuf		tmp,
				ta,
				tb;
	CdTextStatus ts;

	*out = 0;
	st = cd_match_check_args(a, alen, b, blen);
	if (st != CD_MATCH_OK)
		return st;
	cd_match_canonical_order(&a, &alen, &b, &blen);

	cd_buf_init(&tmp, al);
	cd_buf_init(&ta, al);
	cd_buf_init(&tb, al);
	ts = company_translit(a, alen, &tmp, &ta);
	if (ts == CD_TEXT_OK)
	{
		cd_buf_reset(&tmp);
		ts = company_translit(b, blen, &tmp, &tb);
	}
	if (ts == CD_TEXT_OK)
		st = compare_translit(&ta, &tb, false, false, 0, 0, al, out);
	else
		st = text_status(ts);
	cd_buf_free(&tmp);
	cd_buf_free(&ta);
	cd_buf_free(&tb);
	if (st != CD_MATCH_OK)
		*out = 0;
	return st;
}

CdMatchStatus
cd_nickname_canonical(const char *word, size_t len, CdBuf *out)
{
	CdBuf		tr;
	CdTextStatus ts;
	size_t		orig_len = out->len;
	size_t		i = 0;
	bool		first = true;
	bool		ok = true;

	if (len > CD_MATCH_MAX_BYTES)
		return CD_MATCH_TOO_LONG;
	if (!cd_utf8_valid(word, len))
		return CD_MATCH_INVALID_UTF8;
	cd_buf_init(&tr, out->alloc);
	ts = cd_translit(word, len, &tr);
	if (ts != CD_TEXT_OK)
	{
		cd_buf_free(&tr);
		return text_status(ts);
	}
	while (ok && i < tr.len)
	{
		size_t		start = i;
		size_t		n;

		while (i < tr.len && tr.data[i] != ' ')
			i++;
		n = i - start;
		if (n > 0)
		{
			const char *rep = tr.data + start;
			size_t		replen = n;

			if (n <= MAXW)
			{
				char		fold[FOLD_SIZE];
				char		raw[MAXW + 1];
				long		k;

				memcpy(raw, tr.data + start, n);
				raw[n] = '\0';
				cd_spell_fold_word(raw, n, fold);
				k = nick_find(fold);
				if (k >= 0)
				{
					rep = cd_nickname_canonicals[cd_nickname_entries[k].group];
					replen = strlen(rep);
				}
			}
			ok = (first || cd_buf_append_byte(out, ' ')) && cd_buf_append(out, rep, replen);
			first = false;
		}
		while (i < tr.len && tr.data[i] == ' ')
			i++;
	}
	cd_buf_free(&tr);
	if (!ok)
	{
		out->len = orig_len;
		if (out->data)
			out->data[orig_len] = '\0';
		return CD_MATCH_NOMEM;
	}
	return CD_MATCH_OK;
}
