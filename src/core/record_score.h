/*
 * record_score.h
 *		Fellegi-Sunter scoring of a pair of records against a compiled match profile: the
 *		pure-C twin of crmdedup.match_rows() (sql/install/41_match.sql as of 0.1.0), which
 *		stays the reference of these semantics.
 *
 * Per field of the profile, with the field's values of record a and of record b:
 *	- missing: either side has no value: level "missing", weight 0 (not evidence);
 *	- else the best similarity over all value pairs, a-major order (for x in a, for y in
 *	  b), the first pair with the highest similarity kept as (best_a, best_b), with the
 *	  role's comparator (cd_value_similarity below);
 *	- the level: levels are walked in order; the first level whose min <= best gives m
 *	  and u.  A level without a name is passed over (exactly as the SQL loop, whose "no
 *	  level yet" test is "level_name IS NULL"); when no named level is reached the level
 *	  is "different" with m = 1 - sum(m), u = 1 - sum(u) over all levels;
 *	- term frequencies: when the reached level has tf and analyzed_rows > 0, the term keys
 *	  of best_a and of best_b (cd_term_key) are looked up through the caller's callback;
 *	  a side's frequency is the product of the frequencies of its terms, computed as
 *	  exp(sum(log(freq))) like the SQL (an unknown term counts 1/analyzed_rows), and for
 *	  a person_name key of several words the larger of that and the frequency of the
 *	  whole key looked up as one term (0.2.0); for email and phone (0.2.0) a side's frequency is
 *	  its term's, and an unknown term gives none (as no term), and u is the larger of
 *	  the level's u and the clamped frequency below (a mailbox name, a number other rows hold, can weaken the
 *	  level, not strengthen it); else u is the
 *	  larger of the two sides, clamped to [1e-7, 0.5].  A person_name side without any
 *	  term is left out (SQL greatest() ignores NULL); when both are, u stays the level's;
 *	- the weight w = weight * log(m/u) / log(2).
 * Names typed in each other's columns (0.2.0): when the profile has exactly one
 * first_name and one last_name field, they are also compared crosswise (a's first
 * name with b's last name under the first_name field's levels, a's last name with b's
 * first name under the last_name field's), and the crosswise scores replace both
 * straight ones when the sum of their best similarities is higher (a missing side
 * counts 0); term frequencies are looked up in the statistics of the field scored.
 * Mailboxes named after the person (0.2.0): people choose mailbox names made of their
 * names (ivan.petrov, ipetrov, petrov.ivan85), so two namesakes often hold the same
 * name at two domains, and that says no more than the name itself.  When an email
 * field reached a level without the same mailbox (best similarity below 1, weight > 0),
 * some name field (person_name, first_name, last_name, middle_name) gave positive
 * evidence, and some pair of values of the email field with the best similarity (any
 * of the tied pairs: the order of a and b does not matter) has both mailbox names made
 * of the names, in two mailboxes a namesake could hold (at domains of the email keys
 * more than two edits apart, OSA: two providers, not one domain with a typo; or at one
 * domain with the same letters a-z in the local parts: ivan.petrov / ivan_petrov85),
 * the email field's weight is 0 and explained_by is the first such name
 * field.  A mailbox name is made of the names when the consonant skeleton of the
 * letters a-z of the local part of its email key (before the last @; "kh" read as "h",
 * "x" as "ks", "w" as "v", then a, e, i, o, u, y, h, j dropped, so that transliteration
 * variants meet) is a nonempty concatenation of the skeletons of the words of the
 * person keys (cd_person_key) of the name values of either record (all values of all
 * name fields; words of letters a-z only) and of those words' first letters, and its
 * letters a-z are not a concatenation of those first letters alone (jt40: too short to
 * say whose).
 * One place, several entities (0.2.0): different entities at one address (restaurants
 * of one hotel, offices of one building, people of one household) often share its phone
 * number and always its city, so among unrelated pairs these fields are not independent
 * of the address.  When the profile gives a field a place_u (estimate() does, from the
 * pairs at one address whose names have nothing in common) and the pair reached the top
 * level of some address field and of that field, the field's u is the larger of its u
 * and place_u, and same_place_as names the address field.
 * total = log(prior / (1 - prior)) / log(2) + sum(w);  score = 1 / (1 + 2^(-total)) with
 * the exponent clamped to [-1000, 1000];  decision "same" when score >= same, "maybe"
 * when score >= maybe, else "distinct".
 *
 * Deliberate differences from the SQL (documented in 42_score.sql too): a side's term
 * frequency product that underflows (exp of less than about -708) is clamped to 1e-7
 * where the SQL raised "value out of range: underflow"; a level without a name is not
 * term-frequency-adjusted (its u is overwritten in the SQL anyway).
 *
 * Memory: scratch buffers from the allocator, all released before returning, also on
 * error.  The callback may raise (longjmp) when the allocator is one whose memory dies
 * with a context (palloc): nothing foreign (ICU, utf8proc) is held across it.
 * Not thread-safe (the transliteration caches of translit.h).
 */
