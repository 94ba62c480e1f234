/*
 * guard.c
 *		The guard trigger: blocks, flags or links a duplicate at INSERT and UPDATE time.
 *
 * A trigger that only SELECTs for a duplicate races: two sessions inserting the same
 * person both see nothing and both commit.  So the trigger first serializes the sessions
 * that share a blocking key (a normalized phone, email, name key...): it takes
 * transaction-level advisory locks: a fine lock per key hash beside the table's guard lock
 * in share mode while the transaction holds few, the table's lock in exclusive mode past a
 * bound, so that a transaction inserting 100,000 rows holds a bounded number of locks and
 * unrelated small ones never wait on each other (lock_keys).  It then probes
 * with the latest snapshot, which sees every row committed before the lock was granted.
 *
 * Under REPEATABLE READ and SERIALIZABLE the transaction snapshot predates the lock, so a
 * duplicate the probe finds may be invisible to the transaction.  Such a row cannot be
 * blocked by name without breaking the snapshot's promise, and must not be let through
 * either: the trigger raises a serialization failure (40001) and the client retries.
 *
 * The probe runs as the table's owner (as PostgreSQL's foreign-key triggers do), so rows
 * the inserting role cannot see (row-level security, column privileges) still count; the
 * messages reveal only the matched row's id and which fields agreed, never their values.
 *
 * Per row, a guard over scalar text columns runs no SQL: the keys come from the C key
 * functions, the probe is an index scan per key on the guard's own key indexes (as
 * PostgreSQL's unique checks scan an index), and only the rows found are scored.  The
 * guard's generated SQL remains for what those indexes cannot answer (see GuardCache).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/hash.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/tidbitmap.h"
#include "parser/parse_func.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"
#include "utils/varlena.h"

#include "crmdedup.h"
#include "guard_memo.h"
#include "record_score.h"

/*
 * advisory lock spaces, two int4 keys each: (CD_GUARD_TABLE_CLASS, table oid) for a table's
 * guard lock and (CD_GUARD_KEY_CLASS, 32-bit key hash) for a key's own fine lock (see
 * lock_keys).  0x43524d44 ("CRMD") held the former slots: not reused, so that a backend still
 * running an older build never takes a slot for a table's lock.
 */
#define CD_GUARD_TABLE_CLASS 0x43524d54	/* "CRMT" */
#define CD_GUARD_KEY_CLASS 0x43524d4b	/* "CRMK" */
/* fine locks a transaction may take, per max_locks_per_transaction (see guard_fine_bound) */
#define CD_GUARD_FINE_PER_MAX_LOCKS 32
#define CD_GUARD_MAX_MATCHES 3
/* the && strategy of GIN's array_ops (GinOverlapStrategy in ginarrayproc.c, not exported) */
#define CD_GIN_OVERLAP_STRATEGY 1

bool		cd_guards_enabled = true;

void
cd_guard_init(void)
{
	DefineCustomBoolVariable("crmdedup.guards",
							 "Enables crmdedup guard triggers.",
							 "Only the owner of a guarded table or a superuser may turn guards off, "
							 "for example for a bulk load; for anyone else the setting is an error.",
							 &cd_guards_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/* the C key functions behind the SQL ones the guard's keys and indexes use */
extern Datum phone_e164(PG_FUNCTION_ARGS);
extern Datum email_key(PG_FUNCTION_ARGS);
extern Datum person_key(PG_FUNCTION_ARGS);
extern Datum company_key(PG_FUNCTION_ARGS);
extern Datum name_key(PG_FUNCTION_ARGS);
extern Datum phonetic(PG_FUNCTION_ARGS);

typedef enum GuardRole
{
	GR_PHONE,
	GR_EMAIL,
	GR_PERSON,
	GR_COMPANY,
	GR_EXTID
} GuardRole;

/* a guarded scalar column: its key function, and the btree index on that key */
typedef struct GuardField
{
	char	   *field;
	GuardRole	role;
	char	   *region;			/* phones */
	text	   *region_t;
	AttrNumber	attnum;
	Oid			funcid;			/* crmdedup.phone_e164(text, text), ... as the index calls it */
	Oid			soundfuncid;	/* person names by sound: the index is on phonetic(person_key(column)) */
	Oid			indexoid;
	Oid			eqproc;			/* the index's text equality */
	StrategyNumber eqstrategy;	/* its strategy number: btree or hash (GIN: overlap) */
	Oid			collation;
	/*
	 * A list of phones or emails (a text[] or jsonb column): its keys are
	 * phone_keys(column, region) or email_keys(column), called as the GIN index calls
	 * them, and the probe asks the GIN index for the rows whose keys overlap.
	 */
	Oid			listtype;		/* TEXTARRAYOID or JSONBOID; InvalidOid: a scalar column */
	FmgrInfo	keysfn;
} GuardField;

/*
 * What one guard needs.  Loaded once per backend and trigger: a web form's single-row
 * transactions would otherwise pay for reading the guard and planning its queries on
 * every insert.  A guard is changed by dropping and creating it again, which makes a new
 * trigger with a new OID.
 *
 * When every guarded field is a scalar text column with its key index in place (what
 * guard() creates), the trigger works without SPI or the executor per row ("fast"): it
 * computes the keys with the C key functions, looks the keys up in those btree indexes
 * directly and scores only the rows found, with a scorer that keeps the profile.  List
 * columns (text[], jsonb: GIN indexes), other types, or a missing or changed index use
 * the guard's generated SQL (keys_sql, probe_sql) through SPI, as before.
 */
typedef struct GuardCache
{
	struct GuardCache *next;
	Oid			tgoid;
	char	   *name;
	char	   *profile;
	char	   *action;
	char	   *idcol;
	char	   *link_column;
	double		min_score;
	char	   *keys_sql;
	char	   *probe_sql;
	SPIPlanPtr	keys_plan;		/* prepared when first needed */
	SPIPlanPtr	probe_plan;
	/* the direct path */
	int			nfields;
	GuardField *fields;			/* NULL: some guarded field is not a scalar text column */
	TupleDesc	checked_desc;	/* the relcache descriptor the attnums were checked against */
	bool		fast;
	AttrNumber	idattnum;
	FmgrInfo	id_out;
	FmgrInfo	to_jsonb;		/* to_jsonb(row of the table), as the probe calls it */
	/*
	 * The scorer reads a row by the profile's field names only.  When every column bearing
	 * such a name is text or varchar, the direct path hands it those columns' values (what
	 * it reads from to_jsonb's jsonb under those keys), the new row's made once per probe;
	 * else to_jsonb of each row.  Mapped again when the scorer reads the profile again or
	 * the table's descriptor changes.
	 */
	int			nsfields;
	char	  **sfields;		/* the scorer's field names (its memory; valid for smap_loads) */
	AttrNumber *sattnums;		/* their columns (0: none of that name) */
	uint32		smap_loads;		/* the scorer's profile read the map goes with (0: none yet) */
	TupleDesc	smap_desc;		/* the descriptor it was made with */
	bool		svalues;		/* every such column is text or varchar */
	Oid			idtype;			/* the id column's type, as id_out was looked up for */
	CdScorer   *scorer;
	bool		sound;			/* names are probed by their sound key (guards made by 0.2.0) */
	/*
	 * A row a name probe finds first was not found by the probes of the keys before it:
	 * where the new row had an email key, the row holds another one (or none), and the
	 * scorer's email field of that column cannot reach a level above
	 * CD_EMAIL_SIM_OTHER_KEY.  okw: the bound's largest field weights with that known
	 * (cd_scorer_other_key_weights), for the scorer's fields (NULL: no such field);
	 * okw_gmask: the guarded email columns (bits of fields[]) whose keys it assumes.
	 */
	double	   *okw;
	uint64		okw_gmask;
} GuardCache;

static GuardCache *guard_caches = NULL;

static GuardRole
parse_role(const char *role)
{
	if (strcmp(role, "phone") == 0)
		return GR_PHONE;
	if (strcmp(role, "email") == 0)
		return GR_EMAIL;
	if (strcmp(role, "person_name") == 0)
		return GR_PERSON;
	if (strcmp(role, "company") == 0)
		return GR_COMPANY;
	return GR_EXTID;
}

static GuardCache *
load_guard(Trigger *trigger, Relation rel)
{
	GuardCache *cache;
	MemoryContext mcxt = TopMemoryContext;
	Datum		args[2];
	int			ret;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			nguarded;

	for (cache = guard_caches; cache != NULL; cache = cache->next)
		if (cache->tgoid == trigger->tgoid)
			return cache;

	args[0] = CStringGetTextDatum(trigger->tgargs[0]);
	args[1] = ObjectIdGetDatum(RelationGetRelid(rel));
	ret = SPI_execute_with_args("SELECT g.name, g.action, g.min_score, g.link_column, g.keys_sql, g.probe_sql, "
								"p.compiled->>'id', g.profile, pg_catalog.cardinality(g.fields) "
								"FROM crmdedup.guards g JOIN crmdedup.profiles p ON p.name = g.profile "
								"WHERE g.name = $1 AND g.table_oid = $2",
								2, (Oid[]) {TEXTOID, OIDOID}, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("crmdedup guard \"%s\" of table \"%s\" does not exist",
						trigger->tgargs[0], RelationGetRelationName(rel)),
				 errhint("Remove the trigger \"%s\", or create the guard again with crmdedup.guard().",
						 trigger->tgname)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	/* linked in only once complete: an error below leaves no half-made entry */
	cache = MemoryContextAllocZero(mcxt, sizeof(GuardCache));
	cache->tgoid = trigger->tgoid;
	cache->name = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 1));
	cache->action = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 2));
	cache->min_score = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	cache->link_column = SPI_getvalue(tup, desc, 4);
	if (cache->link_column)
		cache->link_column = MemoryContextStrdup(mcxt, cache->link_column);
	cache->keys_sql = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 5));
	cache->probe_sql = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 6));
	/*
	 * A guard made by guard() of 0.2.0 finds names by their sound key (and its probe SQL
	 * says so); one made before, by the exact sorted name key.  The direct path follows the
	 * guard's own SQL, so that both always find the same rows.
	 */
	cache->sound = strstr(cache->probe_sql, ".phonetic(") != NULL;
	cache->idcol = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 7));
	cache->profile = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 8));
	nguarded = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));

	/* the guarded fields' roles, as guard() read them from the profile */
	ret = SPI_execute_with_args("SELECT f->>'field', f->>'role', f->>'region' "
								"FROM crmdedup.guards g JOIN crmdedup.profiles p ON p.name = g.profile, "
								"pg_catalog.jsonb_array_elements(p.compiled->'fields') f "
								"WHERE g.name = $1 AND g.table_oid = $2 AND f->>'field' = ANY (g.fields) "
								"AND f->>'role' IN ('phone', 'email', 'person_name', 'company', 'external_id') "
								"AND NOT f ? 'from'",
								2, (Oid[]) {TEXTOID, OIDOID}, args, NULL, true, 0);
	if (ret == SPI_OK_SELECT && SPI_processed > 0 && (int) SPI_processed == nguarded)
	{
		cache->nfields = (int) SPI_processed;
		cache->fields = MemoryContextAllocZero(mcxt, sizeof(GuardField) * cache->nfields);
		for (int i = 0; i < cache->nfields; i++)
		{
			GuardField *f = &cache->fields[i];
			char	   *region;

			tup = SPI_tuptable->vals[i];
			desc = SPI_tuptable->tupdesc;
			f->field = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 1));
			f->role = parse_role(SPI_getvalue(tup, desc, 2));
			region = SPI_getvalue(tup, desc, 3);
			if (f->role == GR_PHONE)
			{
				MemoryContext old = MemoryContextSwitchTo(mcxt);

				if (region == NULL)
					cache->fields = NULL;	/* the SQL path reports it */
				else
				{
					f->region = pstrdup(region);
					f->region_t = cstring_to_text(region);
				}
				MemoryContextSwitchTo(old);
				if (cache->fields == NULL)
					break;
			}
		}
	}
	cache->scorer = cd_scorer_create(mcxt, cache->profile);
	cache->next = guard_caches;
	guard_caches = cache;
	return cache;
}

