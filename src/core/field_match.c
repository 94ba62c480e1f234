/*
 * field_match.c
 *		Phone number and email address similarity, and the argument rules shared by the
 *		matching core (see field_match.h for the scores).
 *
 * Neither function allocates: phone parsing and email keys write into fixed buffers,
 * and the one Jaro-Winkler call on raw texts that may be long runs on a bump arena on
 * the stack.
 */
#include <string.h>

#include <unicode/uchar.h>

#include "email.h"
#include "field_match.h"
#include "phone.h"
#include "similarity.h"

/* ---------------------------------------------------------------- shared */

CdMatchStatus
cd_match_check_args(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen > CD_MATCH_MAX_BYTES || blen > CD_MATCH_MAX_BYTES)
		return CD_MATCH_TOO_LONG;
	if ((alen > 0 && !cd_utf8_valid(a, alen)) || (blen > 0 && !cd_utf8_valid(b, blen)))
		return CD_MATCH_INVALID_UTF8;
	return CD_MATCH_OK;
}

void
cd_match_canonical_order(const char **a, size_t *alen, const char **b, size_t *blen)
{
	bool		swap;

	if (*alen != *blen)
		swap = *alen > *blen;
	else
		swap = *alen > 0 && memcmp(*a, *b, *alen) > 0;
	if (swap)
	{
		const char *t = *a;
		size_t		tl = *alen;

		*a = *b;
		*alen = *blen;
		*b = t;
		*blen = tl;
	}
}

static bool
same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* ---------------------------------------------------------------- phones */

#define MAX_DIGITS 32			/* raw digits kept per side: no phone number has more */
#define MIN_DIGITS 7			/* fewer digits match nothing */

typedef struct Digits
{
	char		d[MAX_DIGITS + 1];
	int			n;
} Digits;

/* the decimal digits of valid UTF-8 text, any script, the first MAX_DIGITS */
static void
raw_digits(const char *s, size_t len, Digits *out)
{
	size_t		i = 0;

	out->n = 0;
	while (i < len && out->n < MAX_DIGITS)
	{
		int32_t		cp;
		int			k = cd_utf8_decode((const unsigned char *) s + i, len - i, &cp);

		if (k < 0)
			break;				/* cannot happen: the text was validated */
		i += k;
		if (cp >= '0' && cp <= '9')
			out->d[out->n++] = (char) cp;
		else if (cp >= 0x80 && u_charType(cp) == U_DECIMAL_DIGIT_NUMBER)
		{
			int32_t		v = u_charDigitValue(cp);

			if (v >= 0 && v <= 9)
				out->d[out->n++] = (char) ('0' + v);
		}
	}
	out->d[out->n] = '\0';
}

static void
digits_from(const char *s, Digits *out)
{
	size_t		n = strlen(s);

	if (n > MAX_DIGITS)
		n = MAX_DIGITS;
	memcpy(out->d, s, n);
	out->d[n] = '\0';
	out->n = (int) n;
}

/*
 * The digit-string rules of cd_phone_similarity(): equal 1, one adjacent transposition
 * 0.85, one substitution 0.8, last 7 digits equal 0.6, else 0.
 */
static double
digits_score(const Digits *x, const Digits *y)
{
	int			i,
				diff = 0,
				first = -1,
				second = -1,
				suffix = 0;

	if (x->n < MIN_DIGITS || y->n < MIN_DIGITS)
		return 0;
	if (x->n == y->n)
	{
		for (i = 0; i < x->n; i++)
			if (x->d[i] != y->d[i])
			{
				if (diff == 0)
					first = i;
				else if (diff == 1)
					second = i;
				diff++;
				if (diff > 2)
					break;
			}
		if (diff == 0)
			return 1.0;
		if (diff == 2 && second == first + 1 &&
			x->d[first] == y->d[second] && x->d[second] == y->d[first])
			return 0.85;
		if (diff == 1)
			return 0.8;
	}
	while (suffix < x->n && suffix < y->n &&
		   x->d[x->n - 1 - suffix] == y->d[y->n - 1 - suffix])
		suffix++;
	return suffix >= 7 ? 0.6 : 0;
}

static int
count_digits(int v)
{
	int			n = 1;

	while (v >= 10)
	{
		v /= 10;
		n++;
	}
	return n;
}

