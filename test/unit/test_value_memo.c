/*
 * test_value_memo.c
 *		Unit tests of the value memo (value_memo.c): keys with their kind and second
 *		argument, the byte budget (entries beyond it empty the memo, a smaller budget gives
 *		memory back), a failing allocator, and the differential test that matters: the
 *		memoized functions (cd_translit, cd_person_key, cd_email_normalize, cd_email_key,
 *		cd_phone_parse) and cd_record_score give the same results, bit for bit, with and
 *		without an active memo, on many generated records and pairs, under budgets small
 *		enough to empty the memo all the time.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "name_key.h"
#include "name_match.h"
#include "phone.h"
#include "record_score.h"
#include "translit.h"
#include "value_memo.h"

#define A (&cd_malloc_allocator)
#define NELEM(x) ((int) (sizeof(x) / sizeof((x)[0])))

/* ---------------------------------------------------------------- memo itself */

START_TEST(test_find_add)
{
	CdMemo	   *m = cd_memo_create(A, 1 << 20);
	const char *v;
	size_t		vl;

	ck_assert_ptr_nonnull(m);
	/* nothing active: nothing found, nothing kept */
	cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, "abc", 3, "x", 1);
	ck_assert(!cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "abc", 3, &v, &vl));
	ck_assert_ptr_null(cd_memo_use(m));
	ck_assert(!cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "abc", 3, &v, &vl));
	cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, "abc", 3, "xyz", 3);
	cd_memo_add(CD_MEMO_PERSON_KEY, NULL, 0, "abc", 3, "k", 1);
	cd_memo_add(CD_MEMO_PHONE, "RU", 2, "abc", 3, "ru", 2);
	cd_memo_add(CD_MEMO_PHONE, "US", 2, "abc", 3, "", 0);
	ck_assert(cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "abc", 3, &v, &vl));
	ck_assert_uint_eq(vl, 3);
	ck_assert(memcmp(v, "xyz", 3) == 0);
	ck_assert(cd_memo_find(CD_MEMO_PERSON_KEY, NULL, 0, "abc", 3, &v, &vl));
	ck_assert(vl == 1 && v[0] == 'k');
	ck_assert(cd_memo_find(CD_MEMO_PHONE, "RU", 2, "abc", 3, &v, &vl));
	ck_assert(vl == 2 && memcmp(v, "ru", 2) == 0);
	ck_assert(cd_memo_find(CD_MEMO_PHONE, "US", 2, "abc", 3, &v, &vl));
	ck_assert_uint_eq(vl, 0);
	ck_assert(!cd_memo_find(CD_MEMO_PHONE, "KZ", 2, "abc", 3, &v, &vl));
	ck_assert(!cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "abcd", 4, &v, &vl));
	ck_assert(!cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "ab", 2, &v, &vl));
	ck_assert(!cd_memo_find(CD_MEMO_EMAIL_KEY, NULL, 0, "abc", 3, &v, &vl));
	/* the empty input is a key too */
	cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, "", 0, "e", 1);
	ck_assert(cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "", 0, &v, &vl));
	ck_assert(vl == 1 && v[0] == 'e');
	ck_assert_ptr_eq(cd_memo_use(NULL), m);
	cd_memo_destroy(m);
}
END_TEST

