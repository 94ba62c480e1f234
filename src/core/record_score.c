/*
 * record_score.c
 *		Fellegi-Sunter record scoring of the pure core (see record_score.h): the C twin
 *		of crmdedup.match_rows().
 *
 * Arithmetic follows the SQL step by step (same operations in the same order, log()
 * and exp() where the SQL has ln() and exp()), so that weights agree with the PL/pgSQL
 * reference to the last bit or two.  Keys that the SQL recomputes for every value pair
 * (translit, name_key, date_digits) are computed once per value here: the functions are
 * deterministic, so the results are the same.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "address_match.h"
#include "company_places.h"
#include "email.h"
#include "field_match.h"
#include "name_key.h"
#include "name_match.h"
#include "record_score.h"
#include "value_memo.h"
#include "similarity.h"
#include "translit.h"

/* longest raw address crmdedup.email_key() reads (src/email_fn.c); longer: NULL */
#define CD_EMAIL_MAX_RAW 4096

/* ---------------------------------------------------------------- names */

static const char *const role_names[CD_ROLE_COUNT] = {
	[CD_ROLE_PERSON_NAME] = "person_name",
	[CD_ROLE_FIRST_NAME] = "first_name",
	[CD_ROLE_LAST_NAME] = "last_name",
	[CD_ROLE_MIDDLE_NAME] = "middle_name",
	[CD_ROLE_COMPANY] = "company",
	[CD_ROLE_PHONE] = "phone",
	[CD_ROLE_EMAIL] = "email",
	[CD_ROLE_ADDRESS] = "address",
	[CD_ROLE_CITY] = "city",
	[CD_ROLE_POSTCODE] = "postcode",
	[CD_ROLE_BIRTH_DATE] = "birth_date",
	[CD_ROLE_EXTERNAL_ID] = "external_id",
	[CD_ROLE_CODE] = "code",
	[CD_ROLE_TEXT] = "text",
};

bool
cd_role_parse(const char *name, size_t len, CdRole *role)
{
	for (int i = 0; i < CD_ROLE_COUNT; i++)
	{
		if (strlen(role_names[i]) == len && memcmp(role_names[i], name, len) == 0)
		{
			*role = (CdRole) i;
			return true;
		}
	}
	return false;
}

const char *
cd_role_name(CdRole role)
{
	if ((int) role < 0 || (int) role >= CD_ROLE_COUNT)
		return NULL;
	return role_names[role];
}

const char *
cd_decision_name(CdDecision d)
{
	switch (d)
	{
		case CD_DECISION_SAME:
			return "same";
		case CD_DECISION_MAYBE:
			return "maybe";
		case CD_DECISION_DISTINCT:
			break;
	}
	return "distinct";
}

/* ---------------------------------------------------------------- statuses */

static CdScoreStatus
from_text_status(CdTextStatus st)
{
	switch (st)
	{
		case CD_TEXT_OK:
			return CD_SCORE_OK;
		case CD_TEXT_INVALID_UTF8:
			return CD_SCORE_INVALID_UTF8;
		case CD_TEXT_NOMEM:
			return CD_SCORE_NOMEM;
		case CD_TEXT_ICU_ERROR:
			return CD_SCORE_ICU_ERROR;
	}
	return CD_SCORE_ICU_ERROR;
}

static CdScoreStatus
from_match_status(CdMatchStatus st)
{
	switch (st)
	{
		case CD_MATCH_OK:
			return CD_SCORE_OK;
		case CD_MATCH_INVALID_UTF8:
			return CD_SCORE_INVALID_UTF8;
		case CD_MATCH_TOO_LONG:
			return CD_SCORE_TOO_LONG;
		case CD_MATCH_NOMEM:
			return CD_SCORE_NOMEM;
		case CD_MATCH_ICU_ERROR:
			return CD_SCORE_ICU_ERROR;
	}
	return CD_SCORE_ICU_ERROR;
}

static CdScoreStatus
from_sim_status(CdSimStatus st)
{
	switch (st)
	{
		case CD_SIM_OK:
			return CD_SCORE_OK;
		case CD_SIM_INVALID_UTF8:
			return CD_SCORE_INVALID_UTF8;
		case CD_SIM_TOO_LONG:
			return CD_SCORE_TOO_LONG;
		case CD_SIM_NOMEM:
			return CD_SCORE_NOMEM;
	}
	return CD_SCORE_NOMEM;
}

/* ---------------------------------------------------------------- dates */

static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* a run of 1 or 2 digits at s[*i] followed by a byte in seps: its digits, lpadded */
static bool
one_or_two_digits(const char *s, size_t len, size_t *i, const char *seps, char out[2])
{
	size_t		j = *i;
	size_t		n = 0;

	while (j < len && is_digit((unsigned char) s[j]) && n < 3)
	{
		j++;
		n++;
	}
	if (n < 1 || n > 2 || j >= len || strchr(seps, s[j]) == NULL || s[j] == '\0')
		return false;
	out[0] = n == 2 ? s[*i] : '0';
	out[1] = s[j - 1];
	*i = j + 1;
	return true;
}

bool
cd_date_digits(const char *v, size_t len, char buf[8], const char **out, size_t *outlen)
{
	size_t		i = 0;
	size_t		start;

	while (i < len && is_ws((unsigned char) v[i]))
		i++;
	start = i;

	/* ^\s*(\d{4})-(\d{1,2})-(\d{1,2}): a prefix; the last group takes 2 digits if it can */
	if (len - start >= 8 && is_digit((unsigned char) v[start]) && is_digit((unsigned char) v[start + 1])
		&& is_digit((unsigned char) v[start + 2]) && is_digit((unsigned char) v[start + 3])
		&& v[start + 4] == '-')
	{
		size_t		j = start + 5;
		char		mm[2];

		if (one_or_two_digits(v, len, &j, "-", mm) && j < len && is_digit((unsigned char) v[j]))
		{
			memcpy(buf, v + start, 4);
			memcpy(buf + 4, mm, 2);
			if (j + 1 < len && is_digit((unsigned char) v[j + 1]))
			{
				buf[6] = v[j];
				buf[7] = v[j + 1];
			}
			else
			{
				buf[6] = '0';
				buf[7] = v[j];
			}
			*out = buf;
			*outlen = 8;
			return true;
		}
	}

	/* ^\s*\d{1,2}[./]\d{1,2}[./]\d{4}\s*$ */
	{
		size_t		j = start;
		char		dd[2];
		char		mm[2];

		if (one_or_two_digits(v, len, &j, "./", dd) && one_or_two_digits(v, len, &j, "./", mm)
			&& len - j >= 4 && is_digit((unsigned char) v[j]) && is_digit((unsigned char) v[j + 1])
			&& is_digit((unsigned char) v[j + 2]) && is_digit((unsigned char) v[j + 3]))
		{
			size_t		k = j + 4;

			while (k < len && is_ws((unsigned char) v[k]))
				k++;
			if (k == len)
			{
				memcpy(buf, v + j, 4);
				memcpy(buf + 4, mm, 2);
				memcpy(buf + 6, dd, 2);
				*out = buf;
				*outlen = 8;
				return true;
			}
		}
	}

	/* ^\s*\d{8}\s*$, then btrim(v): only spaces are trimmed */
	{
		size_t		k = start;
		size_t		lo = 0;
		size_t		hi = len;

		while (k < len && k - start < 8 && is_digit((unsigned char) v[k]))
			k++;
		if (k - start == 8)
		{
			while (k < len && is_ws((unsigned char) v[k]))
				k++;
			if (k == len)
			{
				while (lo < hi && v[lo] == ' ')
					lo++;
				while (hi > lo && v[hi - 1] == ' ')
					hi--;
				*out = v + lo;
				*outlen = hi - lo;
				return true;
			}
		}
	}
	return false;
}

/* ---------------------------------------------------------------- keys */

typedef CdTextStatus (*KeyFn) (const char *in, size_t len, CdBuf *out);

/* one text key appended to out, with the 1 MB input cap of the SQL glue */
static CdScoreStatus
text_key(KeyFn fn, const char *fname, const char *v, size_t len, CdBuf *out,
		 const char **err_func)
{
	CdScoreStatus st;

	if (len > CD_SCORE_MAX_KEY_INPUT)
	{
		*err_func = fname;
		return CD_SCORE_TOO_LONG;
	}
	st = from_text_status(fn(v, len, out));
	if (st != CD_SCORE_OK)
		*err_func = fname;
	return st;
}

CdScoreStatus
cd_term_key(CdRole role, const char *v, size_t len, CdBuf *out, const char **err_func)
{
	switch (role)
	{
		case CD_ROLE_PERSON_NAME:
			return text_key(cd_person_key, "person_key", v, len, out, err_func);
		case CD_ROLE_FIRST_NAME:
		case CD_ROLE_LAST_NAME:
		case CD_ROLE_CITY:
			return text_key(cd_translit, "translit", v, len, out, err_func);
		case CD_ROLE_COMPANY:
			{
				CdBuf		ck;
				CdScoreStatus st;
				const char *mv;
				size_t		mvl;
				size_t		start = out->len;

				/*
				 * through the active value memo (0.2.0): every company pair's containment
				 * test reads both keys, and a report scores each record in many pairs
				 */
				if (cd_memo_find(CD_MEMO_COMPANY_TERM_KEY, NULL, 0, v, len, &mv, &mvl))
					return cd_buf_append(out, mv, mvl) ? CD_SCORE_OK : CD_SCORE_NOMEM;
				cd_buf_init(&ck, out->alloc);
				st = text_key(cd_company_key, "company_key", v, len, &ck, err_func);
				if (st == CD_SCORE_OK && ck.len > 0)
					st = text_key(cd_translit, "translit", ck.data, ck.len, out, err_func);
				cd_buf_free(&ck);
				if (st == CD_SCORE_OK && !out->failed)
					cd_memo_add(CD_MEMO_COMPANY_TERM_KEY, NULL, 0, v, len,
								out->len > start ? out->data + start : "", out->len - start);
				return st;
			}
		case CD_ROLE_EMAIL:
			{
				/* the mailbox name: the local part of the email key (what is left of its last @) */
				char		k[CD_EMAIL_MAX];
				size_t		kl = 0;

				if (len <= CD_EMAIL_MAX_RAW && cd_email_key(v, len, k, &kl) == CD_EMAIL_OK)
				{
					size_t		at = kl;

					while (at > 0 && k[at - 1] != '@')
						at--;
					if (at > 1)
						return cd_buf_append(out, k, at - 1) ? CD_SCORE_OK : CD_SCORE_NOMEM;
				}
				/* not an address: the name key, as for other roles */
				return text_key(cd_name_key, "name_key", v, len, out, err_func);
			}
		default:
			return text_key(cd_name_key, "name_key", v, len, out, err_func);
	}
}

/* roles compared through a key computed from each value; others compare raw values */
static bool
role_has_key(CdRole role)
{
	switch (role)
	{
		case CD_ROLE_ADDRESS:
		case CD_ROLE_TEXT:
		case CD_ROLE_CITY:
		case CD_ROLE_POSTCODE:
		case CD_ROLE_CODE:
		case CD_ROLE_EXTERNAL_ID:
		case CD_ROLE_BIRTH_DATE:
			return true;
		default:
			return false;
	}
}

