/*
 * name_key.c
 *		Keys for names of people (transliterated, order-insensitive) and companies
 *		(legal forms removed), built on cd_fold and cd_translit.
 */
#include "name_key.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "legal_forms_data.h"
#include "translit.h"
#include "translit_data.h"
#include "value_memo.h"

/* a word of a folded string: bytes [off, off + len) */
typedef struct Span
{
	size_t		off;
	size_t		len;
} Span;

static void *
alloc_array(const CdAllocator *a, size_t n, size_t size)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / size)
		return NULL;
	return a->alloc(n * size, a->ctx);
}

static void
release(const CdAllocator *a, void *p)
{
	if (p)
		a->release(p, a->ctx);
}

static void
truncate_to(CdBuf *out, size_t start)
{
	if (out->data && start < out->cap)
	{
		out->len = start;
		out->data[start] = '\0';
	}
}

/* split a folded string (words separated by single spaces) into words */
static Span *
split_words(const CdAllocator *a, const char *s, size_t len, size_t *nwords)
{
	size_t		n = 0;
	size_t		i;
	Span	   *w;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
			n++;
	w = alloc_array(a, n, sizeof(Span));
	if (w == NULL)
		return NULL;
	n = 0;
	for (i = 0; i < len; i++)
	{
		if (s[i] == ' ')
			continue;
		if (i == 0 || s[i - 1] == ' ')
		{
			w[n].off = i;
			w[n].len = 0;
			n++;
		}
		w[n - 1].len++;
	}
	*nwords = n;
	return w;
}

CdTextStatus
cd_name_key(const char *in, size_t len, CdBuf *out)
{
	return cd_fold(in, len, out);
}

/* ---- person_key ---- */

static bool
is_han(int32_t c)
{
	return (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0x4E00 && c <= 0x9FFF) ||
		(c >= 0xF900 && c <= 0xFAFF) ||
		(c >= 0x20000 && c <= 0x3134F);
}

static bool
is_hangul_syllable(int32_t c)
{
	return c >= 0xAC00 && c <= 0xD7A3;
}

typedef enum CjkKind
{
	CJK_NONE,
	CJK_HAN,
	CJK_HANGUL
} CjkKind;

/*
 * Is the text all Han or all Hangul?  Returns the kind and stores the code points
 * (at most 4; more makes it CJK_NONE).  Spaces are skipped.
 */
static CjkKind
cjk_name(const char *s, size_t len, int32_t *cps, int *ncps)
{
	CjkKind		kind = CJK_NONE;
	size_t		i = 0;
	int			n = 0;

	while (i < len)
	{
		int32_t		c;
		int			k;
		CjkKind		this;

		if (s[i] == ' ')
		{
			i++;
			continue;
		}
		k = cd_utf8_decode((const unsigned char *) s + i, len - i, &c);
		if (k < 0)
			return CJK_NONE;
		this = is_han(c) ? CJK_HAN : is_hangul_syllable(c) ? CJK_HANGUL : CJK_NONE;
		if (this == CJK_NONE || (kind != CJK_NONE && this != kind) || n == 4)
			return CJK_NONE;
		kind = this;
		cps[n++] = c;
		i += (size_t) k;
	}
	*ncps = n;
	return n >= 2 ? kind : CJK_NONE;
}

static bool
is_compound_surname(int32_t a, int32_t b)
{
	int			lo = 0;
	int			hi = cd_cjk_nsurnames;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		const int32_t *s = cd_cjk_surnames[mid];

		if (s[0] < a || (s[0] == a && s[1] < b))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cd_cjk_nsurnames && cd_cjk_surnames[lo][0] == a && cd_cjk_surnames[lo][1] == b;
}

/*
 * For a name of 2-4 CJK characters: true when there is no space, or when the first word
 * is exactly the family name (王 小明, 欧阳 小明).  Other spacings are read word by word.
 */
