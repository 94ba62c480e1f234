/*
 * phone.c
 *		Phone number normalizer: reads what people type into a phone field and gives
 *		the E.164 form, the extension and the region of the number, using the tables
 *		compiled from data/phone_*.tsv.
 *
 * One pass over the input collects the digits of the number and of an extension and
 * rejects anything that does not belong in a phone number.  Then the digit string is
 * read every way the default region allows -- after an international prefix, after a
 * trunk prefix, as a bare national number, as a national number with the country code
 * but no '+' -- and the first reading that fits the country's number lengths wins.
 * Readings are tried in a fixed order, so the result depends on the arguments only.
 *
 * No memory is allocated; the work is one pass over the input plus a bounded amount
 * of table lookups on at most SCAN_DIGITS digits.
 */
#include <string.h>

#include <unicode/uchar.h>

#include "cd_buf.h"
#include "phone.h"
#include "phone_tables.h"
#include "value_memo.h"

#define E164_DIGITS 15
/* digits kept while scanning: more than this fits no reading (15 + a 5-digit prefix) */
#define SCAN_DIGITS 32
/* digit groups remembered to tell dates and IP addresses from numbers */
#define MAX_GROUPS 5

typedef enum CharClass
{
	CL_OTHER = 0,				/* anything that does not belong in a phone number */
	CL_DIGIT,
	CL_PLUS,
	CL_SPACE,					/* white space and invisible format characters */
	CL_PUNCT,					/* - . / ~ and Unicode dashes */
	CL_OPEN,					/* ( [ and other opening brackets */
	CL_CLOSE,					/* ) ] and other closing brackets */
	CL_PAUSE,					/* , ; -- dial pauses before an extension */
	CL_HASH,					/* # before an extension */
	CL_LETTER
} CharClass;

static const uint8_t ascii_class[128] = {
	/* controls: only tab, newline, vertical tab, form feed and carriage return are space */
	0, 0, 0, 0, 0, 0, 0, 0, 0, CL_SPACE, CL_SPACE, CL_SPACE, CL_SPACE, CL_SPACE, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* space ! " # $ % & ' ( ) * + , - . / */
	CL_SPACE, 0, 0, CL_HASH, 0, 0, 0, 0, CL_OPEN, CL_CLOSE, 0, CL_PLUS, CL_PAUSE, CL_PUNCT,
	CL_PUNCT, CL_PUNCT,
	/* 0-9 : ; < = > ? */
	CL_DIGIT, CL_DIGIT, CL_DIGIT, CL_DIGIT, CL_DIGIT, CL_DIGIT, CL_DIGIT, CL_DIGIT, CL_DIGIT,
	CL_DIGIT, 0, CL_PAUSE, 0, 0, 0, 0,
	/* @ A-O */
	0, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER,
	CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER,
	/* P-Z [ \ ] ^ _ */
	CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER,
	CL_LETTER, CL_LETTER, CL_LETTER, CL_OPEN, 0, CL_CLOSE, 0, 0,
	/* ` a-o */
	0, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER,
	CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER,
	/* p-z { | } ~ DEL */
	CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER, CL_LETTER,
	CL_LETTER, CL_LETTER, CL_LETTER, 0, 0, 0, CL_PUNCT, 0
};

/*
 * Words that introduce an extension, as lower-case code points.  People write them in
 * the language of the CRM: English, Russian (dobavochny, vnutrenny), Portuguese and
 * Spanish (ramal, anexo), French (poste), Chinese and Japanese (fenji, zhuan, neixian).
 */
#define EXT_WORD_MAX 10

typedef struct ExtWord
{
	int32_t		cp[EXT_WORD_MAX];
	int			n;
} ExtWord;

