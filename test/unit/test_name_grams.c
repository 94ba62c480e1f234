/*
 * test_name_grams.c
 *		Unit tests of the name_ops index core (name_grams.c): keys shared across scripts,
 *		the bound and the evidence on known pairs, determinism, shapes of keys, statuses
 *		and hostile inputs, a failing allocator at every allocation, monotonicity of the
 *		bound, and the contract with name_match.c: over a corpus of names in several
 *		scripts, the bound never falls below cd_name_similarity_one_edit() (a pair it
 *		misses would lose its %~ match; a change of name_match.c that adds a rule the
 *		keys do not see fails here), and the pairs it leaves below name_similarity() are
 *		the typos of two edits in words of 9+ letters that the evidence does not credit.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "name_grams.h"
#include "name_match.h"

#define A (&cd_malloc_allocator)
#define PINNED_N 14
#define PINNED_HASH 0xebc945b3U

/* ---------------------------------------------------------------- helpers */

typedef struct Keys
{
	uint32_t   *k;
	int			n;
} Keys;

static Keys
grams(const char *s)
{
	Keys		k = {NULL, 0};

	ck_assert_int_eq(cd_name_grams(s, strlen(s), A, &k.k, &k.n), CD_MATCH_OK);
	return k;
}

static CdNameQuery *
query(const char *s)
{
	CdNameQuery *q = NULL;

	ck_assert_int_eq(cd_name_query_new(s, strlen(s), A, &q), CD_MATCH_OK);
	ck_assert_ptr_nonnull(q);
	return q;
}

/* bound of query a against the stored keys of b */
static double
bound(const char *a, const char *b)
{
	CdNameQuery *q = query(a);
	Keys		k = grams(b);
	double		r = cd_name_query_bound_keys(q, k.k, k.n);

	free(k.k);
	cd_name_query_free(q);
	return r;
}

static double
evidence(const char *a, const char *b)
{
	CdNameQuery *qa = query(a);
	CdNameQuery *qb = query(b);
	double		r = cd_name_evidence(qa, qb);

	cd_name_query_free(qa);
	cd_name_query_free(qb);
	return r;
}

static double
similarity(const char *a, const char *b)
{
	double		s = -1;

	ck_assert_int_eq(cd_name_similarity(a, strlen(a), b, strlen(b), A, &s), CD_MATCH_OK);
	return s;
}

/* the similarity the evidence covers: typos of one edit only (name_match.h) */
static double
similarity_one_edit(const char *a, const char *b)
{
	double		s = -1;

	ck_assert_int_eq(cd_name_similarity_one_edit(a, strlen(a), b, strlen(b), A, &s),
					 CD_MATCH_OK);
	return s;
}

static int
shared(Keys x, Keys y)
{
	int			i = 0,
				j = 0,
				c = 0;

	while (i < x.n && j < y.n)
	{
		if (x.k[i] == y.k[j])
		{
			c++;
			i++;
			j++;
		}
		else if (x.k[i] < y.k[j])
			i++;
		else
			j++;
	}
	return c;
}

static int
count_class(Keys x, CdGramClass c)
{
	int			n = 0;

	for (int i = 0; i < x.n; i++)
		if (CD_GRAM_CLASS(x.k[i]) == c)
			n++;
	return n;
}

typedef struct CountCtx
{
	int			allocs;
	int			live;
	int			fail_at;		/* -1: never fail */
} CountCtx;

static void *
count_alloc(size_t size, void *ctx)
{
	CountCtx   *c = ctx;

	if (c->fail_at >= 0 && c->allocs++ >= c->fail_at)
		return NULL;
	c->live++;
	return malloc(size);
}

static void *
count_resize(void *ptr, size_t size, void *ctx)
{
	CountCtx   *c = ctx;

	if (c->fail_at >= 0 && c->allocs++ >= c->fail_at)
		return NULL;
	return realloc(ptr, size);
}

static void
count_release(void *ptr, void *ctx)
{
	CountCtx   *c = ctx;

	c->live--;
	free(ptr);
}

/* ---------------------------------------------------------------- known pairs */

typedef struct PairCase
{
	const char *a;
	const char *b;
	double		min_evidence;	/* the evidence reaches at least this */
	double		max_bound;		/* and the bound of a against b is at most this */
} PairCase;

