/*
 * email.c
 *		Email address normalization and dedup keys (see email.h for the rules).
 *
 * Everything works in fixed-size stack buffers: an address that does not fit in them is far
 * past the RFC 5321 limits anyway, so it is CD_EMAIL_TOO_LONG and nothing ever allocates.
 * The common ASCII address never touches ICU or utf8proc.
 */
#include "email.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <unicode/uidna.h>
#include <utf8proc.h>

#include "cd_buf.h"
#include "value_memo.h"

#define ADDR_RAW_MAX	1024	/* address part (after display name / mailto) before normalizing */
#define LOCAL_RAW_MAX	256		/* local part before case folding */
#define LOCAL_MAX		64		/* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX		253		/* RFC 1035, text form without the root dot */
#define LABEL_MAX		63
#define ADDRESS_MAX		254		/* RFC 5321 path limit minus the angle brackets */
#define DOMAIN_BUF		1024	/* ICU output; anything longer is too long */

typedef struct Span
{
	const char *s;
	const char *e;
} Span;

static inline size_t
span_len(Span sp)
{
	return (size_t) (sp.e - sp.s);
}

/*
 * Characters that copy-paste leaves around an address: spaces of every kind, zero-width
 * characters, the BOM, soft hyphen and bidi controls.  Only trimmed at the ends; inside an
 * address they are errors.
 */
static bool
is_blank_cp(int32_t cp)
{
	if (cp <= 0x20)
		return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
	if (cp < 0x85)
		return false;
	return cp == 0x85 || cp == 0xA0 || cp == 0xAD || cp == 0x061C ||
		cp == 0x1680 || cp == 0x180E ||
		(cp >= 0x2000 && cp <= 0x200F) ||
		(cp >= 0x2028 && cp <= 0x202F) ||
		(cp >= 0x205F && cp <= 0x2064) ||
		(cp >= 0x2066 && cp <= 0x206F) ||
		cp == 0x3000 || cp == 0xFEFF;
}

/* Trim blanks at both ends; the span must be valid UTF-8. */
static Span
trim_blanks(Span sp)
{
	int32_t		cp;

	while (sp.s < sp.e)
	{
		int			n = cd_utf8_decode((const unsigned char *) sp.s, span_len(sp), &cp);

		if (n < 0 || !is_blank_cp(cp))
			break;
		sp.s += n;
	}
	while (sp.s < sp.e)
	{
		const char *q = sp.e - 1;
		int			n;

		while (q > sp.s && ((unsigned char) *q & 0xC0) == 0x80)
			q--;
		n = cd_utf8_decode((const unsigned char *) q, (size_t) (sp.e - q), &cp);
		if (n < 0 || q + n != sp.e || !is_blank_cp(cp))
			break;
		sp.e = q;
	}
	return sp;
}

static inline unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + 32) : c;
}

static bool
ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char) a[i]) != ascii_lower((unsigned char) b[i]))
			return false;
	return true;
}

/* Strip "mailto:" and the "?query" after it; returns true when it was there. */
static bool
strip_mailto(Span *sp)
{
	const char *q;

	if (span_len(*sp) < 7 || !ascii_caseeq(sp->s, "mailto:", 7))
		return false;
	sp->s += 7;
	q = memchr(sp->s, '?', span_len(*sp));
	if (q)
		sp->e = q;
	*sp = trim_blanks(*sp);
	return true;
}

/*
 * A display name in front of <addr>: a phrase of words and quoted strings.  Unquoted
 * separators mean a list or a group, which is not one address.  An unquoted "@" is allowed
 * only when the name is the address itself, as some mailers write it.
 */
static bool
display_name_ok(Span name, Span addr)
{
	bool		in_quote = false;
	bool		has_at = false;
	size_t		n = span_len(name);

	for (size_t i = 0; i < n; i++)
	{
		char		c = name.s[i];

		if (in_quote)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_quote = false;
			continue;
		}
		if (c == '"')
			in_quote = true;
		else if (c == ',' || c == ';' || c == ':' || c == '<' || c == '>')
			return false;
		else if (c == '@')
			has_at = true;
	}
	if (in_quote)
		return false;
	if (has_at)
	{
		if (n >= 2 && name.s[0] == '\'' && name.e[-1] == '\'')
		{
			name.s++;
			name.e--;
		}
		return span_len(name) == span_len(addr) &&
			ascii_caseeq(name.s, addr.s, span_len(addr));
	}
	return true;
}