#ifndef CD_RECORD_SCORE_H
#define CD_RECORD_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cd_buf.h"

typedef enum CdRole
{
	CD_ROLE_PERSON_NAME = 0,
	CD_ROLE_FIRST_NAME,
	CD_ROLE_LAST_NAME,
	CD_ROLE_MIDDLE_NAME,
	CD_ROLE_COMPANY,
	CD_ROLE_PHONE,
	CD_ROLE_EMAIL,
	CD_ROLE_ADDRESS,
	CD_ROLE_CITY,
	CD_ROLE_POSTCODE,
	CD_ROLE_BIRTH_DATE,
	CD_ROLE_EXTERNAL_ID,
	CD_ROLE_CODE,
	CD_ROLE_TEXT
} CdRole;

#define CD_ROLE_COUNT 14

/* role from its SQL name ("person_name", ...); false for an unknown name */
extern bool cd_role_parse(const char *name, size_t len, CdRole *role);
/* SQL name of a role; NULL for a value out of range */
extern const char *cd_role_name(CdRole role);

typedef struct CdScoreLevel
{
	const char *name;			/* NUL-terminated; NULL: a level without a name */
	double		min;			/* similarity at least min reaches the level */
	double		m;				/* P(level | duplicates) */
	double		u;				/* P(level | unrelated) */
	bool		tf;				/* u from term frequencies when known */
} CdScoreLevel;

typedef struct CdScoreField
{
	CdRole		role;
	double		weight;
	const char *region;			/* NUL-terminated phone region ("RU", "ZZ"); phone role only */
	const CdScoreLevel *levels;
	int			nlevels;
} CdScoreField;

typedef struct CdScoreProfile
{
	const CdScoreField *fields;
	int			nfields;
	double		prior;			/* in (0,1) */
	double		same;			/* score threshold of "same" */
	double		maybe;			/* score threshold of "maybe" */
	int64_t		analyzed_rows;	/* rows seen by analyze(); <= 0: no term frequencies */
	double		unknown_freq;	/* frequency of a term not in the statistics; <= 0 (or NaN):
								 * 1.0 / analyzed_rows */
	const double *place_u;		/* 0.2.0, NULL or one per field: the u of the field's top level
								 * when an address field of the pair reached its top level
								 * ("same place", see cd_record_score); <= 0: none */
	const double *max_weights;	/* NULL or one per field: an upper bound of each field's
								 * weight for cd_record_score_min's bound, at least what
								 * cd_score_field_max_weight_below() gives for what the
								 * caller knows of the pair (cd_score_profile_max_weights()
								 * when it knows nothing) */
} CdScoreProfile;

/* one value: UTF-8 bytes, not NUL-terminated */
typedef struct CdStr
{
	const char *ptr;
	size_t		len;
} CdStr;