static const PairCase pair_cases[] = {
	/* the same name across scripts */
	{"Петров Иван", "Ivan Petrov", 1.0, 1.0},
	{"Щукин Пётр", "Shchukin Petr", 1.0, 1.0},
	{"Schukin Pyotr", "Щукин Пётр", 0.9, 1.0},
	{"王小明", "Wang Xiaoming", 1.0, 1.0},
	{"Wang Xiaoming", "王小明", 1.0, 1.0},
	{"王小明", "Ван Сяомин", 0.9, 1.0},
	{"Юлия Чайковская", "Yuliya Chaykovskaya", 1.0, 1.0},
	{"Ἀλέξανδρος Παπαδόπουλος", "Alexandros Papadopoulos", 0.9, 1.0},
	/* the rules of name_similarity, and a bound as tight as the formula */
	{"Ivan Petrov", "Ivan", 0.8, 0.8},
	{"Петров Иван Сергеевич", "Иван Петров", 0.95, 1.0},
	{"Саша Иванов", "Александр Иванов", 0.95, 1.0},
	{"И. Петров", "Иван Петров", 0.9, 1.0},
	{"Иванова Анна", "Иванов Анна", 0.85, 1.0},
	{"Petorv Ivan", "Ivan Petrov", 0.95, 1.0},
	{"Jonh Smith", "John Smith", 0.95, 1.0},
	{"Джон Смит", "John Smith", 0.9, 1.0},
	{"Bill Gates", "William Gates", 0.95, 1.0},
	/* not the same name: the keys keep them below the default threshold */
	{"Ivan Petrov", "Ivan Sidorov", 0.0, 0.5},
	/*
	 * folds 2 letters apart that begin alike may be one edit of the written word apart
	 * (Поланев / Полаев): the bound lets Ivan / Ivanov and Petrov / Petr through to the
	 * recheck (similarity 0)
	 */
	{"Ivan Petrov", "Petr Ivanov", 0.0, 0.95},
	{"Anna Smith", "John Brown", 0.0, 0.0},
	{"Anna Smith", "John Smith", 0.0, 0.5},
	{"Ivan Petrov", "Ivan Petrenko", 0.0, 0.975},
	/*
	 * a changed letter in a short word is a typo only between keyboard neighbours
	 * (name_match.c), which the trigram keys cannot see: the bound lets Mary / Mark
	 * through to the recheck (similarity 0)
	 */
	{"Mary", "Mark", 0.0, 0.9},
	/* typos in words of 4-5 letters (0.2.0): changed, dropped, doubled letters */
	{"Suaan Brown", "Susan Brown", 0.9, 1.0},
	{"Karen Lomg", "Karen Long", 0.9, 1.0},
	{"Ивпн Воробьёв", "Иван Воробьёв", 0.9, 1.0},
	{"Sara Smith", "Sarah Smith", 0.95, 1.0},
	{"Hnry Smith", "Henry Smith", 0.95, 1.0},
	/*
	 * one edit of the written word that the spelling fold makes two or more (name_match.c,
	 * written_typo): ts = c, ph = f, ae = a, ia = iya
	 */
	{"Анастсия Сунелева", "Анастасия Сунелева", 0.95, 1.0},
	{"Дмитрий Полаев", "Дмитрий Поланев", 0.95, 1.0},
	{"Sopie Nelt", "Sophie Nelt", 0.95, 1.0},
	{"Jiqng Chao", "Jiang Chao", 0.9, 1.0},
	/* one edit in a word of 9+ letters is a typo for the evidence too */
	{"Егоров Денис Константинович", "Егоров Денис Констнатинович", 0.95, 1.0},
	{"Egorov Denis Konstantinovich", "Egorov Denis Konstantinovic", 0.95, 1.0},
	/*
	 * two patronymics sharing their ending are no typo of one edit: the bound stays
	 * below the threshold (it credited Ivanovich as a typo of Egorovich, 0.65, while
	 * the evidence counted typos of two edits in words of 9+ letters)
	 */
	{"Vozorsky Denis Egorovich", "Petrov Denis Ivanovich", 0.0, 0.59},
	{"Возорский Денис Егорович", "Петров Денис Иванович", 0.0, 0.59},
};

START_TEST(test_pairs)
{
	const PairCase *c = &pair_cases[_i];
	double		ab = bound(c->a, c->b);
	double		ev = evidence(c->a, c->b);
	double		sim = similarity_one_edit(c->a, c->b);

	ck_assert_msg(ev >= c->min_evidence - 1e-9, "%s / %s: evidence %f < %f",
				  c->a, c->b, ev, c->min_evidence);
	ck_assert_msg(ab <= c->max_bound + 1e-9, "%s / %s: bound %f > %f",
				  c->a, c->b, ab, c->max_bound);
	ck_assert_msg(ab >= sim - 1e-9, "%s / %s: bound %f < similarity %f", c->a, c->b, ab, sim);
	ck_assert_msg(ev <= ab, "%s / %s: evidence above the bound", c->a, c->b);
}
END_TEST

/* names of one person in different scripts share keys of several classes */
/*
 * Two edits in a word of 9+ letters: name_similarity scores the typo, the evidence does
 * not credit it (%~ needs another key: here none), name_similarity_one_edit agrees.
 */
START_TEST(test_two_edit_typos)
{
	const char *a = "Jonh Tchaikovsy";
	const char *b = "Jonh Tcaikovsky";

	ck_assert_double_ge(similarity(a, b), 0.95);
	ck_assert_double_lt(similarity_one_edit(a, b), 0.6);
	ck_assert_double_lt(evidence(a, b), 0.6);
	ck_assert_double_ge(bound(a, b), similarity_one_edit(a, b) - 1e-9);
	/* the same name in the other script is one edit away: credited */
	ck_assert_double_ge(evidence("Чайковский Пётр", "Chaikovsky Pyotr"), 0.9);
}
END_TEST