static const ExtWord ext_words[] = {
	{{'e', 'x', 't'}, 3},
	{{'e', 'x', 't', 'n'}, 4},
	{{'e', 'x', 't', 'e', 'n', 's', 'i', 'o', 'n'}, 9},
	{{'x'}, 1},
	{{'r', 'a', 'm', 'a', 'l'}, 5},
	{{'a', 'n', 'e', 'x', 'o'}, 5},
	{{'p', 'o', 's', 't', 'e'}, 5},
	{{0x434, 0x43E, 0x431}, 3},	/* доб */
	{{0x434, 0x43E, 0x431, 0x430, 0x432}, 5},	/* добав */
	{{0x434, 0x43E, 0x431, 0x430, 0x432, 0x43E, 0x447, 0x43D, 0x44B, 0x439}, 10},	/* добавочный */
	{{0x432, 0x43D}, 2},		/* вн */
	{{0x432, 0x43D, 0x443, 0x442, 0x440}, 5},	/* внутр */
	{{0x432, 0x43D, 0x443, 0x442, 0x440, 0x435, 0x43D, 0x43D, 0x438, 0x439}, 10},	/* внутренний */
	{{0x5206, 0x673A}, 2},		/* 分机 */
	{{0x5206, 0x6A5F}, 2},		/* 分機 */
	{{0x8F6C}, 1},				/* 转 */
	{{0x8F49}, 1},				/* 轉 */
	{{0x5185, 0x7EBF}, 2},		/* 内线 */
	{{0x5167, 0x7DDA}, 2},		/* 內線 */
	{{0x5185, 0x7DDA}, 2}		/* 内線 */
};

/* international prefixes understood when no default region is given */
static const CdPhonePrefix zz_intl[] = {{"011", 3}, {"00", 2}};

typedef struct PhoneScan
{
	char		digits[SCAN_DIGITS];
	size_t		ndigits;		/* may exceed SCAN_DIGITS: only the count matters then */
	bool		plus;
	bool		has_ext;		/* an extension marker was seen */
	char		ext[CD_PHONE_EXT_MAX + 1];
	size_t		next;
	int			ngroups;
	uint8_t		glen[MAX_GROUPS];	/* digits in the group (capped) */
	uint16_t	gval[MAX_GROUPS];	/* value of its first four digits */
	int32_t		gsep[MAX_GROUPS];	/* the single ASCII punctuation before it, or -1 */
} PhoneScan;

/* how well a reading of the digits fits the numbering plan */
typedef enum Fit
{
	FIT_ERROR = 0,
	FIT_WEAK,					/* right length, but starts like no number does */
	FIT_STRONG
} Fit;

typedef struct Reading
{
	Fit			fit;
	CdPhoneStatus st;			/* when FIT_ERROR */
	bool		hidden;			/* error of a reading nobody meant (a national number
								 * starting with the trunk 0): reported only as a last
								 * resort */
	int			country;		/* index in cd_phone_countries, or -1 */
	const char *nsn;
	size_t		nsn_len;
} Reading;

/* the readings seen so far, in order of preference */
typedef struct Pick
{
	Reading		strong;
	Reading		weak;
	Reading		err;
	Reading		hidden;
	bool		have_strong;
	bool		have_weak;
	bool		have_err;
	bool		have_hidden;
} Pick;

static inline int
next_cp(const unsigned char *s, size_t len, size_t i, int32_t *cp)
{
	if (s[i] < 0x80)
	{
		*cp = s[i];
		return 1;
	}
	return cd_utf8_decode(s + i, len - i, cp);
}

static CharClass
classify(int32_t cp, int *digit)
{
	int8_t		t;

	if (cp < 0x80)
	{
		CharClass	cl = (CharClass) ascii_class[cp];

		if (cl == CL_DIGIT)
			*digit = cp - '0';
		return cl;
	}
	if (cp >= 0xFF10 && cp <= 0xFF19)
	{
		/* fullwidth digits, common enough in East Asian data to skip the lookup */
		*digit = cp - 0xFF10;
		return CL_DIGIT;
	}
	switch (cp)
	{
		case 0xFF0B:			/* fullwidth plus */
			return CL_PLUS;
		case 0xFF03:			/* fullwidth number sign */
			return CL_HASH;
		case 0xFF0C:			/* fullwidth comma */
		case 0xFF1B:			/* fullwidth semicolon */
			return CL_PAUSE;
		case 0x0085:			/* next line */
			return CL_SPACE;
		case 0x00B7:			/* middle dot */
		case 0x2044:			/* fraction slash */
		case 0x2212:			/* minus sign */
		case 0x2215:			/* division slash */
		case 0x2500:			/* box drawings light horizontal */
		case 0x30FB:			/* katakana middle dot */
		case 0x30FC:			/* katakana prolonged sound mark, typed as a dash in Japan */
		case 0xFF70:			/* its halfwidth form */
		case 0xFF0E:			/* fullwidth full stop */
		case 0xFF0F:			/* fullwidth solidus */
		case 0xFF5E:			/* fullwidth tilde */
			return CL_PUNCT;
		default:
			break;
	}
	t = u_charType(cp);
	switch (t)
	{
		case U_DECIMAL_DIGIT_NUMBER:
			{
				int32_t		d = u_charDigitValue(cp);

				if (d < 0 || d > 9)
					return CL_OTHER;
				*digit = (int) d;
				return CL_DIGIT;
			}
		case U_SPACE_SEPARATOR:
		case U_LINE_SEPARATOR:
		case U_PARAGRAPH_SEPARATOR:
		case U_FORMAT_CHAR:
			return CL_SPACE;
		case U_DASH_PUNCTUATION:
			return CL_PUNCT;
		case U_START_PUNCTUATION:
			return CL_OPEN;
		case U_END_PUNCTUATION:
			return CL_CLOSE;
		case U_UPPERCASE_LETTER:
		case U_LOWERCASE_LETTER:
		case U_TITLECASE_LETTER:
		case U_MODIFIER_LETTER:
		case U_OTHER_LETTER:
			return CL_LETTER;
		default:
			return CL_OTHER;
	}
}

