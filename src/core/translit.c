/*
 * translit.c
 *		Transliteration of folded names to Latin ASCII: compiled tables for the scripts
 *		people transliterate by convention, one cached ICU transliterator for the rest.
 *
 * ICU costs 7-26 us per name and its generic rules give poor keys for Russian
 * (Ромашка -> romaska), so the tables come first and ICU only sees the runs of code
 * points they do not cover.  The transliterator is opened once per process and kept:
 * opening costs milliseconds.  It never allocates from our allocator and we never call
 * the allocator while ICU works, so a palloc error cannot leave ICU in a bad state.
 * Han characters are read one at a time (never in context, so keys do not depend on
 * what was cached) and their readings are cached per process in a static table.
 * The per-process state (transliterator, Han cache) is not thread-safe: one thread per
 * process, as in PostgreSQL backends and the fuzzers.
 */
#include "translit.h"

#include <string.h>

#include <unicode/uchar.h>
#include <unicode/utf16.h>
#include <unicode/utrans.h>

#include "translit_data.h"
#include "value_memo.h"

#define ICU_TRANSLIT_ID "Any-Latin; Latin-ASCII"
/*
 * ICU's Han-Latin costs about 10 us per character, so the readings of the common block
 * of Han characters are remembered per process once ICU has given them: slot[0] is 0
 * while unknown, else 1 + the length of the reading in slot[1..].
 */
#define HAN_CACHE_FIRST 0x4E00
#define HAN_CACHE_LAST 0x9FFF
#define HAN_SLOT 16
/* longest run of code points given to ICU in one call; longer runs are cut at a space */
#define ICU_RUN_MAX 256

typedef struct Translit
{
	CdBuf	   *out;
	size_t		start;			/* out->len when the call began */
	bool		need_space;		/* a word ended: write a space before the next letter */
	int			lang;
	UChar	   *ubuf;			/* ICU work buffer, from out's allocator */
	int32_t		ucap;
} Translit;

static UTransliterator *icu_translit = NULL;
static char han_cache[HAN_CACHE_LAST - HAN_CACHE_FIRST + 1][HAN_SLOT];

const char *
cd_translit_data_version(void)
{
	return cd_translit_data_version_string;
}

static UTransliterator *
get_icu_translit(void)
{
	if (icu_translit == NULL)
	{
		UChar		id[sizeof(ICU_TRANSLIT_ID)];
		UErrorCode	status = U_ZERO_ERROR;
		UTransliterator *t;

		for (size_t i = 0; i < sizeof(ICU_TRANSLIT_ID); i++)
			id[i] = (UChar) ICU_TRANSLIT_ID[i];
		t = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &status);
		if (U_FAILURE(status))
		{
			if (t)
				utrans_close(t);
			return NULL;
		}
		icu_translit = t;
	}
	return icu_translit;
}

/* ---- output ---- */

static bool
emit_char(Translit *t, char c)
{
	if (t->need_space)
	{
		t->need_space = false;
		if (t->out->len > t->start && !cd_buf_append_byte(t->out, ' '))
			return false;
	}
	return cd_buf_append_byte(t->out, c);
}

static bool
emit_ascii_byte(Translit *t, char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return emit_char(t, c);
	if (c >= 'A' && c <= 'Z')
		return emit_char(t, (char) (c + ('a' - 'A')));
	t->need_space = true;
	return true;
}

static bool
emit_ascii(Translit *t, const char *s)
{
	size_t		n = strlen(s);

	/* one reservation: the space and the letters below cannot fail */
	if (!cd_buf_reserve(t->out, n + 1))
		return false;
	for (; *s; s++)
		(void) emit_ascii_byte(t, *s);
	return true;
}

/* ---- tables ---- */