START_TEST(test_shared_keys)
{
	Keys		ru = grams("Петров Иван");
	Keys		en = grams("Ivan Petrov");
	Keys		init = grams("Petrov I.");
	Keys		han = grams("王小明");
	Keys		pin = grams("Wang Xiaoming");
	Keys		other = grams("Anna Smith");

	ck_assert_int_ge(shared(ru, en), 15);
	ck_assert_int_ge(shared(ru, init), 8);	/* petrov's trigrams and sound */
	ck_assert_int_ge(shared(han, pin), 6);	/* wang, and xiao ming joined */
	ck_assert_int_le(shared(ru, other), 2);	/* shape keys at most */
	/* 2 words, no patronymic: the default counts have no shape key (name-grams-4) */
	ck_assert_int_eq(count_class(ru, CD_GRAM_SHAPE), 0);
	{
		Keys		full = grams("Петров Иван Сергеевич");

		ck_assert_int_eq(count_class(full, CD_GRAM_SHAPE), 2);	/* 3 words, 1 patronymic */
		free(full.k);
	}
	ck_assert_int_ge(count_class(ru, CD_GRAM_TRIGRAM), 10);
	ck_assert_int_ge(count_class(ru, CD_GRAM_SOUND), 2);
	ck_assert_int_ge(count_class(en, CD_GRAM_SOUND), count_class(ru, CD_GRAM_SOUND));
	ck_assert_int_ge(count_class(han, CD_GRAM_JOINED), 1);
	free(ru.k);
	free(en.k);
	free(init.k);
	free(han.k);
	free(pin.k);
	free(other.k);
}
END_TEST

/*
 * A name of 2 words with a patronymic (Андрей Иванович) holds a key of its own
 * (name-grams-5): it scores 0.769 with Andrej Chudykh (the surname it lacks and its
 * patronymic are extra words, 0.25 + 0.05), so the bound must allow it while the key
 * may be held, and an item of 2 words that does not hold it has no patronymic: one
 * sharing only the given name (Андрей Смирнов) is then below 0.6 whatever the common
 * count keys of 3-word names say.
 */
START_TEST(test_default_patronymic)
{
	Keys		two = grams("Андрей Иванович");
	Keys		three = grams("Петров Иван Сергеевич");
	Keys		plain = grams("Андрей Смирнов");
	CdNameQuery *q = query("Andrej Chudykh");
	const uint32_t *qk = cd_name_query_keys(q);
	int			nk = cd_name_query_nkeys(q);
	uint8_t    *st = malloc(nk > 0 ? nk : 1);
	uint32_t	combo = 0;
	int			ncombo = 0;

	ck_assert_int_eq(count_class(two, CD_GRAM_SHAPE), 2);	/* 1 patronymic, and this */
	ck_assert_int_eq(count_class(three, CD_GRAM_SHAPE), 2);	/* 3 words, 1 patronymic */
	ck_assert_int_eq(count_class(plain, CD_GRAM_SHAPE), 0);
	for (int i = 0; i < two.n; i++)
	{
		bool		in_three = false;

		if (CD_GRAM_CLASS(two.k[i]) != CD_GRAM_SHAPE)
			continue;
		for (int j = 0; j < three.n; j++)
			in_three |= three.k[j] == two.k[i];
		if (!in_three)
		{
			combo = two.k[i];
			ncombo++;
		}
	}
	ck_assert_int_eq(ncombo, 1);
	ck_assert_double_eq_tol(similarity("Andrej Chudykh", "Андрей Иванович"), 1 / 1.3, 1e-9);
	ck_assert_double_ge(bound("Andrej Chudykh", "Андрей Иванович"), 1 / 1.3 - 1e-9);
	ck_assert_double_lt(bound("Andrej Chudykh", "Андрей Смирнов"), 0.6);

	/*
	 * What GIN's scan asks before it reads the lists of the given name's keys: the keys
	 * of Андрей Смирнов present, the count keys of 3-word names with a patronymic (held
	 * by a third of the benchmark's names) unknown, the rare ones absent; the
	 * default-patronymic key absent, then unknown.
	 */
	for (int i = 0; i < nk; i++)
	{
		bool		held = false,
					common = false;

		for (int j = 0; j < plain.n; j++)
			held |= plain.k[j] == qk[i];
		for (int j = 0; j < three.n; j++)
			common |= three.k[j] == qk[i];
		st[i] = held ? CD_GRAM_PRESENT : common ? CD_GRAM_MAYBE : CD_GRAM_ABSENT;
		if (qk[i] == combo)
			st[i] = CD_GRAM_ABSENT;
	}
	ck_assert_double_lt(cd_name_query_bound(q, st), 0.6);
	for (int i = 0; i < nk; i++)
		if (qk[i] == combo)
			st[i] = CD_GRAM_MAYBE;
	ck_assert_double_ge(cd_name_query_bound(q, st), 1 / 1.3 - 1e-9);
	free(st);
	free(two.k);
	free(three.k);
	free(plain.k);
	cd_name_query_free(q);
}
END_TEST