static inline int32_t
fold_cp(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp;
	return u_tolower(cp);
}

static inline bool
is_letter(int32_t cp)
{
	int			d;

	return classify(cp, &d) == CL_LETTER;
}

/*
 * Length in bytes of the extension word at s[i..len), or 0.  The word must end where
 * the letters end, so "x12" and "ext.12" match but "xyz" does not.  The input is
 * decoded and case-folded once, then compared with every word.
 */
static size_t
match_ext_word(const unsigned char *s, size_t len, size_t i)
{
	int32_t		in[EXT_WORD_MAX + 1];
	size_t		off[EXT_WORD_MAX + 2];
	bool		letter[EXT_WORD_MAX + 1];
	int			nin = 0;
	size_t		j = i;
	size_t		best = 0;

	off[0] = i;
	while (nin <= EXT_WORD_MAX && j < len)
	{
		int32_t		cp;
		int			n = next_cp(s, len, j, &cp);

		if (n < 0)
			break;
		in[nin] = fold_cp(cp);
		letter[nin] = is_letter(cp);
		j += (size_t) n;
		off[++nin] = j;
	}
	for (size_t w = 0; w < sizeof(ext_words) / sizeof(ext_words[0]); w++)
	{
		const ExtWord *ew = &ext_words[w];
		int			k;

		if (ew->n > nin)
			continue;
		for (k = 0; k < ew->n && in[k] == ew->cp[k]; k++)
			;
		if (k < ew->n || (k < nin && letter[k]))
			continue;
		if (off[k] - i > best)
			best = off[k] - i;
	}
	return best;
}

static inline bool
ext_append(PhoneScan *sc, int d)
{
	if (sc->next >= CD_PHONE_EXT_MAX)
		return false;
	sc->ext[sc->next++] = (char) ('0' + d);
	sc->ext[sc->next] = '\0';
	return true;
}

enum
{
	ST_MAIN,					/* the number itself */
	ST_EXT_PRE,					/* after an extension marker, before its digits */
	ST_EXT_DIGITS,
	ST_EXT_TAIL					/* after the extension: only spaces and closing brackets */
};

/*
 * Collect the digits of s[0..len) into sc.  Returns CD_PHONE_OK or
 * CD_PHONE_NOT_A_NUMBER.
 */