/* the guard's SQL, planned once per backend and guard; the plan cache follows table changes */
static void
prepare_spi(GuardCache *cache, Relation rel)
{
	Oid			argtypes[2];

	if (cache->keys_plan != NULL && cache->probe_plan != NULL)
		return;
	argtypes[0] = RelationGetForm(rel)->reltype;
	argtypes[1] = FLOAT8OID;
	if (cache->keys_plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(cache->keys_sql, 1, argtypes);

		if (p == NULL)
			elog(ERROR, "could not prepare the keys query of crmdedup guard \"%s\": %s",
				 cache->name, SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		cache->keys_plan = p;
	}
	if (cache->probe_plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(cache->probe_sql, 2, argtypes);

		if (p == NULL)
			elog(ERROR, "could not prepare the probe of crmdedup guard \"%s\": %s",
				 cache->name, SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		cache->probe_plan = p;
	}
}

/* ---------------------------------------------------------------- direct path: set-up */

/* the column, seen through a binary-compatible cast (varchar::text) */
static bool
is_column(Node *n, AttrNumber attnum)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	return n && IsA(n, Var) && ((Var *) n)->varattno == attnum && ((Var *) n)->varlevelsup == 0;
}

static bool
is_text_const(Node *n, const char *value)
{
	Const	   *c;

	if (n == NULL || !IsA(n, Const))
		return false;
	c = (Const *) n;
	return c->consttype == TEXTOID && !c->constisnull
		&& strcmp(TextDatumGetCString(c->constvalue), value) == 0;
}

/*
 * Find a btree (or hash) index whose one key is exactly the field's key expression, as
 * guard() creates it: phone_e164(column, 'RU'), email_key(column), person_key(column)...
 * An index found by name alone could be anything; one with a predicate, another opclass
 * or another function would return other rows.
 */
static bool
find_key_index(GuardField *f, Relation rel, List *indexes)
{
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		Relation	idx = index_open(indexoid, AccessShareLock);
		Form_pg_index ind = idx->rd_index;
		bool		ok = false;

		bool		btree = idx->rd_rel->relam == BTREE_AM_OID;
		bool		gin = idx->rd_rel->relam == GIN_AM_OID;
		StrategyNumber strategy = gin ? CD_GIN_OVERLAP_STRATEGY : btree ? BTEqualStrategyNumber : HTEqualStrategyNumber;
		Oid			optype = gin ? ANYARRAYOID : TEXTOID;

		/* a scalar's key: btree or hash on text; a list's keys: GIN on text[] (array_ops) */
		if ((OidIsValid(f->listtype) ? gin : (btree || idx->rd_rel->relam == HASH_AM_OID))
			&& ind->indnatts == 1 && ind->indkey.values[0] == 0
			&& ind->indisvalid && ind->indisready && ind->indislive
			&& RelationGetIndexPredicate(idx) == NIL
			&& idx->rd_opcintype[0] == optype
			)
		{
			List	   *exprs = RelationGetIndexExpressions(idx);
			Node	   *e = list_length(exprs) == 1 ? (Node *) linitial(exprs) : NULL;

			/* a name's sound key: phonetic(person_key(column)) */
			if (OidIsValid(f->soundfuncid))
			{
				if (e && IsA(e, FuncExpr) && ((FuncExpr *) e)->funcid == f->soundfuncid
					&& list_length(((FuncExpr *) e)->args) == 1)
					e = linitial(((FuncExpr *) e)->args);
				else
					e = NULL;
			}
			if (e && IsA(e, FuncExpr) && ((FuncExpr *) e)->funcid == f->funcid)
			{
				List	   *fargs = ((FuncExpr *) e)->args;

				ok = list_length(fargs) >= 1 && is_column(linitial(fargs), f->attnum);
				if (f->role == GR_PHONE)
					ok = ok && list_length(fargs) == 2 && is_text_const(lsecond(fargs), f->region);
				else
					ok = ok && list_length(fargs) == 1;
			}
			if (ok)
			{
				Oid			eqop = get_opfamily_member(idx->rd_opfamily[0], optype, optype, strategy);

				ok = OidIsValid(eqop) && get_collation_isdeterministic(idx->rd_indcollation[0])
					&& (!gin || get_opcode(eqop) == F_ARRAYOVERLAP);	/* array_ops' && */
				if (ok)
				{
					f->indexoid = indexoid;
					f->eqproc = get_opcode(eqop);
					f->eqstrategy = strategy;
					f->collation = idx->rd_indcollation[0];
				}
			}
		}
		index_close(idx, AccessShareLock);
		if (ok)
			return true;
	}
	return false;
}

static Oid
key_funcid(const char *nsp, GuardRole role)
{
	static const char *const names[] = {"phone_e164", "email_key", "person_key", "company_key", "name_key"};
	Oid			argtypes[2] = {TEXTOID, TEXTOID};

	return LookupFuncName(list_make2(makeString(pstrdup(nsp)), makeString(pstrdup(names[role]))),
						  role == GR_PHONE ? 2 : 1, argtypes, true);
}

/* phone_keys(list, text) or email_keys(list) of the list's type */
static Oid
list_funcid(const char *nsp, GuardRole role, Oid listtype)
{
	Oid			argtypes[2] = {listtype, TEXTOID};

	if (role != GR_PHONE && role != GR_EMAIL)
		return InvalidOid;
	return LookupFuncName(list_make2(makeString(pstrdup(nsp)),
									 makeString(pstrdup(role == GR_PHONE ? "phone_keys" : "email_keys"))),
						  role == GR_PHONE ? 2 : 1, argtypes, true);
}

static Oid
phonetic_funcid(const char *nsp)
{
	Oid			argtypes[1] = {TEXTOID};

	return LookupFuncName(list_make2(makeString(pstrdup(nsp)), makeString(pstrdup("phonetic"))),
						  1, argtypes, true);
}

/*
 * Can this guard take the direct path on the table as it is now?  Checked when the
 * guard is loaded and again whenever the table's descriptor or index list changes.
 */
static void
check_fast(GuardCache *cache, Relation rel, Oid fn_oid)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *indexes;
	char	   *nsp;
	bool		fast = cache->fields != NULL;

	cache->fast = false;
	cache->checked_desc = tupdesc;
	/*
	 * The probe SQL reads the table with its inheritance children; the indexes cover the
	 * table alone.  (guard() refuses partitioned tables and partitions; a table guarded
	 * before it became a partition probes through its SQL, in that partition alone.)
	 */
	if (!fast || rel->rd_rel->relhassubclass || rel->rd_rel->relispartition)
	{
		elog(DEBUG1, "crmdedup guard \"%s\" probes through its SQL", cache->name);
		return;
	}
	nsp = get_namespace_name(get_func_namespace(fn_oid));
	indexes = RelationGetIndexList(rel);
	for (int i = 0; i < cache->nfields && fast; i++)
	{
		GuardField *f = &cache->fields[i];
		int			attnum = SPI_fnumber(tupdesc, f->field);
		Oid			typid = attnum > 0 ? TupleDescAttr(tupdesc, attnum - 1)->atttypid : InvalidOid;

		f->attnum = attnum;
		f->listtype = (typid == TEXTARRAYOID || typid == JSONBOID) ? typid : InvalidOid;
		f->funcid = OidIsValid(f->listtype) ? list_funcid(nsp, f->role, typid) : key_funcid(nsp, f->role);
		f->soundfuncid = f->role == GR_PERSON && cache->sound ? phonetic_funcid(nsp) : InvalidOid;
		f->indexoid = InvalidOid;
		fast = attnum > 0 && (typid == TEXTOID || typid == VARCHAROID || OidIsValid(f->listtype))
			&& OidIsValid(f->funcid)
			&& (OidIsValid(f->soundfuncid) || !(f->role == GR_PERSON && cache->sound))
			&& find_key_index(f, rel, indexes);
		/*
		 * Looked up once per function, not on every re-check after DDL on the table: a
		 * SQL function keeps its prepared query in the FmgrInfo (and notices by itself
		 * when it is replaced), which a new lookup would leave behind in TopMemoryContext.
		 */
		if (fast && OidIsValid(f->listtype) && f->keysfn.fn_oid != f->funcid)
			fmgr_info_cxt(f->funcid, &f->keysfn, TopMemoryContext);
	}
	cache->idattnum = SPI_fnumber(tupdesc, cache->idcol);
	fast = fast && cache->idattnum > 0;
	if (fast)
	{
		Oid			typoutput;
		bool		varlena;
		FuncExpr   *fexpr;
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		getTypeOutputInfo(TupleDescAttr(tupdesc, cache->idattnum - 1)->atttypid, &typoutput, &varlena);
		fmgr_info_cxt(typoutput, &cache->id_out, TopMemoryContext);
		/* to_jsonb(anyelement) learns its argument's type from the call expression */
		fmgr_info_cxt(F_TO_JSONB, &cache->to_jsonb, TopMemoryContext);
		fexpr = makeFuncExpr(F_TO_JSONB, JSONBOID,
							 list_make1(makeNullConst(RelationGetForm(rel)->reltype, -1, InvalidOid)),
							 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		fmgr_info_set_expr((Node *) fexpr, &cache->to_jsonb);
		MemoryContextSwitchTo(old);

		cache->idtype = TupleDescAttr(tupdesc, cache->idattnum - 1)->atttypid;
	}
	cache->smap_desc = NULL;	/* the scorer's fields are mapped again */
	list_free(indexes);
	cache->fast = fast;
	elog(DEBUG1, "crmdedup guard \"%s\" probes %s", cache->name,
		 fast ? "its key indexes directly" : "through its SQL");
}