/* keys are sorted, distinct, deterministic, and a plan knows the keys of its own name */
START_TEST(test_determinism)
{
	static const char *const names[] = {
		"Петров Иван Сергеевич", "王小明", "O'Brien-Smith, John Jr.", "Ἀλέξανδρος",
		"김민수", "Jean-Pierre Lefèvre", "x", "ИВАН иван Ivan"
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		Keys		a = grams(names[i]);
		Keys		b = grams(names[i]);
		CdNameQuery *q = query(names[i]);
		int			ns;
		const uint32_t *sk = cd_name_query_stored_keys(q, &ns);
		const uint32_t *qk = cd_name_query_keys(q);

		ck_assert_int_gt(a.n, 0);
		ck_assert_int_eq(a.n, b.n);
		ck_assert_mem_eq(a.k, b.k, a.n * sizeof(uint32_t));
		ck_assert_int_eq(ns, a.n);
		ck_assert_mem_eq(sk, a.k, a.n * sizeof(uint32_t));
		for (int j = 1; j < a.n; j++)
			ck_assert_uint_lt(a.k[j - 1], a.k[j]);
		for (int j = 1; j < cd_name_query_nkeys(q); j++)
			ck_assert_uint_lt(qk[j - 1], qk[j]);
		/* a name is as similar as can be to itself */
		ck_assert_double_eq_tol(cd_name_query_bound_keys(q, a.k, a.n), 1.0, 1e-12);
		free(a.k);
		free(b.k);
		cd_name_query_free(q);
	}
}
END_TEST

/*
 * Pinned keys: a change of the rules of this file must come with a new
 * CD_NAME_GRAMS_VERSION (indexes must be rebuilt).  Sound and nickname keys are left
 * out: they follow phonetic.c and the nickname data, which have versions of their own.
 */
START_TEST(test_pinned_keys)
{
	Keys		k = grams("Ivan Petrov");
	uint32_t	h = 2166136261U;
	int			n = 0;

	for (int i = 0; i < k.n; i++)
	{
		if (CD_GRAM_CLASS(k.k[i]) == CD_GRAM_SOUND || CD_GRAM_CLASS(k.k[i]) == CD_GRAM_NICKNAME)
			continue;
		n++;
		h ^= k.k[i];
		h *= 16777619U;
	}
	ck_assert_str_eq(CD_NAME_GRAMS_VERSION, "name-grams-6");
	ck_assert_int_eq(n, PINNED_N);
	ck_assert_uint_eq(h, PINNED_HASH);
	free(k.k);
}
END_TEST

/*
 * Keys of sounds, gender stems, swaps and joined runs share a few values per class (a
 * small index: name_grams.h), the others keep 29 bits; no key of a whole word is stored.
 */
START_TEST(test_key_buckets)
{
	static const char *const names[] = {"Петров Иван Сергеевич", "王小明", "Wang Xiao Ming",
	"Jonh Smith", "Иванова Анна", "Jean-Pierre Lefèvre"};
	int			wide = 0;

	for (size_t t = 0; t < sizeof(names) / sizeof(names[0]); t++)
	{
		Keys		k = grams(names[t]);

		for (int i = 0; i < k.n; i++)
		{
			uint32_t	low = k.k[i] & 0x1FFFFFFFu;

			switch (CD_GRAM_CLASS(k.k[i]))
			{
				case CD_GRAM_SOUND:
				case CD_GRAM_GENDER:
				case CD_GRAM_SWAP:
					ck_assert_uint_lt(low, 1u << 16);
					break;
				case CD_GRAM_JOINED:
					ck_assert_uint_lt(low, 1u << 14);
					break;
				default:
					if (low >= 1u << 16)
						wide++;
					break;
			}
		}
		free(k.k);
	}
	ck_assert_int_gt(wide, 0);
	/* joins still meet: a stored run and a query word, a query run and a stored word */
	ck_assert_double_eq_tol(bound("Wang Xiaoming", "Wang Xiao Ming"), 1.0, 1e-12);
	ck_assert_double_eq_tol(bound("Wang Xiao Ming", "Wang Xiaoming"), 1.0, 1e-12);
}
END_TEST

/* trigram keys carry the word length: a 4-letter word meets no trigram of a 7-letter one */
START_TEST(test_trigram_lengths)
{
	Keys		a = grams("ivan");
	Keys		b = grams("ivanova");
	Keys		c = grams("ivna");
	int			common = 0;

	for (int i = 0; i < a.n; i++)
		for (int j = 0; j < b.n; j++)
			if (a.k[i] == b.k[j] && CD_GRAM_CLASS(a.k[i]) == CD_GRAM_TRIGRAM)
				common++;
	ck_assert_int_eq(common, 0);
	ck_assert_int_ge(shared(a, c), 3);	/* "  i", " iv", and the swap key */
	ck_assert_double_eq_tol(bound("ivan", "ivna"), 0.95, 1e-12);
	free(a.k);
	free(b.k);
	free(c.k);
}
END_TEST

