/*
 * fuzz_common.h
 *		What several fuzz harnesses share: CHECK, which stops the fuzzer on a broken
 *		property, and an allocator that fails from the fail_at-th request on and counts
 *		live blocks, so a harness can check that an out-of-memory path returns NOMEM and
 *		frees everything it took.  Header-only: each harness is its own program.
 */
#ifndef CD_FUZZ_COMMON_H
#define CD_FUZZ_COMMON_H

#include <stdlib.h>

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

typedef struct FailCtx
{
	int			allocs;
	int			live;
	int			fail_at;
} FailCtx;

static void *
fail_alloc(size_t size, void *ctx)
{
	FailCtx    *c = ctx;

	if (c->allocs++ >= c->fail_at)
		return NULL;
	c->live++;
	return malloc(size);
}

static void *
fail_resize(void *ptr, size_t size, void *ctx)
{
	FailCtx    *c = ctx;

	if (c->allocs++ >= c->fail_at)
		return NULL;
	return realloc(ptr, size);
}

static void
fail_release(void *ptr, void *ctx)
{
	FailCtx    *c = ctx;

	c->live--;
	free(ptr);
}

#endif