/* are the indexes the direct path uses still there? (dropped, rebuilt: new OIDs) */
static bool
fast_still_valid(GuardCache *cache, Relation rel)
{
	List	   *indexes;
	bool		ok = true;

	if (cache->checked_desc != RelationGetDescr(rel))
		return false;
	if (!cache->fast)
		return true;
	if (rel->rd_rel->relhassubclass)
		return false;
	/* the columns are still the ones checked (cheap, and safe against a reused descriptor) */
	for (int i = 0; i < cache->nfields; i++)
	{
		Form_pg_attribute att;

		if (cache->fields[i].attnum > RelationGetDescr(rel)->natts)
			return false;
		att = TupleDescAttr(RelationGetDescr(rel), cache->fields[i].attnum - 1);
		if (att->attisdropped
			|| (OidIsValid(cache->fields[i].listtype) ? att->atttypid != cache->fields[i].listtype
				: (att->atttypid != TEXTOID && att->atttypid != VARCHAROID))
			|| strcmp(NameStr(att->attname), cache->fields[i].field) != 0)
			return false;
	}
	/* and so is the id column (the scorer's columns: score_fields_current) */
	{
		Form_pg_attribute att;

		if (cache->idattnum > RelationGetDescr(rel)->natts)
			return false;
		att = TupleDescAttr(RelationGetDescr(rel), cache->idattnum - 1);
		if (att->attisdropped || att->atttypid != cache->idtype
			|| strcmp(NameStr(att->attname), cache->idcol) != 0)
			return false;
	}
	/* the relcache's own list when it is valid: no copy per row */
	indexes = rel->rd_indexvalid ? rel->rd_indexlist : RelationGetIndexList(rel);
	for (int i = 0; i < cache->nfields && ok; i++)
	{
		Relation	idx;

		ok = list_member_oid(indexes, cache->fields[i].indexoid);
		if (!ok)
			break;
		/*
		 * DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY stop maintaining an index before
		 * it leaves the list: such an index would miss new rows.  The executor has opened
		 * and locked the table's indexes, so the relcache entry is at hand.
		 */
		idx = RelationIdGetRelation(cache->fields[i].indexoid);
		ok = idx != NULL && idx->rd_index->indisvalid && idx->rd_index->indisready
			&& idx->rd_index->indislive;
		if (idx != NULL)
			RelationClose(idx);
	}
	return ok;
}

/*
 * Two levels of locks, as a lock manager escalates.  Each blocking key has a 32-bit hash h
 * (the table's oid is part of it).  While the transaction has taken fewer than
 * guard_fine_bound() fine locks, a row takes each key's own hash in EXCLUSIVE mode
 * (CD_GUARD_KEY_CLASS, h) and then its table's guard lock (CD_GUARD_TABLE_CLASS, the table's
 * oid) in SHARE mode, once: unrelated keys never wait on each other (shares do not conflict,
 * their hashes differ), the same key in two sessions waits on its fine lock.  Two different
 * keys with the same 32-bit hash only cost a needless wait, never a missed one.  Past the
 * bound the transaction waits for the table's lock in EXCLUSIVE mode (an upgrade of its
 * share), which covers every key of the table, and takes no more fine locks: a 100,000-row
 * transaction holds at most guard_fine_bound() fine locks and one table lock.
 *
 * Deadlocks.  The former upper level (0.2.0 until 2026-11-27 night: 1,024 slots, a key's slot
 * in SHARE mode, exclusively past the bound) made a transaction past the bound take slots
 * exclusively while holding others in SHARE mode, and a concurrent multi-row transaction do
 * the same the other way round: the two deadlocked (40P01) over people they did not share.
 * Now a transaction past the bound waits only for the transactions holding the table's lock in
 * SHARE mode; they go on (a lock a transaction holds is granted to it again at once) and wait
 * on it only for a key it holds.  The keys come before the table's share, so a transaction
 * whose first row waits on such a key holds no share yet and the transaction past the bound
 * does not wait for it.  A transaction that has not taken the table's lock waits behind an
 * exclusive request, holding nothing the requester needs.  What remains, one of the two
 * failing with 40P01: two transactions both past the bound (each waits for the other's
 * share); a transaction waiting past the bound and a multi-row one holding the share that
 * waits on one of its keys (the same name or person in both); a row waiting on one key of
 * another transaction while it holds another key that transaction comes to (a row's keys are
 * taken in hash order: a namesake of one of its people and a colleague of another); a
 * transaction waiting past the bound on one table while it holds another table's lock
 * exclusively, and a transaction holding the first one's share that comes to the second; and,
 * as with a unique index, two transactions inserting the same two people in opposite orders.
 *
 * What this backend holds in its current subtransaction: the tables' locks (a short list)
 * and the fine hashes (an open-addressing set of 2 × the bound; it never holds more than the
 * bound).  A transaction-level advisory lock is held until the (sub)transaction that took it
 * ends: nothing releases it earlier (pg_advisory_unlock releases session locks only), so
 * asking the lock manager for it again would only count it once more.  A batch of 1,000 rows
 * asks for about 3,000 keys and 1,000 times for the table's lock: what is held skips the
 * lock manager (its local lock table, resource owner and the call).  Tied to the local
 * transaction and subtransaction ids: any other (sub)transaction starts empty, so a
 * subtransaction's locks, released when it aborts, are never taken for held.  The locks are
 * taken under the (sub)transaction's own resource owner, not the current one: inside a
 * cursor's FETCH the current owner is the portal's, whose locks go when the portal fails in
 * a later subtransaction that is rolled back, long before the transaction that took them
 * ends (and the sets, like the guard's promise, would then be wrong).  Any end of a
 * transaction or subtransaction forgets the sets (held_forget_*), so a local transaction id
 * that comes round again finds them empty.
 *
 * The count of fine locks taken (fine_taken) belongs to the whole transaction, not to the
 * subtransaction: it only grows until the transaction ends (a fine lock asked again after a
 * subtransaction ended counts twice, one released by an aborted subtransaction still
 * counts), so it is never below the number of fine locks held and the bound holds however
 * many savepoints the transaction goes through.
 */
typedef struct HeldTable
{
	Oid			relid;
	bool		share;
	bool		excl;
} HeldTable;

#define CD_GUARD_HELD_TABLES 8

static LocalTransactionId held_lxid = InvalidLocalTransactionId;
static SubTransactionId held_subxid = InvalidSubTransactionId;
static HeldTable held_tables[CD_GUARD_HELD_TABLES];
static int	held_ntables;
static uint64 *held_fine;		/* h + 1 per used entry, 0 for empty; held_fine_size entries */
static uint32 held_fine_size;	/* a power of two, at least 2 × the bound */
static uint32 held_fine_n;
static LocalTransactionId fine_lxid = InvalidLocalTransactionId;
static int	fine_taken;
static bool held_callbacks = false;

/*
 * The bound on fine locks per transaction.  PostgreSQL's shared lock table has
 * max_locks_per_transaction × (max_connections + other backends + max_prepared_transactions)
 * entries, about 7,800 at the defaults (64, 100): max_locks_per_transaction is each
 * backend's average share of it, and any one transaction may use more.  32 shares (2,048
 * fine locks at the default, some 680 rows of three keys) let the multi-row transactions of
 * a web back end or a small import stay on fine locks; past it a transaction holds at most
 * 2,048 fine locks and one table lock, a quarter of the default table (as the 1,024 fine
 * locks and 1,024 slots of the former stripes), so that a few bulk loads at once still leave
 * room for everyone else.  Raising max_locks_per_transaction raises the bound (up to 65,536).
 */
static int
guard_fine_bound(void)
{
	/* at most 65,536: the held set (2 × the bound × 8 bytes) stays within 1 MB, no overflow */
	return Min(Max(max_locks_per_xact, 1), 2048) * CD_GUARD_FINE_PER_MAX_LOCKS;
}

static void
held_forget_xact(XactEvent event, void *arg)
{
	held_lxid = InvalidLocalTransactionId;
	fine_lxid = InvalidLocalTransactionId;
}

static void
held_forget_subxact(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
					void *arg)
{
	if (event == SUBXACT_EVENT_COMMIT_SUB || event == SUBXACT_EVENT_ABORT_SUB)
		held_lxid = InvalidLocalTransactionId;
}