/* at most CD_NAME_MAX_WORDS words count, as in name_similarity */
START_TEST(test_word_limit)
{
	const char *twelve = "a1 b2 c3 d4 e5 f6 g7 h8 i9 j10 k11 l12";
	const char *more = "a1 b2 c3 d4 e5 f6 g7 h8 i9 j10 k11 l12 m13 n14";
	Keys		x = grams(twelve);
	Keys		y = grams(more);
	CdNameQuery *q = query(more);

	ck_assert_int_eq(cd_name_query_nwords(q), CD_NAME_MAX_WORDS);
	ck_assert_int_eq(x.n, y.n);
	ck_assert_mem_eq(x.k, y.k, x.n * sizeof(uint32_t));
	ck_assert_double_eq_tol(cd_name_query_bound_keys(q, x.k, x.n), 1.0, 1e-12);
	free(x.k);
	free(y.k);
	cd_name_query_free(q);
}
END_TEST

/* ---------------------------------------------------------------- hostile input */

START_TEST(test_statuses)
{
	static char big[CD_MATCH_MAX_BYTES + 2];
	uint32_t   *k = (uint32_t *) 1;
	int			n = -1;
	CdNameQuery *q = (CdNameQuery *) 1;

	/* invalid UTF-8, truncated sequences, surrogates, overlongs */
	ck_assert_int_eq(cd_name_grams("\xff\xfe", 2, A, &k, &n), CD_MATCH_INVALID_UTF8);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(cd_name_grams("Ив\xd0", 5, A, &k, &n), CD_MATCH_INVALID_UTF8);
	ck_assert_int_eq(cd_name_grams("\xed\xa0\x80", 3, A, &k, &n), CD_MATCH_INVALID_UTF8);
	ck_assert_int_eq(cd_name_grams("\xc0\xaf", 2, A, &k, &n), CD_MATCH_INVALID_UTF8);
	ck_assert_int_eq(cd_name_query_new("\xff", 1, A, &q), CD_MATCH_INVALID_UTF8);
	ck_assert_ptr_null(q);

	/* the length limit of name_similarity, exactly */
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(cd_name_grams(big, CD_MATCH_MAX_BYTES + 1, A, &k, &n), CD_MATCH_TOO_LONG);
	ck_assert_int_eq(cd_name_query_new(big, CD_MATCH_MAX_BYTES + 1, A, &q), CD_MATCH_TOO_LONG);
	ck_assert_int_eq(cd_name_grams(big, CD_MATCH_MAX_BYTES, A, &k, &n), CD_MATCH_OK);
	ck_assert_int_gt(n, 0);
	free(k);

	/* nothing usable: no keys, no words, bound 0 */
	ck_assert_int_eq(cd_name_grams("", 0, A, &k, &n), CD_MATCH_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(cd_name_grams(" -- !!! \t\n ", 11, A, &k, &n), CD_MATCH_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(cd_name_grams("\0\0\0", 3, A, &k, &n), CD_MATCH_OK);
	ck_assert_int_eq(n, 0);
	q = query("?!");
	ck_assert_int_eq(cd_name_query_nkeys(q), 0);
	ck_assert_int_eq(cd_name_query_nwords(q), 0);
	ck_assert_double_eq(cd_name_query_bound(q, NULL), 0.0);
	cd_name_query_free(q);
}
END_TEST

/* long words, many words, floods of marks, emoji, mixed scripts, control bytes */
START_TEST(test_hostile_shapes)
{
	static char word[CD_MATCH_MAX_BYTES + 1];
	static char words[CD_MATCH_MAX_BYTES + 1];
	static char marks[CD_MATCH_MAX_BYTES + 1];
	const char *mixed = "Иван王\xF0\x9F\x98\x80Ivan\x01\x7fΑλέξης 김민수 ١٢٣ Ǆemal";
	size_t		n;
	Keys		k;

	for (n = 0; n + 1 < sizeof(word); n++)
		word[n] = "abcdefghijklmnopqrstuvwxyz"[(n * 7) % 26];
	k = grams(word);
	ck_assert_int_gt(k.n, 0);
	ck_assert_double_eq_tol(bound(word, word), 1.0, 1e-12);
	free(k.k);

	for (n = 0; n + 3 <= sizeof(words); n += 2)
	{
		words[n] = "abcdefghij"[(n / 2) % 10];
		words[n + 1] = ' ';
	}
	k = grams(words);
	ck_assert_int_gt(k.n, 0);
	ck_assert_int_le(k.n, 400);		/* only CD_NAME_MAX_WORDS words count */
	free(k.k);

	/* "a" followed by combining acute accents up to the limit */
	marks[0] = 'a';
	for (n = 1; n + 3 <= sizeof(marks); n += 2)
	{
		marks[n] = '\xcc';
		marks[n + 1] = '\x81';
	}
	k = grams(marks);
	ck_assert_int_gt(k.n, 0);
	free(k.k);

	k = grams(mixed);
	ck_assert_int_gt(k.n, 0);
	ck_assert_double_eq_tol(bound(mixed, mixed), 1.0, 1e-12);
	ck_assert_double_eq_tol(evidence(mixed, mixed), 1.0, 1e-12);
	free(k.k);
}
END_TEST

/* every allocation fails in turn: NOMEM or OK, nothing leaked */
START_TEST(test_nomem_each_step)
{
	static const char *const inputs[] = {"Петров Иван Сергеевич", "王小明", "Jean-Pierre Lefèvre"};

	for (size_t t = 0; t < sizeof(inputs) / sizeof(inputs[0]); t++)
	{
		const char *s = inputs[t];
		bool		done_grams = false,
					done_query = false;

		for (int fail = 0; fail < 200 && !(done_grams && done_query); fail++)
		{
			CountCtx	ctx = {0, 0, fail};
			CdAllocator fal = {count_alloc, count_resize, count_release, &ctx};
			uint32_t   *k = NULL;
			int			n = 0;
			CdNameQuery *q = NULL;
			CdMatchStatus st;

			st = cd_name_grams(s, strlen(s), &fal, &k, &n);
			ck_assert(st == CD_MATCH_OK || st == CD_MATCH_NOMEM);
			if (st == CD_MATCH_OK)
			{
				done_grams = true;
				fal.release(k, fal.ctx);
			}
			else
				ck_assert(k == NULL && n == 0);
			ck_assert_int_eq(ctx.live, 0);

			ctx.allocs = 0;
			st = cd_name_query_new(s, strlen(s), &fal, &q);
			ck_assert(st == CD_MATCH_OK || st == CD_MATCH_NOMEM);
			if (st == CD_MATCH_OK)
			{
				done_query = true;
				cd_name_query_free(q);
			}
			else
				ck_assert_ptr_null(q);
			ck_assert_int_eq(ctx.live, 0);
		}
		ck_assert(done_grams && done_query);
	}
}
END_TEST

/* ---------------------------------------------------------------- properties */

/* a corpus of names: Russian in two scripts, English, Chinese in Han and pinyin, variants */
#define CORPUS_MAX 400
static char *corpus[CORPUS_MAX];
static int	ncorpus;

static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245U + 12345U;
	return *s >> 8;
}

static void
add_name(const char *s)
{
	if (ncorpus < CORPUS_MAX)
		corpus[ncorpus++] = strdup(s);
}

static void
fill_corpus(void)
{
	static const char *const ru_sur[] = {"Петров", "Иванов", "Щукин", "Харитонов", "Чайковский", "Толстой", "Цой", "Ёлкин"};
	static const char *const ru_fsur[] = {"Петрова", "Иванова", "Щукина", "Чайковская", "Толстая"};
	static const char *const ru_giv[] = {"Иван", "Пётр", "Саша", "Александр", "Юрий", "Евгений", "Сергей"};
	static const char *const ru_fgiv[] = {"Анна", "Юлия", "Евгения", "Наталья"};
	static const char *const ru_pat[] = {"Иванович", "Сергеевна", "Ильич", "Петровна"};
	static const char *const la_sur[] = {"Petrov", "Ivanov", "Shchukin", "Schukin", "Kharitonov", "Haritonov", "Tchaikovsky", "Tsoi", "Smith", "Smyth", "Mueller", "Muller", "Petrovic", "Petrova", "Smirnoff", "Chirac"};
	static const char *const la_giv[] = {"Ivan", "Petr", "Pyotr", "Sasha", "Alexander", "Yuri", "Iurii", "John", "Jonh", "Bill", "William", "Jacques", "Giuseppe", "Jorge", "Anna", "Yulia"};
	static const char *const zh[] = {"王小明", "李华", "张伟", "欧阳小明", "司马相如", "Wang Xiaoming", "Xiaoming Wang", "Wang Xiao Ming", "Ван Сяомин", "Li Hua", "Zhang Wei", "Чжан Вэй", "Ouyang Xiaoming", "Wang Hua"};
	static const char *const odd[] = {"I. P.", "Anna Maria", "Annamaria", "P. Petrov", "J. Smith", "Иван Петров Иванов Сергеевич Петрович", "x", "1", "Ivan Ivanovich", "Ivanovich Ivan", "Ivan Ivanovich Petrov Sidorov", "Джон Смит", "Жак Ширак", "Jacques Chirac", "Ю. Харитонов", "Ivan Petrov Ivan Petrov"};
	uint32_t	seed = 12345;
	char		buf[512];
	size_t		i;

	ncorpus = 0;
	for (i = 0; i < sizeof(zh) / sizeof(zh[0]); i++)
		add_name(zh[i]);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		add_name(odd[i]);
	while (ncorpus < CORPUS_MAX)
	{
		uint32_t	r = lcg(&seed) % 10;

		if (r < 3)
		{
			bool		fem = lcg(&seed) % 3 == 0;
			const char *s = fem ? ru_fsur[lcg(&seed) % 5] : ru_sur[lcg(&seed) % 8];
			const char *g = fem ? ru_fgiv[lcg(&seed) % 4] : ru_giv[lcg(&seed) % 7];

			if (lcg(&seed) % 2)
				snprintf(buf, sizeof(buf), "%s %s", s, g);
			else
				snprintf(buf, sizeof(buf), "%s %s %s", g, s, ru_pat[lcg(&seed) % 4]);
		}
		else if (r < 8)
		{
			const char *s = la_sur[lcg(&seed) % 16];
			const char *g = la_giv[lcg(&seed) % 16];

			switch (lcg(&seed) % 4)
			{
				case 0:
					snprintf(buf, sizeof(buf), "%s %s", g, s);
					break;
				case 1:
					snprintf(buf, sizeof(buf), "%s %s", s, g);
					break;
				case 2:
					snprintf(buf, sizeof(buf), "%c. %s", g[0], s);
					break;
				default:
					{
						/* a typo: two letters of the surname swapped, or one dropped */
						size_t		n = strlen(s),
									p = 1 + lcg(&seed) % (n - 2);

						snprintf(buf, sizeof(buf), "%s %s", g, s);
						if (lcg(&seed) % 2)
						{
							char	   *w = buf + strlen(g) + 1;
							char		t = w[p];

							w[p] = w[p + 1];
							w[p + 1] = t;
						}
						else
							memmove(buf + strlen(g) + 1 + p, buf + strlen(g) + 2 + p,
									strlen(buf + strlen(g) + 2 + p) + 1);
					}
			}
		}
		else
			snprintf(buf, sizeof(buf), "%s %s", ru_giv[lcg(&seed) % 7], la_sur[lcg(&seed) % 16]);
		add_name(buf);
	}
}

static void
free_corpus(void)
{
	for (int i = 0; i < ncorpus; i++)
		free(corpus[i]);
	ncorpus = 0;
}

/*
 * The contract with name_match.c: the bound of every query against every stored name
 * is at least their cd_name_similarity_one_edit, so %~ loses no pair to the evidence
 * but those whose words meet only by a typo of two edits (words of 9+ letters; every
 * pair the bound leaves below name_similarity is one: its one-edit similarity is lower).
 */
START_TEST(test_prop_bound_covers_similarity)
{
	Keys	   *keys = calloc(ncorpus, sizeof(Keys));
	CdNameQuery **qs = calloc(ncorpus, sizeof(CdNameQuery *));
	long		pairs = 0,
				similar = 0,
				candidates = 0,
				missed = 0,
				two_edits = 0,
				two_edits_at = 0;

	for (int i = 0; i < ncorpus; i++)
	{
		keys[i] = grams(corpus[i]);
		qs[i] = query(corpus[i]);
	}
	for (int i = 0; i < ncorpus; i++)
		for (int j = 0; j < ncorpus; j++)
		{
			double		s = similarity(corpus[i], corpus[j]);
			double		s1 = s;
			double		b = cd_name_query_bound_keys(qs[i], keys[j].k, keys[j].n);

			pairs++;
			if (s >= 0.6)
				similar++;
			if (b >= 0.6)
				candidates++;
			if (b < s - 1e-9)
			{
				s1 = similarity_one_edit(corpus[i], corpus[j]);
				if (b < s1 - 1e-9)
				{
					missed++;
					if (missed <= 10)
						fprintf(stderr, "bound below similarity: [%s] vs [%s]: %f < %f\n",
								corpus[i], corpus[j], b, s1);
				}
				else
				{
					two_edits++;
					if (s >= 0.6 && b < 0.6)
						two_edits_at++;
					if (two_edits <= 10)
						fprintf(stderr, "a typo of two edits: [%s] vs [%s]: bound %f, similarity %f, one edit %f\n",
								corpus[i], corpus[j], b, s, s1);
				}
			}
		}
	fprintf(stderr, "name_grams: %ld pairs, %ld with similarity >= 0.6, %ld candidates (bound >= 0.6), %ld missed, %ld below similarity by a typo of two edits (%ld at 0.6)\n",
			pairs, similar, candidates, missed, two_edits, two_edits_at);
	ck_assert_int_eq(missed, 0);
	ck_assert_int_ge(similar, 400);
	/* the keys filter: at most a few times the similar pairs are candidates */
	ck_assert_int_le(candidates, 4 * similar);
	for (int i = 0; i < ncorpus; i++)
	{
		free(keys[i].k);
		cd_name_query_free(qs[i]);
	}
	free(keys);
	free(qs);
}
END_TEST

/* the evidence is symmetric, at most either bound, and 1 for a name and itself */
START_TEST(test_prop_evidence)
{
	for (int i = 0; i < ncorpus; i += 7)
		for (int j = 0; j < ncorpus; j += 5)
		{
			double		ab = evidence(corpus[i], corpus[j]);
			double		ba = evidence(corpus[j], corpus[i]);

			ck_assert(ab == ba);
			ck_assert(ab <= bound(corpus[i], corpus[j]));
			ck_assert(ab >= 0 && ab <= 1);
		}
	for (int i = 0; i < ncorpus; i++)
		ck_assert_double_eq_tol(evidence(corpus[i], corpus[i]), 1.0, 1e-12);
}
END_TEST

/*
 * What GIN relies on to skip items, from the real state of an item: keys made unknown
 * (MAYBE) never lower the bound, nor do word keys made present (an item holds exactly
 * one shape key of each kind, so those are not flipped); all keys unknown give 1.
 */
START_TEST(test_prop_monotone)
{
	uint32_t	seed = 777;

	for (int i = 0; i < ncorpus; i += 3)
	{
		CdNameQuery *q = query(corpus[i]);
		Keys		k = grams(corpus[(i * 31 + 7) % ncorpus]);
		int			n = cd_name_query_nkeys(q);
		const uint32_t *qk = cd_name_query_keys(q);
		uint8_t    *real = calloc(n > 0 ? n : 1, 1);
		uint8_t    *st = calloc(n > 0 ? n : 1, 1);
		double		b_real;

		for (int x = 0, y = 0; x < n; x++)
		{
			while (y < k.n && k.k[y] < qk[x])
				y++;
			real[x] = (y < k.n && k.k[y] == qk[x]) ? CD_GRAM_PRESENT : CD_GRAM_ABSENT;
		}
		b_real = cd_name_query_bound(q, real);
		ck_assert(b_real == cd_name_query_bound_keys(q, k.k, k.n));
		memcpy(st, real, n);
		for (int step = 0; step < 40 && n > 0; step++)
		{
			st[lcg(&seed) % n] = CD_GRAM_MAYBE;
			ck_assert_msg(cd_name_query_bound(q, st) >= b_real, "%s: an unknown key lowers the bound",
						  corpus[i]);
		}
		memcpy(st, real, n);
		for (int step = 0; step < 20 && n > 0; step++)
		{
			int			x = lcg(&seed) % n;
			double		before = cd_name_query_bound(q, st);

			if (CD_GRAM_CLASS(qk[x]) == CD_GRAM_SHAPE)
				continue;
			st[x] = CD_GRAM_PRESENT;
			ck_assert_msg(cd_name_query_bound(q, st) >= before, "%s: a present key lowers the bound",
						  corpus[i]);
		}
		memset(st, CD_GRAM_MAYBE, n);
		if (n > 0)
			ck_assert_double_eq(cd_name_query_bound(q, st), 1.0);
		free(real);
		free(st);
		free(k.k);
		cd_name_query_free(q);
	}
}
END_TEST

/* ---------------------------------------------------------------- timing */

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

START_TEST(test_timing)
{
	static const char *const names[] = {"Петров Иван Сергеевич", "Ivan Petrov", "王小明", "Jean-Pierre Lefèvre"};
	int			reps = 200;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		CdNameQuery *q = query(names[i]);
		Keys		k = grams(names[(i + 1) % 4]);
		double		t0 = now(),
					t1,
					t2;

		for (int r = 0; r < reps; r++)
			free(grams(names[i]).k);
		t1 = now();
		for (int r = 0; r < reps; r++)
			cd_name_query_free(query(names[i]));
		t2 = now();
		for (int r = 0; r < reps; r++)
			(void) cd_name_query_bound_keys(q, k.k, k.n);
		fprintf(stderr, "name_grams timing (sanitizers on): %-24s keys %.1f us, plan %.1f us, bound %.2f us\n",
				names[i], (t1 - t0) / reps * 1e6, (t2 - t1) / reps * 1e6, (now() - t2) / reps * 1e6);
		free(k.k);
		cd_name_query_free(q);
	}
}
END_TEST

