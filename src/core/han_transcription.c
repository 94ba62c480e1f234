/*
 * han_transcription.c
 *		Consonant skeletons of Latin name words and of runs of pinyin syllables, and how
 *		near they are as a Chinese transcription (see han_transcription.h for the rules).
 */
#include <string.h>

#include "han_transcription.h"

/* costs in half units: a weak class is half as much a difference as a strong one */
#define COST_STRONG 2
#define COST_WEAK 1
#define COST_NEAR 1				/* M for N: a final m is written with an n syllable */

typedef struct SkelBuilder
{
	CdTrSkeleton *s;
	bool		overflow;
	bool		vowel_since;	/* a vowel since the last class was added */
} SkelBuilder;

static void
put(SkelBuilder *b, char cls, bool weak, bool merge)
{
	CdTrSkeleton *s = b->s;

	/* one sound written twice (tt, ss, cc) is one class, unless a vowel parts them */
	if (merge && s->n > 0 && s->cls[s->n - 1] == cls && !b->vowel_since)
	{
		s->weak[s->n - 1] = s->weak[s->n - 1] && weak;
		return;
	}
	if (s->n >= CD_TR_MAX)
	{
		b->overflow = true;
		return;
	}
	s->cls[s->n] = cls;
	s->weak[s->n] = weak;
	s->n++;
	b->vowel_since = false;
}