START_TEST(test_budget)
{
	CdMemo	   *m = cd_memo_create(A, 16384);
	size_t		lookups;
	size_t		hits;
	size_t		entries;
	char		key[32];
	const char *v;
	size_t		vl;
	int			found = 0;

	cd_memo_use(m);
	/* far more than the budget holds: the memo empties itself and keeps going */
	for (int i = 0; i < 5000; i++)
	{
		int			n = snprintf(key, sizeof(key), "value %d", i);

		cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, key, (size_t) n, key, (size_t) n);
		ck_assert(cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, key, (size_t) n, &v, &vl));
		ck_assert(vl == (size_t) n && memcmp(v, key, vl) == 0);
	}
	cd_memo_stats(m, &lookups, &hits, &entries);
	ck_assert_uint_eq(lookups, 5000);
	ck_assert_uint_eq(hits, 5000);
	ck_assert(entries > 0 && entries < 5000);
	for (int i = 0; i < 5000; i++)
	{
		int			n = snprintf(key, sizeof(key), "value %d", i);

		found += cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, key, (size_t) n, &v, &vl);
	}
	ck_assert_int_eq(found, (int) entries);
	/* an entry bigger than the budget is not kept */
	{
		char	   *big = malloc(20000);

		memset(big, 'x', 20000);
		cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, big, 20000, "y", 1);
		ck_assert(!cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, big, 20000, &v, &vl));
		free(big);
	}
	/* a smaller budget gives the memory back; a budget too small keeps nothing */
	cd_memo_set_budget(m, 1024);
	ck_assert(!cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "value 4999", 10, &v, &vl));
	cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, "a", 1, "b", 1);
	ck_assert(!cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "a", 1, &v, &vl));
	cd_memo_set_budget(m, 1 << 20);
	cd_memo_add(CD_MEMO_TRANSLIT, NULL, 0, "a", 1, "b", 1);
	ck_assert(cd_memo_find(CD_MEMO_TRANSLIT, NULL, 0, "a", 1, &v, &vl));
	cd_memo_destroy(m);
	ck_assert_ptr_null(cd_memo_active);
}
END_TEST

/* an allocator failing every allocation after the first n */
typedef struct FailCtx
{
	int			left;
} FailCtx;

static void *
fail_alloc(size_t size, void *ctx)
{
	FailCtx    *f = ctx;

	if (f->left-- <= 0)
		return NULL;
	return malloc(size);
}

static void *
fail_resize(void *p, size_t size, void *ctx)
{
	FailCtx    *f = ctx;

	if (f->left-- <= 0)
		return NULL;
	return realloc(p, size);
}

static void
fail_release(void *p, void *ctx)
{
	(void) ctx;
	free(p);
}

START_TEST(test_failing_allocator)
{
	for (int n = 0; n < 6; n++)
	{
		FailCtx		f = {n};
		CdAllocator al = {fail_alloc, fail_resize, fail_release, &f};
		CdMemo	   *m = cd_memo_create(&al, 1 << 20);
		char		key[32];
		const char *v;
		size_t		vl;

		if (m == NULL)
		{
			ck_assert_int_eq(n, 0);
			continue;
		}
		cd_memo_use(m);
		for (int i = 0; i < 20000; i++)
		{
			int			k = snprintf(key, sizeof(key), "v%d", i);

			cd_memo_add(CD_MEMO_EMAIL_KEY, NULL, 0, key, (size_t) k, key, (size_t) k);
			/* what is found is what was kept */
			if (cd_memo_find(CD_MEMO_EMAIL_KEY, NULL, 0, key, (size_t) k, &v, &vl))
				ck_assert(vl == (size_t) k && memcmp(v, key, vl) == 0);
		}
		cd_memo_destroy(m);
		ck_assert_ptr_null(cd_memo_active);
	}
}
END_TEST

/* ---------------------------------------------------------------- differential */

static uint64_t rng_state;

static unsigned
rnd(unsigned n)
{
	rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (unsigned) ((rng_state >> 33) % n);
}