/*
 * A trailing RFC 5322 comment "addr (Name)": from the first "(" to the end, nested parens
 * balanced, quoted-pairs skipped.  Returns false when the parentheses do not close at the end.
 */
static bool
strip_comment(Span *sp)
{
	const char *lp = memchr(sp->s, '(', span_len(*sp));
	size_t		n;
	int			depth = 0;

	if (lp == NULL)
		return false;
	n = (size_t) (sp->e - lp);
	for (size_t i = 0; i < n; i++)
	{
		if (lp[i] == '\\')
			i++;
		else if (lp[i] == '(')
			depth++;
		else if (lp[i] == ')' && --depth == 0)
		{
			if (i != n - 1)
				return false;
			sp->e = lp;
			*sp = trim_blanks(*sp);
			return true;
		}
	}
	return false;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 5322 atext, the ASCII characters of a dot-atom besides "." */
static inline bool
is_atext(unsigned char c)
{
	unsigned char lc = (unsigned char) (c | 0x20);

	if ((lc >= 'a' && lc <= 'z') || (c >= '0' && c <= '9'))
		return true;
	switch (c)
	{
		case '!':
		case '#':
		case '$':
		case '%':
		case '&':
		case '\'':
		case '*':
		case '+':
		case '-':
		case '/':
		case '=':
		case '?':
		case '^':
		case '_':
		case '`':
		case '{':
		case '|':
		case '}':
		case '~':
			return true;
		default:
			return false;
	}
}

/* controls, space and the RFC 5322 specials that never occur in a bare dot-atom address */
static inline bool
is_special(unsigned char c)
{
	if (c <= 0x20 || c == 0x7F)
		return true;
	switch (c)
	{
		case '"':
		case '(':
		case ')':
		case ',':
		case ':':
		case ';':
		case '<':
		case '>':
		case '\\':
			return true;
		default:
			return false;
	}
}

/* UTF-8 validity with a fast path for the common all-ASCII input */
static bool
utf8_valid(const char *s, size_t n)
{
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= (unsigned char) s[i];
	return acc < 0x80 || cd_utf8_valid(s, n);
}

static bool
is_letter_mark_digit(utf8proc_category_t cat, bool *is_mark)
{
	*is_mark = (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC);
	switch (cat)
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ND:
			return true;
		default:
			return false;
	}
}

/*
 * Dot-atom check of the local part.  Sets *ascii when it has no non-ASCII character.
 */
static bool
local_syntax_ok(const char *s, size_t n, bool *ascii)
{
	bool		prev_dot = true;	/* so that a leading dot fails */
	bool		prev_base = false;	/* the previous character was a letter, digit or mark */
	size_t		i = 0;

	*ascii = true;
	while (i < n)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x80)
		{
			if (c == '.')
			{
				if (prev_dot)
					return false;
				prev_dot = true;
			}
			else if (is_atext(c))
				prev_dot = false;
			else
				return false;
			prev_base = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
			prev_base = prev_base || (c >= '0' && c <= '9');
			i++;
		}
		else
		{
			int32_t		cp;
			int			len = cd_utf8_decode((const unsigned char *) s + i, n - i, &cp);
			bool		is_mark;

			if (len < 0)
				return false;
			if (!is_letter_mark_digit(utf8proc_category(cp), &is_mark))
				return false;
			/*
			 * A mark needs a letter or digit to sit on: after punctuation it is a defective
			 * sequence, and a provider rule that drops the punctuation would glue it onto
			 * another base.
			 */
			if (is_mark && !prev_base)
				return false;
			*ascii = false;
			prev_dot = false;
			prev_base = true;
			i += (size_t) len;
		}
	}
	return !prev_dot;
}

/*
 * Case fold and NFC a non-ASCII local part into out (capacity LOCAL_MAX + 1).  Returns the
 * length, or -1 when the result is longer than LOCAL_MAX, or -2 on a utf8proc error.
 */
