/*
 * core_bench.c
 *		ns per call of the pure C core's normalizers, outside PostgreSQL: the floor under
 *		what the SQL functions cost.  Built by `make build/bench/core_bench`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cd_buf.h"
#include "email.h"
#include "name_key.h"
#include "phone.h"
#include "translit.h"
#include "unicode_fold.h"

#define ITER 200000
#define RUNS 5

static const char *phones[] = {"8 (912) 345-67-89", "+7 912 345 67 89", "+1 (212) 555-0123 ext. 4",
"138 0013 8000"};
static const char *emails[] = {"Ivan.Petrov+crm@GoogleMail.com", "Петров <petrov@Mail.RU>",
"j.smith@outlook.com", "info@bücher.de"};
static const char *ascii_names[] = {"Ivan Petrov", "Sarah O'Connor", "Alexander Kharitonov", "John Smith"};
static const char *cyr_names[] = {"Пётр Щукин", "Юлия Чайковская", "Иван Петров", "Елена Ёлкина"};
static const char *han_names[] = {"王小明", "李娜", "欧阳娜娜", "张伟"};
static const char *companies[] = {"ООО «Ромашка»", "Romashka LLC", "Siemens AG", "北京小米科技有限责任公司"};

static volatile size_t sink;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

typedef CdTextStatus (*TextFn) (const char *, size_t, CdBuf *);

static double
bench_text(TextFn fn, const char **in)
{
	double		t[RUNS];
	CdBuf		buf;

	cd_buf_init(&buf, &cd_malloc_allocator);
	for (int r = 0; r < RUNS; r++)
	{
		double		t0 = now_ns();

		for (int i = 0; i < ITER; i++)
		{
			const char *s = in[i & 3];

			cd_buf_reset(&buf);
			fn(s, strlen(s), &buf);
			sink += buf.len;
		}
		t[r] = (now_ns() - t0) / ITER;
	}
	cd_buf_free(&buf);
	qsort(t, RUNS, sizeof(double), cmp_double);
	return t[RUNS / 2];
}

static double
bench_phone(void)
{
	double		t[RUNS];
	CdPhoneResult res;

	for (int r = 0; r < RUNS; r++)
	{
		double		t0 = now_ns();

		for (int i = 0; i < ITER; i++)
		{
			const char *s = phones[i & 3];

			sink += cd_phone_parse(s, strlen(s), "RU", 2, &res);
		}
		t[r] = (now_ns() - t0) / ITER;
	}
	qsort(t, RUNS, sizeof(double), cmp_double);
	return t[RUNS / 2];
}

static double
bench_email(void)
{
	double		t[RUNS];
	char		out[CD_EMAIL_MAX];
	size_t		len;

	for (int r = 0; r < RUNS; r++)
	{
		double		t0 = now_ns();

		for (int i = 0; i < ITER; i++)
		{
			const char *s = emails[i & 3];

			sink += cd_email_key(s, strlen(s), out, &len);
		}
		t[r] = (now_ns() - t0) / ITER;
	}
	qsort(t, RUNS, sizeof(double), cmp_double);
	return t[RUNS / 2];
}

int
main(void)
{
	printf("%-32s %8.0f ns\n", "phone_e164 (mixed formats)", bench_phone());
	printf("%-32s %8.0f ns\n", "email_key (mixed, one IDN)", bench_email());
	printf("%-32s %8.0f ns\n", "name_key (ASCII)", bench_text(cd_name_key, ascii_names));
	printf("%-32s %8.0f ns\n", "name_key (Cyrillic)", bench_text(cd_name_key, cyr_names));
	printf("%-32s %8.0f ns\n", "translit (Cyrillic)", bench_text(cd_translit, cyr_names));
	printf("%-32s %8.0f ns\n", "translit (Han, ICU)", bench_text(cd_translit, han_names));
	printf("%-32s %8.0f ns\n", "person_key (Cyrillic)", bench_text(cd_person_key, cyr_names));
	printf("%-32s %8.0f ns\n", "company_key (mixed)", bench_text(cd_company_key, companies));
	return 0;
}