static const char *const FIRST[] = {
	"Иван", "Ivan", "Пётр", "Petr", "Pyotr", "Александр", "Alexander", "Саша", "Sasha",
	"Мария", "Maria", "Марья", "Наталья", "Natalia", "Natalya", "Юлия", "Yulia", "Julia",
	"Сергей", "Sergey", "Sergei", "Елена", "Elena", "Jelena", "Ольга", "Olga", "Дмитрий",
	"Dmitry", "Dima", "Anna", "Анна", "John", "Jon", "Айгуль", "Aigul", "王", "Zoë", "Ю.",
	"И.", ""
};
static const char *const LAST[] = {
	"Иванов", "Ivanov", "Иванова", "Ivanova", "Петров", "Petrov", "Petrova", "Сидоров",
	"Sidorov", "Кузнецов", "Kuznetsov", "Kuznetcov", "Смирнова", "Smirnova", "Smirnowa",
	"Ким", "Kim", "Нуриев", "Nuriev", "Smith", "Smyth", "Müller", "Mueller", "O'Brien",
	"明", "Хаджиев", "Khadzhiev"
};
static const char *const MIDDLE[] = {"", "", "Сергеевич", "Sergeevich", "Ивановна", "Ivanovna"};
static const char *const CITY[] = {
	"Москва", "Moskva", "Moscow", "Санкт-Петербург", "Sankt-Peterburg", "St. Petersburg",
	"Казань", "Kazan", "Kazan'", "Новосибирск", "Novosibirsk", "", "  Москва "
};
static const char *const DOMAIN[] = {
	"gmail.com", "googlemail.com", "gmial.com", "mail.ru", "yandex.ru", "ya.ru", "bk.ru",
	"example.com", "корпорация.рф", "inbox.ru"
};
static const char *const LOCAL[] = {
	"ivan.petrov", "ivanpetrov", "i.petrov", "petrov.ivan85", "ipetrov", "info", "sales",
	"maria_s", "m.smirnova", "smirnova+crm", "IVAN.PETROV", "olga1990", "jt40", "иван"
};

typedef struct Rec
{
	char		name[160];
	char		date[16];
	char		city[64];
	char		phones[2][40];
	int			nphones;
	char		emails[2][80];
	int			nemails;
} Rec;

static void
make_rec(Rec *r)
{
	const char *f = FIRST[rnd(NELEM(FIRST))];
	const char *l = LAST[rnd(NELEM(LAST))];
	const char *m = MIDDLE[rnd(NELEM(MIDDLE))];

	switch (rnd(4))
	{
		case 0:
			snprintf(r->name, sizeof(r->name), "%s %s", f, l);
			break;
		case 1:
			snprintf(r->name, sizeof(r->name), "%s %s %s", l, f, m);
			break;
		case 2:
			snprintf(r->name, sizeof(r->name), "%s, %s", l, f);
			break;
		default:
			snprintf(r->name, sizeof(r->name), "  %s   %s ", f, l);
			break;
	}
	switch (rnd(5))
	{
		case 0:
			snprintf(r->date, sizeof(r->date), "19%02u-%02u-%02u", 50 + rnd(50), 1 + rnd(12), 1 + rnd(28));
			break;
		case 1:
			snprintf(r->date, sizeof(r->date), "%u.%u.19%02u", 1 + rnd(28), 1 + rnd(12), 50 + rnd(50));
			break;
		case 2:
			snprintf(r->date, sizeof(r->date), "19%02u%02u%02u", 50 + rnd(50), 1 + rnd(12), 1 + rnd(28));
			break;
		case 3:
			snprintf(r->date, sizeof(r->date), "not a date");
			break;
		default:
			r->date[0] = '\0';
			break;
	}
	snprintf(r->city, sizeof(r->city), "%s", CITY[rnd(NELEM(CITY))]);
	r->nphones = (int) rnd(3);
	for (int i = 0; i < r->nphones; i++)
	{
		unsigned	n = 1000000 + rnd(40);	/* few numbers: many equal ones */

		switch (rnd(5))
		{
			case 0:
				snprintf(r->phones[i], 40, "+7 912 %03u-%02u-%02u", n % 1000, n % 97, n % 89);
				break;
			case 1:
				snprintf(r->phones[i], 40, "8 (912) %03u %02u %02u", n % 1000, n % 97, n % 89);
				break;
			case 2:
				snprintf(r->phones[i], 40, "912%03u%02u%02u ext. %u", n % 1000, n % 97, n % 89, rnd(100));
				break;
			case 3:
				snprintf(r->phones[i], 40, "+1 (212) 555-%04u", n % 10000);
				break;
			default:
				snprintf(r->phones[i], 40, "%s", rnd(2) ? "call me" : "12");
				break;
		}
	}
	r->nemails = (int) rnd(3);
	for (int i = 0; i < r->nemails; i++)
	{
		if (rnd(10) == 0)
			snprintf(r->emails[i], 80, "%s", rnd(2) ? "not an address" : "a@@b");
		else
			snprintf(r->emails[i], 80, "%s%s@%s", LOCAL[rnd(NELEM(LOCAL))], rnd(4) ? "" : "7",
					 DOMAIN[rnd(NELEM(DOMAIN))]);
	}
}