/* the values of one field of one record; n == 0: none (the field is missing) */
typedef struct CdValues
{
	const CdStr *v;
	int			n;
} CdValues;

/*
 * Frequency (share of analyzed rows) of term[0..len) in field number "field" of the
 * profile, or any value < 0 when the statistics do not know the term.  The term is not
 * NUL-terminated.  A frequency of 0 gives log(0): the side's product becomes 0 and u
 * is clamped to 1e-7 (the SQL raised an error there; the glue raises it too).
 */
typedef double (*CdTermFreqFn) (void *ctx, int field, const char *term, size_t len);

typedef enum CdScoreStatus
{
	CD_SCORE_OK = 0,
	CD_SCORE_INVALID_UTF8,		/* a value is not valid UTF-8 */
	CD_SCORE_TOO_LONG,			/* a value is too long for its comparator */
	CD_SCORE_NOMEM,				/* the allocator returned NULL */
	CD_SCORE_ICU_ERROR,			/* ICU transliteration failed */
	CD_SCORE_BAD_PROFILE		/* cd_score_profile_check() failed */
} CdScoreStatus;

typedef enum CdDecision
{
	CD_DECISION_DISTINCT = 0,
	CD_DECISION_MAYBE,
	CD_DECISION_SAME
} CdDecision;

/* SQL text of a decision: "distinct", "maybe", "same" */
extern const char *cd_decision_name(CdDecision d);

#define CD_LEVEL_DIFFERENT (-1)
#define CD_LEVEL_MISSING (-2)

typedef struct CdFieldScore
{
	int			level;			/* index in the field's levels, CD_LEVEL_DIFFERENT or
								 * CD_LEVEL_MISSING */
	const char *level_name;		/* the level's name, "different" or "missing" */
	double		similarity;		/* best similarity; 0 when missing */
	int			best_a;			/* index of the best value of a; -1 when missing */
	int			best_b;			/* index of the best value of b; -1 when missing */
	int			b_field;		/* the field of b whose values were compared (best_b
								 * indexes them): the field itself, or the other name
								 * field when first and last names were typed in each
								 * other's columns (see cd_record_score) */
	double		m;				/* 0 when missing */
	double		u;				/* after the term-frequency adjustment; 0 when missing */
	bool		tf_used;		/* u came from term frequencies */
	double		weight;			/* weight * log2(m/u); 0 when missing, and 0 when
								 * explained_by is set */
	int			same_place_as;	/* the address field whose agreement made this field's u
								 * its place_u (see cd_record_score), else -1 */
	int			explained_by;	/* email fields: the name field whose agreement already
								 * counted the mailbox names compared (see
								 * cd_record_score), else -1 */
} CdFieldScore;

typedef struct CdRecordScore
{
	CdFieldScore *fields;		/* set by the caller: room for nfields entries */
	double		prior_weight;	/* log2(prior / (1 - prior)) */
	double		total_weight;	/* prior_weight + sum of field weights */
	double		score;			/* in [0,1] */
	CdDecision	decision;
	int			err_field;		/* on error: the field being compared, else -1 */
	const char *err_func;		/* on error: the SQL name of the function that failed
								 * ("name_similarity", "translit", ...), else NULL */
} CdRecordScore;

/*
 * Check what scoring needs of a profile: 0 < prior < 1, finite thresholds and weights,
 * known roles, levels with finite min and m, u > 0, sum(m) < 1 and sum(u) < 1, a
 * region for phone fields.  Returns CD_SCORE_OK or CD_SCORE_BAD_PROFILE with *bad_field
 * the offending field (-1: the profile itself) and *reason a short phrase.
 */
extern CdScoreStatus cd_score_profile_check(const CdScoreProfile *p, int *bad_field,
											const char **reason);

