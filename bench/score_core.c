/*
 * score_core.c
 *		ns per cd_record_score call of a one-field company profile, outside PostgreSQL
 *		(no value memo; `score_core N memo`: with one, as reports and estimate() score, each
 *		kind's 8 pairs then found in it): the core cost of company comparisons by the kind
 *		of pair (an exact copy, a name contained in the other, a typo, unrelated names).
 *		Built by `make build/bench/score_core`; prints the median of 7 runs per kind
 *		(process CPU time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cd_buf.h"
#include "record_score.h"
#include "value_memo.h"

#define RUNS 7

/* patstat's levels after estimate() (bench/quality, 2026-11-27) */
static const CdScoreLevel LEVELS[] = {
	{"same company", 0.98, 0.957, 0.00284, true},
	{"similar company", 0.85, 0.00372, 0.00356, true},
	{"somewhat similar", 0.6, 0.00761, 0.00431, false},
	{"little in common", 0.35, 0.0307, 0.0282, false}};

/* a term's share: deterministic from its bytes, some terms unknown */
static double
tf_cb(void *ctx, int field, const char *term, size_t len)
{
	unsigned	h = 2166136261u;

	(void) ctx;
	(void) field;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) term[i]) * 16777619u;
	return h % 4 == 0 ? -1 : (1 + h % 50) / 2379.0;
}

static const char *kinds[][2][8] = {
	{{"Koninklijke Philips Electronics N.V.", "Unilever N.V.", "Siemens Aktiengesellschaft",
	  "DSM IP Assets B.V.", "Akzo Nobel N.V.", "ASML Netherlands B.V.", "Shell Oil Company", "Nokia Oyj"},
	 {"KONINKLIJKE PHILIPS ELECTRONICS N.V.", "UNILEVER NV", "SIEMENS AKTIENGESELLSCHAFT",
	  "DSM IP ASSETS BV", "AKZO NOBEL NV", "ASML NETHERLANDS BV", "Shell Oil Co.", "NOKIA OYJ"}},
	{{"Philips Electronics N.V.", "Unilever N.V.", "Siemens AG", "DSM N.V.", "Akzo Nobel",
	  "ASML Holding", "Shell Oil", "Nokia"},
	 {"Koninklijke Philips Electronics N.V.", "Unilever PLC Unilever N.V.", "Siemens Medical AG",
	  "Koninklijke DSM N.V.", "Akzo Nobel Coatings", "ASML Holding Netherlands", "Shell Oil Company Houston",
	  "Nokia Mobile Phones"}},
	{{"Koninklijke Philips Electronic", "Unilever N.V.", "Siemens Aktiengesellschaft", "DSM IP Assests",
	  "Akzo Novel N.V.", "ASML Netherland B.V.", "Shell Oil Compnay", "Nokia Oyj"},
	 {"Koninklijke Philips Electronics", "Unilevr N.V.", "Siemens Aktiengeselschaft", "DSM IP Assets",
	  "Akzo Nobel N.V.", "ASML Netherlands B.V.", "Shell Oil Company", "Nokla Oyj"}},
	{{"Koninklijke Philips Electronics N.V.", "Unilever N.V.", "Siemens Aktiengesellschaft",
	  "DSM IP Assets B.V.", "Akzo Nobel N.V.", "ASML Netherlands B.V.", "Shell Oil Company", "Nokia Oyj"},
	 {"Schlumberger Technology Corp.", "Whirlpool Europe S.r.l.", "Nutricia Zoetermeer",
	  "Alcatel Alsthom", "Océ Technologies B.V.", "Heineken Brouwerijen", "Stork Screens B.V.",
	  "Fokker Aircraft"}}};
static const char *kind_names[] = {"exact copy (other spelling)", "one name contained in the other",
"one typo", "unrelated names"};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	CdScoreField f = {CD_ROLE_COMPANY, 1.0, "NL", LEVELS, 4};
	CdScoreProfile p = {0};
	int			iter = argc > 1 ? atoi(argv[1]) : 20000;
	CdMemo	   *memo = argc > 2 && strcmp(argv[2], "memo") == 0 ? cd_memo_create(&cd_malloc_allocator, 4 << 20) : NULL;

	p.fields = &f;
	p.nfields = 1;
	p.prior = 0.073;
	p.same = 0.9;
	p.maybe = 0.5;
	p.analyzed_rows = 2379;
	cd_memo_use(memo);
	for (int k = 0; k < 4; k++)
	{
		double		t[RUNS];
		double		wsum = 0;

		for (int r = 0; r < RUNS; r++)
		{
			double		t0 = now_ns();

			for (int i = 0; i < iter; i++)
			{
				int			j = i % 8;
				CdStr		va = {kinds[k][0][j], strlen(kinds[k][0][j])};
				CdStr		vb = {kinds[k][1][j], strlen(kinds[k][1][j])};
				CdValues	a = {&va, 1};
				CdValues	b = {&vb, 1};
				CdFieldScore fs;
				CdRecordScore rs = {.fields = &fs};

				if (cd_record_score(&p, &a, &b, tf_cb, NULL, &cd_malloc_allocator, &rs) != CD_SCORE_OK)
				{
					fprintf(stderr, "scoring failed\n");
					return 1;
				}
				wsum += rs.total_weight;
			}
			t[r] = (now_ns() - t0) / iter;
		}
		qsort(t, RUNS, sizeof(double), cmp_double);
		printf("%-34s %8.0f ns per pair (sum of weights %.3f)\n", kind_names[k], t[RUNS / 2], wsum / RUNS);
	}
	cd_memo_use(NULL);
	if (memo != NULL)
		cd_memo_destroy(memo);
	return 0;
}