/* the fields of a record, in the profile's order: name, date, city, phones, emails */
static void
rec_values(const Rec *r, CdStr s[8], CdValues v[5])
{
	s[0] = (CdStr) {r->name, strlen(r->name)};
	s[1] = (CdStr) {r->date, strlen(r->date)};
	s[2] = (CdStr) {r->city, strlen(r->city)};
	for (int i = 0; i < r->nphones; i++)
		s[3 + i] = (CdStr) {r->phones[i], strlen(r->phones[i])};
	for (int i = 0; i < r->nemails; i++)
		s[5 + i] = (CdStr) {r->emails[i], strlen(r->emails[i])};
	v[0] = (CdValues) {&s[0], 1};
	v[1] = (CdValues) {&s[1], r->date[0] ? 1 : 0};
	v[2] = (CdValues) {&s[2], r->city[0] ? 1 : 0};
	v[3] = (CdValues) {&s[3], r->nphones};
	v[4] = (CdValues) {&s[5], r->nemails};
}

/* a deterministic stand-in for the statistics: some terms known, some not */
static double
fake_tf(void *ctx, int field, const char *term, size_t len)
{
	unsigned	h = 2166136261u;

	(void) ctx;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) term[i]) * 16777619u;
	h ^= (unsigned) field;
	if (h % 3 == 0)
		return -1;
	return (double) (h % 1000 + 1) / 100000.0;
}

static const CdScoreLevel L_NAME[] = {
	{"same name", 0.98, 0.70, 0.002, true}, {"similar name", 0.9, 0.20, 0.005, true},
	{"somewhat similar", 0.75, 0.06, 0.03, false}
};
static const CdScoreLevel L_DATE[] = {{"same date", 0.999, 0.85, 0.003, false}, {"one typo", 0.8, 0.08, 0.01, false}};
static const CdScoreLevel L_CITY[] = {{"same", 0.95, 0.85, 0.05, true}, {"similar", 0.85, 0.05, 0.02, false}};
static const CdScoreLevel L_PHONE[] = {{"same number", 0.999, 0.80, 0.0005, false}, {"one digit off", 0.8, 0.05, 0.0002, false}};
static const CdScoreLevel L_EMAIL[] = {{"same mailbox", 0.999, 0.75, 0.0002, false}, {"typo or other domain", 0.7, 0.05, 0.0005, true}};

static const CdScoreField FIELDS[] = {
	{CD_ROLE_PERSON_NAME, 1, "RU", L_NAME, 3},
	{CD_ROLE_BIRTH_DATE, 1, "RU", L_DATE, 2},
	{CD_ROLE_CITY, 1, "RU", L_CITY, 2},
	{CD_ROLE_PHONE, 1, "RU", L_PHONE, 2},
	{CD_ROLE_EMAIL, 1, "RU", L_EMAIL, 2},
};

static const CdScoreProfile PROFILE = {FIELDS, 5, 0.001, 0.9, 0.5, 100000, 0, NULL, NULL};

static bool
same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(double)) == 0;
}

#define NRECS 400
#define NPAIRS 20000

static void
score_pairs(const Rec *recs, CdMemo *m, CdRecordScore *out, CdFieldScore *fields, CdScoreStatus *st)
{
	rng_state = 99;
	cd_memo_use(m);
	for (int k = 0; k < NPAIRS; k++)
	{
		/* pairs sorted by their first record, as the report scores them */
		int			a = k * NRECS / NPAIRS;
		int			b = (int) rnd(NRECS);
		CdStr		sa[8];
		CdStr		sb[8];
		CdValues	va[5];
		CdValues	vb[5];

		rec_values(&recs[a], sa, va);
		rec_values(&recs[b], sb, vb);
		out[k].fields = &fields[k * 5];
		st[k] = cd_record_score(&PROFILE, va, vb, fake_tf, NULL, A, &out[k]);
	}
	cd_memo_use(NULL);
}