static CdPhoneStatus
scan_number(const unsigned char *s, size_t len, PhoneScan *sc)
{
	size_t		i = 0;
	int			state = ST_MAIN;
	bool		keyword_seen = false;
	bool		in_digits = false;
	int32_t		gap_sep = -1;

	while (i < len)
	{
		int32_t		cp;
		int			d = 0;
		int			n = next_cp(s, len, i, &cp);
		CharClass	cl;

		if (n < 0)
			return CD_PHONE_NOT_A_NUMBER;
		cl = classify(cp, &d);

		switch (state)
		{
			case ST_MAIN:
				switch (cl)
				{
					case CL_DIGIT:
						if (!in_digits)
						{
							if (sc->ngroups < MAX_GROUPS)
							{
								sc->glen[sc->ngroups] = 0;
								sc->gval[sc->ngroups] = 0;
								sc->gsep[sc->ngroups] = gap_sep;
							}
							sc->ngroups++;
							in_digits = true;
						}
						if (sc->ngroups <= MAX_GROUPS)
						{
							int			g = sc->ngroups - 1;

							if (sc->glen[g] < 4)
								sc->gval[g] = (uint16_t) (sc->gval[g] * 10 + d);
							if (sc->glen[g] < 255)
								sc->glen[g]++;
						}
						if (sc->ndigits < SCAN_DIGITS)
							sc->digits[sc->ndigits] = (char) ('0' + d);
						sc->ndigits++;
						break;
					case CL_PLUS:
						if (sc->ndigits > 0 || sc->plus)
							return CD_PHONE_NOT_A_NUMBER;
						sc->plus = true;
						break;
					case CL_SPACE:
					case CL_PUNCT:
					case CL_OPEN:
					case CL_CLOSE:
						if (in_digits)
						{
							in_digits = false;
							gap_sep = (cl == CL_PUNCT && cp < 0x80) ? cp : -1;
						}
						else
							gap_sep = -1;
						break;
					case CL_PAUSE:
					case CL_HASH:
						if (sc->ndigits == 0)
							return CD_PHONE_NOT_A_NUMBER;
						sc->has_ext = true;
						state = ST_EXT_PRE;
						break;
					case CL_LETTER:
						{
							size_t		w;

							if (sc->ndigits == 0)
								return CD_PHONE_NOT_A_NUMBER;
							w = match_ext_word(s, len, i);
							if (w == 0)
								return CD_PHONE_NOT_A_NUMBER;
							n = (int) w;
							sc->has_ext = true;
							keyword_seen = true;
							state = ST_EXT_PRE;
						}
						break;
					default:
						return CD_PHONE_NOT_A_NUMBER;
				}
				break;

			case ST_EXT_PRE:
				if (cl == CL_DIGIT)
				{
					if (!ext_append(sc, d))
						return CD_PHONE_NOT_A_NUMBER;
					state = ST_EXT_DIGITS;
				}
				else if (cl == CL_SPACE || cl == CL_OPEN || cl == CL_PAUSE || cl == CL_HASH ||
						 cp == '.' || cp == ':' || cp == '=')
					;
				else if (cl == CL_LETTER && !keyword_seen)
				{
					size_t		w = match_ext_word(s, len, i);

					if (w == 0)
						return CD_PHONE_NOT_A_NUMBER;
					n = (int) w;
					keyword_seen = true;
				}
				else
					return CD_PHONE_NOT_A_NUMBER;
				break;

			case ST_EXT_DIGITS:
				if (cl == CL_DIGIT)
				{
					if (!ext_append(sc, d))
						return CD_PHONE_NOT_A_NUMBER;
				}
				else if (cl == CL_SPACE || cl == CL_CLOSE || cp == '.')
					state = ST_EXT_TAIL;
				else
					return CD_PHONE_NOT_A_NUMBER;
				break;

			default:			/* ST_EXT_TAIL */
				if (!(cl == CL_SPACE || cl == CL_CLOSE || cp == '.'))
					return CD_PHONE_NOT_A_NUMBER;
				break;
		}
		i += (size_t) n;
	}

	/* "ext" with nothing after it is not an extension; a trailing , ; or # is harmless */
	if (state == ST_EXT_PRE && keyword_seen)
		return CD_PHONE_NOT_A_NUMBER;
	return CD_PHONE_OK;
}

static bool
ascii_prefix_ci(const unsigned char *s, size_t len, const char *word)
{
	size_t		n = strlen(word);

	if (len < n)
		return false;
	for (size_t k = 0; k < n; k++)
	{
		unsigned char c = s[k];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char) (c + ('a' - 'A'));
		if (c != (unsigned char) word[k])
			return false;
	}
	return true;
}

/*
 * Parameters of a tel: URI (RFC 3966) after the number: ";ext=123" gives the extension,
 * the others (phone-context, isub, ...) are ignored.
 */
static CdPhoneStatus
scan_tel_params(const unsigned char *s, size_t len, PhoneScan *sc)
{
	size_t		i = 0;

	while (i < len)
	{
		size_t		name;
		size_t		name_len;
		size_t		val;

		/* s[i] == ';' */
		i++;
		name = i;
		while (i < len && s[i] != '=' && s[i] != ';')
			i++;
		name_len = i - name;
		val = i;
		if (i < len && s[i] == '=')
		{
			i++;
			val = i;
			while (i < len && s[i] != ';')
				i++;
		}
		for (size_t k = name; k < i; k++)
		{
			if (s[k] < 0x21 || s[k] > 0x7E)
				return CD_PHONE_NOT_A_NUMBER;
		}
		if (name_len == 3 && ascii_prefix_ci(s + name, name_len, "ext"))
		{
			bool		any = false;

			if (sc->has_ext)
				return CD_PHONE_NOT_A_NUMBER;
			for (size_t k = val; k < i; k++)
			{
				if (s[k] >= '0' && s[k] <= '9')
				{
					if (!ext_append(sc, s[k] - '0'))
						return CD_PHONE_NOT_A_NUMBER;
					any = true;
				}
				else if (s[k] != '-' && s[k] != '.' && s[k] != '(' && s[k] != ')')
					return CD_PHONE_NOT_A_NUMBER;
			}
			if (!any)
				return CD_PHONE_NOT_A_NUMBER;
			sc->has_ext = true;
		}
	}
	return CD_PHONE_OK;
}