static bool
spaced_family_name(const char *s, size_t len, const int32_t *cps)
{
	const char *space = memchr(s, ' ', len);
	int			first = 0;

	if (space == NULL)
		return true;
	for (const char *p = s; p < space; p++)
		if (((unsigned char) *p & 0xC0) != 0x80)
			first++;
	return first == 1 || (first == 2 && is_compound_surname(cps[0], cps[1]));
}

/* transliterate code points and append them to tokens as one word (spaces removed) */
static CdTextStatus
append_joined(const int32_t *cps, int n, CdBuf *tmp, CdBuf *tokens)
{
	CdBuf		utf8;
	CdTextStatus status;

	if (n == 0)
		return CD_TEXT_OK;
	cd_buf_init(&utf8, tokens->alloc);
	for (int i = 0; i < n; i++)
		if (!cd_buf_append_cp(&utf8, cps[i]))
		{
			cd_buf_free(&utf8);
			return CD_TEXT_NOMEM;
		}
	cd_buf_reset(tmp);
	status = cd_translit_folded(utf8.data, utf8.len, CD_TL_BASE, tmp);
	cd_buf_free(&utf8);
	if (status != CD_TEXT_OK)
		return status;
	for (size_t i = 0; i < tmp->len; i++)
		if (tmp->data[i] != ' ' && !cd_buf_append_byte(tokens, tmp->data[i]))
			return CD_TEXT_NOMEM;
	if (!cd_buf_append_byte(tokens, ' '))
		return CD_TEXT_NOMEM;
	return CD_TEXT_OK;
}

/* family name (one character, two for a known compound) + given name, each one word */
static CdTextStatus
append_cjk_name(const int32_t *cps, int n, CdBuf *tmp, CdBuf *tokens)
{
	int			family = (n >= 2 && is_compound_surname(cps[0], cps[1])) ? 2 : 1;
	CdTextStatus status;

	status = append_joined(cps, family, tmp, tokens);
	if (status == CD_TEXT_OK)
		status = append_joined(cps + family, n - family, tmp, tokens);
	return status;
}

typedef struct Token
{
	const char *p;
	size_t		len;
} Token;