/* empty the held sets when they belong to another (sub)transaction */
static void
held_check(void)
{
	if (held_fine == NULL)
	{
		uint32		size = 16;

		while (size < 2 * (uint32) guard_fine_bound())
			size *= 2;
		held_fine = MemoryContextAllocZero(TopMemoryContext, sizeof(uint64) * size);
		held_fine_size = size;
		held_fine_n = 0;
	}
	if (fine_lxid != MyProc->lxid)
	{
		fine_lxid = MyProc->lxid;
		fine_taken = 0;
	}
	if (held_lxid != MyProc->lxid || held_subxid != GetCurrentSubTransactionId())
	{
		held_ntables = 0;
		if (held_fine_n > 0)
			memset(held_fine, 0, sizeof(uint64) * held_fine_size);
		held_fine_n = 0;
		held_lxid = MyProc->lxid;
		held_subxid = GetCurrentSubTransactionId();
	}
}

/*
 * The entry of the table in held_tables, added when missing; NULL when the list is full (a
 * transaction guarding more tables than that asks the lock manager, which grants a lock held
 * already at once).
 */
static HeldTable *
held_table(Oid relid)
{
	for (int i = 0; i < held_ntables; i++)
		if (held_tables[i].relid == relid)
			return &held_tables[i];
	if (held_ntables == CD_GUARD_HELD_TABLES)
		return NULL;
	held_tables[held_ntables].relid = relid;
	held_tables[held_ntables].share = false;
	held_tables[held_ntables].excl = false;
	return &held_tables[held_ntables++];
}

/* the entry of hash h in held_fine: where it is, or the empty entry where it would go */
static uint32
fine_find(uint32 h)
{
	uint32		mask = held_fine_size - 1;
	uint32		i = murmurhash32(h) & mask;

	while (held_fine[i] != 0 && held_fine[i] != (uint64) h + 1)
		i = (i + 1) & mask;
	return i;
}

static inline bool
fine_held(uint32 h)
{
	return held_fine_n > 0 && held_fine[fine_find(h)] != 0;
}

static void
fine_add(uint32 h)
{
	uint32		i = fine_find(h);

	/* never full: at most the bound, half the size, is ever added in one transaction */
	Assert(held_fine_n < held_fine_size / 2);
	if (held_fine[i] == 0)
	{
		held_fine[i] = (uint64) h + 1;
		held_fine_n++;
	}
}

static int
cmp_key_hash(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return (x > y) - (x < y);
}

static void
advisory_lock(int32 class, uint32 key, bool exclusive)
{
	Datum		k1 = Int32GetDatum(class);
	Datum		k2 = Int32GetDatum((int32) key);

	if (exclusive)
		DirectFunctionCall2(pg_advisory_xact_lock_int4, k1, k2);
	else
		DirectFunctionCall2(pg_advisory_xact_lock_shared_int4, k1, k2);
}

/* lock_keys's locks, under the (sub)transaction's resource owner */
static void
take_key_locks(Oid relid, HeldTable *ht, const uint32 *hashes, int nhashes, int nnew)
{
	int			bound = guard_fine_bound();
	bool		fine;

	/* granted (a wait cancelled or a deadlock raises): held until this subtransaction ends */
	if (fine_taken + nnew <= bound)
		fine = true;
	else
	{
		/* the SHARE mode held already is asked again (an upgrade) */
		advisory_lock(CD_GUARD_TABLE_CLASS, (uint32) relid, true);
		fine = false;
	}
	if (!fine)
	{
		if (ht != NULL)
			ht->excl = true;
	}
	else
	{
		/* the keys first: a wait on a key held elsewhere holds no share of the table's lock */
		for (int i = 0; i < nhashes; i++)
		{
			uint32		h = hashes[i];

			if ((i > 0 && h == hashes[i - 1]) || fine_held(h))
				continue;
			fine_taken++;
			advisory_lock(CD_GUARD_KEY_CLASS, h, true);
			fine_add(h);
		}
		if (ht == NULL || !ht->share)
		{
			advisory_lock(CD_GUARD_TABLE_CLASS, (uint32) relid, false);
			if (ht != NULL)
				ht->share = true;
		}
	}
}

/*
 * Lock the row's blocking keys (see above): fine locks, then the table's lock in SHARE mode,
 * while the transaction has taken fewer than the bound; past it, the table's lock in
 * EXCLUSIVE mode.
 */
static void
lock_keys(Relation rel, text **keys, int nkeys)
{
	uint32	   *hashes;
	int			nhashes = 0;
	volatile int nnew = 0;		/* volatile for gcc's -Wclobbered (PG_TRY below) */
	Oid			relid = RelationGetRelid(rel);
	HeldTable  *ht;
	ResourceOwner save_owner;

	if (nkeys == 0)
		return;
	if (!held_callbacks)
	{
		RegisterXactCallback(held_forget_xact, NULL);
		RegisterSubXactCallback(held_forget_subxact, NULL);
		held_callbacks = true;
	}
	held_check();
	ht = held_table(relid);
	if (ht != NULL && ht->excl)
		return;					/* every key of the table is ours until the (sub)transaction ends */
	hashes = palloc(sizeof(uint32) * nkeys);
	for (int i = 0; i < nkeys; i++)
	{
		text	   *k = keys[i];

		if (k == NULL)
			continue;
		/* the table is part of the key: guards of different tables never wait on each other */
		hashes[nhashes++] = hash_combine(hash_bytes_uint32(relid),
										 hash_bytes((const unsigned char *) VARDATA_ANY(k),
													VARSIZE_ANY_EXHDR(k)));
	}
	if (nhashes == 0)
	{
		pfree(hashes);
		return;
	}
	qsort(hashes, nhashes, sizeof(uint32), cmp_key_hash);
	for (int i = 0; i < nhashes; i++)
		if ((i == 0 || hashes[i] != hashes[i - 1]) && !fine_held(hashes[i]))
			nnew++;

	save_owner = CurrentResourceOwner;
	CurrentResourceOwner = CurTransactionResourceOwner;
	PG_TRY();
	{
		take_key_locks(relid, ht, hashes, nhashes, nnew);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = save_owner;
	}
	PG_END_TRY();
	pfree(hashes);
}

/* the keys through the guard's SQL (list columns) */
static void
lock_keys_spi(GuardCache *cache, Relation rel, Datum row)
{
	Datum		keys;
	bool		isnull;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	text	  **texts;

	if (SPI_execute_plan(cache->keys_plan, &row, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "keys query of crmdedup guard \"%s\" failed", cache->name);
	keys = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	deconstruct_array(DatumGetArrayTypeP(keys), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	texts = palloc(sizeof(text *) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		texts[i] = nulls[i] ? NULL : DatumGetTextPP(elems[i]);
	lock_keys(rel, texts, nelems);
}

/* a STRICT key function called directly; NULL when it gives no key */
static text *
call_key(PGFunction fn, text *arg, text *region)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, region ? 2 : 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = PointerGetDatum(arg);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = PointerGetDatum(region);
	fcinfo->args[1].isnull = false;
	result = fn(fcinfo);
	return fcinfo->isnull ? NULL : DatumGetTextPP(result);
}

/* prefix || key, as the keys SQL writes it */
static text *
prefixed(const char *prefix, text *key)
{
	size_t		plen = strlen(prefix);
	size_t		klen = VARSIZE_ANY_EXHDR(key);
	text	   *t = palloc(VARHDRSZ + plen + klen);

	SET_VARSIZE(t, VARHDRSZ + plen + klen);
	memcpy(VARDATA(t), prefix, plen);
	memcpy(VARDATA(t) + plen, VARDATA_ANY(key), klen);
	return t;
}

/*
 * A key function of the new row, whose result the key index is about to need: left in
 * the memo (guard_memo.h), the index's expression finds it instead of computing it again.
 * Without memo (a candidate's keys, which no index insert asks for), computed only: the
 * memo keeps a few entries per kind, and a candidate's would push the new row's out.
 */
static text *
memo_key(PGFunction fn, CdKeyMemoKind kind, text *arg, text *region, bool memo)
{
	text	   *k = call_key(fn, arg, region);

	if (memo)
		cd_key_memo_put(kind, arg, region, k);
	return k;
}

/*
 * Field f's keys of value v, as the guard's keys SQL computes them: *key, and for a
 * person's name its sound key *sound (NULL: none).  Returns the key f's index holds:
 * the sound key of a name probed by sound, else *key.
 */
static text *
field_keys(GuardField *f, text *v, text **key, text **sound, bool memo)
{
	text	   *k = NULL;

	*sound = NULL;
	switch (f->role)
	{
		case GR_PHONE:
			k = memo_key(phone_e164, CD_MEMO_PHONE, v, f->region_t, memo);
			break;
		case GR_EMAIL:
			k = memo_key(email_key, CD_MEMO_EMAIL, v, NULL, memo);
			break;
		case GR_PERSON:
			k = memo_key(person_key, CD_MEMO_PERSON, v, NULL, memo);
			if (k != NULL)
				*sound = memo_key(phonetic, CD_MEMO_PHONETIC, k, NULL, memo);
			break;
		case GR_COMPANY:
			k = memo_key(company_key, CD_MEMO_COMPANY, v, NULL, memo);
			break;
		case GR_EXTID:
			k = memo_key(name_key, CD_MEMO_NAME, v, NULL, memo);
			break;
	}
	*key = k;
	return OidIsValid(f->soundfuncid) ? *sound : k;
}

/* the sorted distinct keys of a list, as phone_keys() or email_keys() gives them */
static ArrayType *
list_keys(GuardField *f, Datum v)
{
	Datum		arr = f->role == GR_PHONE
		? FunctionCall2(&f->keysfn, v, PointerGetDatum(f->region_t))
		: FunctionCall1(&f->keysfn, v);

	return DatumGetArrayTypeP(arr);
}

/* do two key arrays share a key? (the && of the probe SQL) */
static bool
keys_overlap(ArrayType *a, ArrayType *b)
{
	Datum	   *ea,
			   *eb;
	bool	   *na,
			   *nb;
	int			n,
				m;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &ea, &na, &n);
	deconstruct_array(b, TEXTOID, -1, false, TYPALIGN_INT, &eb, &nb, &m);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m; j++)
			if (!na[i] && !nb[j])
			{
				text	   *x = DatumGetTextPP(ea[i]);
				text	   *y = DatumGetTextPP(eb[j]);

				if (VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y)
					&& memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0)
					return true;
			}
	return false;
}

