/*
 * similarity.c
 *		String similarity metrics over code points: Jaro-Winkler, OSA distance, trigram
 *		Jaccard and order-free token similarity.  See similarity.h for the definitions.
 *
 * Inputs of up to CD_SIM_LOCAL_CHARS code points are decoded into stack arrays and need no
 * scratch memory from the allocator: these metrics run per candidate pair, millions of
 * times in a report, where an allocation would cost more than the metric itself.
 */
#include "similarity.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define LOCAL CD_SIM_LOCAL_CHARS

/* a decoded input: code points in local[] or, when longer, in memory from the allocator */
typedef struct SimText
{
	int32_t    *cp;
	size_t		n;
	int32_t		local[LOCAL];
} SimText;

/* trigrams per input of n code points: |w| + 1 per word, at most (n + 1) / 2 words */
#define TRGM_CAP(n) ((n) + (n) / 2 + 2)

/* token pair candidate for greedy matching */
typedef struct SimPair
{
	double		sim;
	uint32_t	i;
	uint32_t	j;
} SimPair;

/* largest number of pairs kept on the stack: two inputs of LOCAL code points */
#define LOCAL_PAIRS ((LOCAL / 2 + 1) * (LOCAL / 2 + 1))


/* ---------------------------------------------------------------- decoding */

/*
 * Decode s into t->local as far as it fits, counting code points.  Returns CD_SIM_OK,
 * CD_SIM_INVALID_UTF8 or CD_SIM_TOO_LONG; a too long input is still validated to its end
 * so that invalid UTF-8 wins whatever the argument order.
 */
static CdSimStatus
sim_scan(SimText *t, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;
	size_t		n = 0;

	t->cp = t->local;
	t->n = 0;
	while (i < len)
	{
		int32_t		c;

		if (p[i] < 0x80)
		{
			c = p[i];
			i++;
		}
		else
		{
			int			k = cd_utf8_decode(p + i, len - i, &c);

			if (k < 0)
				return CD_SIM_INVALID_UTF8;
			i += (size_t) k;
		}
		if (n < LOCAL)
			t->local[n] = c;
		n++;
	}
	t->n = n;
	return n > CD_SIM_MAX_CHARS ? CD_SIM_TOO_LONG : CD_SIM_OK;
}

/* after a successful sim_scan: move a long input to allocated memory */
static bool
sim_fill(SimText *t, const char *s, size_t len, const CdAllocator *al)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;
	size_t		n = 0;

	if (t->n <= LOCAL)
		return true;
	t->cp = al->alloc(t->n * sizeof(int32_t), al->ctx);
	if (t->cp == NULL)
	{
		t->cp = t->local;
		return false;
	}
	while (i < len)
	{
		int32_t		c;

		if (p[i] < 0x80)
		{
			c = p[i];
			i++;
		}
		else
			i += (size_t) cd_utf8_decode(p + i, len - i, &c);	/* validated by sim_scan */
		t->cp[n++] = c;
	}
	return true;
}

static void
sim_free(SimText *t, const CdAllocator *al)
{
	if (t->cp != t->local)
		al->release(t->cp, al->ctx);
	t->cp = t->local;
}

/*
 * Decode both inputs.  The status is independent of argument order: invalid UTF-8 in
 * either input first, then too long, then out of memory.
 */
static CdSimStatus
sim_decode2(SimText *ta, const char *a, size_t alen,
			SimText *tb, const char *b, size_t blen, const CdAllocator *al)
{
	CdSimStatus sa = sim_scan(ta, a, alen);
	CdSimStatus sb;

	if (sa == CD_SIM_INVALID_UTF8)
		return sa;
	sb = sim_scan(tb, b, blen);
	if (sb != CD_SIM_OK)
		return sb;
	if (sa != CD_SIM_OK)
		return sa;
	if (!sim_fill(ta, a, alen, al))
		return CD_SIM_NOMEM;
	if (!sim_fill(tb, b, blen, al))
	{
		sim_free(ta, al);
		return CD_SIM_NOMEM;
	}
	return CD_SIM_OK;
}

