/*
 * value_memo.h
 *		A bounded memo of the per-value normalizations that record scoring repeats for
 *		every pair (transliteration, person keys, email keys, phone parsing).
 *
 * Scoring a pair normalizes both records' values again, yet in a report every record
 * takes part in many pairs.  The functions memoized here are deterministic (their
 * results depend on the input bytes and the compiled-in data only), so a result found
 * in the memo is the result the function computes: scores are the same bit for bit.
 * Only successful results are kept (an error is computed again, with its own status),
 * except phone parsing, whose status and result are both kept.
 *
 * A memo is created by a caller with an allocator and a byte budget, and used only while
 * it is the active one (cd_memo_use); the hooks in cd_translit, cd_person_key,
 * cd_email_normalize, cd_email_key, cd_phone_parse, the word splitting of
 * cd_name_similarity / cd_company_similarity (name_match.c) and the company term keys of
 * cd_term_key (record_score.c: read by the containment test of every company pair) look
 * there first.  When an entry
 * would take the memo over its budget, the memo is emptied first (its memory kept): with
 * pairs sorted by their first record, that record's values stay hot.  An allocation
 * that fails (NULL) leaves the memo as it was; one that raises (palloc) too.
 * Not thread-safe (one active memo per process), as the caches of translit.h.
 */
#ifndef CD_VALUE_MEMO_H
#define CD_VALUE_MEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "cd_buf.h"

typedef enum CdMemoKind
{
	CD_MEMO_TRANSLIT = 1,
	CD_MEMO_PERSON_KEY,
	CD_MEMO_EMAIL_NORMALIZE,
	CD_MEMO_EMAIL_KEY,
	CD_MEMO_PHONE,
	CD_MEMO_NAME_WORDS,			/* name_match.c: the prepared words of a transliterated name */
	CD_MEMO_COMPANY_TERM_KEY	/* record_score.c: cd_term_key of a company name (0.2.0) */
} CdMemoKind;

typedef struct CdMemo CdMemo;

/* the active memo, NULL when none (the hooks test this first) */
extern CdMemo *cd_memo_active;

/* a memo of at most budget bytes (table and entries); NULL when the allocator fails */
extern CdMemo *cd_memo_create(const CdAllocator *al, size_t budget);
/* set the byte budget; a memo over it is emptied */
extern void cd_memo_set_budget(CdMemo *m, size_t budget);
/* release a memo's memory (also makes it inactive if it was) */
extern void cd_memo_destroy(CdMemo *m);
/* make m the active memo (NULL: none); returns the previous one */
extern CdMemo *cd_memo_use(CdMemo *m);

/*
 * The kept result of function "kind" on extra[0..elen) (a second argument: the phone
 * region) and in[0..len): true and *val, *vlen (valid until the next cd_memo_add or
 * cd_memo_set_budget) when known.  False when not, or when no memo is active.
 */
extern bool cd_memo_find(CdMemoKind kind, const char *extra, size_t elen, const char *in,
						 size_t len, const char **val, size_t *vlen);
/* keep a result (no-op when no memo is active or the entry alone exceeds the budget) */
extern void cd_memo_add(CdMemoKind kind, const char *extra, size_t elen, const char *in,
						size_t len, const char *val, size_t vlen);

/* counters of the active memo's life, for tests: lookups and hits */
extern void cd_memo_stats(const CdMemo *m, size_t *lookups, size_t *hits, size_t *entries);

#endif							/* CD_VALUE_MEMO_H */
