/*
 * score_fn.c
 *		SQL glue of record scoring: crmdedup.score_rows(profile, a jsonb, b jsonb, explain),
 *		the C twin of the PL/pgSQL crmdedup.match_rows() (core: record_score.h).
 *
 * Per call site (fn_extra, memory in fn_mcxt) a cache holds each profile used: its
 * compiled spec read once through SPI, and a hash table (field, term) -> frequency.
 * Term frequencies are looked up one term at a time through a saved plan until
 * TERM_BULK_AFTER distinct terms were asked for; then all the profile's term_stats rows
 * are read at once (a report), so that one pair (a guard, match()) never pays for
 * reading a table that has a row per distinct name.  The terms live in their own memory
 * context per profile, bounded by the memory a hash table of the executor gets
 * (get_hash_memory_limit(): work_mem x hash_mem_multiplier): when reading them all would
 * pass it, the reading stops, the terms read are dropped, and the terms go on being
 * looked up one by one, the cache emptied whenever it would pass the budget.  Rows whose
 * frequency equals what the scorer gives an unknown term (a name held by one row) are not
 * read: the score is the same whether they are cached or not.  What is cached never
 * changes a score, only how fast it comes.  The cache is dropped when the
 * snapshot or command changes (a PL/pgSQL simple expression keeps its fn_extra across
 * statements): what is read is always what the current snapshot sees.
 *
 * Values of a field are read from the jsonb rows under the field's name, with the rules
 * of crmdedup.field_values(): a scalar string or number is one value; a JSON array holds
 * strings, numbers, or objects with the value under "value", "phone", "email", "number"
 * or "address" (the first present and not null); null and blank strings are no value.
 * A field whose values live in a child table ("from" in the profile) is read the same
 * way: the caller puts the child rows' values under the field's name, as match_rows()
 * does.
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/nodeHash.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/snapmgr.h"

#include "crmdedup.h"
#include "field_match.h"
#include "phone.h"
#include "record_score.h"
#include "value_memo.h"

/* distinct terms looked up one by one before all term_stats rows of the profile are read */
#define TERM_BULK_AFTER 1024
/* rows fetched per round trip when reading all term_stats rows */
#define TERM_FETCH_ROWS 10000
/* largest block of a profile's term context (counted as headroom by term_fits) */
#define TERM_BLOCK_MAX (16 * 1024)

/* ---------------------------------------------------------------- term hash */

typedef struct TermKey
{
	int			field;
	uint32		len;
	const char *term;
} TermKey;

typedef struct TermEntry
{
	TermKey		key;
	uint32		hash;
	char		status;
	bool		known;			/* a term_stats row exists */
	double		freq;
} TermEntry;

static inline uint32
term_key_hash(TermKey k)
{
	return hash_combine(murmurhash32((uint32) k.field),
						hash_bytes((const unsigned char *) k.term, (int) k.len));
}

static inline bool
term_key_equal(TermKey a, TermKey b)
{
	return a.field == b.field && a.len == b.len && memcmp(a.term, b.term, a.len) == 0;
}

#define SH_PREFIX termhash
#define SH_ELEMENT_TYPE TermEntry
#define SH_KEY_TYPE TermKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) term_key_hash(k)
#define SH_EQUAL(tb, a, b) term_key_equal(a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* ---------------------------------------------------------------- cache */

typedef struct ProfileCache
{
	struct ProfileCache *next;
	char	   *name;
	/* the profiles row version read: a scorer kept across statements checks it is still current */
	Oid			row_rel;
	ItemPointerData row_tid;
	TransactionId row_xmin;
	CdScoreProfile prof;
	CdScoreField *fields;
	char	  **field_names;
	char	  **role_names;
	MemoryContext termcxt;		/* terms and their hash, within term_budget() */
	termhash_hash *terms;
	bool		terms_all_loaded;
	bool		terms_bounded;	/* all the terms did not fit: one by one from now on */
	int			terms_asked;	/* single lookups so far */
	uint32		terms_resets;	/* times the one-by-one cache was emptied */
} ProfileCache;

typedef struct ScoreCache
{
	MemoryContext datacxt;		/* profiles and term hashes; reset when stale */
	MemoryContext callcxt;		/* per-call scratch, reset at every call */
	TupleDesc	tupdesc;
	ProfileCache *profiles;
	/* what the cached data was read under */
	bool		valid;
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	uint64		completions;
	bool		one_by_one;		/* never read all term_stats rows (a scorer kept by a backend) */
	CdMemo	   *memo;			/* score_rows: values normalized once (score_memo) */
} ScoreCache;

/* saved plans, for the life of the backend */
static SPIPlanPtr plan_profile = NULL;
static SPIPlanPtr plan_term = NULL;
static SPIPlanPtr plan_terms_all = NULL;

static SPIPlanPtr
saved_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*slot = p;
	}
	return *slot;
}

static const char *const SQL_PROFILE =
"SELECT p.compiled, p.analyzed_rows,"
"       CASE WHEN p.analyzed_rows OPERATOR(pg_catalog.>) 0"
"            THEN (1.0 OPERATOR(pg_catalog./) p.analyzed_rows)::pg_catalog.float8 END,"
"       p.tableoid, p.ctid, p.xmin"
"  FROM crmdedup.profiles p WHERE p.name OPERATOR(pg_catalog.=) $1";

static const char *const SQL_TERM =
"SELECT t.freq FROM crmdedup.term_stats t"
" WHERE t.profile OPERATOR(pg_catalog.=) $1 AND t.field OPERATOR(pg_catalog.=) $2"
"   AND t.term OPERATOR(pg_catalog.=) $3";

/* $2: the frequency an unknown term gets (rows holding it need not be read), or NULL */
static const char *const SQL_TERMS_ALL =
"SELECT t.field, t.term, t.freq FROM crmdedup.term_stats t"
" WHERE t.profile OPERATOR(pg_catalog.=) $1"
"   AND ($2 IS NULL OR t.freq OPERATOR(pg_catalog.<>) $2)";

static void
bad_profile(const char *name, const char *detail_field, const char *reason)
{
	if (detail_field)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("profile \"%s\" has an invalid compiled spec", name),
				 errdetail("Field \"%s\": %s.", detail_field, reason),
				 errhint("Recompile it with crmdedup.alter_profile().")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("profile \"%s\" has an invalid compiled spec", name),
			 errdetail("%s.", reason),
			 errhint("Recompile it with crmdedup.alter_profile().")));
}

static double
get_float(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(tup, desc, col, isnull);

	return *isnull ? 0 : DatumGetFloat8(d);
}