static int
fold_local(const char *s, size_t n, char *out)
{
	utf8proc_int32_t cps[4 * LOCAL_RAW_MAX];
	utf8proc_ssize_t ncp;
	utf8proc_ssize_t nbytes;
	const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD;

	ncp = utf8proc_decompose_custom((const utf8proc_uint8_t *) s, (utf8proc_ssize_t) n,
									cps, (utf8proc_ssize_t) (sizeof(cps) / sizeof(cps[0])) - 1,
									opts, NULL, NULL);
	if (ncp < 0)
		return -2;
	if (ncp >= (utf8proc_ssize_t) (sizeof(cps) / sizeof(cps[0])) - 1)
		return -1;
	/* composes, then writes UTF-8 over the buffer (never longer than 4 bytes a code point) */
	nbytes = utf8proc_reencode(cps, ncp, opts);
	if (nbytes < 0)
		return -2;
	if (nbytes > LOCAL_MAX)
		return -1;
	memcpy(out, cps, (size_t) nbytes);
	return (int) nbytes;
}

/* The per-process UTS #46 object; opened once, never closed (ICU's own memory). */
static const UIDNA *
email_idna(void)
{
	static UIDNA *idna = NULL;

	if (idna == NULL)
	{
		UErrorCode	err = U_ZERO_ERROR;
		UIDNA	   *p = uidna_openUTS46(UIDNA_USE_STD3_RULES | UIDNA_CHECK_BIDI |
										UIDNA_CHECK_CONTEXTJ | UIDNA_CHECK_CONTEXTO |
										UIDNA_NONTRANSITIONAL_TO_ASCII |
										UIDNA_NONTRANSITIONAL_TO_UNICODE, &err);

		if (U_FAILURE(err))
		{
			if (p)
				uidna_close(p);
			return NULL;
		}
		idna = p;
	}
	return idna;
}

/*
 * LDH label rules on a lower-case ASCII domain; xn-- labels have been checked by ICU.
 */
static CdEmailStatus
ascii_domain_ok(const char *d, size_t n)
{
	size_t		start = 0;
	int			nlabels = 0;
	bool		tld_digits = true;

	if (n == 0)
		return CD_EMAIL_BAD_DOMAIN;
	for (size_t i = 0; i <= n; i++)
	{
		size_t		len;
		const char *l;

		if (i < n && d[i] != '.')
		{
			char		c = d[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return CD_EMAIL_BAD_DOMAIN;
			continue;
		}
		l = d + start;
		len = i - start;
		if (len == 0 || len > LABEL_MAX)
			return CD_EMAIL_BAD_DOMAIN;
		if (l[0] == '-' || l[len - 1] == '-')
			return CD_EMAIL_BAD_DOMAIN;
		if (len >= 4 && l[2] == '-' && l[3] == '-' && !(l[0] == 'x' && l[1] == 'n'))
			return CD_EMAIL_BAD_DOMAIN;
		tld_digits = true;
		for (size_t k = 0; k < len; k++)
			if (l[k] < '0' || l[k] > '9')
			{
				tld_digits = false;
				break;
			}
		nlabels++;
		start = i + 1;
	}
	if (nlabels < 2 || tld_digits)
		return CD_EMAIL_BAD_DOMAIN;
	if (n > DOMAIN_MAX)
		return CD_EMAIL_TOO_LONG;
	return CD_EMAIL_OK;
}

/*
 * IDNA2008 admits letters, marks and digits (plus a few context-checked characters, which
 * ICU checks); UTS #46 alone would also let symbols such as emoji through.
 */
static bool
idna2008_cp_ok(int32_t cp)
{
	bool		is_mark;

	if (cp < 0x80)
		return true;			/* ASCII is checked by ascii_domain_ok */
	switch (cp)
	{
		case 0x00B7:			/* CONTEXTO: Catalan middle dot */
		case 0x0375:			/* CONTEXTO: Greek keraia */
		case 0x05F3:			/* CONTEXTO: Hebrew geresh, gershayim */
		case 0x05F4:
		case 0x30FB:			/* CONTEXTO: katakana middle dot */
		case 0x200C:			/* CONTEXTJ: ZWNJ, ZWJ */
		case 0x200D:
			return true;
		default:
			break;
	}
	return is_letter_mark_digit(utf8proc_category(cp), &is_mark);
}

static bool
needs_idna(const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		if ((unsigned char) d[i] >= 0x80)
			return true;
		if ((i == 0 || d[i - 1] == '.') && n - i >= 4 &&
			ascii_lower((unsigned char) d[i]) == 'x' &&
			ascii_lower((unsigned char) d[i + 1]) == 'n' &&
			d[i + 2] == '-' && d[i + 3] == '-')
			return true;
	}
	return false;
}