/* the comparison key of a value, appended to out; nothing appended: NULL */
static CdScoreStatus
compare_key(CdRole role, const char *v, size_t len, CdBuf *out, const char **err_func)
{
	switch (role)
	{
		case CD_ROLE_ADDRESS:
		case CD_ROLE_TEXT:
		case CD_ROLE_CITY:
			return text_key(cd_translit, "translit", v, len, out, err_func);
		case CD_ROLE_POSTCODE:
		case CD_ROLE_CODE:
		case CD_ROLE_EXTERNAL_ID:
			return text_key(cd_name_key, "name_key", v, len, out, err_func);
		case CD_ROLE_BIRTH_DATE:
			{
				char		buf[8];
				const char *d;
				size_t		dl;

				if (cd_date_digits(v, len, buf, &d, &dl) && !cd_buf_append(out, d, dl))
					return CD_SCORE_NOMEM;
				return CD_SCORE_OK;
			}
		default:
			return CD_SCORE_OK;
	}
}

static bool
same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/*
 * Days since 0001-01-01 of 8 ASCII digits YYYYMMDD that name a real Gregorian date
 * (year 1..9999), else -1.
 */
static long
date_day_number(const char *d, size_t len)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y = 0;
	int			m;
	int			day;
	int			dim;
	long		yy;
	long		n;

	if (len != 8)
		return -1;
	for (int i = 0; i < 8; i++)
		if (!is_digit((unsigned char) d[i]))
			return -1;
	for (int i = 0; i < 4; i++)
		y = y * 10 + (d[i] - '0');
	m = (d[4] - '0') * 10 + (d[5] - '0');
	day = (d[6] - '0') * 10 + (d[7] - '0');
	if (y < 1 || m < 1 || m > 12 || day < 1)
		return -1;
	dim = mdays[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
	if (day > dim)
		return -1;
	/* days before the year, before the month, then the day */
	yy = y - 1;
	n = yy * 365 + yy / 4 - yy / 100 + yy / 400;
	for (int i = 0; i < m - 1; i++)
		n += mdays[i] + (i == 1 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
	return n + day - 1;
}

/* similarity of two comparison keys (length 0: NULL) */
static CdScoreStatus
compare_keys(CdRole role, const char *a, size_t alen, const char *b, size_t blen,
			 const CdAllocator *al, double *out, const char **err_func)
{
	CdScoreStatus st = CD_SCORE_OK;

	*out = 0;
	if (role == CD_ROLE_EXTERNAL_ID)
	{
		*out = (alen > 0 && same_bytes(a, alen, b, blen)) ? 1 : 0;
		return CD_SCORE_OK;
	}
	if (alen == 0 || blen == 0)
		return CD_SCORE_OK;
	switch (role)
	{
		case CD_ROLE_ADDRESS:
		case CD_ROLE_TEXT:
			st = from_sim_status(cd_token_similarity(a, alen, b, blen, al, out));
			if (st != CD_SCORE_OK)
				*err_func = "token_similarity";
			/* crmdedup.address_similarity: the numbers must agree too */
			else if (role == CD_ROLE_ADDRESS)
			{
				double		cap = cd_address_number_cap(a, alen, b, blen);

				if (*out > cap)
					*out = cap;
			}
			break;
		case CD_ROLE_CITY:
			st = from_sim_status(cd_jaro_winkler(a, alen, b, blen, al, out));
			if (st != CD_SCORE_OK)
				*err_func = "jaro_winkler";
			break;
		case CD_ROLE_POSTCODE:
		case CD_ROLE_CODE:
			st = from_sim_status(cd_levenshtein_similarity(a, alen, b, blen, al, out));
			if (st != CD_SCORE_OK)
				*err_func = "levenshtein_similarity";
			break;
		case CD_ROLE_BIRTH_DATE:
			if (same_bytes(a, alen, b, blen))
				*out = 1;
			/* left(da, 4) = left(db, 4), substr(da, 5, 2) = substr(db, 7, 2) and back */
			else if (alen >= 8 && blen >= 8 && memcmp(a, b, 4) == 0
					 && memcmp(a + 4, b + 6, 2) == 0 && memcmp(a + 6, b + 4, 2) == 0)
				*out = 0.85;
			else
			{
				st = from_sim_status(cd_levenshtein_similarity(a, alen, b, blen, al, out));
				if (st != CD_SCORE_OK)
					*err_func = "levenshtein_similarity";
				/*
				 * 0.2.0: two real dates at most 31 days apart (a day or a month typed
				 * wrong, 1976-10-20 / 1976-11-17) score CD_DATE_CLOSE_SIM when their
				 * digits are further apart
				 */
				else if (*out < CD_DATE_CLOSE_SIM)
				{
					long		da = date_day_number(a, alen);
					long		db = date_day_number(b, blen);

					if (da >= 0 && db >= 0 && labs(da - db) <= CD_DATE_CLOSE_DAYS)
						*out = CD_DATE_CLOSE_SIM;
				}
			}
			break;
		default:
			break;
	}
	if (st != CD_SCORE_OK)
		*out = 0;
	return st;
}

/* similarity of two raw values of a role compared without a key */
static CdScoreStatus
compare_raw(CdRole role, const char *a, size_t alen, const char *b, size_t blen,
			const char *region, const CdAllocator *al, double *out, const char **err_func)
{
	CdMatchStatus ms;

	switch (role)
	{
		case CD_ROLE_PERSON_NAME:
			ms = cd_name_similarity(a, alen, b, blen, al, out);
			*err_func = "name_similarity";
			break;
		case CD_ROLE_FIRST_NAME:
		case CD_ROLE_LAST_NAME:
		case CD_ROLE_MIDDLE_NAME:
			ms = cd_name_part_similarity(a, alen, b, blen, al, out);
			*err_func = "name_part_similarity";
			break;
		case CD_ROLE_COMPANY:
			ms = cd_company_similarity(a, alen, b, blen, al, out);
			*err_func = "company_similarity";
			break;
		case CD_ROLE_PHONE:
			ms = cd_phone_similarity(a, alen, b, blen, region, out);
			*err_func = "phone_similarity";
			break;
		case CD_ROLE_EMAIL:
			ms = cd_email_similarity(a, alen, b, blen, out);
			*err_func = "email_similarity";
			break;
		default:
			*out = 0;
			ms = CD_MATCH_OK;
			break;
	}
	if (ms == CD_MATCH_OK)
		*err_func = NULL;
	else
		*out = 0;
	return from_match_status(ms);
}

CdScoreStatus
cd_value_similarity(CdRole role, const char *a, size_t alen, const char *b, size_t blen,
					const char *region, const CdAllocator *al, double *out,
					const char **err_func)
{
	CdBuf		ka;
	CdBuf		kb;
	CdScoreStatus st;

	*out = 0;
	*err_func = NULL;
	if ((int) role < 0 || (int) role >= CD_ROLE_COUNT)
		return CD_SCORE_BAD_PROFILE;
	if (!role_has_key(role))
		return compare_raw(role, a, alen, b, blen, region, al, out, err_func);

	cd_buf_init(&ka, al);
	cd_buf_init(&kb, al);
	st = compare_key(role, a, alen, &ka, err_func);
	if (st == CD_SCORE_OK)
		st = compare_key(role, b, blen, &kb, err_func);
	if (st == CD_SCORE_OK)
		st = compare_keys(role, ka.data, ka.len, kb.data, kb.len, al, out, err_func);
	cd_buf_free(&ka);
	cd_buf_free(&kb);
	return st;
}

/* ---------------------------------------------------------------- profile */

CdScoreStatus
cd_score_profile_check(const CdScoreProfile *p, int *bad_field, const char **reason)
{
	*bad_field = -1;
	*reason = NULL;
	if (p == NULL || p->nfields < 0 || (p->nfields > 0 && p->fields == NULL))
		*reason = "no fields";
	else if (!(p->prior > 0 && p->prior < 1))
		*reason = "\"prior\" must be in (0,1)";
	else if (!isfinite(p->same) || !isfinite(p->maybe))
		*reason = "the thresholds must be numbers";
	if (*reason)
		return CD_SCORE_BAD_PROFILE;

	for (int i = 0; i < p->nfields; i++)
	{
		const CdScoreField *f = &p->fields[i];
		double		sum_m = 0;
		double		sum_u = 0;

		*bad_field = i;
		if ((int) f->role < 0 || (int) f->role >= CD_ROLE_COUNT)
			*reason = "unknown role";
		else if (!isfinite(f->weight))
			*reason = "\"weight\" must be a number";
		else if (f->role == CD_ROLE_PHONE && f->region == NULL)
			*reason = "a phone field needs a region";
		else if (f->nlevels < 0 || (f->nlevels > 0 && f->levels == NULL))
			*reason = "bad levels";
		if (*reason)
			return CD_SCORE_BAD_PROFILE;
		for (int j = 0; j < f->nlevels; j++)
		{
			const CdScoreLevel *l = &f->levels[j];

			if (!isfinite(l->min) || !isfinite(l->m) || !isfinite(l->u) || !(l->m > 0) || !(l->u > 0))
			{
				*reason = "each level needs a \"min\" and positive \"m\" and \"u\"";
				return CD_SCORE_BAD_PROFILE;
			}
			sum_m = sum_m + l->m;
			sum_u = sum_u + l->u;
		}
		if (!(1 - sum_m > 0) || !(1 - sum_u > 0))
		{
			*reason = "the \"m\" and the \"u\" of the levels must each sum below 1";
			return CD_SCORE_BAD_PROFILE;
		}
		if (p->place_u != NULL && (isnan(p->place_u[i]) || p->place_u[i] >= 1))
		{
			*reason = "\"u_same_place\" must be a number below 1";
			return CD_SCORE_BAD_PROFILE;
		}
	}
	*bad_field = -1;
	return CD_SCORE_OK;
}

/* ---------------------------------------------------------------- scoring */

/* PostgreSQL's ln(2), from libm at run time (not folded by the compiler) */
static double
ln2(void)
{
	static double v = 0;

	if (v == 0)
	{
		volatile double two = 2.0;

		v = log(two);
	}
	return v;
}

/* float8 greatest()/least() of PostgreSQL: NaN sorts above every number */
static double
pg_greatest(double a, double b)
{
	if (isnan(a))
		return a;
	if (isnan(b))
		return b;
	return a >= b ? a : b;
}

static double
pg_least(double a, double b)
{
	if (isnan(a))
		return b;
	if (isnan(b))
		return a;
	return a <= b ? a : b;
}

/* keys of the values of one side, concatenated; key i is text[start[i] .. start[i+1]) */
#define LOCAL_VALUES 16

typedef struct SideKeys
{
	CdBuf		text;
	size_t	   *start;
	size_t		local[LOCAL_VALUES + 1];
	const CdAllocator *al;
} SideKeys;

static void
side_keys_init(SideKeys *k, const CdAllocator *al)
{
	cd_buf_init(&k->text, al);
	k->start = NULL;
	k->al = al;
}

static void
side_keys_free(SideKeys *k)
{
	cd_buf_free(&k->text);
	if (k->start != NULL && k->start != k->local)
		k->al->release(k->start, k->al->ctx);
	k->start = NULL;
}

static CdScoreStatus
side_keys_build(SideKeys *k, CdRole role, const CdValues *vals, const char **err_func)
{
	cd_buf_reset(&k->text);
	if (k->start != NULL && k->start != k->local)
		k->al->release(k->start, k->al->ctx);
	k->start = NULL;
	if (vals->n <= LOCAL_VALUES)
		k->start = k->local;
	else
	{
		k->start = k->al->alloc(sizeof(size_t) * ((size_t) vals->n + 1), k->al->ctx);
		if (k->start == NULL)
			return CD_SCORE_NOMEM;
	}
	for (int i = 0; i < vals->n; i++)
	{
		CdScoreStatus st;

		k->start[i] = k->text.len;
		st = compare_key(role, vals->v[i].ptr, vals->v[i].len, &k->text, err_func);
		if (st != CD_SCORE_OK)
			return st;
	}
	k->start[vals->n] = k->text.len;
	return CD_SCORE_OK;
}

static void
side_key(const SideKeys *k, int i, const char **p, size_t *len)
{
	*len = k->start[i + 1] - k->start[i];
	*p = *len > 0 ? k->text.data + k->start[i] : "";
}

/* frequency of a term, or the unknown-term frequency */
static double
term_freq(CdTermFreqFn fn, void *ctx, int field, const char *t, size_t len, double unknown)
{
	double		f = fn != NULL ? fn(ctx, field, t, len) : -1;

	return f < 0 ? unknown : f;
}

/*
 * The company term keys (cd_term_key) of the two values of a field's best pair, computed
 * once per comparison when first needed (0.2.0): the term frequencies of both sides and the
 * containment test all read them.
 */
typedef struct PairKeys
{
	CdBuf		a;
	CdBuf		b;
	CdBuf		corr_a;			/* a's key and b's with each slip's more frequent */
	CdBuf		corr_b;			/* spelling (words_contained) */
	const CdAllocator *al;
	bool		built;
	bool		tested;			/* words_contained ran: the two below are set */
	bool		contained;
	bool		corrected;		/* contained as other names: corr_a, corr_b */
} PairKeys;

static void
pair_keys_init(PairKeys *k, const CdAllocator *al)
{
	cd_buf_init(&k->a, al);
	cd_buf_init(&k->b, al);
	cd_buf_init(&k->corr_a, al);
	cd_buf_init(&k->corr_b, al);
	k->al = al;
	k->built = false;
	k->tested = false;
}

static void
pair_keys_free(PairKeys *k)
{
	cd_buf_free(&k->a);
	cd_buf_free(&k->b);
	cd_buf_free(&k->corr_a);
	cd_buf_free(&k->corr_b);
}

/* a's key then b's, as the comparisons that read them asked for them before */
static CdScoreStatus
pair_keys_build(PairKeys *k, CdRole role, const CdStr *a_val, const CdStr *b_val, const char **err_func)
{
	CdScoreStatus st;

	if (k->built)
		return CD_SCORE_OK;
	cd_buf_reset(&k->a);
	cd_buf_reset(&k->b);
	st = cd_term_key(role, a_val->ptr, a_val->len, &k->a, err_func);
	if (st == CD_SCORE_OK && k->a.failed)
		st = CD_SCORE_NOMEM;
	if (st == CD_SCORE_OK)
		st = cd_term_key(role, b_val->ptr, b_val->len, &k->b, err_func);
	if (st == CD_SCORE_OK && k->b.failed)
		st = CD_SCORE_NOMEM;
	k->built = st == CD_SCORE_OK;
	return st;
}

/*
 * exp(sum(ln(freq))) over the term keys of one value, as the SQL subquery; *has false
 * when the SQL gives NULL (a person name without a term).
 */
static CdScoreStatus
side_tf(CdRole role, int field, const CdStr *v, const CdBuf *vkey, const CdBuf *okey, CdTermFreqFn fn,
		void *ctx, double unknown, CdBuf *scratch, bool *has, double *out, const char **err_func)
{
	CdScoreStatus st;
	double		sum;

	cd_buf_reset(scratch);
	if (vkey != NULL)
	{
		/* a company value's key, computed once for the pair (PairKeys) */
		if (vkey->len > 0 && !cd_buf_append(scratch, vkey->data, vkey->len))
			return CD_SCORE_NOMEM;
	}
	else
	{
		st = cd_term_key(role, v->ptr, v->len, scratch, err_func);
		if (st != CD_SCORE_OK)
			return st;
	}
	if (role == CD_ROLE_EMAIL || role == CD_ROLE_PHONE)
	{
		/*
		 * a mailbox name the statistics do not know is held by no other mailbox, a
		 * phone number by no other row: no frequency (0.2.0)
		 */
		double		f = scratch->len > 0 && fn != NULL ? fn(ctx, field, scratch->data, scratch->len) : -1;

		*has = f >= 0;
		if (*has)
			*out = exp(log(f));
		return CD_SCORE_OK;
	}
	if (role == CD_ROLE_PERSON_NAME || role == CD_ROLE_COMPANY)
	{
		/*
		 * string_to_array(key, ' '): NULL key -> no rows -> NULL.  A company name since
		 * 0.2.0 too: legal names are unique within a jurisdiction, so the rows sharing
		 * a whole company name are mostly records of one company, and analyze() counts
		 * a company word over the distinct names holding it (a generic word, holding or
		 * electronics, is held by many) and a whole company name over the distinct
		 * values of the profile's other fields among its rows (branches at other
		 * addresses count, copies of one record do not).
		 */
		size_t		s = 0;
		bool		first = true;

		if (scratch->len == 0)
		{
			*has = false;
			return CD_SCORE_OK;
		}
		/*
		 * 0.2.0: two records holding the same company name of one word (DSM, Unilever)
		 * agree on the whole name, not on a word: the evidence is the whole name's share
		 * (analyze() keeps it under the word and a space), as for a name of several
		 * words.  The word's share of distinct names also counts the other names that
		 * hold it (DSM IP Assets, often the same group), which is the evidence of a
		 * similar name, not of the same one.
		 */
		if (role == CD_ROLE_COMPANY && okey != NULL && memchr(scratch->data, ' ', scratch->len) == NULL)
		{
			if (okey->len == scratch->len && memcmp(okey->data, scratch->data, scratch->len) == 0)
			{
				if (!cd_buf_append_byte(scratch, ' '))
					return CD_SCORE_NOMEM;
				*has = true;
				*out = term_freq(fn, ctx, field, scratch->data, scratch->len, unknown);
				return CD_SCORE_OK;
			}
		}
		sum = 0;
		for (size_t i = 0; i <= scratch->len; i++)
		{
			if (i == scratch->len || scratch->data[i] == ' ')
			{
				double		l = log(term_freq(fn, ctx, field, scratch->data + s, i - s, unknown));

				sum = first ? l : sum + l;
				first = false;
				s = i + 1;
			}
		}
		/*
		 * Since 0.2.0 the whole name counts too: the words of a name are not independent
		 * (João da Silva is far more common than the product of its words' shares), so a
		 * side's frequency is the larger of that product and the share of rows holding
		 * the whole key (a name of one word: the product is that share already).  A
		 * whole name analyze() did not keep (held by one row) counts 1/rows.
		 */
		if (memchr(scratch->data, ' ', scratch->len) != NULL)
		{
			*has = true;
			*out = pg_greatest(exp(sum), term_freq(fn, ctx, field, scratch->data, scratch->len, unknown));
			return CD_SCORE_OK;
		}
	}
	else if (scratch->len == 0)
		sum = log(unknown);		/* ARRAY[NULL]: a term that matches no statistics row */
	else
		sum = log(term_freq(fn, ctx, field, scratch->data, scratch->len, unknown));
	*has = true;
	*out = exp(sum);
	return CD_SCORE_OK;
}

/* does the word w (wl bytes) occur as a whole word in the space-separated key k? */
static bool
has_word(const char *k, size_t kl, const char *w, size_t wl)
{
	size_t		s = 0;

	for (size_t i = 0; i <= kl; i++)
	{
		if (i == kl || k[i] == ' ')
		{
			if (i - s == wl && memcmp(k + s, w, wl) == 0)
				return true;
			s = i + 1;
		}
	}
	return false;
}

/* the number of words of a space-separated key (runs of other bytes) */
static int
count_words(const char *k, size_t kl)
{
	int			n = 0;

	for (size_t i = 0; i < kl; i++)
		n += k[i] != ' ' && (i == 0 || k[i - 1] == ' ');
	return n;
}

#define CONTAIN_MAX_WORDS 64	/* words of the longer name matched one to one */

/* the start and end of each word (a run of bytes other than a space) of k */
static void
split_words(const char *k, size_t kl, size_t *ws, size_t *we)
{
	int			n = 0;
	size_t		s = 0;

	for (size_t i = 0; i <= kl; i++)
	{
		if (i == kl || k[i] == ' ')
		{
			if (i > s)
			{
				ws[n] = s;
				we[n] = i;
				n++;
			}
			s = i + 1;
		}
	}
}

/*
 * One reading of words_contained: the words of x (xn of them, at most y's yn, both at
 * most CONTAIN_MAX_WORDS) matched into y's.  Exact words first (a word written twice in
 * x may meet the same word, as in the test before slips), then a slip
 * (cd_company_word_slip with cut) for each word left, into the first word of y left.
 * *ok when every word matched, at least one exactly, and with slips no word of y served
 * two, the words in y's order and y at most one word more; x and y as many words only
 * with slips.  match[j] is the word of y that x's word j met, slipped[j] whether by a slip.
 */
static CdScoreStatus
match_words(const char *x, const size_t *xs, const size_t *xe, int xn, const char *y, const size_t *ys,
			const size_t *ye, int yn, const CdAllocator *al, int *match, bool *slipped, bool *ok, int *nslip)
{
	bool		used[CONTAIN_MAX_WORDS];
	int			nexact = 0;
	bool		reused = false;

	*ok = false;
	*nslip = 0;
	for (int k = 0; k < yn; k++)
		used[k] = false;
	for (int j = 0; j < xn; j++)
	{
		match[j] = -1;
		slipped[j] = false;
		for (int k = 0; k < yn; k++)
			if (ye[k] - ys[k] == xe[j] - xs[j] && memcmp(y + ys[k], x + xs[j], xe[j] - xs[j]) == 0 &&
				(match[j] < 0 || (used[match[j]] && !used[k])))
				match[j] = k;
		if (match[j] >= 0)
		{
			reused |= used[match[j]];
			used[match[j]] = true;
			nexact++;
		}
	}
	for (int j = 0; j < xn; j++)
	{
		for (int k = 0; k < yn && match[j] < 0; k++)
		{
			bool		slip = false;

			if (used[k])
				continue;
			if (cd_company_word_slip(x + xs[j], xe[j] - xs[j], y + ys[k], ye[k] - ys[k], true, al,
									 &slip) == CD_MATCH_NOMEM)
				return CD_SCORE_NOMEM;
			if (slip)
			{
				match[j] = k;
				slipped[j] = true;
				used[k] = true;
				(*nslip)++;
			}
		}
		if (match[j] < 0)
			return CD_SCORE_OK;
	}
	if (nexact == 0 || (xn == yn && *nslip == 0) || (*nslip > 0 && (reused || yn - xn > 1)))
		return CD_SCORE_OK;
	/* with slips, the words in the other's order (a word dropped, not words moved) */
	for (int j = 1; j < xn && *nslip > 0; j++)
		if (match[j] <= match[j - 1])
			return CD_SCORE_OK;
	*ok = true;
	return CD_SCORE_OK;
}

/* k's words (ws, we, n of them) joined by a space, word i replaced by rep[i] when set */
static bool
append_words(CdBuf *out, const char *k, const size_t *ws, const size_t *we, int n, const char *const *rep,
			 const size_t *repl)
{
	for (int i = 0; i < n; i++)
	{
		if (i > 0 && !cd_buf_append_byte(out, ' '))
			return false;
		if (rep[i] != NULL ? !cd_buf_append(out, rep[i], repl[i]) : !cd_buf_append(out, k + ws[i], we[i] - ws[i]))
			return false;
	}
	return true;
}

/* a total order of keys (the reading of two keys of as many words) */
static int
key_cmp(const char *x, size_t xl, const char *y, size_t yl)
{
	int			c = xl > 0 && yl > 0 ? memcmp(x, y, xl < yl ? xl : yl) : 0;	/* an empty key's data may be NULL */

	return c != 0 ? c : xl < yl ? -1 : xl > yl ? 1 : 0;
}

/*
 * Company names (0.2.0): is every word of one term key a word of the other, which has
 * more words (Philips Electronics / Koninklijke Philips Electronics N.V.: a word more on
 * one side)?  Words are runs of bytes other than a space.  A word may also be a word of
 * the other written with a slip (cd_company_word_slip with cut: a typo of the kind
 * company_similarity tolerates in company words, or a word cut short: Philips
 * Electronic, Phillips Electronics, Koninkl Philips Electronic / Koninklijke Philips
 * Electronics N.V.), each slip into a word of the longer key no other word of the
 * shorter one took, when at least one word matched exactly (a name of one word:
 * exactly), no word of the longer key served two words of the shorter one, the words
 * in the longer key's order and the longer key at most one word more: a slip and
 * words moved or more words are two differences, and one organisation's sites are
 * often named by the organisation's name and more words (Abraham Lincoln Centre /
 * Abraham Lincoln Center Lincoln King, Kennedy King College / City Colleges Kennedy
 * King: other sites, measured on Chicago);
 * with slips the two keys may also have as many words (Koninkl Philips Electronic /
 * Koninklijke Philips Electronics: the same name misspelt, which the similarity levels
 * weigh as a similar name), when each reads into the other (match_words both ways: a
 * word written twice on one side, Baltic Baltic Electro / Baltic Baltics Electronics,
 * matches one way only), so the answer never depends on which name is a.  *contained
 * says whether, *slips whether a word matched with a slip; then *corr_a and *corr_b
 * hold a's and b's keys with each slipped pair of words written in its more frequent
 * spelling (fn's frequency of the word, ties by the bytes): the names the pair stands
 * for without the slips.  Neither the longer name's spelling nor the shorter's is
 * the correct one by position (Koninklijke Orbiss Electronics Holding / Orbis
 * Electronic Holding: a typo on each side), and a misspelt word is rare in the
 * statistics, so the more frequent spelling is the one whose frequency may not make a
 * slip weigh more than the correct spelling.  A longer key of more than
 * CONTAIN_MAX_WORDS words: exact words only.
 */
static CdScoreStatus
words_contained_as_written(const char *a, size_t al_, const char *b, size_t bl, const CdAllocator *al,
						   CdTermFreqFn fn, void *ctx, int field, double unknown, CdBuf *corr_a, CdBuf *corr_b,
						   bool *contained, bool *slips)
{
	int			an = count_words(a, al_);
	int			bn = count_words(b, bl);
	bool		swap = an > bn || (an == bn && key_cmp(a, al_, b, bl) > 0);
	const char *x = swap ? b : a;
	size_t		xl = swap ? bl : al_;
	int			xn = swap ? bn : an;
	const char *y = swap ? a : b;
	size_t		yl = swap ? al_ : bl;
	int			yn = swap ? an : bn;
	CdBuf	   *corr_x = swap ? corr_b : corr_a;
	CdBuf	   *corr_y = swap ? corr_a : corr_b;
	size_t		ys[CONTAIN_MAX_WORDS];
	size_t		ye[CONTAIN_MAX_WORDS];
	size_t		xs[CONTAIN_MAX_WORDS];
	size_t		xe[CONTAIN_MAX_WORDS];
	int			match[CONTAIN_MAX_WORDS];
	bool		slipped[CONTAIN_MAX_WORDS];
	const char *rep_x[CONTAIN_MAX_WORDS];
	const char *rep_y[CONTAIN_MAX_WORDS];
	size_t		repl_x[CONTAIN_MAX_WORDS];
	size_t		repl_y[CONTAIN_MAX_WORDS];
	int			nslip = 0;
	bool		ok = false;
	CdScoreStatus st;

	*contained = false;
	*slips = false;
	cd_buf_reset(corr_a);
	cd_buf_reset(corr_b);
	if (xn == 0 || yn == 0)
		return CD_SCORE_OK;
	if (xn == yn && xn > CONTAIN_MAX_WORDS)
		return CD_SCORE_OK;
	if (yn > CONTAIN_MAX_WORDS)
	{
		size_t		s = 0;

		for (size_t i = 0; i <= xl; i++)
		{
			if (i == xl || x[i] == ' ')
			{
				if (i > s && !has_word(y, yl, x + s, i - s))
					return CD_SCORE_OK;
				s = i + 1;
			}
		}
		*contained = true;
		return CD_SCORE_OK;
	}
	split_words(y, yl, ys, ye);
	split_words(x, xl, xs, xe);
	st = match_words(x, xs, xe, xn, y, ys, ye, yn, al, match, slipped, &ok, &nslip);
	if (st != CD_SCORE_OK || !ok)
		return st;
	if (xn == yn)
	{
		/* as many words: y must read into x too (its own match, not kept) */
		int			back[CONTAIN_MAX_WORDS];
		bool		back_slipped[CONTAIN_MAX_WORDS];
		int			back_nslip;

		st = match_words(y, ys, ye, yn, x, xs, xe, xn, al, back, back_slipped, &ok, &back_nslip);
		if (st != CD_SCORE_OK || !ok)
			return st;
	}
	*contained = true;
	*slips = nslip > 0;
	if (!*slips)
		return CD_SCORE_OK;
	for (int i = 0; i < xn; i++)
		rep_x[i] = NULL;
	for (int k = 0; k < yn; k++)
		rep_y[k] = NULL;
	for (int j = 0; j < xn; j++)
	{
		if (slipped[j])
		{
			int			k = match[j];
			const char *xw = x + xs[j];
			const char *yw = y + ys[k];
			size_t		xwl = xe[j] - xs[j];
			size_t		ywl = ye[k] - ys[k];
			double		fx = term_freq(fn, ctx, field, xw, xwl, unknown);
			double		fy = term_freq(fn, ctx, field, yw, ywl, unknown);
			bool		take_x = fx > fy || (!(fy > fx) && key_cmp(xw, xwl, yw, ywl) <= 0);

			rep_x[j] = rep_y[k] = take_x ? xw : yw;
			repl_x[j] = repl_y[k] = take_x ? xwl : ywl;
		}
	}
	if (!append_words(corr_x, x, xs, xe, xn, rep_x, repl_x) || !append_words(corr_y, y, ys, ye, yn, rep_y, repl_y))
		return CD_SCORE_NOMEM;
	return CD_SCORE_OK;
}

/*
 * words_contained_as_written, or else (company-places data) the same test with a place
 * closing one name left out when the other name ends with none (company_places.h):
 * Philips Electronics UK / Koninklijke Philips Electronics is read as Philips
 * Electronics / Koninklijke Philips Electronics.  A subsidiary or a filing names its
 * country after the company's name, which is the evidence the pair shares; two names
 * that both name a place (ASML Holland / ASML Netherlands, Siemens UK / Siemens France)
 * keep it, as a difference.  *corrected says whether the pair stands for other names
 * than written (a slip or a place left out); then *corr_a and *corr_b hold those
 * names, whose frequencies company_pair_tf counts: the name without its place is as
 * common as the shorter name is, so the pair weighs at most what that containment
 * weighs.  The answer does not depend on which name is a.
 */
static CdScoreStatus
words_contained(const char *a, size_t al_, const char *b, size_t bl, const CdAllocator *al, CdTermFreqFn fn,
				void *ctx, int field, double unknown, CdBuf *corr_a, CdBuf *corr_b, bool *contained,
				bool *corrected)
{
	CdScoreStatus st = words_contained_as_written(a, al_, b, bl, al, fn, ctx, field, unknown, corr_a, corr_b,
												  contained, corrected);
	size_t		pa;
	size_t		pb;

	if (st != CD_SCORE_OK || *contained)
		return st;
	pa = cd_company_place_start(a, al_);
	pb = cd_company_place_start(b, bl);
	if ((pa > 0) == (pb > 0))
		return CD_SCORE_OK;
	st = words_contained_as_written(a, pa > 0 ? pa : al_, b, pb > 0 ? pb : bl, al, fn, ctx, field, unknown,
									corr_a, corr_b, contained, corrected);
	if (st != CD_SCORE_OK || !*contained)
		return st;
	if (!*corrected)
	{
		if (!cd_buf_append(corr_a, a, pa > 0 ? pa : al_) || !cd_buf_append(corr_b, b, pb > 0 ? pb : bl))
			return CD_SCORE_NOMEM;
		*corrected = true;
	}
	return CD_SCORE_OK;
}

/* words_contained of a company pair's keys, once per comparison */
static CdScoreStatus
pair_contained(PairKeys *keys, int fi, const CdStr *a_val, const CdStr *b_val, CdTermFreqFn fn, void *ctx,
			   double unknown, const char **err_func)
{
	CdScoreStatus st;

	if (keys->tested)
		return CD_SCORE_OK;
	st = pair_keys_build(keys, CD_ROLE_COMPANY, a_val, b_val, err_func);
	if (st == CD_SCORE_OK)
		st = words_contained(keys->a.data, keys->a.len, keys->b.data, keys->b.len, keys->al, fn, ctx, fi,
							 unknown, &keys->corr_a, &keys->corr_b, &keys->contained, &keys->corrected);
	if (st == CD_SCORE_OK && (keys->corr_a.failed || keys->corr_b.failed))
		st = CD_SCORE_NOMEM;
	keys->tested = st == CD_SCORE_OK;
	return st;
}

/*
 * The term frequencies of the two sides of a company pair (side_tf on their keys, a's
 * then b's).  Since 0.2.0 a pair contained with slips (words_contained) counts each
 * side by the larger of its own key's frequency and that of its key with each slip's
 * more frequent spelling: a misspelt word is rare in the statistics, and a slip must
 * never weigh more than the names without it would, at any level.  A name read
 * without the place closing it (company-places data) counts the same way, by the
 * larger of its own frequency and that of the name without the place.  Both sides
 * alike, so the pair's u (the larger of the two) does not depend on which name is a.
 */
static CdScoreStatus
company_pair_tf(int fi, const CdStr *a_val, const CdStr *b_val, PairKeys *keys, CdTermFreqFn fn, void *ctx,
				double unknown, CdBuf *scratch, bool *has_a, double *ta, bool *has_b, double *tb,
				const char **err_func)
{
	CdScoreStatus st = pair_contained(keys, fi, a_val, b_val, fn, ctx, unknown, err_func);

	if (st == CD_SCORE_OK)
		st = side_tf(CD_ROLE_COMPANY, fi, a_val, &keys->a, &keys->b, fn, ctx, unknown, scratch, has_a, ta,
					 err_func);
	if (st == CD_SCORE_OK)
		st = side_tf(CD_ROLE_COMPANY, fi, b_val, &keys->b, &keys->a, fn, ctx, unknown, scratch, has_b, tb,
					 err_func);
	for (int side = 0; side < 2 && st == CD_SCORE_OK && keys->contained && keys->corrected; side++)
	{
		bool		has_c = false;
		double		tc = 0;
		bool	   *has_s = side == 0 ? has_a : has_b;
		double	   *ts = side == 0 ? ta : tb;
		const CdBuf *key = side == 0 ? &keys->a : &keys->b;
		const CdBuf *corr = side == 0 ? &keys->corr_a : &keys->corr_b;

		/*
		 * a side read as written (the other side's slip or place) has the frequency just
		 * counted: no second lookup.  Only for a key of several words, whose frequency
		 * does not depend on the other key (side_tf reads it for a name of one word).
		 */
		if (corr->len == key->len && key->len > 0 && memcmp(corr->data, key->data, key->len) == 0 &&
			memchr(key->data, ' ', key->len) != NULL)
			continue;
		st = side_tf(CD_ROLE_COMPANY, fi, side == 0 ? a_val : b_val, corr,
					 side == 0 ? &keys->corr_b : &keys->corr_a, fn, ctx, unknown, scratch, &has_c, &tc, err_func);
		if (st == CD_SCORE_OK && has_c)
		{
			*ts = *has_s ? pg_greatest(*ts, tc) : tc;
			*has_s = true;
		}
	}
	return st;
}

/*
 * Company names (0.2.0): a name whose words are all words of the other name counts at
 * the top level (its m) with the term-frequency u of the pair (the larger of the two
 * names' frequencies, whichever name it is), when the top level's weight with that u is
 * at least the weight of the level below the top and stronger than the level reached:
 * two records agree on every word one of them has, and how often another company holds
 * those words is the evidence, as for an exact name.  A common name (a generic word such
 * as `Holding`, a group's name) is not promoted: it stays at the level reached.  Words
 * with slips (words_contained) count at their more frequent spelling here and at the
 * levels (company_pair_tf): each name's frequency is at least that of its key without
 * the slips, so the pair weighs at most as the exact containment would; a name read
 * without its place counts at least as the name without it.
 */
static CdScoreStatus
company_contained(const CdScoreProfile *p, int fi, const CdStr *a_val, const CdStr *b_val,
				  CdTermFreqFn fn, void *ctx, CdBuf *scratch, PairKeys *keys,
				  CdFieldScore *fs, bool *named, const char **err_func)
{
	const CdScoreField *f = &p->fields[fi];
	CdScoreStatus st;
	double		unknown;

	if (f->role != CD_ROLE_COMPANY || fs->level == 0 || f->nlevels == 0 || f->levels[0].name == NULL ||
		!f->levels[0].tf || p->analyzed_rows <= 0)
		return CD_SCORE_OK;
	unknown = p->unknown_freq > 0 ? p->unknown_freq : 1.0 / (double) p->analyzed_rows;
	st = pair_contained(keys, fi, a_val, b_val, fn, ctx, unknown, err_func);
	if (st != CD_SCORE_OK || !keys->contained)
		return st;
	{
		bool		has_a;
		bool		has_b;
		double		ta = 0;
		double		tb = 0;
		double		tf_u;
		double		m = f->levels[0].m;
		double		sum_m = 0;
		double		sum_u = 0;

		/* a slip counts at its more frequent spelling (company_pair_tf) */
		st = company_pair_tf(fi, a_val, b_val, keys, fn, ctx, unknown, scratch, &has_a, &ta, &has_b, &tb,
							 err_func);
		if (st != CD_SCORE_OK || !has_a || !has_b)
			return st;
		tf_u = pg_least(pg_greatest(pg_greatest(ta, tb), 1e-7), 0.5);
		for (int j = 0; j < f->nlevels; j++)
		{
			sum_m += f->levels[j].m;
			sum_u += f->levels[j].u;
		}
		/*
		 * only when the top level's weight with the pair's u is at least the weight of
		 * the level below the top (m0 / tf_u >= m1 / u1, multiplied out): a contained name
		 * is at least as good evidence as a similar one only when the names are rare; a
		 * generic or common name, such as `Holding`, stays at the level reached.  And
		 * only when stronger than the level reached ("different": its own m and u).
		 */
		if (f->nlevels < 2 || m * f->levels[1].u < f->levels[1].m * tf_u)
			return CD_SCORE_OK;
		if (*named ? m / tf_u <= fs->m / fs->u
			: (1 - sum_u <= 0 || m / tf_u <= (1 - sum_m) / (1 - sum_u)))
			return CD_SCORE_OK;
		*named = true;
		fs->level = 0;
		fs->m = m;
		fs->u = tf_u;
		fs->tf_used = true;
	}
	return CD_SCORE_OK;
}

static CdScoreStatus
score_field_keys(const CdScoreProfile *p, int fi, const CdValues *va, const CdValues *vb,
				 CdTermFreqFn fn, void *ctx, SideKeys *ka, SideKeys *kb, CdBuf *scratch,
				 PairKeys *keys, CdPhoneSide *pa, const CdAllocator *al, CdFieldScore *fs,
				 const char **err_func)
{
	const CdScoreField *f = &p->fields[fi];
	CdScoreStatus st;
	double		best = -1;
	bool		keyed = role_has_key(f->role);
	bool		named = false;
	double		sum_m = 0;
	double		sum_u = 0;

	fs->tf_used = false;
	fs->b_field = fi;
	fs->explained_by = -1;
	fs->same_place_as = -1;
	if (va->n <= 0 || vb->n <= 0)
	{
		fs->level = CD_LEVEL_MISSING;
		fs->level_name = "missing";
		fs->similarity = 0;
		fs->best_a = fs->best_b = -1;
		fs->m = fs->u = 0;
		fs->weight = 0;
		return CD_SCORE_OK;
	}

	if (keyed)
	{
		st = side_keys_build(ka, f->role, va, err_func);
		if (st == CD_SCORE_OK)
			st = side_keys_build(kb, f->role, vb, err_func);
		if (st != CD_SCORE_OK)
			return st;
	}
	fs->best_a = fs->best_b = 0;
	/*
	 * a's phones prepared (cd_record_score_min_side): b's once per value, parsed without
	 * the value memo (a guard's candidate is compared once: a lookup and an entry cost
	 * more than its parse)
	 */
	if (pa != NULL && f->role == CD_ROLE_PHONE)
	{
		CdPhoneSide local[LOCAL_VALUES];
		CdPhoneSide *pb = local;

		if (vb->n > LOCAL_VALUES)
		{
			pb = al->alloc(sizeof(CdPhoneSide) * (size_t) vb->n, al->ctx);
			if (pb == NULL)
				return CD_SCORE_NOMEM;
		}
		for (int j = 0; j < vb->n; j++)
			cd_phone_side_init(&pb[j], vb->v[j].ptr, vb->v[j].len, f->region, false);
		st = CD_SCORE_OK;
		for (int i = 0; i < va->n && st == CD_SCORE_OK; i++)
		{
			for (int j = 0; j < vb->n; j++)
			{
				double		s;
				CdMatchStatus ms = cd_phone_similarity_sides(&pa[i], &pb[j], &s);

				if (ms != CD_MATCH_OK)
				{
					*err_func = "phone_similarity";
					st = from_match_status(ms);
					break;
				}
				if (s > best)
				{
					best = s;
					fs->best_a = i;
					fs->best_b = j;
				}
			}
		}
		if (pb != local)
			al->release(pb, al->ctx);
		if (st != CD_SCORE_OK)
			return st;
	}
	for (int i = 0; i < va->n && !(pa != NULL && f->role == CD_ROLE_PHONE); i++)
	{
		for (int j = 0; j < vb->n; j++)
		{
			double		s;

			if (keyed)
			{
				const char *x;
				const char *y;
				size_t		xl;
				size_t		yl;

				side_key(ka, i, &x, &xl);
				side_key(kb, j, &y, &yl);
				st = compare_keys(f->role, x, xl, y, yl, al, &s, err_func);
			}
			else
				st = compare_raw(f->role, va->v[i].ptr, va->v[i].len, vb->v[j].ptr, vb->v[j].len,
								 f->region, al, &s, err_func);
			if (st != CD_SCORE_OK)
				return st;
			if (s > best)
			{
				best = s;
				fs->best_a = i;
				fs->best_b = j;
			}
		}
	}
	fs->similarity = best;

	/* the level loop of match_rows, "level_name IS NULL" being !named */
	fs->level = CD_LEVEL_DIFFERENT;
	for (int j = 0; j < f->nlevels; j++)
	{
		const CdScoreLevel *l = &f->levels[j];

		sum_m = sum_m + l->m;
		sum_u = sum_u + l->u;
		if (!named && best >= l->min)
		{
			named = l->name != NULL;
			fs->level = j;
			fs->m = l->m;
			fs->u = l->u;
			fs->tf_used = false;
			/* an unnamed level's m and u are always overwritten: no need for its TF */
			if (named && l->tf && p->analyzed_rows > 0)
			{
				double		unknown = p->unknown_freq > 0 ? p->unknown_freq
					: 1.0 / (double) p->analyzed_rows;
				bool		has_a;
				bool		has_b;
				double		ta = 0;
				double		tb = 0;

				const CdStr *a_val = &va->v[fs->best_a];
				const CdStr *b_val = &vb->v[fs->best_b];
				bool		company = f->role == CD_ROLE_COMPANY;

				/*
				 * a company pair's keys are computed once (the containment test reads them
				 * too); a slip counts at its more frequent spelling (company_pair_tf)
				 */
				if (company)
					st = company_pair_tf(fi, a_val, b_val, keys, fn, ctx, unknown, scratch, &has_a, &ta,
										 &has_b, &tb, err_func);
				else
				{
					st = side_tf(f->role, fi, a_val, NULL, NULL, fn, ctx, unknown, scratch, &has_a, &ta,
								 err_func);
					if (st == CD_SCORE_OK)
						st = side_tf(f->role, fi, b_val, NULL, NULL, fn, ctx, unknown, scratch, &has_b, &tb,
									 err_func);
				}
				if (st != CD_SCORE_OK)
					return st;
				if (has_a || has_b)
				{
					double		tf_u = !has_a ? tb : !has_b ? ta : pg_greatest(ta, tb);

					tf_u = pg_least(pg_greatest(tf_u, 1e-7), 0.5);
					/*
					 * email (0.2.0): a common mailbox name (info, ivanov) at two addresses
					 * weakens the level; a rare one does not strengthen it.  phone (0.2.0):
					 * the same for a number other rows hold too (a switchboard)
					 */
					if ((f->role != CD_ROLE_EMAIL && f->role != CD_ROLE_PHONE)
						|| pg_greatest(l->u, tf_u) != l->u)
					{
						fs->u = tf_u;
						fs->tf_used = true;
					}

					/*
					 * company (0.2.0): a lower level with term frequencies reached by
					 * two spellings of one name mistyped counts at the top level (its m;
					 * u stays the term frequency, so a common name stays weak evidence):
					 * when both sides are as rare as a name no other row holds (a typo or
					 * a word cut short: asml netherland / asml netherlands, akzo novel /
					 * akzo nobel, schlumberger tech / schlumberger technology: no other
					 * company holds a name like it), or whatever their frequency when the
					 * names are the same words but for one typo (similarity at least
					 * CD_COMPANY_TYPO_SIM, a company word's typo cap: koninklijke philips
					 * electronic / koninklijke philips electronics).  The m of a lower
					 * level is small where most duplicates are exact copies, which kept
					 * such pairs below the threshold whatever the evidence of the name.
					 * Not for rarity when one name is the other with slips or a place
					 * (words_contained): both names spelt wrong leave the pair rare
					 * whatever frequency its spellings are given, which weighed it above
					 * the exact containment it stands for; company_contained weighs such
					 * a pair as that containment.
					 */
					if (f->role == CD_ROLE_COMPANY && j > 0 && has_a && has_b &&
						f->levels[0].name != NULL && f->levels[0].tf &&
						((pg_greatest(ta, tb) <= unknown && !(keys->contained && keys->corrected)) ||
						 best >= CD_COMPANY_TYPO_SIM))
					{
						fs->level = 0;
						fs->m = f->levels[0].m;
						fs->u = tf_u;
						fs->tf_used = true;
					}
				}
			}
		}
	}
	st = company_contained(p, fi, &va->v[fs->best_a], &vb->v[fs->best_b], fn, ctx, scratch, keys, fs, &named,
						   err_func);
	if (st != CD_SCORE_OK)
		return st;
	if (!named)
	{
		fs->level = CD_LEVEL_DIFFERENT;
		fs->m = 1 - sum_m;
		fs->u = 1 - sum_u;
		fs->tf_used = false;
	}
	fs->level_name = named ? f->levels[fs->level].name : "different";
	fs->weight = f->weight * log(fs->m / fs->u) / ln2();
	return CD_SCORE_OK;
}

static CdScoreStatus
score_field(const CdScoreProfile *p, int fi, const CdValues *va, const CdValues *vb,
			CdTermFreqFn fn, void *ctx, SideKeys *ka, SideKeys *kb, CdBuf *scratch,
			CdPhoneSide *pa, const CdAllocator *al, CdFieldScore *fs, const char **err_func)
{
	PairKeys	keys;
	CdScoreStatus st;

	pair_keys_init(&keys, al);
	st = score_field_keys(p, fi, va, vb, fn, ctx, ka, kb, scratch, &keys, pa, al, fs, err_func);
	pair_keys_free(&keys);
	return st;
}

/* best similarity of a field, 0 when a side is missing */
static double
field_sim(const CdFieldScore *fs)
{
	return fs->level == CD_LEVEL_MISSING ? 0 : fs->similarity;
}

/*
 * First and last names typed in each other's columns (a CRM form filled in the wrong
 * order, an import that swapped columns, a name written family-name first): compare
 * them crosswise too and keep the reading whose best similarities sum higher.  Only
 * for a profile with exactly one first_name and one last_name field.
 */
static CdScoreStatus
swapped_names(const CdScoreProfile *p, const CdValues *a, const CdValues *b,
			  CdTermFreqFn fn, void *ctx, SideKeys *ka, SideKeys *kb, CdBuf *scratch,
			  const CdAllocator *al, CdRecordScore *out)
{
	int			ff = -1;
	int			lf = -1;
	int			nfirst = 0;
	int			nlast = 0;
	CdFieldScore cf;
	CdFieldScore cl;
	const char *err_func = NULL;
	CdScoreStatus st;

	for (int i = 0; i < p->nfields; i++)
	{
		if (p->fields[i].role == CD_ROLE_FIRST_NAME)
		{
			ff = i;
			nfirst++;
		}
		else if (p->fields[i].role == CD_ROLE_LAST_NAME)
		{
			lf = i;
			nlast++;
		}
	}
	if (nfirst != 1 || nlast != 1)
		return CD_SCORE_OK;
	/* nothing to gain when neither a's names nor b's could change places */
	if ((a[ff].n <= 0 && a[lf].n <= 0) || (b[ff].n <= 0 && b[lf].n <= 0))
		return CD_SCORE_OK;
	st = score_field(p, ff, &a[ff], &b[lf], fn, ctx, ka, kb, scratch, NULL, al, &cf, &err_func);
	if (st == CD_SCORE_OK)
		st = score_field(p, lf, &a[lf], &b[ff], fn, ctx, ka, kb, scratch, NULL, al, &cl, &err_func);
	if (st != CD_SCORE_OK)
	{
		out->err_field = ff;
		out->err_func = err_func;
		return st;
	}
	if (field_sim(&cf) + field_sim(&cl) > field_sim(&out->fields[ff]) + field_sim(&out->fields[lf]))
	{
		cf.b_field = lf;
		cl.b_field = ff;
		out->fields[ff] = cf;
		out->fields[lf] = cl;
	}
	return CD_SCORE_OK;
}

static bool
role_is_name(CdRole role)
{
	return role == CD_ROLE_PERSON_NAME || role == CD_ROLE_FIRST_NAME
		|| role == CD_ROLE_LAST_NAME || role == CD_ROLE_MIDDLE_NAME;
}

/*
 * The consonant skeleton of the letters a-z of s[0..len) appended to out (the other bytes
 * are dropped), so that transliteration variants meet (Fyodorov / Fedorov, Zaharova /
 * Zakharova, Gennady / Gennadii, Mueller / Muller, Aleksandr / Alexander): "kh" counts as
 * "h", "x" as "ks", "w" as "v", then the letters a, e, i, o, u, y, h and j are dropped.
 * Returns the length appended; out has room for 2 * len bytes.
 */
static size_t
skeleton(const char *s, size_t len, char *out)
{
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c < 'a' || c > 'z')
			continue;
		if (c == 'k')
		{
			/* "kh" reads as "h" among the letters a-z, whatever stands between them */
			size_t		j = i + 1;

			while (j < len && (s[j] < 'a' || s[j] > 'z'))
				j++;
			if (j < len && s[j] == 'h')
				continue;
		}
		if (c == 'x')
		{
			out[n++] = 'k';
			out[n++] = 's';
		}
		else if (c == 'w')
			out[n++] = 'v';
		else if (strchr("aeiouyhj", c) == NULL)
			out[n++] = c;
	}
	return n;
}