/*
 * Score records a and b: a[i] and b[i] are the values of field i (p->nfields entries
 * each).  term_freq may be NULL (no statistics: every term unknown).  The profile must
 * pass cd_score_profile_check() (else CD_SCORE_BAD_PROFILE).  On a status other than
 * CD_SCORE_OK, out->err_field and out->err_func tell where, and the rest of *out is
 * not meaningful.
 */
extern CdScoreStatus cd_record_score(const CdScoreProfile *p, const CdValues *a,
									 const CdValues *b, CdTermFreqFn term_freq, void *tf_ctx,
									 const CdAllocator *al, CdRecordScore *out);

/*
 * The largest weight each field of p can get when both sides have values (out: one per
 * field), the bound of cd_record_score_min; a caller may keep them in p->max_weights.
 */
extern void cd_score_profile_max_weights(const CdScoreProfile *p, double *out);

/*
 * The largest weight field number "field" of p can get when both sides have values and
 * their best similarity is at most sim_max (a level whose min is above it is not
 * reached); INFINITY: cd_score_profile_max_weights's.  A caller that knows more about a
 * pair than the profile does (a guard that did not find the candidate by the new row's
 * email key: see CD_EMAIL_SIM_OTHER_KEY) may pass such bounds in p->max_weights to
 * cd_record_score_min: the pairs it gives up are then those that cannot reach min_score
 * given that knowledge.
 */
extern double cd_score_field_max_weight_below(const CdScoreProfile *p, int field, double sim_max);

/*
 * cd_record_score for a caller that only needs the pairs reaching min_score (a guard):
 * the same scores, decisions and errors, but the fields compared in another order (the
 * other roles first, then phones, emails, and last person names, first, last and middle
 * names and companies, the costly comparisons), and before each phone, email, name or
 * company field the pair is given up (*below true, *out not meaningful) when its score
 * cannot reach min_score however the fields left compare: the prior, the weights of the
 * fields compared so far and each remaining field's largest attainable weight (over its
 * levels, and the ends of the range term frequencies give u) sum below it.  Only given
 * up when the values not compared cannot make the comparison fail (phones, emails, names
 * and companies fail only on a value longer than CD_MATCH_MAX_BYTES or invalid UTF-8:
 * checked first), so an error is raised exactly when cd_record_score raises it (the
 * first failing field in the profile's order).  min_score <= 0 gives nothing up.  Each
 * field's largest weight is p->max_weights[field] when given (the caller's bound, see
 * cd_score_field_max_weight_below), else computed from the profile.
 */
extern CdScoreStatus cd_record_score_min(const CdScoreProfile *p, const CdValues *a,
										 const CdValues *b, CdTermFreqFn term_freq, void *tf_ctx,
										 const CdAllocator *al, double min_score, bool *below,
										 CdRecordScore *out);

/*
 * Record a prepared once to be scored against many records b (a guard's new row against
 * the candidates its keys find): cd_record_score_min_side(p, side, b, ...) gives what
 * cd_record_score_min(p, a, b, ...) gives, bit for bit, errors included, without
 * checking a's values again (for the fields the bound may skip) nor preparing a's phone
 * values again (argument check, digits, parse) for every pair.  The side keeps pointers
 * to a's values, which must outlive it, and is prepared for p's fields: a profile with
 * other fields (another p->fields array) scores a's values as cd_record_score_min; the
 * profile must outlive the side too (it is recognized by the address of its fields, and the
 * prepared phones point at their regions).  One difference in errors: for a phone field
 * where b holds more than 16 values the prepared path allocates, so an allocator that
 * fails can make it return CD_SCORE_NOMEM where the unprepared path succeeds (palloc
 * raises an error instead).  cd_score_side_create returns NULL when the allocator does.
 */
typedef struct CdScoreSide CdScoreSide;

extern CdScoreSide *cd_score_side_create(const CdScoreProfile *p, const CdValues *a,
										 const CdAllocator *al);