/*
 * Domain to lower-case ASCII in out (capacity DOMAIN_BUF), length in *outlen.
 */
static CdEmailStatus
domain_to_ascii(const char *d, size_t n, char *out, size_t *outlen)
{
	CdEmailStatus st;

	if (n > 0 && d[0] == '[')
		return CD_EMAIL_BAD_DOMAIN;		/* domain literal */
	if (n > 1 && d[n - 1] == '.')
		n--;					/* the root */

	if (!needs_idna(d, n))
	{
		if (n > DOMAIN_BUF)
			return CD_EMAIL_TOO_LONG;
		for (size_t i = 0; i < n; i++)
			out[i] = (char) ascii_lower((unsigned char) d[i]);
		*outlen = n;
		return ascii_domain_ok(out, n);
	}
	else
	{
		const UIDNA *idna = email_idna();
		UErrorCode	err = U_ZERO_ERROR;
		UIDNAInfo	info = UIDNA_INFO_INITIALIZER;
		char		uni[DOMAIN_BUF];
		int32_t		len;
		int32_t		ulen;
		size_t		i;

		if (idna == NULL)
			return CD_EMAIL_BAD_DOMAIN;
		len = uidna_nameToASCII_UTF8(idna, d, (int32_t) n, out, DOMAIN_BUF, &info, &err);
		if (err == U_BUFFER_OVERFLOW_ERROR || err == U_STRING_NOT_TERMINATED_WARNING)
			return CD_EMAIL_TOO_LONG;
		if (U_FAILURE(err) || len < 0)
			return CD_EMAIL_BAD_DOMAIN;
		/* too long is judged with the other length rules below */
		if ((info.errors & ~(uint32_t) UIDNA_ERROR_DOMAIN_NAME_TOO_LONG) != 0)
			return CD_EMAIL_BAD_DOMAIN;
		/* a label separator that UTS #46 mapped to "." may end the name */
		if (len > 1 && out[len - 1] == '.')
			len--;
		st = ascii_domain_ok(out, (size_t) len);
		if (st != CD_EMAIL_OK)
			return st;

		/* IDNA2008 repertoire, judged on the Unicode form so that xn-- input is covered */
		err = U_ZERO_ERROR;
		info = (UIDNAInfo) UIDNA_INFO_INITIALIZER;
		ulen = uidna_nameToUnicodeUTF8(idna, out, len, uni, (int32_t) sizeof(uni), &info, &err);
		if (U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING || ulen < 0 ||
			info.errors != 0)
			return CD_EMAIL_BAD_DOMAIN;
		i = 0;
		while (i < (size_t) ulen)
		{
			int32_t		cp;
			int			cl = cd_utf8_decode((const unsigned char *) uni + i, (size_t) ulen - i, &cp);

			if (cl < 0 || !idna2008_cp_ok(cp))
				return CD_EMAIL_BAD_DOMAIN;
			i += (size_t) cl;
		}
		*outlen = (size_t) len;
		return CD_EMAIL_OK;
	}
}

/*
 * Map fullwidth ASCII variants (U+FF01..U+FF5E) to ASCII, in place.  They only get shorter.
 */
static size_t
map_fullwidth(char *s, size_t n)
{
	size_t		r = 0;
	size_t		w = 0;

	while (r < n)
	{
		unsigned char c = (unsigned char) s[r];

		if (c == 0xEF && r + 2 < n)
		{
			int32_t		cp = (((int32_t) c & 0x0F) << 12) |
				(((int32_t) s[r + 1] & 0x3F) << 6) | ((int32_t) s[r + 2] & 0x3F);

			if (cp >= 0xFF01 && cp <= 0xFF5E)
			{
				s[w++] = (char) (cp - 0xFEE0);
				r += 3;
				continue;
			}
		}
		s[w++] = s[r++];
	}
	return w;
}

