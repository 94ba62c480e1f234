/*
 * guard_memo.h
 *		The keys a guard trigger computed for the row it checked, for the key indexes.
 *
 * A guard computes each key of the new row in C (phone_e164, email_key, person_key...)
 * to lock and probe; a moment later the executor inserts the row into the guard's key
 * indexes, whose expressions call the same IMMUTABLE functions on the same values.  The
 * trigger leaves its results here and the key functions look here first, so each key is
 * computed once per row.  Only the trigger fills the memo; a function finds in it only
 * what it would have computed itself (same function, same bytes in, same region).
 */
#ifndef GUARD_MEMO_H
#define GUARD_MEMO_H

#include "fmgr.h"

typedef enum CdKeyMemoKind
{
	CD_MEMO_PHONE,				/* phone_e164(raw, region) */
	CD_MEMO_EMAIL,				/* email_key(raw) */
	CD_MEMO_PERSON,				/* person_key(raw) */
	CD_MEMO_COMPANY,			/* company_key(raw) */
	CD_MEMO_NAME,				/* name_key(raw) */
	CD_MEMO_PHONETIC,			/* phonetic(raw) */
	CD_MEMO_KINDS
} CdKeyMemoKind;

/* how many entries the memo holds: 0 until a guard stores one (no look-up at all) */
extern int	cd_key_memo_entries;

extern void cd_key_memo_put(CdKeyMemoKind kind, const text *in, const text *region, const text *key);
extern bool cd_key_memo_get(CdKeyMemoKind kind, const text *in, const text *region, Datum *key,
							bool *isnull);

/* at the top of a key function: return the guard's result for the same input, if any */
#define CD_KEY_MEMO_RETURN(kind, in, region) \
	do { \
		Datum		memo_key_; \
		bool		memo_null_; \
		if (cd_key_memo_entries > 0 && cd_key_memo_get((kind), (in), (region), &memo_key_, &memo_null_)) \
		{ \
			if (memo_null_) \
				PG_RETURN_NULL(); \
			return memo_key_; \
		} \
	} while (0)

#endif							/* GUARD_MEMO_H */