/* the national digits of a parsed number (after "+" and the country code), or NULL */
static const char *
national_part(const CdPhoneResult *r)
{
	int			ccd;

	if (r->country_code <= 0)
		return NULL;
	ccd = count_digits(r->country_code);
	if (strnlen(r->e164, sizeof(r->e164)) <= (size_t) ccd + 1)
		return NULL;
	return r->e164 + 1 + ccd;
}

_Static_assert(sizeof(((CdPhoneSide *) 0)->digits) == MAX_DIGITS + 1, "CdPhoneSide.digits holds raw_digits");

void
cd_phone_side_init(CdPhoneSide *side, const char *raw, size_t len, const char *region,
				   bool memo)
{
	side->raw = raw;
	side->memo = memo;
	side->len = len;
	side->reg = "ZZ";
	side->reglen = 2;
	side->ndigits = 0;
	side->digits[0] = '\0';
	side->parsed = false;
	side->valid = false;
	/* cd_match_check_args of one side: TOO_LONG before INVALID_UTF8 on the pair */
	if (len > CD_MATCH_MAX_BYTES)
		side->check = CD_MATCH_TOO_LONG;
	else if (len > 0 && !cd_utf8_valid(raw, len))
		side->check = CD_MATCH_INVALID_UTF8;
	else
		side->check = CD_MATCH_OK;
	if (region != NULL)
	{
		size_t		rl = strnlen(region, 4);

		if (rl > 0 && rl < 4 && cd_phone_region_known(region, rl))
		{
			side->reg = region;
			side->reglen = rl;
		}
	}
	if (side->check == CD_MATCH_OK)
	{
		Digits		d;

		raw_digits(raw, len, &d);
		memcpy(side->digits, d.d, (size_t) d.n + 1);
		side->ndigits = d.n;
	}
}

static void
side_digits(const CdPhoneSide *side, Digits *out)
{
	memcpy(out->d, side->digits, (size_t) side->ndigits + 1);
	out->n = side->ndigits;
}

static bool
side_parse(CdPhoneSide *side)
{
	if (!side->parsed)
	{
		side->valid = (side->memo ? cd_phone_parse(side->raw, side->len, side->reg, side->reglen,
												   &side->res)
					   : cd_phone_parse_once(side->raw, side->len, side->reg, side->reglen,
											 &side->res)) == CD_PHONE_OK;
		side->parsed = true;
	}
	return side->valid;
}

CdMatchStatus
cd_phone_similarity_sides(CdPhoneSide *a, CdPhoneSide *b, double *out)
{
	CdPhoneSide *x = a;
	CdPhoneSide *y = b;
	const char *xr = a->raw;
	const char *yr = b->raw;
	size_t		xl = a->len;
	size_t		yl = b->len;
	bool		va,
				vb;
	Digits		rawa,
				rawb;

	*out = 0;
	if (a->check == CD_MATCH_TOO_LONG || b->check == CD_MATCH_TOO_LONG)
		return CD_MATCH_TOO_LONG;
	if (a->check != CD_MATCH_OK || b->check != CD_MATCH_OK)
		return CD_MATCH_INVALID_UTF8;
	cd_match_canonical_order(&xr, &xl, &yr, &yl);
	if (xr != a->raw || xl != a->len)
	{
		x = b;
		y = a;
	}

	if (x->ndigits == 0 || y->ndigits == 0)
		return CD_MATCH_OK;
	if (same_bytes(x->raw, x->len, y->raw, y->len))
	{
		*out = 1.0;
		return CD_MATCH_OK;
	}

	va = side_parse(x);
	vb = side_parse(y);
	if (va && vb)
	{
		const CdPhoneResult *ra = &x->res;
		const CdPhoneResult *rb = &y->res;
		Digits		da,
					db;

		if (strcmp(ra->e164, rb->e164) == 0)
		{
			*out = (ra->ext[0] && rb->ext[0] && strcmp(ra->ext, rb->ext) != 0) ? 0.9 : 1.0;
			return CD_MATCH_OK;
		}
		if (ra->country_code > 0 && rb->country_code > 0 && ra->country_code != rb->country_code)
		{
			const char *na = national_part(ra);
			const char *nb = national_part(rb);

			if (na != NULL && nb != NULL && strcmp(na, nb) == 0)
			{
				*out = 0.7;
				return CD_MATCH_OK;
			}
		}
		digits_from(ra->e164 + 1, &da);
		digits_from(rb->e164 + 1, &db);
		*out = digits_score(&da, &db);
		return CD_MATCH_OK;
	}
	else
	{
		double		best;
		const CdPhoneResult *valid = va ? &x->res : vb ? &y->res : NULL;

		side_digits(x, &rawa);
		side_digits(y, &rawb);
		best = digits_score(&rawa, &rawb);
		if (valid != NULL)
		{
			const Digits *inv = va ? &rawb : &rawa;
			Digits		d;
			double		v;
			const char *nat = national_part(valid);

			digits_from(valid->e164 + 1, &d);
			v = digits_score(inv, &d);
			if (v > best)
				best = v;
			if (nat != NULL)
			{
				digits_from(nat, &d);
				v = digits_score(inv, &d);
				if (v > best)
					best = v;
			}
		}
		*out = 0.8 * best;
	}
	return CD_MATCH_OK;
}