static CdEmailStatus
email_fail(CdEmailStatus st, char *out, size_t *outlen)
{
	out[0] = '\0';
	*outlen = 0;
	return st;
}

static CdEmailStatus
email_normalize_uncached(const char *raw, size_t len, char out[CD_EMAIL_MAX], size_t *outlen)
{
	Span		sp;
	bool		pct;
	char		w[ADDR_RAW_MAX];
	size_t		wl = 0;
	size_t		at = 0;
	int			nat = 0;
	bool		literal = false;
	const char *local;
	size_t		llen;
	bool		ascii;
	size_t		olen;
	char		dom[DOMAIN_BUF];
	size_t		dlen = 0;
	CdEmailStatus st;

	if (raw == NULL || len == 0)
		return email_fail(CD_EMAIL_EMPTY, out, outlen);
	if (!utf8_valid(raw, len))
		return email_fail(CD_EMAIL_SYNTAX, out, outlen);

	sp.s = raw;
	sp.e = raw + len;
	sp = trim_blanks(sp);
	if (sp.s == sp.e)
		return email_fail(CD_EMAIL_EMPTY, out, outlen);

	/* copy-paste debris after the address: "a@x.ru," "a@x.ru;" "a@x.ru." */
	while (sp.s < sp.e && (sp.e[-1] == ',' || sp.e[-1] == ';' || sp.e[-1] == '.'))
	{
		sp.e--;
		sp = trim_blanks(sp);
	}
	if (sp.s == sp.e)
		return email_fail(CD_EMAIL_SYNTAX, out, outlen);

	pct = strip_mailto(&sp);
	if (sp.s < sp.e && sp.e[-1] == '>')
	{
		const char *lt = NULL;
		Span		name;
		Span		addr;

		for (const char *p = sp.e - 1; p > sp.s; p--)
			if (p[-1] == '<')
			{
				lt = p - 1;
				break;
			}
		if (lt == NULL)
			return email_fail(CD_EMAIL_SYNTAX, out, outlen);
		name.s = sp.s;
		name.e = lt;
		name = trim_blanks(name);
		addr.s = lt + 1;
		addr.e = sp.e - 1;
		addr = trim_blanks(addr);
		if (!display_name_ok(name, addr))
			return email_fail(CD_EMAIL_SYNTAX, out, outlen);
		sp = addr;
		if (strip_mailto(&sp))
			pct = true;
	}
	else if (sp.s < sp.e && sp.e[-1] == ')')
	{
		if (!strip_comment(&sp))
			return email_fail(CD_EMAIL_SYNTAX, out, outlen);
	}
	if (sp.s == sp.e)
		return email_fail(CD_EMAIL_SYNTAX, out, outlen);

	/* the address part into w: %XX decoded after mailto:, fullwidth forms to ASCII */
	if (pct)
	{
		for (const char *p = sp.s; p < sp.e; p++)
		{
			unsigned char c = (unsigned char) *p;

			if (wl >= sizeof(w))
				return email_fail(CD_EMAIL_TOO_LONG, out, outlen);
			if (c == '%')
			{
				int			hi,
							lo;

				if (sp.e - p < 3 || (hi = hex_value((unsigned char) p[1])) < 0 ||
					(lo = hex_value((unsigned char) p[2])) < 0)
					return email_fail(CD_EMAIL_SYNTAX, out, outlen);
				c = (unsigned char) (hi * 16 + lo);
				p += 2;
			}
			w[wl++] = (char) c;
		}
		if (!utf8_valid(w, wl))
			return email_fail(CD_EMAIL_SYNTAX, out, outlen);
	}
	else
	{
		if (span_len(sp) > sizeof(w))
			return email_fail(CD_EMAIL_TOO_LONG, out, outlen);
		wl = span_len(sp);
		memcpy(w, sp.s, wl);
	}
	wl = map_fullwidth(w, wl);

	/* exactly one "@"; no controls, spaces or RFC 5322 specials anywhere */
	for (size_t i = 0; i < wl; i++)
	{
		unsigned char c = (unsigned char) w[i];

		if (c == '@')
		{
			nat++;
			at = i;
			/* a domain literal is rejected below, after the local part's own checks */
			if (nat == 1 && i + 1 < wl && w[i + 1] == '[' && w[wl - 1] == ']' &&
				memchr(w + i + 1, '@', wl - i - 1) == NULL)
			{
				literal = true;
				break;
			}
		}
		else if (is_special(c))
			return email_fail(CD_EMAIL_SYNTAX, out, outlen);
	}
	if (nat != 1 || at == 0 || at == wl - 1)
		return email_fail(CD_EMAIL_SYNTAX, out, outlen);
	local = w;
	llen = at;
	if (!local_syntax_ok(local, llen, &ascii))
		return email_fail(CD_EMAIL_SYNTAX, out, outlen);
	if (literal)
		return email_fail(CD_EMAIL_BAD_DOMAIN, out, outlen);

	/* local part */
	if (llen > LOCAL_RAW_MAX)
		return email_fail(CD_EMAIL_TOO_LONG, out, outlen);
	if (ascii)
	{
		if (llen > LOCAL_MAX)
			return email_fail(CD_EMAIL_TOO_LONG, out, outlen);
		for (size_t i = 0; i < llen; i++)
			out[i] = (char) ascii_lower((unsigned char) local[i]);
		olen = llen;
	}
	else
	{
		int			r = fold_local(local, llen, out);

		if (r == -1)
			return email_fail(CD_EMAIL_TOO_LONG, out, outlen);
		if (r < 0)
			return email_fail(CD_EMAIL_SYNTAX, out, outlen);
		olen = (size_t) r;
	}

	/* domain */
	st = domain_to_ascii(w + at + 1, wl - at - 1, dom, &dlen);
	if (st != CD_EMAIL_OK)
		return email_fail(st, out, outlen);
	if (olen + 1 + dlen > ADDRESS_MAX)
		return email_fail(CD_EMAIL_TOO_LONG, out, outlen);
	out[olen++] = '@';
	memcpy(out + olen, dom, dlen);
	olen += dlen;
	out[olen] = '\0';
	*outlen = olen;
	return CD_EMAIL_OK;
}