/* the letters a-z of s[0..len), into out (room for len bytes); returns their number */
static size_t
letters_az(const char *s, size_t len, char *out)
{
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			out[n++] = s[i];
	return n;
}

/*
 * The local part (before the last @) and the domain of the email key of v, as offsets
 * into k; false when v is not an address.
 */
static bool
key_parts(const CdStr *v, char k[CD_EMAIL_MAX], size_t *local_len, size_t *dom_start,
		  size_t *dom_len)
{
	size_t		kl = 0;
	size_t		at;

	if (v->len > CD_EMAIL_MAX_RAW || cd_email_key(v->ptr, v->len, k, &kl) != CD_EMAIL_OK)
		return false;
	at = kl;
	while (at > 0 && k[at - 1] != '@')
		at--;
	if (at == 0)
		return false;
	*local_len = at - 1;
	*dom_start = at;
	*dom_len = kl - at;
	return true;
}

/*
 * The skeleton of the local part of the email key of v (at most 2 * CD_EMAIL_MAX bytes);
 * false when v is not an address.
 */
static bool
mailbox_skeleton(const CdStr *v, char *out, size_t *outlen)
{
	char		k[CD_EMAIL_MAX];
	size_t		local_len;
	size_t		dom_start;
	size_t		dom_len;

	*outlen = 0;
	if (!key_parts(v, k, &local_len, &dom_start, &dom_len))
		return false;
	*outlen = skeleton(k, local_len, out);
	return true;
}