START_TEST(test_same_scores)
{
	static Rec	recs[NRECS];
	CdRecordScore *ref = calloc(NPAIRS, sizeof(CdRecordScore));
	CdFieldScore *reff = calloc(NPAIRS * 5, sizeof(CdFieldScore));
	CdScoreStatus *refst = calloc(NPAIRS, sizeof(CdScoreStatus));
	CdRecordScore *got = calloc(NPAIRS, sizeof(CdRecordScore));
	CdFieldScore *gotf = calloc(NPAIRS * 5, sizeof(CdFieldScore));
	CdScoreStatus *gotst = calloc(NPAIRS, sizeof(CdScoreStatus));
	const size_t budgets[] = {8192, 65536, 4 << 20};
	int			same_decisions = 0;

	rng_state = 7;
	for (int i = 0; i < NRECS; i++)
		make_rec(&recs[i]);
	score_pairs(recs, NULL, ref, reff, refst);
	for (int i = 0; i < NPAIRS; i++)
		same_decisions += ref[i].decision == CD_DECISION_SAME;
	ck_assert_int_gt(same_decisions, 0);	/* the data has duplicates */

	for (int bi = 0; bi < NELEM(budgets); bi++)
	{
		CdMemo	   *m = cd_memo_create(A, budgets[bi]);
		size_t		lookups;
		size_t		hits;
		size_t		entries;

		score_pairs(recs, m, got, gotf, gotst);
		cd_memo_stats(m, &lookups, &hits, &entries);
		ck_assert_uint_gt(hits, 0);
		for (int k = 0; k < NPAIRS; k++)
		{
			ck_assert_int_eq(gotst[k], refst[k]);
			if (refst[k] != CD_SCORE_OK)
				continue;
			ck_assert_msg(same_double(got[k].score, ref[k].score) && same_double(got[k].total_weight, ref[k].total_weight),
						  "pair %d, budget %zu: %.17g against %.17g", k, budgets[bi], got[k].score, ref[k].score);
			ck_assert_int_eq(got[k].decision, ref[k].decision);
			for (int f = 0; f < 5; f++)
			{
				const CdFieldScore *x = &gotf[k * 5 + f];
				const CdFieldScore *y = &reff[k * 5 + f];

				ck_assert_int_eq(x->level, y->level);
				ck_assert(same_double(x->similarity, y->similarity));
				ck_assert(same_double(x->weight, y->weight));
				ck_assert(same_double(x->u, y->u));
				ck_assert_int_eq(x->best_a, y->best_a);
				ck_assert_int_eq(x->best_b, y->best_b);
				ck_assert_int_eq(x->explained_by, y->explained_by);
			}
		}
		cd_memo_destroy(m);
	}
	free(ref);
	free(reff);
	free(refst);
	free(got);
	free(gotf);
	free(gotst);
}
END_TEST

/*
 * company pairs (0.2.0): the term keys the containment test reads come from the memo;
 * names made of a record's surname with words added or left out, so that some are
 * contained in others
 */
static const CdScoreLevel L_COMPANY[] = {
	{"same company", 0.98, 0.95, 0.003, true}, {"similar company", 0.85, 0.004, 0.0035, true},
	{"somewhat similar", 0.6, 0.008, 0.004, false}
};
static const CdScoreField COMPANY_FIELD[] = {{CD_ROLE_COMPANY, 1, "NL", L_COMPANY, 3}};
static const CdScoreProfile COMPANY_PROFILE = {COMPANY_FIELD, 1, 0.07, 0.9, 0.5, 2000, 0, NULL, NULL};

static void
company_name(const Rec *r, int variant, char *out, size_t size)
{
	static const char *const pre[] = {"", "Koninklijke ", "N.V. ", ""};
	static const char *const post[] = {" B.V.", " Electronics", " Electronics N.V.", " Holding Group"};
	const char *sp = strrchr(r->name, ' ');

	snprintf(out, size, "%s%s%s", pre[variant % 4], sp ? sp + 1 : r->name, post[(variant / 4) % 4]);
}

