/*
 * core_phone.c
 *		Micro-benchmark of cd_phone_parse: nanoseconds per call for typical inputs, one
 *		line per input, in process CPU time (wall clock on these shared machines swings
 *		about 2x with the other core).  Build without sanitizers, e.g.
 *		cc -std=c11 -O2 -D_GNU_SOURCE -Isrc/core -o build/bench_phone bench/core_phone.c \
 *		   src/core/phone.c src/core/phone_data.c src/core/cd_buf.c $(pkg-config --libs icu-uc)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "phone.h"

static double
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int
main(void)
{
	static const struct
	{
		const char *region;
		const char *raw;
	}			inputs[] = {
		{"RU", "8 (912) 345-67-89"},
		{"RU", "+7 912 345 67 89"},
		{"RU", "89123456789"},
		{"US", "(212) 555-0123"},
		{"GB", "020 7946 0958"},
		{"CN", "138 0013 8000"},
		{"DE", "+49 (0)30 123456"},
		{"IN", "09876543210"},
		{"BR", "(11) 91234-5678 ramal 12"},
		{"RU", "+7 (495) 123-45-67 доб. 123"},
		{"JP", "０３－１２３４－５６７８"},
		{"US", "hello world"},
	};
	int			n_in = (int) (sizeof(inputs) / sizeof(inputs[0]));
	int			iters = 500000;
	volatile int sink = 0;
	double		total = 0;

	for (int j = 0; j < n_in; j++)
	{
		size_t		len = strlen(inputs[j].raw);
		double		t0 = now_ns();
		double		ns;

		for (int k = 0; k < iters; k++)
		{
			CdPhoneResult res;

			sink += (int) cd_phone_parse(inputs[j].raw, len, inputs[j].region, 2, &res);
		}
		ns = (now_ns() - t0) / iters;
		total += ns;
		printf("%6.0f ns  %s %s\n", ns, inputs[j].region, inputs[j].raw);
	}
	printf("%6.0f ns  mean over %d inputs\n", total / n_in, n_in);
	(void) sink;
	return 0;
}