static bool jsonb_value_text(JsonbValue *v, CdStr *out);

/* obj->>key as a NUL-terminated string in CurrentMemoryContext; NULL as ->> gives it */
static char *
jb_text(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;
	CdStr		s;

	if (obj == NULL || !JsonContainerIsObject(obj)
		|| getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL
		|| !jsonb_value_text(&v, &s))
		return NULL;
	return pnstrdup(s.ptr, s.len);
}

/* (obj->>key)::float8; false for NULL */
static bool
jb_float(JsonbContainer *obj, const char *key, double *out)
{
	char	   *t = jb_text(obj, key);

	if (t == NULL)
		return false;
	*out = DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(t)));
	return true;
}

/* the elements of obj->key as jsonb_array_elements() gives them: none for NULL */
static int
jb_array(const char *profile, const char *where, JsonbContainer *obj, const char *key,
		 JsonbContainer **arr)
{
	JsonbValue	v;

	*arr = NULL;
	if (obj == NULL || !JsonContainerIsObject(obj)
		|| getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL || v.type == jbvNull)
		return 0;
	if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
		bad_profile(profile, where, psprintf("\"%s\" is not an array", key));
	*arr = v.val.binary.data;
	return JsonContainerSize(*arr);
}

/* element i of an array container, as a container (NULL for a scalar) */
static JsonbContainer *
jb_elem(JsonbContainer *arr, int i)
{
	JsonbValue *v = getIthJsonbValueFromContainer(arr, (uint32) i);

	return (v != NULL && v->type == jbvBinary) ? v->val.binary.data : NULL;
}

/*
 * Read a profile through SPI (one row of crmdedup.profiles) into cache memory; errors
 * when it does not exist.  The compiled spec is read with the SQL's rules: x->>'key'
 * cast to float8 or boolean with the types' input functions, missing arrays as none.
 */
static ProfileCache *
load_profile(ScoreCache *cache, text *name_t)
{
	MemoryContext old;
	ProfileCache *pc;
	char	   *name = text_to_cstring(name_t);
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(name_t)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Jsonb	   *compiled;
	JsonbContainer *root;
	JsonbContainer *farr;
	int			nfields;
	CdScoreLevel *levels;
	int			nlevels_total = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_plan(saved_plan(&plan_profile, SQL_PROFILE, 1, argtypes), args, NULL, true, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read crmdedup.profiles");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("profile \"%s\" does not exist", name)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	{
		Datum		d = SPI_getbinval(tup, desc, 1, &isnull);

		if (isnull)
			bad_profile(name, NULL, "it is NULL");
		compiled = DatumGetJsonbP(d);	/* in SPI memory, gone at SPI_finish */
	}
	root = &compiled->root;

	old = MemoryContextSwitchTo(cache->datacxt);
	pc = palloc0(sizeof(ProfileCache));
	pc->name = pstrdup(name);
	{
		Datum		d = SPI_getbinval(tup, desc, 2, &isnull);

		pc->prof.analyzed_rows = isnull ? 0 : DatumGetInt64(d);
	}
	pc->prof.unknown_freq = get_float(tup, desc, 3, &isnull);
	pc->row_rel = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
	pc->row_tid = *(ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 5, &isnull));
	pc->row_xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 6, &isnull));
	if (!JsonContainerIsObject(root)
		|| !jb_float(root, "prior", &pc->prof.prior)
		|| !jb_float(root, "same", &pc->prof.same)
		|| !jb_float(root, "maybe", &pc->prof.maybe))
		bad_profile(name, NULL, "\"prior\", \"same\" and \"maybe\" must be numbers");

	nfields = jb_array(name, NULL, root, "fields", &farr);
	for (int i = 0; i < nfields; i++)
	{
		JsonbContainer *larr;

		nlevels_total += jb_array(name, "?", jb_elem(farr, i), "levels", &larr);
	}
	pc->fields = palloc0(sizeof(CdScoreField) * Max(nfields, 1));
	pc->field_names = palloc0(sizeof(char *) * Max(nfields, 1));
	pc->role_names = palloc0(sizeof(char *) * Max(nfields, 1));
	levels = palloc0(sizeof(CdScoreLevel) * Max(nlevels_total, 1));
	for (int i = 0, li = 0; i < nfields; i++)
	{
		JsonbContainer *fo = jb_elem(farr, i);
		CdScoreField *f = &pc->fields[i];
		char	   *field = jb_text(fo, "field");
		char	   *role = jb_text(fo, "role");
		JsonbContainer *larr;
		int			nl;

		if (field == NULL)
			bad_profile(name, "?", "it has no name");
		pc->field_names[i] = field;
		if (role == NULL || !cd_role_parse(role, strlen(role), &f->role))
			bad_profile(name, field, "unknown role");
		pc->role_names[i] = role;
		if (!jb_float(fo, "weight", &f->weight))
			bad_profile(name, field, "\"weight\" must be a number");
		f->region = jb_text(fo, "region");
		{
			double		pu;

			/* 0.2.0: "u_same_place" (estimate()), see record_score.h */
			if (jb_float(fo, "u_same_place", &pu))
			{
				if (pc->prof.place_u == NULL)
					pc->prof.place_u = palloc0(sizeof(double) * Max(nfields, 1));
				((double *) pc->prof.place_u)[i] = pu;
			}
		}
		if (f->role == CD_ROLE_PHONE
			&& (f->region == NULL || !cd_phone_region_known(f->region, strlen(f->region))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown phone region \"%s\"", f->region ? f->region : ""),
					 errdetail("Field \"%s\" of profile \"%s\" has it.", field, name),
					 errhint("Use an ISO 3166-1 alpha-2 country code such as 'RU', 'US' or 'CN', "
							 "or 'ZZ' to accept only numbers written with a country code.")));
		nl = jb_array(name, field, fo, "levels", &larr);
		f->levels = &levels[li];
		f->nlevels = nl;
		for (int j = 0; j < nl; j++)
		{
			JsonbContainer *lo = jb_elem(larr, j);
			CdScoreLevel *l = &levels[li++];
			char	   *tf;

			l->name = jb_text(lo, "level");
			if (!jb_float(lo, "min", &l->min) || !jb_float(lo, "m", &l->m) || !jb_float(lo, "u", &l->u))
				bad_profile(name, field, "each level needs numbers \"min\", \"m\" and \"u\"");
			tf = jb_text(lo, "tf");
			l->tf = tf != NULL && DatumGetBool(DirectFunctionCall1(boolin, CStringGetDatum(tf)));
		}
	}
	pc->prof.fields = pc->fields;
	pc->prof.nfields = nfields;
	{
		/* the bound of cd_record_score_min, once per profile read rather than per pair */
		double	   *mw = palloc(sizeof(double) * Max(nfields, 1));

		cd_score_profile_max_weights(&pc->prof, mw);
		pc->prof.max_weights = mw;
	}
	pc->termcxt = AllocSetContextCreate(cache->datacxt, "crmdedup term frequencies",
										ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE,
										TERM_BLOCK_MAX);
	pc->terms = termhash_create(pc->termcxt, 256, NULL);
	MemoryContextSwitchTo(old);
	SPI_finish();

	{
		int			bad;
		const char *reason;

		if (cd_score_profile_check(&pc->prof, &bad, &reason) != CD_SCORE_OK)
			bad_profile(name, bad >= 0 ? pc->field_names[bad] : NULL, reason);
	}
	pfree(name);
	return pc;
}

