/*
 * unicode_fold.c
 *		The folded form of names (name_key): NFKC + case fold + diacritics removed +
 *		separators collapsed, streaming in O(n) with bounded working memory.
 *
 * How it works: each input code point is decomposed and case folded on its own with
 * utf8proc_decompose_char (NFKD + case fold, default-ignorables dropped) into a small
 * stack array; the pieces are classified (letter/digit, mark, invisible, separator);
 * marks are filtered and put in canonical order by hand, next to the letter they belong
 * to; the code points of the current word collect in a fixed work array that is composed
 * (utf8proc_normalize_utf32, NFC) and written out at each separator, or in pieces at safe
 * boundaries when a word is very long.  We never call utf8proc_decompose_custom: its
 * canonical ordering is a bubble sort, quadratic on a long run of marks, and it needs a
 * buffer as large as the whole decomposed input.  Here marks are capped per letter, so
 * ordering is bounded and the work array never grows.
 */
#include "unicode_fold.h"

#include <string.h>

#include <utf8proc.h>

#define FOLD_OPTIONS ((utf8proc_option_t) (UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | \
										   UTF8PROC_CASEFOLD | UTF8PROC_IGNORE))
/* Unicode's stream-safe format allows 30 non-starters in a row */
#define MAX_KEPT_MARKS 30
/* code points of one word held before part of it is composed and written out */
#define WORK_FLUSH 512
/* the longest NFKD + case fold expansion of one code point is 18 (U+FDFA) */
#define DECOMP_MAX 32

typedef enum FoldClass
{
	FC_WORD,					/* letter or digit: part of a word */
	FC_MARK,					/* combining mark: belongs to the letter before it */
	FC_DROP,					/* invisible: removed without splitting the word */
	FC_SEP						/* everything else: separates words */
} FoldClass;

typedef struct Folder
{
	CdBuf	   *out;
	size_t		start;			/* out->len when the call began */
	int			flags;
	int			nwork;
	int			base;			/* index in work of the current letter, -1 if none */
	int			nmarks;			/* marks kept on that letter */
	bool		letter_mark;	/* the breve of й/ў or diaeresis of ї is among them */
	bool		compose;		/* work holds marks or Hangul jamo: NFC has work to do */
	bool		in_word;		/* a letter or digit came after the last separator */
	bool		need_space;		/* a separator followed output: write one before more */
	int32_t		work[WORK_FLUSH + 1];
} Folder;

bool
cd_is_apostrophe(int32_t cp)
{
	switch (cp)
	{
		case 0x0027:			/* ' */
		case 0x0060:			/* ` */
		case 0x00B4:			/* acute accent used as apostrophe */
		case 0x2018:			/* left single quotation mark */
		case 0x2019:			/* right single quotation mark */
		case 0x201B:			/* single high-reversed-9 quotation mark */
		case 0x2032:			/* prime */
		case 0x02B9:			/* modifier letter prime (soft sign in transliterations) */
		case 0x02BA:
		case 0x02BB:			/* okina */
		case 0x02BC:			/* modifier letter apostrophe (Ukrainian) */
		case 0x02BD:
		case 0x02BE:
		case 0x02BF:
		case 0x02C8:
		case 0x02CA:
		case 0x02CB:
		case 0x02EE:
		case 0xFF07:			/* fullwidth apostrophe */
			return true;
		default:
			return false;
	}
}

/*
 * Marks that only decorate a letter (accents, Hebrew and Arabic points): always removed.
 */
static bool
is_diacritic_mark(int32_t c)
{
	return (c >= 0x0300 && c <= 0x036F) ||
		(c >= 0x0483 && c <= 0x0489) ||
		(c >= 0x0591 && c <= 0x05C7) ||
		(c >= 0x0610 && c <= 0x061A) ||
		(c >= 0x064B && c <= 0x065F) ||
		c == 0x0670 ||
		(c >= 0x06D6 && c <= 0x06ED) ||
		c == 0x0711 ||
		(c >= 0x0730 && c <= 0x074A) ||
		(c >= 0x0898 && c <= 0x089F) ||
		(c >= 0x08CA && c <= 0x08FF) ||
		(c >= 0x1AB0 && c <= 0x1AFF) ||
		(c >= 0x1DC0 && c <= 0x1DFF) ||
		(c >= 0x20D0 && c <= 0x20FF) ||
		(c >= 0xFE20 && c <= 0xFE2F);
}