/*
 * The new row's keys, computed in C from the tuple exactly as the guard's keys SQL does:
 * probe[i] is field i's index key (NULL: none), locks[] the prefixed lock keys.
 */
static int
fast_keys(GuardCache *cache, HeapTuple tuple, TupleDesc desc, text **probe, text ***locks_out)
{
	int			nlocks = 0;
	int			maxlocks = cache->nfields * 2 + 1;
	text	  **locks = palloc(sizeof(text *) * maxlocks);

	for (int i = 0; i < cache->nfields; i++)
	{
		GuardField *f = &cache->fields[i];
		bool		isnull;
		Datum		v = heap_getattr(tuple, f->attnum, desc, &isnull);
		text	   *k;
		text	   *h;

		probe[i] = NULL;
		if (isnull)
			continue;
		if (OidIsValid(f->listtype))
		{
			ArrayType  *arr = list_keys(f, v);
			Datum	   *elems;
			bool	   *nulls;
			int			nelems;

			deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
			/* room for this list's keys and up to two for each field after it */
			if (nlocks + nelems + 2 * (cache->nfields - i) + 1 > maxlocks)
			{
				maxlocks = nlocks + nelems + 2 * (cache->nfields - i) + 1;
				locks = repalloc(locks, sizeof(text *) * maxlocks);
			}
			for (int j = 0; j < nelems; j++)
				if (!nulls[j])
					locks[nlocks++] = prefixed(f->role == GR_PHONE ? "p:" : "e:", DatumGetTextPP(elems[j]));
			/* no key, no candidate: && of an empty array is false */
			probe[i] = nelems > 0 ? (text *) arr : NULL;
			continue;
		}
		probe[i] = field_keys(f, DatumGetTextPP(v), &k, &h, true);
		if (k == NULL)
			continue;
		switch (f->role)
		{
			case GR_PHONE:
				locks[nlocks++] = prefixed("p:", k);
				break;
			case GR_EMAIL:
				locks[nlocks++] = prefixed("e:", k);
				break;
			case GR_PERSON:
				/*
				 * and its sound key: typos and spelling variants wait on each other too.
				 * A guard that finds names by their sound key only needs that one: two
				 * rows whose probes can find each other by name share it (the same words
				 * always give the same sound key), and the SQL path locks it as well.
				 */
				if (h == NULL || !OidIsValid(f->soundfuncid))
					locks[nlocks++] = prefixed("n:", k);
				if (h != NULL)
					locks[nlocks++] = prefixed("h:", h);
				break;
			case GR_COMPANY:
				locks[nlocks++] = prefixed("c:", k);
				break;
			case GR_EXTID:
				locks[nlocks++] = prefixed(psprintf("x:%s:", f->field), k);
				break;
		}
	}
	*locks_out = locks;
	return nlocks;
}

/*
 * Does the candidate in slot hold key in field f?  Asked when the index may return rows
 * that do not (a hash index keeps only the key's hash code).
 */
static bool
recheck_key(GuardField *f, TupleTableSlot *slot, text *key)
{
	bool		isnull;
	Datum		v = slot_getattr(slot, f->attnum, &isnull);
	text	   *k;
	text	   *h;
	text	   *ck;

	if (isnull)
		return false;
	if (OidIsValid(f->listtype))
		return keys_overlap(list_keys(f, v), (ArrayType *) key);
	ck = field_keys(f, DatumGetTextPP(v), &k, &h, false);
	return ck != NULL && VARSIZE_ANY_EXHDR(ck) == VARSIZE_ANY_EXHDR(key)
		&& memcmp(VARDATA_ANY(ck), VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) == 0;
}

typedef struct GuardMatch
{
	char	   *id;
	double		score;
	char	   *reasons;
	Datum		explanation;	/* jsonb, in the caller's context */
} GuardMatch;

/* run the probe with a snapshot; matches are copied into mcxt */
static int
probe_spi(GuardCache *cache, Datum row, Snapshot snap, MemoryContext mcxt, GuardMatch *out)
{
	Datum		args[2] = {row, Float8GetDatum(cache->min_score)};
	int			n;

	if (SPI_execute_snapshot(cache->probe_plan, args, NULL, snap, InvalidSnapshot, true, false,
							 CD_GUARD_MAX_MATCHES) != SPI_OK_SELECT)
		elog(ERROR, "probe of crmdedup guard \"%s\" failed", cache->name);
	n = (int) SPI_processed;
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *reasons = SPI_getvalue(tup, desc, 4);
		Datum		expl = SPI_getbinval(tup, desc, 3, &isnull);
		MemoryContext old = MemoryContextSwitchTo(mcxt);

		out[i].id = pstrdup(SPI_getvalue(tup, desc, 1));
		out[i].score = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &isnull));
		out[i].reasons = pstrdup(reasons ? reasons : "similar record");
		out[i].explanation = isnull ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(expl));
		MemoryContextSwitchTo(old);
	}
	return n;
}

/* ---------------------------------------------------------------- direct path: probe */

/*
 * The guard's SQL runs as the table owner but would resolve names and operators through
 * the inserting role's search_path, where an object in a writable schema (a public
 * "=(regclass, oid)", say) beats pg_catalog's by a closer type match.  So the path is
 * pinned, as a SECURITY DEFINER function's SET clause does, before anything that may run
 * SQL: loading the guard, its SQL path, the scorer (profile, term frequencies), the review
 * queue.  A row of the direct path that finds no candidate runs none and skips the cost.
 * *nestlevel is 0 until pinned; the trigger unwinds it (an error, with the transaction).
 */
static void
pin_search_path(int *nestlevel)
{
	if (*nestlevel != 0)
		return;
	*nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

typedef struct ReasonItem
{
	double		weight;
	char	   *text;
} ReasonItem;

/*
 * The DETAIL's reasons from an explanation, as the probe SQL builds them: each field
 * with a positive weight as "level (field)", or "level similarity (field)" below 0.999,
 * heaviest first (ties in the explanation's order, as a sort of so few rows keeps them).
 */
static char *
reasons_of(Datum explanation)
{
	Jsonb	   *j = DatumGetJsonbP(explanation);
	JsonbValue	v;
	JsonbContainer *arr;
	ReasonItem *items;
	int			n = 0;
	int			nf;
	StringInfoData buf;

	if (getKeyJsonValueFromContainer(&j->root, "fields", 6, &v) == NULL || v.type != jbvBinary
		|| !JsonContainerIsArray(v.val.binary.data))
		return NULL;
	arr = v.val.binary.data;
	nf = JsonContainerSize(arr);
	items = palloc(sizeof(ReasonItem) * Max(nf, 1));
	for (int i = 0; i < nf; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, (uint32) i);
		JsonbValue	w,
					lv,
					fv,
					sv;
		double		weight;
		double		sim = 1;
		StringInfoData t;

		if (e == NULL || e->type != jbvBinary
			|| getKeyJsonValueFromContainer(e->val.binary.data, "weight", 6, &w) == NULL
			|| w.type != jbvNumeric)
			continue;
		weight = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(w.val.numeric)));
		if (!(weight > 0))
			continue;
		if (getKeyJsonValueFromContainer(e->val.binary.data, "level", 5, &lv) == NULL || lv.type != jbvString
			|| getKeyJsonValueFromContainer(e->val.binary.data, "field", 5, &fv) == NULL || fv.type != jbvString)
			return NULL;
		initStringInfo(&t);
		appendBinaryStringInfo(&t, lv.val.string.val, lv.val.string.len);
		if (getKeyJsonValueFromContainer(e->val.binary.data, "similarity", 10, &sv) != NULL
			&& sv.type == jbvNumeric)
		{
			sim = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(sv.val.numeric)));
			if (sim < 0.999)
				appendStringInfo(&t, " %s",
								 DatumGetCString(DirectFunctionCall1(numeric_out,
																	 NumericGetDatum(sv.val.numeric))));
		}
		else
			return NULL;
		appendStringInfoString(&t, " (");
		appendBinaryStringInfo(&t, fv.val.string.val, fv.val.string.len);
		appendStringInfoChar(&t, ')');
		/* insertion: stable, heaviest first */
		{
			int			k = n++;

			while (k > 0 && items[k - 1].weight < weight)
			{
				items[k] = items[k - 1];
				k--;
			}
			items[k].weight = weight;
			items[k].text = t.data;
		}
	}
	if (n == 0)
		return NULL;
	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, items[i].text);
	}
	return buf.data;
}

static int
cmp_match(const void *a, const void *b)
{
	const GuardMatch *x = a;
	const GuardMatch *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	/* ORDER BY score DESC, id::text: the default collation */
	return varstr_cmp(x->id, strlen(x->id), y->id, strlen(y->id), DEFAULT_COLLATION_OID);
}