static int
field_index(ProfileCache *pc, const char *name, size_t len)
{
	for (int i = 0; i < pc->prof.nfields; i++)
		if (strlen(pc->field_names[i]) == len && memcmp(pc->field_names[i], name, len) == 0)
			return i;
	return -1;
}

/*
 * The memory the term frequencies of one profile may take: what a hash table of the
 * executor gets (work_mem x hash_mem_multiplier), read at each use so that SET applies.
 */
static size_t
term_budget(void)
{
	return get_hash_memory_limit();
}

/*
 * Would one more term of len bytes keep the profile's term context within the budget?
 * Counts the term's copy (at most twice its size in an AllocSet chunk, plus the chunk
 * header), a new block of the context, and the hash's next array when this insert makes
 * it grow (the old array is still held while the entries move).
 */
static bool
term_fits(ProfileCache *pc, size_t len)
{
	size_t		used = MemoryContextMemAllocated(pc->termcxt, true);
	size_t		more = 2 * (len + 1) + 16 + TERM_BLOCK_MAX;

	if (pc->terms->members + 1 > pc->terms->grow_threshold)
		more += (size_t) pc->terms->size * 2 * sizeof(TermEntry);
	return used + more <= term_budget();
}

/* empty the profile's term cache (what it held is looked up again when asked for) */
static void
terms_reset(ProfileCache *pc)
{
	MemoryContextReset(pc->termcxt);
	pc->terms = termhash_create(pc->termcxt, 256, NULL);
	pc->terms_resets++;
}

/*
 * The frequency the scorer gives a term that term_stats has no row for (record_score.c,
 * score_field: the profile's unknown_freq when > 0, else 1 / analyzed_rows); false when the
 * scorer takes no term frequencies at all (no analyzed rows).  A term_stats row holding
 * exactly this frequency scores as its absence does: term_freq_cb returns the frequency
 * (not 0, not negative: no error), the scorer uses it as it would use the unknown one.
 */
static bool
unknown_term_freq(ProfileCache *pc, double *freq)
{
	if (pc->prof.analyzed_rows <= 0)
		return false;
	*freq = pc->prof.unknown_freq > 0 ? pc->prof.unknown_freq
		: 1.0 / (double) pc->prof.analyzed_rows;
	return true;
}

static TermEntry *
term_insert(ScoreCache *cache, ProfileCache *pc, int field, const char *term, size_t len)
{
	TermKey		k = {field, (uint32) len, term};
	bool		found;
	TermEntry  *e = termhash_insert(pc->terms, k, &found);

	if (!found)
	{
		char	   *copy = MemoryContextAlloc(pc->termcxt, len + 1);

		memcpy(copy, term, len);
		copy[len] = '\0';
		e->key.term = copy;
		e->known = false;
		e->freq = -1;
	}
	return e;
}

/*
 * Read every term_stats row of the profile into the hash, but those holding the unknown
 * term's frequency; false (and the hash emptied, pc->terms_bounded set) when they do not
 * fit in term_budget().
 */
