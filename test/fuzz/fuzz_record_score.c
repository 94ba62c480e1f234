/*
 * fuzz_record_score.c
 *		libFuzzer harness for record scoring (record_score.h): cd_record_score over
 *		profiles and values made from the input, and cd_record_score_min, which must
 *		agree with it.
 *
 * Input layout: byte 0 = number of fields (1 + b % 4); then 3 bytes per field: role
 * (% 14), level set (% 6, see LEVEL_SETS), weight; then one byte for analyzed_rows and
 * the term-frequency mode; the rest is split at 0x1F bytes into values, each value's
 * first byte choosing its field (low bits) and side (bit 4), at most 4 values per side.
 *
 * Beyond not crashing it checks: a known status; on success a score in [0,1], the
 * decision its thresholds give, the total weight as the prior weight plus the field
 * weights in order (bit for bit), missing exactly when a side has no value, the best
 * similarity and best pair equal to what cd_value_similarity finds (the first maximum
 * in a-major order), the level the SQL loop reaches (first named level whose min is
 * reached, else "different" with 1 - sum m and 1 - sum u), u within [1e-7, 0.5] when
 * term frequencies were used, finite weights, a field explained by a name field only
 * an email field with weight 0 below the same mailbox while that name field agreed; a
 * company pair promoted by containment only when the bound holds, and every contained pair
 * the bound and its weight would promote promoted;
 * with a and b swapped the same similarities
 * and levels, a company field of one value a side the same weight, and when not
 * analyzed (no term frequencies) the same total; on failure
 * the failing field named; and that a failing allocator gives NOMEM (or the same
 * result) and leaks nothing.  cd_record_score_min is run with the profile's largest
 * field weights computed per pair and cached in CdScoreProfile.max_weights (as the guard
 * and the report's scorer keep them): the same answers either way, and no field's
 * weight above its largest weight.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "company_places.h"
#include "name_match.h"
#include "record_score.h"

#include "fuzz_common.h"

#define MAX_FIELDS 4
#define MAX_VALUES 4

static const CdScoreLevel SET0[] = {
	{"same", 0.98, 0.7, 0.002, true}, {"similar", 0.9, 0.2, 0.005, true}, {"weak", 0.75, 0.06, 0.03, false}};
static const CdScoreLevel SET1[] = {{"same", 0.999, 0.8, 0.0005, false}, {"close", 0.8, 0.05, 0.0002, false}};
static const CdScoreLevel SET2[] = {
	{NULL, 0.99, 0.5, 0.01, true}, {"close", 0.85, 0.3, 0.02, true}, {NULL, 0.5, 0.1, 0.2, false}};
static const CdScoreLevel SET3[] = {{"any", 0.0, 0.5, 0.25, true}};
static const CdScoreLevel SET4[] = {{NULL, 0.5, 0.5, 0.25, true}};

static const struct
{
	const CdScoreLevel *levels;
	int			n;
}			LEVEL_SETS[6] = {{SET0, 3}, {SET1, 2}, {SET2, 3}, {SET3, 1}, {SET4, 1}, {NULL, 0}};

static double
tf_cb(void *ctx, int field, const char *term, size_t len)
{
	unsigned	h = 2166136261u ^ (unsigned) field;
	int			mode = *(int *) ctx;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) term[i]) * 16777619u;
	switch ((h >> 3) % (mode == 1 ? 4 : 8))
	{
		case 0:
			return -1;
		case 1:
			return 0.5;
		case 2:
			return 1.0 / (1 + h % 100000);
		case 3:
			return 0.01;
		case 4:
			return 0;			/* log(0): a side's product 0, clamped to 1e-7 */
		case 5:
			return 3.0;
		case 6:
			return NAN;
		default:
			return 1e-300;
	}
}

/*
 * the slip reading of the oracle: the ns words ws read into the nl words wl (ns <= nl <=
 * 64): exact words first, a word of wl untaken if there is one, else one taken (reused);
 * then each word left a slip (cd_company_word_slip with cut) of the first word of wl no
 * exact word and no earlier slip took; true when every word found one, at least one
 * exactly, at least one by a slip, none reused, the words in wl's order and wl at most
 * one word more
 */