/*
 * Whether l[0..n) (a skeleton) is a nonempty concatenation of the space-separated
 * nonempty tokens of "tokens".
 */
static bool
made_of_tokens(const char *l, size_t n, const CdBuf *tokens)
{
	bool		reach[2 * CD_EMAIL_MAX + 1];

	if (n == 0 || n > 2 * CD_EMAIL_MAX)
		return false;
	memset(reach, 0, sizeof(bool) * (n + 1));
	reach[0] = true;
	for (size_t pos = 0; pos < n; pos++)
	{
		size_t		s = 0;

		if (!reach[pos])
			continue;
		for (size_t i = 0; i <= tokens->len; i++)
		{
			if (i == tokens->len || tokens->data[i] == ' ')
			{
				size_t		tl = i - s;

				if (tl > 0 && tl <= n - pos && memcmp(l + pos, tokens->data + s, tl) == 0)
					reach[pos + tl] = true;
				s = i + 1;
			}
		}
	}
	return reach[n];
}

/*
 * Append to tokens, each followed by a space, the skeletons of the words of key (a
 * cd_person_key: space-separated) made of letters a-z only, and of their first letters
 * (empty skeletons left out); the first letters themselves to initials.
 */
static bool
name_tokens(const char *key, size_t len, CdBuf *tokens, CdBuf *initials)
{
	size_t		s = 0;
	char		tok[2];

	for (size_t i = 0; i <= len; i++)
	{
		if (i == len || key[i] == ' ')
		{
			bool		letters = i > s;
			size_t		tl;

			for (size_t j = s; j < i && letters; j++)
				letters = key[j] >= 'a' && key[j] <= 'z';
			if (letters)
			{
				tl = skeleton(key + s, 1, tok);
				if (tl > 0 && (!cd_buf_append(tokens, tok, tl) || !cd_buf_append_byte(tokens, ' ')))
					return false;
				if (!cd_buf_append(initials, key + s, 1) || !cd_buf_append_byte(initials, ' '))
					return false;
				if (!cd_buf_reserve(tokens, 2 * (i - s) + 1))
					return false;
				tl = skeleton(key + s, i - s, tokens->data + tokens->len);
				tokens->len += tl;
				tokens->data[tokens->len] = '\0';
				if (tl > 0 && !cd_buf_append_byte(tokens, ' '))
					return false;
			}
			s = i + 1;
		}
	}
	return true;
}