static bool
load_all_terms(ScoreCache *cache, ProfileCache *pc)
{
	Oid			argtypes[2] = {TEXTOID, FLOAT8OID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	double		unknown;
	Portal		portal;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(pc->name);
	if (unknown_term_freq(pc, &unknown))
		args[1] = Float8GetDatum(unknown);
	else
	{
		args[1] = (Datum) 0;
		nulls[1] = 'n';
	}
	portal = SPI_cursor_open(NULL, saved_plan(&plan_terms_all, SQL_TERMS_ALL, 2, argtypes),
							 args, nulls, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, TERM_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	t = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		fdat = SPI_getbinval(t, desc, 1, &isnull);
			text	   *field = isnull ? NULL : DatumGetTextPP(fdat);
			int			fi = field ? field_index(pc, VARDATA_ANY(field), VARSIZE_ANY_EXHDR(field)) : -1;
			text	   *term;
			Datum		fd;
			TermEntry  *e;

			if (fi < 0)
				continue;
			term = DatumGetTextPP(SPI_getbinval(t, desc, 2, &isnull));
			fd = SPI_getbinval(t, desc, 3, &isnull);
			if (!term_fits(pc, VARSIZE_ANY_EXHDR(term)))
			{
				uint32		read = pc->terms->members;

				SPI_cursor_close(portal);
				SPI_finish();
				terms_reset(pc);
				pc->terms_bounded = true;
				elog(DEBUG1, "crmdedup: term frequencies of profile \"%s\" pass %zu bytes after %u terms: looked up one by one",
					 pc->name, term_budget(), (unsigned) read);
				return false;
			}
			e = term_insert(cache, pc, fi, VARDATA_ANY(term), VARSIZE_ANY_EXHDR(term));
			e->known = true;
			e->freq = DatumGetFloat8(fd);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	pc->terms_all_loaded = true;
	elog(DEBUG1, "crmdedup: read all term frequencies of profile \"%s\" (%u cached, %zu bytes)",
		 pc->name, (unsigned) pc->terms->members, MemoryContextMemAllocated(pc->termcxt, true));
	return true;
}

typedef struct TfCtx
{
	ScoreCache *cache;
	ProfileCache *pc;
} TfCtx;

/* CdTermFreqFn over the cache: < 0 when term_stats has no row for the term */
static double
term_freq_cb(void *ctx, int field, const char *term, size_t len)
{
	TfCtx	   *tc = ctx;
	ProfileCache *pc = tc->pc;
	TermKey		k = {field, (uint32) len, term};
	TermEntry  *e;
	bool		known = false;
	double		freq = -1;

	if (len > MaxAllocSize / 2)
		return -1;
	e = termhash_lookup(pc->terms, k);
	if (e == NULL && !pc->terms_all_loaded && !pc->terms_bounded
		&& ++pc->terms_asked > TERM_BULK_AFTER && !tc->cache->one_by_one)
	{
		if (load_all_terms(tc->cache, pc))
			e = termhash_lookup(pc->terms, k);
	}
	if (e != NULL)
	{
		known = e->known;
		freq = e->freq;
	}
	else if (!pc->terms_all_loaded)
	{
		Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
		Datum		args[3];

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		args[0] = CStringGetTextDatum(pc->name);
		args[1] = CStringGetTextDatum(pc->field_names[field]);
		args[2] = PointerGetDatum(cstring_to_text_with_len(term, (int) len));
		if (SPI_execute_plan(saved_plan(&plan_term, SQL_TERM, 3, argtypes), args, NULL, true, 1)
			!= SPI_OK_SELECT)
			elog(ERROR, "could not read crmdedup.term_stats");
		if (SPI_processed > 0)
		{
			bool		isnull;

			freq = get_float(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			known = !isnull;
		}
		SPI_finish();
		/* cache it within the budget: empty the cache first when it would not fit */
		if (!term_fits(pc, len))
			terms_reset(pc);
		e = term_insert(tc->cache, pc, field, term, len);
		e->known = known;
		e->freq = freq;
		/* the hash may also grow early (long probe chains): never stay past the budget */
		if (MemoryContextMemAllocated(pc->termcxt, true) > term_budget())
			terms_reset(pc);
	}
	if (!known)
		return -1;
	/* the SQL takes ln(freq) */
	if (freq == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
				 errmsg("cannot take logarithm of zero")));
	if (freq < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
				 errmsg("cannot take logarithm of a negative number")));
	return freq;
}

static ScoreCache *
get_cache(FunctionCallInfo fcinfo)
{
	ScoreCache *cache = fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	td;

		cache = palloc0(sizeof(ScoreCache));
		cache->datacxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "crmdedup score_rows profiles",
											   ALLOCSET_DEFAULT_SIZES);
		cache->callcxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "crmdedup score_rows call",
											   ALLOCSET_DEFAULT_SIZES);
		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		cache->tupdesc = BlessTupleDesc(CreateTupleDescCopy(td));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}

	/* drop what was read under another snapshot or command */
	{
		Snapshot	snap = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;
		bool		same = cache->valid && snap != NULL && cache->lxid == MyProc->lxid
			&& cache->xmin == snap->xmin && cache->xmax == snap->xmax
			&& cache->curcid == snap->curcid
			&& cache->completions == snap->snapXactCompletionCount;

		if (!same)
		{
			MemoryContextReset(cache->datacxt);
			cache->profiles = NULL;
			cache->valid = snap != NULL;
			if (snap != NULL)
			{
				cache->lxid = MyProc->lxid;
				cache->xmin = snap->xmin;
				cache->xmax = snap->xmax;
				cache->curcid = snap->curcid;
				cache->completions = snap->snapXactCompletionCount;
			}
		}
	}
	return cache;
}

static ProfileCache *
get_profile(ScoreCache *cache, text *name)
{
	size_t		len = VARSIZE_ANY_EXHDR(name);
	ProfileCache *pc;

	for (pc = cache->profiles; pc != NULL; pc = pc->next)
		if (strlen(pc->name) == len && memcmp(pc->name, VARDATA_ANY(name), len) == 0)
			return pc;
	pc = load_profile(cache, name);
	pc->next = cache->profiles;
	cache->profiles = pc;
	return pc;
}

/* ---------------------------------------------------------------- values */

/* text of a jsonb value as ->> and #>> give it; false for JSON null */
static bool
jsonb_value_text(JsonbValue *v, CdStr *out)
{
	switch (v->type)
	{
		case jbvNull:
			return false;
		case jbvString:
			out->ptr = v->val.string.val;
			out->len = v->val.string.len;
			return true;
		case jbvNumeric:
			out->ptr = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			out->len = strlen(out->ptr);
			return true;
		case jbvBool:
			out->ptr = v->val.boolean ? "true" : "false";
			out->len = strlen(out->ptr);
			return true;
		case jbvBinary:
			out->ptr = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
			out->len = strlen(out->ptr);
			return true;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return false;
}

static bool
blank(const CdStr *s)
{
	for (size_t i = 0; i < s->len; i++)
		if (s->ptr[i] != ' ')
			return false;
	return true;
}

static const char *const object_value_keys[] = {"value", "phone", "email", "number", "address"};

/* crmdedup.field_values(row -> name) */
static void
field_values(Jsonb *row, const char *name, CdValues *out)
{
	JsonbValue	v;
	CdStr	   *vals;
	CdStr		s;

	out->n = 0;
	out->v = NULL;
	if (!JB_ROOT_IS_OBJECT(row)
		|| getKeyJsonValueFromContainer(&row->root, name, strlen(name), &v) == NULL)
		return;

	if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
	{
		JsonbContainer *arr = v.val.binary.data;
		int			n = JsonContainerSize(arr);
		JsonbIterator *it;
		JsonbValue	e;
		JsonbIteratorToken tok;

		if (n == 0)
			return;
		vals = palloc(sizeof(CdStr) * n);
		it = JsonbIteratorInit(arr);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			bool		have;

			if (tok != WJB_ELEM)
				continue;
			if (e.type == jbvBinary && JsonContainerIsObject(e.val.binary.data))
			{
				have = false;
				for (int k = 0; k < lengthof(object_value_keys) && !have; k++)
				{
					JsonbValue	ev;

					if (getKeyJsonValueFromContainer(e.val.binary.data, object_value_keys[k],
													 strlen(object_value_keys[k]), &ev) != NULL)
						have = jsonb_value_text(&ev, &s);
				}
			}
			else
				have = jsonb_value_text(&e, &s);
			if (have && !blank(&s) && out->n < n)
				vals[out->n++] = s;
		}
		out->v = vals;
		return;
	}

	if (!jsonb_value_text(&v, &s))
		return;
	if (v.type == jbvString && blank(&s))
		return;
	vals = palloc(sizeof(CdStr));
	vals[0] = s;
	out->v = vals;
	out->n = 1;
}

/* ---------------------------------------------------------------- explanation */

/*
 * round(x::numeric, digits) as the SQL writes it: float8_numeric keeps 15 significant
 * digits, numeric_round rounds half away from zero to "digits" places (the display
 * scale).  Unless x * 10^digits lies within a hair of a rounding boundary (where the
 * 15-digit form can decide), rounding x itself gives the same number, built without
 * going through text; otherwise the SQL's own functions are called.
 */