/* canonical order of two code point strings: shorter first, then code point order */
static int
cp_cmp(const int32_t *a, size_t la, const int32_t *b, size_t lb)
{
	if (la != lb)
		return la < lb ? -1 : 1;
	for (size_t i = 0; i < la; i++)
	{
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}

static double
clamp01(double x)
{
	if (x < 0.0)
		return 0.0;
	if (x > 1.0)
		return 1.0;
	return x;
}


/* ---------------------------------------------------------------- Jaro-Winkler */

/*
 * Jaro-Winkler over code point arrays; flags is scratch of at least la + lb bytes.  The greedy matching of Jaro depends on which string drives it, so the pair is
 * put in canonical order first to keep the result symmetric to the last bit.
 */
static double
jw_cp(const int32_t *a, size_t la, const int32_t *b, size_t lb, uint8_t *flags)
{
	uint8_t    *fa = flags;
	uint8_t    *fb;
	size_t		mx;
	size_t		w;
	size_t		m = 0;
	size_t		t = 0;
	size_t		k;
	size_t		pre;
	double		dm;
	double		j;

	if (cp_cmp(a, la, b, lb) > 0)
	{
		const int32_t *tp = a;
		size_t		tl = la;

		a = b;
		la = lb;
		b = tp;
		lb = tl;
	}
	if (la == 0)
		return lb == 0 ? 1.0 : 0.0;

	fb = flags + la;
	mx = la > lb ? la : lb;
	w = mx >= 2 ? mx / 2 - 1 : 0;
	memset(fa, 0, la);
	memset(fb, 0, lb);
	for (size_t i = 0; i < la; i++)
	{
		size_t		lo = i > w ? i - w : 0;
		size_t		hi = i + w + 1 < lb ? i + w + 1 : lb;
		int32_t		c = a[i];

		for (size_t jj = lo; jj < hi; jj++)
		{
			if (!fb[jj] && b[jj] == c)
			{
				fa[i] = fb[jj] = 1;
				m++;
				break;
			}
		}
	}
	if (m == 0)
		return 0.0;

	k = 0;
	for (size_t i = 0; i < la; i++)
	{
		if (!fa[i])
			continue;
		while (!fb[k])
			k++;
		if (a[i] != b[k])
			t++;
		k++;
	}

	dm = (double) m;
	j = (dm / (double) la + dm / (double) lb + (dm - (double) t / 2.0) / dm) / 3.0;
	if (j > 0.7)
	{
		pre = 0;
		while (pre < 4 && pre < la && a[pre] == b[pre])
			pre++;
		j += (double) pre * 0.1 * (1.0 - j);
	}
	return clamp01(j);
}

CdSimStatus
cd_jaro_winkler(const char *a, size_t alen, const char *b, size_t blen,
				const CdAllocator *al, double *out)
{
	SimText		ta;
	SimText		tb;
	uint8_t		local_flags[2 * LOCAL];
	uint8_t    *flags = local_flags;
	CdSimStatus st;

	*out = 0.0;
	st = sim_decode2(&ta, a, alen, &tb, b, blen, al);
	if (st != CD_SIM_OK)
		return st;
	if (ta.n + tb.n > sizeof(local_flags))
	{
		flags = al->alloc(ta.n + tb.n, al->ctx);
		if (flags == NULL)
		{
			sim_free(&ta, al);
			sim_free(&tb, al);
			return CD_SIM_NOMEM;
		}
	}
	*out = jw_cp(ta.cp, ta.n, tb.cp, tb.n, flags);
	if (flags != local_flags)
		al->release(flags, al->ctx);
	sim_free(&ta, al);
	sim_free(&tb, al);
	return CD_SIM_OK;
}


/* ---------------------------------------------------------------- OSA distance */

static inline int
min3(int x, int y, int z)
{
	int			r = x < y ? x : y;

	return r < z ? r : z;
}

/*
 * OSA distance of a (la) and b (lb), capped: returns min(distance, cap) where cap >
 * 0 is the first value that need not be told apart.  rows holds 3 * (min(la,lb) + 1)
 * ints.  A common prefix and suffix never take part in an optimal alignment (a
 * transposition across them would swap equal code points), so they are stripped.  Only
 * cells with |i - j| < cap are computed: any other cell is at least cap, and every value
 * is capped, which keeps the recurrence exact for min(true value, cap).  A path can skip
 * one row (a transposition), so the scan stops when two consecutive rows are all >= cap.
 */
static int
osa_cp(const int32_t *a, size_t la, const int32_t *b, size_t lb, int cap, int *rows)
{
	int		   *p2;
	int		   *p1;
	int		   *cur;
	int			band;
	int			prevmin;

	while (la > 0 && lb > 0 && a[0] == b[0])
	{
		a++;
		b++;
		la--;
		lb--;
	}
	while (la > 0 && lb > 0 && a[la - 1] == b[lb - 1])
	{
		la--;
		lb--;
	}
	/* rows run over a, columns over the shorter b */
	if (la < lb)
	{
		const int32_t *tp = a;
		size_t		tl = la;

		a = b;
		la = lb;
		b = tp;
		lb = tl;
	}
	if (la - lb >= (size_t) cap)
		return cap;
	if (lb == 0)
		return (int) la;

	/* cap <= CD_SIM_MAX_CHARS + 1 (see osa_text), so i + band cannot overflow */
	band = cap - 1;
	p2 = rows;
	p1 = rows + (lb + 1);
	cur = rows + 2 * (lb + 1);
	for (size_t j = 0; j <= lb; j++)
		p1[j] = (j <= (size_t) band) ? (int) j : cap;
	prevmin = 0;

	for (size_t i = 1; i <= la; i++)
	{
		size_t		lo = (i > (size_t) band) ? i - (size_t) band : 1;
		size_t		hi = (i + (size_t) band < lb) ? i + (size_t) band : lb;
		int32_t		ca = a[i - 1];
		/* -1 is no code point: it stands for "no previous character" */
		int32_t		pa = i > 1 ? a[i - 2] : -1;
		int32_t		pb = lo > 1 ? b[lo - 2] : -1;
		int			rowmin;
		int		   *tmp;

		if (lo > hi)
			return cap;			/* band left the matrix: cannot happen after the length test */
		cur[lo - 1] = (lo == 1 && i <= (size_t) band) ? (int) i : cap;
		rowmin = cur[lo - 1];
		for (size_t j = lo; j <= hi; j++)
		{
			int32_t		cb = b[j - 1];
			int			v;

			v = min3(p1[j] + 1, cur[j - 1] + 1, p1[j - 1] + (ca != cb));
			if (ca != cb && ca == pb && pa == cb && p2[j - 2] + 1 < v)
				v = p2[j - 2] + 1;
			if (v > cap)
				v = cap;
			cur[j] = v;
			if (v < rowmin)
				rowmin = v;
			pb = cb;
		}
		if (hi < lb)
			cur[hi + 1] = cap;
		if (rowmin >= cap && prevmin >= cap)
			return cap;
		prevmin = rowmin;
		tmp = p2;
		p2 = p1;
		p1 = cur;
		cur = tmp;
	}
	return p1[lb];
}

/* distance with an optional limit (max < 0: none), on decoded inputs */
static CdSimStatus
osa_text(const SimText *ta, const SimText *tb, int max, const CdAllocator *al, int *out)
{
	int			local_rows[3 * (LOCAL + 1)];
	int		   *rows = local_rows;
	size_t		longer = ta->n > tb->n ? ta->n : tb->n;
	size_t		shorter = ta->n > tb->n ? tb->n : ta->n;
	int			cap;

	/* the distance never exceeds the longer length, so a larger limit changes nothing */
	if (max < 0 || (size_t) max >= longer)
		cap = (int) longer + 1;
	else
		cap = max + 1;
	if (3 * (shorter + 1) > sizeof(local_rows) / sizeof(int))
	{
		rows = al->alloc(3 * (shorter + 1) * sizeof(int), al->ctx);
		if (rows == NULL)
			return CD_SIM_NOMEM;
	}
	*out = osa_cp(ta->cp, ta->n, tb->cp, tb->n, cap, rows);
	if (rows != local_rows)
		al->release(rows, al->ctx);
	return CD_SIM_OK;
}

CdSimStatus
cd_levenshtein(const char *a, size_t alen, const char *b, size_t blen, int max,
			   const CdAllocator *al, int *out)
{
	SimText		ta;
	SimText		tb;
	CdSimStatus st;

	*out = 0;
	st = sim_decode2(&ta, a, alen, &tb, b, blen, al);
	if (st != CD_SIM_OK)
		return st;
	st = osa_text(&ta, &tb, max, al, out);
	sim_free(&ta, al);
	sim_free(&tb, al);
	if (st != CD_SIM_OK)
		*out = 0;
	return st;
}

CdSimStatus
cd_levenshtein_similarity(const char *a, size_t alen, const char *b, size_t blen,
						  const CdAllocator *al, double *out)
{
	SimText		ta;
	SimText		tb;
	CdSimStatus st;
	int			d = 0;
	size_t		longer;

	*out = 0.0;
	st = sim_decode2(&ta, a, alen, &tb, b, blen, al);
	if (st != CD_SIM_OK)
		return st;
	longer = ta.n > tb.n ? ta.n : tb.n;
	if (longer == 0)
		*out = 1.0;
	else
	{
		st = osa_text(&ta, &tb, -1, al, &d);
		if (st == CD_SIM_OK)
			*out = clamp01(1.0 - (double) d / (double) longer);
	}
	sim_free(&ta, al);
	sim_free(&tb, al);
	return st;
}


/* ---------------------------------------------------------------- trigrams */

static inline bool
is_word_cp(int32_t c)
{
	return c >= 0x80 ||
		(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* code points fit in 21 bits, so three of them pack into a key without collisions */
static inline uint64_t
trgm_key(int32_t c0, int32_t c1, int32_t c2)
{
	return ((uint64_t) c0 << 42) | ((uint64_t) c1 << 21) | (uint64_t) c2;
}

/* trigrams of every padded word of s into keys; returns their number */
static size_t
trgm_extract(const int32_t *s, size_t n, uint64_t *keys)
{
	size_t		nk = 0;
	size_t		i = 0;

	while (i < n)
	{
		int32_t		p0;
		int32_t		p1;

		while (i < n && !is_word_cp(s[i]))
			i++;
		if (i >= n)
			break;
		p0 = ' ';
		p1 = ' ';
		while (i < n && is_word_cp(s[i]))
		{
			keys[nk++] = trgm_key(p0, p1, s[i]);
			p0 = p1;
			p1 = s[i];
			i++;
		}
		keys[nk++] = trgm_key(p0, p1, ' ');
	}
	return nk;
}

static void
sift_down_u64(uint64_t *v, size_t root, size_t n)
{
	for (;;)
	{
		size_t		child = 2 * root + 1;
		uint64_t	tmp;

		if (child >= n)
			return;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		tmp = v[root];
		v[root] = v[child];
		v[child] = tmp;
		root = child;
	}
}

/* sort ascending: insertion sort for the short arrays of names, heapsort (O(n log n)) else */
static void
sort_u64(uint64_t *v, size_t n)
{
	if (n <= 32)
	{
		for (size_t i = 1; i < n; i++)
		{
			uint64_t	x = v[i];
			size_t		j = i;

			while (j > 0 && v[j - 1] > x)
			{
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
		return;
	}
	for (size_t i = n / 2; i-- > 0;)
		sift_down_u64(v, i, n);
	for (size_t end = n - 1; end > 0; end--)
	{
		uint64_t	tmp = v[0];

		v[0] = v[end];
		v[end] = tmp;
		sift_down_u64(v, 0, end);
	}
}

static size_t
uniq_u64(uint64_t *v, size_t n)
{
	size_t		k = 0;

	for (size_t i = 0; i < n; i++)
	{
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	}
	return k;
}

CdSimStatus
cd_trigram_similarity(const char *a, size_t alen, const char *b, size_t blen,
					  const CdAllocator *al, double *out)
{
	SimText		ta;
	SimText		tb;
	uint64_t	local_keys[2 * TRGM_CAP(LOCAL)];
	uint64_t   *ka = local_keys;
	uint64_t   *kb;
	size_t		na;
	size_t		nb;
	size_t		common = 0;
	size_t		i = 0;
	size_t		j = 0;
	CdSimStatus st;

	*out = 0.0;
	st = sim_decode2(&ta, a, alen, &tb, b, blen, al);
	if (st != CD_SIM_OK)
		return st;
	if (TRGM_CAP(ta.n) + TRGM_CAP(tb.n) > sizeof(local_keys) / sizeof(uint64_t))
	{
		ka = al->alloc((TRGM_CAP(ta.n) + TRGM_CAP(tb.n)) * sizeof(uint64_t), al->ctx);
		if (ka == NULL)
		{
			sim_free(&ta, al);
			sim_free(&tb, al);
			return CD_SIM_NOMEM;
		}
	}
	kb = ka + TRGM_CAP(ta.n);
	na = trgm_extract(ta.cp, ta.n, ka);
	nb = trgm_extract(tb.cp, tb.n, kb);
	sort_u64(ka, na);
	sort_u64(kb, nb);
	na = uniq_u64(ka, na);
	nb = uniq_u64(kb, nb);
	while (i < na && j < nb)
	{
		if (ka[i] < kb[j])
			i++;
		else if (ka[i] > kb[j])
			j++;
		else
		{
			common++;
			i++;
			j++;
		}
	}
	if (na > 0 && nb > 0)
		*out = clamp01((double) common / (double) (na + nb - common));
	if (ka != local_keys)
		al->release(ka, al->ctx);
	sim_free(&ta, al);
	sim_free(&tb, al);
	return CD_SIM_OK;
}


/* ---------------------------------------------------------------- tokens */

static inline bool
is_token_sep(int32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* token boundaries of s (counted before by count_tokens): start offsets and lengths */
static void
tokenize(const int32_t *s, size_t n, uint32_t *start, uint32_t *len)
{
	size_t		nt = 0;
	size_t		i = 0;

	while (i < n)
	{
		size_t		st;

		while (i < n && is_token_sep(s[i]))
			i++;
		if (i >= n)
			break;
		st = i;
		while (i < n && !is_token_sep(s[i]))
			i++;
		start[nt] = (uint32_t) st;
		len[nt] = (uint32_t) (i - st);
		nt++;
	}
}

static size_t
count_tokens(const int32_t *s, size_t n, size_t *longest)
{
	size_t		nt = 0;
	size_t		cur = 0;

	*longest = 0;
	for (size_t i = 0; i < n; i++)
	{
		if (is_token_sep(s[i]))
			cur = 0;
		else
		{
			if (cur == 0)
				nt++;
			cur++;
			if (cur > *longest)
				*longest = cur;
		}
	}
	return nt;
}

/* pair order for greedy matching: higher similarity first, then token positions */
static inline bool
pair_before(const SimPair *x, const SimPair *y)
{
	if (x->sim != y->sim)
		return x->sim > y->sim;
	if (x->i != y->i)
		return x->i < y->i;
	return x->j < y->j;
}

static void
sift_down_pair(SimPair *v, size_t root, size_t n)
{
	for (;;)
	{
		size_t		child = 2 * root + 1;
		SimPair		tmp;

		if (child >= n)
			return;
		/* a max-heap under "comes later" sorts into pair_before order */
		if (child + 1 < n && pair_before(&v[child], &v[child + 1]))
			child++;
		if (!pair_before(&v[root], &v[child]))
			return;
		tmp = v[root];
		v[root] = v[child];
		v[child] = tmp;
		root = child;
	}
}

static void
sort_pairs(SimPair *v, size_t n)
{
	if (n <= 32)
	{
		for (size_t i = 1; i < n; i++)
		{
			SimPair		x = v[i];
			size_t		j = i;

			while (j > 0 && pair_before(&x, &v[j - 1]))
			{
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
		return;
	}
	for (size_t i = n / 2; i-- > 0;)
		sift_down_pair(v, i, n);
	for (size_t end = n - 1; end > 0; end--)
	{
		SimPair		tmp = v[0];

		v[0] = v[end];
		v[end] = tmp;
		sift_down_pair(v, 0, end);
	}
}

/* similarity of two tokens: JW, raised to 0.9 for an initial or other proper prefix */
static double
token_pair_sim(const int32_t *x, size_t lx, const int32_t *y, size_t ly, uint8_t *flags)
{
	double		s = jw_cp(x, lx, y, ly, flags);

	if (s < 0.9 && lx != ly)
	{
		size_t		shorter = lx < ly ? lx : ly;

		if (memcmp(x, y, shorter * sizeof(int32_t)) == 0)
			s = 0.9;
	}
	return s;
}

CdSimStatus
cd_token_similarity(const char *a, size_t alen, const char *b, size_t blen,
					const CdAllocator *al, double *out)
{
	SimText		ta;
	SimText		tb;
	const SimText *xa;
	const SimText *xb;
	size_t		na;
	size_t		nb;
	size_t		longest_a;
	size_t		longest_b;
	size_t		npairs = 0;
	size_t		k;
	size_t		e;
	size_t		taken = 0;
	double		sum = 0.0;
	CdSimStatus st;

	/* scratch on the stack for inputs of up to LOCAL code points each */
	uint32_t	local_tok[4 * (LOCAL / 2 + 1)];
	uint8_t		local_flags[2 * LOCAL + 2 * (LOCAL / 2 + 1)];
	SimPair		local_pairs[LOCAL_PAIRS];
	void	   *heap = NULL;
	uint32_t   *sa;
	uint32_t   *la;
	uint32_t   *sb;
	uint32_t   *lb;
	uint8_t    *flags;
	uint8_t    *used_a;
	uint8_t    *used_b;
	SimPair    *pairs;

	*out = 0.0;
	st = sim_decode2(&ta, a, alen, &tb, b, blen, al);
	if (st != CD_SIM_OK)
		return st;

	/* canonical order keeps greedy tie-breaking, and so the score, symmetric */
	if (cp_cmp(ta.cp, ta.n, tb.cp, tb.n) <= 0)
	{
		xa = &ta;
		xb = &tb;
	}
	else
	{
		xa = &tb;
		xb = &ta;
	}

	na = count_tokens(xa->cp, xa->n, &longest_a);
	nb = count_tokens(xb->cp, xb->n, &longest_b);
	if (na > CD_SIM_MAX_TOKENS || nb > CD_SIM_MAX_TOKENS)
	{
		st = CD_SIM_TOO_LONG;
		goto done;
	}
	if (na == 0 || nb == 0)
		goto done;

	if (2 * (na + nb) <= sizeof(local_tok) / sizeof(uint32_t) &&
		longest_a + longest_b + na + nb <= sizeof(local_flags) &&
		na * nb <= LOCAL_PAIRS)
	{
		sa = local_tok;
		la = sa + na;
		sb = la + na;
		lb = sb + nb;
		flags = local_flags;
		pairs = local_pairs;
	}
	else
	{
		size_t		pair_bytes = na * nb * sizeof(SimPair);
		size_t		tok_bytes = 2 * (na + nb) * sizeof(uint32_t);
		size_t		flag_bytes = longest_a + longest_b + na + nb;

		heap = al->alloc(pair_bytes + tok_bytes + flag_bytes, al->ctx);
		if (heap == NULL)
		{
			st = CD_SIM_NOMEM;
			goto done;
		}
		/* pairs first, then uint32 arrays, then bytes: every part stays aligned */
		pairs = heap;
		sa = (uint32_t *) ((char *) heap + pair_bytes);
		la = sa + na;
		sb = la + na;
		lb = sb + nb;
		flags = (uint8_t *) (lb + nb);
	}
	used_a = flags + longest_a + longest_b;
	used_b = used_a + na;
	tokenize(xa->cp, xa->n, sa, la);
	tokenize(xb->cp, xb->n, sb, lb);
	memset(used_a, 0, na);
	memset(used_b, 0, nb);

	/*
	 * Identical tokens are the only pairs of similarity 1, so the greedy pass would take
	 * them first, in position order; doing that up front spares the JW of every pair
	 * that involves them (the common case: most tokens of two candidate names agree).
	 */
	for (size_t i = 0; i < na; i++)
	{
		for (size_t j = 0; j < nb; j++)
		{
			if (!used_b[j] && la[i] == lb[j] &&
				memcmp(xa->cp + sa[i], xb->cp + sb[j], la[i] * sizeof(int32_t)) == 0)
			{
				used_a[i] = used_b[j] = 1;
				sum += 1.0;
				taken++;
				break;
			}
		}
	}

	for (size_t i = 0; i < na; i++)
	{
		if (used_a[i])
			continue;
		for (size_t j = 0; j < nb; j++)
		{
			double		s;

			if (used_b[j])
				continue;
			s = token_pair_sim(xa->cp + sa[i], la[i], xb->cp + sb[j], lb[j], flags);

			if (s > 0.0)
			{
				pairs[npairs].sim = s;
				pairs[npairs].i = (uint32_t) i;
				pairs[npairs].j = (uint32_t) j;
				npairs++;
			}
		}
	}
	sort_pairs(pairs, npairs);

	k = na < nb ? na : nb;
	e = na < nb ? nb - na : na - nb;
	for (size_t p = 0; p < npairs && taken < k; p++)
	{
		if (used_a[pairs[p].i] || used_b[pairs[p].j])
			continue;
		used_a[pairs[p].i] = used_b[pairs[p].j] = 1;
		sum += pairs[p].sim;
		taken++;
	}
	*out = clamp01(2.0 * sum / (2.0 * (double) k + 0.25 * (double) e));

done:
	if (heap)
		al->release(heap, al->ctx);
	sim_free(&ta, al);
	sim_free(&tb, al);
	return st;
}