/*
 * A date (2024-01-15, 15.01.2024, 01/15/2024) or an IPv4 address has only digits and
 * separators, and some national plans would take its digits for a number.
 */
static bool
looks_like_date_or_ip(const PhoneScan *sc)
{
	if (sc->plus || sc->has_ext)
		return false;
	if (sc->ngroups == 3 && sc->gsep[1] == sc->gsep[2] &&
		(sc->gsep[1] == '-' || sc->gsep[1] == '.' || sc->gsep[1] == '/'))
	{
		const uint8_t *l = sc->glen;
		const uint16_t *v = sc->gval;

		if (l[0] == 4 && l[1] <= 2 && l[2] <= 2 &&
			v[0] >= 1900 && v[0] <= 2099 && v[1] >= 1 && v[1] <= 12 && v[2] >= 1 && v[2] <= 31)
			return true;
		if (l[0] <= 2 && l[1] <= 2 && l[2] == 4 && v[2] >= 1900 && v[2] <= 2099 &&
			v[0] >= 1 && v[0] <= 31 && v[1] >= 1 && v[1] <= 31 && (v[0] <= 12 || v[1] <= 12))
			return true;
	}
	if (sc->ngroups == 4 && sc->gsep[1] == '.' && sc->gsep[2] == '.' && sc->gsep[3] == '.')
	{
		for (int g = 0; g < 4; g++)
		{
			if (sc->glen[g] > 3 || sc->gval[g] > 255)
				return false;
			/* 02.123.45.67 is a Belgian number: addresses do not pad with zeros */
			if (sc->glen[g] > 1 && sc->gval[g] < (sc->glen[g] == 2 ? 10 : 100))
				return false;
		}
		return true;
	}
	return false;
}

/* prefixes are at most 6 digits: a loop beats a call to memcmp */
static inline bool
starts_with(const char *d, size_t n, const char *p, size_t plen)
{
	if (plen == 0 || n < plen)
		return false;
	for (size_t k = 0; k < plen; k++)
	{
		if (d[k] != p[k])
			return false;
	}
	return true;
}

static inline void
pick_init(Pick *pk)
{
	pk->have_strong = pk->have_weak = pk->have_err = pk->have_hidden = false;
}

/* Judge nsn[0..n) as a national significant number of country ci. */
static void
check_nsn(int ci, const char *nsn, size_t n, Reading *r)
{
	const CdPhoneCountry *c = &cd_phone_countries[ci];
	size_t		min_len = c->min_len;
	size_t		max_len = c->max_len;
	bool		weak = false;

	r->country = ci;
	r->nsn = nsn;
	r->nsn_len = n;
	r->hidden = false;
	r->fit = FIT_ERROR;

	if (c->range_count > 0)
	{
		const CdPhoneRange *best = NULL;

		/* sorted longest first: the first match is the longest */
		for (int k = 0; k < c->range_count; k++)
		{
			const CdPhoneRange *rg = &cd_phone_ranges[c->range_first + k];

			if (starts_with(nsn, n, rg->prefix, rg->len))
			{
				best = rg;
				break;
			}
		}
		if (best != NULL)
		{
			if (best->max_len == 0)
				weak = true;
			else
			{
				min_len = best->min_len;
				max_len = best->max_len;
			}
		}
	}

	if (n < min_len)
		r->st = CD_PHONE_TOO_SHORT;
	else if (n > max_len || n + c->cc_len > E164_DIGITS)
		r->st = CD_PHONE_TOO_LONG;
	else if (c->nanp && (nsn[0] < '2' || nsn[3] < '2'))
		r->st = CD_PHONE_NOT_A_NUMBER;
	else
		r->st = CD_PHONE_OK;

	if (c->trunk_zero && n > 0 && nsn[0] == '0')
	{
		r->hidden = true;
		if (r->st == CD_PHONE_OK)
			r->st = CD_PHONE_NOT_A_NUMBER;
		return;
	}
	if (r->st == CD_PHONE_OK)
		r->fit = weak ? FIT_WEAK : FIT_STRONG;
}