static bool
oracle_slip_reading(char **ws, int ns, char **wl, int nl)
{
	bool		taken[64];
	int			at[64];
	int			nexact = 0;
	bool		reused = false;
	bool		ok;

	for (int j = 0; j < nl; j++)
		taken[j] = false;
	for (int i = 0; i < ns; i++)
	{
		at[i] = -1;
		for (int j = 0; j < nl && at[i] < 0; j++)
			if (!taken[j] && strcmp(ws[i], wl[j]) == 0)
			{
				at[i] = j;
				taken[j] = true;
			}
		for (int j = 0; j < nl && at[i] < 0; j++)
			if (strcmp(ws[i], wl[j]) == 0)
			{
				at[i] = j;
				reused = true;
			}
		nexact += at[i] >= 0;
	}
	ok = !reused && nl - ns <= 1 && nexact > 0 && nexact < ns;
	for (int i = 0; ok && i < ns; i++)
	{
		for (int j = 0; j < nl && at[i] < 0; j++)
		{
			bool		sl = false;

			if (taken[j])
				continue;
			if (cd_company_word_slip(ws[i], strlen(ws[i]), wl[j], strlen(wl[j]), true,
									 &cd_malloc_allocator, &sl) != CD_MATCH_OK)
				abort();		/* malloc failing here: not what this harness tests */
			if (sl)
			{
				at[i] = j;
				taken[j] = true;
			}
		}
		ok = at[i] >= 0 && (i == 0 || at[i] > at[i - 1]);
	}
	return ok;
}

/*
 * the words of ws and wl (ns <= nl of them) contained as record_score.c's
 * words_contained_as_written reads them: every word of the shorter a word of the longer,
 * which has more words; else with slips (*slips true, oracle_slip_reading) from the
 * shorter into the longer, up to 64 words; as many words only when each reads into the
 * other (the review's case: a word written twice on one side reads one way only)
 */
static bool
oracle_words_contained(char **ws, int ns, char **wl, int nl, bool *slips)
{
	bool		ok = ns > 0 && nl <= 4096;

	*slips = false;
	if (ok && ns < nl)
	{
		bool		all = true;

		for (int i = 0; all && i < ns; i++)
		{
			bool		found = false;

			for (int j = 0; j < nl && !found; j++)
				found = strcmp(ws[i], wl[j]) == 0;
			all = found;
		}
		if (all)
			return true;
	}
	ok = ok && nl <= 64 && oracle_slip_reading(ws, ns, wl, nl) && (ns < nl || oracle_slip_reading(wl, nl, ws, ns));
	*slips = ok;
	return ok;
}

/*
 * the number of the n words w that the longest listed place closing them takes (every
 * place of the table compared word by word with the last words), 0 when none does or
 * when it takes them all
 */
static int
oracle_place_words(char **w, int n)
{
	int			best = 0;

	for (int i = 0; i < cd_company_nplaces; i++)
	{
		char		buf[128];
		char	   *pw[16];
		int			k = 0;
		bool		same;

		snprintf(buf, sizeof(buf), "%s", cd_company_places[i].words);
		for (char *t = strtok(buf, " "); t != NULL && k < 16; t = strtok(NULL, " "))
			pw[k++] = t;
		if (k > n || k <= best)
			continue;
		same = true;
		for (int j = 0; same && j < k; j++)
			same = strcmp(pw[j], w[n - k + j]) == 0;
		if (same)
			best = k;
	}
	return best < n ? best : 0;
}

/*
 * the oracle of a company name contained in the other (record_score.c,
 * company_contained): the words of the two term keys (split with strtok from
 * NUL-terminated copies) contained (oracle_words_contained, the shorter into the
 * longer), or else, when exactly one name ends with a listed place
 * (company-places data), contained without that place; *slips true when contained
 * only with slips or without a place (the pair counts other names than written)
 */