/* what one probe has found so far */
typedef struct ProbeState
{
	GuardCache *cache;
	Datum		row;
	bool		prepared;		/* the new row as the scorer reads it, made at the first candidate */
	Datum		row_jsonb;		/* to_jsonb(NEW) (!cache->svalues) */
	CdValues   *row_values;		/* NEW's values of the scorer's fields (cache->svalues) */
	CdScorerSide *row_side;		/* row_values prepared for the scorer, once per probe */
	HeapTupleData newtup;		/* NEW, as row holds it */
	TupleDesc	desc;
	const char *new_id;
	bool		id_binary;		/* ids compared as Datums (id_binary_type), new_idd NEW's */
	bool		new_id_null;
	Datum		new_idd;
	bool		explain;
	int		   *pinned;
	/*
	 * the rows considered so far: an open-addressing set of TIDs (an empty slot has
	 * offset 0, which no row's TID has)
	 */
	ItemPointerData *seen;
	int			nseen;
	int			seenmask;		/* capacity - 1, a power of two minus one; -1: no table yet */
	GuardMatch *found;
	int			nfound;
	int			maxfound;
	/*
	 * The caller uses the keep best matches only (1: a link, a block's message; more: the
	 * rows a flag queues, the serialization check at REPEATABLE READ): once keep rows are
	 * found, a row whose score cannot reach the keep-th best (top[keep - 1], a tie may
	 * still win on its id) cannot be among them, and is given up as a row below
	 * min_score is.
	 */
	int			keep;
	double		top[CD_GUARD_MAX_MATCHES];	/* the best scores found, best first */
	int			ntop;
	int			nscored;		/* candidates handed to the scorer */
	int			ngivenup;		/* of them, given up below the threshold before all their fields */
	bool		name_phase;		/* the name and company probes, after every other key's */
	uint64		keyed;			/* the guarded fields (bits of fields[]) the new row had keys for */
} ProbeState;

/*
 * Map the scorer's fields to the table's columns (sattnums; 0: no column of that name,
 * and a system column's name is no key of to_jsonb's either): when each of those columns
 * is text or varchar, rows are handed to the scorer as their values (svalues).
 */
static void
map_score_fields(GuardCache *cache, TupleDesc desc, uint32 loads)
{
	char	  **names;
	int			n = cd_scorer_fields(cache->scorer, &names);

	if (cache->sattnums != NULL)
		pfree(cache->sattnums);
	cache->sattnums = NULL;
	cache->smap_desc = NULL;
	cache->sattnums = MemoryContextAllocZero(TopMemoryContext, sizeof(AttrNumber) * Max(n, 1));
	cache->nsfields = n;
	cache->sfields = names;
	cache->svalues = true;
	for (int i = 0; i < n; i++)
	{
		int			attnum = SPI_fnumber(desc, names[i]);
		Oid			typid = attnum > 0 ? TupleDescAttr(desc, attnum - 1)->atttypid : InvalidOid;

		cache->sattnums[i] = attnum > 0 ? attnum : 0;
		if (attnum > 0 && typid != TEXTOID && typid != VARCHAROID)
			cache->svalues = false;
	}
	cache->smap_loads = loads;
	cache->smap_desc = desc;

	/* the scorer's email fields whose column is a guarded scalar email column */
	if (cache->okw != NULL)
		pfree(cache->okw);
	cache->okw = NULL;
	cache->okw_gmask = 0;
	if (cache->svalues && cache->fields != NULL && cache->nfields <= 64)
	{
		bool	   *other = palloc0(sizeof(bool) * Max(n, 1));
		double	   *w = MemoryContextAlloc(TopMemoryContext, sizeof(double) * Max(n, 1));
		uint64		gmask = 0;

		for (int i = 0; i < n; i++)
			for (int g = 0; g < cache->nfields; g++)
			{
				GuardField *f = &cache->fields[g];

				if (f->role == GR_EMAIL && !OidIsValid(f->listtype) && cache->sattnums[i] != 0
					&& f->attnum == cache->sattnums[i])
				{
					other[i] = true;
					gmask |= UINT64CONST(1) << g;
				}
			}
		if (gmask != 0 && cd_scorer_other_key_weights(cache->scorer, other, w))
		{
			cache->okw = w;
			cache->okw_gmask = gmask;
		}
		else
			pfree(w);
		pfree(other);
	}
}

/* is the map made for this profile and descriptor, its columns still the ones mapped? */
static bool
score_fields_current(GuardCache *cache, TupleDesc desc, uint32 loads)
{
	if (cache->smap_desc != desc || cache->smap_loads != loads)
		return false;
	/* cheap, and safe against a descriptor reused at the same address */
	for (int i = 0; i < cache->nsfields; i++)
	{
		Form_pg_attribute att;

		if (cache->sattnums[i] == 0)
		{
			/* a field that was no column: is it one now (ADD or RENAME COLUMN)? */
			for (int j = 0; j < desc->natts; j++)
			{
				att = TupleDescAttr(desc, j);
				if (!att->attisdropped && strcmp(NameStr(att->attname), cache->sfields[i]) == 0)
					return false;
			}
			continue;
		}
		if (cache->sattnums[i] > desc->natts)
			return false;
		att = TupleDescAttr(desc, cache->sattnums[i] - 1);
		if (att->attisdropped || strcmp(NameStr(att->attname), cache->sfields[i]) != 0
			|| (cache->svalues && att->atttypid != TEXTOID && att->atttypid != VARCHAROID))
			return false;
	}
	return true;
}

/*
 * A row as the scorer reads it (cache->svalues): each of the scorer's fields that is a
 * column, its text as the one value (what the scorer reads from to_jsonb's string under
 * that key: a NULL, JSON null there, and a blank string are no value).  From the slot, or
 * else from tuple.
 */
static CdValues *
column_values(GuardCache *cache, TupleTableSlot *slot, HeapTuple tuple, TupleDesc desc)
{
	CdValues   *vals = palloc(sizeof(CdValues) * Max(cache->nsfields, 1));

	for (int i = 0; i < cache->nsfields; i++)
	{
		bool		isnull;
		Datum		v;
		text	   *t;
		CdStr	   *str;
		bool		blank = true;

		vals[i].n = 0;
		vals[i].v = NULL;
		if (cache->sattnums[i] == 0)
			continue;
		v = slot ? slot_getattr(slot, cache->sattnums[i], &isnull)
			: heap_getattr(tuple, cache->sattnums[i], desc, &isnull);
		if (isnull)
			continue;
		t = DatumGetTextPP(v);
		/* what to_jsonb would have refused */
		if (VARSIZE_ANY_EXHDR(t) > JENTRY_OFFLENMASK)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("string too long to represent as jsonb string"),
					 errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
							   JENTRY_OFFLENMASK)));
		for (size_t k = 0; k < VARSIZE_ANY_EXHDR(t) && blank; k++)
			blank = VARDATA_ANY(t)[k] == ' ';
		if (blank)
			continue;
		str = palloc(sizeof(CdStr));
		str->ptr = VARDATA_ANY(t);
		str->len = VARSIZE_ANY_EXHDR(t);
		vals[i].v = str;
		vals[i].n = 1;
	}
	return vals;
}

/*
 * The new row as the scorer reads it, once per probe (at its first candidate, under the
 * probe's snapshot, which the scorer checks its profile against).
 */
static void
prepare_new_row(ProbeState *ps)
{
	GuardCache *cache = ps->cache;
	uint32		loads = cd_scorer_refresh(cache->scorer);

	if (!score_fields_current(cache, ps->desc, loads))
		map_score_fields(cache, ps->desc, loads);
	if (cache->svalues)
	{
		ps->row_values = column_values(cache, NULL, &ps->newtup, ps->desc);
		ps->row_side = cd_scorer_side(cache->scorer, ps->row_values);
	}
	else
		ps->row_jsonb = FunctionCall1(&cache->to_jsonb, ps->row);
	ps->prepared = true;
}

static inline uint32
tid_hash(ItemPointer tid)
{
	uint64		v = ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16)
		| ItemPointerGetOffsetNumberNoCheck(tid);

	return (uint32) ((v * UINT64CONST(0x9E3779B97F4A7C15)) >> 32);
}

/*
 * Has this probe considered the row at tid already?  A set, not a list: a sound key
 * shared by k rows made the probe O(k^2) with a linear scan.
 */
static bool
tid_seen(ProbeState *ps, ItemPointer tid)
{
	if (ps->nseen == 0)
		return false;
	for (uint32 h = tid_hash(tid) & ps->seenmask;; h = (h + 1) & ps->seenmask)
	{
		if (!ItemPointerIsValid(&ps->seen[h]))
			return false;
		if (ItemPointerEquals(&ps->seen[h], tid))
			return true;
	}
}

static void
tid_insert(ItemPointerData *table, int mask, ItemPointer tid)
{
	uint32		h;

	for (h = tid_hash(tid) & mask; ItemPointerIsValid(&table[h]); h = (h + 1) & mask)
		;
	table[h] = *tid;
}

/* remember tid (not in the set yet); the table is kept at most half full */
static void
tid_add(ProbeState *ps, ItemPointer tid)
{
	if (ps->seen == NULL || (ps->nseen + 1) * 2 > ps->seenmask + 1)
	{
		int			cap = ps->seen == NULL ? 32 : (ps->seenmask + 1) * 2;
		ItemPointerData *table = palloc(sizeof(ItemPointerData) * cap);

		for (int k = 0; k < cap; k++)
			ItemPointerSetInvalid(&table[k]);
		if (ps->seen != NULL)
		{
			for (int k = 0; k <= ps->seenmask; k++)
				if (ItemPointerIsValid(&ps->seen[k]))
					tid_insert(table, cap - 1, &ps->seen[k]);
			pfree(ps->seen);
		}
		ps->seen = table;
		ps->seenmask = cap - 1;
	}
	tid_insert(ps->seen, ps->seenmask, tid);
	ps->nseen++;
}

/* the score a row must reach to be among the keep best (min_score until keep are found) */
static double
keep_threshold(ProbeState *ps)
{
	double		t = ps->cache->min_score;

	if (ps->ntop == ps->keep && ps->top[ps->keep - 1] > t)
		t = ps->top[ps->keep - 1];
	return t;
}

static void
keep_score(ProbeState *ps, double score)
{
	int			k;

	if (ps->ntop == ps->keep && !(score > ps->top[ps->keep - 1]))
		return;
	if (ps->ntop < ps->keep)
		ps->ntop++;
	for (k = ps->ntop - 1; k > 0 && ps->top[k - 1] < score; k--)
		ps->top[k] = ps->top[k - 1];
	ps->top[k] = score;
}

/*
 * An id type whose output is a function of its bytes and tells any two values apart
 * (integers, uuid): two ids are the same text exactly when they are the same Datum, so
 * a candidate's id is compared without its text, made only for a row that is kept.
 */
