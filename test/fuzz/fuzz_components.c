/*
 * fuzz_components.c
 *		libFuzzer harness for the connected components of candidate pairs
 *		(cd_components in src/core/cluster.c).
 *
 * Input layout: byte 0 picks n (0..127, or -1 for 255), then two bytes per edge (a, b); a
 * byte of 255 becomes -1 and any byte may be >= n, so edges outside 0..n-1 are exercised
 * (they must be ignored).  The labels must equal a naive min-label propagation to a fixed
 * point, and every label must be the smallest node of its component.  __builtin_trap()
 * fires on any violation.
 */
#include <stdint.h>
#include <string.h>

#include "cluster.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#define MAXM 2048

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			n;
	int			m;
	int			a[MAXM];
	int			b[MAXM];
	int			labels[128];
	int			ref[128];
	int			changed = 1;

	if (size < 1)
		return 0;
	n = data[0] == 255 ? -1 : data[0] % 128;
	m = (int) ((size - 1) / 2);
	if (m > MAXM)
		m = MAXM;
	for (int k = 0; k < m; k++)
	{
		a[k] = data[1 + 2 * k] == 255 ? -1 : data[1 + 2 * k];
		b[k] = data[2 + 2 * k] == 255 ? -1 : data[2 + 2 * k];
	}
	if (n < 0)
	{
		memset(labels, 0x7f, sizeof(labels));
		CHECK(cd_components(n, m, a, b, labels) == -1);
		CHECK(labels[0] == 0x7f7f7f7f);
		return 0;
	}
	CHECK(cd_components(n, m, a, b, labels) == 0);
	for (int i = 0; i < n; i++)
		ref[i] = i;
	while (changed)
	{
		changed = 0;
		for (int k = 0; k < m; k++)
		{
			int			lo;

			if (a[k] < 0 || a[k] >= n || b[k] < 0 || b[k] >= n)
				continue;
			lo = ref[a[k]] < ref[b[k]] ? ref[a[k]] : ref[b[k]];
			if (ref[a[k]] != lo || ref[b[k]] != lo)
			{
				ref[a[k]] = ref[b[k]] = lo;
				changed = 1;
			}
		}
	}
	for (int i = 0; i < n; i++)
	{
		CHECK(labels[i] == ref[i]);
		CHECK(labels[i] <= i && labels[labels[i]] == labels[i]);
	}
	return 0;
}
