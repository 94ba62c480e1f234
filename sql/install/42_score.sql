-- Record scoring in C: the same scores, levels and explanations as the PL/pgSQL
-- crmdedup.match_rows() of 0.1.0 (kept as the reference in sql/score.sql), at about
-- 10-15 us per pair (src/score_fn.c, src/core/record_score.c); since 0.2.0 first and
-- last names typed in each other's columns are also compared crosswise (the reference
-- wraps the 0.1.0 code with that rule), a person name's term frequency is the larger of
-- its words' product and the whole name's, the email level "typo or other domain" takes
-- the mailbox name's frequency as a floor on u (the phone level "same number" the share
-- of rows holding the number besides the two compared), and an email field adds nothing once a
-- name field agreed when its mailboxes are named after the person at two providers
-- (explanation key "explained_by"; src/core/record_score.h has the exact rules).
-- Values compare with value_similarity().
--
-- Values are read from a and b by field name with the rules of crmdedup.field_values().
-- A field whose values live in a child table ("from" in the profile) is read from a and
-- b under the field's name too: the caller puts the child rows' values there as a JSON
-- array, as match_rows() does.  Blank values count as no value, child-table ones too.
-- The profile is read once per query (per call site); term statistics one term at a time
-- until 1024 distinct terms were asked for, then all of the profile's at once.  Where the
-- PL/pgSQL raised "value out of range: underflow" for a name of very many rare words,
-- the term-frequency u is clamped to 1e-7 instead.  A compiled spec the scorer cannot use
-- (unknown role, a phone field without a known region, m or u not positive, sums not
-- below 1, prior outside (0,1)) is an error up front, not when a pair reaches it.
-- explain => false skips building the explanation (NULL); a NULL explain counts as
-- false.  NULL rows are an error.  COST 500: about 500 times a simple operator.
CREATE FUNCTION @extschema@.score_rows(profile text, a jsonb, b jsonb, explain boolean DEFAULT true,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
RETURNS record
AS 'MODULE_PATHNAME', 'score_rows'
LANGUAGE C STABLE PARALLEL SAFE COST 500;

COMMENT ON FUNCTION @extschema@.score_rows(text, jsonb, jsonb, boolean) IS
'score two rows given as jsonb against a profile, in C: score in [0,1], decision, total weight, per-field explanation (values of child-table fields under the field name)';
