/*
 * guard_memo.c
 *		The keys a guard trigger computed for its row, looked up by the key functions
 *		when the executor fills the guard's key indexes (see guard_memo.h).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "guard_memo.h"

/* a few per kind: a table may have two phone columns, or two guards */
#define MEMO_SLOTS 4
/* longer values are computed again: a name or a phone is far shorter */
#define MEMO_MAX_INPUT 512
#define MEMO_MAX_REGION 8

typedef struct MemoEntry
{
	bool		used;
	bool		isnull;			/* the function returned NULL for this input */
	int			inlen;
	int			regionlen;		/* -1: the function takes no region */
	char		in[MEMO_MAX_INPUT];
	char		region[MEMO_MAX_REGION];
	text	   *key;			/* in TopMemoryContext; NULL when isnull */
	Size		keycap;
} MemoEntry;

typedef struct MemoKind
{
	int			next;			/* the slot to overwrite next */
	MemoEntry	e[MEMO_SLOTS];
} MemoKind;

int			cd_key_memo_entries = 0;

static MemoKind *memo = NULL;

static bool
entry_matches(const MemoEntry *e, const text *in, const text *region)
{
	int			inlen = VARSIZE_ANY_EXHDR(in);

	if (!e->used || e->inlen != inlen)
		return false;
	if (region == NULL ? e->regionlen != -1
		: (e->regionlen != (int) VARSIZE_ANY_EXHDR(region)
		   || memcmp(e->region, VARDATA_ANY(region), e->regionlen) != 0))
		return false;
	return memcmp(e->in, VARDATA_ANY(in), inlen) == 0;
}

void
cd_key_memo_put(CdKeyMemoKind kind, const text *in, const text *region, const text *key)
{
	MemoKind   *k;
	MemoEntry  *e;
	int			inlen = VARSIZE_ANY_EXHDR(in);

	if (kind < 0 || kind >= CD_MEMO_KINDS || inlen > MEMO_MAX_INPUT
		|| (region != NULL && VARSIZE_ANY_EXHDR(region) > MEMO_MAX_REGION))
		return;
	if (memo == NULL)
		memo = MemoryContextAllocZero(TopMemoryContext, sizeof(MemoKind) * CD_MEMO_KINDS);
	k = &memo[kind];
	/* the same input again (a guard per field on one column): refresh it in place */
	e = NULL;
	for (int i = 0; i < MEMO_SLOTS && e == NULL; i++)
		if (entry_matches(&k->e[i], in, region))
			e = &k->e[i];
	if (e == NULL)
	{
		e = &k->e[k->next];
		k->next = (k->next + 1) % MEMO_SLOTS;
		if (!e->used)
			cd_key_memo_entries++;
		/* half-written entries must never match: mark it unused until complete */
		e->used = false;
		e->inlen = inlen;
		memcpy(e->in, VARDATA_ANY(in), inlen);
		e->regionlen = region ? (int) VARSIZE_ANY_EXHDR(region) : -1;
		if (region)
			memcpy(e->region, VARDATA_ANY(region), e->regionlen);
	}
	e->used = false;
	if (key == NULL)
		e->isnull = true;
	else
	{
		Size		klen = VARSIZE_ANY_EXHDR(key);

		if (e->key == NULL || e->keycap < klen + VARHDRSZ)
		{
			if (e->key)
				pfree(e->key);
			/* an out-of-memory error below must not leave a freed pointer behind */
			e->key = NULL;
			e->keycap = Max(klen + VARHDRSZ, 64);
			e->key = MemoryContextAlloc(TopMemoryContext, e->keycap);
		}
		SET_VARSIZE(e->key, klen + VARHDRSZ);
		memcpy(VARDATA(e->key), VARDATA_ANY(key), klen);
		e->isnull = false;
	}
	e->used = true;
}

bool
cd_key_memo_get(CdKeyMemoKind kind, const text *in, const text *region, Datum *key, bool *isnull)
{
	MemoKind   *k;

	if (memo == NULL || kind < 0 || kind >= CD_MEMO_KINDS)
		return false;
	k = &memo[kind];
	for (int i = 0; i < MEMO_SLOTS; i++)
	{
		MemoEntry  *e = &k->e[i];

		if (entry_matches(e, in, region))
		{
			*isnull = e->isnull;
			if (!e->isnull)
			{
				/* a copy in the caller's context: the entry may be overwritten */
				text	   *copy = palloc(VARSIZE(e->key));

				memcpy(copy, e->key, VARSIZE(e->key));
				*key = PointerGetDatum(copy);
			}
			return true;
		}
	}
	return false;
}