static inline bool
is_vowel_letter(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* the Latin letters that spell one consonant sound, longest first */
typedef struct Digraph
{
	const char *s;
	size_t		n;
	char		cls;
} Digraph;

#define DG(x, c) {x, sizeof(x) - 1, c}

static const Digraph digraphs[] = {
	DG("tsch", 'S'), DG("sch", 'S'), DG("tch", 'S'), DG("cch", 'K'), DG("tz", 'S'),
	DG("ts", 'S'), DG("sh", 'S'), DG("ch", 'S'), DG("zh", 'S'), DG("th", 'Q'),
	DG("ph", 'F'), DG("wh", 'F'), DG("ck", 'K'), DG("qu", 'K'), DG("kh", 'H')
};

static char
letter_class(char c)
{
	switch (c)
	{
		case 'b':
		case 'p':
			return 'P';
		case 'd':
		case 't':
			return 'T';
		case 'g':
		case 'k':
		case 'q':
			return 'K';
		case 'f':
		case 'v':
		case 'w':
			return 'F';
		case 'm':
			return 'M';
		case 'n':
			return 'N';
		case 'l':
		case 'r':
			return 'L';
		case 's':
		case 'z':
		case 'j':
			return 'S';
		case 'h':
			return 'H';
		default:
			return '\0';
	}
}

static bool
latin_skeleton(const char *w, size_t n, CdTrSkeleton *out)
{
	SkelBuilder b = {out, false, false};
	size_t		i;

	out->n = 0;
	out->nsyl = 0;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (w[i] < 'a' || w[i] > 'z')
			return false;
	if (is_vowel_letter(w[0]))
		put(&b, 'V', false, false);
	i = 0;
	while (i < n)
	{
		char		c = w[i];
		char		nx = i + 1 < n ? w[i + 1] : '\0';
		bool		next_vowel;
		bool		after_consonant;
		size_t		k;
		char		cls;
		bool		weak = false;

		/* Dutch ij is a vowel (Dijkema 迪杰马 "di ji ma") */
		if (is_vowel_letter(c) || (c == 'j' && i > 0 && w[i - 1] == 'i'))
		{
			b.vowel_since = true;
			i++;
			continue;
		}
		if (c == 'g' && nx == 'h')
		{
			/* gh: a g at the start (Ghafoor), silent after a vowel (Wright) */
			if (i == 0)
				put(&b, 'K', false, true);
			i += 2;
			continue;
		}
		for (k = 0; k < sizeof(digraphs) / sizeof(digraphs[0]); k++)
			if (digraphs[k].n <= n - i && memcmp(w + i, digraphs[k].s, digraphs[k].n) == 0)
				break;
		if (k < sizeof(digraphs) / sizeof(digraphs[0]))
		{
			put(&b, digraphs[k].cls, false, true);
			i += digraphs[k].n;
			continue;
		}
		if (c == 'x')
		{
			put(&b, 'K', false, true);
			put(&b, 'S', false, true);
			i++;
			continue;
		}
		next_vowel = nx != '\0' && is_vowel_letter(nx);
		after_consonant = i > 0 && !is_vowel_letter(w[i - 1]) && w[i - 1] != 'h';
		if (c == 'c')
			cls = (nx == 'e' || nx == 'i' || nx == 'y') ? 'S' : 'K';
		else if (c == 'm' && (nx == 'b' || nx == 'p'))
		{
			cls = 'N';
			weak = true;
		}
		else if (c == 'n' && nx == 'g' && !(i + 2 < n && is_vowel_letter(w[i + 2])))
		{
			cls = 'N';
			weak = true;
			i++;				/* the g of ng */
		}
		else
			cls = letter_class(c);
		if (cls == '\0')
			return false;		/* cannot happen: every letter has a class */
		if ((c == 'r' || c == 'l') && (!next_vowel || after_consonant))
			weak = true;
		if (c == 'n' && nx != '\0' && !next_vowel)
			weak = true;
		if (c == 'h' || c == 'j')
			weak = true;
		put(&b, cls, weak, true);
		i++;
	}
	return !b.overflow;
}

static bool
pinyin_skeleton(const char *const *syl, const size_t *len, int nsyl, CdTrSkeleton *out)
{
	SkelBuilder b = {out, false, false};
	bool		nasal_final = false;
	int			k;

	out->n = 0;
	out->nsyl = 0;
	if (nsyl <= 0)
		return false;
	if (len[0] > 0 && is_vowel_letter(syl[0][0]))
		put(&b, 'V', false, false);
	for (k = 0; k < nsyl; k++)
	{
		const char *s = syl[k];
		size_t		n = len[k];
		size_t		i = 0;
		char		cls = '\0';

		if (n == 0)
			return false;
		if (n == 2 && s[0] == 'e' && s[1] == 'r')
		{
			/* 尔 "er" writes a final r or l (Baskerville: wei er) */
			put(&b, 'L', true, false);
			nasal_final = false;
			continue;
		}
		if (n >= 2 && s[1] == 'h' && (s[0] == 'z' || s[0] == 'c' || s[0] == 's'))
		{
			cls = 'S';
			i = 2;
		}
		else
		{
			i = 1;
			switch (s[0])
			{
				case 'j':
				case 'q':
					cls = 'J';
					break;
				case 'x':
					cls = 'X';
					break;
				case 'c':
					cls = 'S';
					break;
				case 'y':
					cls = '\0';
					break;
				case 'a':
				case 'e':
				case 'i':
				case 'o':
				case 'u':
					i = 0;
					break;
				default:
					cls = letter_class(s[0]);
					if (cls == '\0')
						return false;
			}
		}
		/* kan na: one n of the Latin written as a final and an initial (Kannard) */
		if (cls != '\0' && !(cls == 'N' && nasal_final))
			put(&b, cls, false, false);
		nasal_final = false;
		if (n > i && s[n - 1] == 'n')
		{
			put(&b, 'N', true, false);
			nasal_final = true;
		}
		else if (n > i + 1 && s[n - 2] == 'n' && s[n - 1] == 'g')
		{
			put(&b, 'N', true, false);
			nasal_final = true;
		}
		else if (n > i && s[n - 1] == 'r')
			put(&b, 'L', true, false);
	}
	if (b.overflow)
		return false;
	out->nsyl = nsyl;
	return true;
}

/* a failed skeleton is empty, whatever was put in it before the failure showed */
bool
cd_tr_latin_skeleton(const char *w, size_t n, CdTrSkeleton *out)
{
	if (latin_skeleton(w, n, out))
		return true;
	out->n = 0;
	out->nsyl = 0;
	return false;
}

bool
cd_tr_pinyin_skeleton(const char *const *syl, const size_t *len, int nsyl, CdTrSkeleton *out)
{
	if (pinyin_skeleton(syl, len, nsyl, out))
		return true;
	out->n = 0;
	out->nsyl = 0;
	return false;
}

static int
change_cost(char a, char b)
{
	char		lo,
				hi;

	if (a == b)
		return 0;
	lo = a < b ? a : b;
	hi = a < b ? b : a;
	switch (lo)
	{
		case 'J':				/* j q: S or K */
			return (hi == 'K' || hi == 'S' || hi == 'Q' || hi == 'X') ? 0 : COST_STRONG;
		case 'H':				/* x: S, H or K */
			return hi == 'X' ? 0 : COST_STRONG;
		case 'K':
			return hi == 'X' ? 0 : COST_STRONG;
		case 'M':
			return hi == 'N' ? COST_NEAR : COST_STRONG;
		case 'Q':				/* th: T or S (and j q x, which write s) */
			return (hi == 'T' || hi == 'S' || hi == 'X') ? 0 : COST_STRONG;
		case 'S':
			return hi == 'X' ? 0 : COST_STRONG;
		default:
			return COST_STRONG;
	}
}

double
cd_tr_similarity(const CdTrSkeleton *latin, const CdTrSkeleton *pinyin)
{
	int			d[CD_TR_MAX + 1][CD_TR_MAX + 1];
	int			la = latin->n,
				lb = pinyin->n;
	int			m = la < lb ? la : lb;
	int			i,
				j,
				dist;

	if (m < 2 || la > CD_TR_MAX || lb > CD_TR_MAX)
		return 0;
	/*
	 * Each class one side has more costs at least COST_WEAK, and no score is left beyond
	 * COST_STRONG.
	 */
	if ((la > lb ? la - lb : lb - la) * COST_WEAK > COST_STRONG)
		return 0;
	d[0][0] = 0;
	for (i = 1; i <= la; i++)
		d[i][0] = d[i - 1][0] + (latin->weak[i - 1] ? COST_WEAK : COST_STRONG);
	for (j = 1; j <= lb; j++)
		d[0][j] = d[0][j - 1] + (pinyin->weak[j - 1] ? COST_WEAK : COST_STRONG);
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++)
		{
			int			best = d[i - 1][j] + (latin->weak[i - 1] ? COST_WEAK : COST_STRONG);
			int			ins = d[i][j - 1] + (pinyin->weak[j - 1] ? COST_WEAK : COST_STRONG);
			int			sub = d[i - 1][j - 1] + change_cost(latin->cls[i - 1], pinyin->cls[j - 1]);

			if (ins < best)
				best = ins;
			if (sub < best)
				best = sub;
			d[i][j] = best;
		}
	dist = d[la][lb];
	/* two syllables are as often a Chinese name of their own (张静 "zhang jing") */
	if ((latin->nsyl == 2 || pinyin->nsyl == 2) && dist > 0)
		return 0;
	if (dist == 0)
		return m >= 3 ? 0.85 : 0.8;
	if (dist <= COST_WEAK && m >= 3)
		return 0.8;
	if (dist <= COST_STRONG && m >= 4)
		return 0.75;
	return 0;
}