static bool
id_binary_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID || type == UUIDOID;
}

static bool
id_datum_equal(Oid type, Datum a, Datum b)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(a) == DatumGetInt16(b);
		case INT4OID:
			return DatumGetInt32(a) == DatumGetInt32(b);
		case INT8OID:
			return DatumGetInt64(a) == DatumGetInt64(b);
		case UUIDOID:
			return memcmp(DatumGetUUIDP(a)->data, DatumGetUUIDP(b)->data, UUID_LEN) == 0;
	}
	elog(ERROR, "crmdedup guard: no binary comparison of ids of type %u", type);
	return false;
}

/*
 * A row one of the keys found (in slot): score it once, keep it if it reaches min_score.
 * key_recheck: the index may have returned a row without the key (hash codes, lossy
 * bitmap pages), so the key is checked on the row first.
 */
static void
consider(ProbeState *ps, GuardField *f, text *key, bool key_recheck, TupleTableSlot *slot)
{
	GuardCache *cache = ps->cache;
	bool		isnull;
	Datum		idd;
	char	   *id;
	Datum		expl = (Datum) 0;
	double		score;

	/* a row sharing two keys is found twice, and scored once */
	if (tid_seen(ps, &slot->tts_tid))
		return;
	if (key_recheck && !recheck_key(f, slot, key))
		return;
	tid_add(ps, &slot->tts_tid);
	/* scoring may read the profile and term frequencies through SQL */
	pin_search_path(ps->pinned);

	/* t.id IS DISTINCT FROM (NEW).id */
	idd = slot_getattr(slot, cache->idattnum, &isnull);
	if (ps->id_binary)
	{
		id = NULL;				/* its text when kept */
		if (isnull ? ps->new_id_null
			: !ps->new_id_null && id_datum_equal(cache->idtype, idd, ps->new_idd))
			return;
	}
	else
	{
		id = isnull ? NULL : OutputFunctionCall(&cache->id_out, idd);
		if ((id == NULL && ps->new_id == NULL)
			|| (id != NULL && ps->new_id != NULL && strcmp(id, ps->new_id) == 0))
			return;
	}

	if (!ps->prepared)
		prepare_new_row(ps);
	if (cache->svalues)
	{
		bool		below;

		/*
		 * A pair that cannot reach min_score, or the keep-th best score found so far, is
		 * given up before the fields that cannot change that are compared
		 */
		const double *maxw = NULL;

		/*
		 * A row first found by a name: not by the email keys probed before it (see
		 * GuardCache.okw), when the new row had each of them.  Not when the indexes may
		 * hold keys of another library version: a row whose stored key is stale may have
		 * the new row's key now, and email similarity 1.
		 */
		if (ps->name_phase && cache->okw != NULL && !cd_library_versions_mismatch
			&& (ps->keyed & cache->okw_gmask) == cache->okw_gmask)
			maxw = cache->okw;
		ps->nscored++;
		score = cd_scorer_score_side_bounded(cache->scorer, ps->row_side,
											 column_values(cache, slot, NULL, NULL),
											 keep_threshold(ps), maxw, ps->explain, &expl, &below);
		if (below)
		{
			ps->ngivenup++;
			return;
		}
	}
	else
	{
		ps->nscored++;
		score = cd_scorer_score(cache->scorer, ps->row_jsonb,
								FunctionCall1(&cache->to_jsonb, ExecFetchSlotHeapTupleDatum(slot)),
								ps->explain, &expl);
	}
	if (!(score >= cache->min_score))
		return;
	if (isnull)
		return;					/* the SQL's LIMIT keeps it, but a NULL id names nothing */
	if (id == NULL)
		id = OutputFunctionCall(&cache->id_out, idd);
	if (ps->nfound == ps->maxfound)
	{
		ps->maxfound = Max(4, ps->maxfound * 2);
		ps->found = ps->found ? repalloc(ps->found, sizeof(GuardMatch) * ps->maxfound)
			: palloc(sizeof(GuardMatch) * ps->maxfound);
	}
	ps->found[ps->nfound].id = id;
	ps->found[ps->nfound].score = score;
	ps->found[ps->nfound].explanation = expl;
	ps->found[ps->nfound].reasons = NULL;
	ps->nfound++;
	keep_score(ps, score);
}

/* a scalar key: the rows of its btree (or hash) index holding it */
static void
probe_scalar(ProbeState *ps, GuardField *f, text *key, Relation rel, Relation idx, Snapshot snap,
			 TupleTableSlot *slot)
{
	IndexScanDesc scan;
	ScanKeyData skey;

	ItemPointer tid;

	/* one visible version per HOT chain: index_getnext_slot's loop, without its heap_continue */
	Assert(IsMVCCSnapshot(snap));
	ScanKeyEntryInitialize(&skey, 0, 1, f->eqstrategy, InvalidOid, f->collation,
						   f->eqproc, PointerGetDatum(key));
	scan = index_beginscan(rel, idx, snap, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		/*
		 * A row an earlier key found (a duplicate's phone, then its email and name) is not
		 * fetched again: its index entry points at the row consider() saw (a HOT chain's
		 * root is fetched, and then recognized by the version it leads to).
		 */
		if (tid_seen(ps, tid))
			continue;
		if (index_fetch_heap(scan, slot))
			consider(ps, f, key, scan->xs_recheck, slot);
	}
	index_endscan(scan);
}

/*
 * A list's keys: the rows whose keys overlap them, from the GIN index (which answers
 * with a bitmap, as for a bitmap heap scan); each row is fetched through its HOT chain
 * with the snapshot.  A lossy page (a bitmap past work_mem) is read whole, with the keys
 * checked on each row.
 */
static void
probe_list(ProbeState *ps, GuardField *f, ArrayType *keys, Relation rel, Relation idx, Snapshot snap,
		   TupleTableSlot *slot)
{
	IndexScanDesc scan;
	ScanKeyData skey;
	TIDBitmap  *tbm = tbm_create(work_mem * 1024L, NULL);
	TBMIterator *it;
	TBMIterateResult *res;
	IndexFetchTableData *fetch;

	ScanKeyEntryInitialize(&skey, 0, 1, f->eqstrategy, ANYARRAYOID, f->collation,
						   f->eqproc, PointerGetDatum(keys));
	scan = index_beginscan_bitmap(idx, snap, 1);
	index_rescan(scan, &skey, 1, NULL, 0);
	(void) index_getbitmap(scan, tbm);
	index_endscan(scan);

	fetch = table_index_fetch_begin(rel);
	it = tbm_begin_iterate(tbm);
	while ((res = tbm_iterate(it)) != NULL)
	{
		bool		lossy = res->ntuples < 0;
		int			n = lossy ? MaxHeapTuplesPerPage : res->ntuples;

		for (int i = 0; i < n; i++)
		{
			ItemPointerData tid;
			bool		call_again = false;
			bool		all_dead = false;

			ItemPointerSet(&tid, res->blockno, lossy ? (OffsetNumber) (i + 1) : res->offsets[i]);
			if (table_index_fetch_tuple(fetch, &tid, snap, slot, &call_again, &all_dead))
				consider(ps, f, (text *) keys, lossy || res->recheck, slot);
		}
	}
	tbm_end_iterate(it);
	table_index_fetch_end(fetch);
	tbm_free(tbm);
}

/*
 * The probe without SQL: look each key up in its index with the snapshot, score each
 * row found once, keep those reaching min_score, best first (score, then id), as the
 * probe SQL orders them.  A row never matches a row with its own id (an UPDATE).
 */
static int
probe_fast(GuardCache *cache, Relation rel, text **keys, Datum row, const char *new_id,
		   Snapshot snap, bool explain, int keep, GuardMatch *out, int *pinned)
{
	TupleTableSlot *slot = NULL;
	ProbeState	ps;
	int			n;

	memset(&ps, 0, sizeof(ps));
	ps.cache = cache;
	ps.row = row;
	ps.newtup.t_data = DatumGetHeapTupleHeader(row);
	ps.newtup.t_len = HeapTupleHeaderGetDatumLength(ps.newtup.t_data);
	ItemPointerSetInvalid(&ps.newtup.t_self);
	ps.newtup.t_tableOid = RelationGetRelid(rel);
	ps.desc = RelationGetDescr(rel);
	ps.new_id = new_id;
	ps.id_binary = id_binary_type(cache->idtype);
	if (ps.id_binary)
		ps.new_idd = heap_getattr(&ps.newtup, cache->idattnum, ps.desc, &ps.new_id_null);
	ps.explain = explain;
	ps.pinned = pinned;
	ps.seenmask = -1;
	ps.keep = Max(1, Min(keep, CD_GUARD_MAX_MATCHES));
	for (int i = 0; i < cache->nfields && i < 64; i++)
		if (keys[i] != NULL)
			ps.keyed |= UINT64CONST(1) << i;
	/*
	 * Phones, emails and external ids first, names last: a name key is shared by every
	 * namesake, which the rows the other keys find (a duplicate's original) may then let
	 * go before all their fields are compared (keep_threshold).  Which rows are found,
	 * and their scores, do not depend on the order.
	 */
	for (int k = 0; k < 2 * cache->nfields; k++)
	{
		int			i = k % cache->nfields;
		GuardField *f = &cache->fields[i];
		bool		name = f->role == GR_PERSON || f->role == GR_COMPANY;
		Relation	idx;

		if (keys[i] == NULL || name != (k >= cache->nfields))
			continue;
		ps.name_phase = name;
		if (slot == NULL)
			slot = table_slot_create(rel, NULL);
		idx = index_open(f->indexoid, AccessShareLock);
		if (OidIsValid(f->listtype))
			probe_list(&ps, f, (ArrayType *) keys[i], rel, idx, snap, slot);
		else
			probe_scalar(&ps, f, keys[i], rel, idx, snap, slot);
		index_close(idx, NoLock);
	}
	if (slot != NULL)
		ExecDropSingleTupleTableSlot(slot);
	if (ps.nscored > 0)
		elog(DEBUG2, "crmdedup guard \"%s\" scored %d candidates, gave up %d that could not reach min_score or the best match before comparing all their fields, kept %d",
			 cache->name, ps.nscored, ps.ngivenup, ps.nfound);
	if (ps.nfound > 1)
		qsort(ps.found, ps.nfound, sizeof(GuardMatch), cmp_match);
	n = Min(ps.nfound, CD_GUARD_MAX_MATCHES);
	for (int i = 0; i < n; i++)
	{
		out[i] = ps.found[i];
		if (explain && out[i].explanation != (Datum) 0)
			out[i].reasons = reasons_of(out[i].explanation);
		if (out[i].reasons == NULL)
			out[i].reasons = "similar record";
	}
	return n;
}

