/*
 * crmdedup.c
 *		Module entry point, the palloc allocator handed to the core, and the check that
 *		the libraries running now are the ones the stored keys were computed with.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "crmdedup.h"
#include "lib_versions.h"

PG_MODULE_MAGIC;

static void *
pg_alloc(size_t size, void *ctx)
{
	return palloc(size);
}

static void *
pg_resize(void *ptr, size_t size, void *ctx)
{
	return repalloc(ptr, size);
}

static void
pg_release(void *ptr, void *ctx)
{
	pfree(ptr);
}

const CdAllocator cd_palloc_allocator = {pg_alloc, pg_resize, pg_release, NULL};

void
_PG_init(void)
{
	cd_phone_type_init();
	cd_guard_init();
	cd_name_ops_init();
	MarkGUCPrefixReserved("crmdedup");
}

/*
 * How many bytes of s[0..len) to quote in an error message: at most limit, cut at a
 * character boundary, so that the message stays valid in the database encoding (a
 * client that decodes messages strictly would otherwise fail on the error itself).
 */
int
cd_clip_len(const char *s, size_t len, int limit)
{
	return pg_mbcliplen(s, (int) Min(len, (size_t) PG_INT32_MAX), limit);
}

void
cd_check_input_length(size_t len, const char *funcname)
{
	if (len > CD_MAX_INPUT_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input of %s is too long", funcname),
				 errdetail("The input has %zu bytes; at most %d are accepted.",
						   len, CD_MAX_INPUT_BYTES)));
	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s requires a UTF8 database", funcname),
				 errdetail("The database encoding is %s.", GetDatabaseEncodingName())));
}

bool		cd_library_versions_mismatch = false;

/*
 * Warn once per backend when the running libraries differ from those recorded at
 * CREATE EXTENSION (or at the last crmdedup.refresh_versions()), the way PostgreSQL
 * warns about collation versions: keys in existing indexes may no longer match.
 * Skipped where a catalog query is not possible (no transaction, parallel worker) and
 * when the extension's table is not there (during CREATE EXTENSION).
 */
void
cd_check_library_versions(void)
{
	static bool checked = false;
	Oid			nsp;
	int			ret;

	if (checked)
		return;
	if (!IsTransactionState() || IsParallelWorker())
		return;
	checked = true;

	nsp = get_namespace_oid("crmdedup", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("library_versions", nsp)))
		return;

	if (SPI_connect() != SPI_OK_CONNECT)
		return;
	ret = SPI_execute("SELECT component, recorded, running FROM crmdedup.versions() "
					  "WHERE recorded IS DISTINCT FROM running ORDER BY component",
					  true, 0);
	if (ret == SPI_OK_SELECT)
	{
		if (SPI_processed > 0)
			cd_library_versions_mismatch = true;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			char	   *component = SPI_getvalue(tup, desc, 1);
			char	   *recorded = SPI_getvalue(tup, desc, 2);
			char	   *running = SPI_getvalue(tup, desc, 3);

			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("crmdedup %s version mismatch", component),
					 errdetail("The keys were computed with %s version %s, but the running version is %s.",
							   component, recorded ? recorded : "(none)",
							   running ? running : "(none)"),
					 errhint("Rebuild all indexes and stored values that use crmdedup key functions, "
							 "then run SELECT crmdedup.refresh_versions().")));
		}
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(runtime_versions);

/* SETOF (component text, version text): what is running in this backend */
Datum
runtime_versions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CdComponentVersion v[CD_NUM_COMPONENTS];

	InitMaterializedSRF(fcinfo, 0);
	cd_lib_versions(v);
	for (int i = 0; i < CD_NUM_COMPONENTS; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(v[i].component);
		values[1] = CStringGetTextDatum(v[i].version);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