static bool
oracle_contained(const CdStr *x, const CdStr *y, bool *slips)
{
	CdBuf		kx;
	CdBuf		ky;
	const char *ef;
	static char *wx[4096];
	static char *wy[4096];
	int			nx = 0;
	int			ny = 0;
	bool		ok;

	cd_buf_init(&kx, &cd_malloc_allocator);
	cd_buf_init(&ky, &cd_malloc_allocator);
	ok = cd_term_key(CD_ROLE_COMPANY, x->ptr, x->len, &kx, &ef) == CD_SCORE_OK
		&& cd_term_key(CD_ROLE_COMPANY, y->ptr, y->len, &ky, &ef) == CD_SCORE_OK
		&& cd_buf_append_byte(&kx, '\0') && cd_buf_append_byte(&ky, '\0');
	for (char *t = ok ? strtok(kx.data, " ") : NULL; t != NULL && nx < 4096; t = strtok(NULL, " "))
		wx[nx++] = t;
	for (char *t = ok ? strtok(ky.data, " ") : NULL; t != NULL && ny < 4096; t = strtok(NULL, " "))
		wy[ny++] = t;
	*slips = false;
	if (ok)
	{
		int			px;
		int			py;

		ok = nx <= ny ? oracle_words_contained(wx, nx, wy, ny, slips)
			: oracle_words_contained(wy, ny, wx, nx, slips);
		px = oracle_place_words(wx, nx);
		py = oracle_place_words(wy, ny);
		if (!ok && (px > 0) != (py > 0))
		{
			nx -= px;
			ny -= py;
			ok = nx <= ny ? oracle_words_contained(wx, nx, wy, ny, slips)
				: oracle_words_contained(wy, ny, wx, nx, slips);
			*slips = ok;
		}
	}
	cd_buf_free(&kx);
	cd_buf_free(&ky);
	return ok;
}

/* float8 greatest() and least() of PostgreSQL, as the scorer takes them: NaN above every number */
static double
o_greatest(double x, double y)
{
	return isnan(x) ? x : isnan(y) ? y : x >= y ? x : y;
}

static double
o_least(double x, double y)
{
	return isnan(x) ? y : isnan(y) ? x : x <= y ? x : y;
}

/*
 * The oracle of a company value's term frequency for a pair whose names are not the same
 * key (a contained pair): the product of its words' frequencies as exp(sum(log)), an unknown
 * word counting unknown, and for a key of several words the larger of that and the whole
 * key's frequency; *has false for an empty key
 */
static double
oracle_company_freq(const CdStr *v, CdTermFreqFn fn, void *ctx, int field, double unknown, bool *has)
{
	CdBuf		k;
	const char *ef;
	double		sum = 0;
	double		out = 0;
	size_t		s = 0;
	bool		first = true;

	*has = false;
	cd_buf_init(&k, &cd_malloc_allocator);
	if (cd_term_key(CD_ROLE_COMPANY, v->ptr, v->len, &k, &ef) == CD_SCORE_OK && !k.failed && k.len > 0)
	{
		for (size_t i = 0; i <= k.len; i++)
		{
			if (i == k.len || k.data[i] == ' ')
			{
				double		f = fn != NULL ? fn(ctx, field, k.data + s, i - s) : -1;
				double		l = log(f < 0 ? unknown : f);

				sum = first ? l : sum + l;
				first = false;
				s = i + 1;
			}
		}
		out = exp(sum);
		if (memchr(k.data, ' ', k.len) != NULL)
		{
			double		w = fn != NULL ? fn(ctx, field, k.data, k.len) : -1;

			out = o_greatest(out, w < 0 ? unknown : w);
		}
		*has = true;
	}
	cd_buf_free(&k);
	return out;
}