/* index of the first rule for code point c, or -1 */
static int
first_rule(int32_t c)
{
	int			lo = 0;
	int			hi = cd_translit_nrules;

	if (c >= CD_TL_DENSE_FIRST && c <= CD_TL_DENSE_LAST)
		return cd_translit_dense_first[c - CD_TL_DENSE_FIRST];

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (cd_translit_rules[mid].from[0] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < cd_translit_nrules && cd_translit_rules[lo].from[0] == c)
		return lo;
	return -1;
}

/* the base rule for a single code point, used for ICU's leftovers */
static const CdTranslitRule *
single_rule(int32_t c)
{
	int			r = first_rule(c);

	if (r < 0)
		return NULL;
	for (; r < cd_translit_nrules && cd_translit_rules[r].from[0] == c; r++)
	{
		const CdTranslitRule *rule = &cd_translit_rules[r];

		if (rule->nfrom == 1 && rule->lang == CD_TL_BASE && !rule->final_only)
			return rule;
	}
	return NULL;
}

static int
decode_at(const unsigned char *s, size_t len, size_t i, int32_t *cp)
{
	int			n = cd_utf8_decode(s + i, len - i, cp);

	if (n < 0)
	{
		/* folded text is valid UTF-8; treat anything else as one separator byte */
		*cp = ' ';
		n = 1;
	}
	return n;
}

/* covered by the tables: its own base rule exists (the generator checks this) */
static bool
table_covers(int32_t c)
{
	return first_rule(c) >= 0;
}

static bool
is_decimal_digit(int32_t c)
{
	return u_charType(c) == U_DECIMAL_DIGIT_NUMBER && u_charDigitValue(c) >= 0;
}

/*
 * Find the best rule at byte offset i (code point c0 there): the longest one that
 * matches, the selected language's rule before the base one at equal length.
 */
static const CdTranslitRule *
match_rule(const unsigned char *s, size_t len, size_t i, int32_t c0, int lang, size_t *consumed)
{
	int32_t		cps[3];
	size_t		ends[3];
	int			ncps = 0;
	size_t		pos = i;
	const CdTranslitRule *best = NULL;
	size_t		best_end = 0;
	int			r = first_rule(c0);

	if (r < 0)
		return NULL;
	while (ncps < 3 && pos < len && s[pos] != ' ')
	{
		pos += (size_t) decode_at(s, len, pos, &cps[ncps]);
		ends[ncps++] = pos;
	}
	for (; r < cd_translit_nrules && cd_translit_rules[r].from[0] == c0; r++)
	{
		const CdTranslitRule *rule = &cd_translit_rules[r];
		bool		ok = true;
		size_t		end;

		if (rule->lang != CD_TL_BASE && rule->lang != lang)
			continue;
		if (rule->nfrom > ncps)
			continue;
		if (best && (rule->nfrom < best->nfrom ||
					 (rule->nfrom == best->nfrom && best->lang != CD_TL_BASE)))
			continue;
		for (int k = 1; k < rule->nfrom && ok; k++)
			ok = cps[k] == rule->from[k];
		if (!ok)
			continue;
		end = ends[rule->nfrom - 1];
		if (rule->final_only && end < len && s[end] != ' ')
			continue;
		best = rule;
		best_end = end;
	}
	if (best)
		*consumed = best_end - i;
	return best;
}

