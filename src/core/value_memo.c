/*
 * value_memo.c
 *		Bounded memo of per-value normalizations (see value_memo.h).
 *
 * Entries live in one arena: a header (hash, lengths) then kind, extra, input and
 * result bytes.  An open-addressing table of arena offsets (0: empty slot), at most
 * half full, finds them.  Over budget: the table is emptied and the arena reused.
 */
#include <stdint.h>
#include <string.h>

#include "value_memo.h"

typedef struct MemoEntry
{
	uint64_t	hash;
	uint32_t	klen;			/* 1 (kind) + 1 (elen) + elen + len */
	uint32_t	vlen;
	/* key bytes, then value bytes */
} MemoEntry;

struct CdMemo
{
	const CdAllocator *al;
	size_t		budget;
	uint32_t   *slots;			/* arena offsets; 0: empty */
	size_t		nslots;			/* power of two, or 0 */
	size_t		count;
	char	   *arena;
	size_t		used;			/* bytes used in the arena (starts at 8: offset 0 = empty) */
	size_t		cap;
	size_t		lookups;
	size_t		hits;
};

CdMemo	   *cd_memo_active = NULL;

#define MEMO_MIN_SLOTS 1024
#define MEMO_MAX_KEY 65536		/* longer inputs are not memoized */
#define MEMO_ALIGN(x) (((x) + 7) & ~(size_t) 7)

CdMemo *
cd_memo_create(const CdAllocator *al, size_t budget)
{
	CdMemo	   *m = al->alloc(sizeof(CdMemo), al->ctx);

	if (m == NULL)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->al = al;
	m->budget = budget;
	m->used = 8;
	return m;
}

static void
memo_clear(CdMemo *m)
{
	if (m->slots != NULL)
		memset(m->slots, 0, sizeof(uint32_t) * m->nslots);
	m->count = 0;
	m->used = 8;
}

void
cd_memo_set_budget(CdMemo *m, size_t budget)
{
	m->budget = budget;
	if (m->cap + sizeof(uint32_t) * m->nslots > budget)
	{
		/* give the memory back: a smaller budget is a limit on what is held */
		if (m->slots != NULL)
			m->al->release(m->slots, m->al->ctx);
		if (m->arena != NULL)
			m->al->release(m->arena, m->al->ctx);
		m->slots = NULL;
		m->arena = NULL;
		m->nslots = m->cap = 0;
		m->count = 0;
		m->used = 8;
	}
}

void
cd_memo_destroy(CdMemo *m)
{
	if (m == NULL)
		return;
	if (cd_memo_active == m)
		cd_memo_active = NULL;
	if (m->slots != NULL)
		m->al->release(m->slots, m->al->ctx);
	if (m->arena != NULL)
		m->al->release(m->arena, m->al->ctx);
	m->al->release(m, m->al->ctx);
}

CdMemo *
cd_memo_use(CdMemo *m)
{
	CdMemo	   *prev = cd_memo_active;

	cd_memo_active = m;
	return prev;
}

void
cd_memo_stats(const CdMemo *m, size_t *lookups, size_t *hits, size_t *entries)
{
	*lookups = m->lookups;
	*hits = m->hits;
	*entries = m->count;
}

/* a multiply-xorshift hash over 8-byte words of the key's parts */
static inline uint64_t
mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= UINT64_C(0x9E3779B97F4A7C15);
	return h ^ (h >> 32);
}

static uint64_t
hash_bytes(uint64_t h, const char *s, size_t n)
{
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		uint64_t	w;

		memcpy(&w, s + i, 8);
		h = mix(h, w);
	}
	if (i < n)
	{
		uint64_t	w = 0;

		memcpy(&w, s + i, n - i);
		h = mix(h, w ^ ((uint64_t) (n - i) << 59));
	}
	return h;
}

static uint64_t
key_hash(CdMemoKind kind, const char *extra, size_t elen, const char *in, size_t len)
{
	uint64_t	h = UINT64_C(14695981039346656037) ^ ((uint64_t) kind << 8) ^ elen ^ ((uint64_t) len << 16);

	if (elen > 0)
		h = hash_bytes(h, extra, elen);
	h = hash_bytes(h, in, len);
	h *= UINT64_C(0xD6E8FEB86659FD93);
	return h ^ (h >> 32);
}

static bool
key_equal(const MemoEntry *e, uint64_t h, CdMemoKind kind, const char *extra, size_t elen,
		  const char *in, size_t len)
{
	const unsigned char *k = (const unsigned char *) (e + 1);

	return e->hash == h && e->klen == 2 + elen + len && k[0] == (unsigned char) kind
		&& k[1] == (unsigned char) elen && (elen == 0 || memcmp(k + 2, extra, elen) == 0)
		&& (len == 0 || memcmp(k + 2 + elen, in, len) == 0);
}

