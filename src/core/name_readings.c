/*
 * name_readings.c
 *		The other readings of a Latin spelling of a name (see name_readings.h): the one
 *		rule set name_match.c compares by and name_grams.c keys by.
 */
#include <string.h>

#include "name_match.h"
#include "name_readings.h"

typedef enum RdCtx
{
	RC_ANY,						/* anywhere */
	RC_START,					/* at the start of the word */
	RC_FRONT,					/* before e, i or y */
	RC_VOWEL,					/* before a vowel */
	RC_END,						/* at the end of the word */
	RC_END_CONS,				/* at the end of the word, after a consonant */
	RC_CONS,					/* before a consonant */
	RC_CLOSED,					/* before a consonant and then a consonant or the end */
	RC_MAGIC,					/* before one consonant and a final e (Kate, Luke) */
	RC_NOT_VOWEL				/* before a consonant or at the end */
} RdCtx;

typedef struct RdRule
{
	const char *from;
	unsigned char fromlen;
	const char *to;
	unsigned char tolen;
	RdCtx		ctx;
} RdRule;

#define RD(f, t, c) {f, sizeof(f) - 1, t, sizeof(t) - 1, c}
#define RD_END_RULES {NULL, 0, NULL, 0, RC_ANY}

/* rules of a reading are tried in order at each position: longer patterns first */
static const RdRule rd_english[] = {
	RD("j", "dzh", RC_ANY), RD("gh", "", RC_ANY),
	RD("g", "dzh", RC_FRONT), RD("wh", "u", RC_START), RD("wr", "r", RC_START),
	RD("kn", "n", RC_START), RD("aw", "ou", RC_ANY), RD("ow", "ou", RC_ANY),
	RD("au", "o", RC_ANY), RD("ay", "ei", RC_ANY), RD("ai", "ei", RC_ANY),
	RD("ew", "yu", RC_ANY), RD("ee", "i", RC_ANY), RD("ea", "i", RC_ANY),
	RD("oo", "u", RC_ANY), RD("ey", "i", RC_END), RD("ie", "i", RC_END), RD_END_RULES
};

/*
 * English vowels: the English reading with the vowels of a stressed syllable, a reading
 * of its own because a final e is silent in Kate (Кейт) and Moore (Мур) but not in Jaffe
 * (Джаффе), and a is э in Andy (Энди) but эй in James (Джеймс).
 */
static const RdRule rd_english_vowels[] = {
	RD("j", "dzh", RC_ANY), RD("eigh", "i", RC_ANY), RD("gh", "", RC_ANY),
	RD("ge", "dzh", RC_END), RD("g", "dzh", RC_FRONT), RD("wh", "u", RC_START),
	RD("wr", "r", RC_START), RD("kn", "n", RC_START), RD("aw", "ou", RC_ANY),
	RD("ow", "ou", RC_ANY), RD("au", "o", RC_ANY), RD("ay", "ei", RC_ANY),
	RD("ai", "ei", RC_ANY), RD("ei", "i", RC_ANY), RD("ew", "yu", RC_ANY),
	RD("ee", "i", RC_ANY), RD("ea", "i", RC_ANY), RD("oo", "u", RC_ANY),
	RD("ey", "i", RC_END), RD("ie", "i", RC_END), RD("ce", "s", RC_END),
	RD("a", "ei", RC_MAGIC), RD("e", "i", RC_MAGIC), RD("i", "ai", RC_MAGIC),
	RD("o", "ou", RC_MAGIC), RD("u", "yu", RC_MAGIC), RD("a", "e", RC_CONS),
	RD("u", "a", RC_CLOSED), RD("e", "", RC_END_CONS), RD_END_RULES
};
static const RdRule rd_french[] = {
	RD("j", "zh", RC_ANY), RD("ge", "zh", RC_VOWEL), RD("g", "zh", RC_FRONT),
	RD("ch", "sh", RC_ANY), RD("qu", "k", RC_ANY), RD("gu", "g", RC_FRONT),
	RD("eau", "o", RC_ANY), RD("au", "o", RC_ANY), RD("ou", "u", RC_ANY),
	RD("oi", "ua", RC_ANY), RD("ier", "ie", RC_END), RD("es", "", RC_END),
	RD("s", "", RC_END), RD("t", "", RC_END), RD("d", "", RC_END), RD("x", "", RC_END),
	RD("e", "", RC_END_CONS), RD_END_RULES
};
static const RdRule rd_german[] = {
	RD("sch", "sh", RC_ANY), RD("ch", "kh", RC_ANY), RD("st", "sht", RC_START),
	RD("sp", "shp", RC_START), RD("sz", "sh", RC_ANY), RD("rz", "zh", RC_ANY),
	RD("v", "f", RC_ANY), RD("ei", "ai", RC_ANY), RD("eu", "oi", RC_ANY),
	RD("ie", "i", RC_ANY), RD("ah", "a", RC_NOT_VOWEL), RD("eh", "e", RC_NOT_VOWEL),
	RD("ih", "i", RC_NOT_VOWEL), RD("oh", "o", RC_NOT_VOWEL), RD("uh", "u", RC_NOT_VOWEL),
	RD_END_RULES
};
static const RdRule rd_italian[] = {
	RD("sci", "sh", RC_VOWEL), RD("sc", "sh", RC_FRONT), RD("ch", "k", RC_ANY),
	RD("cci", "ch", RC_VOWEL), RD("cc", "ch", RC_FRONT), RD("ci", "ch", RC_VOWEL),
	RD("c", "ch", RC_FRONT), RD("ggi", "dzh", RC_VOWEL), RD("gg", "dzh", RC_FRONT),
	RD("gli", "ly", RC_VOWEL), RD("gi", "dzh", RC_VOWEL), RD("g", "dzh", RC_FRONT),
	RD("gn", "ny", RC_VOWEL), RD_END_RULES
};
static const RdRule rd_spanish[] = {
	RD("j", "kh", RC_ANY), RD("g", "kh", RC_FRONT), RD("qu", "k", RC_FRONT),
	RD("gu", "g", RC_FRONT), RD_END_RULES
};
static const RdRule rd_japanese[] = {
	RD("sh", "s", RC_ANY), RD("ch", "t", RC_ANY), RD("j", "dz", RC_ANY), RD_END_RULES
};
static const RdRule rd_hungarian[] = {
	RD("sz", "s", RC_ANY), RD("cs", "ch", RC_ANY), RD("zs", "zh", RC_ANY),
	RD("sh", "sh", RC_ANY), RD("s", "sh", RC_ANY), RD("ch", "kh", RC_ANY),
	RD("c", "ts", RC_ANY), RD_END_RULES
};
static const RdRule rd_pinyin[] = {
	RD("zh", "chzh", RC_ANY), RD("ch", "ch", RC_ANY), RD("sh", "sh", RC_ANY),
	RD("j", "tsz", RC_ANY), RD("q", "ts", RC_ANY), RD("x", "s", RC_ANY),
	RD("z", "tsz", RC_ANY), RD("c", "ts", RC_ANY), RD("r", "zh", RC_START),
	RD("ong", "un", RC_ANY), RD("ng", "n", RC_ANY), RD_END_RULES
};