/*
 * Whether the mailbox name of v is made of the name tokens, and not of the initials
 * alone (jt, ms: too short to say whose they are)
 */
static bool
named_after(const CdStr *v, const CdBuf *tokens, const CdBuf *initials)
{
	char		l[2 * CD_EMAIL_MAX];
	size_t		ll;
	char		k[CD_EMAIL_MAX];
	size_t		kl,
				ds,
				dl;

	if (!mailbox_skeleton(v, l, &ll) || !made_of_tokens(l, ll, tokens))
		return false;
	/* the letters of the mailbox name, not skeletons, against the first letters */
	if (!key_parts(v, k, &kl, &ds, &dl))
		return false;
	ll = letters_az(k, kl, l);
	return !made_of_tokens(l, ll, initials);
}

/*
 * Whether x and y are two mailboxes a namesake could hold: at domains of the email keys
 * more than two edits apart (OSA: two providers, not one domain with a typo), or at the
 * same domain with the same letters a-z in the local parts (ivan.petrov / ivan_petrov85:
 * another mailbox, not a typo)
 */
static CdScoreStatus
two_mailboxes(const CdStr *x, const CdStr *y, const CdAllocator *al, bool *two)
{
	char		kx[CD_EMAIL_MAX];
	char		ky[CD_EMAIL_MAX];
	size_t		lx,
				ly,
				dsx,
				dsy,
				dlx,
				dly;
	int			d = 0;
	CdSimStatus st;

	*two = false;
	if (!key_parts(x, kx, &lx, &dsx, &dlx) || !key_parts(y, ky, &ly, &dsy, &dly))
		return CD_SCORE_OK;
	st = cd_levenshtein(kx + dsx, dlx, ky + dsy, dly, 2, al, &d);
	if (st != CD_SIM_OK)
		return from_sim_status(st);
	if (d > 2)
		*two = true;
	else if (d == 0)
	{
		char		ax[CD_EMAIL_MAX];
		char		ay[CD_EMAIL_MAX];
		size_t		nx = letters_az(kx, lx, ax);
		size_t		ny = letters_az(ky, ly, ay);

		*two = same_bytes(ax, nx, ay, ny);
	}
	return CD_SCORE_OK;
}