static Numeric
round_numeric(double x, int digits)
{
	static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
	double		y = fabs(x) * pow10[digits];

	if (isfinite(y) && y < 1e12)
	{
		double		fl = floor(y);
		double		f = y - fl;

		if (fabs(f - 0.5) > y * 1e-13 + 1e-13)
		{
			int64		n = (int64) fl + (f > 0.5 ? 1 : 0);

			return int64_div_fast_to_numeric(x < 0 ? -n : n, digits);
		}
	}
	return DatumGetNumeric(DirectFunctionCall2(numeric_round,
											   DirectFunctionCall1(float8_numeric, Float8GetDatum(x)),
											   Int32GetDatum(digits)));
}

static void
pair_key(JsonbPair *p, const char *k, int order)
{
	p->key.type = jbvString;
	p->key.val.string.val = (char *) k;
	p->key.val.string.len = (int) strlen(k);
	p->order = order;
}

static void
pair_text(JsonbPair *p, const char *k, int order, const char *s, size_t len)
{
	pair_key(p, k, order);
	p->value.type = jbvString;
	p->value.val.string.val = (char *) s;
	p->value.val.string.len = (int) len;
}

static void
pair_num(JsonbPair *p, const char *k, int order, Numeric n)
{
	pair_key(p, k, order);
	p->value.type = jbvNumeric;
	p->value.val.numeric = n;
}

static void
set_object(JsonbValue *v, JsonbPair *pairs, int n)
{
	v->type = jbvObject;
	v->val.object.nPairs = n;
	v->val.object.pairs = pairs;
}

/*
 * The explanation of match_rows(), built as a JsonbValue tree and serialized once.
 * Object keys are written in jsonb's order (shorter first, then bytewise) and are
 * unique, which is what JsonbValueToJsonb() needs of a tree it did not build itself:
 *	top:	score, fields, profile, decision, prior_weight, total_weight
 *	field:	a, b, m, u, role, field, level, weight, similarity[, explained_by][, same_place_as]
 *	missing field:	role, field, level, weight
 */
static Jsonb *
build_explanation(text *profile, ProfileCache *pc, const CdValues *va, const CdValues *vb,
				  const CdRecordScore *rs)
{
	int			nf = pc->prof.nfields;
	JsonbPair  *top = palloc(sizeof(JsonbPair) * 6);
	JsonbPair  *pairs = palloc(sizeof(JsonbPair) * 11 * Max(nf, 1));
	JsonbValue *elems = palloc(sizeof(JsonbValue) * Max(nf, 1));
	JsonbValue	root;
	const char *decision = cd_decision_name(rs->decision);

	for (int i = 0; i < nf; i++)
	{
		const CdFieldScore *fs = &rs->fields[i];
		JsonbPair  *p = &pairs[11 * i];
		const char *field = pc->field_names[i];
		const char *role = pc->role_names[i];
		int			n = 0;

		if (fs->level == CD_LEVEL_MISSING)
		{
			pair_text(&p[n++], "role", 0, role, strlen(role));
			pair_text(&p[n++], "field", 1, field, strlen(field));
			pair_text(&p[n++], "level", 2, "missing", 7);
			pair_num(&p[n++], "weight", 3, int64_to_numeric(0));
		}
		else
		{
			const CdStr *a = &va[i].v[fs->best_a];
			/* b's value may come from the other name field (names in swapped columns) */
			const CdStr *b = &vb[fs->b_field].v[fs->best_b];

			pair_text(&p[n++], "a", 0, a->ptr, a->len);
			pair_text(&p[n++], "b", 1, b->ptr, b->len);
			pair_num(&p[n++], "m", 2, round_numeric(fs->m, 6));
			pair_num(&p[n++], "u", 3, round_numeric(fs->u, 8));
			pair_text(&p[n++], "role", 4, role, strlen(role));
			pair_text(&p[n++], "field", 5, field, strlen(field));
			pair_text(&p[n++], "level", 6, fs->level_name, strlen(fs->level_name));
			pair_num(&p[n++], "weight", 7, round_numeric(fs->weight, 2));
			pair_num(&p[n++], "similarity", 8, round_numeric(fs->similarity, 3));
			if (fs->explained_by >= 0)
			{
				const char *by = pc->field_names[fs->explained_by];

				pair_text(&p[n++], "explained_by", 9, by, strlen(by));
			}
			if (fs->same_place_as >= 0)
			{
				const char *by = pc->field_names[fs->same_place_as];

				pair_text(&p[n++], "same_place_as", 10, by, strlen(by));
			}
		}
		set_object(&elems[i], p, n);
	}

	pair_num(&top[0], "score", 0, round_numeric(rs->score, 4));
	pair_key(&top[1], "fields", 1);
	top[1].value.type = jbvArray;
	top[1].value.val.array.nElems = nf;
	top[1].value.val.array.elems = elems;
	top[1].value.val.array.rawScalar = false;
	pair_text(&top[2], "profile", 2, VARDATA_ANY(profile), VARSIZE_ANY_EXHDR(profile));
	pair_text(&top[3], "decision", 3, decision, strlen(decision));
	pair_num(&top[4], "prior_weight", 4, round_numeric(rs->prior_weight, 2));
	pair_num(&top[5], "total_weight", 5, round_numeric(rs->total_weight, 2));
	set_object(&root, top, 6);
	return JsonbValueToJsonb(&root);
}

/* the explanation of a scored pair, copied into the caller's context (the call's is reset) */
static Datum
explanation_in(MemoryContext caller, text *profile, ProfileCache *pc, const CdValues *va,
			   const CdValues *vb, const CdRecordScore *rs)
{
	Jsonb	   *expl = build_explanation(profile, pc, va, vb, rs);
	Jsonb	   *copy = MemoryContextAlloc(caller, VARSIZE(expl));

	memcpy(copy, expl, VARSIZE(expl));
	return JsonbPGetDatum(copy);
}

/* ---------------------------------------------------------------- errors */

static void
score_error(CdScoreStatus st, const CdRecordScore *rs, ProfileCache *pc)
{
	const char *func = rs->err_func ? rs->err_func : "score_rows";
	const char *field = rs->err_field >= 0 && rs->err_field < pc->prof.nfields
		? pc->field_names[rs->err_field] : "?";

	switch (st)
	{
		case CD_SCORE_OK:
			return;
		case CD_SCORE_INVALID_UTF8:
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 in argument of %s", func),
					 errdetail("A value of field \"%s\" of profile \"%s\".", field, pc->name)));
			break;
		case CD_SCORE_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("argument of %s is too long", func),
					 errdetail("A value of field \"%s\" of profile \"%s\" is too long to compare.",
							   field, pc->name)));
			break;
		case CD_SCORE_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory in %s", func)));
			break;
		case CD_SCORE_ICU_ERROR:
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("ICU transliteration failed in %s", func)));
			break;
		case CD_SCORE_BAD_PROFILE:
			bad_profile(pc->name, rs->err_field >= 0 ? field : NULL, "rejected by the scorer");
			break;
	}
}