CdMatchStatus
cd_phone_similarity(const char *a, size_t alen, const char *b, size_t blen,
					const char *region, double *out)
{
	CdPhoneSide sa;
	CdPhoneSide sb;

	cd_phone_side_init(&sa, a, alen, region, true);
	cd_phone_side_init(&sb, b, blen, region, true);
	return cd_phone_similarity_sides(&sa, &sb, out);
}

/* ---------------------------------------------------------------- emails */

/*
 * Big free-mail domains that data/email_providers.tsv does not list (it lists only
 * domains with local-part rules); together they are the "known providers" whose typos
 * are recognized.
 */
static const char *const extra_providers[] = {
	"aol.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "t-online.de", "freenet.de",
	"mail.com", "rambler.ru", "ukr.net", "i.ua", "tut.by", "yahoo.co.uk", "yahoo.de",
	"yahoo.fr", "zoho.com", "tutanota.com", "seznam.cz", "wp.pl", "o2.pl", "interia.pl",
	"libero.it", "orange.fr", "free.fr", "laposte.net", "comcast.net", "att.net",
	"verizon.net", "naver.com", "sina.com", "yeah.net", NULL
};

/* local parts that name a role, not a person: the same one at two domains is no evidence */
static const char *const role_locals[] = {
	"info", "admin", "administrator", "office", "sales", "support", "contact", "contacts",
	"hello", "mail", "email", "noreply", "no-reply", "webmaster", "postmaster", "hr",
	"marketing", "billing", "accounts", "accounting", "service", "team", "help",
	"enquiries", "inquiries", "reception", "secretary", "press", "post", "zakaz", "buh",
	"kontakt", "order", "orders", "shop", "manager", "director", NULL
};

static bool
known_provider(const char *dom)
{
	size_t		i;

	for (i = 0; i < cd_email_nproviders; i++)
		if (strcmp(cd_email_providers[i].domain, dom) == 0)
			return true;
	for (i = 0; extra_providers[i]; i++)
		if (strcmp(extra_providers[i], dom) == 0)
			return true;
	return false;
}

static bool
role_local(const char *local)
{
	int			i;

	for (i = 0; role_locals[i]; i++)
		if (strcmp(role_locals[i], local) == 0)
			return true;
	return false;
}

/*
 * A bump allocator over a caller's stack buffer, so that the similarity metrics can run
 * on inputs longer than their no-allocation limit without touching the heap.
 */
typedef struct Arena
{
	char	   *base;
	size_t		cap;
	size_t		used;
} Arena;

#define ARENA_HDR 16				/* block header (its size), keeps blocks 16-aligned */

static void *
arena_alloc(size_t size, void *ctx)
{
	Arena	   *ar = ctx;
	size_t		need;
	char	   *p;

	/* checked before rounding, so that a huge size cannot wrap around */
	if (size > ar->cap - ar->used || ar->cap - ar->used - size < ARENA_HDR + 15)
		return NULL;
	need = (ARENA_HDR + size + 15) & ~(size_t) 15;
	if (need > ar->cap - ar->used)
		return NULL;
	p = ar->base + ar->used;
	ar->used += need;
	memcpy(p, &size, sizeof(size_t));
	return p + ARENA_HDR;
}

static void *
arena_resize(void *ptr, size_t size, void *ctx)
{
	void	   *p = arena_alloc(size, ctx);
	size_t		old;

	if (p && ptr)
	{
		memcpy(&old, (char *) ptr - ARENA_HDR, sizeof(size_t));
		memcpy(p, ptr, old < size ? old : size);
	}
	return p;
}

static void
arena_release(void *ptr, void *ctx)
{
	(void) ptr;
	(void) ctx;
}