/* the tokens of every name value of both records, into tokens */
static CdScoreStatus
record_name_tokens(const CdScoreProfile *p, const CdValues *a, const CdValues *b,
				   CdBuf *tokens, CdBuf *initials, CdRecordScore *out)
{
	CdBuf		key;

	cd_buf_reset(tokens);
	cd_buf_reset(initials);
	cd_buf_init(&key, tokens->alloc);
	for (int i = 0; i < p->nfields; i++)
	{
		if (!role_is_name(p->fields[i].role))
			continue;
		for (int side = 0; side < 2; side++)
		{
			const CdValues *vs = side == 0 ? &a[i] : &b[i];

			for (int j = 0; j < vs->n; j++)
			{
				const char *err_func = NULL;
				CdScoreStatus st;

				cd_buf_reset(&key);
				st = text_key(cd_person_key, "person_key", vs->v[j].ptr, vs->v[j].len, &key, &err_func);
				if (st == CD_SCORE_OK && !name_tokens(key.data, key.len, tokens, initials))
					st = CD_SCORE_NOMEM;
				if (st != CD_SCORE_OK)
				{
					cd_buf_free(&key);
					out->err_field = i;
					out->err_func = err_func;
					return st;
				}
			}
		}
	}
	cd_buf_free(&key);
	return CD_SCORE_OK;
}

