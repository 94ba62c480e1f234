/*
 * guard.c
 *		The guard trigger: blocks, flags or links a duplicate at INSERT and UPDATE time.
 *
 * A trigger that only SELECTs for a duplicate races: two sessions inserting the same
 * person both see nothing and both commit.  So the trigger first serializes the sessions
 * that share a blocking key (a normalized phone, email, name key...): it takes
 * transaction-level advisory locks on the keys' hashes, striped into CD_GUARD_SLOTS slots so
 * that a transaction inserting 100,000 rows holds at most that many locks.  It then probes
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
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "crmdedup.h"

/* advisory lock space: (CD_GUARD_LOCK_CLASS, slot) as two int4 keys */
#define CD_GUARD_LOCK_CLASS 0x43524d44	/* "CRMD" */
#define CD_GUARD_SLOTS 1024
#define CD_GUARD_MAX_MATCHES 3

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

/*
 * What one guard needs.  Loaded once per backend and trigger: a web form's single-row
 * transactions would otherwise pay for reading the guard and planning its two queries on
 * every insert.  A guard is changed by dropping and creating it again, which makes a new
 * trigger with a new OID; the saved plans follow table changes through the plan cache.
 */
typedef struct GuardCache
{
	struct GuardCache *next;
	Oid			tgoid;
	char	   *name;
	char	   *action;
	char	   *idcol;
	char	   *link_column;
	double		min_score;
	SPIPlanPtr	keys_plan;
	SPIPlanPtr	probe_plan;
} GuardCache;

static GuardCache *guard_caches = NULL;

static GuardCache *
load_guard(Trigger *trigger, Relation rel)
{
	GuardCache *cache;
	MemoryContext mcxt = TopMemoryContext;
	Oid			argtypes[2];
	Datum		arg;
	int			ret;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *keys_sql;
	char	   *probe_sql;

	for (cache = guard_caches; cache != NULL; cache = cache->next)
		if (cache->tgoid == trigger->tgoid)
			return cache;

	arg = CStringGetTextDatum(trigger->tgargs[0]);
	ret = SPI_execute_with_args("SELECT g.name, g.action, g.min_score, g.link_column, g.keys_sql, g.probe_sql, "
								"p.compiled->>'id' "
								"FROM crmdedup.guards g JOIN crmdedup.profiles p ON p.name = g.profile "
								"WHERE g.name = $1 AND g.table_oid = $2",
								2, (Oid[]) {TEXTOID, OIDOID},
								(Datum[]) {arg, ObjectIdGetDatum(RelationGetRelid(rel))},
								NULL, true, 1);
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
	keys_sql = SPI_getvalue(tup, desc, 5);
	probe_sql = SPI_getvalue(tup, desc, 6);
	cache->idcol = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 7));

	argtypes[0] = RelationGetForm(rel)->reltype;
	argtypes[1] = FLOAT8OID;
	cache->keys_plan = SPI_prepare(keys_sql, 1, argtypes);
	if (cache->keys_plan == NULL)
		elog(ERROR, "could not prepare the keys query of crmdedup guard \"%s\": %s",
			 cache->name, SPI_result_code_string(SPI_result));
	SPI_keepplan(cache->keys_plan);
	cache->probe_plan = SPI_prepare(probe_sql, 2, argtypes);
	if (cache->probe_plan == NULL)
		elog(ERROR, "could not prepare the probe of crmdedup guard \"%s\": %s",
			 cache->name, SPI_result_code_string(SPI_result));
	SPI_keepplan(cache->probe_plan);
	cache->next = guard_caches;
	guard_caches = cache;
	return cache;
}

static int
cmp_uint32(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return (x > y) - (x < y);
}

/*
 * Lock the slots of the row's blocking keys, in slot order so two sessions never wait on
 * each other crosswise.
 */
static void
lock_keys(GuardCache *cache, Relation rel, Datum row)
{
	Datum		keys;
	bool		isnull;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	uint32	   *slots;
	int			nslots = 0;

	if (SPI_execute_plan(cache->keys_plan, &row, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "keys query of crmdedup guard \"%s\" failed", cache->name);
	keys = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	arr = DatumGetArrayTypeP(keys);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	if (nelems == 0)
		return;

	slots = palloc(sizeof(uint32) * nelems);
	for (int i = 0; i < nelems; i++)
	{
		text	   *k;
		uint32		h;

		if (nulls[i])
			continue;
		k = DatumGetTextPP(elems[i]);
		/* the table is part of the key: guards of different tables never wait on each other */
		h = hash_combine(hash_bytes_uint32(RelationGetRelid(rel)),
						 hash_bytes((const unsigned char *) VARDATA_ANY(k), VARSIZE_ANY_EXHDR(k)));
		slots[nslots++] = h % CD_GUARD_SLOTS;
	}
	qsort(slots, nslots, sizeof(uint32), cmp_uint32);
	for (int i = 0; i < nslots; i++)
	{
		Datum		k1 = Int32GetDatum(CD_GUARD_LOCK_CLASS);
		Datum		k2 = Int32GetDatum((int32) slots[i]);

		if (i > 0 && slots[i] == slots[i - 1])
			continue;
		DirectFunctionCall2(pg_advisory_xact_lock_int4, k1, k2);
	}
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
probe(GuardCache *cache, Datum row, Snapshot snap, MemoryContext mcxt, GuardMatch *out)
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

PG_FUNCTION_INFO_V1(guard_trigger);

Datum
guard_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	newtuple;
	GuardCache *cache;
	Oid			save_userid;
	int			save_sec;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Datum		row;
	GuardMatch	matches[CD_GUARD_MAX_MATCHES];
	int			nmatches;
	char	   *new_id;
	int			idnum;

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

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	cache = load_guard(trigger, rel);
	row = heap_copy_tuple_as_datum(newtuple, tupdesc);

	lock_keys(cache, rel, row);

	/*
	 * The latest snapshot sees every row committed before our locks were granted; the
	 * command counter increment makes it see the rows this same statement stored before
	 * (a COPY or INSERT ... SELECT bringing the same person twice), as a PL/pgSQL
	 * trigger's queries do.
	 */
	CommandCounterIncrement();
	nmatches = probe(cache, row, GetLatestSnapshot(), caller_cxt, matches);

	if (nmatches > 0 && IsolationUsesXactSnapshot())
	{
		GuardMatch	visible[CD_GUARD_MAX_MATCHES];
		int			nvisible;

		/* the transaction's snapshot, seeing this transaction's own rows up to now */
		PushCopiedSnapshot(GetTransactionSnapshot());
		UpdateActiveSnapshotCommandId();
		nvisible = probe(cache, row, GetActiveSnapshot(), caller_cxt, visible);
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

	idnum = SPI_fnumber(tupdesc, cache->idcol);
	new_id = idnum > 0 ? SPI_getvalue(newtuple, tupdesc, idnum) : NULL;
	if (new_id)
		new_id = MemoryContextStrdup(caller_cxt, new_id);

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
		flag_matches(cache, rel, new_id, matches, nmatches);
	}

	SPI_finish();
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