/* ---------------------------------------------------------------- score_rows */

/*
 * The value memo of a score_rows call site (value_memo.h): every row takes part in many
 * pairs, and the memo keeps each value's transliteration, person key, email keys and
 * parsed phone for the next pair, within work_mem (emptied when full).  Its memory is a
 * context of the call site's, dropped with it.
 */
static void *
memo_alloc(size_t size, void *ctx)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size, MCXT_ALLOC_NO_OOM);
}

static void *
memo_resize(void *ptr, size_t size, void *ctx)
{
	return repalloc(ptr, size);
}

static void
memo_release(void *ptr, void *ctx)
{
	pfree(ptr);
}

typedef struct MemoOwner
{
	CdAllocator al;
	ScoreCache *cache;
	MemoryContextCallback cb;
} MemoOwner;

static void
memo_context_gone(void *arg)
{
	MemoOwner  *o = arg;

	if (o->cache->memo != NULL)
	{
		size_t		lookups;
		size_t		hits;
		size_t		entries;

		cd_memo_stats(o->cache->memo, &lookups, &hits, &entries);
		elog(DEBUG2, "crmdedup score_rows value memo: %zu lookups, %zu hits, %zu entries",
			 lookups, hits, entries);
	}
	if (o->cache->memo != NULL && cd_memo_active == o->cache->memo)
		cd_memo_use(NULL);
	o->cache->memo = NULL;
}

static CdMemo *
score_memo(ScoreCache *cache, MemoryContext parent)
{
	size_t		budget = Min((size_t) work_mem * 1024, MaxAllocSize / 2);

	if (cache->memo == NULL)
	{
		MemoryContext cxt = AllocSetContextCreate(parent, "crmdedup score_rows value memo",
												  ALLOCSET_DEFAULT_SIZES);
		MemoOwner  *o = MemoryContextAllocZero(cxt, sizeof(MemoOwner));

		o->al.alloc = memo_alloc;
		o->al.resize = memo_resize;
		o->al.release = memo_release;
		o->al.ctx = cxt;
		o->cache = cache;
		o->cb.func = memo_context_gone;
		o->cb.arg = o;
		MemoryContextRegisterResetCallback(cxt, &o->cb);
		cache->memo = cd_memo_create(&o->al, budget);
		if (cache->memo == NULL)
		{
			MemoryContextDelete(cxt);
			return NULL;
		}
	}
	else
		cd_memo_set_budget(cache->memo, budget);
	return cache->memo;
}

/*
 * One score with the value memo switched on.  An error in a term-frequency look-up
 * must not leave the memo on for whatever the backend computes next.
 */
static pg_noinline CdScoreStatus
score_with_memo(ProfileCache *pc, const CdValues *va, const CdValues *vb, TfCtx *tc,
				CdRecordScore *rs, CdMemo *memo)
{
	volatile CdScoreStatus st = CD_SCORE_OK;
	CdMemo	   *prev;

	/* the memo of an enclosing score_rows call, if any, is the one to go back to */
	prev = cd_memo_use(memo);
	PG_TRY();
	{
		st = cd_record_score(&pc->prof, va, vb, term_freq_cb, tc, &cd_palloc_allocator, rs);
	}
	PG_FINALLY();
	{
		cd_memo_use(prev);
	}
	PG_END_TRY();
	return st;
}

/* each field's values of rows a and b, and room for the fields' scores, in the current context */
static void
row_values(ProfileCache *pc, Jsonb *a, Jsonb *b, CdValues **va, CdValues **vb, CdRecordScore *rs)
{
	*va = palloc(sizeof(CdValues) * Max(pc->prof.nfields, 1));
	*vb = palloc(sizeof(CdValues) * Max(pc->prof.nfields, 1));
	for (int i = 0; i < pc->prof.nfields; i++)
	{
		field_values(a, pc->field_names[i], &(*va)[i]);
		field_values(b, pc->field_names[i], &(*vb)[i]);
	}
	rs->fields = palloc(sizeof(CdFieldScore) * Max(pc->prof.nfields, 1));
}

PG_FUNCTION_INFO_V1(score_rows);

/*
 * score_rows(profile text, a jsonb, b jsonb, explain boolean DEFAULT true,
 *			  OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
 */
Datum
score_rows(PG_FUNCTION_ARGS)
{
	ScoreCache *cache;
	ProfileCache *pc;
	text	   *profile;
	Jsonb	   *a;
	Jsonb	   *b;
	bool		explain;
	MemoryContext old;
	CdValues   *va;
	CdValues   *vb;
	CdRecordScore rs;
	CdScoreStatus st;
	TfCtx		tc;
	Jsonb	   *expl = NULL;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	const char *decision;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("profile name must not be null")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rows to score must not be null"),
				 errhint("Pass '{}' for a row without values.")));
	explain = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	profile = PG_GETARG_TEXT_PP(0);
	a = PG_GETARG_JSONB_P(1);
	b = PG_GETARG_JSONB_P(2);

	cd_check_input_length(0, "score_rows");	/* the database encoding */
	cd_check_library_versions();

	cache = get_cache(fcinfo);
	pc = get_profile(cache, profile);

	MemoryContextReset(cache->callcxt);
	old = MemoryContextSwitchTo(cache->callcxt);

	row_values(pc, a, b, &va, &vb, &rs);
	tc.cache = cache;
	tc.pc = pc;
	st = score_with_memo(pc, va, vb, &tc, &rs, score_memo(cache, fcinfo->flinfo->fn_mcxt));
	if (st != CD_SCORE_OK)
		score_error(st, &rs, pc);
	if (explain)
		expl = build_explanation(profile, pc, va, vb, &rs);

	MemoryContextSwitchTo(old);

	decision = cd_decision_name(rs.decision);
	values[0] = Float8GetDatum(rs.score);
	values[1] = CStringGetTextDatum(decision);
	values[2] = Float8GetDatum(rs.total_weight);
	if (expl != NULL)
	{
		Jsonb	   *copy = palloc(VARSIZE(expl));

		memcpy(copy, expl, VARSIZE(expl));
		values[3] = JsonbPGetDatum(copy);
	}
	else
		nulls[3] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->tupdesc, values, nulls)));
}