/* Record reading r; weak_ok says whether a weak fit may be chosen.  True: stop looking. */
static bool
offer(Pick *pk, const Reading *r, bool weak_ok)
{
	if (r->fit == FIT_STRONG)
	{
		pk->strong = *r;
		pk->have_strong = true;
		return true;
	}
	if (r->fit == FIT_WEAK)
	{
		if (weak_ok && !pk->have_weak)
		{
			pk->weak = *r;
			pk->have_weak = true;
		}
	}
	else if (r->hidden)
	{
		if (!pk->have_hidden)
		{
			pk->hidden = *r;
			pk->have_hidden = true;
		}
	}
	else if (!pk->have_err)
	{
		pk->err = *r;
		pk->have_err = true;
	}
	return false;
}

static void
picked(const Pick *pk, Reading *out)
{
	if (pk->have_strong)
		*out = pk->strong;
	else if (pk->have_weak)
		*out = pk->weak;
	else if (pk->have_err)
		*out = pk->err;
	else if (pk->have_hidden)
	{
		*out = pk->hidden;
		out->hidden = false;
	}
	else
	{
		memset(out, 0, sizeof(*out));
		out->country = -1;
		out->st = CD_PHONE_NOT_A_NUMBER;
	}
}

/* Read d[0..n) as country code + national number (what follows '+' or "00"). */
static void
read_international(const char *d, size_t n, Reading *out)
{
	char		p3[3] = {'0', '0', '0'};
	int			ci;
	const CdPhoneCountry *c;
	const char *nsn;
	size_t		m;
	Reading		r;
	Pick		pk;

	memset(out, 0, sizeof(*out));
	out->country = -1;
	out->fit = FIT_ERROR;
	if (n == 0)
	{
		out->st = CD_PHONE_TOO_SHORT;
		return;
	}
	memcpy(p3, d, n < 3 ? n : 3);
	ci = cd_phone_cc_by_prefix3[(p3[0] - '0') * 100 + (p3[1] - '0') * 10 + (p3[2] - '0')];
	if (ci < 0)
	{
		out->st = CD_PHONE_BAD_COUNTRY_CODE;
		return;
	}
	c = &cd_phone_countries[ci];
	if (c->cc_len > n)
	{
		/* "+38": some code starting 38 may follow, but there is no number */
		out->st = CD_PHONE_TOO_SHORT;
		return;
	}
	nsn = d + c->cc_len;
	m = n - c->cc_len;

	pick_init(&pk);
	check_nsn(ci, nsn, m, &r);
	if (!offer(&pk, &r, true) && c->main_region >= 0)
	{
		/* "+44 (0)20 ...", "+7 8 912 ...": a trunk prefix written after the code */
		const CdPhoneRegion *rg = &cd_phone_regions[c->main_region];

		for (int k = 0; k < rg->ntrunk; k++)
		{
			if (!starts_with(nsn, m, rg->trunk[k].s, rg->trunk[k].len))
				continue;
			check_nsn(ci, nsn + rg->trunk[k].len, m - rg->trunk[k].len, &r);
			if (offer(&pk, &r, true))
				break;
		}
	}
	picked(&pk, out);
}

/* Readings of d[0..n) as a national number of region rg; true once a strong one is found. */
static bool
read_national(const CdPhoneRegion *rg, const char *d, size_t n, Pick *pk)
{
	const CdPhoneCountry *c = &cd_phone_countries[rg->country];
	bool		trunk_seen = false;
	Reading		r;

	for (int k = 0; k < rg->ntrunk; k++)
	{
		if (!starts_with(d, n, rg->trunk[k].s, rg->trunk[k].len))
			continue;
		trunk_seen = true;
		check_nsn(rg->country, d + rg->trunk[k].len, n - rg->trunk[k].len, &r);
		if (offer(pk, &r, true))
			return true;
	}

	/*
	 * The bare digits.  When they start with a trunk prefix, a reading that starts like
	 * no number does ("8912345678" in Russia) loses to the trunk reading's error.
	 */
	check_nsn(rg->country, d, n, &r);
	if (offer(pk, &r, !trunk_seen))
		return true;

	/* "79123456789" in Russia: the country code written without '+' */
	if (n > c->cc_len && starts_with(d, n, c->cc_str, c->cc_len))
	{
		read_international(d, n, &r);
		if (r.fit == FIT_STRONG && offer(pk, &r, false))
			return true;
	}
	return false;
}