START_TEST(test_same_company_scores)
{
	static Rec	recs[NRECS];
	CdMemo	   *m = cd_memo_create(A, 65536);
	int			promoted = 0;

	rng_state = 11;
	for (int i = 0; i < NRECS; i++)
		make_rec(&recs[i]);
	for (int k = 0; k < NPAIRS / 4; k++)
	{
		char		na[200];
		char		nb[200];
		CdStr		sa;
		CdStr		sb;
		CdValues	va = {&sa, 1};
		CdValues	vb = {&sb, 1};
		CdFieldScore f0;
		CdFieldScore f1;
		CdRecordScore r0 = {.fields = &f0};
		CdRecordScore r1 = {.fields = &f1};
		CdScoreStatus s0;
		CdScoreStatus s1;
		int			a = k * NRECS / (NPAIRS / 4);

		company_name(&recs[a], (int) rnd(16), na, sizeof(na));
		company_name(&recs[rnd(4) == 0 ? a : (int) rnd(NRECS)], (int) rnd(16), nb, sizeof(nb));
		sa = (CdStr) {na, strlen(na)};
		sb = (CdStr) {nb, strlen(nb)};
		cd_memo_use(NULL);
		s0 = cd_record_score(&COMPANY_PROFILE, &va, &vb, fake_tf, NULL, A, &r0);
		cd_memo_use(m);
		s1 = cd_record_score(&COMPANY_PROFILE, &va, &vb, fake_tf, NULL, A, &r1);
		cd_memo_use(NULL);
		ck_assert_int_eq(s0, s1);
		if (s0 != CD_SCORE_OK)
			continue;
		ck_assert_msg(same_double(r0.total_weight, r1.total_weight), "%s / %s", na, nb);
		ck_assert_int_eq(f0.level, f1.level);
		ck_assert(same_double(f0.u, f1.u));
		promoted += f0.level == 0 && f0.similarity < 0.98;
	}
	ck_assert_int_gt(promoted, 0);	/* some pairs were promoted (containment or typo) */
	cd_memo_destroy(m);
}
END_TEST