/* ---------------------------------------------------------------- scorer for C callers */

/*
 * A scorer kept by a C caller (the guard trigger) across statements and transactions.
 * score_rows() drops its cache whenever the snapshot changes, which for a trigger is every
 * row: reading the profile again through SPI cost more than the rest of the guard.  This
 * one keeps the profile and its term frequencies for as long as the profiles row it read
 * is still the current version under the active snapshot (the snapshot its SPI reads use):
 * alter_profile() and analyze() update that row, so a new version, committed or made by
 * this transaction, makes the next score read the profile again.  Checking costs one heap
 * fetch by TID.
 */
#define SCORER_MAX_TERMS 100000

/*
 * The scorer's value memo (value_memo.h): a guard scores a new row against each of its
 * candidates, and namesakes share their names: each value's transliteration, person key,
 * email keys and parsed phone are computed once and kept, within this many bytes (the
 * memo is emptied when full).
 */
#define SCORER_MEMO_BYTES (1024 * 1024)

struct CdScorer
{
	ScoreCache	cache;
	text	   *profile;
	ProfileCache *pc;
	uint32		loads;			/* how many times the profile was read */
	MemoryContext parent;
};

CdScorer *
cd_scorer_create(MemoryContext parent, const char *profile)
{
	CdScorer   *s = MemoryContextAllocZero(parent, sizeof(CdScorer));

	s->cache.datacxt = AllocSetContextCreate(parent, "crmdedup scorer profile", ALLOCSET_DEFAULT_SIZES);
	s->cache.callcxt = AllocSetContextCreate(parent, "crmdedup scorer call", ALLOCSET_SMALL_SIZES);
	/*
	 * Kept for the life of the backend: reading every term of a million-row table into each
	 * backend would cost more memory than the one-by-one lookups save.
	 */
	s->cache.one_by_one = true;
	s->parent = parent;
	s->profile = (text *) MemoryContextAlloc(parent, strlen(profile) + VARHDRSZ);
	SET_VARSIZE(s->profile, strlen(profile) + VARHDRSZ);
	memcpy(VARDATA(s->profile), profile, strlen(profile));
	return s;
}

/* is the profiles row version the cache was read from still visible to snap? */
static bool
profile_row_current(ProfileCache *pc, Snapshot snap)
{
	Relation	r;
	HeapTupleData tup;
	Buffer		buf;
	bool		ok = false;

	r = try_table_open(pc->row_rel, AccessShareLock);
	if (r == NULL)
		return false;			/* the extension was dropped and created again */
	/* a TID past the end (the table was truncated or rewritten) is simply not current */
	if (ItemPointerIsValid(&pc->row_tid)
		&& ItemPointerGetBlockNumber(&pc->row_tid) < RelationGetNumberOfBlocks(r))
	{
		tup.t_self = pc->row_tid;
		if (heap_fetch(r, snap, &tup, &buf, false))
		{
			/* the slot may hold another row after VACUUM: the inserting transaction says */
			ok = TransactionIdEquals(HeapTupleHeaderGetRawXmin(tup.t_data), pc->row_xmin);
			ReleaseBuffer(buf);
		}
	}
	table_close(r, AccessShareLock);
	return ok;
}

/*
 * Read the profile again when it changed, or when the terms looked up grow too many;
 * returns how many times it was read, so a caller that keeps something derived from the
 * profile (the guard's field list) sees when to drop it.
 */
uint32
cd_scorer_refresh(CdScorer *s)
{
	/* a bulk scorer (cd_scorer_set_bulk) holds all the terms on purpose */
	if (s->pc != NULL && ((s->cache.one_by_one && s->pc->terms->members > SCORER_MAX_TERMS)
						  || !(ActiveSnapshotSet() && profile_row_current(s->pc, GetActiveSnapshot()))))
	{
		MemoryContextReset(s->cache.datacxt);
		s->pc = NULL;
	}
	if (s->pc == NULL)
	{
		s->pc = load_profile(&s->cache, s->profile);
		s->loads++;
	}
	return s->loads;
}

/*
 * Score rows a and b (jsonb, as to_jsonb() gives rows) with the scorer's profile.  With
 * explain, *explanation receives match_rows()'s explanation in CurrentMemoryContext.
 */
double
cd_scorer_score(CdScorer *s, Datum a_datum, Datum b_datum, bool explain, Datum *explanation)
{
	ProfileCache *pc;
	Jsonb	   *a = DatumGetJsonbP(a_datum);
	Jsonb	   *b = DatumGetJsonbP(b_datum);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	CdValues   *va;
	CdValues   *vb;
	CdRecordScore rs;
	CdScoreStatus st;
	TfCtx		tc;
	double		score;

	cd_scorer_refresh(s);
	pc = s->pc;

	MemoryContextReset(s->cache.callcxt);
	old = MemoryContextSwitchTo(s->cache.callcxt);
	row_values(pc, a, b, &va, &vb, &rs);
	tc.cache = &s->cache;
	tc.pc = pc;
	st = cd_record_score(&pc->prof, va, vb, term_freq_cb, &tc, &cd_palloc_allocator, &rs);
	if (st != CD_SCORE_OK)
		score_error(st, &rs, pc);
	score = rs.score;
	if (explain)
		*explanation = explanation_in(caller, s->profile, pc, va, vb, &rs);
	MemoryContextSwitchTo(old);
	return score;
}

/*
 * The profile's field names, in the order cd_scorer_score_values() takes the values of a
 * row (valid until the profile is read again: see cd_scorer_refresh's count).
 */
int
cd_scorer_fields(CdScorer *s, char ***names)
{
	cd_scorer_refresh(s);
	*names = s->pc->field_names;
	return s->pc->prof.nfields;
}

/*
 * Score rows given as each field's values (a[i], b[i] for field i of cd_scorer_fields),
 * as cd_scorer_score() scores the jsonb rows those values come from, with the scorer's
 * value memo on.  The profile is not checked again here: the caller calls
 * cd_scorer_refresh() once for the pairs it scores under one snapshot.  With min_score > 0
 * a pair that cannot reach it may be given up before its phones, emails, names or
 * companies are compared (cd_record_score_min): *below is then true and nothing else is
 * set; the pairs that reach it get the same score and explanation.
 */
double
cd_scorer_score_values(CdScorer *s, const CdValues *a, const CdValues *b, double min_score,
					   bool explain, Datum *explanation, bool *below)
{
	return cd_scorer_score_values_bounded(s, a, b, min_score, NULL, explain, explanation, below);
}