bool
cd_memo_find(CdMemoKind kind, const char *extra, size_t elen, const char *in, size_t len,
			 const char **val, size_t *vlen)
{
	CdMemo	   *m = cd_memo_active;
	uint64_t	h;
	size_t		i;

	if (m == NULL || m->nslots == 0 || elen > 255 || len > MEMO_MAX_KEY)
		return false;
	m->lookups++;
	h = key_hash(kind, extra, elen, in, len);
	for (i = (size_t) h & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1))
	{
		uint32_t	off = m->slots[i];
		const MemoEntry *e;

		if (off == 0)
			return false;
		e = (const MemoEntry *) (m->arena + off);
		if (key_equal(e, h, kind, extra, elen, in, len))
		{
			*val = (const char *) (e + 1) + e->klen;
			*vlen = e->vlen;
			m->hits++;
			return true;
		}
	}
}

/* a table of n slots (power of two) holding the entries of the arena */
static bool
rehash(CdMemo *m, size_t n)
{
	uint32_t   *slots = m->al->alloc(sizeof(uint32_t) * n, m->al->ctx);
	size_t		off;

	if (slots == NULL)
		return false;
	memset(slots, 0, sizeof(uint32_t) * n);
	for (off = 8; off < m->used;)
	{
		const MemoEntry *e = (const MemoEntry *) (m->arena + off);
		size_t		i = (size_t) e->hash & (n - 1);

		while (slots[i] != 0)
			i = (i + 1) & (n - 1);
		slots[i] = (uint32_t) off;
		off += MEMO_ALIGN(sizeof(MemoEntry) + e->klen + e->vlen);
	}
	if (m->slots != NULL)
		m->al->release(m->slots, m->al->ctx);
	m->slots = slots;
	m->nslots = n;
	return true;
}

void
cd_memo_add(CdMemoKind kind, const char *extra, size_t elen, const char *in, size_t len,
			const char *val, size_t vlen)
{
	CdMemo	   *m = cd_memo_active;
	size_t		need;
	uint64_t	h;
	MemoEntry  *e;
	char	   *k;
	size_t		i;

	if (m == NULL || elen > 255 || len > MEMO_MAX_KEY || vlen > MEMO_MAX_KEY)
		return;
	need = MEMO_ALIGN(sizeof(MemoEntry) + 2 + elen + len + vlen);
	/* the smallest memo that can hold it: the minimal table and this entry */
	if (sizeof(uint32_t) * MEMO_MIN_SLOTS + 8 + need > m->budget)
		return;

	/* room in the arena: grow by doubling within the budget, else start over */
	if (m->used + need > m->cap)
	{
		size_t		ncap = m->cap == 0 ? 65536 : m->cap * 2;
		size_t		table = sizeof(uint32_t) * (m->nslots ? m->nslots : MEMO_MIN_SLOTS);

		while (ncap < m->used + need)
			ncap *= 2;
		if (ncap + table > m->budget)
			ncap = m->budget - table;
		if (ncap > UINT32_MAX)
			ncap = UINT32_MAX;
		if (m->used + need > ncap)
		{
			memo_clear(m);
			if (m->used + need > m->cap && m->used + need > ncap)
				return;
		}
		if (ncap > m->cap)
		{
			char	   *na = m->arena == NULL ? m->al->alloc(ncap, m->al->ctx)
				: m->al->resize(m->arena, ncap, m->al->ctx);

			if (na == NULL)
				return;
			m->arena = na;
			m->cap = ncap;
		}
	}
	/* the table at most half full */
	if (m->nslots == 0 || (m->count + 1) * 2 > m->nslots)
	{
		size_t		n = m->nslots == 0 ? MEMO_MIN_SLOTS : m->nslots * 2;

		if (m->cap + sizeof(uint32_t) * n > m->budget)
		{
			memo_clear(m);
			if (m->nslots == 0 && !rehash(m, MEMO_MIN_SLOTS))
				return;
		}
		else if (!rehash(m, n))
			return;
	}

	h = key_hash(kind, extra, elen, in, len);
	e = (MemoEntry *) (m->arena + m->used);
	e->hash = h;
	e->klen = (uint32_t) (2 + elen + len);
	e->vlen = (uint32_t) vlen;
	k = (char *) (e + 1);
	k[0] = (char) kind;
	k[1] = (char) elen;
	if (elen > 0)
		memcpy(k + 2, extra, elen);
	if (len > 0)
		memcpy(k + 2 + elen, in, len);
	if (vlen > 0)
		memcpy(k + 2 + elen + len, val, vlen);
	for (i = (size_t) h & (m->nslots - 1); m->slots[i] != 0; i = (i + 1) & (m->nslots - 1))
		;
	m->slots[i] = (uint32_t) m->used;
	m->used += need;
	m->count++;
}
