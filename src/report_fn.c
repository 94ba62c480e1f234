/*
 * report_fn.c
 *		The heavy steps of the reports (sql/install/81_reports.sql) in C, over integer row
 *		numbers instead of text ids:
 *
 *	- report_row_keys(compiled jsonb, r jsonb) -> int8[]: every blocking key of one row
 *	  (the keys of blocking_keys(): normalized phones and emails, company keys, ids,
 *	  postcodes, birth dates, addresses, the person key, its sound and the sound of each
 *	  longer word) as 64-bit hashes of the key text, each once; bit 0 of a hash is 1 for a
 *	  word-sound key ("w:"), whose blocks only give neighbour pairs.
 *	- report_block_pairs(keys regclass, ranks regclass, block_cap) -> (n, a, b): the
 *	  candidate pairs of the keys table (rn int4, h int8): all pairs of a block of at most
 *	  block_cap rows, the next two rows in name order in a larger block, the next one in a
 *	  word-sound block; each pair once with a < b, numbered in name order.  Sorted by
 *	  tuplesorts bounded by work_mem (they spill to temporary files), no self-join and no
 *	  window function.
 *	- report_cluster(profile, rows regclass, scored regclass[], threshold, floor) ->
 *	  (rn, center, score): components of the pairs scored >= threshold (union-find), every
 *	  pair inside a component that no key found scored with score_rows, and the average-
 *	  linkage clustering of each component (src/core/cluster.c), without the text ids, the
 *	  per-pair index lookups and the aggregates of the set-based form.
 *
 * The work tables are the report's own (rows: rn int4, id text, r jsonb); any table with
 * those columns is accepted, and a table without them gives the usual SQL error.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/numeric.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"
#include "utils/tuplestore.h"
#include "storage/buffile.h"

#include "cluster.h"
#include "crmdedup.h"
#include "record_score.h"

/* the key functions of the SQL interface, called directly so that the keys are the same */
extern PGDLLEXPORT Datum phone_e164(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum email_key(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum company_key(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum name_key(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum translit(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum person_key(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum phonetic(PG_FUNCTION_ARGS);

/* rows fetched per round trip from a work table */
#define REPORT_FETCH 10000

/* ---------------------------------------------------------------- row keys */

typedef enum KeyKind
{
	KK_NONE = 0,
	KK_PHONE,
	KK_EMAIL,
	KK_COMPANY,
	KK_EXTERNAL_ID,
	KK_POSTCODE,
	KK_BIRTH_DATE,
	KK_ADDRESS
} KeyKind;

typedef struct KeyField
{
	char	   *field;			/* NUL-terminated field name */
	char	   *role;			/* NUL-terminated role */
	KeyKind		kind;
	text	   *region;			/* phone region (phone fields) */
	bool		person;			/* person_name: n: and h: keys */
	bool		words;			/* person_name, last_name, first_name, company: w: keys */
} KeyField;

typedef struct KeyCache
{
	Jsonb	   *compiled;		/* copy, to notice another profile */
	int			nfields;
	KeyField   *fields;
} KeyCache;

static char *
jb_cstring(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL || v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

static KeyCache *
key_cache(FunctionCallInfo fcinfo, Jsonb *compiled)
{
	KeyCache   *kc = fcinfo->flinfo->fn_extra;
	MemoryContext old;
	JsonbValue	fv;
	JsonbContainer *arr;
	int			n;

	if (kc != NULL && VARSIZE(kc->compiled) == VARSIZE(compiled)
		&& memcmp(kc->compiled, compiled, VARSIZE(compiled)) == 0)
		return kc;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	kc = palloc0(sizeof(KeyCache));
	kc->compiled = palloc(VARSIZE(compiled));
	memcpy(kc->compiled, compiled, VARSIZE(compiled));
	if (!JB_ROOT_IS_OBJECT(compiled)
		|| getKeyJsonValueFromContainer(&compiled->root, "fields", 6, &fv) == NULL
		|| fv.type != jbvBinary || !JsonContainerIsArray(fv.val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("compiled profile must be an object with a \"fields\" array"),
				 errhint("Pass the compiled column of crmdedup.profiles.")));
	arr = fv.val.binary.data;
	n = JsonContainerSize(arr);
	kc->fields = palloc0(sizeof(KeyField) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		KeyField   *f = &kc->fields[kc->nfields];
		char	   *region;

		if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			continue;
		f->field = jb_cstring(e->val.binary.data, "field");
		f->role = jb_cstring(e->val.binary.data, "role");
		if (f->field == NULL || f->role == NULL)
			continue;
		region = jb_cstring(e->val.binary.data, "region");
		if (strcmp(f->role, "phone") == 0)
		{
			f->kind = KK_PHONE;
			/* phone_e164(v, NULL) is NULL: no phone keys without a region */
			if (region == NULL)
				f->kind = KK_NONE;
			else
				f->region = cstring_to_text(region);
		}
		else if (strcmp(f->role, "email") == 0)
			f->kind = KK_EMAIL;
		else if (strcmp(f->role, "company") == 0)
			f->kind = KK_COMPANY;
		else if (strcmp(f->role, "external_id") == 0)
			f->kind = KK_EXTERNAL_ID;
		else if (strcmp(f->role, "postcode") == 0)
			f->kind = KK_POSTCODE;
		else if (strcmp(f->role, "birth_date") == 0)
			f->kind = KK_BIRTH_DATE;
		else if (strcmp(f->role, "address") == 0)
			f->kind = KK_ADDRESS;
		f->person = strcmp(f->role, "person_name") == 0;
		f->words = f->person || strcmp(f->role, "last_name") == 0
			|| strcmp(f->role, "first_name") == 0 || strcmp(f->role, "company") == 0;
		if (f->kind != KK_NONE || f->person || f->words)
			kc->nfields++;
	}
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = kc;
	return kc;
}

/* text of a jsonb scalar as ->> gives it; false for JSON null */
static bool
jb_value_text(JsonbValue *v, const char **ptr, int *len)
{
	char	   *s;

	switch (v->type)
	{
		case jbvNull:
			return false;
		case jbvString:
			*ptr = v->val.string.val;
			*len = v->val.string.len;
			return true;
		case jbvNumeric:
			s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			break;
		case jbvBool:
			s = v->val.boolean ? "true" : "false";
			break;
		case jbvBinary:
			s = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
			break;
		default:
			return false;
	}
	*ptr = s;
	*len = strlen(s);
	return true;
}

static bool
all_blank(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] != ' ')
			return false;
	return true;
}

static const char *const value_keys[] = {"value", "phone", "email", "number", "address"};

/*
 * The values of field "name" of row r as text, with the rules of crmdedup.field_values()
 * (and score_rows): a scalar is one value, an array holds scalars or objects with the value
 * under "value", "phone", "email", "number" or "address"; null and blank are no value.
 */
static int
row_field_values(Jsonb *r, const char *name, text ***out)
{
	JsonbValue	v;
	const char *p;
	int			len;
	int			n = 0;
	text	  **vals;

	*out = NULL;
	if (!JB_ROOT_IS_OBJECT(r) || getKeyJsonValueFromContainer(&r->root, name, strlen(name), &v) == NULL)
		return 0;
	if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
	{
		JsonbContainer *arr = v.val.binary.data;
		int			size = JsonContainerSize(arr);

		vals = palloc(sizeof(text *) * Max(size, 1));
		for (int i = 0; i < size; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
			bool		have = false;

			if (e == NULL)
				continue;
			if (e->type == jbvBinary && JsonContainerIsObject(e->val.binary.data))
			{
				for (int k = 0; k < lengthof(value_keys) && !have; k++)
				{
					JsonbValue	ev;

					if (getKeyJsonValueFromContainer(e->val.binary.data, value_keys[k],
													 strlen(value_keys[k]), &ev) != NULL)
						have = jb_value_text(&ev, &p, &len);
				}
			}
			else
				have = jb_value_text(e, &p, &len);
			if (have && !all_blank(p, len))
				vals[n++] = cstring_to_text_with_len(p, len);
		}
		*out = vals;
		return n;
	}
	if (!jb_value_text(&v, &p, &len) || all_blank(p, len))
		return 0;
	vals = palloc(sizeof(text *));
	vals[0] = cstring_to_text_with_len(p, len);
	*out = vals;
	return 1;
}

/* fn(a [, b]), NULL when it returns NULL */
static text *
call_key(PGFunction fn, text *a, text *b)
{
	LOCAL_FCINFO(fc, 2);
	Datum		d;

	if (a == NULL)
		return NULL;
	InitFunctionCallInfoData(*fc, NULL, b != NULL ? 2 : 1, InvalidOid, NULL, NULL);
	fc->args[0].value = PointerGetDatum(a);
	fc->args[0].isnull = false;
	fc->args[1].value = PointerGetDatum(b);
	fc->args[1].isnull = false;
	d = fn(fc);
	if (fc->isnull)
		return NULL;
	return DatumGetTextPP(d);
}

typedef struct KeyOut
{
	uint64	   *h;
	int			n;
	int			cap;
} KeyOut;

/* add hash(prefix || middle || key) with bit 0 set for word-sound keys */
static void
add_key(KeyOut *ko, const char *prefix, const char *middle, const char *key, int keylen, bool word)
{
	StringInfoData s;
	uint64		h;

	if (key == NULL)
		return;
	initStringInfo(&s);
	appendStringInfoString(&s, prefix);
	if (middle != NULL)
	{
		appendStringInfoString(&s, middle);
		appendStringInfoChar(&s, ':');
	}
	appendBinaryStringInfo(&s, key, keylen);
	h = hash_bytes_extended((const unsigned char *) s.data, s.len, 0);
	pfree(s.data);
	h = (h & ~UINT64CONST(1)) | (word ? 1 : 0);
	if (ko->n == ko->cap)
	{
		ko->cap = ko->cap * 2;
		ko->h = repalloc(ko->h, sizeof(uint64) * ko->cap);
	}
	ko->h[ko->n++] = h;
}

static void
add_text_key(KeyOut *ko, const char *prefix, const char *middle, text *key, bool word)
{
	if (key != NULL)
		add_key(ko, prefix, middle, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), word);
}

static int
uint64_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

PG_FUNCTION_INFO_V1(report_row_keys);

/*
 * report_row_keys(compiled jsonb, r jsonb) -> int8[]: the row's blocking keys as hashes,
 * each once, in increasing order.
 */
Datum
report_row_keys(PG_FUNCTION_ARGS)
{
	Jsonb	   *compiled = PG_GETARG_JSONB_P(0);
	Jsonb	   *r = PG_GETARG_JSONB_P(1);
	KeyCache   *kc;
	KeyOut		ko;
	Datum	   *out;
	int			nout = 0;

	cd_check_library_versions();
	kc = key_cache(fcinfo, compiled);
	ko.cap = 16;
	ko.n = 0;
	ko.h = palloc(sizeof(uint64) * ko.cap);

	for (int i = 0; i < kc->nfields; i++)
	{
		KeyField   *f = &kc->fields[i];
		text	  **vals;
		int			nv = row_field_values(r, f->field, &vals);

		for (int j = 0; j < nv; j++)
		{
			text	   *v = vals[j];

			switch (f->kind)
			{
				case KK_NONE:
					break;
				case KK_PHONE:
					add_text_key(&ko, "p:", NULL, call_key(phone_e164, v, f->region), false);
					break;
				case KK_EMAIL:
					add_text_key(&ko, "e:", NULL, call_key(email_key, v, NULL), false);
					break;
				case KK_COMPANY:
					add_text_key(&ko, "c:", NULL, call_key(company_key, v, NULL), false);
					break;
				case KK_EXTERNAL_ID:
					add_text_key(&ko, "x:", f->field, call_key(name_key, v, NULL), false);
					break;
				case KK_POSTCODE:
					add_text_key(&ko, "z:", f->field, call_key(name_key, v, NULL), false);
					break;
				case KK_BIRTH_DATE:
					{
						char		buf[8];
						const char *d;
						size_t		dlen;

						if (cd_date_digits(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), buf, &d, &dlen))
							add_key(&ko, "d:", f->field, d, (int) dlen, false);
						break;
					}
				case KK_ADDRESS:
					add_text_key(&ko, "a:", NULL, call_key(name_key, call_key(translit, v, NULL), NULL), false);
					break;
			}
			if (f->person)
			{
				text	   *pk = call_key(person_key, v, NULL);

				add_text_key(&ko, "n:", NULL, pk, false);
				add_text_key(&ko, "h:", NULL, call_key(phonetic, pk, NULL), false);
			}
			if (f->words)
			{
				text	   *t = call_key(translit, v, NULL);

				if (t != NULL)
				{
					const char *s = VARDATA_ANY(t);
					int			len = VARSIZE_ANY_EXHDR(t);
					int			start = 0;
					const char *middle = f->role;

					/* string_to_array(translit(v), ' '), words of at least 4 characters */
					for (int k = 0; k <= len; k++)
					{
						if (k == len || s[k] == ' ')
						{
							int			wl = k - start;

							if (wl > 0 && pg_mbstrlen_with_len(s + start, wl) >= 4)
								add_text_key(&ko, "w:", middle,
											 call_key(phonetic, cstring_to_text_with_len(s + start, wl), NULL),
											 true);
							start = k + 1;
						}
					}
				}
			}
		}
	}

	if (ko.n > 1)
		qsort(ko.h, ko.n, sizeof(uint64), uint64_cmp);
	out = palloc(sizeof(Datum) * Max(ko.n, 1));
	for (int i = 0; i < ko.n; i++)
		if (i == 0 || ko.h[i] != ko.h[i - 1])
			out[nout++] = Int64GetDatum((int64) ko.h[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, nout, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* ---------------------------------------------------------------- SPI helpers */

static char *
table_name(Oid rel, const char *argname)
{
	char	   *name = get_rel_name(rel);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s: relation with OID %u does not exist", argname, rel)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)), name);
}

static int32
get_int4(HeapTuple tup, TupleDesc desc, int col, const char *what)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return DatumGetInt32(d);
}

/* a row of a cursor, given to a FetchRowFn with the state of its caller */
typedef void (*FetchRowFn) (HeapTuple tup, TupleDesc desc, void *arg);

/*
 * Every row of the open cursor cur, REPORT_FETCH rows per round trip, given to fn in the
 * cursor's order (fn must not use SPI); then the cursor is closed.
 */
static void
fetch_rows(Portal cur, FetchRowFn fn, void *arg)
{
	for (;;)
	{
		SPI_cursor_fetch(cur, true, REPORT_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
			fn(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, arg);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(cur);
}

/* ---------------------------------------------------------------- paged arrays */

/*
 * An int32 array indexed by row number whose memory is bounded by work_mem, like one
 * sort of the report: when the whole array fits in work_mem it is one flat allocation
 * (the usual case, with no cost over a plain array); beyond it the array lives in a
 * temporary file (BufFile, written whole at creation) in pages of PAGED_ENTRIES entries,
 * and at most work_mem of them are resident at a time, evicted by the clock algorithm
 * (a dirty page is written back).  What stays in memory beyond the resident pages is the
 * page table: 4 bytes per page of PAGED_ENTRIES rows.  The values read are those written:
 * the result of a report does not depend on whether its arrays were paged.
 */
#define PAGED_SHIFT 11
#define PAGED_ENTRIES (1 << PAGED_SHIFT)
#define PAGED_BYTES (PAGED_ENTRIES * sizeof(int32))

typedef struct PagedArray
{
	Size		n;				/* entries 0 .. n - 1 */
	int32	   *flat;			/* the whole array, or NULL when paged */
	BufFile    *file;			/* the pages, when paged */
	int			npages;
	int			nslots;			/* resident pages at most */
	int32	   *page_slot;		/* per page: its slot, or -1 */
	int32	   *slot_page;		/* per slot: its page, or -1 */
	bool	   *slot_dirty;
	bool	   *slot_used;		/* the clock's reference bit */
	int32	  **slot_data;
	int			hand;			/* the clock's hand */
	int32		cur_page;		/* the page of the last access, or -1 */
	int32	   *cur_data;
	int64		faults;			/* pages read back from the file */
} PagedArray;

/* a flat array if it fits in budget bytes, else a paged one; entry i starts as identity ? i : init */
static PagedArray *
paged_create(MemoryContext cxt, const char *what, Size n, Size budget, bool identity, int32 init)
{
	PagedArray *a = MemoryContextAllocZero(cxt, sizeof(PagedArray));
	int32	   *page;

	a->n = n;
	a->cur_page = -1;
	if (n * sizeof(int32) <= budget)
	{
		a->flat = MemoryContextAllocHuge(cxt, sizeof(int32) * Max(n, 1));
		for (Size i = 0; i < n; i++)
			a->flat[i] = identity ? (int32) i : init;
		return a;
	}
	a->npages = (int) ((n + PAGED_ENTRIES - 1) / PAGED_ENTRIES);
	a->nslots = (int) Max(2, Min((Size) a->npages, budget / PAGED_BYTES));
	a->page_slot = MemoryContextAlloc(cxt, sizeof(int32) * a->npages);
	a->slot_page = MemoryContextAlloc(cxt, sizeof(int32) * a->nslots);
	a->slot_dirty = MemoryContextAllocZero(cxt, sizeof(bool) * a->nslots);
	a->slot_used = MemoryContextAllocZero(cxt, sizeof(bool) * a->nslots);
	a->slot_data = MemoryContextAlloc(cxt, sizeof(int32 *) * a->nslots);
	for (int s = 0; s < a->nslots; s++)
	{
		a->slot_page[s] = -1;
		a->slot_data[s] = MemoryContextAlloc(cxt, PAGED_BYTES);
	}
	elog(DEBUG1, "crmdedup: %s paged to a temporary file (%d pages of %d rows, %d in memory)",
		 what, a->npages, PAGED_ENTRIES, a->nslots);
	/* the file holds every page from the start: pages are then read and written in place */
	a->file = BufFileCreateTemp(false);
	page = a->slot_data[0];
	for (int p = 0; p < a->npages; p++)
	{
		a->page_slot[p] = -1;
		for (int k = 0; k < PAGED_ENTRIES; k++)
			page[k] = identity ? (int32) ((Size) p * PAGED_ENTRIES + k) : init;
		BufFileWrite(a->file, page, PAGED_BYTES);
		if ((p & 63) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return a;
}

static void
paged_seek(PagedArray *a, int page)
{
	if (BufFileSeek(a->file, 0, (off_t) page * (off_t) PAGED_BYTES, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not seek in the temporary file of a report")));
}

/* make page resident (evicting another if need be) and current */
static pg_noinline void
paged_load(PagedArray *a, int32 page)
{
	int			s = a->page_slot[page];

	if (s < 0)
	{
		/* the clock: the first slot not used since the hand last passed it */
		for (;;)
		{
			s = a->hand;
			a->hand = (a->hand + 1) % a->nslots;
			if (a->slot_page[s] < 0 || !a->slot_used[s])
				break;
			a->slot_used[s] = false;
		}
		if (a->slot_page[s] >= 0)
		{
			if (a->slot_dirty[s])
			{
				paged_seek(a, a->slot_page[s]);
				BufFileWrite(a->file, a->slot_data[s], PAGED_BYTES);
			}
			a->page_slot[a->slot_page[s]] = -1;
		}
		paged_seek(a, page);
		if (BufFileRead(a->file, a->slot_data[s], PAGED_BYTES) != PAGED_BYTES)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read the temporary file of a report")));
		a->slot_page[s] = page;
		a->slot_dirty[s] = false;
		a->page_slot[page] = s;
		a->faults++;
	}
	a->slot_used[s] = true;
	a->cur_page = page;
	a->cur_data = a->slot_data[s];
}

static inline int32
paged_get(PagedArray *a, Size i)
{
	int32		page;

	Assert(i < a->n);
	if (likely(a->flat != NULL))
		return a->flat[i];
	page = (int32) (i >> PAGED_SHIFT);
	if (page != a->cur_page)
		paged_load(a, page);
	return a->cur_data[i & (PAGED_ENTRIES - 1)];
}

static inline void
paged_set(PagedArray *a, Size i, int32 v)
{
	int32		page;

	Assert(i < a->n);
	if (likely(a->flat != NULL))
	{
		a->flat[i] = v;
		return;
	}
	page = (int32) (i >> PAGED_SHIFT);
	if (page != a->cur_page)
		paged_load(a, page);
	a->cur_data[i & (PAGED_ENTRIES - 1)] = v;
	a->slot_dirty[a->page_slot[page]] = true;
}

/* give back the array's memory and file */
static void
paged_free(PagedArray *a)
{
	if (a->file != NULL)
		BufFileClose(a->file);
	if (a->flat != NULL)
		pfree(a->flat);
	for (int s = 0; s < a->nslots; s++)
		pfree(a->slot_data[s]);
	if (a->nslots > 0)
	{
		pfree(a->page_slot);
		pfree(a->slot_page);
		pfree(a->slot_dirty);
		pfree(a->slot_used);
		pfree(a->slot_data);
	}
	pfree(a);
}

/* work_mem in bytes, as tuplesort takes it */
static Size
work_mem_bytes(void)
{
	return (Size) work_mem * 1024;
}

/* all pairs of a block this size at most: above it a block is paired by neighbours */
#define REPORT_MAX_BLOCK_CAP 10000

/*
 * The largest rn of a table whose rows must be numbered 1..n, once each: the arrays sized
 * by n must not be sized by one stray large number.
 */
static int32
max_rn(const char *tbl)
{
	bool		isnull;
	Datum		d;
	int32		n;
	int64		rows;
	int64		distinct;

	if (SPI_execute(psprintf("SELECT max(rn)::int4, count(*), count(DISTINCT rn) FROM %s", tbl),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	n = isnull ? 0 : DatumGetInt32(d);
	rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	distinct = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (n < 0 || n >= PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows in %s", tbl)));
	if (rows != n || distinct != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the rows of %s are not numbered 1..%d once each", tbl, n)));
	return n;
}

static void
check_rn(int32 rn, int32 n, const char *tbl)
{
	if (rn < 1 || rn > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row number %d in %s is outside 1..%d", rn, tbl, n)));
}

/* ---------------------------------------------------------------- block pairs */

/*
 * The raw pairs of the blocks go through a tuplesort of int8 (the earlier row's name rank
 * in the high 32 bits, the other's in the low ones: never negative, so the signed order is
 * the order of the two ranks), which sorts in memory up to work_mem and spills to temporary
 * files beyond it; its sorted output gives each pair once.
 */
static inline void
add_pair(Tuplesortstate *ps, int32 x, int32 y, int64 *nraw)
{
	uint64		a = (uint64) Min(x, y);
	uint64		b = (uint64) Max(x, y);

	if (x == y)
		return;
	tuplesort_putdatum(ps, Int64GetDatum((int64) ((a << 32) | b)), false);
	if ((++*nraw & 0xFFFF) == 0)
		CHECK_FOR_INTERRUPTS();
}

/* the neighbour pairs of the row of rank r, given the two rows before it in its block */
static inline void
add_neighbours(Tuplesortstate *ps, const int32 *prev, int nprev, int32 r, bool word, int64 *nraw)
{
	if (nprev >= 1)
		add_pair(ps, prev[nprev - 1], r, nraw);
	if (!word && nprev >= 2)
		add_pair(ps, prev[nprev - 2], r, nraw);
}

#define ST_SORT sort_int32s
#define ST_ELEMENT_TYPE int32
#define ST_COMPARE(a, b) (*(a) < *(b) ? -1 : (*(a) > *(b) ? 1 : 0))
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* what the cursor loops of report_block_pairs() share */
typedef struct BlockState
{
	PagedArray *rank_of;		/* row -> its name rank, -1 before it is ranked */
	PagedArray *rn_of;			/* name rank -> row */
	int32		n;
	int32		nranked;
	const char *keys_tbl;
	const char *ranks_tbl;
	TupleTableSlot *slot;		/* (h, rank) */
	Tuplesortstate *sort;		/* of the (h, rank) entries */
} BlockState;

/* a row of the ranks table, in name order: its rank is the next one */
static void
rank_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	BlockState *bs = arg;
	int32		rn = get_int4(tup, desc, 1, "rn");

	check_rn(rn, bs->n, bs->ranks_tbl);
	if (paged_get(bs->rank_of, rn) < 0)
	{
		paged_set(bs->rank_of, rn, bs->nranked);
		paged_set(bs->rn_of, bs->nranked++, rn);
	}
}

/* a (rn, h) row of the keys table: its (h, rank) entry into the sort */
static void
key_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	BlockState *bs = arg;
	bool		isnull;
	int32		rn = get_int4(tup, desc, 1, "rn");
	int64		h = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	int32		rank;

	check_rn(rn, bs->n, bs->keys_tbl);
	rank = paged_get(bs->rank_of, rn);
	if (rank < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row number %d of %s is not in %s", rn, bs->keys_tbl, bs->ranks_tbl)));
	ExecClearTuple(bs->slot);
	bs->slot->tts_values[0] = Int64GetDatum(h);
	bs->slot->tts_values[1] = Int32GetDatum(rank);
	bs->slot->tts_isnull[0] = false;
	bs->slot->tts_isnull[1] = false;
	ExecStoreVirtualTuple(bs->slot);
	tuplesort_puttupleslot(bs->sort, bs->slot);
}

PG_FUNCTION_INFO_V1(report_block_pairs);

/*
 * report_block_pairs(keys regclass, ranks regclass, block_cap int) -> (n int4, a int4, b int4)
 *
 * keys: (rn int4, h int8), the rows' key hashes (bit 0: word-sound key); ranks: (rn int4,
 * s text), every row once with its name sort key.  Rows are numbered 1..n.
 *
 * The pairs are numbered (n) in name order: by the name rank of the pair's earlier row in
 * name order, then of the other.  The scorer works through them in n order (in ranges of
 * n, per parallel worker), so the pairs of neighbours in name order, which most keys give,
 * come together and a row's values are still in the scorer's value memo (value_memo.h)
 * for its next pairs; in row-number order a pair's second row was rarely there.  The
 * order changes no score and no result: a and b are still row numbers with a < b.
 *
 * Memory: the (key, rank) entries and the raw pairs go through two tuplesorts of work_mem
 * each (they spill to temporary files beyond it); the name rank of each row and the row
 * of each rank are two paged arrays of work_mem each (in memory while they fit, in a
 * temporary file beyond it), and one block of at most block_cap ranks stays in memory.
 */
Datum
report_block_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			keys_rel = PG_GETARG_OID(0);
	Oid			ranks_rel = PG_GETARG_OID(1);
	int32		cap = PG_GETARG_INT32(2);
	MemoryContext work;
	MemoryContext old;
	char	   *keys_tbl;
	char	   *ranks_tbl;
	int32		n;
	PagedArray *rank_of;
	PagedArray *rn_of;
	BlockState	bs;
	TupleDesc	kdesc;
	TupleTableSlot *kin;
	TupleTableSlot *kout;
	Tuplesortstate *ks;
	Tuplesortstate *ps;
	AttrNumber	katts[2] = {1, 2};
	Oid			kops[2] = {Int8LessOperator, Int4LessOperator};
	Oid			kcolls[2] = {InvalidOid, InvalidOid};
	bool		knulls[2] = {false, false};
	int32	   *blk;
	int			nblk = 0;
	bool		have = false;
	int64		curh = 0;
	bool		word = false;
	bool		streaming = false;
	int64		nraw = 0;
	Datum		d;
	bool		isnull;
	bool		first = true;
	int64		prevp = 0;
	Portal		cur;
	Size		npairs = 0;

	if (cap < 2 || cap > REPORT_MAX_BLOCK_CAP)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block_cap must be between 2 and %d", REPORT_MAX_BLOCK_CAP)));
	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "crmdedup report_block_pairs", ALLOCSET_DEFAULT_SIZES);
	keys_tbl = table_name(keys_rel, "keys");
	ranks_tbl = table_name(ranks_rel, "ranks");

	SPI_connect();
	n = max_rn(ranks_tbl);
	old = MemoryContextSwitchTo(work);
	/* each a work_mem, like each sort: paged to a temporary file beyond it */
	rank_of = paged_create(work, "the rows' name ranks", (Size) n + 1, work_mem_bytes(), false, -1);
	rn_of = paged_create(work, "the rows of the name ranks", (Size) n + 1, work_mem_bytes(), false, 0);
	blk = palloc(sizeof(int32) * ((Size) cap + 1));
	kdesc = CreateTemplateTupleDesc(2);
	TupleDescInitEntry(kdesc, (AttrNumber) 1, "h", INT8OID, -1, 0);
	TupleDescInitEntry(kdesc, (AttrNumber) 2, "rank", INT4OID, -1, 0);
	kin = MakeSingleTupleTableSlot(kdesc, &TTSOpsVirtual);
	kout = MakeSingleTupleTableSlot(kdesc, &TTSOpsMinimalTuple);
	MemoryContextSwitchTo(old);

	/* name order: rows without a sort key last, ties by row number */
	cur = SPI_cursor_open_with_args(NULL, psprintf("SELECT rn::int4 FROM %s ORDER BY s COLLATE \"C\", rn", ranks_tbl),
									0, NULL, NULL, NULL, true, 0);
	bs.rank_of = rank_of;
	bs.rn_of = rn_of;
	bs.n = n;
	bs.nranked = 0;
	bs.keys_tbl = keys_tbl;
	bs.ranks_tbl = ranks_tbl;
	fetch_rows(cur, rank_row, &bs);

	/* 1. the (key, rank) entries, sorted by key then rank */
	old = MemoryContextSwitchTo(work);
	ks = tuplesort_begin_heap(kdesc, 2, katts, kops, kcolls, knulls, work_mem, NULL, TUPLESORT_NONE);
	MemoryContextSwitchTo(old);
	cur = SPI_cursor_open_with_args(NULL, psprintf("SELECT rn::int4, h::int8 FROM %s WHERE h IS NOT NULL", keys_tbl),
									0, NULL, NULL, NULL, true, 0);
	bs.slot = kin;
	bs.sort = ks;
	fetch_rows(cur, key_row, &bs);
	SPI_finish();
	paged_free(rank_of);
	tuplesort_performsort(ks);
	CHECK_FOR_INTERRUPTS();

	/*
	 * 2. the raw pairs of each block: all pairs of a block of at most cap rows, the next
	 * two rows in name order in a larger one, the next one in a word-sound block.  A block
	 * is kept in blk until it has more than cap rows; from then on its pairs are made as
	 * its rows come (neighbours only need the two rows before).
	 */
	old = MemoryContextSwitchTo(work);
	ps = tuplesort_begin_datum(INT8OID, Int8LessOperator, InvalidOid, false, work_mem, NULL, TUPLESORT_NONE);
	MemoryContextSwitchTo(old);
	for (;;)
	{
		bool		more = tuplesort_gettupleslot(ks, true, false, kout, NULL);
		int64		h = 0;
		int32		r = 0;

		if (more)
		{
			h = DatumGetInt64(slot_getattr(kout, 1, &isnull));
			r = DatumGetInt32(slot_getattr(kout, 2, &isnull));
		}
		if (have && (!more || h != curh))
		{
			/* the end of a block: a small one gives all its pairs */
			if (!streaming && !word)
			{
				for (int x = 0; x < nblk; x++)
					for (int y = x + 1; y < nblk; y++)
						add_pair(ps, blk[x], blk[y], &nraw);
			}
			have = false;
		}
		if (!more)
			break;
		if (!have)
		{
			/* report_row_keys() gives each key of a row once; a repeated (rn, h) pairs no row with itself */
			have = true;
			curh = h;
			word = (((uint64) h) & 1) != 0;
			streaming = false;
			nblk = 0;
		}
		if (streaming)
		{
			add_neighbours(ps, blk, nblk, r, word, &nraw);
			blk[0] = blk[1];
			blk[1] = r;
			continue;
		}
		blk[nblk++] = r;
		if (word || nblk > cap)
		{
			/* a large block (or a word-sound one): neighbour pairs as the rows come */
			for (int x = 1; x < nblk; x++)
				add_neighbours(ps, blk, x, blk[x], word, &nraw);
			if (nblk >= 2)
			{
				blk[0] = blk[nblk - 2];
				blk[1] = blk[nblk - 1];
			}
			else
				blk[1] = blk[0];	/* one row so far: blk[1] is the last */
			streaming = true;
			nblk = 2;
		}
	}
	tuplesort_end(ks);
	tuplesort_performsort(ps);
	CHECK_FOR_INTERRUPTS();

	/* 3. each pair once, in the order of its ranks */
	while (tuplesort_getdatum(ps, true, &d, &isnull, NULL))
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		int64		p = DatumGetInt64(d);
		int32		ra;
		int32		rb;

		if (!first && p == prevp)
			continue;
		first = false;
		prevp = p;
		if (npairs >= PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many candidate pairs"),
					 errhint("Lower block_cap.")));
		npairs++;
		ra = paged_get(rn_of, (Size) (((uint64) p) >> 32));
		rb = paged_get(rn_of, (Size) (((uint64) p) & 0xFFFFFFFF));
		values[0] = Int32GetDatum((int32) npairs);
		values[1] = Int32GetDatum(Min(ra, rb));
		values[2] = Int32GetDatum(Max(ra, rb));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((npairs & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	tuplesort_end(ps);
	paged_free(rn_of);
	ExecDropSingleTupleTableSlot(kin);
	ExecDropSingleTupleTableSlot(kout);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/* ---------------------------------------------------------------- pair scores */

/* the place of rn in the sorted distinct array rns[0 .. n - 1], or -1 */
static int
rn_index(const int32 *rns, int n, int32 rn)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (rns[mid] == rn)
			return mid;
		if (rns[mid] < rn)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

typedef struct PairScorer
{
	MemoryContext cxt;			/* the scorer's own: deleted when the profile changes */
	CdScorer   *scorer;
	char	   *profile;
} PairScorer;

/* what the cursor loops of report_score_pairs() share */
typedef struct RangeState
{
	int32	   *pa;				/* the range's pairs, np of npcap */
	int32	   *pb;
	Size		np;
	Size		npcap;
	const int32 *rns;			/* the range's rows, sorted */
	int			nrns;
	Datum	   *rowj;			/* per row of rns: its jsonb, copied */
	CdValues  **vals;			/* per row of rns: its fields' values */
	int			nfields;
	MemoryContext work;
	CdScorer   *scorer;
	const char *rows_tbl;
} RangeState;

/* an (a, b) pair of the range */
static void
range_pair_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	RangeState *rs = arg;

	if (rs->np == rs->npcap)
	{
		if (rs->npcap * 2 * sizeof(int32) > MaxAllocHugeSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many pairs in one range")));
		rs->npcap *= 2;
		rs->pa = repalloc_huge(rs->pa, sizeof(int32) * rs->npcap);
		rs->pb = repalloc_huge(rs->pb, sizeof(int32) * rs->npcap);
	}
	rs->pa[rs->np] = get_int4(tup, desc, 1, "a");
	rs->pb[rs->np] = get_int4(tup, desc, 2, "b");
	rs->np++;
}

/* an (rn, r) row of the range: its jsonb and its fields' values, once */
static void
range_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	RangeState *rs = arg;
	int32		rn = get_int4(tup, desc, 1, "rn");
	bool		isnull;
	Datum		r = SPI_getbinval(tup, desc, 2, &isnull);
	int			at = rn_index(rs->rns, rs->nrns, rn);
	MemoryContext old;

	/* score_rows() refuses a null row: so does this, rather than drop its pairs */
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rows to score must not be null"),
				 errdetail("Row %d of %s is null.", rn, rs->rows_tbl),
				 errhint("Pass '{}' for a row without values.")));
	if (at < 0 || rs->rowj[at] != (Datum) 0)
		return;
	old = MemoryContextSwitchTo(rs->work);
	/* detoasted and copied out of SPI's memory: the values point into it */
	rs->rowj[at] = PointerGetDatum(DatumGetJsonbPCopy(r));
	rs->vals[at] = palloc(sizeof(CdValues) * Max(rs->nfields, 1));
	cd_scorer_row_values(rs->scorer, rs->rowj[at], rs->vals[at]);
	MemoryContextSwitchTo(old);
}

PG_FUNCTION_INFO_V1(report_score_pairs);

/*
 * report_score_pairs(profile text, pairs regclass, rows regclass, lo int8, hi int8,
 *					  min_score float8) -> (a int4, b int4, score float8)
 *
 * The score_rows() scores of the pairs (n, a, b) of a work table with lo < n <= hi, in n
 * order.  Each row the pairs name is read from rows (rn int4, r jsonb) once, and its
 * fields' values taken out of its jsonb once, for all its pairs in the range: the same
 * scores as joining each pair to its two rows and calling score_rows(), without two index
 * lookups and two jsonb readings per pair.  With min_score > 0, a pair that cannot reach
 * it may be given up before its names are compared: its score is then NULL (below
 * min_score, not computed).  The caller keeps a range small enough for work_mem (the
 * range's rows are held in memory); report_score() runs ranges in parallel workers.
 * A null row is an error, as in score_rows(); a pair naming a row that rows does not
 * hold is not scored (as a join with rows would drop it) and counted in a NOTICE.
 */
Datum
report_score_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *profile_t = PG_GETARG_TEXT_PP(0);
	Oid			pairs_rel = PG_GETARG_OID(1);
	Oid			rows_rel = PG_GETARG_OID(2);
	int64		lo = PG_GETARG_INT64(3);
	int64		hi = PG_GETARG_INT64(4);
	float8		min_score = PG_GETARG_FLOAT8(5);
	char	   *profile = text_to_cstring(profile_t);
	PairScorer *ps = fcinfo->flinfo->fn_extra;
	MemoryContext work;
	MemoryContext paircxt;
	MemoryContext old;
	char	   *pairs_tbl;
	char	   *rows_tbl;
	int32	   *pa;
	int32	   *pb;
	int32	   *rns;
	Size		np = 0;
	Size		npcap = 1024;
	int			nrns = 0;
	Datum	   *rowj;
	CdValues  **vals;
	int			nfields;
	char	  **names;
	Portal		cur;
	SPIPlanPtr	plan;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	int64		nlost = 0;
	RangeState	rs;

	if (isnan(min_score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_score must not be NaN")));
	/* the checks of score_rows(), whose scores these are */
	cd_check_input_length(0, "report_score_pairs");	/* the database encoding */
	cd_check_library_versions();
	InitMaterializedSRF(fcinfo, 0);
	if (ps == NULL || strcmp(ps->profile, profile) != 0)
	{
		/*
		 * One scorer per call site: its profile, term frequencies and value memo, in a
		 * context of its own, so that another profile in the next call (a lateral call
		 * over several profiles) frees the last one's instead of keeping every scorer
		 * until the end of the query.
		 */
		MemoryContext cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
												  "crmdedup report_score_pairs scorer",
												  ALLOCSET_DEFAULT_SIZES);

		fcinfo->flinfo->fn_extra = NULL;
		if (ps != NULL)
			MemoryContextDelete(ps->cxt);
		old = MemoryContextSwitchTo(cxt);
		ps = palloc0(sizeof(PairScorer));
		ps->cxt = cxt;
		ps->profile = pstrdup(profile);
		ps->scorer = cd_scorer_create(cxt, profile);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = ps;
	}
	work = AllocSetContextCreate(CurrentMemoryContext, "crmdedup report_score_pairs", ALLOCSET_DEFAULT_SIZES);
	paircxt = AllocSetContextCreate(work, "crmdedup report_score_pairs pair", ALLOCSET_SMALL_SIZES);
	pairs_tbl = table_name(pairs_rel, "pairs");
	rows_tbl = table_name(rows_rel, "rows");
	if (hi <= lo)
	{
		MemoryContextDelete(work);
		return (Datum) 0;
	}

	SPI_connect();
	/* the profile as of this statement, and its fields (the order of each row's values) */
	cd_scorer_refresh(ps->scorer);
	cd_scorer_set_bulk(ps->scorer, Min((Size) work_mem * 1024, MaxAllocSize / 2));
	nfields = cd_scorer_fields(ps->scorer, &names);

	/* 1. the range's pairs, in n order */
	pa = MemoryContextAllocHuge(work, sizeof(int32) * npcap);
	pb = MemoryContextAllocHuge(work, sizeof(int32) * npcap);
	args[0] = Int64GetDatum(lo);
	args[1] = Int64GetDatum(hi);
	cur = SPI_cursor_open_with_args(NULL,
									psprintf("SELECT a::int4, b::int4 FROM %s WHERE n > $1 AND n <= $2 ORDER BY n", pairs_tbl),
									2, argtypes, args, NULL, true, 0);
	rs.pa = pa;
	rs.pb = pb;
	rs.np = 0;
	rs.npcap = npcap;
	fetch_rows(cur, range_pair_row, &rs);
	pa = rs.pa;
	pb = rs.pb;
	np = rs.np;

	/* 2. each row of the range once: its jsonb, then its fields' values */
	rns = MemoryContextAllocHuge(work, sizeof(int32) * Max(np * 2, 1));
	for (Size i = 0; i < np; i++)
	{
		rns[2 * i] = pa[i];
		rns[2 * i + 1] = pb[i];
	}
	if (np > 0)
	{
		Size		k = 0;

		sort_int32s(rns, np * 2);
		for (Size i = 0; i < np * 2; i++)
			if (i == 0 || rns[i] != rns[i - 1])
				rns[k++] = rns[i];
		if (k > INT_MAX / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many rows in one range")));
		nrns = (int) k;
	}
	rowj = MemoryContextAllocZero(work, sizeof(Datum) * Max(nrns, 1));
	vals = MemoryContextAllocZero(work, sizeof(CdValues *) * Max(nrns, 1));
	if (nrns > 0)
	{
		Datum	   *d = MemoryContextAlloc(work, sizeof(Datum) * nrns);
		Datum		arg;
		Oid			argtype = INT4ARRAYOID;

		for (int i = 0; i < nrns; i++)
			d[i] = Int32GetDatum(rns[i]);
		old = MemoryContextSwitchTo(work);
		arg = PointerGetDatum(construct_array(d, nrns, INT4OID, sizeof(int32), true, TYPALIGN_INT));
		MemoryContextSwitchTo(old);
		/*
		 * A generic plan: planned for the array's values, a range's thousands of row
		 * numbers made the planner read the whole rows table (a sequential scan with a
		 * hashed = ANY) for every range; the index on rn reads just them, in rn order.
		 */
		plan = SPI_prepare_cursor(psprintf("SELECT rn::int4, r::jsonb FROM %s WHERE rn = ANY($1)", rows_tbl),
								  1, &argtype, CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
		cur = SPI_cursor_open(NULL, plan, &arg, NULL, true);
		rs.rns = rns;
		rs.nrns = nrns;
		rs.rowj = rowj;
		rs.vals = vals;
		rs.nfields = nfields;
		rs.work = work;
		rs.scorer = ps->scorer;
		rs.rows_tbl = rows_tbl;
		fetch_rows(cur, range_row, &rs);
	}

	/* 3. the scores, in n order (neighbours in name order: the value memo keeps their values) */
	for (Size i = 0; i < np; i++)
	{
		int			x = rn_index(rns, nrns, pa[i]);
		int			y = rn_index(rns, nrns, pb[i]);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		bool		below = false;
		double		score;

		/* a pair whose row is gone scores as score_rows' join left it: not at all (counted) */
		if (x < 0 || y < 0 || vals[x] == NULL || vals[y] == NULL)
		{
			nlost++;
			continue;
		}
		old = MemoryContextSwitchTo(paircxt);
		score = cd_scorer_score_values(ps->scorer, vals[x], vals[y], min_score, false, NULL, &below);
		MemoryContextSwitchTo(old);
		MemoryContextReset(paircxt);
		values[0] = Int32GetDatum(pa[i]);
		values[1] = Int32GetDatum(pb[i]);
		values[2] = Float8GetDatum(score);
		nulls[2] = below;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	SPI_finish();
	if (nlost > 0)
		ereport(NOTICE,
				(errmsg_plural("crmdedup: %lld pair of %s names a row that is not in %s: not scored",
							   "crmdedup: %lld pairs of %s name a row that is not in %s: not scored",
							   (unsigned long) nlost,
							   (long long) nlost, pairs_tbl, rows_tbl)));
	MemoryContextDelete(work);
	return (Datum) 0;
}

/* ---------------------------------------------------------------- clustering */


/* the next pair inside a component from the sorted pairs, false at the end */
static bool
inner_next(Tuplesortstate *ts, TupleTableSlot *slot, int32 *c, int32 *a, int32 *b, float8 *score)
{
	bool		isnull;

	if (!tuplesort_gettupleslot(ts, true, false, slot, NULL))
		return false;
	*c = DatumGetInt32(slot_getattr(slot, 1, &isnull));
	*a = DatumGetInt32(slot_getattr(slot, 2, &isnull));
	*b = DatumGetInt32(slot_getattr(slot, 3, &isnull));
	*score = DatumGetFloat8(slot_getattr(slot, 4, &isnull));
	return true;
}

/* the scored tables' names from a regclass[] */
static char **
scored_tables(ArrayType *arr, int *count)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **names;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scored must be a one-dimensional array")));
	deconstruct_array(arr, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, count);
	names = palloc(sizeof(char *) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("scored must not contain nulls")));
		names[i] = table_name(DatumGetObjectId(elems[i]), "scored");
	}
	return names;
}

typedef struct Progress
{
	TimestampTz start;
	TimestampTz last;
	int64		done;
	int64		total;
	const char *profile;
} Progress;

static void
progress(Progress *pr, bool force)
{
	TimestampTz now = GetCurrentTimestamp();
	double		secs;
	double		left;
	char	   *app;

	if (!force && !TimestampDifferenceExceeds(pr->last, now, 5000))
		return;
	pr->last = now;
	secs = (double) (now - pr->start) / 1e6;
	left = pr->done > 0 ? secs / pr->done * (pr->total - pr->done) : 0;
	ereport(NOTICE,
			(errmsg("crmdedup: scored %lld of %lld pairs inside components (%d %%), about %.0f s left",
					(long long) pr->done, (long long) pr->total,
					(int) (pr->total > 0 ? 100 * pr->done / pr->total : 100), left)));
	app = psprintf("crmdedup %s: clustering %d%%, %.0f s left", pr->profile,
				   (int) (pr->total > 0 ? 100 * pr->done / pr->total : 100), left);
	if (strlen(app) >= NAMEDATALEN)
		app[NAMEDATALEN - 1] = '\0';
	(void) set_config_option("application_name", app, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * report_cluster(profile text, rows regclass, scored regclass[], threshold float8,
 *				  floor float8) -> (rn int4, center int4, score float8)
 * report_missing_pairs(rows regclass, scored regclass[], threshold float8)
 *				  -> (n int4, a int4, b int4, score float8)
 *
 * rows: (rn int4, r jsonb) numbered 1..n, with an index on rn; scored: tables of (a int4,
 * b int4, score float8), a < b.  Components are those of the pairs scored >= threshold.
 * report_missing_pairs gives every pair inside a component (a < b): those that no scored
 * table holds numbered 1.. (n) with a NULL score, for the caller to score in parallel, the
 * others with their score and a NULL n.  So report_cluster() needs only this table and the
 * scores of its missing pairs, not every scored pair again.  report_cluster scores what is still
 * missing itself (one backend) and gives one row per member of a component: its cluster's
 * center (the member with the highest average score to the others) and its score to the
 * center (1 for the center).  Members of a component are numbered in rn order, so ties
 * break as cluster_pairs breaks them on ids in that order.
 */
static Datum cluster_common(FunctionCallInfo fcinfo, bool missing_only);

/* the root of x in the union-find of labels (path halving: parents only get smaller) */
static int32
labels_root(PagedArray *labels, int32 x)
{
	int32		p;

	while ((p = paged_get(labels, x)) != x)
	{
		int32		gp = paged_get(labels, p);

		/* a root's child is left alone: writing would dirty a page for nothing */
		if (gp != p)
			paged_set(labels, x, gp);
		x = gp;
	}
	return x;
}

/* what the cursor loops of cluster_common() share */
typedef struct ClusterState
{
	PagedArray *labels;			/* the union-find, then each row's component */
	int32		n;
	const char *tbl;			/* the scored table read */
	TupleTableSlot *slot;		/* (component, a, b, score) */
	Tuplesortstate *sort;		/* of the pairs inside components */
} ClusterState;

/* an (a, b) pair scored >= threshold: joins the components of a and b */
static void
edge_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	ClusterState *cs = arg;
	int32		a = get_int4(tup, desc, 1, "a");
	int32		b = get_int4(tup, desc, 2, "b");
	int32		ra;
	int32		rb;

	check_rn(a, cs->n, cs->tbl);
	check_rn(b, cs->n, cs->tbl);
	ra = labels_root(cs->labels, a);
	rb = labels_root(cs->labels, b);
	if (ra < rb)
		paged_set(cs->labels, rb, ra);
	else if (rb < ra)
		paged_set(cs->labels, ra, rb);
}

/* an (a, b, score) pair: into the sort when a and b are in one component */
static void
inner_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	ClusterState *cs = arg;
	int32		a = get_int4(tup, desc, 1, "a");
	int32		b = get_int4(tup, desc, 2, "b");
	bool		isnull;
	float8		s;
	int32		c;

	check_rn(a, cs->n, cs->tbl);
	check_rn(b, cs->n, cs->tbl);
	/* the same label for two rows: a component of two or more */
	if (a == b || (c = paged_get(cs->labels, a)) != paged_get(cs->labels, b))
		return;
	s = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	if (isnull || isnan(s))
		return;
	ExecClearTuple(cs->slot);
	cs->slot->tts_values[0] = Int32GetDatum(c);
	cs->slot->tts_values[1] = Int32GetDatum(Min(a, b));
	cs->slot->tts_values[2] = Int32GetDatum(Max(a, b));
	cs->slot->tts_values[3] = Float8GetDatum(Max(0.0, Min(1.0, s)));
	memset(cs->slot->tts_isnull, 0, sizeof(bool) * 4);
	ExecStoreVirtualTuple(cs->slot);
	tuplesort_puttupleslot(cs->sort, cs->slot);
}

/* the next (component << 32 | member) from the sorted members, false at the end */
static bool
member_next(Tuplesortstate *ms, int64 *v)
{
	Datum		d;
	bool		isnull;

	if (!tuplesort_getdatum(ms, true, &d, &isnull, NULL))
		return false;
	*v = DatumGetInt64(d);
	return true;
}

/*
 * The next component of the sorted members: its size (0 at the end), its label in *c
 * and, when mem is not NULL, its members in increasing order (each once) in mem, which
 * holds CD_CLUSTER_MAX_NODES; a larger component is an error before mem is overrun.
 */
static int64
component_next(Tuplesortstate *ms, bool *have, int64 *look, int32 *mem, int32 *c)
{
	int64		m = 0;
	int32		prev = -1;

	if (!*have)
		return 0;
	*c = (int32) (*look >> 32);
	while (*have && (int32) (*look >> 32) == *c)
	{
		int32		r = (int32) (*look & 0xFFFFFFFF);

		if (r != prev)
		{
			if (mem != NULL)
			{
				if (m >= CD_CLUSTER_MAX_NODES)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("a component of more than %d records is too large to cluster",
									CD_CLUSTER_MAX_NODES),
							 errhint("Raise min_score.")));
				mem[m] = r;
			}
			m++;
			prev = r;
		}
		*have = member_next(ms, look);
	}
	return m;
}

PG_FUNCTION_INFO_V1(report_cluster);
Datum
report_cluster(PG_FUNCTION_ARGS)
{
	return cluster_common(fcinfo, false);
}

PG_FUNCTION_INFO_V1(report_missing_pairs);
Datum
report_missing_pairs(PG_FUNCTION_ARGS)
{
	return cluster_common(fcinfo, true);
}

static Datum
cluster_common(FunctionCallInfo fcinfo, bool missing_only)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			o = missing_only ? -1 : 0;	/* argument offset: no profile */
	text	   *profile = missing_only ? NULL : PG_GETARG_TEXT_PP(0);
	Oid			rows_rel = PG_GETARG_OID(1 + o);
	ArrayType  *scored_arr = PG_GETARG_ARRAYTYPE_P(2 + o);
	float8		threshold = PG_GETARG_FLOAT8(3 + o);
	float8		floor_score = missing_only ? 0 : PG_GETARG_FLOAT8(4);
	MemoryContext work;
	MemoryContext cxt;
	MemoryContext paircxt;
	char	   *app_before;
	MemoryContext old;
	char	   *rows_tbl;
	char	  **scored;
	int			nscored;
	int32		n;
	PagedArray *labels;
	Tuplesortstate *msort;		/* (component << 32 | member) of the components' members */
	bool		mhave;			/* the next member (across components) is in mlook */
	int64		mlook = 0;
	int32	   *mem;
	Tuplesortstate *inner;
	ClusterState cs;
	TupleDesc	idesc;
	TupleTableSlot *iin;
	TupleTableSlot *iout;
	AttrNumber	iatts[3] = {1, 2, 3};
	Oid			iops[3] = {Int4LessOperator, Int4LessOperator, Int4LessOperator};
	Oid			icolls[3] = {InvalidOid, InvalidOid, InvalidOid};
	bool		inulls[3] = {false, false, false};
	bool		ihave;			/* the next inner pair (across components) is in ic .. is */
	int32		ic = 0;
	int32		ia = 0;
	int32		ib = 0;
	float8		is = 0;
	int64		missing_total = 0;
	int64		nmissing_out = 0;
	Oid			argtypes[1] = {FLOAT8OID};
	Datum		args[1];
	FmgrInfo	score_fn;
	SPIPlanPtr	fetch_plan = NULL;
	Progress	pr;

	if (isnan(threshold) || isnan(floor_score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold and floor must not be NaN")));
	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "crmdedup report_cluster", ALLOCSET_DEFAULT_SIZES);
	cxt = AllocSetContextCreate(work, "crmdedup report_cluster component", ALLOCSET_DEFAULT_SIZES);
	/* progress() shows itself in application_name until the end of the call */
	app_before = MemoryContextStrdup(work, GetConfigOption("application_name", false, false));
	/* score_rows' result tuple of one pair: a component holds up to millions of pairs */
	paircxt = AllocSetContextCreate(work, "crmdedup report_cluster pair", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(work);
	rows_tbl = table_name(rows_rel, "rows");
	scored = scored_tables(scored_arr, &nscored);

	/* score_rows of this extension, called with its own cache (fn_extra) for the whole run */
	if (!missing_only)
	{
		Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
		Oid			types[4] = {TEXTOID, JSONBOID, JSONBOID, BOOLOID};
		List	   *name = list_make2(makeString(get_namespace_name(nsp)), makeString("score_rows"));

		fmgr_info_cxt(LookupFuncName(name, 4, types, false), &score_fn, work);
	}
	MemoryContextSwitchTo(old);

	SPI_connect();
	n = max_rn(rows_tbl);
	/* the union-find: a work_mem, like each sort; paged to a temporary file beyond it */
	labels = paged_create(work, "the components' union-find", (Size) n + 1, work_mem_bytes(), true, 0);
	cs.labels = labels;
	cs.n = n;

	/*
	 * 1. components of the pairs scored >= threshold (nodes are 0..n, row 0 unused), joined
	 * one fetched batch at a time: no array of all the pairs.  The same union-find as
	 * cd_components() (src/core/cluster.c): the larger root hangs under the smaller, with
	 * path halving, so a parent's index is below its child's and the final labels (the
	 * smallest row of each component) come from one pass in index order.
	 */
	args[0] = Float8GetDatum(threshold);
	for (int t = 0; t < nscored; t++)
	{
		Portal		cur = SPI_cursor_open_with_args(NULL,
													psprintf("SELECT a::int4, b::int4 FROM %s WHERE score >= $1", scored[t]),
													1, argtypes, args, NULL, true, 0);

		cs.tbl = scored[t];
		fetch_rows(cur, edge_row, &cs);
	}
	/* parents precede children: in index order every parent is already final */
	for (Size i = 0; i <= (Size) n; i++)
	{
		paged_set(labels, i, paged_get(labels, paged_get(labels, i)));
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/*
	 * The members of each component of two or more, sorted by component then row, through
	 * a tuplesort of work_mem (read twice: counted first); a component's label is its
	 * smallest row, which comes first.  A row whose label is another row is a member, and
	 * so is that label; the label comes once per other member and is taken once.
	 */
	old = MemoryContextSwitchTo(work);
	msort = tuplesort_begin_datum(INT8OID, Int8LessOperator, InvalidOid, false, work_mem, NULL,
								  TUPLESORT_RANDOMACCESS);
	mem = palloc(sizeof(int32) * (CD_CLUSTER_MAX_NODES + 1));
	MemoryContextSwitchTo(old);
	for (Size i = 1; i <= (Size) n; i++)
	{
		int32		c = paged_get(labels, i);

		if (c == (int32) i)
			continue;
		tuplesort_putdatum(msort, Int64GetDatum(((int64) c << 32) | (int64) c), false);
		tuplesort_putdatum(msort, Int64GetDatum(((int64) c << 32) | (int64) i), false);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	tuplesort_performsort(msort);

	/*
	 * 2. every scored pair inside a component, through a tuplesort of work_mem (it spills
	 * to temporary files beyond it) by component, then rows; read twice (random access)
	 */
	old = MemoryContextSwitchTo(work);
	idesc = CreateTemplateTupleDesc(4);
	TupleDescInitEntry(idesc, (AttrNumber) 1, "comp", INT4OID, -1, 0);
	TupleDescInitEntry(idesc, (AttrNumber) 2, "a", INT4OID, -1, 0);
	TupleDescInitEntry(idesc, (AttrNumber) 3, "b", INT4OID, -1, 0);
	TupleDescInitEntry(idesc, (AttrNumber) 4, "score", FLOAT8OID, -1, 0);
	iin = MakeSingleTupleTableSlot(idesc, &TTSOpsVirtual);
	iout = MakeSingleTupleTableSlot(idesc, &TTSOpsMinimalTuple);
	inner = tuplesort_begin_heap(idesc, 3, iatts, iops, icolls, inulls, work_mem, NULL, TUPLESORT_RANDOMACCESS);
	MemoryContextSwitchTo(old);
	cs.slot = iin;
	cs.sort = inner;
	for (int t = 0; t < nscored; t++)
	{
		Portal		cur = SPI_cursor_open_with_args(NULL,
													psprintf("SELECT a::int4, b::int4, score::float8 FROM %s", scored[t]),
													0, NULL, NULL, NULL, true, 0);

		cs.tbl = scored[t];
		fetch_rows(cur, inner_row, &cs);
	}
	/* the labels are in the two sorts now */
	paged_free(labels);
	tuplesort_performsort(inner);
	CHECK_FOR_INTERRUPTS();

	/* pairs inside components that no key found: scored below */
	{
		int64		ncomp = 0;
		int64		nrec = 0;
		int64		largest = 0;
		int64		known = 0;	/* distinct (component, a, b): each is in one component */
		bool		first = true;
		int32		pc = 0;
		int32		pa = 0;
		int32		pb = 0;

		while (inner_next(inner, iout, &ic, &ia, &ib, &is))
		{
			if (first || ic != pc || ia != pa || ib != pb)
				known++;
			first = false;
			pc = ic;
			pa = ia;
			pb = ib;
		}
		tuplesort_rescan(inner);
		missing_total = -known;
		mhave = member_next(msort, &mlook);
		for (;;)
		{
			int32		c;
			int64		m = component_next(msort, &mhave, &mlook, NULL, &c);

			if (m == 0)
				break;
			ncomp++;
			nrec += m;
			largest = Max(largest, m);
			if (m > CD_CLUSTER_MAX_NODES)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("a component of %lld records is too large to cluster", (long long) m),
						 errdetail("At most %d records are clustered together.", CD_CLUSTER_MAX_NODES),
						 errhint("Raise min_score.")));
			missing_total += m * (m - 1) / 2;
		}
		tuplesort_rescan(msort);
		if (missing_only || missing_total > 0)
			ereport(NOTICE,
					(errmsg("crmdedup: %lld records in %lld components above %g (largest %lld); %lld pairs inside them not yet scored",
							(long long) nrec, (long long) ncomp, threshold, (long long) largest,
							(long long) missing_total)));
	}

	if (!missing_only)
	{
		fetch_plan = SPI_prepare(psprintf("SELECT rn::int4, r::jsonb FROM %s WHERE rn = ANY($1)", rows_tbl),
								 1, (Oid[]) {INT4ARRAYOID});
		if (fetch_plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	}

	ihave = inner_next(inner, iout, &ic, &ia, &ib, &is);
	pr.start = pr.last = GetCurrentTimestamp();
	pr.done = 0;
	pr.total = missing_total;
	pr.profile = missing_only ? "" : text_to_cstring(profile);

	/* 3. each component: its missing pairs scored, then average-linkage clusters */
	mhave = member_next(msort, &mlook);
	for (;;)
	{
		int32		c;
		int			m = (int) component_next(msort, &mhave, &mlook, mem, &c);
		double	   *mat;
		int		   *lab;
		int		   *center_of;
		int			nmiss = 0;

		if (m == 0)
			break;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(cxt);
		mat = palloc(sizeof(double) * (Size) m * (Size) m);
		for (Size x = 0; x < (Size) m * (Size) m; x++)
			mat[x] = get_float8_nan();
		while (ihave && ic < c)
			ihave = inner_next(inner, iout, &ic, &ia, &ib, &is);
		for (; ihave && ic == c; ihave = inner_next(inner, iout, &ic, &ia, &ib, &is))
		{
			int			i = rn_index(mem, m, ia);
			int			j = rn_index(mem, m, ib);
			double	   *cell;

			if (i < 0 || j < 0)
				elog(ERROR, "pair (%d, %d) is not inside component %d", ia, ib, c);
			cell = &mat[(Size) i * m + j];

			if (isnan(*cell) || is > *cell)
			{
				*cell = is;
				mat[(Size) j * m + i] = is;
			}
		}
		for (int i = 0; i < m; i++)
			for (int j = i + 1; j < m; j++)
				if (isnan(mat[(Size) i * m + j]))
					nmiss++;
		if (missing_only)
		{
			/* every pair inside the component: n and no score when missing, else its score */
			for (int i = 0; i < m; i++)
				for (int j = i + 1; j < m; j++)
				{
					Datum		values[4];
					bool		nulls[4] = {false, false, false, false};
					double		s = mat[(Size) i * m + j];

					if (isnan(s))
					{
						if (nmissing_out >= PG_INT32_MAX)
							ereport(ERROR,
									(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
									 errmsg("too many pairs inside components"),
									 errhint("Raise min_score.")));
						values[0] = Int32GetDatum((int32) ++nmissing_out);
						nulls[3] = true;
					}
					else
					{
						nulls[0] = true;
						values[3] = Float8GetDatum(s);
					}
					values[1] = Int32GetDatum(mem[i]);
					values[2] = Int32GetDatum(mem[j]);
					tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
				}
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
			continue;
		}
		if (nmiss > 0)
		{
			Datum	   *rnd = palloc(sizeof(Datum) * m);
			Datum	   *rowr = palloc0(sizeof(Datum) * m);
			Datum		arg;

			for (int i = 0; i < m; i++)
				rnd[i] = Int32GetDatum(mem[i]);
			arg = PointerGetDatum(construct_array(rnd, m, INT4OID, sizeof(int32), true, TYPALIGN_INT));
			if (SPI_execute_plan(fetch_plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "SPI_execute_plan failed");
			for (uint64 t = 0; t < SPI_processed; t++)
			{
				HeapTuple	tup = SPI_tuptable->vals[t];
				int32		rn = get_int4(tup, SPI_tuptable->tupdesc, 1, "rn");
				bool		isnull;
				Datum		r = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);

				int			at;

				check_rn(rn, n, rows_tbl);
				at = rn_index(mem, m, rn);
				if (isnull || at < 0)
					continue;
				/* detoasted once, not once per pair */
				rowr[at] = PointerGetDatum(DatumGetJsonbPCopy(r));
			}
			SPI_freetuptable(SPI_tuptable);
			for (int i = 0; i < m; i++)
				if (rowr[i] == (Datum) 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("row number %d is not in %s", mem[i], rows_tbl)));
			for (int i = 0; i < m; i++)
				for (int j = i + 1; j < m; j++)
				{
					Datum		res;
					bool		isnull;
					double		s;
					MemoryContext pold;

					if (!isnan(mat[(Size) i * m + j]))
						continue;
					pold = MemoryContextSwitchTo(paircxt);
					res = FunctionCall4(&score_fn, PointerGetDatum(profile), rowr[i], rowr[j],
										BoolGetDatum(false));
					s = DatumGetFloat8(GetAttributeByNum(DatumGetHeapTupleHeader(res), 1, &isnull));
					MemoryContextSwitchTo(pold);
					MemoryContextReset(paircxt);
					if (isnull || isnan(s))
						s = 0;
					s = Max(0.0, Min(1.0, s));
					mat[(Size) i * m + j] = s;
					mat[(Size) j * m + i] = s;
					pr.done++;
					if ((pr.done & 1023) == 0)
					{
						CHECK_FOR_INTERRUPTS();
						progress(&pr, false);
					}
				}
		}

		lab = palloc(sizeof(int) * m);
		center_of = palloc(sizeof(int) * m);
		if (cd_cluster_average_linkage(m, mat, threshold, floor_score, &cd_palloc_allocator, lab) != 0)
			elog(ERROR, "cd_cluster_average_linkage failed for %d members", m);
		for (int i = 0; i < m; i++)
			if (lab[i] == i)
				center_of[i] = cd_cluster_center(m, mat, lab, i);
		MemoryContextSwitchTo(old);
		for (int i = 0; i < m; i++)
		{
			int			ctr = center_of[lab[i]];
			double		s = i == ctr ? 1.0 : mat[(Size) i * m + ctr];
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			values[0] = Int32GetDatum(mem[i]);
			values[1] = Int32GetDatum(mem[ctr]);
			values[2] = Float8GetDatum(isnan(s) ? 0.0 : s);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextReset(cxt);
	}
	if (missing_total > 0 && !missing_only)
		progress(&pr, true);
	(void) set_config_option("application_name", app_before, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	tuplesort_end(inner);
	tuplesort_end(msort);
	ExecDropSingleTupleTableSlot(iin);
	ExecDropSingleTupleTableSlot(iout);
	SPI_finish();
	MemoryContextDelete(work);
	return (Datum) 0;
}

/* ---------------------------------------------------------------- survivors */

PG_FUNCTION_INFO_V1(filled_fields);

/*
 * filled_fields(r jsonb) -> int: the top-level values of the object r that are not JSON
 * null, "" or [] (the "most complete" survivor rule), what
 * (SELECT count(*) FROM jsonb_each(r) e WHERE e.value NOT IN ('null', '""', '[]')) gives,
 * without a set-returning function and an aggregate per row.
 */
Datum
filled_fields(PG_FUNCTION_ARGS)
{
	Jsonb	   *r = PG_GETARG_JSONB_P(0);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int32		n = 0;

	if (!JB_ROOT_IS_OBJECT(r))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot count the fields of a non-object")));
	it = JsonbIteratorInit(&r->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_VALUE)
			continue;
		if (v.type == jbvNull)
			continue;
		if (v.type == jbvString && v.val.string.len == 0)
			continue;
		if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data)
			&& JsonContainerSize(v.val.binary.data) == 0)
			continue;
		n++;
	}
	PG_FREE_IF_COPY(r, 0);
	PG_RETURN_INT32(n);
}