static void
flag_matches(GuardCache *cache, Relation rel, const char *new_id, GuardMatch *m, int n)
{
	for (int i = 0; i < n; i++)
	{
		Datum		args[6];
		char		nulls[6] = "      ";

		args[0] = CStringGetTextDatum(cache->name);
		args[1] = ObjectIdGetDatum(RelationGetRelid(rel));
		args[2] = CStringGetTextDatum(new_id);
		args[3] = CStringGetTextDatum(m[i].id);
		args[4] = Float8GetDatum(m[i].score);
		args[5] = m[i].explanation;
		if (m[i].explanation == (Datum) 0)
			nulls[5] = 'n';
		/* a pair a person called distinct, or already waiting for a decision, is not queued again */
		if (SPI_execute_with_args("INSERT INTO crmdedup.review (guard, table_oid, new_id, existing_id, score, explanation) "
								  "SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS ("
								  "SELECT 1 FROM crmdedup.review r WHERE r.table_oid = $2 AND r.status <> 'merge' "
								  "AND ((r.new_id = $3 AND r.existing_id = $4) OR (r.new_id = $4 AND r.existing_id = $3)))",
								  6, (Oid[]) {TEXTOID, OIDOID, TEXTOID, TEXTOID, FLOAT8OID, JSONBOID},
								  args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not queue a pair for review in crmdedup guard \"%s\"", cache->name);
	}
}

/* the probe of either path, with a snapshot */
static int
probe(GuardCache *cache, Relation rel, text **keys, Datum row, const char *new_id, Snapshot snap,
	  bool explain, int keep, MemoryContext mcxt, GuardMatch *out, int *pinned)
{
	if (cache->fast)
	{
		MemoryContext old = MemoryContextSwitchTo(mcxt);
		int			n;

		PushActiveSnapshot(snap);	/* what the scorer's reads, if any, see */
		n = probe_fast(cache, rel, keys, row, new_id, GetActiveSnapshot(), explain, keep, out,
					   pinned);
		PopActiveSnapshot();
		MemoryContextSwitchTo(old);
		return n;
	}
	return probe_spi(cache, row, snap, mcxt, out);
}

PG_FUNCTION_INFO_V1(guard_trigger);

Datum
guard_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	newtuple;
	GuardCache *cache = NULL;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel = 0;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Datum		row;
	GuardMatch	matches[CD_GUARD_MAX_MATCHES];
	int			nmatches;
	char	   *new_id = NULL;
	bool		spi = false;
	bool		explain;
	text	  **keys = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crmdedup.guard_trigger() must be called as a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crmdedup.guard_trigger() must fire BEFORE INSERT OR UPDATE FOR EACH ROW")));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crmdedup.guard_trigger() needs the guard name as its one argument")));
	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);
	newtuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;

	if (!cd_guards_enabled)
	{
		if (!pg_class_ownercheck(RelationGetRelid(rel), GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to pause crmdedup guards on table \"%s\"",
							RelationGetRelationName(rel)),
					 errdetail("Only the owner of the table or a superuser may SET crmdedup.guards = off.")));
		return PointerGetDatum(newtuple);
	}

	cd_check_library_versions();

	/* the probe must see every row, whatever the inserting role may see */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(RelationGetForm(rel)->relowner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);

	for (GuardCache *c = guard_caches; c != NULL; c = c->next)
		if (c->tgoid == trigger->tgoid)
			cache = c;
	if (cache == NULL)
	{
		pin_search_path(&save_nestlevel);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		spi = true;
		cache = load_guard(trigger, rel);
		check_fast(cache, rel, fcinfo->flinfo->fn_oid);
	}
	else if (!fast_still_valid(cache, rel))
	{
		pin_search_path(&save_nestlevel);
		check_fast(cache, rel, fcinfo->flinfo->fn_oid);
	}
	if (!cache->fast && !spi)
	{
		pin_search_path(&save_nestlevel);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		spi = true;
	}
	if (!cache->fast)
		prepare_spi(cache, rel);

	if (cache->fast)
	{
		/* the id column and its output function, as checked for the direct path */
		bool		isnull;
		Datum		idd = heap_getattr(newtuple, cache->idattnum, tupdesc, &isnull);
		MemoryContext old = MemoryContextSwitchTo(caller_cxt);

		new_id = isnull ? NULL : OutputFunctionCall(&cache->id_out, idd);
		MemoryContextSwitchTo(old);
	}
	else
	{
		int			idnum = SPI_fnumber(tupdesc, cache->idcol);

		new_id = idnum > 0 ? SPI_getvalue(newtuple, tupdesc, idnum) : NULL;
		if (new_id)
			new_id = MemoryContextStrdup(caller_cxt, new_id);
	}
	row = heap_copy_tuple_as_datum(newtuple, tupdesc);

	if (cache->fast)
	{
		text	  **locks;
		int			nlocks;

		keys = palloc(sizeof(text *) * cache->nfields);
		/* a list's keys come from phone_keys() or email_keys(), SQL functions */
		for (int i = 0; i < cache->nfields; i++)
			if (OidIsValid(cache->fields[i].listtype))
				pin_search_path(&save_nestlevel);
		nlocks = fast_keys(cache, newtuple, tupdesc, keys, &locks);
		lock_keys(rel, locks, nlocks);
	}
	else
		lock_keys_spi(cache, rel, row);

	/*
	 * The latest snapshot sees every row committed before our locks were granted; the
	 * command counter increment makes it see the rows this same statement stored before
	 * (a COPY or INSERT ... SELECT bringing the same person twice), as a PL/pgSQL
	 * trigger's queries do.
	 */
	CommandCounterIncrement();
	/* a link only needs the best row's id; block and flag say why */
	explain = strcmp(cache->action, "link") != 0;
	{
		Snapshot	latest = RegisterSnapshot(GetLatestSnapshot());

		/*
		 * What is used of the matches: a link's and a block's best one (its id, its
		 * message), a flag's all; at REPEATABLE READ and SERIALIZABLE each is checked
		 * against the transaction's snapshot below
		 */
		int			keep = (strcmp(cache->action, "flag") == 0 || IsolationUsesXactSnapshot())
			? CD_GUARD_MAX_MATCHES : 1;

		nmatches = probe(cache, rel, keys, row, new_id, latest, explain, keep, caller_cxt, matches,
						 &save_nestlevel);
		UnregisterSnapshot(latest);
	}

	if (nmatches > 0 && IsolationUsesXactSnapshot())
	{
		GuardMatch	visible[CD_GUARD_MAX_MATCHES];
		int			nvisible;

		/* the transaction's snapshot, seeing this transaction's own rows up to now */
		PushCopiedSnapshot(GetTransactionSnapshot());
		UpdateActiveSnapshotCommandId();
		nvisible = probe(cache, rel, keys, row, new_id, GetActiveSnapshot(), false, CD_GUARD_MAX_MATCHES,
						 caller_cxt, visible, &save_nestlevel);
		PopActiveSnapshot();

		for (int i = 0; i < nmatches; i++)
		{
			bool		seen = false;

			for (int j = 0; j < nvisible; j++)
				seen |= strcmp(matches[i].id, visible[j].id) == 0;
			if (!seen)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to a concurrent duplicate"),
						 errdetail("crmdedup guard \"%s\" found row %s = %s, committed after this transaction's snapshot was taken.",
								   cache->name, cache->idcol, matches[i].id),
						 errhint("Retry the transaction.")));
		}
	}

	if (nmatches > 0 && strcmp(cache->action, "block") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("duplicate record violates crmdedup guard \"%s\"", cache->name),
				 errdetail("The row matches the existing row %s = %s (score %.2f): %s.",
						   cache->idcol, matches[0].id, matches[0].score, matches[0].reasons),
				 errhint("Update row %s instead, or keep both and merge them later with "
						 "CALL crmdedup.merge('%s', keep => '%s', losers => ARRAY['<new id>']).",
						 matches[0].id, get_rel_name(RelationGetRelid(rel)), matches[0].id),
				 errtableconstraint(rel, cache->name)));

	if (nmatches > 0 && strcmp(cache->action, "flag") == 0)
	{
		if (new_id == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("crmdedup guard \"%s\" needs the key column \"%s\" set before the row is stored",
							cache->name, cache->idcol)));
		pin_search_path(&save_nestlevel);
		if (!spi)
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			spi = true;
		}
		flag_matches(cache, rel, new_id, matches, nmatches);
	}

	if (spi)
		SPI_finish();
	if (save_nestlevel != 0)
		AtEOXact_GUC(true, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);

	if (nmatches > 0 && strcmp(cache->action, "link") == 0)
	{
		int			attnum = SPI_fnumber(tupdesc, cache->link_column);
		Oid			typinput;
		Oid			typioparam;
		Datum		value;
		bool		isnull = false;

		if (attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of crmdedup guard \"%s\" does not exist", cache->link_column,
							cache->name)));
		getTypeInputInfo(TupleDescAttr(tupdesc, attnum - 1)->atttypid, &typinput, &typioparam);
		value = OidInputFunctionCall(typinput, matches[0].id, typioparam,
									 TupleDescAttr(tupdesc, attnum - 1)->atttypmod);
		newtuple = heap_modify_tuple_by_cols(newtuple, tupdesc, 1, &attnum, &value, &isnull);
	}
	return PointerGetDatum(newtuple);
}