static int
region_of(int ci, const char *nsn, size_t n)
{
	const CdPhoneCountry *c = &cd_phone_countries[ci];

	if (c->nanp)
	{
		if (n >= 3)
		{
			int			r = cd_phone_nanp_region[(nsn[0] - '0') * 100 + (nsn[1] - '0') * 10 +
											 (nsn[2] - '0')];

			if (r >= 0)
				return r;
		}
		return c->main_region;
	}
	for (int k = 0; k < c->prefix_count; k++)
	{
		const CdPhoneRegionPrefix *p = &cd_phone_region_prefixes[c->prefix_first + k];

		if (starts_with(nsn, n, p->prefix, p->len))
			return p->region;
	}
	return c->main_region;
}

/* region index, -2 for "ZZ", -1 when unknown */
static int
lookup_region(const char *region, size_t len)
{
	int			a;
	int			b;

	if (region == NULL || len != 2)
		return -1;
	a = (unsigned char) region[0];
	b = (unsigned char) region[1];
	if (a >= 'a' && a <= 'z')
		a -= 'a' - 'A';
	if (b >= 'a' && b <= 'z')
		b -= 'a' - 'A';
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return -1;
	if (a == 'Z' && b == 'Z')
		return -2;
	return cd_phone_region_by_code[(a - 'A') * 26 + (b - 'A')];
}

bool
cd_phone_region_known(const char *region, size_t len)
{
	return lookup_region(region, len) != -1;
}

static CdPhoneStatus
finish(const Reading *r, CdPhoneResult *res)
{
	CdPhoneStatus st = (r->fit == FIT_ERROR) ? r->st : CD_PHONE_OK;

	if (r->country >= 0)
	{
		const CdPhoneCountry *c = &cd_phone_countries[r->country];
		int			reg = region_of(r->country, r->nsn, r->nsn_len);

		res->country_code = c->cc;
		if (reg >= 0)
			memcpy(res->region, cd_phone_regions[reg].iso, 3);
		if (st == CD_PHONE_OK)
		{
			/* check_nsn bounded cc_len + nsn_len by 15 */
			res->e164[0] = '+';
			memcpy(res->e164 + 1, c->cc_str, c->cc_len);
			memcpy(res->e164 + 1 + c->cc_len, r->nsn, r->nsn_len);
			res->e164[1 + c->cc_len + r->nsn_len] = '\0';
		}
	}
	return st;
}