/*
 * OSA distance of two strings, capped at max + 1.  Strings whose lengths differ by more
 * than max are not compared, so domains of up to 64 characters reach cd_levenshtein()
 * against the short provider domains, which then needs no memory.
 */
static int
osa(const char *a, const char *b, int max, const CdAllocator *al)
{
	int			d = max + 1;
	size_t		la = strlen(a),
				lb = strlen(b);

	if ((la > lb ? la - lb : lb - la) > (size_t) max)
		return max + 1;
	if (cd_levenshtein(a, la, b, lb, max, al, &d) != CD_SIM_OK)
		return max + 1;
	return d;
}

/*
 * Two spellings of one mailbox name or domain with a typo or two: at most one edit
 * (OSA), two when the longer has at least 8 bytes
 */
static bool
typo_close(const char *a, const char *b, const CdAllocator *al)
{
	size_t		la = strlen(a),
				lb = strlen(b);
	int			lim = (la > lb ? la : lb) >= 8 ? 2 : 1;

	return osa(a, b, lim, al) <= lim;
}

/* the domains look like one provider's domain with a typo */
static bool
typo_domains(const char *d1, const char *d2, const CdAllocator *al)
{
	bool		k1 = known_provider(d1);
	bool		k2 = known_provider(d2);
	size_t		i;

	if (k1 && k2)
		return false;			/* two real providers */
	if (k1 || k2)
	{
		const char *known = k1 ? d1 : d2;
		int			lim = strlen(known) >= 8 ? 2 : 1;

		return osa(d1, d2, lim, al) <= lim;
	}
	/* both unknown: both close to the same known provider */
	for (i = 0; i < cd_email_nproviders; i++)
	{
		const char *p = cd_email_providers[i].domain;
		int			lim = strlen(p) >= 8 ? 2 : 1;

		if (osa(d1, p, lim, al) <= lim && osa(d2, p, lim, al) <= lim)
			return true;
	}
	for (i = 0; extra_providers[i]; i++)
	{
		const char *p = extra_providers[i];
		int			lim = strlen(p) >= 8 ? 2 : 1;

		if (osa(d1, p, lim, al) <= lim && osa(d2, p, lim, al) <= lim)
			return true;
	}
	return false;
}

/* normalized local part cut at "+" (when something precedes it), without . - _ */
static void
loose_local(const char *local, char *out)
{
	size_t		i,
				o = 0;
	const char *plus = strchr(local, '+');
	size_t		n = (plus && plus > local) ? (size_t) (plus - local) : strlen(local);

	for (i = 0; i < n; i++)
		if (local[i] != '.' && local[i] != '-' && local[i] != '_')
			out[o++] = local[i];
	out[o] = '\0';
}

/* split "local@domain" in place at its last "@" */
static void
split_address(char *addr, char **local, char **domain)
{
	char	   *at = strrchr(addr, '@');

	*local = addr;
	*domain = at ? at + 1 : addr + strlen(addr);
	if (at)
		*at = '\0';
}

/* s without leading and trailing ASCII white space */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r'))
	{
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
						(*s)[*len - 1] == '\n' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

static inline char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* ASCII lower-cased copy of at most cap - 1 bytes of s, cut on a character boundary */
static size_t
lower_copy(const char *s, size_t len, char *out, size_t cap)
{
	size_t		i,
				n = len < cap - 1 ? len : cap - 1;

	while (n > 0 && n < len && ((unsigned char) s[n] & 0xC0) == 0x80)
		n--;
	for (i = 0; i < n; i++)
		out[i] = ascii_lower(s[i]);
	out[n] = '\0';
	return n;
}

static bool
has_alnum(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		/* any non-ASCII byte may be part of a letter: enough to tell "has content" */
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			c >= 0x80)
			return true;
	}
	return false;
}

#define RAW_CMP_MAX 1024		/* raw texts are compared on their first 1 kB */