static bool
is_detect_letter(int32_t c)
{
	int			lo = 0;
	int			hi = cd_translit_ndetect_letters;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (cd_translit_detect_letters[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cd_translit_ndetect_letters && cd_translit_detect_letters[lo] == c;
}

int
cd_translit_detect_lang(const char *folded, size_t len)
{
	const unsigned char *s = (const unsigned char *) folded;
	uint64_t	seen = 0;		/* bit 3 * row + k: letter k of detect row "row" occurs */
	size_t		i = 0;

	while (i < len)
	{
		int32_t		c;

		if (s[i] < 0x80)
		{
			i++;
			continue;
		}
		i += (size_t) decode_at(s, len, i, &c);
		if (c < 0x0400 || c > 0x052F || !is_detect_letter(c))
			continue;
		for (int d = 0; d < cd_translit_ndetects && d < 21; d++)
			for (int k = 0; k < cd_translit_detects[d].nletters; k++)
				if (cd_translit_detects[d].letters[k] == c)
					seen |= UINT64_C(1) << (3 * d + k);
	}
	for (int d = 0; d < cd_translit_ndetects && d < 21; d++)
	{
		uint64_t	want = ((UINT64_C(1) << cd_translit_detects[d].nletters) - 1) << (3 * d);

		if ((seen & want) == want)
			return cd_translit_detects[d].lang;
	}
	return CD_TL_BASE;
}

/* ---- ICU ---- */

static bool
ensure_ubuf(Translit *t, int32_t need)
{
	const CdAllocator *a = t->out->alloc;
	UChar	   *p;

	if (need <= t->ucap)
		return true;
	if (t->ubuf)
		a->release(t->ubuf, a->ctx);
	t->ubuf = NULL;
	t->ucap = 0;
	p = a->alloc((size_t) need * sizeof(UChar), a->ctx);
	if (p == NULL)
		return false;
	t->ubuf = p;
	t->ucap = need;
	return true;
}

static int32_t
fill_ubuf(Translit *t, const unsigned char *s, size_t n)
{
	int32_t		len = 0;
	size_t		i = 0;

	while (i < n)
	{
		int32_t		c;

		i += (size_t) decode_at(s, n, i, &c);
		U16_APPEND_UNSAFE(t->ubuf, len, c);
	}
	return len;
}

/* emit ICU's output: ASCII letters and digits, known Latin letters; drop marks */
static bool
emit_icu_output(Translit *t, int32_t len)
{
	int32_t		i = 0;

	while (i < len)
	{
		UChar32		c;

		U16_NEXT(t->ubuf, i, len, c);
		if (c < 0x80)
		{
			if (!emit_ascii_byte(t, (char) c))
				return false;
		}
		else
		{
			int8_t		type = u_charType(c);
			const CdTranslitRule *rule;

			if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
				type == U_COMBINING_SPACING_MARK || type == U_FORMAT_CHAR ||
				type == U_MODIFIER_LETTER)
				continue;
			rule = single_rule(u_foldCase(c, U_FOLD_CASE_DEFAULT));
			if (rule)
			{
				if (!emit_ascii(t, rule->to))
					return false;
			}
			else
				t->need_space = true;
		}
	}
	return true;
}

static CdTextStatus
icu_run(Translit *t, const unsigned char *s, size_t n)
{
	UTransliterator *trans = get_icu_translit();
	int32_t		units = 0;
	int32_t		len;
	int32_t		limit;
	UErrorCode	status = U_ZERO_ERROR;
	size_t		i = 0;

	if (trans == NULL)
		return CD_TEXT_ICU_ERROR;
	while (i < n)
	{
		int32_t		c;

		i += (size_t) decode_at(s, n, i, &c);
		units += c >= 0x10000 ? 2 : 1;
	}
	/* romanization is rarely more than 8 times longer (Han: 1 unit -> "zhuang ") */
	if (!ensure_ubuf(t, units * 8 + 32))
		return CD_TEXT_NOMEM;
	len = fill_ubuf(t, s, n);
	limit = len;
	utrans_transUChars(trans, t->ubuf, &len, t->ucap, 0, &limit, &status);
	if (status == U_BUFFER_OVERFLOW_ERROR || status == U_STRING_NOT_TERMINATED_WARNING ||
		(U_SUCCESS(status) && len > t->ucap))
	{
		int32_t		need = len + 32;

		if (need < units)
			return CD_TEXT_ICU_ERROR;
		if (!ensure_ubuf(t, need))
			return CD_TEXT_NOMEM;
		len = fill_ubuf(t, s, n);
		limit = len;
		status = U_ZERO_ERROR;
		utrans_transUChars(trans, t->ubuf, &len, t->ucap, 0, &limit, &status);
		if (status == U_STRING_NOT_TERMINATED_WARNING)
			status = U_ZERO_ERROR;
	}
	if (U_FAILURE(status) || len > t->ucap || len < 0)
		return CD_TEXT_ICU_ERROR;
	/* a run in a script without tables is a word of its own */
	t->need_space = true;
	if (!emit_icu_output(t, len))
		return CD_TEXT_NOMEM;
	t->need_space = true;
	return CD_TEXT_OK;
}

static bool
is_han(int32_t c)
{
	return (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0x4E00 && c <= 0x9FFF) ||
		(c >= 0xF900 && c <= 0xFAFF) ||
		(c >= 0x20000 && c <= 0x3134F);
}

/*
 * Does the code point at byte offset i need ICU?  Sets *n to its length and *han to
 * whether it is a Han character.
 */
static bool
needs_icu(const unsigned char *s, size_t len, size_t i, size_t *n, bool *han)
{
	int32_t		c;

	*han = false;
	if (s[i] < 0x80)
	{
		*n = 1;
		return false;
	}
	*n = (size_t) decode_at(s, len, i, &c);
	*han = is_han(c);
	return !table_covers(c) && !is_decimal_digit(c);
}

/*
 * End (byte offset) of the ICU run starting at i: uncovered code points, with single
 * spaces between them, at most ICU_RUN_MAX code points, cut after a space if possible.
 * Han and other scripts make separate runs: ICU spaces Han syllables from each other
 * but not from the kana next to them (株式会社トヨタ would end in "shetoyota").
 */
static size_t
icu_run_end(const unsigned char *s, size_t len, size_t i)
{
	size_t		end = i;
	size_t		last_space = 0;
	int			count = 0;
	size_t		n;
	bool		han;
	bool		run_han;

	(void) needs_icu(s, len, i, &n, &run_han);
	while (end < len && count < ICU_RUN_MAX)
	{
		if (s[end] == ' ')
		{
			if (end + 1 < len && needs_icu(s, len, end + 1, &n, &han) && han == run_han)
			{
				last_space = end;
				end += 1;
				count++;
				continue;
			}
			break;
		}
		if (!needs_icu(s, len, end, &n, &han) || han != run_han)
			break;
		end += n;
		count++;
	}
	if (count >= ICU_RUN_MAX && end < len && last_space > i)
		end = last_space;
	if (end == i)
		end = i + n;			/* cannot happen: the caller checked s[i] needs ICU */
	return end;
}

/*
 * One Han character: its own word.  Always read on its own, never in context, so that
 * the result does not depend on the cache (ICU reads a few pairs differently, e.g. 重庆
 * chong qing but 重 zhong; names gain nothing from that and keys need stability).
 */
static CdTextStatus
han_char(Translit *t, const unsigned char *s, size_t n, int32_t c)
{
	char	   *slot = NULL;
	size_t		before;
	size_t		from;
	CdTextStatus status;

	t->need_space = true;
	if (c >= HAN_CACHE_FIRST && c <= HAN_CACHE_LAST)
	{
		slot = han_cache[c - HAN_CACHE_FIRST];
		if (slot[0] != 0)
		{
			for (int k = 1; k < slot[0]; k++)
				if (!emit_ascii_byte(t, slot[k]))
					return CD_TEXT_NOMEM;
			t->need_space = true;
			return CD_TEXT_OK;
		}
	}
	before = t->out->len;
	status = icu_run(t, s, n);
	if (status != CD_TEXT_OK || slot == NULL)
		return status;
	/* remember what ICU gave, without the space that separated it from earlier words */
	from = before;
	if (from < t->out->len && t->out->data[from] == ' ')
		from++;
	if (t->out->len - from < HAN_SLOT - 1)
	{
		memcpy(slot + 1, t->out->data + from, t->out->len - from);
		slot[0] = (char) (1 + (t->out->len - from));
	}
	return CD_TEXT_OK;
}

CdTextStatus
cd_translit_folded(const char *folded, size_t len, int lang, CdBuf *out)
{
	const unsigned char *s = (const unsigned char *) folded;
	Translit	t;
	CdTextStatus status = CD_TEXT_OK;
	size_t		i = 0;

	if (out->failed)
		return CD_TEXT_NOMEM;
	t.out = out;
	t.start = out->len;
	t.need_space = false;
	t.lang = lang;
	t.ubuf = NULL;
	t.ucap = 0;
	while (i < len && status == CD_TEXT_OK)
	{
		unsigned char b = s[i];
		int32_t		c;
		size_t		n;
		const CdTranslitRule *rule;

		if (b == ' ')
		{
			t.need_space = true;
			i++;
			continue;
		}
		if (b < 0x80)
		{
			if (!emit_ascii_byte(&t, (char) b))
				status = CD_TEXT_NOMEM;
			i++;
			continue;
		}
		n = (size_t) decode_at(s, len, i, &c);
		rule = match_rule(s, len, i, c, lang, &n);
		if (rule)
		{
			bool		initial = i == 0 || s[i - 1] == ' ';
			const char *to = (initial && rule->to_initial) ? rule->to_initial : rule->to;

			if (!emit_ascii(&t, to))
				status = CD_TEXT_NOMEM;
			i += n;
			continue;
		}
		if (is_han(c))
		{
			status = han_char(&t, s + i, n, c);
			i += n;
			continue;
		}
		if (is_decimal_digit(c))
		{
			if (!emit_char(&t, (char) ('0' + u_charDigitValue(c))))
				status = CD_TEXT_NOMEM;
			i += n;
			continue;
		}
		n = icu_run_end(s, len, i);
		status = icu_run(&t, s + i, n - i);
		i = n;
	}
	if (t.ubuf)
		out->alloc->release(t.ubuf, out->alloc->ctx);
	if (status != CD_TEXT_OK || out->failed)
	{
		if (out->data && t.start < out->cap)
		{
			out->len = t.start;
			out->data[t.start] = '\0';
		}
		return status != CD_TEXT_OK ? status : CD_TEXT_NOMEM;
	}
	return CD_TEXT_OK;
}

static CdTextStatus
translit_uncached(const char *in, size_t len, CdBuf *out)
{
	size_t		start = out->len;
	CdTextStatus status;
	CdBuf		folded;
	size_t		i;

	/* fold straight into out: most names are ASCII once folded and are then done */
	status = cd_fold_ext(in, len, CD_FOLD_JOIN_APOSTROPHES, out);
	if (status != CD_TEXT_OK)
		return status;
	for (i = start; i < out->len; i++)
		if ((unsigned char) out->data[i] >= 0x80)
			break;
	if (i == out->len)
		return CD_TEXT_OK;

	cd_buf_init(&folded, out->alloc);
	if (!cd_buf_append(&folded, out->data + start, out->len - start))
	{
		cd_buf_free(&folded);
		out->len = start;
		out->data[start] = '\0';
		return CD_TEXT_NOMEM;
	}
	out->len = start;
	out->data[start] = '\0';
	status = cd_translit_folded(folded.data, folded.len,
								cd_translit_detect_lang(folded.data, folded.len), out);
	cd_buf_free(&folded);
	return status;
}

/* cd_translit: through the active value memo, if any (value_memo.h) */
CdTextStatus
cd_translit(const char *in, size_t len, CdBuf *out)
{
	const char *v;
	size_t		vl;
	size_t		start = out->len;
	CdTextStatus st;

	if (cd_memo_active == NULL)
		return translit_uncached(in, len, out);
	if (cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, in, len, &v, &vl))
		return cd_buf_append(out, v, vl) ? CD_TEXT_OK : CD_TEXT_NOMEM;
	st = translit_uncached(in, len, out);
	if (st == CD_TEXT_OK && !out->failed)
		cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, in, len, out->len > start ? out->data + start : "",
					out->len - start);
	return st;
}