static Suite *
name_grams_suite(void)
{
	Suite	   *s = suite_create("name_grams");
	TCase	   *tc;

	tc = tcase_create("targets");
	tcase_add_loop_test(tc, test_pairs, 0, sizeof(pair_cases) / sizeof(pair_cases[0]));
	tcase_add_test(tc, test_two_edit_typos);
	tcase_add_test(tc, test_shared_keys);
	tcase_add_test(tc, test_default_patronymic);
	tcase_add_test(tc, test_determinism);
	tcase_add_test(tc, test_pinned_keys);
	tcase_add_test(tc, test_trigram_lengths);
	tcase_add_test(tc, test_key_buckets);
	tcase_add_test(tc, test_word_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_test(tc, test_statuses);
	tcase_add_test(tc, test_hostile_shapes);
	tcase_add_test(tc, test_nomem_each_step);
	suite_add_tcase(s, tc);

	tc = tcase_create("properties");
	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, fill_corpus, free_corpus);
	tcase_add_test(tc, test_prop_bound_covers_similarity);
	tcase_add_test(tc, test_prop_evidence);
	tcase_add_test(tc, test_prop_monotone);
	suite_add_tcase(s, tc);

	tc = tcase_create("timing");
	tcase_add_test(tc, test_timing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner    *sr = srunner_create(name_grams_suite());
	int			failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