static const RdRule *const readings[CD_RD_COUNT] = {
	rd_english, rd_french, rd_german, rd_italian, rd_spanish, rd_japanese, rd_hungarian,
	rd_english_vowels, rd_pinyin
};

static inline bool
rd_consonant(char c)
{
	return c >= 'a' && c <= 'z' && strchr("aeiouy", c) == NULL;
}

static inline bool
rd_context(const char *w, size_t n, size_t i, size_t k, RdCtx ctx)
{
	char		nx = i + k < n ? w[i + k] : '\0';
	char		nx2 = i + k + 1 < n ? w[i + k + 1] : '\0';

	switch (ctx)
	{
		case RC_END_CONS:
			return i + k == n && i > 0 && rd_consonant(w[i - 1]);
		case RC_CONS:
			return rd_consonant(nx);
		case RC_CLOSED:
			return rd_consonant(nx) && (nx2 == '\0' || rd_consonant(nx2));
		case RC_MAGIC:
			return rd_consonant(nx) && nx2 == 'e' && i + k + 2 == n;
		case RC_NOT_VOWEL:
			return nx == '\0' || rd_consonant(nx);
		case RC_START:
			return i == 0;
		case RC_FRONT:
			return nx == 'e' || nx == 'i' || nx == 'y';
		case RC_VOWEL:
			return nx != '\0' && strchr("aeiouy", nx) != NULL;
		case RC_END:
			return i + k == n;
		default:
			return true;
	}
}

size_t
cd_rd_rewrite(const char *w, size_t n, int k, char *out)
{
	const RdRule *rules;
	size_t		i = 0,
				o = 0;
	bool		changed = false;

	if (k < 0 || k >= CD_RD_COUNT)
		return 0;
	rules = readings[k];
	while (i < n)
	{
		const RdRule *r;

		for (r = rules; r->from; r++)
		{
			size_t		j = 1;

			if (r->from[0] != w[i] || r->fromlen > n - i)
				continue;
			while (j < r->fromlen && r->from[j] == w[i + j])
				j++;
			if (j == r->fromlen && rd_context(w, n, i, j, r->ctx))
				break;
		}
		if (r->from)
		{
			memcpy(out + o, r->to, r->tolen);
			o += r->tolen;
			i += r->fromlen;
			if (r->fromlen != r->tolen || memcmp(r->from, r->to, r->tolen) != 0)
				changed = true;
		}
		else
			out[o++] = w[i++];
	}
	out[o] = '\0';
	return changed ? o : 0;
}

size_t
cd_rd_pinyin_key(const char *w, size_t n, char *key)
{
	char		rw[CD_RD_SIZE(CD_NAME_MAX_WORD)];
	char		fold[CD_SPELL_FOLD_SIZE(CD_RD_SIZE(CD_NAME_MAX_WORD))];
	size_t		rl,
				fl;

	if (n > CD_NAME_MAX_WORD)
		n = CD_NAME_MAX_WORD;
	rl = cd_rd_rewrite(w, n, CD_RD_COUNT - 1, rw);

	if (rl == 0)
	{
		memcpy(rw, w, n);
		rl = n;
		rw[rl] = '\0';
	}
	fl = cd_spell_fold_word(rw, rl, fold);
	return cd_phonetic_folded_word(fold, fl, key);
}

bool
cd_rd_pinyin_syllable(const char *w, size_t n)
{
	size_t		i = 0;

	if (n >= 2 && w[1] == 'h' && (w[0] == 'z' || w[0] == 'c' || w[0] == 's'))
		i = 2;
	else if (n >= 1 && strchr("bpmfdtnlgkhjqxrzcsyw", w[0]) != NULL)
		i = 1;
	if (i >= n || strchr("aeiouv", w[i]) == NULL)
		return false;
	while (i < n && strchr("aeiouv", w[i]) != NULL)
		i++;
	return i == n || (n - i == 1 && (w[i] == 'n' || w[i] == 'r')) ||
		(n - i == 2 && w[i] == 'n' && w[i + 1] == 'g');
}