/* each memoized function, with and without the memo, twice (the second time from it) */
START_TEST(test_same_values)
{
	CdMemo	   *m = cd_memo_create(A, 1 << 20);

	rng_state = 3;
	for (int i = 0; i < 3000; i++)
	{
		Rec			r;
		const char *vals[4];

		make_rec(&r);
		vals[0] = r.name;
		vals[1] = r.city;
		vals[2] = r.nemails > 0 ? r.emails[0] : "x@y.z";
		vals[3] = r.nphones > 0 ? r.phones[0] : "+7 912 000 00 00";
		for (int j = 0; j < 4; j++)
		{
			const char *v = vals[j];
			size_t		len = strlen(v);
			CdBuf		t0, t1, p0, p1;
			CdTextStatus ts0, ts1, ps0, ps1;
			char		e0[CD_EMAIL_MAX], e1[CD_EMAIL_MAX];
			size_t		el0 = 0, el1 = 0;
			CdPhoneResult r0, r1;
			CdPhoneStatus s0, s1;

			cd_buf_init(&t0, A);
			cd_buf_init(&t1, A);
			cd_buf_init(&p0, A);
			cd_buf_init(&p1, A);
			cd_memo_use(NULL);
			ts0 = cd_translit(v, len, &t0);
			ps0 = cd_person_key(v, len, &p0);
			for (int rep = 0; rep < 2; rep++)
			{
				cd_memo_use(m);
				cd_buf_reset(&t1);
				cd_buf_reset(&p1);
				ts1 = cd_translit(v, len, &t1);
				ps1 = cd_person_key(v, len, &p1);
				ck_assert_int_eq(ts0, ts1);
				ck_assert_int_eq(ps0, ps1);
				ck_assert(t0.len == t1.len && (t0.len == 0 || memcmp(t0.data, t1.data, t0.len) == 0));
				ck_assert(p0.len == p1.len && (p0.len == 0 || memcmp(p0.data, p1.data, p0.len) == 0));
				/* a company term key (record_score.c), the value read as a company name */
				{
					CdBuf		c0, c1;
					const char *ef;
					CdScoreStatus cs0, cs1;

					cd_buf_init(&c0, A);
					cd_buf_init(&c1, A);
					cd_memo_use(NULL);
					cs0 = cd_term_key(CD_ROLE_COMPANY, v, len, &c0, &ef);
					cd_memo_use(m);
					cs1 = cd_term_key(CD_ROLE_COMPANY, v, len, &c1, &ef);
					ck_assert_int_eq(cs0, cs1);
					ck_assert(c0.len == c1.len && (c0.len == 0 || memcmp(c0.data, c1.data, c0.len) == 0));
					cd_buf_free(&c0);
					cd_buf_free(&c1);
				}

				for (int kind = 0; kind < 2; kind++)
				{
					CdEmailStatus es0, es1;

					cd_memo_use(NULL);
					es0 = kind ? cd_email_key(v, len, e0, &el0) : cd_email_normalize(v, len, e0, &el0);
					cd_memo_use(m);
					es1 = kind ? cd_email_key(v, len, e1, &el1) : cd_email_normalize(v, len, e1, &el1);
					ck_assert_int_eq(es0, es1);
					if (es0 == CD_EMAIL_OK)
						ck_assert(el0 == el1 && strcmp(e0, e1) == 0);
				}
				memset(&r0, 0, sizeof(r0));
				memset(&r1, 0, sizeof(r1));
				cd_memo_use(NULL);
				s0 = cd_phone_parse(v, len, "RU", 2, &r0);
				cd_memo_use(m);
				s1 = cd_phone_parse(v, len, "RU", 2, &r1);
				ck_assert_int_eq(s0, s1);
				ck_assert_str_eq(r0.e164, r1.e164);
				ck_assert_str_eq(r0.ext, r1.ext);
				ck_assert_str_eq(r0.region, r1.region);
				ck_assert_int_eq(r0.country_code, r1.country_code);
				/* another region is another key */
				cd_memo_use(NULL);
				s0 = cd_phone_parse(v, len, "US", 2, &r0);
				cd_memo_use(m);
				s1 = cd_phone_parse(v, len, "US", 2, &r1);
				ck_assert_int_eq(s0, s1);
				ck_assert_str_eq(r0.e164, r1.e164);
			}
			/* the prepared words of a name (person and company rules) against another name */
			for (int other = 0; other < 3; other++)
			{
				Rec			o;
				double		x0,
							x1;
				CdMatchStatus ms0,
							ms1;

				make_rec(&o);
				for (int company = 0; company < 2; company++)
				{
					CdMatchStatus (*fn) (const char *, size_t, const char *, size_t,
										 const CdAllocator *, double *) =
						company ? cd_company_similarity : cd_name_similarity;

					cd_memo_use(NULL);
					ms0 = fn(v, len, o.name, strlen(o.name), A, &x0);
					for (int rep = 0; rep < 2; rep++)
					{
						cd_memo_use(m);
						ms1 = fn(v, len, o.name, strlen(o.name), A, &x1);
						ck_assert_int_eq(ms0, ms1);
						ck_assert_msg(same_double(x0, x1), "%s / %s: %.17g against %.17g", v, o.name, x0, x1);
					}
				}
			}
			cd_memo_use(NULL);
			cd_buf_free(&t0);
			cd_buf_free(&t1);
			cd_buf_free(&p0);
			cd_buf_free(&p1);
		}
	}
	cd_memo_destroy(m);
}
END_TEST

static Suite *
value_memo_suite(void)
{
	Suite	   *s = suite_create("value_memo");
	TCase	   *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_find_add);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_failing_allocator);
	tcase_add_test(tc, test_same_values);
	tcase_add_test(tc, test_same_scores);
	tcase_add_test(tc, test_same_company_scores);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner    *sr = srunner_create(value_memo_suite());
	int			failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