static const CdEmailProvider *
find_provider(const char *domain)
{
	size_t		lo = 0;
	size_t		hi = cd_email_nproviders;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		int			c = strcmp(domain, cd_email_providers[mid].domain);

		if (c == 0)
			return &cd_email_providers[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static CdEmailStatus
email_key_uncached(const char *raw, size_t len, char out[CD_EMAIL_MAX], size_t *outlen)
{
	char		norm[CD_EMAIL_MAX];
	size_t		nlen;
	CdEmailStatus st;
	const char *at;
	const CdEmailProvider *prov;
	size_t		llen;
	size_t		olen = 0;
	size_t		clen;

	st = cd_email_normalize(raw, len, norm, &nlen);
	if (st != CD_EMAIL_OK)
		return email_fail(st, out, outlen);

	/* the normalized local part never contains "@" */
	at = memchr(norm, '@', nlen);
	if (at == NULL)
		return email_fail(CD_EMAIL_SYNTAX, out, outlen);
	prov = find_provider(at + 1);
	if (prov == NULL)
	{
		memcpy(out, norm, nlen + 1);
		*outlen = nlen;
		return CD_EMAIL_OK;
	}

	llen = (size_t) (at - norm);
	if (prov->rules & CD_EMAIL_RULE_PLUS)
	{
		const char *plus = memchr(norm, '+', llen);

		/*
		 * Nothing before the "+" is no base mailbox: keep it.  Dots left at the end of the base
		 * ("a.+tag") would not be a valid local part: the base is "a".
		 */
		if (plus != NULL && plus > norm)
		{
			llen = (size_t) (plus - norm);
			while (llen > 1 && norm[llen - 1] == '.')
				llen--;
		}
	}
	for (size_t i = 0; i < llen; i++)
	{
		char		c = norm[i];

		if (c == '.' && (prov->rules & (CD_EMAIL_RULE_DROP_DOTS |
										CD_EMAIL_RULE_DROP_DOT_HYPHEN_UNDERSCORE)))
			continue;
		if ((c == '-' || c == '_') && (prov->rules & CD_EMAIL_RULE_DROP_DOT_HYPHEN_UNDERSCORE))
			continue;
		if (c == '.' && (prov->rules & CD_EMAIL_RULE_DOT_HYPHEN))
			c = '-';
		out[olen++] = c;
	}
	/* a local part made only of separators keeps them rather than becoming empty */
	if (olen == 0)
	{
		memcpy(out, norm, llen);
		olen = llen;
	}
	else if (olen < llen)
	{
		/*
		 * Dropping separators can bring together characters that NFC composes (Hangul
		 * jamo split by a dot): normalize again so that the key is its own normal form.
		 */
		bool		non_ascii = false;

		for (size_t i = 0; i < olen; i++)
			if ((unsigned char) out[i] >= 0x80)
				non_ascii = true;
		if (non_ascii)
		{
			char		tmp[LOCAL_MAX + 1];
			int			r;

			memcpy(tmp, out, olen);
			r = fold_local(tmp, olen, out);
			if (r < 0)
				return email_fail(CD_EMAIL_SYNTAX, out, outlen);
			olen = (size_t) r;
		}
	}
	clen = strlen(prov->canonical);
	if (olen + 1 + clen > ADDRESS_MAX)
		return email_fail(CD_EMAIL_TOO_LONG, out, outlen);
	out[olen++] = '@';
	memcpy(out + olen, prov->canonical, clen);
	olen += clen;
	out[olen] = '\0';
	*outlen = olen;
	return CD_EMAIL_OK;
}

const char *
cd_email_status_reason(CdEmailStatus st)
{
	switch (st)
	{
		case CD_EMAIL_OK:
			return "valid email address";
		case CD_EMAIL_EMPTY:
			return "empty email address";
		case CD_EMAIL_SYNTAX:
			return "not a single well-formed email address";
		case CD_EMAIL_TOO_LONG:
			return "email address too long (local part over 64 octets or address over 254)";
		case CD_EMAIL_BAD_DOMAIN:
			return "invalid email domain";
	}
	return "unknown email status";
}

const char *
cd_email_data_version(void)
{
	return cd_email_providers_version;
}

/* cd_email_normalize: through the active value memo, if any (value_memo.h); errors are not kept */
CdEmailStatus
cd_email_normalize(const char *raw, size_t len, char out[CD_EMAIL_MAX], size_t *outlen)
{
	const char *v;
	size_t		vl;
	CdEmailStatus st;

	if (cd_memo_active == NULL)
		return email_normalize_uncached(raw, len, out, outlen);
	if (cd_memo_find(CD_MEMO_EMAIL_NORMALIZE, NULL, 0, raw, len, &v, &vl) && vl < CD_EMAIL_MAX)
	{
		memcpy(out, v, vl);
		out[vl] = '\0';
		*outlen = vl;
		return CD_EMAIL_OK;
	}
	st = email_normalize_uncached(raw, len, out, outlen);
	if (st == CD_EMAIL_OK && *outlen < CD_EMAIL_MAX)
		cd_memo_add(CD_MEMO_EMAIL_NORMALIZE, NULL, 0, raw, len, out, *outlen);
	return st;
}

/* cd_email_key: through the active value memo, if any (value_memo.h); errors are not kept */
CdEmailStatus
cd_email_key(const char *raw, size_t len, char out[CD_EMAIL_MAX], size_t *outlen)
{
	const char *v;
	size_t		vl;
	CdEmailStatus st;

	if (cd_memo_active == NULL)
		return email_key_uncached(raw, len, out, outlen);
	if (cd_memo_find(CD_MEMO_EMAIL_KEY, NULL, 0, raw, len, &v, &vl) && vl < CD_EMAIL_MAX)
	{
		memcpy(out, v, vl);
		out[vl] = '\0';
		*outlen = vl;
		return CD_EMAIL_OK;
	}
	st = email_key_uncached(raw, len, out, outlen);
	if (st == CD_EMAIL_OK && *outlen < CD_EMAIL_MAX)
		cd_memo_add(CD_MEMO_EMAIL_KEY, NULL, 0, raw, len, out, *outlen);
	return st;
}