/*
 * The bound cd_scorer_score_values_bounded may take for a pair whose fields marked in
 * other_key (one per scorer field) are known to hold other keys: each such field whose
 * role has a proven largest similarity for values of other keys (email:
 * CD_EMAIL_SIM_OTHER_KEY, field_match.h) gets the largest weight at most that similarity
 * reaches, every other field the profile's own.  False (out not meaningful) when no
 * field is so bounded.  The scorer must be current (cd_scorer_refresh under the snapshot).
 */
bool
cd_scorer_other_key_weights(CdScorer *s, const bool *other_key, double *out)
{
	bool		any = false;

	if (s->pc == NULL)
		cd_scorer_refresh(s);
	for (int i = 0; i < s->pc->prof.nfields; i++)
	{
		out[i] = s->pc->prof.max_weights[i];
		if (other_key[i] && s->pc->prof.fields[i].role == CD_ROLE_EMAIL)
		{
			out[i] = cd_score_field_max_weight_below(&s->pc->prof, i, CD_EMAIL_SIM_OTHER_KEY);
			any = true;
		}
	}
	return any;
}

/*
 * The new row's side of a guard's pairs, prepared once per probe (cd_score_side_create):
 * valid while the scorer keeps the profile it was prepared with (loads).
 */
struct CdScorerSide
{
	const CdValues *values;
	CdScoreSide *core;
	uint32		loads;
};

static double
score_values_bounded(CdScorer *s, const CdValues *a, CdScoreSide *side, const CdValues *b,
					 double min_score, const double *max_weights, bool explain, Datum *explanation,
					 bool *below)
{
	ProfileCache *pc;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	CdRecordScore rs;
	volatile CdScoreStatus st = CD_SCORE_OK;
	TfCtx		tc;
	double		score;
	CdMemo	   *memo;
	CdMemo	   *prev;

	/* the caller refreshed the scorer under this snapshot (cd_scorer_fields, cd_scorer_refresh) */
	if (s->pc == NULL)
		cd_scorer_refresh(s);
	pc = s->pc;
	*below = false;

	MemoryContextReset(s->cache.callcxt);
	old = MemoryContextSwitchTo(s->cache.callcxt);
	rs.fields = palloc(sizeof(CdFieldScore) * Max(pc->prof.nfields, 1));
	tc.cache = &s->cache;
	tc.pc = pc;
	memo = s->cache.memo;
	if (memo == NULL)
	{
		memo = score_memo(&s->cache, s->parent);
		if (memo != NULL)
			cd_memo_set_budget(memo, SCORER_MEMO_BYTES);
	}
	prev = cd_memo_use(memo);
	PG_TRY();
	{
		CdScoreProfile prof = pc->prof;

		if (max_weights != NULL)
			prof.max_weights = max_weights;
		if (side != NULL)
			st = cd_record_score_min_side(&prof, side, b, term_freq_cb, &tc, &cd_palloc_allocator,
										  min_score, below, &rs);
		else
			st = cd_record_score_min(&prof, a, b, term_freq_cb, &tc, &cd_palloc_allocator,
									 min_score, below, &rs);
	}
	PG_FINALLY();
	{
		cd_memo_use(prev);
	}
	PG_END_TRY();
	if (st != CD_SCORE_OK)
		score_error(st, &rs, pc);
	if (*below)
	{
		MemoryContextSwitchTo(old);
		return 0;
	}
	score = rs.score;
	if (explain)
		*explanation = explanation_in(caller, s->profile, pc, a, b, &rs);
	MemoryContextSwitchTo(old);
	return score;
}

/*
 * cd_scorer_score_values with the bound's largest field weights given (NULL: the
 * profile's): max_weights from cd_scorer_other_key_weights, for a pair known to hold
 * other keys in those fields.  The score of a pair not given up is the same.
 */
double
cd_scorer_score_values_bounded(CdScorer *s, const CdValues *a, const CdValues *b, double min_score,
							   const double *max_weights, bool explain, Datum *explanation, bool *below)
{
	return score_values_bounded(s, a, NULL, b, min_score, max_weights, explain, explanation, below);
}

/*
 * Values a (which must outlive the side) prepared to be scored against many rows with
 * cd_scorer_score_side_bounded, in CurrentMemoryContext.  The scorer must be current.
 */
CdScorerSide *
cd_scorer_side(CdScorer *s, const CdValues *a)
{
	CdScorerSide *side = palloc(sizeof(CdScorerSide));

	if (s->pc == NULL)
		cd_scorer_refresh(s);
	side->values = a;
	side->loads = s->loads;
	side->core = cd_score_side_create(&s->pc->prof, a, &cd_palloc_allocator);
	return side;
}

/*
 * cd_scorer_score_values_bounded of the side's values: the same score, explanation and
 * errors.  A side prepared with a profile read before the scorer's (the profile changed
 * meanwhile) is scored from its values alone.
 */
double
cd_scorer_score_side_bounded(CdScorer *s, CdScorerSide *a, const CdValues *b, double min_score,
							 const double *max_weights, bool explain, Datum *explanation, bool *below)
{
	if (s->pc == NULL)
		cd_scorer_refresh(s);
	return score_values_bounded(s, a->values, a->loads == s->loads ? a->core : NULL, b, min_score,
								max_weights, explain, explanation, below);
}

/*
 * For a caller that scores many pairs of one table in one statement (report_score_pairs):
 * read all the profile's term frequencies once many terms were asked for (as score_rows
 * does), and keep up to memo_bytes of normalized values (score_rows keeps work_mem).
 * Neither changes a score.
 */
void
cd_scorer_set_bulk(CdScorer *s, size_t memo_bytes)
{
	s->cache.one_by_one = false;
	if (s->cache.memo == NULL)
		(void) score_memo(&s->cache, s->parent);
	if (s->cache.memo != NULL)
		cd_memo_set_budget(s->cache.memo, memo_bytes);
}

/*
 * Each of the scorer's fields' values in row (a jsonb Datum, as score_rows reads it, not
 * toasted) into out[0 .. nfields - 1], allocated in CurrentMemoryContext; the values point
 * into row, which must outlive them.
 */
void
cd_scorer_row_values(CdScorer *s, Datum row_datum, CdValues *out)
{
	Jsonb	   *row = DatumGetJsonbP(row_datum);

	if (s->pc == NULL)
		cd_scorer_refresh(s);
	for (int i = 0; i < s->pc->prof.nfields; i++)
		field_values(row, s->pc->field_names[i], &out[i]);
}