static int
compare_tokens(const void *a, const void *b)
{
	const Token *x = a;
	const Token *y = b;
	int			c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/* sort the space-separated tokens and append them to out joined by single spaces */
static CdTextStatus
sort_tokens(const char *s, size_t len, CdBuf *out)
{
	const CdAllocator *a = out->alloc;
	size_t		n;
	Span	   *w = split_words(a, s, len, &n);
	Token	   *t;

	if (w == NULL)
		return CD_TEXT_NOMEM;
	t = alloc_array(a, n, sizeof(Token));
	if (t == NULL)
	{
		release(a, w);
		return CD_TEXT_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
	{
		t[i].p = s + w[i].off;
		t[i].len = w[i].len;
	}
	release(a, w);
	qsort(t, n, sizeof(Token), compare_tokens);
	for (size_t i = 0; i < n; i++)
	{
		if ((i > 0 && !cd_buf_append_byte(out, ' ')) ||
			!cd_buf_append(out, t[i].p, t[i].len))
		{
			release(a, t);
			return CD_TEXT_NOMEM;
		}
	}
	release(a, t);
	return CD_TEXT_OK;
}

static CdTextStatus
person_key_uncached(const char *in, size_t len, CdBuf *out)
{
	const CdAllocator *a = out->alloc;
	size_t		start = out->len;
	CdBuf		folded;
	CdBuf		tokens;
	CdBuf		tmp;
	CdTextStatus status;
	Span	   *words = NULL;
	size_t		nwords = 0;
	int32_t		cps[4];
	int			ncps;
	int			lang;

	if (out->failed)
		return CD_TEXT_NOMEM;
	cd_buf_init(&folded, a);
	cd_buf_init(&tokens, a);
	cd_buf_init(&tmp, a);
	status = cd_fold_ext(in, len, CD_FOLD_JOIN_APOSTROPHES, &folded);
	if (status != CD_TEXT_OK || folded.len == 0)
		goto done;
	lang = cd_translit_detect_lang(folded.data, folded.len);

	if (cjk_name(folded.data, folded.len, cps, &ncps) != CJK_NONE &&
		spaced_family_name(folded.data, folded.len, cps))
	{
		/* 2-4 Han (or Hangul) characters, the family name alone in the first word */
		status = append_cjk_name(cps, ncps, &tmp, &tokens);
	}
	else
	{
		words = split_words(a, folded.data, folded.len, &nwords);
		if (words == NULL)
		{
			status = CD_TEXT_NOMEM;
			goto done;
		}
		for (size_t i = 0; i < nwords && status == CD_TEXT_OK; i++)
		{
			const char *w = folded.data + words[i].off;

			if (cjk_name(w, words[i].len, cps, &ncps) != CJK_NONE)
				status = append_cjk_name(cps, ncps, &tmp, &tokens);
			else
			{
				status = cd_translit_folded(w, words[i].len, lang, &tokens);
				if (status == CD_TEXT_OK && !cd_buf_append_byte(&tokens, ' '))
					status = CD_TEXT_NOMEM;
			}
		}
	}
	if (status == CD_TEXT_OK && tokens.len > 0)
		status = sort_tokens(tokens.data, tokens.len, out);

done:
	release(a, words);
	cd_buf_free(&folded);
	cd_buf_free(&tokens);
	cd_buf_free(&tmp);
	if (status == CD_TEXT_OK && out->failed)
		status = CD_TEXT_NOMEM;
	if (status != CD_TEXT_OK)
		truncate_to(out, start);
	return status;
}

/* ---- company_key ---- */

const char *
cd_legal_forms_data_version(void)
{
	return cd_legal_forms_data_version_string;
}

static int
compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int			c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static const CdLegalFormGroup *
find_group(const char *word, size_t len)
{
	int			lo = 0;
	int			hi = cd_legal_ngroups;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		const CdLegalFormGroup *g = &cd_legal_form_groups[mid];
		int			c = compare_bytes(g->word, (size_t) g->word_len, word, len);

		if (c == 0)
			return g;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* does the form's word sequence equal words[i..]? */
static bool
form_matches(const CdLegalForm *form, const char *s, const Span *words, size_t nwords, size_t i)
{
	const char *f = form->folded;

	if ((size_t) form->nwords > nwords - i)
		return false;
	for (int k = 0; k < form->nwords; k++)
	{
		const char *end = strchr(f, ' ');
		size_t		flen = end ? (size_t) (end - f) : strlen(f);
		const Span *w = &words[i + (size_t) k];

		if (flen != w->len || memcmp(f, s + w->off, flen) != 0)
			return false;
		f += flen + (end ? 1 : 0);
	}
	return true;
}

/* strip Chinese suffixes and Japanese/Korean affixes, never down to nothing */
static void
strip_affixes(const char *s, Span *w)
{
	bool		changed = true;

	while (changed)
	{
		changed = false;
		for (int k = 0; k < cd_legal_naffixes && !changed; k++)
		{
			const CdLegalForm *form = &cd_legal_forms[cd_legal_affixes[k]];
			size_t		flen = (size_t) form->folded_len;

			if (w->len <= flen)
				continue;
			if (memcmp(s + w->off + w->len - flen, form->folded, flen) == 0)
			{
				w->len -= flen;
				changed = true;
			}
			else if (form->kind == CD_LF_AFFIX &&
					 memcmp(s + w->off, form->folded, flen) == 0)
			{
				w->off += flen;
				w->len -= flen;
				changed = true;
			}
		}
	}
}

/* the number of words of the legal form that starts at words[i] (longest first), or 0 */
static int
form_at(const char *s, const Span *words, size_t nwords, size_t i)
{
	const CdLegalFormGroup *g = find_group(s + words[i].off, words[i].len);

	for (int k = 0; g && k < g->count; k++)
	{
		const CdLegalForm *form = &cd_legal_forms[g->start + k];

		if (form_matches(form, s, words, nwords, i))
			return form->nwords;
	}
	return 0;
}

/*
 * A word of one letter (key rules 3): one ASCII letter, or one letter (a code point of
 * category L*) of two UTF-8 bytes (Latin-1 and Latin Extended, Greek, Cyrillic, Hebrew,
 * Arabic ...).  Not a digit of any script (Arabic-Indic, NKo ...), not a CJK character
 * (those are whole words).
 */
static bool
single_letter(const char *s, const Span *w)
{
	unsigned char c = (unsigned char) s[w->off];
	int32_t		cp;

	if (w->len == 1)
		return c >= 'a' && c <= 'z';
	if (w->len != 2 || cd_utf8_decode((const unsigned char *) s + w->off, 2, &cp) != 2)
		return false;
	switch (utf8proc_category(cp))
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
			return true;
		default:
			return false;
	}
}

/* the longest joined run suffix tried as a legal form, in bytes (forms are short) */
#define CD_RUN_FORM_MAX 32

/* is the word made of the letters of words[k..j) a legal form of one word? */
static bool
run_is_form(const char *s, const Span *w, size_t k, size_t j)
{
	char		buf[CD_RUN_FORM_MAX];
	size_t		n = 0;
	const CdLegalFormGroup *g;

	for (size_t m = k; m < j; m++)
	{
		if (n + w[m].len > sizeof(buf))
			return false;
		memcpy(buf + n, s + w[m].off, w[m].len);
		n += w[m].len;
	}
	g = find_group(buf, n);
	for (int f = 0; g && f < g->count; f++)
		if (cd_legal_forms[g->start + f].nwords == 1)
			return true;
	return false;
}

/* join the letters of words[k..j) in place into words[k] (the others become empty spans) */
static void
join_run(char *s, Span *w, size_t k, size_t j)
{
	size_t		o = w[k].off + w[k].len;

	/* letters move left over the spaces: nothing after the run is touched */
	for (size_t m = k + 1; m < j; m++)
	{
		memmove(s + o, s + w[m].off, w[m].len);
		o += w[m].len;
		w[m].len = 0;
	}
	w[k].len = o - w[k].off;
}

/* the raw punctuation after a word (key rules 3, 0.2.0): see dot_marks() */
#define CD_DOT_TIGHT 1			/* the next word follows after exactly "." (D.S) */
#define CD_DOT_AFTER 2			/* the text after the word starts with "." (D. or D.S) */

/*
 * The next code point of valid UTF-8 s[*i..len) read as cd_fold reads words: 1 a letter,
 * digit or mark (part of a word), 2 an apostrophe, 0 anything else (a separator).
 */
static int
raw_class(const unsigned char *s, size_t len, size_t *i)
{
	int32_t		cp;
	int			n;

	if (s[*i] < 0x80)
	{
		unsigned char c = s[(*i)++];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			return 1;
		return c == '\'' || c == '`' ? 2 : 0;
	}
	n = cd_utf8_decode(s + *i, len - *i, &cp);
	if (n <= 0)
	{
		(*i)++;
		return 0;
	}
	*i += (size_t) n;
	if (cd_is_apostrophe(cp))
		return 2;
	switch (utf8proc_category(cp))
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ME:
		case UTF8PROC_CATEGORY_ND:
		case UTF8PROC_CATEGORY_NL:
		case UTF8PROC_CATEGORY_NO:
			return 1;
		default:
			return 0;
	}
}

/*
 * Per folded word, CD_DOT_TIGHT and CD_DOT_AFTER read from the raw text, whose words are
 * runs of letters, digits and marks (apostrophes inside a word joined), as cd_fold splits
 * them.  NULL when the raw text does not hold nwords such words (a fold that expands or
 * joins characters: the raw words could not be matched to the folded ones) or when the
 * allocator fails: runs of one-letter words then join whatever their dots.
 */
static unsigned char *
dot_marks(const CdAllocator *a, const char *in, size_t len, size_t nwords)
{
	const unsigned char *s = (const unsigned char *) in;
	unsigned char *marks = alloc_array(a, nwords, 1);
	size_t		n = 0;
	size_t		i = 0;
	bool		in_word = false;

	if (marks == NULL)
		return NULL;
	memset(marks, 0, nwords > 0 ? nwords : 1);
	while (i < len)
	{
		size_t		at = i;
		int			c = raw_class(s, len, &i);

		if (c == 1 || (c == 2 && in_word))
		{
			if (!in_word && n++ >= nwords)
				break;
			in_word = true;
			continue;
		}
		if (in_word && s[at] == '.')
		{
			size_t		next = i;

			marks[n - 1] |= CD_DOT_AFTER;
			if (next < len && raw_class(s, len, &next) == 1)
				marks[n - 1] |= CD_DOT_TIGHT;
		}
		in_word = false;
	}
	if (n != nwords)
	{
		release(a, marks);
		return NULL;
	}
	return marks;
}

/*
 * Key rules 3 (0.2.0): where a run of one-letter words words[i..j) ends its first part,
 * from the raw dots (marks, may be NULL: j).  Letters written tight (`D.S.M.`) stay
 * together; a run holding such a group splits at its other gaps (`D.S.M. I.P.` -> dsm,
 * ip); a run without one splits where a letter without a dot meets one with a dot
 * (`Rossi e C.`: e, c), and otherwise joins (`U. S.`, `D S M`).
 */
static size_t
run_part_end(const unsigned char *marks, size_t i, size_t j)
{
	bool		tight = false;

	if (marks == NULL)
		return j;
	for (size_t m = i; m + 1 < j; m++)
		tight |= (marks[m] & CD_DOT_TIGHT) != 0;
	for (size_t m = i; m + 1 < j; m++)
	{
		if (marks[m] & CD_DOT_TIGHT)
			continue;
		if (tight || ((marks[m] & CD_DOT_AFTER) != 0) != ((marks[m + 1] & CD_DOT_AFTER) != 0))
			return m + 1;
	}
	return j;
}

/*
 * form_at inside a run of one-letter words: never where the letter before is written
 * tight against this one (`U.S.A.` holds no `S.A.`, as `D.S.M.` holds no word of its
 * own); marks may be NULL (the allocator failed: every form counts)
 */
static int
run_form_at(const char *s, const Span *words, size_t nwords, const unsigned char *marks, size_t i)
{
	if (marks != NULL && i > 0 && (marks[i - 1] & CD_DOT_TIGHT) != 0)
		return 0;
	return form_at(s, words, nwords, i);
}

/*
 * Fold a company name and mark its legal-form words (whole-word forms, longest first
 * at each position).  Key rules 3: a run of two or more one-letter words that no legal
 * form starts within (letters written with dots or spaces: `P.L.C.`, `G.m.b.H.`,
 * `D.S.M.`, `U. S.`; a form never starts inside letters written tight, so `U.S.A.`
 * holds no `S.A.`: run_form_at) is one word, its letters joined in place in *folded (the run's
 * other words become empty spans, neither kept nor removed).  The run's longest suffix
 * of two or more letters that is a legal form of one word (`plc`, `gmbh`, `ag`) and
 * does not start inside letters written tight is a legal form of its own and the
 * letters before it stay a word (`Type X G.m.b.H.` ->
 * type x, `D.S.M. A.G.` -> dsm), except two letters first in the name: those are a
 * person's initials (`A.G. Barr`, `E.G. Smith`; `О.О.О. Ромашка` is a form).  When
 * nothing else would be kept, such runs are kept as words (`A.B. Ltd`, `Ltd A.B.` ->
 * ab).  *words and *removed are allocated with a (release them even on error); *kept
 * counts the words that are not legal forms.
 */
static CdTextStatus
company_words(const CdAllocator *a, const char *in, size_t len, CdBuf *folded, Span **words,
			  bool **removed, size_t *nwords, size_t *kept)
{
	CdTextStatus status;
	size_t		i;
	size_t		nrun_forms = 0;
	unsigned char *marks;

	*words = NULL;
	*removed = NULL;
	*nwords = 0;
	*kept = 0;
	status = cd_fold_ext(in, len, CD_FOLD_JOIN_APOSTROPHES, folded);
	if (status != CD_TEXT_OK || folded->len == 0)
		return status;
	*words = split_words(a, folded->data, folded->len, nwords);
	*removed = alloc_array(a, *nwords, sizeof(bool));
	if (*words == NULL || *removed == NULL)
		return CD_TEXT_NOMEM;
	memset(*removed, 0, *nwords * sizeof(bool));
	marks = dot_marks(a, in, len, *nwords);

	i = 0;
	while (i < *nwords)
	{
		Span	   *w = *words;
		char	   *s = folded->data;
		int			matched = form_at(s, w, *nwords, i);

		if (!matched && i + 1 < *nwords && single_letter(s, &w[i]) && single_letter(s, &w[i + 1]) &&
			run_form_at(s, w, *nwords, marks, i + 1) == 0)
		{
			size_t		j = i + 1;
			size_t		k;

			while (j < *nwords && single_letter(s, &w[j]) && run_form_at(s, w, *nwords, marks, j) == 0)
				j++;
			/* dotted groups side by side are words of their own (`D.S.M. I.P.`) */
			j = run_part_end(marks, i, j);
			if (j == i + 1)
			{
				(*kept)++;
				i++;
				continue;
			}
			/*
			 * the longest suffix of two or more letters that is a form; first in the name,
			 * three or more (`О.О.О. Ромашка`: two are initials, `A.G. Barr`)
			 */
			for (k = i; k + 1 < j; k++)
				if ((k > 0 || j >= 3) && run_is_form(s, w, k, j) &&
					(k == i || marks == NULL || (marks[k - 1] & CD_DOT_TIGHT) == 0))
					break;
			if (k + 1 < j)
			{
				if (k > i)
				{
					join_run(s, w, i, k);
					(*kept)++;
				}
				join_run(s, w, k, j);
				for (size_t m = k; m < j; m++)
					(*removed)[m] = true;
				nrun_forms++;
			}
			else
			{
				join_run(s, w, i, j);
				(*kept)++;
			}
			i = j;
			continue;
		}
		if (matched)
		{
			for (int k = 0; k < matched; k++)
				(*removed)[i + (size_t) k] = true;
			i += (size_t) matched;
		}
		else
		{
			(*kept)++;
			i++;
		}
	}
	release(a, marks);
	if (*kept == 0 && nrun_forms > 0)
	{
		/*
		 * nothing is kept only because runs were read as legal forms (`Ltd A.B.`): they
		 * are the name.  A run's head is the only removed word followed by an empty span.
		 */
		for (i = 0; i < *nwords; i++)
		{
			if (!(*removed)[i] || i + 1 >= *nwords || (*words)[i + 1].len != 0)
				continue;
			(*kept)++;
			for (size_t m = i; m < *nwords && (m == i || (*words)[m].len == 0); m++)
				(*removed)[m] = false;
		}
	}
	return CD_TEXT_OK;
}

/* separators after a legal form that end a company's name (key rules 2) */
#define CD_SEAT_MAX_SEPARATORS 8

/*
 * Key rules 2: a legal form that follows the name and is followed by a comma, a
 * semicolon or an opening parenthesis ends the name; what comes after is the seat or
 * a note (`Unilever N.V., Rotterdam`, `Alcatel N.V., Amsterdam, NL`, `Unilever N.V.
 * (NL)`).  Returns the length of the raw prefix that holds the name, or len.  Only the
 * first CD_SEAT_MAX_SEPARATORS separators are looked at (names are short; a long text
 * is not scanned quadratically).
 */
static CdTextStatus
seat_cut(const CdAllocator *a, const char *in, size_t len, size_t *cut)
{
	int			seen = 0;

	*cut = len;
	for (size_t p = 0; p < len && seen < CD_SEAT_MAX_SEPARATORS; p++)
	{
		CdBuf		folded;
		Span	   *words;
		bool	   *removed;
		size_t		nwords;
		size_t		kept;
		CdTextStatus status;
		bool		ends;

		if (in[p] != ',' && in[p] != ';' && in[p] != '(')
			continue;
		seen++;
		cd_buf_init(&folded, a);
		status = company_words(a, in, p, &folded, &words, &removed, &nwords, &kept);
		ends = status == CD_TEXT_OK && nwords > 0 && kept > 0 && removed[nwords - 1];
		release(a, words);
		release(a, removed);
		if (status == CD_TEXT_OK && folded.failed)
			status = CD_TEXT_NOMEM;
		cd_buf_free(&folded);
		/* the whole text was valid UTF-8 and a separator is ASCII: the prefix is valid */
		if (status != CD_TEXT_OK)
			return status;
		if (ends)
		{
			*cut = p;
			return CD_TEXT_OK;
		}
	}
	return CD_TEXT_OK;
}

CdTextStatus
cd_company_key(const char *in, size_t len, CdBuf *out)
{
	const CdAllocator *a = out->alloc;
	size_t		start = out->len;
	CdBuf		folded;
	CdTextStatus status;
	Span	   *words = NULL;
	bool	   *removed = NULL;
	size_t		nwords = 0;
	size_t		kept = 0;
	size_t		cut;
	size_t		i;

	if (out->failed)
		return CD_TEXT_NOMEM;
	cd_buf_init(&folded, a);
	/* the whole text first: it is validated (and folded) as before key rules 2 */
	status = company_words(a, in, len, &folded, &words, &removed, &nwords, &kept);
	if (status != CD_TEXT_OK || folded.len == 0)
		goto done;
	status = seat_cut(a, in, len, &cut);
	if (status != CD_TEXT_OK)
		goto done;
	if (cut < len)
	{
		release(a, words);
		release(a, removed);
		words = NULL;
		removed = NULL;
		cd_buf_reset(&folded);
		status = company_words(a, in, cut, &folded, &words, &removed, &nwords, &kept);
		if (status != CD_TEXT_OK || folded.len == 0)
			goto done;
	}

	for (i = 0; i < nwords; i++)
	{
		/* a name that is nothing but legal forms is kept whole (its letters joined) */
		if ((removed[i] && kept > 0) || words[i].len == 0)
			continue;
		if (kept > 0)
			strip_affixes(folded.data, &words[i]);
		if ((out->len > start && !cd_buf_append_byte(out, ' ')) ||
			!cd_buf_append(out, folded.data + words[i].off, words[i].len))
		{
			status = CD_TEXT_NOMEM;
			goto done;
		}
	}

done:
	release(a, words);
	release(a, removed);
	cd_buf_free(&folded);
	if (status == CD_TEXT_OK && out->failed)
		status = CD_TEXT_NOMEM;
	if (status != CD_TEXT_OK)
		truncate_to(out, start);
	return status;
}

/* cd_person_key: through the active value memo, if any (value_memo.h) */
CdTextStatus
cd_person_key(const char *in, size_t len, CdBuf *out)
{
	const char *v;
	size_t		vl;
	size_t		start = out->len;
	CdTextStatus st;

	if (cd_memo_active == NULL)
		return person_key_uncached(in, len, out);
	if (cd_memo_find(CD_MEMO_PERSON_KEY, NULL, 0, in, len, &v, &vl))
		return cd_buf_append(out, v, vl) ? CD_TEXT_OK : CD_TEXT_NOMEM;
	st = person_key_uncached(in, len, out);
	if (st == CD_TEXT_OK && !out->failed)
		cd_memo_add(CD_MEMO_PERSON_KEY, NULL, 0, in, len, out->len > start ? out->data + start : "",
					out->len - start);
	return st;
}