extern void cd_score_side_free(CdScoreSide *side);
extern CdScoreStatus cd_record_score_min_side(const CdScoreProfile *p, CdScoreSide *a,
											  const CdValues *b, CdTermFreqFn term_freq,
											  void *tf_ctx, const CdAllocator *al,
											  double min_score, bool *below, CdRecordScore *out);

/*
 * Company names (0.2.0): a pair that reaches a level with term frequencies below the top
 * one counts at the top level (its m, the term-frequency u) when both names are as rare as
 * an unknown one (each side's frequency at most the unknown-term frequency) or when their
 * similarity is at least CD_COMPANY_TYPO_SIM (the same words but for one typo).
 */
#define CD_COMPANY_TYPO_SIM 0.95

/* ---- the building blocks, each equal to its SQL counterpart in 41_match.sql ---- */

/*
 * crmdedup.value_similarity(role, a, b, region) (coalesced to 0): person names
 * cd_name_similarity; first, last and middle names cd_name_part_similarity; company cd_company_similarity; phone
 * cd_phone_similarity(region); email cd_email_similarity; address and text
 * cd_token_similarity of the cd_translit of each, for address capped by
 * cd_address_number_cap (= cd_address_similarity); city cd_jaro_winkler of the
 * cd_translit of each; postcode and code cd_levenshtein_similarity of the cd_name_key
 * of each; external_id 1 when the cd_name_keys are equal (and not empty), else 0;
 * birth_date by cd_date_digits: 0 when a side does not parse, 1 when equal, 0.85 when
 * day and month are swapped, else cd_levenshtein_similarity of the digits, raised to
 * CD_DATE_CLOSE_SIM (0.2.0) when both are real dates (8 digits YYYYMMDD, year 1-9999,
 * Gregorian) at most CD_DATE_CLOSE_DAYS days apart.  An empty
 * key (NULL in SQL) gives 0.  *err_func names the function that failed, if any.
 */
#define CD_DATE_CLOSE_DAYS 31
#define CD_DATE_CLOSE_SIM 0.78

extern CdScoreStatus cd_value_similarity(CdRole role, const char *a, size_t alen,
										 const char *b, size_t blen, const char *region,
										 const CdAllocator *al, double *out,
										 const char **err_func);

/*
 * crmdedup.date_digits(v): YYYYMMDD from "YYYY-M-D..." (a prefix; the rest ignored),
 * "D.M.YYYY" or "D/M/YYYY" (either separator at either place, whole string), or 8
 * digits (whole string; the result is v without leading and trailing spaces, other
 * whitespace kept, as btrim does).  Leading (and, for the last two forms, trailing)
 * ASCII whitespace is allowed, digits are ASCII: the regular expressions' \s and \d in
 * the C locale.  Returns false when v has none of these forms.  The result is written
 * to buf (8 bytes) or points into v (the third form).
 */
extern bool cd_date_digits(const char *v, size_t len, char buf[8], const char **out,
						   size_t *outlen);

/*
 * crmdedup.term_keys(role, v), as one key appended to out: for person_name the
 * cd_person_key, whose space-separated words are the terms; for first_name, last_name
 * and city the cd_translit; for company the cd_translit of the cd_company_key, whose
 * space-separated words are the terms (0.2.0; one term, the whole key, before); for email
 * (0.2.0) the local part of the cd_email_key (before its last @), or the cd_name_key
 * when the value is not an address; else the cd_name_key.  Nothing appended: the key is NULL (no person_name or
 * company term at all; for the other roles one unknown term).
 */
extern CdScoreStatus cd_term_key(CdRole role, const char *v, size_t len, CdBuf *out,
								 const char **err_func);

/* longest value, in bytes, that the text keys accept (crmdedup's CD_MAX_INPUT_BYTES) */
#define CD_SCORE_MAX_KEY_INPUT (1024 * 1024)

#endif							/* CD_RECORD_SCORE_H */