/*
 * Mailboxes named after the person (see record_score.h): an email field whose names of
 * mailboxes are made of the records' names adds nothing once a name field agreed.  Some
 * pair of values with the best similarity must have both names made of the names: any
 * of the tied pairs, so that the order of a and b does not matter.
 */
#define NAMED_LOCAL 16			/* values of b whose named_after is kept on the stack */

static CdScoreStatus
mailbox_names(const CdScoreProfile *p, const CdValues *a, const CdValues *b, CdBuf *tokens,
			  const CdAllocator *al, CdRecordScore *out)
{
	int			agreed = -1;
	bool		have_tokens = false;
	CdBuf		initials;
	CdScoreStatus st = CD_SCORE_OK;
	int8_t		bn_local[NAMED_LOCAL];
	int8_t	   *bn;

	for (int i = 0; i < p->nfields && agreed < 0; i++)
		if (role_is_name(p->fields[i].role) && out->fields[i].level != CD_LEVEL_MISSING
			&& out->fields[i].weight > 0)
			agreed = i;
	if (agreed < 0)
		return CD_SCORE_OK;
	cd_buf_init(&initials, al);
	for (int fi = 0; fi < p->nfields && st == CD_SCORE_OK; fi++)
	{
		CdFieldScore *fs = &out->fields[fi];
		bool		hit = false;

		if (p->fields[fi].role != CD_ROLE_EMAIL || fs->level < 0 || !(fs->similarity < 1)
			|| !(fs->weight > 0))
			continue;
		if (!have_tokens)
		{
			st = record_name_tokens(p, a, b, tokens, &initials, out);
			if (st != CD_SCORE_OK)
				break;
			have_tokens = true;
		}
		/* b's named_after, computed once per value (0.2.0; was once per value pair) */
		bn = b[fi].n <= NAMED_LOCAL ? bn_local : al->alloc((size_t) b[fi].n, al->ctx);
		if (bn == NULL)
		{
			st = CD_SCORE_NOMEM;
			out->err_field = fi;
			break;
		}
		memset(bn, -1, (size_t) b[fi].n);
		for (int x = 0; x < a[fi].n && !hit && st == CD_SCORE_OK; x++)
		{
			if (!named_after(&a[fi].v[x], tokens, &initials))
				continue;
			for (int y = 0; y < b[fi].n && !hit; y++)
			{
				double		sim;
				const char *err_func = NULL;
				bool		two;

				if (bn[y] < 0)
					bn[y] = named_after(&b[fi].v[y], tokens, &initials) ? 1 : 0;
				if (!bn[y])
					continue;
				st = two_mailboxes(&a[fi].v[x], &b[fi].v[y], al, &two);
				if (st != CD_SCORE_OK)
				{
					out->err_field = fi;
					out->err_func = "levenshtein";
					break;
				}
				if (!two)
					continue;
				st = compare_raw(CD_ROLE_EMAIL, a[fi].v[x].ptr, a[fi].v[x].len, b[fi].v[y].ptr,
								 b[fi].v[y].len, p->fields[fi].region, al, &sim, &err_func);
				if (st != CD_SCORE_OK)
				{
					out->err_field = fi;
					out->err_func = err_func;
					break;
				}
				hit = sim == fs->similarity;
			}
		}
		if (bn != bn_local)
			al->release(bn, al->ctx);
		if (hit && st == CD_SCORE_OK)
		{
			fs->weight = 0;
			fs->explained_by = agreed;
		}
	}
	cd_buf_free(&initials);
	return st;
}

/* ---------------------------------------------------------------- one place, several entities */

/*
 * When some address field reached its top level, a field with a place_u at its top
 * level takes the larger of its u and place_u (see record_score.h).  Only lowers
 * weights, so cd_record_score_min's bound, taken in any pass, stays an upper bound.
 */
static void
same_place(const CdScoreProfile *p, CdRecordScore *out)
{
	int			addr = -1;

	if (p->place_u == NULL)
		return;
	for (int i = 0; i < p->nfields && addr < 0; i++)
		if (p->fields[i].role == CD_ROLE_ADDRESS && out->fields[i].level == 0)
			addr = i;
	if (addr < 0)
		return;
	for (int i = 0; i < p->nfields; i++)
	{
		CdFieldScore *fs = &out->fields[i];

		double		w;

		/*
		 * A field whose evidence another field already carries (explained_by) keeps its
		 * zero, and the weight may only fall: with a negative field weight the larger u
		 * would raise it, and the bound above would no longer hold.
		 */
		if (i == addr || !(p->place_u[i] > 0) || fs->level != 0 || fs->explained_by >= 0
			|| !(p->place_u[i] > fs->u))
			continue;
		w = p->fields[i].weight * log(fs->m / p->place_u[i]) / ln2();
		if (!(w < fs->weight))
			continue;
		fs->u = p->place_u[i];
		fs->weight = w;
		fs->same_place_as = addr;
	}
}

/* ---------------------------------------------------------------- a score's upper bound */

/*
 * Fields compared last when a caller only needs to know whether a pair reaches a score
 * (cd_record_score_min): names and companies, the costly comparators (transliteration,
 * word pairing).  Their errors depend on their values alone: longer than
 * CD_MATCH_MAX_BYTES, invalid UTF-8 (else only NOMEM and ICU failures), which
 * deferred_safe() rules out before a pair is given up without comparing them.
 */
static bool
role_deferred(CdRole role)
{
	return role_is_name(role) || role == CD_ROLE_COMPANY;
}

/* the first and last name fields may be compared crosswise (swapped_names) */
static bool
profile_swaps_names(const CdScoreProfile *p)
{
	int			nfirst = 0;
	int			nlast = 0;

	for (int i = 0; i < p->nfields; i++)
	{
		nfirst += p->fields[i].role == CD_ROLE_FIRST_NAME;
		nlast += p->fields[i].role == CD_ROLE_LAST_NAME;
	}
	return nfirst == 1 && nlast == 1;
}

static void
max_weight_at(const CdScoreField *f, double m, double u, double *best)
{
	double		w = f->weight * log(m / u) / ln2();

	*best = pg_greatest(*best, w);
}

/*
 * The largest weight score_field() can give field f when both sides have values: over
 * every level it may reach (a named level, with the u it may get from term frequencies,
 * or "different"), the weight at each end of u's range (the weight is monotonic in u).
 * The same expression as score_field's at the same m and u: an attainable weight.
 * Levels whose min is above sim_max are left out: the caller knows the pair's best
 * similarity cannot reach them (INFINITY: every level).
 */
static double
field_max_weight(const CdScoreProfile *p, const CdScoreField *f, double sim_max)
{
	double		sum_m = 0;
	double		sum_u = 0;
	double		best = -INFINITY;

	for (int j = 0; j < f->nlevels; j++)
	{
		const CdScoreLevel *l = &f->levels[j];

		sum_m = sum_m + l->m;
		sum_u = sum_u + l->u;
		if (l->name == NULL)
			continue;			/* its m and u are overwritten or "different" follows */
		/* a level above the best similarity the pair can have is not reached */
		if (!(l->min <= sim_max))
			continue;
		max_weight_at(f, l->m, l->u, &best);
		if (l->tf && p->analyzed_rows > 0)
		{
			/* tf_u is clamped to [1e-7, 0.5]; email and phone take it only above the level's u */
			if (f->role != CD_ROLE_EMAIL && f->role != CD_ROLE_PHONE)
				max_weight_at(f, l->m, 1e-7, &best);
			max_weight_at(f, l->m, 0.5, &best);
		}
	}
	max_weight_at(f, 1 - sum_m, 1 - sum_u, &best);
	return best;
}

/*
 * What cd_record_score_min computes of record a alone, kept for many pairs: whether each
 * field's values may make a deferred comparison fail (deferred_safe), and each phone
 * value's check, digits and parse (cd_phone_side_init).
 */
struct CdScoreSide
{
	const CdValues *values;
	const CdScoreField *fields;	/* the profile's fields it was prepared for */
	int			nfields;
	bool	   *safe;
	CdPhoneSide **phones;		/* per field: a side per value of a phone field, else NULL */
	const CdAllocator *al;
};

/* can a deferred field's comparison fail on these values? (see role_deferred) */
static bool
deferred_safe(const CdValues *v)
{
	for (int i = 0; i < v->n; i++)
		if (v->v[i].len > CD_MATCH_MAX_BYTES || (v->v[i].len > 0 && !cd_utf8_valid(v->v[i].ptr, v->v[i].len)))
			return false;
	return true;
}

/*
 * Can the pair not reach min_score whatever the fields not compared yet give?  The
 * bound: the prior, the weights of the fields compared (an email weight can only drop
 * to 0 in mailbox_names, first and last names may be replaced crosswise: their largest
 * weight, or 0 for a side left missing), the largest weight of each field to compare
 * that has values on both sides.  A margin far above the rounding of the sum keeps it
 * an upper bound whatever the order of the additions.
 */
static bool
cannot_reach(const CdScoreProfile *p, const CdValues *a, const CdValues *b, const bool *done,
			 const double *maxw, bool swaps, double prior_weight, const CdRecordScore *out,
			 double min_score)
{
	double		total = prior_weight;
	double		mag = fabs(prior_weight);
	double		score;

	for (int i = 0; i < p->nfields; i++)
	{
		CdRole		role = p->fields[i].role;
		double		w;

		if (swaps && (role == CD_ROLE_FIRST_NAME || role == CD_ROLE_LAST_NAME))
			w = pg_greatest(maxw[i], 0);
		else if (done[i])
			w = out->fields[i].level == CD_LEVEL_MISSING ? 0 : out->fields[i].weight;
		else if (a[i].n <= 0 || b[i].n <= 0)
			w = 0;
		else
			w = maxw[i];
		if (!isfinite(w))
			return false;
		total = total + w;
		mag = mag + fabs(w);
	}
	total = total + 1e-9 * (1 + mag);
	score = 1.0 / (1.0 + pow(2.0, pg_least(pg_greatest(-total, -1000), 1000)));
	return score < min_score;
}