/* Latin, Greek, Cyrillic (and digits): scripts where a mark is an accent */
static bool
is_lgc_base(int32_t c)
{
	return c < 0x0530 ||
		(c >= 0x1C80 && c <= 0x1C8F) ||
		(c >= 0x1D00 && c <= 0x1FFF) ||
		(c >= 0x2C60 && c <= 0x2C7F) ||
		(c >= 0x2DE0 && c <= 0x2DFF) ||
		(c >= 0xA640 && c <= 0xA69F) ||
		(c >= 0xA720 && c <= 0xA7FF) ||
		(c >= 0xAB30 && c <= 0xAB6F);
}

/* й and ў (и/у + breve), ї (і + diaeresis): letters of their own, not accented letters */
static bool
is_letter_mark(int32_t base, int32_t mark)
{
	return (mark == 0x0306 && (base == 0x0438 || base == 0x0443)) ||
		(mark == 0x0308 && base == 0x0456);
}

/*
 * Keep this mark on this letter?  letter_mark: such a mark is already kept on it (a
 * second breve on и must go, as it would on a precomposed й; counting marks instead
 * would depend on their order, which canonical equivalence does not fix).
 */
static bool
keep_mark(int32_t base, int32_t mark, bool letter_mark)
{
	/* Japanese voicing marks make different syllables (か/が) */
	if (mark == 0x3099 || mark == 0x309A)
		return true;
	if (is_letter_mark(base, mark))
		return !letter_mark;
	if (is_diacritic_mark(mark) || is_lgc_base(base))
		return false;
	/* vowel signs, viramas, ... of Indic, Thai, Tibetan and other scripts */
	return true;
}

/* modifier letters that are apostrophes or primes, not letters */
static bool
is_apostrophe_modifier(int32_t c)
{
	return (c >= 0x02B9 && c <= 0x02BF) || c == 0x02C8 || c == 0x02CA ||
		c == 0x02CB || c == 0x02EE;
}

static FoldClass
classify(int32_t c, int *ccc)
{
	const utf8proc_property_t *p = utf8proc_get_property(c);

	*ccc = p->combining_class;
	switch (p->category)
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LO:
		case UTF8PROC_CATEGORY_ND:
		case UTF8PROC_CATEGORY_NL:
		case UTF8PROC_CATEGORY_NO:
			return FC_WORD;
		case UTF8PROC_CATEGORY_LM:
			return is_apostrophe_modifier(c) ? FC_SEP : FC_WORD;
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ME:
			return FC_MARK;
		case UTF8PROC_CATEGORY_CF:
			return FC_DROP;
		default:
			return FC_SEP;
	}
}

#define HANGUL_L(c) ((c) >= 0x1100 && (c) <= 0x1112)
#define HANGUL_V(c) ((c) >= 0x1161 && (c) <= 0x1175)
#define HANGUL_T(c) ((c) >= 0x11A8 && (c) <= 0x11C2)
/*
 * U+11A7 is not a trailing consonant, but utf8proc's NFC takes it for one with index 0
 * and swallows it after a syllable; so the work array is always cut before it.
 */
#define HANGUL_T_BASE 0x11A7

/*
 * Can the work array be cut before index i without changing how NFC composes it?
 * Only if work[i] starts a new composition: a starter that is not a mark and not the
 * second half of a Hangul syllable.
 */
static bool
safe_cut(const int32_t *work, int i)
{
	int32_t		c = work[i];
	const utf8proc_property_t *p = utf8proc_get_property(c);

	if (p->combining_class != 0 ||
		p->category == UTF8PROC_CATEGORY_MN ||
		p->category == UTF8PROC_CATEGORY_MC ||
		p->category == UTF8PROC_CATEGORY_ME)
		return false;
	if (HANGUL_V(c) && HANGUL_L(work[i - 1]))
		return false;
	if (HANGUL_T(c) && HANGUL_V(work[i - 1]))
		return false;
	return true;
}