static void
check_result(const CdScoreProfile *p, const CdValues *a, const CdValues *b, CdScoreStatus st,
			 const CdRecordScore *rs, CdTermFreqFn fn, void *ctx)
{
	double		total;

	CHECK(st >= CD_SCORE_OK && st <= CD_SCORE_BAD_PROFILE);
	if (st != CD_SCORE_OK)
	{
		CHECK(st != CD_SCORE_BAD_PROFILE);
		CHECK(rs->err_field >= 0 && rs->err_field < p->nfields);
		if (st != CD_SCORE_NOMEM)
			CHECK(rs->err_func != NULL);
		return;
	}
	CHECK(rs->err_field == -1 && rs->err_func == NULL);
	CHECK(rs->score >= 0 && rs->score <= 1);
	CHECK(rs->decision == (rs->score >= p->same ? CD_DECISION_SAME
						   : rs->score >= p->maybe ? CD_DECISION_MAYBE : CD_DECISION_DISTINCT));
	total = rs->prior_weight;
	for (int i = 0; i < p->nfields; i++)
	{
		const CdScoreField *f = &p->fields[i];
		const CdFieldScore *fs = &rs->fields[i];
		double		best = -1;
		int			bi = -1;
		int			bj = -1;
		int			want = CD_LEVEL_DIFFERENT;
		double		sum_m = 0;
		double		sum_u = 0;
		bool		slips = false;

		const CdValues *bv;

		/*
		 * b's values come from the field the scorer compared: the same one, or for a
		 * profile with one first and one last name, possibly the other (swapped names)
		 */
		CHECK(fs->b_field >= 0 && fs->b_field < p->nfields);
		if (fs->b_field != i)
			CHECK((f->role == CD_ROLE_FIRST_NAME && p->fields[fs->b_field].role == CD_ROLE_LAST_NAME) ||
				  (f->role == CD_ROLE_LAST_NAME && p->fields[fs->b_field].role == CD_ROLE_FIRST_NAME));
		bv = &b[fs->b_field];
		if (a[i].n == 0 || bv->n == 0)
		{
			CHECK(fs->level == CD_LEVEL_MISSING && fs->weight == 0 && fs->best_a == -1);
			CHECK(strcmp(fs->level_name, "missing") == 0);
			continue;
		}
		for (int x = 0; x < a[i].n; x++)
			for (int y = 0; y < bv->n; y++)
			{
				double		s;
				const char *ef;

				CHECK(cd_value_similarity(f->role, a[i].v[x].ptr, a[i].v[x].len, bv->v[y].ptr,
										  bv->v[y].len, f->region, &cd_malloc_allocator, &s, &ef)
					  == CD_SCORE_OK);
				CHECK(s >= 0 && s <= 1);
				if (s > best)
				{
					best = s;
					bi = x;
					bj = y;
				}
			}
		CHECK(fs->similarity == best && fs->best_a == bi && fs->best_b == bj);
		for (int j = 0; j < f->nlevels; j++)
		{
			sum_m = sum_m + f->levels[j].m;
			sum_u = sum_u + f->levels[j].u;
			if (want == CD_LEVEL_DIFFERENT && f->levels[j].name != NULL && best >= f->levels[j].min)
				want = j;
		}
		/*
		 * or a company pair promoted from a named lower level with term frequencies to the
		 * top one (record_score.c, score_field: both names rare, or one typo apart), or
		 * from any level below the top one when one name's words are all words of the
		 * other (company_contained)
		 */
		if (fs->level != want)
		{
			CHECK(f->role == CD_ROLE_COMPANY && want != 0 && fs->level == 0
				  && f->levels[0].name != NULL && f->levels[0].tf
				  && p->analyzed_rows > 0 && fs->tf_used);
			CHECK((want > 0 && want < f->nlevels && f->levels[want].name != NULL && f->levels[want].tf)
				  || oracle_contained(&a[i].v[bi], &bv->v[bj], &slips));
			/* promoted only by containment: the top level with its u weighs at least level 1 */
			if (!(want > 0 && want < f->nlevels && f->levels[want].name != NULL && f->levels[want].tf))
				CHECK(f->nlevels >= 2 && f->levels[0].m * f->levels[1].u >= f->levels[1].m * fs->u);
			want = 0;
		}

		/*
		 * and the reverse: a company pair not at the top level whose names are contained
		 * one in the other was not promoted because the bound failed (the top level with
		 * the pair's u, the larger of the two names' frequencies clamped to [1e-7, 0.5],
		 * weighs less than level 1: m0 u1 < m1 u) or because that weight is not above the
		 * level reached (its m and u as scored)
		 */
		if (f->role == CD_ROLE_COMPANY && fs->level != 0 && f->nlevels >= 2 && f->levels[0].name != NULL
			&& f->levels[0].tf && p->analyzed_rows > 0 && oracle_contained(&a[i].v[bi], &bv->v[bj], &slips)
			&& !slips)
		{
			double		unknown = p->unknown_freq > 0 ? p->unknown_freq : 1.0 / (double) p->analyzed_rows;
			bool		has_a;
			bool		has_b;
			double		ta = oracle_company_freq(&a[i].v[bi], fn, ctx, i, unknown, &has_a);
			double		tb = oracle_company_freq(&bv->v[bj], fn, ctx, i, unknown, &has_b);
			double		tu = o_least(o_greatest(o_greatest(ta, tb), 1e-7), 0.5);

			CHECK(has_a && has_b);
			CHECK(f->levels[0].m * f->levels[1].u < f->levels[1].m * tu
				  || f->levels[0].m / tu <= fs->m / fs->u);
		}
		if (want == CD_LEVEL_DIFFERENT)
		{
			CHECK(strcmp(fs->level_name, "different") == 0);
			CHECK(fs->m == 1 - sum_m && fs->u == 1 - sum_u && !fs->tf_used);
		}
		else
		{
			CHECK(fs->level_name == f->levels[want].name);
			CHECK(fs->m == f->levels[want].m);
			if (fs->same_place_as >= 0)
			{
				/* one place, several entities: an address field at its top level, u its place_u */
				CHECK(want == 0 && p->place_u != NULL && fs->u == p->place_u[i]);
				CHECK(p->fields[fs->same_place_as].role == CD_ROLE_ADDRESS
					  && rs->fields[fs->same_place_as].level == 0);
			}
			else if (fs->tf_used)
				CHECK(f->levels[want].tf && p->analyzed_rows > 0 && fs->u >= 1e-7 && fs->u <= 0.5);
			else
				CHECK(fs->u == f->levels[want].u);
		}
		CHECK(isfinite(fs->weight));
		/*
		 * a mailbox named after the person: an email field below the same mailbox, at a
		 * level, weight 0, explained by a name field that gave positive evidence
		 */
		if (fs->explained_by != -1)
		{
			const CdScoreField *nfld;

			CHECK(fs->explained_by >= 0 && fs->explained_by < p->nfields);
			nfld = &p->fields[fs->explained_by];
			CHECK(f->role == CD_ROLE_EMAIL && fs->level >= 0 && fs->similarity < 1 && fs->weight == 0);
			CHECK(nfld->role == CD_ROLE_PERSON_NAME || nfld->role == CD_ROLE_FIRST_NAME
				  || nfld->role == CD_ROLE_LAST_NAME || nfld->role == CD_ROLE_MIDDLE_NAME);
			CHECK(rs->fields[fs->explained_by].weight > 0);
		}
		total = total + fs->weight;
	}
	CHECK(total == rs->total_weight);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CdScoreField fields[MAX_FIELDS];
	CdScoreProfile p;
	double		place_u[MAX_FIELDS];
	CdStr		store[MAX_FIELDS][2][MAX_VALUES];
	CdValues	va[MAX_FIELDS];
	CdValues	vb[MAX_FIELDS];
	CdFieldScore fs1[MAX_FIELDS];
	CdFieldScore fs2[MAX_FIELDS];
	CdRecordScore r1 = {.fields = fs1};
	CdRecordScore r2 = {.fields = fs2};
	CdFieldScore fs3[MAX_FIELDS];
	CdRecordScore r3 = {.fields = fs3};
	double		maxw[MAX_FIELDS];
	CdScoreStatus st;
	int			tf_mode;
	size_t		pos;
	size_t		start;
	int			nf;
	static const char *const regions[] = {"RU", "US", "ZZ", "CN"};

	if (size < 1)
		return 0;
	nf = 1 + data[0] % MAX_FIELDS;
	if (size < 2 + 3 * (size_t) nf)
		return 0;
	for (int i = 0; i < nf; i++)
	{
		const uint8_t *d = data + 1 + 3 * i;

		fields[i].role = (CdRole) (d[0] % CD_ROLE_COUNT);
		fields[i].levels = LEVEL_SETS[d[1] % 6].levels;
		fields[i].nlevels = LEVEL_SETS[d[1] % 6].n;
		fields[i].weight = 0.25 + d[2] / 32.0;
		fields[i].region = regions[(d[1] / 6) % 4];
		va[i].v = store[i][0];
		va[i].n = 0;
		vb[i].v = store[i][1];
		vb[i].n = 0;
	}
	memset(&p, 0, sizeof(p));
	p.fields = fields;
	p.nfields = nf;
	p.prior = 0.001;
	p.same = 0.9;
	p.maybe = 0.5;
	pos = 1 + 3 * (size_t) nf;
	p.analyzed_rows = (int64_t[]){0, 1, 1000, 1000000}[data[pos] % 4];
	tf_mode = (data[pos] / 4) % 3;	/* 0: no callback, 1: tame, 2: wild */
	if (data[pos] & 0x80)
		p.unknown_freq = 0.003;
	if (data[pos] & 0x40)
	{
		/* one place, several entities (0.2.0): a place_u for each field, 0 for some */
		for (int i = 0; i < nf; i++)
			place_u[i] = (i % 3 == 2) ? 0 : 0.3 + 0.1 * (i % 3);
		p.place_u = place_u;
	}
	pos++;

	/* values */
	start = pos;
	for (size_t i = pos; i <= size; i++)
	{
		if (i == size || data[i] == 0x1F)
		{
			if (i > start)
			{
				int			sel = data[start];
				int			fi = (sel & 0x0F) % nf;
				int			sd = (sel & 0x10) ? 1 : 0;
				CdValues   *side = sd ? &vb[fi] : &va[fi];

				if (side->n < MAX_VALUES)
				{
					store[fi][sd][side->n].ptr = (const char *) data + start + 1;
					store[fi][sd][side->n].len = i - start - 1;
					side->n++;
				}
			}
			start = i + 1;
		}
	}

	st = cd_record_score(&p, va, vb, tf_mode ? tf_cb : NULL, &tf_mode, &cd_malloc_allocator, &r1);
	check_result(&p, va, vb, st, &r1, tf_mode ? tf_cb : NULL, &tf_mode);

	/*
	 * a and b swapped: the same similarities and levels; the same total unless term
	 * frequencies are on (which of several tied pairs is best, and so u, may change)
	 */
	if (st == CD_SCORE_OK)
	{
		CdScoreStatus st2 = cd_record_score(&p, vb, va, tf_mode ? tf_cb : NULL, &tf_mode,
											&cd_malloc_allocator, &r2);
		bool		crosswise = false;

		CHECK(st2 == CD_SCORE_OK);
		for (int i = 0; i < nf; i++)
			crosswise |= fs1[i].b_field != i || fs2[i].b_field != i;
		/*
		 * Known asymmetry: when first and last names are read crosswise, the first-name
		 * field gets a's first name against b's last name, and b's first name against
		 * a's last name with the records swapped; the similarities trade places.
		 */
		if (!crosswise)
		{
			for (int i = 0; i < nf; i++)
				CHECK(fs2[i].similarity == fs1[i].similarity && fs2[i].level == fs1[i].level);
			/*
			 * a company field with one value a side (no tied best pairs): the same m, u and
			 * weight, bit for bit, term frequencies or not (0.2.0 review: the slip test read
			 * names of as many words one way only)
			 */
			for (int i = 0; i < nf; i++)
				if (fields[i].role == CD_ROLE_COMPANY && va[i].n == 1 && vb[i].n == 1)
					CHECK(fs2[i].m == fs1[i].m && fs2[i].u == fs1[i].u && fs2[i].weight == fs1[i].weight
						  && fs2[i].tf_used == fs1[i].tf_used);
			if (p.analyzed_rows == 0)
			{
				CHECK(r2.total_weight == r1.total_weight && r2.score == r1.score);
				for (int i = 0; i < nf; i++)
					CHECK(fs2[i].explained_by == fs1[i].explained_by);
			}
		}
		else
		{
			/* both orders read the names crosswise, with the same pair of similarities */
			double		s1 = 0,
						s2 = 0;

			for (int i = 0; i < nf; i++)
			{
				CHECK((fs1[i].b_field != i) == (fs2[i].b_field != i));
				if (fs1[i].b_field != i)
				{
					s1 = s1 + fs1[i].similarity;
					s2 = s2 + fs2[i].similarity;
				}
				else
					CHECK(fs2[i].similarity == fs1[i].similarity && fs2[i].level == fs1[i].level);
			}
			CHECK(s1 == s2);
		}
	}

	/*
	 * the largest weights the bound uses (cd_score_profile_max_weights): each field's
	 * weight in a successful score is at most its bound (the scorer's own margin of
	 * rounding, cannot_reach's, allowed), and a weight reached is attainable
	 */
	cd_score_profile_max_weights(&p, maxw);
	if (st == CD_SCORE_OK)
		for (int i = 0; i < nf; i++)
			if (fs1[i].level != CD_LEVEL_MISSING && isfinite(maxw[i]))
				CHECK(fs1[i].weight <= maxw[i] + 1e-9 * (1 + fabs(maxw[i])));

	/*
	 * cd_record_score_min: the same status, error field and function; a pair given up
	 * scores below the threshold; any other gets the same score, bit for bit.  Each
	 * threshold twice: the bound's largest weights computed per pair (max_weights NULL)
	 * and kept in the profile as a caller scoring many pairs keeps them (a guard, the
	 * report's scorer): the same answers, given up or not, bit for bit.
	 */
	{
		double		mins[] = {0.9, 0.5, 0.01, 1.0, r1.score, nextafter(r1.score, 2.0),
			nextafter(r1.score, -1.0), 0};

		for (int m = 0; m < 2 * (int) (sizeof(mins) / sizeof(mins[0])); m++)
		{
			bool		below = false;
			bool		cached = (m & 1) != 0;
			CdScoreStatus st4;
			CdScoreStatus st5;
			bool		below5 = false;

			p.max_weights = cached ? maxw : NULL;
			st4 = cd_record_score_min(&p, va, vb, tf_mode ? tf_cb : NULL, &tf_mode,
									  &cd_malloc_allocator, mins[m / 2], &below, &r2);
			/* the other way, into r3: the same status, given up or not, score */
			p.max_weights = cached ? NULL : maxw;
			st5 = cd_record_score_min(&p, va, vb, tf_mode ? tf_cb : NULL, &tf_mode,
									  &cd_malloc_allocator, mins[m / 2], &below5, &r3);
			p.max_weights = NULL;
			CHECK(st5 == st4 && below5 == below);
			if (st4 == CD_SCORE_OK && !below)
				CHECK(r3.score == r2.score && r3.total_weight == r2.total_weight);
			CHECK(st4 == st);
			if (st != CD_SCORE_OK)
			{
				CHECK(!below && r2.err_field == r1.err_field);
				CHECK((r2.err_func == NULL) == (r1.err_func == NULL));
				CHECK(r2.err_func == NULL || strcmp(r2.err_func, r1.err_func) == 0);
			}
			else if (below)
				CHECK(r1.score < mins[m / 2]);
			else
			{
				CHECK(r2.score == r1.score && r2.total_weight == r1.total_weight);
				for (int i = 0; i < nf; i++)
					CHECK(fs2[i].level == fs1[i].level && fs2[i].b_field == fs1[i].b_field);
			}
		}
	}

	/* cd_record_score ignores max_weights: the same result with them kept */
	{
		CdScoreStatus st6;

		p.max_weights = maxw;
		st6 = cd_record_score(&p, va, vb, tf_mode ? tf_cb : NULL, &tf_mode, &cd_malloc_allocator, &r3);
		p.max_weights = NULL;
		CHECK(st6 == st);
		if (st == CD_SCORE_OK)
			CHECK(r3.score == r1.score && r3.total_weight == r1.total_weight);
	}

	/* a failing allocator: NOMEM or the same result, nothing leaked */
	{
		FailCtx		c = {0, 0, (int) (size % 23)};
		CdAllocator al = {fail_alloc, fail_resize, fail_release, &c};
		CdScoreStatus st3 = cd_record_score(&p, va, vb, tf_mode ? tf_cb : NULL, &tf_mode, &al, &r2);

		CHECK(c.live == 0);
		if (st == CD_SCORE_OK)
		{
			CHECK(st3 == CD_SCORE_OK || st3 == CD_SCORE_NOMEM);
			if (st3 == CD_SCORE_OK)
				CHECK(r2.total_weight == r1.total_weight);
		}
	}
	return 0;
}