#define CD_BOUND_MAX_FIELDS 64

/*
 * Roles a pair may be given up before (cd_record_score_min): their comparisons fail on a
 * value's length or UTF-8 only (deferred_safe), so skipping them cannot hide an error.
 * Names and companies (role_deferred), then phones and emails: compared first among
 * them, each a bound check before it, so that a pair that cannot reach min_score after
 * its phone (a namesake with another number, and a threshold as high as a guard's best
 * match so far) is given up before its email is normalized.  The other roles (keys from
 * transliteration, token similarity) are always compared, before these.
 */
static bool
role_skippable(CdRole role)
{
	return role_deferred(role) || role == CD_ROLE_PHONE || role == CD_ROLE_EMAIL;
}

/* the pass a field is compared in when the pair may be given up: 0 first */
static int
field_pass(CdRole role)
{
	if (!role_skippable(role))
		return 0;
	if (role == CD_ROLE_PHONE)
		return 1;				/* digits: the cheapest comparator */
	if (role == CD_ROLE_EMAIL)
		return 2;				/* two keys and a normalization per side */
	return 3;					/* names and companies */
}

void
cd_score_profile_max_weights(const CdScoreProfile *p, double *out)
{
	for (int i = 0; i < p->nfields; i++)
		out[i] = field_max_weight(p, &p->fields[i], INFINITY);
}

double
cd_score_field_max_weight_below(const CdScoreProfile *p, int field, double sim_max)
{
	if (field < 0 || field >= p->nfields)
		return INFINITY;
	/* a company pair below the top level may count at the top one (score_field) */
	if (p->fields[field].role == CD_ROLE_COMPANY)
		sim_max = INFINITY;
	return field_max_weight(p, &p->fields[field], sim_max);
}

/*
 * cd_record_score, or with below != NULL, the same scores and errors but the fields
 * compared in field_pass() order, and a pair that cannot reach min_score given up before
 * a phone, email, name or company field.
 */
static CdScoreStatus
record_score(const CdScoreProfile *p, const CdValues *a, CdScoreSide *side, const CdValues *b,
			 CdTermFreqFn term_freq_fn, void *tf_ctx, const CdAllocator *al,
			 double min_score, bool *below, CdRecordScore *out)
{
	CdScoreStatus st = CD_SCORE_OK;
	SideKeys	ka;
	SideKeys	kb;
	CdBuf		scratch;
	double		total;
	int			bad;
	const char *reason;
	bool		bounded;
	bool		done[CD_BOUND_MAX_FIELDS];
	double		maxw_local[CD_BOUND_MAX_FIELDS];
	const double *maxw = NULL;
	bool		swaps = false;
	int			safe = -1;		/* skippable fields' values checked: -1 not yet */
	int			npasses;

	out->err_field = -1;
	out->err_func = NULL;
	if (below != NULL)
		*below = false;
	if (cd_score_profile_check(p, &bad, &reason) != CD_SCORE_OK)
	{
		out->err_field = bad;
		return CD_SCORE_BAD_PROFILE;
	}
	/* a score is at least 0: min_score <= 0 (or NaN) gives nothing up */
	bounded = below != NULL && min_score > 0 && p->nfields <= CD_BOUND_MAX_FIELDS;

	side_keys_init(&ka, al);
	side_keys_init(&kb, al);
	cd_buf_init(&scratch, al);

	out->prior_weight = log(p->prior / (1 - p->prior)) / ln2();
	total = out->prior_weight;
	if (bounded)
	{
		swaps = profile_swaps_names(p);
		for (int i = 0; i < p->nfields; i++)
			done[i] = false;
	}
	/* unbounded: the profile's order in one pass */
	npasses = bounded ? 4 : 1;
	for (int pass = 0; pass < npasses && st == CD_SCORE_OK; pass++)
	{
		for (int i = 0; i < p->nfields; i++)
		{
			const char *err_func = NULL;

			if (bounded && field_pass(p->fields[i].role) != pass)
				continue;
			/* before a skippable field: can the pair still reach min_score? */
			if (bounded && pass > 0 && a[i].n > 0 && b[i].n > 0)
			{
				if (maxw == NULL)
				{
					if (p->max_weights != NULL)
						maxw = p->max_weights;
					else
					{
						cd_score_profile_max_weights(p, maxw_local);
						maxw = maxw_local;
					}
				}
				if (cannot_reach(p, a, b, done, maxw, swaps, out->prior_weight, out, min_score))
				{
					/*
					 * each value of a field not compared yet; a field compared with values
					 * on both sides has checked each of them already (a field with a side
					 * missing has not, and crosswise names and mailboxes read its values)
					 */
					if (safe < 0)
					{
						safe = 1;
						for (int j = 0; j < p->nfields && safe; j++)
							if (role_skippable(p->fields[j].role)
								&& !(done[j] && a[j].n > 0 && b[j].n > 0))
								safe = (side ? side->safe[j] : deferred_safe(&a[j]))
									&& deferred_safe(&b[j]);
					}
					if (safe)
					{
						*below = true;
						break;
					}
				}
			}
			st = score_field(p, i, &a[i], &b[i], term_freq_fn, tf_ctx, &ka, &kb, &scratch,
							 side ? side->phones[i] : NULL, al, &out->fields[i], &err_func);
			if (st != CD_SCORE_OK)
			{
				/* the error of the first field in the profile's order, as unbounded */
				for (int j = 0; bounded && j < i; j++)
				{
					const char *jerr = NULL;
					CdScoreStatus jst;

					if (done[j])
						continue;
					jst = score_field(p, j, &a[j], &b[j], term_freq_fn, tf_ctx, &ka, &kb, &scratch,
									  side ? side->phones[j] : NULL, al, &out->fields[j], &jerr);
					if (jst != CD_SCORE_OK)
					{
						st = jst;
						i = j;
						err_func = jerr;
						break;
					}
					done[j] = true;
				}
				out->err_field = i;
				out->err_func = err_func;
				break;
			}
			if (bounded)
				done[i] = true;
		}
		if (below != NULL && *below)
			break;
	}
	if (st == CD_SCORE_OK && below != NULL && *below)
	{
		side_keys_free(&ka);
		side_keys_free(&kb);
		cd_buf_free(&scratch);
		return CD_SCORE_OK;
	}
	if (st == CD_SCORE_OK)
		st = swapped_names(p, a, b, term_freq_fn, tf_ctx, &ka, &kb, &scratch, al, out);
	if (st == CD_SCORE_OK)
		st = mailbox_names(p, a, b, &scratch, al, out);
	if (st == CD_SCORE_OK)
		same_place(p, out);
	for (int i = 0; st == CD_SCORE_OK && i < p->nfields; i++)
		if (out->fields[i].level != CD_LEVEL_MISSING)
			total = total + out->fields[i].weight;
	side_keys_free(&ka);
	side_keys_free(&kb);
	cd_buf_free(&scratch);
	if (st != CD_SCORE_OK)
		return st;

	out->total_weight = total;
	out->score = 1.0 / (1.0 + pow(2.0, pg_least(pg_greatest(-total, -1000), 1000)));
	if (out->score >= p->same)
		out->decision = CD_DECISION_SAME;
	else if (out->score >= p->maybe)
		out->decision = CD_DECISION_MAYBE;
	else
		out->decision = CD_DECISION_DISTINCT;
	return CD_SCORE_OK;
}

CdScoreStatus
cd_record_score(const CdScoreProfile *p, const CdValues *a, const CdValues *b,
				CdTermFreqFn term_freq_fn, void *tf_ctx, const CdAllocator *al,
				CdRecordScore *out)
{
	return record_score(p, a, NULL, b, term_freq_fn, tf_ctx, al, 0, NULL, out);
}

CdScoreStatus
cd_record_score_min(const CdScoreProfile *p, const CdValues *a, const CdValues *b,
					CdTermFreqFn term_freq_fn, void *tf_ctx, const CdAllocator *al,
					double min_score, bool *below, CdRecordScore *out)
{
	return record_score(p, a, NULL, b, term_freq_fn, tf_ctx, al, min_score, below, out);
}

CdScoreSide *
cd_score_side_create(const CdScoreProfile *p, const CdValues *a, const CdAllocator *al)
{
	CdScoreSide *side;
	int			nf = p->nfields > 0 ? p->nfields : 0;
	int			nphones = 0;
	CdPhoneSide *next;

	for (int i = 0; i < nf; i++)
		if (p->fields[i].role == CD_ROLE_PHONE && a[i].n > 0)
			nphones += a[i].n;
	side = al->alloc(sizeof(CdScoreSide), al->ctx);
	if (side == NULL)
		return NULL;
	side->values = a;
	side->fields = p->fields;
	side->nfields = nf;
	side->al = al;
	side->safe = al->alloc(sizeof(bool) * (size_t) (nf > 0 ? nf : 1), al->ctx);
	side->phones = al->alloc(sizeof(CdPhoneSide *) * (size_t) (nf > 0 ? nf : 1), al->ctx);
	next = nphones > 0 ? al->alloc(sizeof(CdPhoneSide) * (size_t) nphones, al->ctx) : NULL;
	if (side->safe == NULL || side->phones == NULL || (nphones > 0 && next == NULL))
	{
		if (side->safe != NULL)
			al->release(side->safe, al->ctx);
		if (side->phones != NULL)
			al->release(side->phones, al->ctx);
		if (next != NULL)
			al->release(next, al->ctx);
		al->release(side, al->ctx);
		return NULL;
	}
	for (int i = 0; i < nf; i++)
	{
		side->safe[i] = deferred_safe(&a[i]);
		side->phones[i] = NULL;
		if (p->fields[i].role == CD_ROLE_PHONE && a[i].n > 0)
		{
			side->phones[i] = next;
			for (int j = 0; j < a[i].n; j++)
				cd_phone_side_init(next++, a[i].v[j].ptr, a[i].v[j].len, p->fields[i].region, true);
		}
	}
	return side;
}

void
cd_score_side_free(CdScoreSide *side)
{
	const CdAllocator *al;
	CdPhoneSide *first = NULL;

	if (side == NULL)
		return;
	al = side->al;
	for (int i = 0; i < side->nfields && first == NULL; i++)
		first = side->phones[i];
	if (first != NULL)
		al->release(first, al->ctx);
	al->release(side->phones, al->ctx);
	al->release(side->safe, al->ctx);
	al->release(side, al->ctx);
}

CdScoreStatus
cd_record_score_min_side(const CdScoreProfile *p, CdScoreSide *a, const CdValues *b,
						 CdTermFreqFn term_freq_fn, void *tf_ctx, const CdAllocator *al,
						 double min_score, bool *below, CdRecordScore *out)
{
	/* a side prepared for other fields (another profile) is only its values */
	if (a->fields != p->fields || a->nfields != p->nfields)
		return record_score(p, a->values, NULL, b, term_freq_fn, tf_ctx, al, min_score, below, out);
	return record_score(p, a->values, a, b, term_freq_fn, tf_ctx, al, min_score, below, out);
}