static CdPhoneStatus
phone_parse_uncached(const char *raw, size_t len, const char *region, size_t region_len,
			   CdPhoneResult *res)
{
	const unsigned char *s = (const unsigned char *) raw;
	int			ri;
	size_t		i = 0;
	size_t		end;
	bool		tel = false;
	PhoneScan	sc;
	CdPhoneStatus st;
	Reading		r;
	Pick		pk;

	memset(res, 0, sizeof(*res));
	ri = lookup_region(region, region_len);
	if (ri == -1)
		return CD_PHONE_UNKNOWN_REGION;
	if (s == NULL)
	{
		s = (const unsigned char *) "";
		len = 0;
	}

	/* leading white space, then a tel: or callto: scheme or Excel's text-marking quote */
	while (i < len)
	{
		int32_t		cp;
		int			d;
		int			n = next_cp(s, len, i, &cp);

		if (n < 0 || classify(cp, &d) != CL_SPACE)
			break;
		i += (size_t) n;
	}
	if (ascii_prefix_ci(s + i, len - i, "tel:"))
	{
		tel = true;
		i += 4;
	}
	else if (ascii_prefix_ci(s + i, len - i, "callto:"))
		i += 7;
	else if (i < len && s[i] == '\'')
		i++;

	memset(&sc, 0, sizeof(sc));
	end = len;
	if (tel)
	{
		const unsigned char *semi = memchr(s + i, ';', len - i);

		if (semi != NULL)
			end = (size_t) (semi - s);
	}
	st = scan_number(s + i, end - i, &sc);
	if (st == CD_PHONE_OK && end < len)
		st = scan_tel_params(s + end, len - end, &sc);
	if (st != CD_PHONE_OK)
		return st;
	memcpy(res->ext, sc.ext, sc.next + 1);

	if (sc.ndigits == 0)
		return CD_PHONE_EMPTY;
	if (looks_like_date_or_ip(&sc))
		return CD_PHONE_NOT_A_NUMBER;
	if (sc.ndigits > SCAN_DIGITS)
		return CD_PHONE_TOO_LONG;

	if (sc.plus)
	{
		read_international(sc.digits, sc.ndigits, &r);

		/*
		 * "+8 912 345-67-89": in the former USSR people put '+' before the trunk 8.  No
		 * calling code starts 89, so read it as national when that fits strongly.
		 */
		if (r.fit == FIT_ERROR && r.st == CD_PHONE_BAD_COUNTRY_CODE && ri >= 0 &&
			sc.digits[0] == '8')
		{
			const CdPhoneRegion *rg = &cd_phone_regions[ri];
			bool		trunk8 = false;

			for (int k = 0; k < rg->ntrunk; k++)
				trunk8 |= (rg->trunk[k].len == 1 && rg->trunk[k].s[0] == '8');
			if (trunk8)
			{
				pick_init(&pk);
				if (read_national(rg, sc.digits, sc.ndigits, &pk))
					r = pk.strong;
			}
		}
		return finish(&r, res);
	}

	pick_init(&pk);
	if (ri == -2)
	{
		bool		any = false;

		for (size_t k = 0; k < sizeof(zz_intl) / sizeof(zz_intl[0]); k++)
		{
			if (!starts_with(sc.digits, sc.ndigits, zz_intl[k].s, zz_intl[k].len))
				continue;
			any = true;
			read_international(sc.digits + zz_intl[k].len, sc.ndigits - zz_intl[k].len, &r);
			if (offer(&pk, &r, true))
				break;
		}
		if (!any)
			return CD_PHONE_NO_COUNTRY;
	}
	else
	{
		const CdPhoneRegion *rg = &cd_phone_regions[ri];
		bool		done = false;

		for (int k = 0; k < rg->nintl && !done; k++)
		{
			if (!starts_with(sc.digits, sc.ndigits, rg->intl[k].s, rg->intl[k].len))
				continue;
			read_international(sc.digits + rg->intl[k].len, sc.ndigits - rg->intl[k].len, &r);
			done = offer(&pk, &r, true);
		}
		if (!done)
			read_national(rg, sc.digits, sc.ndigits, &pk);
	}
	picked(&pk, &r);
	return finish(&r, res);
}

const char *
cd_phone_status_reason(CdPhoneStatus st)
{
	switch (st)
	{
		case CD_PHONE_OK:
			return "valid phone number";
		case CD_PHONE_UNKNOWN_REGION:
			return "unknown region code";
		case CD_PHONE_EMPTY:
			return "no digits";
		case CD_PHONE_NOT_A_NUMBER:
			return "not a phone number";
		case CD_PHONE_NO_COUNTRY:
			return "no country code and no default region";
		case CD_PHONE_BAD_COUNTRY_CODE:
			return "no such country calling code";
		case CD_PHONE_TOO_SHORT:
			return "too few digits for the country";
		case CD_PHONE_TOO_LONG:
			return "too many digits for the country";
	}
	return "unknown status";
}

const char *
cd_phone_data_version(void)
{
	return cd_phone_data_version_str;
}

CdPhoneStatus
cd_phone_parse_once(const char *raw, size_t len, const char *region, size_t region_len,
					CdPhoneResult *res)
{
	return phone_parse_uncached(raw, len, region, region_len, res);
}

/* cd_phone_parse: through the active value memo, if any (value_memo.h): status and result */
CdPhoneStatus
cd_phone_parse(const char *raw, size_t len, const char *region, size_t region_len,
			   CdPhoneResult *res)
{
	const char *v;
	size_t		vl;
	CdPhoneStatus st;
	char		kept[sizeof(CdPhoneStatus) + sizeof(CdPhoneResult)];

	if (cd_memo_active == NULL || region_len > 255)
		return phone_parse_uncached(raw, len, region, region_len, res);
	if (cd_memo_find(CD_MEMO_PHONE, region, region_len, raw, len, &v, &vl) && vl == sizeof(kept))
	{
		memcpy(&st, v, sizeof(st));
		memcpy(res, v + sizeof(st), sizeof(*res));
		return st;
	}
	st = phone_parse_uncached(raw, len, region, region_len, res);
	memcpy(kept, &st, sizeof(st));
	memcpy(kept + sizeof(st), res, sizeof(*res));
	cd_memo_add(CD_MEMO_PHONE, region, region_len, raw, len, kept, sizeof(kept));
	return st;
}
