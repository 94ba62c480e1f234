/*
 * crmdedup.h
 *		Shared declarations of the PostgreSQL glue around the pure C core.
 */
#ifndef CRMDEDUP_H
#define CRMDEDUP_H

#include "cd_buf.h"

/* palloc-backed allocator: memory belongs to CurrentMemoryContext at call time */
extern const CdAllocator cd_palloc_allocator;

/*
 * Largest input, in bytes, accepted by functions whose cost grows with the input.
 * Larger values raise program_limit_exceeded rather than using unbounded memory.
 */
#define CD_MAX_INPUT_BYTES (1024 * 1024)

extern void cd_check_input_length(size_t len, const char *funcname);
extern int	cd_clip_len(const char *s, size_t len, int limit);
extern void cd_check_library_versions(void);

/*
 * Set when cd_check_library_versions() found keys recorded by other library versions: the
 * indexes may then hold stale keys, and nothing may be inferred from a key an index did
 * not return.
 */
extern bool cd_library_versions_mismatch;
extern void cd_check_phone_region(const char *region, size_t len);
extern void _PG_init(void);

/* GUC crmdedup.default_region: region for crmdedup.phone input without a country code */
extern char *cd_default_region;
extern void cd_phone_type_init(void);

/* GUC crmdedup.guards: off pauses guard triggers (table owner or superuser only) */
extern bool cd_guards_enabled;
extern void cd_guard_init(void);

/* GUC crmdedup.name_threshold: least name similarity of the %~ operator (name_ops.c) */
extern void cd_name_ops_init(void);

/*
 * Record scoring for C callers (score_fn.c): a scorer of one profile, kept across
 * statements, that reads the profile again only when its row changed.  The rows are
 * jsonb Datums as to_jsonb() gives them.
 */
typedef struct CdScorer CdScorer;
extern CdScorer *cd_scorer_create(MemoryContext parent, const char *profile);
extern uint32 cd_scorer_refresh(CdScorer *s);
extern double cd_scorer_score(CdScorer *s, Datum a, Datum b, bool explain, Datum *explanation);
/* the same from each field's values (record_score.h), the new row's prepared once */
struct CdValues;
extern int	cd_scorer_fields(CdScorer *s, char ***names);
extern double cd_scorer_score_values(CdScorer *s, const struct CdValues *a, const struct CdValues *b,
									 double min_score, bool explain, Datum *explanation, bool *below);
/* a pair known to hold other keys in some fields (a guard's name probe): a tighter bound */
extern bool cd_scorer_other_key_weights(CdScorer *s, const bool *other_key, double *out);
extern double cd_scorer_score_values_bounded(CdScorer *s, const struct CdValues *a,
											 const struct CdValues *b, double min_score,
											 const double *max_weights, bool explain,
											 Datum *explanation, bool *below);
/* one row against many (a guard's new row and its candidates): its side prepared once */
typedef struct CdScorerSide CdScorerSide;
extern CdScorerSide *cd_scorer_side(CdScorer *s, const struct CdValues *a);
extern double cd_scorer_score_side_bounded(CdScorer *s, CdScorerSide *a, const struct CdValues *b,
										   double min_score, const double *max_weights,
										   bool explain, Datum *explanation, bool *below);
/* many pairs of one table in one statement (the reports): all terms read, a larger memo */
extern void cd_scorer_set_bulk(CdScorer *s, size_t memo_bytes);
extern void cd_scorer_row_values(CdScorer *s, Datum row, struct CdValues *out);

#endif							/* CRMDEDUP_H */