/* the rule for an invalid address on either side */
static CdMatchStatus
raw_similarity(const char *a, size_t alen, const char *b, size_t blen, double *out)
{
	char		la[RAW_CMP_MAX + 1];
	char		lb[RAW_CMP_MAX + 1];
	_Alignas(16) char arena_mem[RAW_CMP_MAX * 24 + 1024];
	Arena		ar = {arena_mem, sizeof(arena_mem), 0};
	CdAllocator al = {arena_alloc, arena_resize, arena_release, &ar};
	size_t		na,
				nb,
				i;
	double		jw = 0;

	*out = 0;
	trim(&a, &alen);
	trim(&b, &blen);
	if (!has_alnum(a, alen) || !has_alnum(b, blen))
		return CD_MATCH_OK;
	if (alen == blen)
	{
		for (i = 0; i < alen; i++)
			if (ascii_lower(a[i]) != ascii_lower(b[i]))
				break;
		if (i == alen)
		{
			*out = 1.0;
			return CD_MATCH_OK;
		}
	}
	na = lower_copy(a, alen, la, sizeof(la));
	nb = lower_copy(b, blen, lb, sizeof(lb));
	if (cd_jaro_winkler(la, na, lb, nb, &al, &jw) != CD_SIM_OK)
		return CD_MATCH_OK;		/* cannot happen: the arena is sized for 1 kB texts */
	*out = 0.5 * jw;
	return CD_MATCH_OK;
}

CdMatchStatus
cd_email_similarity(const char *a, size_t alen, const char *b, size_t blen, double *out)
{
	CdMatchStatus st;
	char		ka[CD_EMAIL_MAX],
				kb[CD_EMAIL_MAX],
				na[CD_EMAIL_MAX],
				nb[CD_EMAIL_MAX];
	char		la[CD_EMAIL_MAX],
				lb[CD_EMAIL_MAX];
	size_t		kal,
				kbl,
				nal,
				nbl;
	char	   *kloc_a,
			   *kdom_a,
			   *kloc_b,
			   *kdom_b,
			   *nloc_a,
			   *ndom_a,
			   *nloc_b,
			   *ndom_b;
	_Alignas(16) char arena_mem[4096];
	Arena		ar = {arena_mem, sizeof(arena_mem), 0};
	CdAllocator arena = {arena_alloc, arena_resize, arena_release, &ar};
	double		jw = 0;
	bool		same_local;

	*out = 0;
	st = cd_match_check_args(a, alen, b, blen);
	if (st != CD_MATCH_OK)
		return st;
	cd_match_canonical_order(&a, &alen, &b, &blen);

	if (cd_email_key(a, alen, ka, &kal) != CD_EMAIL_OK ||
		cd_email_key(b, blen, kb, &kbl) != CD_EMAIL_OK ||
		cd_email_normalize(a, alen, na, &nal) != CD_EMAIL_OK ||
		cd_email_normalize(b, blen, nb, &nbl) != CD_EMAIL_OK)
		return raw_similarity(a, alen, b, blen, out);

	if (kal == kbl && memcmp(ka, kb, kal) == 0)
	{
		*out = 1.0;
		return CD_MATCH_OK;
	}
	split_address(ka, &kloc_a, &kdom_a);
	split_address(kb, &kloc_b, &kdom_b);
	split_address(na, &nloc_a, &ndom_a);
	split_address(nb, &nloc_b, &ndom_b);
	loose_local(nloc_a, la);
	loose_local(nloc_b, lb);
	same_local = strcmp(kloc_a, kloc_b) == 0 || (la[0] && strcmp(la, lb) == 0);

	if (strcmp(kdom_a, kdom_b) == 0)
	{
		if (la[0] && strcmp(la, lb) == 0)
			*out = 0.8;
		else if (osa(kloc_a, kloc_b, 1, &arena) <= 1)
			*out = 0.75;
		else if (cd_jaro_winkler(kloc_a, strlen(kloc_a), kloc_b, strlen(kloc_b), &arena,
								 &jw) == CD_SIM_OK)
			*out = 0.5 * jw;
		return CD_MATCH_OK;
	}
	if (same_local)
	{
		if (typo_domains(kdom_a, kdom_b, &arena))
			*out = 0.9;
		else if (role_local(la) || role_local(kloc_a))
			*out = 0.35;
		else if (known_provider(kdom_a) && known_provider(kdom_b))
			*out = 0.75;
		else
			*out = 0.7;
		return CD_MATCH_OK;
	}
	/* a typo in the mailbox name and one in the domain (harvey.robertson@chavez.com) */
	if (typo_close(kloc_a, kloc_b, &arena) && typo_close(kdom_a, kdom_b, &arena))
	{
		*out = 0.7;
		return CD_MATCH_OK;
	}
	if (cd_jaro_winkler(kloc_a, strlen(kloc_a), kloc_b, strlen(kloc_b), &arena, &jw) ==
		CD_SIM_OK)
		*out = 0.5 * jw;
	return CD_MATCH_OK;
}