static size_t
encode_utf8(int32_t c, char *dst)
{
	if (c < 0x80)
	{
		dst[0] = (char) c;
		return 1;
	}
	if (c < 0x800)
	{
		dst[0] = (char) (0xC0 | (c >> 6));
		dst[1] = (char) (0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000)
	{
		dst[0] = (char) (0xE0 | (c >> 12));
		dst[1] = (char) (0x80 | ((c >> 6) & 0x3F));
		dst[2] = (char) (0x80 | (c & 0x3F));
		return 3;
	}
	dst[0] = (char) (0xF0 | (c >> 18));
	dst[1] = (char) (0x80 | ((c >> 12) & 0x3F));
	dst[2] = (char) (0x80 | ((c >> 6) & 0x3F));
	dst[3] = (char) (0x80 | (c & 0x3F));
	return 4;
}

/*
 * Compose work[0..k) (NFC) and append it to out; keep work[k..nwork) for later.
 */
static bool
flush_work(Folder *f, int k)
{
	utf8proc_ssize_t n;
	CdBuf	   *out = f->out;
	char	   *dst;

	if (k <= 0)
		return true;
	n = k;
	/* only marks and Hangul jamo compose (every other second half of a pair is a mark) */
	if (f->compose)
	{
		n = utf8proc_normalize_utf32(f->work, k, UTF8PROC_COMPOSE);
		if (n < 0)
			n = k;				/* cannot happen: COMPOSE alone has no error case */
		if (k == f->nwork)
			f->compose = false;
	}
	if (!cd_buf_reserve(out, (size_t) n * 4))
		return false;
	dst = out->data + out->len;
	for (utf8proc_ssize_t i = 0; i < n; i++)
		dst += encode_utf8(f->work[i], dst);
	out->len = (size_t) (dst - out->data);
	out->data[out->len] = '\0';
	if (k < f->nwork)
		memmove(f->work, f->work + k, (size_t) (f->nwork - k) * sizeof(int32_t));
	f->nwork -= k;
	f->base = f->base >= k ? f->base - k : -1;
	return true;
}

/* make room for one more code point in the work array */
static bool
make_room(Folder *f)
{
	int			k;

	if (f->nwork < WORK_FLUSH)
		return true;
	for (k = f->nwork - 1; k > 0; k--)
		if (safe_cut(f->work, k))
			break;
	/*
	 * A safe cut is always near the end: every letter is one, except a Hangul vowel after
	 * an initial or a final after a vowel, and a letter carries at most MAX_KEPT_MARKS
	 * marks.  Should that ever fail, cut before the current letter, which keeps the
	 * letter and its marks together.
	 */
	if (k <= 0)
		k = f->base;
	if (k <= 0)
		k = f->nwork;			/* cannot happen: base 0 means at most 31 entries */
	return flush_work(f, k);
}

static bool
put_word(Folder *f, int32_t c)
{
	if (f->need_space)
	{
		if (!cd_buf_append_byte(f->out, ' '))
			return false;
		f->need_space = false;
	}
	if (c == HANGUL_T_BASE && !flush_work(f, f->nwork))
		return false;
	if (!make_room(f))
		return false;
	f->work[f->nwork] = c;
	f->in_word = true;
	f->base = f->nwork++;
	f->nmarks = 0;
	f->letter_mark = false;
	if (c >= 0x1100 && c <= 0x11FF)
		f->compose = true;
	return true;
}

static bool
put_mark(Folder *f, int32_t c, int ccc)
{
	int			pos;

	if (f->base < 0 || f->nmarks >= MAX_KEPT_MARKS ||
		!keep_mark(f->work[f->base], c, f->letter_mark))
		return true;
	if (is_letter_mark(f->work[f->base], c))
		f->letter_mark = true;
	if (!make_room(f))
		return false;
	/* canonical ordering: a stable insertion among at most MAX_KEPT_MARKS marks */
	pos = f->nwork;
	if (ccc != 0)
	{
		while (pos > f->base + 1 &&
			   utf8proc_get_property(f->work[pos - 1])->combining_class > ccc)
			pos--;
		if (pos < f->nwork)
			memmove(f->work + pos + 1, f->work + pos,
					(size_t) (f->nwork - pos) * sizeof(int32_t));
	}
	f->work[pos] = c;
	f->nwork++;
	f->nmarks++;
	f->compose = true;
	return true;
}

static bool
put_sep(Folder *f)
{
	if (!f->in_word)
		return true;
	if (!flush_work(f, f->nwork))
		return false;
	f->in_word = false;
	f->base = -1;
	f->need_space = f->out->len > f->start;
	return true;
}

static bool
fold_ascii_char(Folder *f, unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return put_word(f, c);
	if (c >= 'A' && c <= 'Z')
		return put_word(f, c + ('a' - 'A'));
	if ((f->flags & CD_FOLD_JOIN_APOSTROPHES) && f->in_word && (c == '\'' || c == '`'))
		return true;
	return put_sep(f);
}

static bool
fold_code_point(Folder *f, int32_t cp)
{
	int32_t		tmp[DECOMP_MAX];
	utf8proc_ssize_t n;

	if ((f->flags & CD_FOLD_JOIN_APOSTROPHES) && f->in_word && cd_is_apostrophe(cp))
		return true;
	/* the Russian alphabet is most non-ASCII text: lower case it without utf8proc */
	if (cp >= 0x0410 && cp <= 0x044F)
		return put_word(f, cp < 0x0430 ? cp + 0x20 : cp);
	if (cp == 0x0401 || cp == 0x0451)
		return put_word(f, 0x0435);	/* ё -> е */
	n = utf8proc_decompose_char(cp, tmp, DECOMP_MAX, FOLD_OPTIONS, NULL);
	if (n < 0 || n > DECOMP_MAX)
		return put_sep(f);		/* cannot happen for valid code points */
	for (utf8proc_ssize_t i = 0; i < n; i++)
	{
		int			ccc;
		bool		ok = true;

		switch (classify(tmp[i], &ccc))
		{
			case FC_WORD:
				ok = put_word(f, tmp[i]);
				break;
			case FC_MARK:
				ok = put_mark(f, tmp[i], ccc);
				break;
			case FC_DROP:
				break;
			case FC_SEP:
				ok = put_sep(f);
				break;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* pure ASCII: no utf8proc, one pass straight into out */
static bool
fold_ascii(const unsigned char *in, size_t len, int flags, CdBuf *out)
{
	bool		in_word = false;
	bool		need_space = false;
	char	   *dst;

	if (!cd_buf_reserve(out, len))
		return false;
	dst = out->data + out->len;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = in[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))
		{
			if (need_space)
			{
				*dst++ = ' ';
				need_space = false;
			}
			*dst++ = (char) ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
			in_word = true;
		}
		else if ((flags & CD_FOLD_JOIN_APOSTROPHES) && in_word && (c == '\'' || c == '`'))
			continue;
		else if (in_word)
		{
			in_word = false;
			need_space = true;
		}
	}
	out->len = (size_t) (dst - out->data);
	out->data[out->len] = '\0';
	return true;
}

CdTextStatus
cd_fold_ext(const char *in, size_t len, int flags, CdBuf *out)
{
	const unsigned char *s = (const unsigned char *) in;
	size_t		start = out->len;
	size_t		i;
	Folder		f;

	if (out->failed)
		return CD_TEXT_NOMEM;
	for (i = 0; i < len; i++)
		if (s[i] >= 0x80)
			break;
	if (i == len)
	{
		if (!fold_ascii(s, len, flags, out))
			goto nomem;
		return CD_TEXT_OK;
	}
	if (!cd_utf8_valid(in + i, len - i))
		return CD_TEXT_INVALID_UTF8;

	f.out = out;
	f.start = start;
	f.flags = flags;
	f.nwork = 0;
	f.base = -1;
	f.nmarks = 0;
	f.letter_mark = false;
	f.compose = false;
	f.in_word = false;
	f.need_space = false;
	i = 0;
	while (i < len)
	{
		bool		ok;

		if (s[i] < 0x80)
		{
			ok = fold_ascii_char(&f, s[i]);
			i++;
		}
		else
		{
			int32_t		cp = 0;
			int			n = cd_utf8_decode(s + i, len - i, &cp);

			if (n < 0)			/* cannot happen: validated above */
				goto invalid;
			ok = fold_code_point(&f, cp);
			i += (size_t) n;
		}
		if (!ok)
			goto nomem;
	}
	if (!flush_work(&f, f.nwork))
		goto nomem;
	return CD_TEXT_OK;

invalid:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return CD_TEXT_INVALID_UTF8;
nomem:
	if (out->data && start < out->cap)
	{
		out->len = start;
		out->data[start] = '\0';
	}
	return CD_TEXT_NOMEM;
}

CdTextStatus
cd_fold(const char *in, size_t len, CdBuf *out)
{
	return cd_fold_ext(in, len, 0, out);
}
