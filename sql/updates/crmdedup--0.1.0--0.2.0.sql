-- crmdedup upgrade 0.1.0 -> 0.2.0.
-- Every change made to sql/install/*.sql after 0.1.0 is repeated here, so that
-- ALTER EXTENSION crmdedup UPDATE gives the same objects as a fresh install of 0.2.0
-- (test/e2e/upgrade.sh compares the two).
\echo Use "ALTER EXTENSION crmdedup UPDATE TO '0.2.0'" to load this file. \quit

-- crmdedup.name_ops: name index keys name-grams-2 (no letter keys, no word-fold keys, the keys
-- of sounds, gender stems, swaps and joined runs in shared hash buckets: a smaller index).
-- The opclass is unchanged, but indexes built by 0.1.0 hold name-grams-1 keys and answer %~
-- wrongly: crmdedup.versions() shows "name index keys" changed and a warning asks for
-- REINDEX of every index USING gin (... crmdedup.name_ops), then crmdedup.refresh_versions().

-- a <~> b = 1 - name_similarity(a, b), for ORDER BY over the rows %~ found through the index:
--   WHERE name %~ 'q' ORDER BY name <~> 'q' LIMIT 10.  No GiST opclass orders by it (README).
CREATE FUNCTION @extschema@.name_distance(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'name_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION @extschema@.name_distance(text, text) IS
'1 - name_similarity(a, b): the distance of the <~> operator';

CREATE OPERATOR @extschema@.<~> (
    LEFTARG = text,
    RIGHTARG = text,
    FUNCTION = @extschema@.name_distance,
    COMMUTATOR = OPERATOR(@extschema@.<~>)
);

COMMENT ON OPERATOR @extschema@.<~> (text, text) IS
'name distance, 1 - name_similarity: ORDER BY name <~> ''query'' after a %~ filter';
-- Matching quality (issue 3): a third company level and a second city level, address numbers must agree,
-- EM estimation of m, u and the prior.
-- Default comparison levels per role: similarity at least "min" reaches the level; m is the
-- share of true duplicates at that level, u the share of unrelated pairs (Fellegi-Sunter).
-- Pairs below the last level fall into "different", with the remaining m and u.  "tf": the
-- top levels use term frequencies gathered by analyze() as u when known.
CREATE OR REPLACE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005}]'
    WHEN 'person_name' THEN '[{"level":"same name","min":0.98,"m":0.70,"u":0.002,"tf":true},
                              {"level":"similar name","min":0.9,"m":0.20,"u":0.005,"tf":true},
                              {"level":"somewhat similar","min":0.75,"m":0.06,"u":0.03}]'
    WHEN 'first_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.02,"tf":true},
                             {"level":"similar","min":0.9,"m":0.10,"u":0.02},
                             {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.05}]'
    WHEN 'last_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.005,"tf":true},
                            {"level":"similar","min":0.9,"m":0.10,"u":0.005},
                            {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.03}]'
    WHEN 'middle_name' THEN '[{"level":"same","min":0.98,"m":0.70,"u":0.05},
                              {"level":"similar","min":0.85,"m":0.10,"u":0.05}]'
    WHEN 'company' THEN '[{"level":"same company","min":0.98,"m":0.70,"u":0.01,"tf":true},
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.03}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true},
                       {"level":"similar","min":0.85,"m":0.05,"u":0.02}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01}]'
    WHEN 'external_id' THEN '[{"level":"same id","min":0.999,"m":0.90,"u":0.00001}]'
    WHEN 'code' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                       {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'text' THEN '[{"level":"same","min":0.95,"m":0.60,"u":0.01},
                       {"level":"similar","min":0.8,"m":0.25,"u":0.03}]'
END::jsonb;

CREATE FUNCTION @extschema@.name_part_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'name_part_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.name_part_similarity(text, text) IS
'similarity of one part of a person''s name (a first, last or middle name): name_similarity, and a letter dropped or doubled in a short name is a typo (Sarah/Sara)';

CREATE FUNCTION @extschema@.address_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'address_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.address_similarity(text, text) IS
'similarity of two street addresses in [0,1]: words in any order with typos, across scripts; at most 0.6 when their house and street numbers disagree';

-- similarity of two values of a role, in [0,1]
CREATE OR REPLACE FUNCTION @extschema@.value_similarity(role text, a text, b text, region text)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'person_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'first_name' THEN @extschema@.name_part_similarity(a, b)
    WHEN 'last_name' THEN @extschema@.name_part_similarity(a, b)
    WHEN 'middle_name' THEN @extschema@.name_part_similarity(a, b)
    WHEN 'company' THEN @extschema@.company_similarity(a, b)
    WHEN 'phone' THEN @extschema@.phone_similarity(a, b, region)
    WHEN 'email' THEN @extschema@.email_similarity(a, b)
    WHEN 'address' THEN @extschema@.address_similarity(a, b)
    WHEN 'text' THEN coalesce(@extschema@.token_similarity(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'city' THEN coalesce(@extschema@.jaro_winkler(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'postcode' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'code' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'external_id' THEN CASE WHEN @extschema@.name_key(a) = @extschema@.name_key(b) THEN 1 ELSE 0 END
    WHEN 'birth_date' THEN (
        SELECT CASE WHEN da IS NULL OR db IS NULL THEN 0
                    WHEN da = db THEN 1
                    -- day and month swapped (US vs European order)
                    WHEN left(da, 4) = left(db, 4) AND substr(da, 5, 2) = substr(db, 7, 2)
                         AND substr(da, 7, 2) = substr(db, 5, 2) THEN 0.85
                    ELSE @extschema@.levenshtein_similarity(da, db) END
          FROM (SELECT @extschema@.date_digits(a) AS da, @extschema@.date_digits(b) AS db) d)
END;

-- Estimating a profile's m and u probabilities and its prior from the profiled table itself
-- (expectation-maximisation, as Fellegi and Sunter proposed and Splink does), so that the
-- weights fit the data at hand without anyone reading answers or tuning numbers by hand.
--
-- 1. u (how often unrelated records reach each level) from pairs of records drawn at random:
--    almost every random pair is unrelated, so the share of random pairs at a level is its u.
-- 2. m (how often duplicates reach each level) and the share of duplicates among the
--    candidate pairs (the pairs the blocking keys of the reports find) by EM over the
--    candidates' comparison vectors, starting from the role's defaults; the defaults also act
--    as a weak prior (one pseudo-pair), so a level no candidate reaches keeps a small m.
-- 3. The prior (probability that two records drawn at random are duplicates): the expected
--    number of duplicate pairs among the candidates over all pairs of the table.
-- A field whose spec gives its own "levels", and a spec's own "prior", are left as given.
-- The result replaces the profile's compiled m, u and prior (alter_profile() compiles the
-- defaults again; estimate() can be run again at any time) and is summarized under
-- "estimated" in the compiled profile.
CREATE FUNCTION @extschema@.estimate(profile text, block_cap integer DEFAULT 100,
                                     sample_pairs integer DEFAULT 20000, max_iterations integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
SET client_min_messages = warning
AS $$
DECLARE
    p record;
    c jsonb;
    nrows bigint;
    all_pairs float8;
    ncand bigint;
    nrand bigint;
    lam float8;
    lam_new float8;
    lam_r float8;
    k int;
    delta float8;
    it int := 0;
    prior float8;
    fields jsonb := '[]';
    f jsonb;
    fidx int;
    summary jsonb;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = estimate.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = p.table_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one estimate of a profile at a time
    PERFORM 1 FROM @extschema@.profiles pr WHERE pr.name = p.name FOR UPDATE;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sample_pairs IS NULL OR sample_pairs < 100 THEN
        RAISE EXCEPTION 'sample_pairs must be at least 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_iterations IS NULL OR max_iterations < 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- start from the spec's defaults every time: estimates never feed on earlier estimates
    c := @extschema@.compile_profile_spec(p.table_oid, p.spec);
    UPDATE @extschema@.profiles pr SET compiled = c WHERE pr.name = p.name;

    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    EXECUTE 'CREATE TEMP TABLE cd_est_rows AS SELECT row_number() OVER (ORDER BY s.id) AS rn, s.r FROM ('
            || @extschema@.report_rows_sql(profile) || ') s';
    ALTER TABLE pg_temp.cd_est_rows ADD PRIMARY KEY (rn);
    nrows := (SELECT count(*) FROM pg_temp.cd_est_rows);
    all_pairs := nrows::float8 * (nrows - 1) / 2;
    IF nrows < 3 THEN
        RAISE EXCEPTION 'profile "%": too few rows to estimate from (%)', profile, nrows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- candidate pairs: the blocking keys of the reports, frequent keys skipped
    CREATE TEMP TABLE cd_est_keys AS
        SELECT r.rn, k.k AS key FROM pg_temp.cd_est_rows r, @extschema@.blocking_keys(c, r.r) AS k(k);
    CREATE TEMP TABLE cd_est_pairs AS
        SELECT DISTINCT x AS a, y AS b, true AS cand
          FROM (SELECT array_agg(rn) AS ids FROM pg_temp.cd_est_keys GROUP BY key
                 HAVING count(*) BETWEEN 2 AND block_cap) g,
               unnest(g.ids) x, unnest(g.ids) y
         WHERE x < y;
    ncand := (SELECT count(*) FROM pg_temp.cd_est_pairs);
    -- random pairs (every pair of a small table); drawn by a hash, so the same table gives the
    -- same estimate
    IF all_pairs <= sample_pairs THEN
        INSERT INTO pg_temp.cd_est_pairs
        SELECT x, y, false FROM generate_series(1, nrows) x, generate_series(1, nrows) y WHERE x < y;
    ELSE
        INSERT INTO pg_temp.cd_est_pairs
        SELECT least(x, y), greatest(x, y), false
          FROM (SELECT 1 + abs(hashint8(2 * i::bigint)::bigint) % nrows AS x,
                       1 + abs(hashint8(2 * i::bigint + 1)::bigint) % nrows AS y
                  FROM generate_series(1, sample_pairs) i) s
         WHERE x <> y;
    END IF;
    nrand := (SELECT count(*) FROM pg_temp.cd_est_pairs WHERE NOT cand);
    IF ncand = 0 THEN
        RAISE EXCEPTION 'profile "%": the blocking keys find no candidate pairs to estimate from', profile
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- comparison vectors: per field the index of the level reached (the levels in order, then
    -- "different"), -1 when a value is missing; identical vectors counted once
    CREATE TEMP TABLE cd_est_lv AS
        SELECT cf.value->>'field' AS field, l.level, cf.ord::int AS fi, l.li
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
         CROSS JOIN LATERAL (SELECT lv->>'level' AS level, (o - 1)::int AS li
                               FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                             UNION ALL SELECT 'different', jsonb_array_length(cf.value->'levels')
                             UNION ALL SELECT 'missing', -1) l;
    CREATE TEMP TABLE cd_est_ex AS
        SELECT row_number() OVER () AS id, e.cand, s.explanation->'fields' AS ex
          FROM pg_temp.cd_est_pairs e
          JOIN pg_temp.cd_est_rows ra ON ra.rn = e.a
          JOIN pg_temp.cd_est_rows rb ON rb.rn = e.b,
               LATERAL @extschema@.score_rows(profile, ra.r, rb.r, true) s;
    CREATE TEMP TABLE cd_est_pat AS
        SELECT row_number() OVER () AS pid, cand, cv, count(*) AS n
          FROM (SELECT x.id, x.cand, array_agg(lv.li ORDER BY lv.fi) AS cv
                  FROM pg_temp.cd_est_ex x, jsonb_array_elements(x.ex) fe, pg_temp.cd_est_lv lv
                 WHERE lv.field = fe->>'field' AND lv.level = fe->>'level'
                 GROUP BY x.id, x.cand) s
         GROUP BY cand, cv;
    CREATE TEMP TABLE cd_est_pv AS
        SELECT t.pid, t.cand, x.fi::int AS fi, x.li, t.n
          FROM pg_temp.cd_est_pat t, unnest(t.cv) WITH ORDINALITY AS x(li, fi)
         WHERE x.li >= 0;

    -- parameters per field and level: m0, u0 the defaults; u_rand from the random pairs
    CREATE TEMP TABLE cd_est_par AS
        SELECT cf.ord::int AS fi, l.li, l.m0, l.u0, l.m0 AS m, coalesce(r.u_rand, 0) AS u_rand,
               coalesce(jsonb_typeof(p.spec->'fields'->(cf.value->>'field')) = 'object'
                        AND (p.spec->'fields'->(cf.value->>'field')) ? 'levels', false) AS fixed
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
          CROSS JOIN LATERAL (SELECT (o - 1)::int AS li, (lv->>'m')::float8 AS m0, (lv->>'u')::float8 AS u0
                          FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                        UNION ALL
                        SELECT jsonb_array_length(cf.value->'levels'),
                               1 - (SELECT sum((lv->>'m')::float8) FROM jsonb_array_elements(cf.value->'levels') lv),
                               1 - (SELECT sum((lv->>'u')::float8) FROM jsonb_array_elements(cf.value->'levels') lv)) l
          LEFT JOIN (SELECT v.fi, v.li, sum(v.n)::float8 / sum(sum(v.n)) OVER (PARTITION BY v.fi) AS u_rand
                       FROM pg_temp.cd_est_pv v WHERE NOT v.cand GROUP BY v.fi, v.li) r
            ON r.fi = cf.ord AND r.li = l.li;
    -- u during EM: the random pairs' share (floored: a level no random pair reached keeps the
    -- smaller of its default and one in the sample)
    ALTER TABLE pg_temp.cd_est_par ADD COLUMN u float8;
    UPDATE pg_temp.cd_est_par
       SET u = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    ALTER TABLE pg_temp.cd_est_par ADD PRIMARY KEY (fi, li);
    ANALYZE pg_temp.cd_est_par;
    ANALYZE pg_temp.cd_est_pv;

    -- EM over the candidates: E step, the probability each vector is a duplicate pair; M step,
    -- m and u as the posterior-weighted shares (plus one pseudo-pair at the starting values)
    lam := 0.1;
    CREATE TEMP TABLE cd_est_post (pid bigint PRIMARY KEY, n bigint, w float8);
    LOOP
        it := it + 1;
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n,
               1 / (1 + (1 - lam) / lam * exp(least(700, greatest(-700,
                   coalesce(sum(ln(pr.u) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
         WHERE t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(n * w) / sum(n) FROM pg_temp.cd_est_post);
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * q.w) AS sm, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.sm, 0) AS sm, coalesce(s.su, 0) AS su,
                   sum(coalesce(s.sm, 0)) OVER (PARTITION BY pr.fi) AS tm,
                   sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET m = greatest(1e-6, (tot.sm + pr.m0) / (tot.tm + 1)),
               u = greatest(1e-9, (tot.su + pr.u) / (tot.tu + 1))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND NOT pr.fixed;
        delta := abs(lam_new - lam);
        lam := least(0.999, greatest(1e-9, lam_new));
        EXIT WHEN it >= max_iterations OR delta < 1e-7;
    END LOOP;

    -- EM can settle on another split of the candidates than duplicates / the rest (in a table
    -- where the blocking keys gather many records of one common first name, on "same first
    -- name").  Such a split shows as a field whose top level then counts against being
    -- duplicates (m below u): the estimate is not used, the defaults stay.
    IF EXISTS (SELECT 1 FROM pg_temp.cd_est_par pr WHERE pr.li = 0 AND NOT pr.fixed
                  AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1)))) THEN
        summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                      'iterations', it, 'rejected', true);
        RAISE WARNING 'crmdedup: the estimate for profile "%" was not used: it makes agreeing on field "%" count against duplicates',
            profile, (SELECT string_agg(e.fv->>'field', ', ') FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                        JOIN pg_temp.cd_est_par pr ON pr.fi = e.o AND pr.li = 0 AND NOT pr.fixed
                         AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1))))
            USING HINT = 'The profile keeps its default m, u and prior.  Try again with a lower block_cap, or give the levels in the spec.';
        DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
            pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
        RETURN summary;
    END IF;

    -- The prior: the duplicates EM counts among the candidates, over all pairs; but the blocking
    -- keys skip big blocks, where the duplicates of a frequent name sit, so the share of
    -- duplicates among the random pairs is estimated too (the same E step over the random
    -- sample, with m from EM and u from the random pairs, for the share alone), and the larger
    -- of the two is taken.
    UPDATE pg_temp.cd_est_par SET u_rand = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    lam_r := least(0.5, greatest(1e-9, lam * ncand / all_pairs));
    FOR k IN 1 .. max_iterations LOOP
        lam_new := (SELECT sum(q.n * q.w) / sum(q.n) FROM (
                        SELECT t.n, 1 / (1 + (1 - lam_r) / lam_r * exp(least(700, greatest(-700,
                                   coalesce(sum(ln(pr.u_rand) - ln(pr.m)), 0))))) AS w
                          FROM pg_temp.cd_est_pat t
                          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
                          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
                         WHERE NOT t.cand
                         GROUP BY t.pid, t.n) q);
        lam_new := least(0.5, greatest(1e-9, lam_new));
        delta := abs(lam_new - lam_r);
        lam_r := lam_new;
        EXIT WHEN delta < 1e-9;
    END LOOP;

    -- the compiled profile with the estimates: m from EM, u from the random pairs
    prior := CASE WHEN p.spec ? 'prior' THEN (c->>'prior')::float8
                  ELSE least(0.5, greatest(1e-9, lam * ncand / all_pairs, lam_r)) END;
    FOR f, fidx IN SELECT e.value, e.ord FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(value, ord) LOOP
        IF NOT (SELECT bool_or(fixed) FROM pg_temp.cd_est_par WHERE cd_est_par.fi = fidx) THEN
            -- named levels keep below 1 in m and u together (the rest is "different")
            f := jsonb_set(f, '{levels}', (
                SELECT jsonb_agg(lv || jsonb_build_object(
                           'm', round((pr.m / greatest(1, s.sm / 0.999))::numeric, 8)::float8,
                           'u', round((pr.u_rand / greatest(1, s.su / 0.999))::numeric, 10)::float8)
                           ORDER BY o)
                  FROM jsonb_array_elements(f->'levels') WITH ORDINALITY AS l(lv, o)
                  JOIN pg_temp.cd_est_par pr ON pr.fi = fidx AND pr.li = o - 1,
                       LATERAL (SELECT sum(x.m) AS sm, sum(x.u_rand) AS su
                                  FROM pg_temp.cd_est_par x
                                 WHERE x.fi = fidx AND x.li < jsonb_array_length(f->'levels')) s));
        END IF;
        fields := fields || jsonb_build_array(f);
    END LOOP;
    summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                  'iterations', it, 'duplicate_share_of_candidates', round(lam::numeric, 6),
                                  'duplicate_share_of_random_pairs', round(lam_r::numeric, 6),
                                  'prior', prior, 'estimated_at', now());
    c := c || jsonb_build_object('fields', fields, 'prior', prior, 'estimated', summary);
    UPDATE @extschema@.profiles pr SET compiled = c, updated_at = now() WHERE pr.name = p.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- the scorer's checks of the new numbers (an error here undoes the update)
    PERFORM @extschema@.score_rows(profile, '{}', '{}', false);
    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    RETURN summary;
END;
$$;

COMMENT ON FUNCTION @extschema@.estimate(text, integer, integer, integer) IS
'estimate a profile''s m and u probabilities and its prior from its table (u from random pairs, m and the duplicate share by EM over the blocking candidates)';


-- BEGIN reports (issue 6): from sql/install/81_reports.sql
-- Connected components of a graph given as edges between numbered nodes, in C (union-find).
CREATE OR REPLACE FUNCTION @extschema@.pair_components(n integer, a integer[], b integer[])
RETURNS integer[]
AS 'MODULE_PATHNAME', 'pair_components'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.pair_components(integer, integer[], integer[]) IS
'connected components of nodes 1..n joined by the edges a[k] - b[k]: element i is the smallest node of i''s component';

-- The rows of a profile's table as (id text, r jsonb), child-table fields filled in.  Each
-- child table is aggregated once and joined (a hash join) rather than looked up per row by a
-- correlated subquery: PostgreSQL 15 does not run correlated subqueries in parallel workers,
-- and a million index lookups per child table cost more than one pass over it.
CREATE OR REPLACE FUNCTION @extschema@.report_rows_sql(profile text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
    joins text := '';
    i integer := 0;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') WHERE value ? 'from' LOOP
        i := i + 1;
        extra := extra || format(' || jsonb_build_object(%L, j%s.v)', f->>'field', i);
        joins := joins || format(' LEFT JOIN (SELECT c.%I AS k, jsonb_agg(c.%I) AS v FROM %s c GROUP BY c.%I) j%s ON j%s.k = t.%I',
                                 f->'from'->>'key', f->'from'->>'column', f->'from'->>'table', f->'from'->>'key',
                                 i, i, p.compiled->>'id');
    END LOOP;
    RETURN format('SELECT t.%I::text AS id, to_jsonb(t)%s AS r FROM %s t%s', p.compiled->>'id', extra, p.table_oid, joins);
END;
$$;

-- Blocking keys of one row (as jsonb) under a profile: exact normalized values and sound keys.
-- Frequent keys are dropped by the caller (block_cap), which is how common names stop
-- producing huge blocks while rare ones still meet.
CREATE OR REPLACE FUNCTION @extschema@.blocking_keys(compiled jsonb, r jsonb)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT DISTINCT k FROM (
        SELECT CASE f->>'role'
                   WHEN 'phone' THEN 'p:' || @extschema@.phone_e164(v, f->>'region')
                   WHEN 'email' THEN 'e:' || @extschema@.email_key(v)
                   WHEN 'company' THEN 'c:' || @extschema@.company_key(v)
                   WHEN 'external_id' THEN 'x:' || (f->>'field') || ':' || @extschema@.name_key(v)
                   WHEN 'postcode' THEN 'z:' || (f->>'field') || ':' || @extschema@.name_key(v)
                   WHEN 'birth_date' THEN 'd:' || (f->>'field') || ':' || @extschema@.date_digits(v)
                   WHEN 'address' THEN 'a:' || @extschema@.name_key(@extschema@.translit(v))
               END AS k
          FROM jsonb_array_elements(compiled->'fields') f,
               unnest(@extschema@.field_values(r->(f->>'field'))) v
        UNION ALL
        -- names: the whole name in any word order, its sound, and the sound of each longer word
        SELECT unnest(ARRAY['n:' || @extschema@.person_key(v),
                            'h:' || @extschema@.phonetic(@extschema@.person_key(v))])
          FROM jsonb_array_elements(compiled->'fields') f,
               unnest(@extschema@.field_values(r->(f->>'field'))) v
         WHERE f->>'role' = 'person_name'
        UNION ALL
        SELECT 'w:' || (f->>'role') || ':' || @extschema@.phonetic(w)
          FROM jsonb_array_elements(compiled->'fields') f,
               unnest(@extschema@.field_values(r->(f->>'field'))) v,
               unnest(string_to_array(@extschema@.translit(v), ' ')) w
         WHERE f->>'role' IN ('person_name', 'last_name', 'first_name', 'company') AND length(w) >= 4
    ) keys
    WHERE k IS NOT NULL;
END;

COMMENT ON FUNCTION @extschema@.blocking_keys(jsonb, jsonb) IS
'blocking keys of a row under a compiled profile: normalized phones, emails, company, ids, postcodes, name keys and sound keys';

-- The blocking keys of every row of a profile's table as one query giving (id, key): a UNION
-- ALL branch per profile field that reads the table (or the field's child table) directly,
-- with the same keys as blocking_keys().  Measured on 50,000 demo contacts: calling the SQL
-- function blocking_keys() once per row cost about 1.1 ms a row (55 s), almost all of it
-- per-call planning; reading the fields out of the row's jsonb with field_values() still cost
-- about 30 µs per field and row (that function is not inlined: it uses its argument more than
-- once).  Plain column reads leave the key functions in C as the main cost, and every branch
-- is a scan PostgreSQL can split among parallel workers.
CREATE OR REPLACE FUNCTION @extschema@.report_keys_sql(profile text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    branches text[] := '{}';
    expr text;
    rel regclass;
    col text;
    idcol text;
    typ oid;
    cat "char";
    src text;
    jsonvals constant text :=
        'jsonb_array_elements(CASE WHEN jsonb_typeof(%1$s) = ''array'' THEN %1$s ELSE jsonb_build_array(%1$s) END) e, '
        'LATERAL (SELECT CASE jsonb_typeof(e) WHEN ''string'' THEN e #>> ''{}'' '
        'WHEN ''object'' THEN coalesce(e->>''value'', e->>''phone'', e->>''email'', e->>''number'', e->>''address'') '
        'WHEN ''null'' THEN NULL ELSE e #>> ''{}'' END AS v) x';
    present constant text := 'x.v IS NOT NULL AND btrim(x.v) <> ''''';
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(p.compiled->'fields') LOOP
        IF f ? 'from' THEN
            rel := (f->'from'->>'table')::regclass;
            col := f->'from'->>'column';
            idcol := f->'from'->>'key';
        ELSE
            rel := p.table_oid;
            col := f->>'field';
            idcol := p.compiled->>'id';
        END IF;
        typ := NULL;
        SELECT a.atttypid, t.typcategory INTO typ, cat
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
        -- the values x.v of the field, as field_values() reads them from the row's jsonb
        src := CASE
            WHEN typ IS NULL THEN   -- not a column of its own: read it from the row as jsonb
                format('%s c, ', rel) || format(jsonvals, format('(to_jsonb(c)->%L)', col))
            WHEN typ IN ('json'::regtype, 'jsonb'::regtype) THEN
                format('%s c, ', rel) || format(jsonvals, format('c.%I::jsonb', col))
            WHEN cat = 'A' THEN
                format('%s c, LATERAL (SELECT to_jsonb(u) #>> ''{}'' AS v FROM unnest(c.%I) u) x', rel, col)
            WHEN cat = 'S' THEN
                format('%s c, LATERAL (SELECT c.%I::text AS v) x', rel, col)
            ELSE   -- dates, numbers: written as to_jsonb() writes them (ISO dates, whatever DateStyle)
                format('%s c, LATERAL (SELECT to_jsonb(c.%I) #>> ''{}'' AS v) x', rel, col)
            END;
        expr := CASE f->>'role'
                    WHEN 'phone' THEN format('''p:'' || @extschema@.phone_e164(x.v, %L)', f->>'region')
                    WHEN 'email' THEN '''e:'' || @extschema@.email_key(x.v)'
                    WHEN 'company' THEN '''c:'' || @extschema@.company_key(x.v)'
                    WHEN 'external_id' THEN format('%L || @extschema@.name_key(x.v)', 'x:' || (f->>'field') || ':')
                    WHEN 'postcode' THEN format('%L || @extschema@.name_key(x.v)', 'z:' || (f->>'field') || ':')
                    WHEN 'birth_date' THEN format('%L || @extschema@.date_digits(x.v)', 'd:' || (f->>'field') || ':')
                    WHEN 'address' THEN '''a:'' || @extschema@.name_key(@extschema@.translit(x.v))'
                END;
        -- a date column needs no parsing: date_digits() of its ISO text is its YYYYMMDD, and
        -- date_digits() (regular expressions in SQL) cost about 250 µs a call
        IF f->>'role' = 'birth_date' AND typ = 'date'::regtype THEN
            src := format('%s c, LATERAL (SELECT to_char(c.%I, ''YYYYMMDD'') AS v) x', rel, col);
            expr := format('%L || x.v', 'd:' || (f->>'field') || ':');
        END IF;
        IF expr IS NOT NULL THEN
            branches := branches || format('SELECT c.%I::text AS id, %s AS key FROM %s WHERE %s', idcol, expr, src, present);
        END IF;
        -- names: the whole name in any word order and its sound
        IF f->>'role' = 'person_name' THEN
            branches := branches || format(
                'SELECT c.%I::text, k.key FROM %s, @extschema@.person_key(x.v) pk, '
                'unnest(ARRAY[''n:'' || pk, ''h:'' || @extschema@.phonetic(pk)]) k(key) WHERE %s', idcol, src, present);
        END IF;
        -- the sound of each longer word
        IF f->>'role' IN ('person_name', 'last_name', 'first_name', 'company') THEN
            branches := branches || format(
                'SELECT c.%I::text, %L || @extschema@.phonetic(w) FROM %s, '
                'unnest(string_to_array(@extschema@.translit(x.v), '' '')) w WHERE %s AND length(w) >= 4',
                idcol, 'w:' || (f->>'role') || ':', src, present);
        END IF;
    END LOOP;
    IF cardinality(branches) = 0 THEN
        RETURN 'SELECT NULL::text AS id, NULL::text AS key WHERE false';
    END IF;
    -- no DISTINCT and no key IS NOT NULL here: a filter on the union would be pushed into every
    -- branch and compute each key twice, and a repeated (id, key) (the same phone twice) costs
    -- the pair step nothing, while removing repeats here cost a sort or hash of every key
    RETURN array_to_string(branches, ' UNION ALL ');
END;
$$;

COMMENT ON FUNCTION @extschema@.report_keys_sql(text) IS
'internal: a query giving (id, key) for every blocking key of every row of a profile''s table (the keys of blocking_keys(); NULL keys and repeats not removed)';

-- The expression giving a row's sort key for sorted-neighbourhood blocking: its first name
-- key (word order ignored), else its company key, else nothing (then id order).
CREATE OR REPLACE FUNCTION @extschema@.report_sort_sql(profile text, rel text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT format('@extschema@.person_key(coalesce(%1$s.r->%2$L->>0, %1$s.r->>%2$L))', rel, f->>'field')
           FROM @extschema@.profiles pr, jsonb_array_elements(pr.compiled->'fields') f
          WHERE pr.name = profile AND f->>'role' = 'person_name' LIMIT 1),
        (SELECT format('@extschema@.company_key(coalesce(%1$s.r->%2$L->>0, %1$s.r->>%2$L))', rel, f->>'field')
           FROM @extschema@.profiles pr, jsonb_array_elements(pr.compiled->'fields') f
          WHERE pr.name = profile AND f->>'role' = 'company' LIMIT 1),
        'NULL::text');
END;

-- Fill pg_temp.cd_report_rows (id, r) and pg_temp.cd_report_pairs (a, b, score) with every
-- candidate pair and its score.
--
-- Blocking: a key shared by at most block_cap rows gives every pair of them; a larger block,
-- and every block of a word-sound key ('w:', the sound of one word of a name, which is shared
-- by thousands of rows at scale), gives sorted-neighbourhood pairs instead: rows sorted by
-- their name key, each paired with the next two (one for word-sound keys).  So the number of
-- pairs grows with the rows, not with the square of the largest blocks: on 50,000 demo
-- contacts all pairs of blocks up to 100 gave 804,000 pairs covering 20,673 of the 21,795
-- true pairs; this gives 130,000 pairs covering 20,518.  Each pair is emitted once.
--
-- Parallel query: the work runs in CREATE TABLE AS statements, which PostgreSQL runs with
-- parallel workers, over unlogged work tables in the extension's schema (parallel workers
-- cannot read session temp tables).  They are created and dropped inside the caller's
-- transaction, so no other session ever sees them and a cancelled report leaves nothing
-- behind.  A user without CREATE on the extension's schema gets temp work tables and a
-- serial report.  Memory is bounded by work_mem (sorts and hashes spill to disk).
-- Progress goes to NOTICEs and to this backend's application_name.
CREATE OR REPLACE FUNCTION @extschema@.report_candidates(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- a few large statements: JIT compiling the score expression saves nothing (the work is in C)
SET jit = off
AS $$
DECLARE
    p record;
    npairs bigint;
    nrows bigint;
    nkeys bigint;
    done bigint := 0;
    lo bigint := 0;
    chunk integer := 0;
    chunks text[] := '{}';
    t0 timestamptz := clock_timestamp();
    t1 timestamptz;
    app text := current_setting('application_name');
    hj text := current_setting('enable_hashjoin');
    mj text := current_setting('enable_mergejoin');
    mps text := current_setting('min_parallel_table_scan_size');
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    eta numeric;
    shared boolean := has_schema_privilege('@extschema@', 'CREATE');
    kind text;
    ws text;
    pre text := 'cd_work_' || pg_backend_pid() || '_';
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    kind := CASE WHEN shared THEN 'UNLOGGED' ELSE 'TEMP' END;
    ws := CASE WHEN shared THEN quote_ident('@extschema@') ELSE 'pg_temp' END;
    DROP TABLE IF EXISTS pg_temp.cd_report_rows, pg_temp.cd_report_keys, pg_temp.cd_report_pairs;

    -- rows with their sort key
    -- OFFSET 0 keeps the subquery whole, so r is built once per row and not again for s
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT q.id, q.r, %s AS s FROM (%s OFFSET 0) q',
                   kind, ws, pre || 'rows', @extschema@.report_sort_sql(profile, 'q'),
                   @extschema@.report_rows_sql(profile));
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'rows');
    -- the sort keys alone: the pair step joins them to millions of keys, and reading them out of
    -- the wide rows table (every row's jsonb) costs far more than this copy
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT id, s FROM %s.%I', kind, ws, pre || 'sort', ws, pre || 'rows');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'sort');
    -- every (row, key) once
    -- the key functions are C functions of the default cost (1), so the planner thinks moving
    -- each key through a Gather costs more than computing it; they cost microseconds, and with
    -- these two settings the keys of a large table are computed by parallel workers
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s.%I AS %s', kind, ws, pre || 'keys', @extschema@.report_keys_sql(profile));
    GET DIAGNOSTICS nkeys = ROW_COUNT;
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'keys');
    EXECUTE format('SELECT count(*) FROM %s.%I', ws, pre || 'rows') INTO nrows;
    RAISE NOTICE 'crmdedup: % rows, % blocking keys (% s)',
        nrows, nkeys, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- blocks: every (key, row) of a key shared by two rows or more, with the block's size and the
    -- row's next two neighbours in name order, from one sort of the keys (the earlier form,
    -- grouping the keys once for small blocks and once for large ones, spilled twice as much)
    EXECUTE format(
        'CREATE %1$s TABLE %2$s.%3$I AS
         SELECT key, id, c, n1, n2 FROM (
           SELECT k.key, k.id, count(*) OVER (PARTITION BY k.key) AS c,
                  lead(k.id, 1) OVER w AS n1, lead(k.id, 2) OVER w AS n2
             FROM %2$s.%4$I k JOIN %2$s.%5$I r ON r.id = k.id
            WHERE k.key IS NOT NULL
           WINDOW w AS (PARTITION BY k.key ORDER BY r.s, k.id)) b
         WHERE c > 1',
        kind, ws, pre || 'blocks', pre || 'keys', pre || 'sort');
    EXECUTE format('DROP TABLE %s.%I, %s.%I', ws, pre || 'keys', ws, pre || 'sort');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'blocks');
    -- candidate pairs, each once (a < b): all pairs of a small block, neighbours in a large one
    -- and in every word-sound block
    EXECUTE format(
        'CREATE %1$s TABLE %2$s.%3$I AS
         SELECT row_number() OVER () AS n, a, b FROM (
           SELECT DISTINCT a, b FROM (
             SELECT x.id AS a, y.id AS b
               FROM %2$s.%4$I x JOIN %2$s.%4$I y ON y.key = x.key AND x.id < y.id
              WHERE x.c <= %5$s AND y.c <= %5$s AND x.key NOT LIKE ''w:%%'' AND y.key NOT LIKE ''w:%%''
             UNION ALL
             SELECT least(id, nb), greatest(id, nb)
               FROM %2$s.%4$I,
                    unnest(CASE WHEN key LIKE ''w:%%'' THEN ARRAY[n1] ELSE ARRAY[n1, n2] END) nb
              WHERE (c > %5$s OR key LIKE ''w:%%'') AND nb IS NOT NULL AND nb <> id) u) d',
        kind, ws, pre || 'pairs', pre || 'blocks', block_cap);
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'blocks');
    EXECUTE format('CREATE INDEX ON %s.%I (n)', ws, pre || 'pairs');
    EXECUTE format('CREATE UNIQUE INDEX ON %s.%I (id)', ws, pre || 'rows');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % candidate pairs (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- scores, batch pairs per statement (each statement may run in parallel workers).  Each
    -- pair's two rows are fetched through the rows' primary key: a hash join would hash every
    -- row's jsonb again for every batch (and spill it to disk past work_mem) to use a fraction
    t1 := clock_timestamp();
    -- and the planner, which does not count score_rows' cost in the scan it would split, is told
    -- that a pairs table of any size is worth parallel workers
    PERFORM set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
            set_config('min_parallel_table_scan_size', '0', true);
    WHILE lo < npairs LOOP
        chunk := chunk + 1;
        EXECUTE format(
            'CREATE %s TABLE %s.%I AS
             SELECT c.a, c.b, (@extschema@.score_rows(%L, ra.r, rb.r, false)).score AS score
               FROM %s.%I c JOIN %s.%I ra ON ra.id = c.a JOIN %s.%I rb ON rb.id = c.b
              WHERE c.n > %s AND c.n <= %s',
            kind, ws, pre || 's' || chunk, profile, ws, pre || 'pairs', ws, pre || 'rows', ws, pre || 'rows',
            lo, lo + batch);
        chunks := chunks || format('SELECT a, b, score FROM %s.%I', ws, pre || 's' || chunk);
        lo := lo + batch;
        done := least(lo, npairs);
        eta := CASE WHEN done > 0 THEN round((extract(epoch FROM clock_timestamp() - t1) / done * (npairs - done))::numeric, 0) END;
        RAISE NOTICE 'crmdedup: scored % of % candidate pairs (% %%), about % s left',
            done, npairs, round(100.0 * done / greatest(npairs, 1)), eta;
        PERFORM set_config('application_name',
                           left(format('crmdedup %s: %s%% of %s pairs, %s s left', profile,
                                       round(100.0 * done / greatest(npairs, 1)), npairs, eta), 63), true);
    END LOOP;

    PERFORM set_config('enable_hashjoin', hj, true), set_config('enable_mergejoin', mj, true),
            set_config('min_parallel_table_scan_size', mps, true);
    -- the results go to session temp tables for the steps that follow; the work tables go
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT id, r FROM %s.%I', ws, pre || 'rows');
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    IF cardinality(chunks) = 0 THEN
        CREATE TEMP TABLE cd_report_pairs (a text, b text, score float8) ON COMMIT DROP;
    ELSE
        EXECUTE 'CREATE TEMP TABLE cd_report_pairs ON COMMIT DROP AS ' || array_to_string(chunks, ' UNION ALL ');
    END IF;
    EXECUTE format('DROP TABLE %s.%I, %s.%I', ws, pre || 'rows', ws, pre || 'pairs');
    FOR i IN 1 .. chunk LOOP
        EXECUTE format('DROP TABLE %s.%I', ws, pre || 's' || i);
    END LOOP;
    ANALYZE pg_temp.cd_report_rows;
    ANALYZE pg_temp.cd_report_pairs;
    RAISE NOTICE 'crmdedup: % pairs scored (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    PERFORM set_config('application_name', app, true);
    RETURN npairs;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_candidates(text, integer, integer) IS
'internal: candidate pairs of a profile''s table through capped and sorted-neighbourhood blocking, scored (in parallel where allowed), left in session temp tables';

CREATE OR REPLACE FUNCTION @extschema@.find_duplicates(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 20,
                                            explain boolean DEFAULT true)
RETURNS TABLE (a text, b text, score float8, decision text, explanation jsonb)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    threshold float8;
BEGIN
    PERFORM @extschema@.report_candidates(profile, block_cap);
    threshold := coalesce(min_score, (SELECT (compiled->>'maybe')::float8 FROM @extschema@.profiles pr WHERE pr.name = profile));
    RETURN QUERY
        SELECT c.a, c.b, c.score,
               CASE WHEN explain THEN s.decision ELSE NULL END,
               CASE WHEN explain THEN s.explanation ELSE NULL END
          FROM pg_temp.cd_report_pairs c
          LEFT JOIN LATERAL (SELECT m.decision, m.explanation
                               FROM pg_temp.cd_report_rows ra, pg_temp.cd_report_rows rb,
                                    @extschema@.score_rows(profile, ra.r, rb.r, true) m
                              WHERE explain AND ra.id = c.a AND rb.id = c.b) s ON true
         WHERE c.score >= threshold
         ORDER BY c.score DESC, c.a, c.b;
END;
$$;

COMMENT ON FUNCTION @extschema@.find_duplicates(text, float8, integer, boolean) IS
'every candidate pair of the profile''s table with score >= min_score (default: the profile''s maybe threshold), found through blocking keys, with reasons';

-- Clusters: components of the pairs above min_score, split by average linkage so that a chain
-- A~B~C of two different people never becomes one cluster.
CREATE OR REPLACE FUNCTION @extschema@.clusters(profile text, min_score float8 DEFAULT NULL, survivor text DEFAULT 'most_complete',
                                     block_cap integer DEFAULT 20, survivor_column text DEFAULT NULL)
RETURNS TABLE (cluster_id text, id text, score float8, is_survivor boolean, suggested_survivor text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    p record;
    threshold float8;
    refs text := '';
    fk record;
    labels integer[];
    t0 timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF survivor IS NULL OR survivor NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid survivor rule "%"', coalesce(survivor, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use most_complete, oldest, newest or most_referenced.';
    END IF;
    IF survivor IN ('oldest', 'newest') AND NOT EXISTS (
            SELECT 1 FROM pg_attribute WHERE attrelid = p.table_oid AND attname = coalesce(survivor_column, 'created_at')
               AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'survivor rule % needs a timestamp column', survivor
            USING ERRCODE = 'undefined_column', HINT = 'Name it with survivor_column (default created_at).';
    END IF;
    threshold := coalesce(min_score, (p.compiled->>'same')::float8);
    PERFORM @extschema@.report_candidates(profile, block_cap);

    -- connected components over the strong pairs: records numbered, one union-find in C
    -- (label propagation in SQL took one pass over the pairs per step of the longest path)
    DROP TABLE IF EXISTS pg_temp.cd_report_comp, pg_temp.cd_report_clusters, pg_temp.cd_report_nodes;
    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    CREATE TEMP TABLE cd_report_nodes ON COMMIT DROP AS
        SELECT x AS id, (row_number() OVER ())::integer AS k
          FROM (SELECT DISTINCT x FROM pg_temp.cd_report_pairs, unnest(ARRAY[a, b]) x WHERE score >= threshold) d;
    ALTER TABLE pg_temp.cd_report_nodes ADD PRIMARY KEY (id);
    -- the labels once into a variable: as a subquery joined to the nodes, the planner may run
    -- it again for every node
    SELECT @extschema@.pair_components((SELECT count(*)::integer FROM pg_temp.cd_report_nodes),
                                       coalesce(array_agg(na.k), '{}'), coalesce(array_agg(nb.k), '{}'))
      INTO labels
      FROM pg_temp.cd_report_pairs p
      JOIN pg_temp.cd_report_nodes na ON na.id = p.a
      JOIN pg_temp.cd_report_nodes nb ON nb.id = p.b
     WHERE p.score >= threshold;
    CREATE TEMP TABLE cd_report_comp (id text PRIMARY KEY, label integer) ON COMMIT DROP;
    INSERT INTO pg_temp.cd_report_comp
        SELECT n.id, l.label FROM unnest(labels) WITH ORDINALITY AS l(label, k) JOIN pg_temp.cd_report_nodes n ON n.k = l.k;
    CREATE INDEX ON pg_temp.cd_report_pairs (a, b);
    ANALYZE pg_temp.cd_report_comp;
    ANALYZE pg_temp.cd_report_pairs;

    RAISE NOTICE 'crmdedup: % records in % components above %',
        (SELECT count(*) FROM pg_temp.cd_report_comp), (SELECT count(DISTINCT label) FROM pg_temp.cd_report_comp), threshold;
    -- a component of two is a cluster of two: set-based, no loop
    CREATE TEMP TABLE cd_report_clusters ON COMMIT DROP AS
        SELECT x AS id, g.ids[1] AS cluster_id, g.ids[1] AS center,
               CASE WHEN x = g.ids[1] THEN 1 ELSE
                   (SELECT max(pr.score) FROM pg_temp.cd_report_pairs pr WHERE pr.a = g.ids[1] AND pr.b = g.ids[2]) END AS score
          FROM (SELECT array_agg(c.id ORDER BY c.id) AS ids FROM pg_temp.cd_report_comp c GROUP BY label
                HAVING count(*) = 2) g, unnest(g.ids) x;
    -- larger components, set-based: every pair inside a component is scored (pairs no key
    -- found are scored now), then each component is clustered by cluster_pairs
    DROP TABLE IF EXISTS pg_temp.cd_report_big, pg_temp.cd_report_inner;
    CREATE TEMP TABLE cd_report_big ON COMMIT DROP AS
        SELECT label, array_agg(c.id ORDER BY c.id) AS ids FROM pg_temp.cd_report_comp c GROUP BY label
        HAVING count(*) > 2;
    CREATE TEMP TABLE cd_report_inner ON COMMIT DROP AS
        SELECT g.label, ia, ib, g.ids[ia] AS a, g.ids[ib] AS b,
               (SELECT max(pr.score) FROM pg_temp.cd_report_pairs pr WHERE pr.a = g.ids[ia] AND pr.b = g.ids[ib]) AS score
          FROM pg_temp.cd_report_big g, generate_subscripts(g.ids, 1) ia, generate_subscripts(g.ids, 1) ib
         WHERE ia < ib;
    UPDATE pg_temp.cd_report_inner i
       SET score = (@extschema@.score_rows(profile, ra.r, rb.r, false)).score
      FROM pg_temp.cd_report_rows ra, pg_temp.cd_report_rows rb
     WHERE i.score IS NULL AND ra.id = i.a AND rb.id = i.b;
    INSERT INTO pg_temp.cd_report_clusters
    SELECT k.id, k.cluster_id, k.center, k.score_to_center
      FROM (SELECT i.label, array_agg(i.ia ORDER BY i.ia, i.ib) AS a, array_agg(i.ib ORDER BY i.ia, i.ib) AS b,
                   array_agg(i.score ORDER BY i.ia, i.ib) AS s
              FROM pg_temp.cd_report_inner i GROUP BY i.label) m
      JOIN pg_temp.cd_report_big g ON g.label = m.label,
           @extschema@.cluster_pairs(g.ids, m.a, m.b, m.s, threshold) k;

    RAISE NOTICE 'crmdedup: % clusters (% s)', (SELECT count(DISTINCT cluster_id) FROM pg_temp.cd_report_clusters),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the suggested survivor of each cluster
    IF survivor = 'most_referenced' THEN
        FOR fk IN SELECT c.conrelid::regclass AS child, a.attname AS col
                    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   WHERE c.contype = 'f' AND c.confrelid = p.table_oid AND cardinality(c.conkey) = 1 LOOP
            refs := refs || format(' + (SELECT count(*) FROM %s x WHERE x.%I::text = c.id)', fk.child, fk.col);
        END LOOP;
    END IF;
    RETURN QUERY EXECUTE format(
        'WITH m AS (SELECT c.*, r.r, %s AS rank_value
                      FROM pg_temp.cd_report_clusters c JOIN pg_temp.cd_report_rows r ON r.id = c.id),
              s AS (SELECT DISTINCT ON (cluster_id) cluster_id, id AS survivor
                      FROM m WHERE cluster_id IN (SELECT cluster_id FROM m GROUP BY cluster_id HAVING count(*) > 1)
                     ORDER BY cluster_id, rank_value %s NULLS LAST, id)
         SELECT m.cluster_id, m.id, m.score, m.id = s.survivor, s.survivor
           FROM m JOIN s USING (cluster_id)
          ORDER BY m.cluster_id, m.id = s.survivor DESC, m.score DESC, m.id',
        CASE survivor
            WHEN 'most_complete' THEN '(SELECT count(*) FROM jsonb_each(r.r) e WHERE e.value NOT IN (''null''::jsonb, ''""''::jsonb, ''[]''::jsonb))'
            WHEN 'most_referenced' THEN '0' || refs
            ELSE format('(r.r->>%L)::timestamptz', coalesce(survivor_column, 'created_at')) END,
        CASE survivor WHEN 'oldest' THEN 'ASC' ELSE 'DESC' END);
END;
$$;

COMMENT ON FUNCTION @extschema@.clusters(text, float8, text, integer, text) IS
'duplicate clusters of a profile''s table: members, their score against the cluster''s best record, and a suggested survivor';

-- The numbers a manager asks for first.
CREATE OR REPLACE FUNCTION @extschema@.summary(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 20)
RETURNS TABLE (section text, item text, value numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    nrows bigint;
BEGIN
    DROP TABLE IF EXISTS pg_temp.cd_summary_clusters;
    CREATE TEMP TABLE cd_summary_clusters ON COMMIT DROP AS SELECT * FROM @extschema@.clusters(profile, min_score, 'most_complete', block_cap);
    nrows := (SELECT count(*) FROM pg_temp.cd_report_rows);
    RETURN QUERY
        SELECT 'totals', 'rows', nrows::numeric
        UNION ALL SELECT 'totals', 'rows in clusters', count(*)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'clusters', count(DISTINCT cluster_id)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate rows (would be merged away)',
                         (count(*) - count(DISTINCT cluster_id))::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate share %',
                         round(100.0 * (count(*) - count(DISTINCT cluster_id)) / greatest(nrows, 1), 2)
                    FROM pg_temp.cd_summary_clusters
        UNION ALL
        SELECT 'clusters by size', size || ' records', count(*)::numeric
          FROM (SELECT cluster_id, count(*) AS size FROM pg_temp.cd_summary_clusters GROUP BY cluster_id) s
         GROUP BY size
        UNION ALL
        -- why members match their cluster's best record: the fields that gave positive evidence
        SELECT 'pairs by reason', reason, count(*)::numeric
          FROM (SELECT (SELECT string_agg(f->>'level' || ' (' || (f->>'field') || ')', ' + '
                                          ORDER BY (f->>'weight')::float8 DESC)
                          FROM jsonb_array_elements(m.explanation->'fields') f
                         WHERE (f->>'weight')::float8 > 0) AS reason
                  FROM pg_temp.cd_summary_clusters c
                  JOIN pg_temp.cd_report_rows ra ON ra.id = c.id
                  JOIN pg_temp.cd_report_rows rb ON rb.id = c.suggested_survivor,
                       @extschema@.score_rows(profile, ra.r, rb.r, true) m
                 WHERE NOT c.is_survivor) x
         GROUP BY reason;
END;
$$;

COMMENT ON FUNCTION @extschema@.summary(text, float8, integer) IS
'rows, rows in clusters, clusters by size, duplicate share and counts by reason of a profile''s table';
-- END reports (issue 6)


-- compile_profile_spec: weight, thresholds and prior must be JSON numbers (a string let
-- "NaN" through to the scorer); a level missing "min", "m" or "u" is refused; a child
-- table's key must be of the kind of the id column
-- Check a spec against the table and fill in defaults.  Every error names the bad key.
CREATE OR REPLACE FUNCTION @extschema@.compile_profile_spec(tbl regclass, spec jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    f jsonb;
    fk text;
    fields jsonb := '[]';
    idcol text;
    region text;
    role text;
    col_type text;
    same float8;
    maybe float8;
    prior float8;
    lvl jsonb;
    prev_min float8;
    sum_m float8;
    sum_u float8;
BEGIN
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION 'invalid profile spec: it must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(spec) LOOP
        IF k NOT IN ('id', 'region', 'fields', 'thresholds', 'prior', 'survivor') THEN
            RAISE EXCEPTION 'invalid profile spec: unknown key "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Known keys: id, region, fields, thresholds, prior, survivor.';
        END IF;
    END LOOP;

    -- the key column: given, or the table's single-column primary key
    IF spec ? 'id' THEN
        IF jsonb_typeof(spec->'id') <> 'string' THEN
            RAISE EXCEPTION 'invalid profile spec: "id" must be a column name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        idcol := spec->>'id';
    ELSE
        idcol := @extschema@.primary_key_column(tbl);
        IF idcol IS NULL THEN
            RAISE EXCEPTION 'invalid profile spec: table % has no single-column primary key', tbl
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name the key column with "id".';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = idcol
                      AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'invalid profile spec: "id": column "%" does not exist in %', idcol, tbl
            USING ERRCODE = 'undefined_column';
    END IF;

    region := coalesce(spec->>'region', 'ZZ');
    IF jsonb_typeof(coalesce(spec->'region', '"ZZ"')) <> 'string' THEN
        RAISE EXCEPTION 'invalid profile spec: "region" must be a string'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM @extschema@.phone_e164('', region);	-- raises for an unknown region

    IF jsonb_typeof(spec->'fields') IS DISTINCT FROM 'object' OR spec->'fields' = '{}' THEN
        RAISE EXCEPTION 'invalid profile spec: "fields" must be a non-empty object of column: role'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"fields": {"full_name": "person_name", "phone": "phone"}}.';
    END IF;

    FOR k, v IN SELECT * FROM jsonb_each(spec->'fields') ORDER BY 1 LOOP
        IF jsonb_typeof(v) = 'string' THEN
            v := jsonb_build_object('role', v);
        ELSIF jsonb_typeof(v) <> 'object' THEN
            RAISE EXCEPTION 'invalid profile spec: field "%" must be a role name or an object', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR fk IN SELECT jsonb_object_keys(v) LOOP
            IF fk NOT IN ('role', 'weight', 'region', 'levels', 'from') THEN
                RAISE EXCEPTION 'invalid profile spec: unknown key "%" in field "%"', fk, k
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Known field keys: role, weight, region, levels, from.';
            END IF;
        END LOOP;
        role := v->>'role';
        IF role IS NULL OR @extschema@.default_levels(role) IS NULL THEN
            RAISE EXCEPTION 'invalid profile spec: field "%" has unknown role "%"', k, coalesce(role, '')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Roles: person_name, first_name, last_name, middle_name, company, phone, email, '
                             'address, city, postcode, birth_date, external_id, code, text.';
        END IF;

        -- a JSON number: a string would let "NaN" and "Infinity" through to the scorer
        IF v ? 'weight' AND jsonb_typeof(v->'weight') <> 'number' THEN
            RAISE EXCEPTION 'invalid profile spec: "weight" of field "%" must be a positive number', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        f := jsonb_build_object('field', k, 'role', role,
                                'weight', coalesce((v->>'weight')::float8, 1.0),
                                'region', coalesce(v->>'region', region));
        IF (f->>'weight')::float8 <= 0 THEN
            RAISE EXCEPTION 'invalid profile spec: "weight" of field "%" must be positive', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM @extschema@.phone_e164('', f->>'region');

        IF v ? 'from' THEN
            -- values kept in a child table: {"table": ..., "column": ..., "key": ...}
            IF jsonb_typeof(v->'from') <> 'object' OR NOT (v->'from' ?& ARRAY['table', 'column', 'key']) THEN
                RAISE EXCEPTION 'invalid profile spec: "from" of field "%" needs "table", "column" and "key"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            -- an unqualified child table is looked up in the profiled table's schema
            IF cardinality(parse_ident(v->'from'->>'table')) = 1 THEN
                v := jsonb_set(v, '{from,table}', to_jsonb(
                        quote_ident((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                      WHERE c.oid = tbl)) || '.' || (v->'from'->>'table')));
            END IF;
            f := f || jsonb_build_object('from', jsonb_build_object(
                        'table', (v->'from'->>'table')::regclass::text,
                        'column', v->'from'->>'column', 'key', v->'from'->>'key',
                        'key_type', (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                      WHERE attrelid = (v->'from'->>'table')::regclass
                                        AND attname = v->'from'->>'key' AND NOT attisdropped)));
            FOREACH fk IN ARRAY ARRAY[v->'from'->>'column', v->'from'->>'key'] LOOP
                IF NOT EXISTS (SELECT 1 FROM pg_attribute
                                WHERE attrelid = (v->'from'->>'table')::regclass AND attname = fk
                                  AND attnum > 0 AND NOT attisdropped) THEN
                    RAISE EXCEPTION 'invalid profile spec: field "%": column "%" does not exist in %',
                        k, fk, (v->'from'->>'table')::regclass
                        USING ERRCODE = 'undefined_column';
                END IF;
            END LOOP;
            -- the child rows are found by casting the record's id to the key's type: a key of
            -- another kind (bigint for a text id) would fail on every record at scoring time
            IF (SELECT t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 WHERE a.attrelid = (v->'from'->>'table')::regclass AND a.attname = v->'from'->>'key')
               IS DISTINCT FROM
               (SELECT t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 WHERE a.attrelid = tbl AND a.attname = idcol) THEN
                RAISE EXCEPTION 'invalid profile spec: "from" of field "%": key column "%" is not of the kind of the id column "%"',
                    k, v->'from'->>'key', idcol
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = format('%s is %s, %s is %s.', v->'from'->>'key', f->'from'->>'key_type', idcol,
                                          (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                            WHERE attrelid = tbl AND attname = idcol));
            END IF;
        ELSE
            SELECT format_type(atttypid, atttypmod) INTO col_type
              FROM pg_attribute WHERE attrelid = tbl AND attname = k AND attnum > 0 AND NOT attisdropped;
            IF col_type IS NULL THEN
                RAISE EXCEPTION 'invalid profile spec: field "%": column "%" does not exist in %', k, k, tbl
                    USING ERRCODE = 'undefined_column';
            END IF;
        END IF;

        -- levels: given or default; thresholds decreasing, probabilities in (0,1), sums below 1
        lvl := coalesce(v->'levels', @extschema@.default_levels(role));
        IF jsonb_typeof(lvl) <> 'array' OR jsonb_array_length(lvl) = 0 THEN
            RAISE EXCEPTION 'invalid profile spec: "levels" of field "%" must be a non-empty array', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        prev_min := 2; sum_m := 0; sum_u := 0;
        FOR v IN SELECT * FROM jsonb_array_elements(lvl) LOOP
            -- IS DISTINCT FROM: a missing key gives NULL, which "<>" would let pass
            IF jsonb_typeof(v) <> 'object' OR jsonb_typeof(v->'min') IS DISTINCT FROM 'number'
               OR jsonb_typeof(v->'m') IS DISTINCT FROM 'number' OR jsonb_typeof(v->'u') IS DISTINCT FROM 'number' THEN
                RAISE EXCEPTION 'invalid profile spec: each level of field "%" needs numbers "min", "m" and "u"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF (v->>'min')::float8 >= prev_min OR (v->>'min')::float8 <= 0 OR (v->>'min')::float8 > 1
               OR (v->>'m')::float8 <= 0 OR (v->>'u')::float8 <= 0 THEN
                RAISE EXCEPTION 'invalid profile spec: levels of field "%" must have decreasing "min" in (0,1] and positive "m" and "u"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            prev_min := (v->>'min')::float8;
            sum_m := sum_m + (v->>'m')::float8;
            sum_u := sum_u + (v->>'u')::float8;
        END LOOP;
        IF sum_m >= 1 OR sum_u >= 1 THEN
            RAISE EXCEPTION 'invalid profile spec: the "m" and the "u" of the levels of field "%" must each sum below 1', k
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'What remains is the probability of the "different" level.';
        END IF;
        fields := fields || jsonb_build_array(f || jsonb_build_object('levels', lvl));
    END LOOP;

    IF spec ? 'thresholds' AND (jsonb_typeof(spec->'thresholds') <> 'object' OR EXISTS (
            SELECT 1 FROM jsonb_each(spec->'thresholds') t
             WHERE t.key NOT IN ('same', 'maybe') OR jsonb_typeof(t.value) <> 'number')) THEN
        RAISE EXCEPTION 'invalid profile spec: "thresholds" takes only "same" and "maybe", as numbers'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    same := coalesce((spec->'thresholds'->>'same')::float8, 0.9);
    maybe := coalesce((spec->'thresholds'->>'maybe')::float8, 0.5);
    IF NOT (0 < maybe AND maybe <= same AND same < 1) THEN
        RAISE EXCEPTION 'invalid profile spec: thresholds must satisfy 0 < maybe <= same < 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- which member of a cluster survives a merge (reports and auto_merge)
    IF spec ? 'survivor' AND (spec->>'survivor') NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid profile spec: "survivor" must be most_complete, oldest, newest or most_referenced'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF spec ? 'prior' AND jsonb_typeof(spec->'prior') <> 'number' THEN
        RAISE EXCEPTION 'invalid profile spec: "prior" must be a number in (0,1)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    prior := coalesce((spec->>'prior')::float8, 0.001);
    IF NOT (0 < prior AND prior < 1) THEN
        RAISE EXCEPTION 'invalid profile spec: "prior" must be in (0,1)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    RETURN jsonb_build_object('table', tbl::text, 'id', idcol,
                              'id_type', (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                           WHERE attrelid = tbl AND attname = idcol),
                              'fields', fields, 'same', same, 'maybe', maybe, 'prior', prior,
                              'survivor', coalesce(spec->>'survivor', 'most_complete'));
END;
$$;

-- (sql/install/00_header.sql now refuses to install into a pre-existing schema that another
-- role owns or may create in; an update finds the schema already the extension's, so there
-- is nothing to repeat here.)

-- 0.2.0, reports in C over integer row numbers (src/report_fn.c): the row's keys, the candidate
-- pairs and the clustering; clusters(), summary() and report_candidates() use them.
-- The heavy steps of the reports in C (src/report_fn.c), over integer row numbers.
CREATE FUNCTION @extschema@.report_row_keys(compiled jsonb, r jsonb)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'report_row_keys'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

COMMENT ON FUNCTION @extschema@.report_row_keys(jsonb, jsonb) IS
'the blocking keys of a row (jsonb) under a compiled profile, the keys of blocking_keys(), as 64-bit hashes each once (bit 0 set: a word-sound key)';

CREATE FUNCTION @extschema@.report_block_pairs(keys regclass, ranks regclass, block_cap integer,
    OUT n integer, OUT a integer, OUT b integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_block_pairs'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 1000;

COMMENT ON FUNCTION @extschema@.report_block_pairs(regclass, regclass, integer) IS
'candidate pairs (a < b, numbered n) of the row numbers in keys (rn int4, h int8): all pairs of a block of at most block_cap rows, else the next two rows in the order of ranks (rn int4, s text), the next one for word-sound keys; each pair once';

CREATE FUNCTION @extschema@.report_cluster(profile text, rows regclass, scored regclass[], threshold float8,
    floor float8 DEFAULT 0.2, OUT rn integer, OUT center integer, OUT score float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_cluster'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION @extschema@.report_cluster(text, regclass, regclass[], float8, float8) IS
'clusters of the scored pairs (a, b, score) in the scored tables over rows (rn int4, r jsonb): components of the pairs >= threshold, the pairs inside them no key found scored, average-linkage clusters (no pair below floor); one row per member of a component: its cluster''s center and its score to it';

CREATE FUNCTION @extschema@.report_missing_pairs(rows regclass, scored regclass[], threshold float8,
    OUT n integer, OUT a integer, OUT b integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_missing_pairs'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 1000;

COMMENT ON FUNCTION @extschema@.report_missing_pairs(regclass, regclass[], float8) IS
'the pairs (a < b, numbered n) inside the components of the pairs scored >= threshold that no scored table (a, b, score) holds, for report_cluster() to find scored';

CREATE FUNCTION @extschema@.filled_fields(r jsonb)
RETURNS integer
AS 'MODULE_PATHNAME', 'filled_fields'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.filled_fields(jsonb) IS
'the top-level values of a jsonb object that are not null, "" or [] (the most_complete survivor rule)';

CREATE FUNCTION @extschema@.report_rows_rn_sql(profile text, ids text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
    fields text := '';
    joins text := '';
    i integer := 0;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(p.compiled->'fields') LOOP
        IF f ? 'from' THEN
            i := i + 1;
            extra := extra || format(' || jsonb_build_object(%L, j%s.v)', f->>'field', i);
            fields := fields || format(', %L, j%s.v', f->>'field', i);
            joins := joins || format(' LEFT JOIN (SELECT c.%I AS k, jsonb_agg(c.%I) AS v FROM %s c GROUP BY c.%I) j%s ON j%s.k = t.%I',
                                     f->'from'->>'key', f->'from'->>'column', f->'from'->>'table', f->'from'->>'key',
                                     i, i, p.compiled->>'id');
        ELSIF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.table_oid AND a.attname = f->>'field'
                         AND a.attnum > 0 AND NOT a.attisdropped) THEN
            fields := fields || format(', %L, t.%I', f->>'field', f->>'field');
        END IF;
    END LOOP;
    RETURN format('SELECT n.rn, t.%I::text AS id, %s AS r FROM %s t JOIN %s n ON n.id = t.%I%s',
                  p.compiled->>'id',
                  CASE WHEN jsonb_array_length(p.compiled->'fields') > 45 THEN 'to_jsonb(t)' || extra
                       WHEN fields = '' THEN '''{}''::jsonb'
                       ELSE 'jsonb_build_object(' || substr(fields, 3) || ')' END,
                  p.table_oid, ids, p.compiled->>'id', joins);
END;
$$;

COMMENT ON FUNCTION @extschema@.report_rows_rn_sql(text, text) IS
'internal: a query giving (rn, id, r) for every row of a profile''s table, numbered by the table ids (rn, id)';

CREATE FUNCTION @extschema@.report_work(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- a few large statements: JIT compiling the score expression saves nothing (the work is in C)
SET jit = off
AS $$
DECLARE
    p record;
    npairs bigint;
    nrows bigint;
    nkeys bigint;
    chunk integer := 0;
    t0 timestamptz := clock_timestamp();
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    shared boolean := has_schema_privilege('@extschema@', 'CREATE');
    kind text;
    ws text;
    pre text := 'cd_work_' || pg_backend_pid() || '_';
    rows_t text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    kind := CASE WHEN shared THEN 'UNLOGGED' ELSE 'TEMP' END;
    ws := CASE WHEN shared THEN quote_ident('@extschema@') ELSE 'pg_temp' END;
    rows_t := format('%s.%I', ws, pre || 'rows');

    -- row numbers, then the rows as jsonb with their name sort key (OFFSET 0 keeps the
    -- subquery whole, so r is built once per row and not again for s)
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT (row_number() OVER (ORDER BY t.%I::text))::int4 AS rn, t.%I AS id FROM %s t',
                   kind, ws, pre || 'ids', p.compiled->>'id', p.compiled->>'id', p.table_oid);
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'ids');
    EXECUTE format('CREATE %s TABLE %s AS SELECT q.rn, q.id, q.r, %s AS s FROM (%s OFFSET 0) q',
                   kind, rows_t, @extschema@.report_sort_sql(profile, 'q'),
                   @extschema@.report_rows_rn_sql(profile, format('%s.%I', ws, pre || 'ids')));
    GET DIAGNOSTICS nrows = ROW_COUNT;
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'ids');
    EXECUTE format('CREATE UNIQUE INDEX ON %s (rn)', rows_t);
    EXECUTE format('ANALYZE %s', rows_t);
    -- every row's keys from one C call; the planner counts C functions at the default cost
    -- (1) and would keep them out of parallel workers without these two settings
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT r.rn, k.h FROM %s r, unnest(@extschema@.report_row_keys(%L::jsonb, r.r)) k(h)',
                   kind, ws, pre || 'keys', rows_t, p.compiled);
    GET DIAGNOSTICS nkeys = ROW_COUNT;
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    RAISE NOTICE 'crmdedup: % rows, % blocking keys (% s)',
        nrows, nkeys, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- candidate pairs, each once, numbered for the scoring batches
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT n, a, b FROM @extschema@.report_block_pairs(%L::regclass, %L::regclass, %s)',
                   kind, ws, pre || 'pairs', format('%s.%I', ws, pre || 'keys'), rows_t, block_cap);
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'keys');
    EXECUTE format('CREATE INDEX ON %s.%I (n)', ws, pre || 'pairs');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % candidate pairs (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- scores, batch pairs per statement (each statement may run in parallel workers)
    chunk := @extschema@.report_score(profile, format('%s.%I', ws, pre || 'pairs')::regclass, 0, batch, 'candidate pairs');
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % pairs scored (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    RETURN chunk;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_work(text, integer, integer) IS
'internal: numbered rows and scored candidate pairs of a profile''s table in this transaction''s work tables (capped and sorted-neighbourhood blocking in C, scoring in parallel where allowed); returns the number of score tables';

CREATE FUNCTION @extschema@.report_score(profile text, pairs regclass, first_chunk integer, batch integer,
                                         what text DEFAULT 'candidate pairs')
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    npairs bigint;
    done bigint := 0;
    lo bigint := 0;
    chunk integer := first_chunk;
    t1 timestamptz := clock_timestamp();
    app text := current_setting('application_name');
    hj text := current_setting('enable_hashjoin');
    mj text := current_setting('enable_mergejoin');
    mps text := current_setting('min_parallel_table_scan_size');
    eta numeric;
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
BEGIN
    IF pairs IS NULL OR first_chunk IS NULL THEN
        RAISE EXCEPTION 'pairs and first_chunk must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT coalesce(max(n), 0) FROM %s', pairs) INTO npairs;
    PERFORM set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
            set_config('min_parallel_table_scan_size', '0', true);
    WHILE lo < npairs LOOP
        chunk := chunk + 1;
        EXECUTE format(
            'CREATE %s TABLE %s AS
             SELECT c.a, c.b, (@extschema@.score_rows(%L, ra.r, rb.r, false)).score AS score
               FROM %s c JOIN %s ra ON ra.rn = c.a JOIN %s rb ON rb.rn = c.b
              WHERE c.n > %s AND c.n <= %s',
            kind, @extschema@.report_work_name('s' || chunk), profile, pairs,
            @extschema@.report_work_name('rows'), @extschema@.report_work_name('rows'), lo, lo + batch);
        lo := lo + batch;
        done := least(lo, npairs);
        eta := CASE WHEN done > 0 THEN round((extract(epoch FROM clock_timestamp() - t1) / done * (npairs - done))::numeric, 0) END;
        RAISE NOTICE 'crmdedup: scored % of % % (% %%), about % s left',
            done, npairs, what, round(100.0 * done / greatest(npairs, 1)), eta;
        PERFORM set_config('application_name',
                           left(format('crmdedup %s: %s%% of %s %s, %s s left', profile,
                                       round(100.0 * done / greatest(npairs, 1)), npairs, what, eta), 63), true);
    END LOOP;
    PERFORM set_config('enable_hashjoin', hj, true), set_config('enable_mergejoin', mj, true),
            set_config('min_parallel_table_scan_size', mps, true);
    PERFORM set_config('application_name', app, true);
    RETURN chunk;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_score(text, regclass, integer, integer, text) IS
'internal: scores the pairs (n, a, b) of a report work table into score work tables, batch pairs per statement (in parallel where allowed); returns the last score table''s number';

CREATE FUNCTION @extschema@.report_work_name(suffix text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT format('%s.%I', CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN quote_ident('@extschema@') ELSE 'pg_temp' END,
                  'cd_work_' || pg_backend_pid() || '_' || suffix);
END;

COMMENT ON FUNCTION @extschema@.report_work_name(text) IS
'internal: the qualified name of a report work table of this backend';

CREATE FUNCTION @extschema@.report_work_tables(chunks integer)
RETURNS regclass[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT array_agg(@extschema@.report_work_name(CASE WHEN i = 0 THEN 'rows' ELSE 's' || i END)::regclass ORDER BY i)
      FROM generate_series(0, greatest(chunks, 0)) i;
END;

COMMENT ON FUNCTION @extschema@.report_work_tables(integer) IS
'internal: the work tables report_work() left (rows first, then the score tables)';

CREATE OR REPLACE FUNCTION @extschema@.report_candidates(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    chunks integer;
    w regclass[];
    npairs bigint;
BEGIN
    DROP TABLE IF EXISTS pg_temp.cd_report_rows, pg_temp.cd_report_keys, pg_temp.cd_report_pairs;
    chunks := @extschema@.report_work(profile, block_cap, batch);
    w := @extschema@.report_work_tables(chunks);
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT id, r FROM %s', w[1]);
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    IF chunks = 0 THEN
        CREATE TEMP TABLE cd_report_pairs (a text, b text, score float8) ON COMMIT DROP;
    ELSE
        EXECUTE format('CREATE TEMP TABLE cd_report_pairs ON COMMIT DROP AS
                        SELECT ra.id AS a, rb.id AS b, s.score FROM (%s) s JOIN %s ra ON ra.rn = s.a JOIN %s rb ON rb.rn = s.b',
                       (SELECT string_agg(format('SELECT a, b, score FROM %s', t), ' UNION ALL ') FROM unnest(w[2:]) t),
                       w[1], w[1]);
    END IF;
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ');
    ANALYZE pg_temp.cd_report_rows;
    ANALYZE pg_temp.cd_report_pairs;
    RETURN npairs;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_candidates(text, integer, integer) IS
'internal: candidate pairs of a profile''s table through capped and sorted-neighbourhood blocking, scored (in parallel where allowed), left in session temp tables';

CREATE OR REPLACE FUNCTION @extschema@.clusters(profile text, min_score float8 DEFAULT NULL, survivor text DEFAULT 'most_complete',
                                     block_cap integer DEFAULT 20, survivor_column text DEFAULT NULL)
RETURNS TABLE (cluster_id text, id text, score float8, is_survivor boolean, suggested_survivor text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    p record;
    threshold float8;
    refs text := '';
    fk record;
    chunks integer;
    w regclass[];
    t0 timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF survivor IS NULL OR survivor NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid survivor rule "%"', coalesce(survivor, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use most_complete, oldest, newest or most_referenced.';
    END IF;
    IF survivor IN ('oldest', 'newest') AND NOT EXISTS (
            SELECT 1 FROM pg_attribute WHERE attrelid = p.table_oid AND attname = coalesce(survivor_column, 'created_at')
               AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'survivor rule % needs a timestamp column', survivor
            USING ERRCODE = 'undefined_column', HINT = 'Name it with survivor_column (default created_at).';
    END IF;
    threshold := coalesce(min_score, (p.compiled->>'same')::float8);
    chunks := @extschema@.report_work(profile, block_cap);
    w := @extschema@.report_work_tables(chunks);

    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the pairs inside components of the strong pairs that no key found, scored like the
    -- candidates (in parallel), so that report_cluster() has every pair of a component
    EXECUTE format('CREATE %s TABLE %s AS SELECT n, a, b FROM @extschema@.report_missing_pairs(%L::regclass, %L::regclass[], %L::float8)',
                   CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END,
                   @extschema@.report_work_name('inner'), w[1], w[2:], threshold);
    EXECUTE format('CREATE INDEX ON %s (n)', @extschema@.report_work_name('inner'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('inner'));
    chunks := @extschema@.report_score(profile, @extschema@.report_work_name('inner')::regclass, chunks, 500000,
                                       'pairs inside components');
    EXECUTE format('DROP TABLE %s', @extschema@.report_work_name('inner'));
    w := @extschema@.report_work_tables(chunks);
    DROP TABLE IF EXISTS pg_temp.cd_report_clusters;
    CREATE TEMP TABLE cd_report_clusters ON COMMIT DROP AS
        SELECT k.rn, k.center, k.score FROM @extschema@.report_cluster(profile, w[1], w[2:], threshold, 0.2) k;
    RAISE NOTICE 'crmdedup: % clusters (% s)',
        (SELECT count(*) FROM (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) c),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the suggested survivor of each cluster
    IF survivor = 'most_referenced' THEN
        FOR fk IN SELECT c.conrelid::regclass AS child, a.attname AS col
                    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   WHERE c.contype = 'f' AND c.confrelid = p.table_oid AND cardinality(c.conkey) = 1 LOOP
            refs := refs || format(' + (SELECT count(*) FROM %s x WHERE x.%I::text = c.id)', fk.child, fk.col);
        END LOOP;
    END IF;
    -- the survivor rules read the whole row (as report_rows_sql() gives it, child-table fields
    -- included), built for the clustered rows only
    RETURN QUERY EXECUTE format(
        'WITH c AS (SELECT k.rn, k.center, cc.id AS cluster_id, r.id, k.score
                      FROM pg_temp.cd_report_clusters k
                      JOIN (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) big USING (center)
                      JOIN %1$s r ON r.rn = k.rn JOIN %1$s cc ON cc.rn = k.center),
              f AS (SELECT q.id, q.r FROM (%4$s) q WHERE q.id IN (SELECT c.id FROM c)),
              m AS (SELECT c.cluster_id, c.id, c.score, %2$s AS rank_value FROM c JOIN f ON f.id = c.id),
              s AS (SELECT DISTINCT ON (cluster_id) cluster_id, id AS survivor
                      FROM m ORDER BY cluster_id, rank_value %3$s NULLS LAST, id)
         SELECT m.cluster_id, m.id, m.score, m.id = s.survivor, s.survivor
           FROM m JOIN s USING (cluster_id)
          ORDER BY m.cluster_id, m.id = s.survivor DESC, m.score DESC, m.id',
        w[1],
        CASE survivor
            WHEN 'most_complete' THEN '@extschema@.filled_fields(f.r)'
            WHEN 'most_referenced' THEN '0' || refs
            ELSE format('(f.r->>%L)::timestamptz', coalesce(survivor_column, 'created_at')) END,
        CASE survivor WHEN 'oldest' THEN 'ASC' ELSE 'DESC' END,
        @extschema@.report_rows_sql(profile));
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ');
END;
$$;

COMMENT ON FUNCTION @extschema@.clusters(text, float8, text, integer, text) IS
'duplicate clusters of a profile''s table: members, their score against the cluster''s best record, and a suggested survivor';

CREATE OR REPLACE FUNCTION @extschema@.summary(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 20)
RETURNS TABLE (section text, item text, value numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    nrows bigint;
BEGIN
    DROP TABLE IF EXISTS pg_temp.cd_summary_clusters, pg_temp.cd_report_rows;
    CREATE TEMP TABLE cd_summary_clusters ON COMMIT DROP AS SELECT * FROM @extschema@.clusters(profile, min_score, 'most_complete', block_cap);
    EXECUTE format('SELECT count(*) FROM %s', (SELECT pr.table_oid FROM @extschema@.profiles pr WHERE pr.name = profile)) INTO nrows;
    -- the clustered rows as jsonb, for the reasons
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT q.id, q.r FROM (%s) q
                     WHERE q.id IN (SELECT c.id FROM pg_temp.cd_summary_clusters c)', @extschema@.report_rows_sql(profile));
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    RETURN QUERY
        SELECT 'totals', 'rows', nrows::numeric
        UNION ALL SELECT 'totals', 'rows in clusters', count(*)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'clusters', count(DISTINCT cluster_id)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate rows (would be merged away)',
                         (count(*) - count(DISTINCT cluster_id))::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate share %',
                         round(100.0 * (count(*) - count(DISTINCT cluster_id)) / greatest(nrows, 1), 2)
                    FROM pg_temp.cd_summary_clusters
        UNION ALL
        SELECT 'clusters by size', size || ' records', count(*)::numeric
          FROM (SELECT cluster_id, count(*) AS size FROM pg_temp.cd_summary_clusters GROUP BY cluster_id) s
         GROUP BY size
        UNION ALL
        -- why members match their cluster's best record: the fields that gave positive evidence
        SELECT 'pairs by reason', reason, count(*)::numeric
          FROM (SELECT (SELECT string_agg(f->>'level' || ' (' || (f->>'field') || ')', ' + '
                                          ORDER BY (f->>'weight')::float8 DESC)
                          FROM jsonb_array_elements(m.explanation->'fields') f
                         WHERE (f->>'weight')::float8 > 0) AS reason
                  FROM pg_temp.cd_summary_clusters c
                  JOIN pg_temp.cd_report_rows ra ON ra.id = c.id
                  JOIN pg_temp.cd_report_rows rb ON rb.id = c.suggested_survivor,
                       @extschema@.score_rows(profile, ra.r, rb.r, true) m
                 WHERE NOT c.is_survivor) x
         GROUP BY reason;
END;
$$;

COMMENT ON FUNCTION @extschema@.summary(text, float8, integer) IS
'rows, rows in clusters, clusters by size, duplicate share and counts by reason of a profile''s table';

-- crmdedup.name_ops: name index keys name-grams-3 and nickname data nicknames-2 (no SQL object
-- changes): name_similarity() learned typos of short words and more nicknames, and the keys
-- follow it.  Indexes USING gin (... crmdedup.name_ops) built by 0.1.0 or by an earlier 0.2.0
-- build must be rebuilt (REINDEX), then crmdedup.refresh_versions(); crmdedup.versions() warns.

-- guard(): a person's name is found by its sound key, phonetic(person_key(column)), in an index
-- named "..._person_sound" (a typo or spelling variant with no phone or email in common is a
-- candidate); guards made before keep their exact-key index and probe.
CREATE OR REPLACE FUNCTION @extschema@.guard(profile text, action text DEFAULT 'block', name text DEFAULT NULL,
                                  fields text[] DEFAULT NULL, min_score float8 DEFAULT NULL,
                                  link_column text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    gname text;
    tbl regclass;
    idcol text;
    keys text[] := '{}';
    conds text[] := '{}';
    cols text[] := '{}';
    cexpr text;
    iexpr text;
    iname text;
    used text[] := '{}';
    link_type text;
    id_type text;
    nsp text;
    relname text;
    coltype text;
    listcast text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = guard.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    tbl := p.table_oid;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to guard it', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF action IS NULL OR action NOT IN ('block', 'flag', 'link') THEN
        RAISE EXCEPTION 'invalid guard action "%"', coalesce(action, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use block, flag or link.';
    END IF;
    gname := coalesce(name, profile || '_' || action);
    IF gname !~ '^[A-Za-z_][A-Za-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'invalid guard name "%"', gname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use letters, digits and underscores, at most 41 characters, starting with a letter.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.guards g WHERE g.name = gname) THEN
        RAISE EXCEPTION 'guard "%" already exists', gname USING ERRCODE = 'duplicate_object';
    END IF;
    IF min_score IS NOT NULL AND (min_score < 0 OR min_score > 1) THEN
        RAISE EXCEPTION 'min_score must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    idcol := p.compiled->>'id';
    id_type := p.compiled->>'id_type';
    SELECT n.nspname, c.relname INTO nsp, relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;

    IF action = 'link' THEN
        IF link_column IS NULL THEN
            RAISE EXCEPTION 'a link guard needs link_column' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Name the column that receives the existing row''s id, e.g. link_column => ''duplicate_of''.';
        END IF;
        SELECT format_type(atttypid, atttypmod) INTO link_type FROM pg_attribute
         WHERE attrelid = tbl AND attname = link_column AND attnum > 0 AND NOT attisdropped;
        IF link_type IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', link_column, tbl USING ERRCODE = 'undefined_column';
        END IF;
    ELSIF link_column IS NOT NULL THEN
        RAISE EXCEPTION 'link_column applies to link guards only' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') LOOP
        CONTINUE WHEN fields IS NOT NULL AND NOT (f->>'field' = ANY (fields));
        CONTINUE WHEN f->>'role' NOT IN ('phone', 'email', 'person_name', 'company', 'external_id');
        IF f ? 'from' THEN
            IF fields IS NOT NULL THEN
                RAISE EXCEPTION 'field "%" lives in table % and cannot be guarded on %', f->>'field',
                    f->'from'->>'table', tbl
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Guard the child table with its own profile.';
            END IF;
            CONTINUE;
        END IF;
        -- a list column (text[], jsonb) is keyed as a whole; a scalar column one value at a time
        coltype := (SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = tbl AND attname = f->>'field');
        listcast := CASE WHEN coltype IN ('text[]', 'character varying[]') THEN 'text[]'
                         WHEN coltype IN ('jsonb', 'json') THEN 'jsonb' END;
        IF listcast IS NOT NULL AND f->>'role' NOT IN ('phone', 'email') THEN
            RAISE EXCEPTION '% field "%" must be a scalar column to be guarded', f->>'role', f->>'field'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        CASE f->>'role'
        WHEN 'phone' THEN
            IF listcast IS NULL THEN
                -- plain C calls on a scalar: an SQL-language helper per row costs more than the probe
                keys := keys || format('SELECT ''p:'' || @extschema@.phone_e164(($1).%I::text, %L)', f->>'field', f->>'region');
                iexpr := format('@extschema@.phone_e164(%I::text, %L)', f->>'field', f->>'region');
                cexpr := format('@extschema@.phone_e164(t.%I::text, %L) = @extschema@.phone_e164(($1).%I::text, %L)',
                                f->>'field', f->>'region', f->>'field', f->>'region');
            ELSE
                keys := keys || format('SELECT ''p:'' || k FROM unnest(@extschema@.phone_keys(($1).%I::%s, %L)) k',
                                       f->>'field', listcast, f->>'region');
                iexpr := format('@extschema@.phone_keys(%I::%s, %L)', f->>'field', listcast, f->>'region');
                cexpr := format('@extschema@.phone_keys(t.%I::%s, %L) OPERATOR(pg_catalog.&&) @extschema@.phone_keys(($1).%I::%s, %L)',
                                f->>'field', listcast, f->>'region', f->>'field', listcast, f->>'region');
            END IF;
        WHEN 'email' THEN
            IF listcast IS NULL THEN
                keys := keys || format('SELECT ''e:'' || @extschema@.email_key(($1).%I::text)', f->>'field');
                iexpr := format('@extschema@.email_key(%I::text)', f->>'field');
                cexpr := format('@extschema@.email_key(t.%I::text) = @extschema@.email_key(($1).%I::text)',
                                f->>'field', f->>'field');
            ELSE
                keys := keys || format('SELECT ''e:'' || k FROM unnest(@extschema@.email_keys(($1).%I::%s)) k',
                                       f->>'field', listcast);
                iexpr := format('@extschema@.email_keys(%I::%s)', f->>'field', listcast);
                cexpr := format('@extschema@.email_keys(t.%I::%s) OPERATOR(pg_catalog.&&) @extschema@.email_keys(($1).%I::%s)',
                                f->>'field', listcast, f->>'field', listcast);
            END IF;
        WHEN 'person_name' THEN
            -- the sorted transliterated words, and their sound keys (typos, spelling variants);
            -- candidates by the sound key, which the same words always share
            keys := keys || format('SELECT ''n:'' || @extschema@.person_key(($1).%I::text)', f->>'field')
                         || format('SELECT ''h:'' || @extschema@.phonetic(@extschema@.person_key(($1).%I::text))', f->>'field');
            iexpr := format('@extschema@.phonetic(@extschema@.person_key(%I::text))', f->>'field');
            cexpr := format('@extschema@.phonetic(@extschema@.person_key(t.%I::text)) = @extschema@.phonetic(@extschema@.person_key(($1).%I::text))',
                            f->>'field', f->>'field');
        WHEN 'company' THEN
            keys := keys || format('SELECT ''c:'' || @extschema@.company_key(($1).%I::text)', f->>'field');
            iexpr := format('@extschema@.company_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.company_key(t.%I::text) = @extschema@.company_key(($1).%I::text)',
                            f->>'field', f->>'field');
        ELSE    -- external_id
            keys := keys || format('SELECT ''x:'' || %L || '':'' || @extschema@.name_key(($1).%I::text)', f->>'field', f->>'field');
            iexpr := format('@extschema@.name_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.name_key(t.%I::text) = @extschema@.name_key(($1).%I::text)',
                            f->>'field', f->>'field');
        END CASE;
        conds := conds || cexpr;
        cols := cols || (f->>'field');
        used := used || (f->>'field');
        -- the index that makes the probe O(candidates): btree on a key, GIN on a key array
        -- (a name's index is on its sound key: "_person_sound", not the exact key's "_person_name")
        iname := left('crmdedup_' || relname || '_' || (f->>'field') || '_'
                      || CASE WHEN f->>'role' = 'person_name' THEN 'person_sound' ELSE f->>'role' END, 63);
        IF to_regclass(format('%I.%I', nsp, iname)) IS NULL THEN
            EXECUTE format('CREATE INDEX %I ON %s USING %s ((%s))',
                           iname, tbl,
                           CASE WHEN iexpr LIKE '%_keys(%' THEN 'gin' ELSE 'btree' END, iexpr);
        END IF;
    END LOOP;

    IF cardinality(conds) = 0 THEN
        RAISE EXCEPTION 'profile "%" has no field a guard can use', profile
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Guards find candidates by phone, email, person_name, company or external_id columns of the table.';
    END IF;

    INSERT INTO @extschema@.guards (name, profile, table_oid, action, fields, min_score, link_column, keys_sql, probe_sql)
    VALUES (gname, profile, tbl, action, used,
            coalesce(min_score, (p.compiled->>'same')::float8), link_column,
            format('SELECT ARRAY(SELECT DISTINCT k FROM (%s) s(k) WHERE k IS NOT NULL)', array_to_string(keys, ' UNION ALL ')),
            format('SELECT t.%I::text, m.score, m.explanation, '
                   '(SELECT string_agg(CASE WHEN (x->>''similarity'')::float8 >= 0.999 THEN x->>''level'' '
                   'ELSE (x->>''level'') || '' '' || (x->>''similarity'') END || '' ('' || (x->>''field'') || '')'', '', '' '
                   'ORDER BY (x->>''weight'')::float8 DESC) FROM jsonb_array_elements(m.explanation->''fields'') x '
                   'WHERE (x->>''weight'')::float8 > 0) '
                   'FROM %s t CROSS JOIN LATERAL @extschema@.score_rows(%L, to_jsonb($1), to_jsonb(t), true) m '
                   'WHERE (%s) AND t.%I IS DISTINCT FROM ($1).%I AND m.score >= $2 ORDER BY m.score DESC, 1 LIMIT 3',
                   idcol, tbl, profile, array_to_string(conds, ' OR '), idcol, idcol));

    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_trigger(%L)',
                   'crmdedup_guard_' || gname,
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c), tbl, gname);
    RETURN gname;
END;
$$;

-- Matching quality (issue 3): whole person names and mailbox names in the term statistics;
-- the "typo or other domain" email level is frequency-aware.  Profiles compiled before
-- keep their levels until crmdedup.alter_profile() or crmdedup.estimate(); run
-- crmdedup.analyze() again to gather the new statistics.

CREATE OR REPLACE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005,"tf":true}]'
    WHEN 'person_name' THEN '[{"level":"same name","min":0.98,"m":0.70,"u":0.002,"tf":true},
                              {"level":"similar name","min":0.9,"m":0.20,"u":0.005,"tf":true},
                              {"level":"somewhat similar","min":0.75,"m":0.06,"u":0.03}]'
    WHEN 'first_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.02,"tf":true},
                             {"level":"similar","min":0.9,"m":0.10,"u":0.02},
                             {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.05}]'
    WHEN 'last_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.005,"tf":true},
                            {"level":"similar","min":0.9,"m":0.10,"u":0.005},
                            {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.03}]'
    WHEN 'middle_name' THEN '[{"level":"same","min":0.98,"m":0.70,"u":0.05},
                              {"level":"similar","min":0.85,"m":0.10,"u":0.05}]'
    WHEN 'company' THEN '[{"level":"same company","min":0.98,"m":0.70,"u":0.01,"tf":true},
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.03}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true},
                       {"level":"similar","min":0.85,"m":0.05,"u":0.02}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01}]'
    WHEN 'external_id' THEN '[{"level":"same id","min":0.999,"m":0.90,"u":0.00001}]'
    WHEN 'code' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                       {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'text' THEN '[{"level":"same","min":0.95,"m":0.60,"u":0.01},
                       {"level":"similar","min":0.8,"m":0.25,"u":0.03}]'
END::jsonb;

CREATE OR REPLACE FUNCTION @extschema@.term_keys(role text, v text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE role
    WHEN 'person_name' THEN string_to_array(@extschema@.person_key(v), ' ')
    WHEN 'first_name' THEN ARRAY[@extschema@.translit(v)]
    WHEN 'last_name' THEN ARRAY[@extschema@.translit(v)]
    WHEN 'company' THEN ARRAY[@extschema@.translit(@extschema@.company_key(v))]
    WHEN 'city' THEN ARRAY[@extschema@.translit(v)]
    -- the mailbox name: the local part of the email key; the name key when v is no address
    WHEN 'email' THEN ARRAY[coalesce(nullif(substring(@extschema@.email_key(v) FROM '^(.*)@'), ''),
                                     @extschema@.name_key(v))]
    ELSE ARRAY[@extschema@.name_key(v)]
END;

CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          f->'from'->>'table');
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, whole person name, company, city, code and mailbox name occurs in the profile''s table; returns the row count';

-- issue 3 (2026-11-27): estimate() takes u from the random pairs weighted by the probability
-- that they are not duplicates; "same number" of phones uses term frequencies (numbers other rows
-- hold too, gathered by analyze()) that can weaken it, not strengthen it; birth dates at most
-- 31 days apart reach the new level "within a month"

-- Default comparison levels per role: similarity at least "min" reaches the level; m is the
-- share of true duplicates at that level, u the share of unrelated pairs (Fellegi-Sunter).
-- Pairs below the last level fall into "different", with the remaining m and u.  "tf": the
-- top levels use term frequencies gathered by analyze() as u when known (0.2.0: also "same
-- number" of phones, so that a switchboard number many records share weighs little).
CREATE OR REPLACE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005,"tf":true},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005,"tf":true}]'
    WHEN 'person_name' THEN '[{"level":"same name","min":0.98,"m":0.70,"u":0.002,"tf":true},
                              {"level":"similar name","min":0.9,"m":0.20,"u":0.005,"tf":true},
                              {"level":"somewhat similar","min":0.75,"m":0.06,"u":0.03}]'
    WHEN 'first_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.02,"tf":true},
                             {"level":"similar","min":0.9,"m":0.10,"u":0.02},
                             {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.05}]'
    WHEN 'last_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.005,"tf":true},
                            {"level":"similar","min":0.9,"m":0.10,"u":0.005},
                            {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.03}]'
    WHEN 'middle_name' THEN '[{"level":"same","min":0.98,"m":0.70,"u":0.05},
                              {"level":"similar","min":0.85,"m":0.10,"u":0.05}]'
    WHEN 'company' THEN '[{"level":"same company","min":0.98,"m":0.70,"u":0.01,"tf":true},
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.03}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true},
                       {"level":"similar","min":0.85,"m":0.05,"u":0.02}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01},
                             {"level":"within a month","min":0.77,"m":0.03,"u":0.003}]'
    WHEN 'external_id' THEN '[{"level":"same id","min":0.999,"m":0.90,"u":0.00001}]'
    WHEN 'code' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                       {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'text' THEN '[{"level":"same","min":0.95,"m":0.60,"u":0.01},
                       {"level":"similar","min":0.8,"m":0.25,"u":0.03}]'
END::jsonb;

COMMENT ON FUNCTION @extschema@.default_levels(text) IS
'default comparison levels (similarity threshold, m and u probabilities) of a field role; NULL for an unknown role';

-- similarity of two values of a role, in [0,1]
CREATE OR REPLACE FUNCTION @extschema@.value_similarity(role text, a text, b text, region text)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'person_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'first_name' THEN @extschema@.name_part_similarity(a, b)
    WHEN 'last_name' THEN @extschema@.name_part_similarity(a, b)
    WHEN 'middle_name' THEN @extschema@.name_part_similarity(a, b)
    WHEN 'company' THEN @extschema@.company_similarity(a, b)
    WHEN 'phone' THEN @extschema@.phone_similarity(a, b, region)
    WHEN 'email' THEN @extschema@.email_similarity(a, b)
    WHEN 'address' THEN @extschema@.address_similarity(a, b)
    WHEN 'text' THEN coalesce(@extschema@.token_similarity(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'city' THEN coalesce(@extschema@.jaro_winkler(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'postcode' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'code' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'external_id' THEN CASE WHEN @extschema@.name_key(a) = @extschema@.name_key(b) THEN 1 ELSE 0 END
    WHEN 'birth_date' THEN (
        SELECT CASE WHEN da IS NULL OR db IS NULL THEN 0
                    WHEN da = db THEN 1
                    -- day and month swapped (US vs European order)
                    WHEN left(da, 4) = left(db, 4) AND substr(da, 5, 2) = substr(db, 7, 2)
                         AND substr(da, 7, 2) = substr(db, 5, 2) THEN 0.85
                    -- 0.2.0: two real dates at most 31 days apart (a day or a month typed
                    -- wrong) score 0.78 when their digits are further apart
                    ELSE greatest(lev, CASE WHEN lev < 0.78 AND abs(na - nb) <= 31 THEN 0.78 END) END
          FROM (SELECT da, db, @extschema@.levenshtein_similarity(da, db) AS lev,
                       -- the day number of a real date of 8 digits YYYYMMDD (year >= 1), else NULL
                       CASE WHEN da ~ '^[0-9]{8}$' THEN
                           CASE WHEN substr(da, 1, 4)::int >= 1 AND substr(da, 5, 2)::int BETWEEN 1 AND 12 THEN
                               CASE WHEN substr(da, 7, 2)::int BETWEEN 1 AND extract(day FROM
                                             make_date(substr(da, 1, 4)::int, substr(da, 5, 2)::int, 1)
                                             + interval '1 month - 1 day')::int
                                    THEN make_date(substr(da, 1, 4)::int, substr(da, 5, 2)::int, substr(da, 7, 2)::int)
                               END END END AS na,
                       CASE WHEN db ~ '^[0-9]{8}$' THEN
                           CASE WHEN substr(db, 1, 4)::int >= 1 AND substr(db, 5, 2)::int BETWEEN 1 AND 12 THEN
                               CASE WHEN substr(db, 7, 2)::int BETWEEN 1 AND extract(day FROM
                                             make_date(substr(db, 1, 4)::int, substr(db, 5, 2)::int, 1)
                                             + interval '1 month - 1 day')::int
                                    THEN make_date(substr(db, 1, 4)::int, substr(db, 5, 2)::int, substr(db, 7, 2)::int)
                               END END END AS nb
                  FROM (SELECT @extschema@.date_digits(a) AS da, @extschema@.date_digits(b) AS db) d) d2)
END;

-- Gather term frequencies of the name-like fields of a profile's table.
CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email', 'phone')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          f->'from'->>'table');
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'phone' THEN
            -- a number: how many rows hold it besides the two compared (0.2.0); a number
            -- held by one or two rows is left out (the scorer then keeps the level's u: a
            -- number can weaken the level, as a switchboard many records share does, not
            -- strengthen it)
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT k) - 2)::float8 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''phone'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT k) > 2', '@extschema@', src, '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, whole person name, company, city, code, phone and mailbox name occurs in the profile''s table; returns the row count';

CREATE OR REPLACE FUNCTION @extschema@.estimate(profile text, block_cap integer DEFAULT 100,
                                     sample_pairs integer DEFAULT 20000, max_iterations integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
SET client_min_messages = warning
AS $$
DECLARE
    p record;
    c jsonb;
    nrows bigint;
    all_pairs float8;
    ncand bigint;
    nrand bigint;
    lam float8;
    lam_new float8;
    lam_r float8;
    k int;
    delta float8;
    it int := 0;
    prior float8;
    fields jsonb := '[]';
    f jsonb;
    fidx int;
    summary jsonb;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = estimate.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = p.table_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one estimate of a profile at a time
    PERFORM 1 FROM @extschema@.profiles pr WHERE pr.name = p.name FOR UPDATE;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sample_pairs IS NULL OR sample_pairs < 100 THEN
        RAISE EXCEPTION 'sample_pairs must be at least 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_iterations IS NULL OR max_iterations < 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- start from the spec's defaults every time: estimates never feed on earlier estimates
    c := @extschema@.compile_profile_spec(p.table_oid, p.spec);
    UPDATE @extschema@.profiles pr SET compiled = c WHERE pr.name = p.name;

    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    EXECUTE 'CREATE TEMP TABLE cd_est_rows AS SELECT row_number() OVER (ORDER BY s.id) AS rn, s.r FROM ('
            || @extschema@.report_rows_sql(profile) || ') s';
    ALTER TABLE pg_temp.cd_est_rows ADD PRIMARY KEY (rn);
    nrows := (SELECT count(*) FROM pg_temp.cd_est_rows);
    all_pairs := nrows::float8 * (nrows - 1) / 2;
    IF nrows < 3 THEN
        RAISE EXCEPTION 'profile "%": too few rows to estimate from (%)', profile, nrows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- candidate pairs: the blocking keys of the reports, frequent keys skipped
    CREATE TEMP TABLE cd_est_keys AS
        SELECT r.rn, k.k AS key FROM pg_temp.cd_est_rows r, @extschema@.blocking_keys(c, r.r) AS k(k);
    CREATE TEMP TABLE cd_est_pairs AS
        SELECT DISTINCT x AS a, y AS b, true AS cand
          FROM (SELECT array_agg(rn) AS ids FROM pg_temp.cd_est_keys GROUP BY key
                 HAVING count(*) BETWEEN 2 AND block_cap) g,
               unnest(g.ids) x, unnest(g.ids) y
         WHERE x < y;
    ncand := (SELECT count(*) FROM pg_temp.cd_est_pairs);
    -- random pairs (every pair of a small table); drawn by a hash, so the same table gives the
    -- same estimate
    IF all_pairs <= sample_pairs THEN
        INSERT INTO pg_temp.cd_est_pairs
        SELECT x, y, false FROM generate_series(1, nrows) x, generate_series(1, nrows) y WHERE x < y;
    ELSE
        INSERT INTO pg_temp.cd_est_pairs
        SELECT least(x, y), greatest(x, y), false
          FROM (SELECT 1 + abs(hashint8(2 * i::bigint)::bigint) % nrows AS x,
                       1 + abs(hashint8(2 * i::bigint + 1)::bigint) % nrows AS y
                  FROM generate_series(1, sample_pairs) i) s
         WHERE x <> y;
    END IF;
    nrand := (SELECT count(*) FROM pg_temp.cd_est_pairs WHERE NOT cand);
    IF ncand = 0 THEN
        RAISE EXCEPTION 'profile "%": the blocking keys find no candidate pairs to estimate from', profile
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- comparison vectors: per field the index of the level reached (the levels in order, then
    -- "different"), -1 when a value is missing; identical vectors counted once
    CREATE TEMP TABLE cd_est_lv AS
        SELECT cf.value->>'field' AS field, l.level, cf.ord::int AS fi, l.li
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
         CROSS JOIN LATERAL (SELECT lv->>'level' AS level, (o - 1)::int AS li
                               FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                             UNION ALL SELECT 'different', jsonb_array_length(cf.value->'levels')
                             UNION ALL SELECT 'missing', -1) l;
    CREATE TEMP TABLE cd_est_ex AS
        SELECT row_number() OVER () AS id, e.cand, s.explanation->'fields' AS ex
          FROM pg_temp.cd_est_pairs e
          JOIN pg_temp.cd_est_rows ra ON ra.rn = e.a
          JOIN pg_temp.cd_est_rows rb ON rb.rn = e.b,
               LATERAL @extschema@.score_rows(profile, ra.r, rb.r, true) s;
    CREATE TEMP TABLE cd_est_pat AS
        SELECT row_number() OVER () AS pid, cand, cv, count(*) AS n
          FROM (SELECT x.id, x.cand, array_agg(lv.li ORDER BY lv.fi) AS cv
                  FROM pg_temp.cd_est_ex x, jsonb_array_elements(x.ex) fe, pg_temp.cd_est_lv lv
                 WHERE lv.field = fe->>'field' AND lv.level = fe->>'level'
                 GROUP BY x.id, x.cand) s
         GROUP BY cand, cv;
    CREATE TEMP TABLE cd_est_pv AS
        SELECT t.pid, t.cand, x.fi::int AS fi, x.li, t.n
          FROM pg_temp.cd_est_pat t, unnest(t.cv) WITH ORDINALITY AS x(li, fi)
         WHERE x.li >= 0;

    -- parameters per field and level: m0, u0 the defaults; u_rand from the random pairs
    CREATE TEMP TABLE cd_est_par AS
        SELECT cf.ord::int AS fi, l.li, l.m0, l.u0, l.m0 AS m, coalesce(r.u_rand, 0) AS u_rand,
               coalesce(jsonb_typeof(p.spec->'fields'->(cf.value->>'field')) = 'object'
                        AND (p.spec->'fields'->(cf.value->>'field')) ? 'levels', false) AS fixed
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
          CROSS JOIN LATERAL (SELECT (o - 1)::int AS li, (lv->>'m')::float8 AS m0, (lv->>'u')::float8 AS u0
                          FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                        UNION ALL
                        SELECT jsonb_array_length(cf.value->'levels'),
                               1 - (SELECT sum((lv->>'m')::float8) FROM jsonb_array_elements(cf.value->'levels') lv),
                               1 - (SELECT sum((lv->>'u')::float8) FROM jsonb_array_elements(cf.value->'levels') lv)) l
          LEFT JOIN (SELECT v.fi, v.li, sum(v.n)::float8 / sum(sum(v.n)) OVER (PARTITION BY v.fi) AS u_rand
                       FROM pg_temp.cd_est_pv v WHERE NOT v.cand GROUP BY v.fi, v.li) r
            ON r.fi = cf.ord AND r.li = l.li;
    -- u during EM: the random pairs' share (floored: a level no random pair reached keeps the
    -- smaller of its default and one in the sample)
    ALTER TABLE pg_temp.cd_est_par ADD COLUMN u float8;
    UPDATE pg_temp.cd_est_par
       SET u = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    ALTER TABLE pg_temp.cd_est_par ADD PRIMARY KEY (fi, li);
    ANALYZE pg_temp.cd_est_par;
    ANALYZE pg_temp.cd_est_pv;

    -- EM over the candidates: E step, the probability each vector is a duplicate pair; M step,
    -- m and u as the posterior-weighted shares (plus one pseudo-pair at the starting values)
    lam := 0.1;
    CREATE TEMP TABLE cd_est_post (pid bigint PRIMARY KEY, n bigint, w float8);
    LOOP
        it := it + 1;
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n,
               1 / (1 + (1 - lam) / lam * exp(least(700, greatest(-700,
                   coalesce(sum(ln(pr.u) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
         WHERE t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(n * w) / sum(n) FROM pg_temp.cd_est_post);
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * q.w) AS sm, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.sm, 0) AS sm, coalesce(s.su, 0) AS su,
                   sum(coalesce(s.sm, 0)) OVER (PARTITION BY pr.fi) AS tm,
                   sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET m = greatest(1e-6, (tot.sm + pr.m0) / (tot.tm + 1)),
               u = greatest(1e-9, (tot.su + pr.u) / (tot.tu + 1))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND NOT pr.fixed;
        delta := abs(lam_new - lam);
        lam := least(0.999, greatest(1e-9, lam_new));
        EXIT WHEN it >= max_iterations OR delta < 1e-7;
    END LOOP;

    -- EM can settle on another split of the candidates than duplicates / the rest (in a table
    -- where the blocking keys gather many records of one common first name, on "same first
    -- name").  Such a split shows as a field whose top level then counts against being
    -- duplicates (m below u): the estimate is not used, the defaults stay.
    IF EXISTS (SELECT 1 FROM pg_temp.cd_est_par pr WHERE pr.li = 0 AND NOT pr.fixed
                  AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1)))) THEN
        summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                      'iterations', it, 'rejected', true);
        RAISE WARNING 'crmdedup: the estimate for profile "%" was not used: it makes agreeing on field "%" count against duplicates',
            profile, (SELECT string_agg(e.fv->>'field', ', ') FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                        JOIN pg_temp.cd_est_par pr ON pr.fi = e.o AND pr.li = 0 AND NOT pr.fixed
                         AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1))))
            USING HINT = 'The profile keeps its default m, u and prior.  Try again with a lower block_cap, or give the levels in the spec.';
        DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
            pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
        RETURN summary;
    END IF;

    -- The prior: the duplicates EM counts among the candidates, over all pairs; but the blocking
    -- keys skip big blocks, where the duplicates of a frequent name sit, so the share of
    -- duplicates among the random pairs is estimated too (the same E step over the random
    -- sample, with m from EM), and the larger of the two is taken.
    -- The random pairs hold duplicates too (about prior x sample pairs of them), and on the top
    -- levels of identifying fields (same mailbox, same date) they are most of what the sample
    -- sees: their share is not u.  So u is estimated in the same loop as that share (0.2.0): the
    -- M step takes u as the share of each level among the random pairs weighted by the
    -- probability that they are not duplicates (floored as above: a level no unrelated pair
    -- reached keeps the smaller of its default and one in the sample).
    UPDATE pg_temp.cd_est_par SET u_rand = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    lam_r := least(0.5, greatest(1e-9, lam * ncand / all_pairs));
    FOR k IN 1 .. max_iterations LOOP
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n, 1 / (1 + (1 - lam_r) / lam_r * exp(least(700, greatest(-700,
                   coalesce(sum(ln(pr.u_rand) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
         WHERE NOT t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(q.n * q.w) / sum(q.n) FROM pg_temp.cd_est_post q);
        lam_new := least(0.5, greatest(1e-9, lam_new));
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.su, 0) AS su, sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET u_rand = greatest(tot.su / tot.tu, least(pr.u0, 1.0 / greatest(nrand, 1)))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND tot.tu > 0 AND NOT pr.fixed;
        delta := abs(lam_new - lam_r);
        lam_r := lam_new;
        EXIT WHEN delta < 1e-9;
    END LOOP;

    -- the compiled profile with the estimates: m from EM, u from the random pairs
    prior := CASE WHEN p.spec ? 'prior' THEN (c->>'prior')::float8
                  ELSE least(0.5, greatest(1e-9, lam * ncand / all_pairs, lam_r)) END;
    FOR f, fidx IN SELECT e.value, e.ord FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(value, ord) LOOP
        IF NOT (SELECT bool_or(fixed) FROM pg_temp.cd_est_par WHERE cd_est_par.fi = fidx) THEN
            -- named levels keep below 1 in m and u together (the rest is "different")
            f := jsonb_set(f, '{levels}', (
                SELECT jsonb_agg(lv || jsonb_build_object(
                           'm', round((pr.m / greatest(1, s.sm / 0.999))::numeric, 8)::float8,
                           'u', round((pr.u_rand / greatest(1, s.su / 0.999))::numeric, 10)::float8)
                           ORDER BY o)
                  FROM jsonb_array_elements(f->'levels') WITH ORDINALITY AS l(lv, o)
                  JOIN pg_temp.cd_est_par pr ON pr.fi = fidx AND pr.li = o - 1,
                       LATERAL (SELECT sum(x.m) AS sm, sum(x.u_rand) AS su
                                  FROM pg_temp.cd_est_par x
                                 WHERE x.fi = fidx AND x.li < jsonb_array_length(f->'levels')) s));
        END IF;
        fields := fields || jsonb_build_array(f);
    END LOOP;
    summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                  'iterations', it, 'duplicate_share_of_candidates', round(lam::numeric, 6),
                                  'duplicate_share_of_random_pairs', round(lam_r::numeric, 6),
                                  'prior', prior, 'estimated_at', now());
    c := c || jsonb_build_object('fields', fields, 'prior', prior, 'estimated', summary);
    UPDATE @extschema@.profiles pr SET compiled = c, updated_at = now() WHERE pr.name = p.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- the scorer's checks of the new numbers (an error here undoes the update)
    PERFORM @extschema@.score_rows(profile, '{}', '{}', false);
    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    RETURN summary;
END;
$$;

COMMENT ON FUNCTION @extschema@.estimate(text, integer, integer, integer) IS
'estimate a profile''s m and u probabilities and its prior from its table (u from random pairs, m and the duplicate share by EM over the blocking candidates)';

-- 0.2.0 (issue 3, patstat): company names by their words (each counted over the distinct names
-- holding it) and whole company names over the distinct values of the other fields; estimate()
-- finds the random pairs' share of duplicates with the term-frequency u the scorer uses
CREATE OR REPLACE FUNCTION @extschema@.term_keys(role text, v text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE role
    WHEN 'person_name' THEN string_to_array(@extschema@.person_key(v), ' ')
    WHEN 'first_name' THEN ARRAY[@extschema@.translit(v)]
    WHEN 'last_name' THEN ARRAY[@extschema@.translit(v)]
    -- 0.2.0: the words of a company name (its whole-name share of rows counts its own records)
    WHEN 'company' THEN string_to_array(@extschema@.translit(@extschema@.company_key(v)), ' ')
    WHEN 'city' THEN ARRAY[@extschema@.translit(v)]
    -- the mailbox name: the local part of the email key; the name key when v is no address
    WHEN 'email' THEN ARRAY[coalesce(nullif(substring(@extschema@.email_key(v) FROM '^(.*)@'), ''),
                                     @extschema@.name_key(v))]
    ELSE ARRAY[@extschema@.name_key(v)]
END;

CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
    others text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          f->'from'->>'table');
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'company' THEN
            -- 0.2.0: a company word: the share of the distinct company names holding it.
            -- Legal names are unique within a jurisdiction, so the rows sharing one name
            -- are mostly records of one company: they do not make its words look common,
            -- while a generic word (holding, electronics) is held by many names.
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, w.term, count(*)::float8 / greatest(max(k.names), 1)
                              FROM (SELECT key, count(*) OVER () AS names
                                      FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                              FROM (%s) s WHERE v IS NOT NULL) d
                                     WHERE key IS NOT NULL AND key <> '''') k,
                                   LATERAL (SELECT DISTINCT term FROM unnest(string_to_array(k.key, '' '')) AS term
                                             WHERE term <> '''') w
                             GROUP BY w.term', '@extschema@', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field';
            -- and a whole name of several words: the share of rows holding it, rows that
            -- also agree on every other field of the profile (in the table itself) counted
            -- once: copies of one record say nothing of how many companies share a name,
            -- branches at other addresses do; a name counted once is left out (1/rows)
            SELECT coalesce(string_agg(format('t.%I', o->>'field'), ', ' ORDER BY o->>'field'), '')
              INTO others
              FROM jsonb_array_elements(p.compiled->'fields') o
             WHERE NOT o ? 'from' AND o->>'field' <> f->>'field';
            IF f ? 'from' THEN
                others := 's.k';	-- a child table's values: every record counts
            END IF;
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT o)::float8 / greatest($3, 1)
                              FROM (SELECT %I.translit(%I.company_key(s.v)) AS term, jsonb_build_array(%s) AS o
                                      FROM (%s) s %s WHERE s.v IS NOT NULL) w
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT o) > 1',
                           '@extschema@', '@extschema@', '@extschema@', others, src,
                           CASE WHEN f ? 'from' THEN '' ELSE format('JOIN %s t ON t.%I = s.k', p.table_oid, p.compiled->>'id') END)
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

CREATE OR REPLACE FUNCTION @extschema@.estimate(profile text, block_cap integer DEFAULT 100,
                                     sample_pairs integer DEFAULT 20000, max_iterations integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
SET client_min_messages = warning
AS $$
DECLARE
    p record;
    c jsonb;
    nrows bigint;
    all_pairs float8;
    ncand bigint;
    nrand bigint;
    lam float8;
    lam_new float8;
    lam_r float8;
    k int;
    delta float8;
    it int := 0;
    prior float8;
    fields jsonb := '[]';
    f jsonb;
    fidx int;
    summary jsonb;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = estimate.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = p.table_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one estimate of a profile at a time
    PERFORM 1 FROM @extschema@.profiles pr WHERE pr.name = p.name FOR UPDATE;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sample_pairs IS NULL OR sample_pairs < 100 THEN
        RAISE EXCEPTION 'sample_pairs must be at least 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_iterations IS NULL OR max_iterations < 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- start from the spec's defaults every time: estimates never feed on earlier estimates
    c := @extschema@.compile_profile_spec(p.table_oid, p.spec);
    UPDATE @extschema@.profiles pr SET compiled = c WHERE pr.name = p.name;

    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    EXECUTE 'CREATE TEMP TABLE cd_est_rows AS SELECT row_number() OVER (ORDER BY s.id) AS rn, s.r FROM ('
            || @extschema@.report_rows_sql(profile) || ') s';
    ALTER TABLE pg_temp.cd_est_rows ADD PRIMARY KEY (rn);
    nrows := (SELECT count(*) FROM pg_temp.cd_est_rows);
    all_pairs := nrows::float8 * (nrows - 1) / 2;
    IF nrows < 3 THEN
        RAISE EXCEPTION 'profile "%": too few rows to estimate from (%)', profile, nrows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- candidate pairs: the blocking keys of the reports, frequent keys skipped
    CREATE TEMP TABLE cd_est_keys AS
        SELECT r.rn, k.k AS key FROM pg_temp.cd_est_rows r, @extschema@.blocking_keys(c, r.r) AS k(k);
    CREATE TEMP TABLE cd_est_pairs AS
        SELECT DISTINCT x AS a, y AS b, true AS cand
          FROM (SELECT array_agg(rn) AS ids FROM pg_temp.cd_est_keys GROUP BY key
                 HAVING count(*) BETWEEN 2 AND block_cap) g,
               unnest(g.ids) x, unnest(g.ids) y
         WHERE x < y;
    ncand := (SELECT count(*) FROM pg_temp.cd_est_pairs);
    -- random pairs (every pair of a small table); drawn by a hash, so the same table gives the
    -- same estimate
    IF all_pairs <= sample_pairs THEN
        INSERT INTO pg_temp.cd_est_pairs
        SELECT x, y, false FROM generate_series(1, nrows) x, generate_series(1, nrows) y WHERE x < y;
    ELSE
        INSERT INTO pg_temp.cd_est_pairs
        SELECT least(x, y), greatest(x, y), false
          FROM (SELECT 1 + abs(hashint8(2 * i::bigint)::bigint) % nrows AS x,
                       1 + abs(hashint8(2 * i::bigint + 1)::bigint) % nrows AS y
                  FROM generate_series(1, sample_pairs) i) s
         WHERE x <> y;
    END IF;
    nrand := (SELECT count(*) FROM pg_temp.cd_est_pairs WHERE NOT cand);
    IF ncand = 0 THEN
        RAISE EXCEPTION 'profile "%": the blocking keys find no candidate pairs to estimate from', profile
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- comparison vectors: per field the index of the level reached (the levels in order, then
    -- "different"), -1 when a value is missing; identical vectors counted once
    CREATE TEMP TABLE cd_est_lv AS
        SELECT cf.value->>'field' AS field, l.level, cf.ord::int AS fi, l.li
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
         CROSS JOIN LATERAL (SELECT lv->>'level' AS level, (o - 1)::int AS li
                               FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                             UNION ALL SELECT 'different', jsonb_array_length(cf.value->'levels')
                             UNION ALL SELECT 'missing', -1) l;
    -- the levels whose u the scorer takes from the term frequencies (when analyze()d)
    ALTER TABLE pg_temp.cd_est_lv ADD COLUMN tf boolean;
    UPDATE pg_temp.cd_est_lv lv
       SET tf = coalesce((SELECT (l->>'tf')::boolean
                            FROM jsonb_array_elements(c->'fields'->(lv.fi - 1)->'levels') l
                           WHERE l->>'level' = lv.level LIMIT 1), false);
    CREATE TEMP TABLE cd_est_ex AS
        SELECT row_number() OVER () AS id, e.cand, s.explanation->'fields' AS ex
          FROM pg_temp.cd_est_pairs e
          JOIN pg_temp.cd_est_rows ra ON ra.rn = e.a
          JOIN pg_temp.cd_est_rows rb ON rb.rn = e.b,
               LATERAL @extschema@.score_rows(profile, ra.r, rb.r, true) s;
    -- tu (0.2.0): for a random pair, per field the u the scorer used at a term-frequency
    -- level (to a quarter of a bit), NULL elsewhere
    CREATE TEMP TABLE cd_est_pat AS
        SELECT row_number() OVER () AS pid, cand, cv, tu, count(*) AS n
          FROM (SELECT x.id, x.cand, array_agg(lv.li ORDER BY lv.fi) AS cv,
                       array_agg(CASE WHEN lv.tf AND NOT x.cand AND (fe->>'u')::float8 > 0
                                      THEN power(2::float8, round(4 * ln((fe->>'u')::float8) / ln(2::float8)) / 4) END
                                 ORDER BY lv.fi) AS tu
                  FROM pg_temp.cd_est_ex x, jsonb_array_elements(x.ex) fe, pg_temp.cd_est_lv lv
                 WHERE lv.field = fe->>'field' AND lv.level = fe->>'level'
                 GROUP BY x.id, x.cand) s
         GROUP BY cand, cv, tu;
    CREATE TEMP TABLE cd_est_pv AS
        SELECT t.pid, t.cand, x.fi::int AS fi, x.li, t.n, t.tu[x.fi] AS tu
          FROM pg_temp.cd_est_pat t, unnest(t.cv) WITH ORDINALITY AS x(li, fi)
         WHERE x.li >= 0;

    -- parameters per field and level: m0, u0 the defaults; u_rand from the random pairs
    CREATE TEMP TABLE cd_est_par AS
        SELECT cf.ord::int AS fi, l.li, l.m0, l.u0, l.m0 AS m, coalesce(r.u_rand, 0) AS u_rand,
               coalesce(jsonb_typeof(p.spec->'fields'->(cf.value->>'field')) = 'object'
                        AND (p.spec->'fields'->(cf.value->>'field')) ? 'levels', false) AS fixed
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
          CROSS JOIN LATERAL (SELECT (o - 1)::int AS li, (lv->>'m')::float8 AS m0, (lv->>'u')::float8 AS u0
                          FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                        UNION ALL
                        SELECT jsonb_array_length(cf.value->'levels'),
                               1 - (SELECT sum((lv->>'m')::float8) FROM jsonb_array_elements(cf.value->'levels') lv),
                               1 - (SELECT sum((lv->>'u')::float8) FROM jsonb_array_elements(cf.value->'levels') lv)) l
          LEFT JOIN (SELECT v.fi, v.li, sum(v.n)::float8 / sum(sum(v.n)) OVER (PARTITION BY v.fi) AS u_rand
                       FROM pg_temp.cd_est_pv v WHERE NOT v.cand GROUP BY v.fi, v.li) r
            ON r.fi = cf.ord AND r.li = l.li;
    -- u during EM: the random pairs' share (floored: a level no random pair reached keeps the
    -- smaller of its default and one in the sample)
    ALTER TABLE pg_temp.cd_est_par ADD COLUMN u float8;
    UPDATE pg_temp.cd_est_par
       SET u = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    ALTER TABLE pg_temp.cd_est_par ADD PRIMARY KEY (fi, li);
    ANALYZE pg_temp.cd_est_par;
    ANALYZE pg_temp.cd_est_pv;

    -- EM over the candidates: E step, the probability each vector is a duplicate pair; M step,
    -- m and u as the posterior-weighted shares (plus one pseudo-pair at the starting values)
    lam := 0.1;
    CREATE TEMP TABLE cd_est_post (pid bigint PRIMARY KEY, n bigint, w float8);
    LOOP
        it := it + 1;
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n,
               1 / (1 + (1 - lam) / lam * exp(least(700, greatest(-700,
                   coalesce(sum(ln(pr.u) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
         WHERE t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(n * w) / sum(n) FROM pg_temp.cd_est_post);
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * q.w) AS sm, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.sm, 0) AS sm, coalesce(s.su, 0) AS su,
                   sum(coalesce(s.sm, 0)) OVER (PARTITION BY pr.fi) AS tm,
                   sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET m = greatest(1e-6, (tot.sm + pr.m0) / (tot.tm + 1)),
               u = greatest(1e-9, (tot.su + pr.u) / (tot.tu + 1))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND NOT pr.fixed;
        delta := abs(lam_new - lam);
        lam := least(0.999, greatest(1e-9, lam_new));
        EXIT WHEN it >= max_iterations OR delta < 1e-7;
    END LOOP;

    -- EM can settle on another split of the candidates than duplicates / the rest (in a table
    -- where the blocking keys gather many records of one common first name, on "same first
    -- name").  Such a split shows as a field whose top level then counts against being
    -- duplicates (m below u): the estimate is not used, the defaults stay.
    IF EXISTS (SELECT 1 FROM pg_temp.cd_est_par pr WHERE pr.li = 0 AND NOT pr.fixed
                  AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1)))) THEN
        summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                      'iterations', it, 'rejected', true);
        RAISE WARNING 'crmdedup: the estimate for profile "%" was not used: it makes agreeing on field "%" count against duplicates',
            profile, (SELECT string_agg(e.fv->>'field', ', ') FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                        JOIN pg_temp.cd_est_par pr ON pr.fi = e.o AND pr.li = 0 AND NOT pr.fixed
                         AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1))))
            USING HINT = 'The profile keeps its default m, u and prior.  Try again with a lower block_cap, or give the levels in the spec.';
        DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
            pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
        RETURN summary;
    END IF;

    -- The prior: the duplicates EM counts among the candidates, over all pairs; but the blocking
    -- keys skip big blocks, where the duplicates of a frequent name sit, so the share of
    -- duplicates among the random pairs is estimated too (the same E step over the random
    -- sample, with m from EM and u from the random pairs, for the share alone), and the larger
    -- of the two is taken.
    UPDATE pg_temp.cd_est_par SET u_rand = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    lam_r := least(0.5, greatest(1e-9, lam * ncand / all_pairs));
    FOR k IN 1 .. max_iterations LOOP
        lam_new := (SELECT sum(q.n * q.w) / sum(q.n) FROM (
                        SELECT t.n, 1 / (1 + (1 - lam_r) / lam_r * exp(least(700, greatest(-700,
                                   coalesce(sum(ln(coalesce(v.tu, pr.u_rand)) - ln(pr.m)), 0))))) AS w
                          FROM pg_temp.cd_est_pat t
                          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
                          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
                         WHERE NOT t.cand
                         GROUP BY t.pid, t.n) q);
        lam_new := least(0.5, greatest(1e-9, lam_new));
        delta := abs(lam_new - lam_r);
        lam_r := lam_new;
        EXIT WHEN delta < 1e-9;
    END LOOP;

    -- the compiled profile with the estimates: m from EM, u from the random pairs
    prior := CASE WHEN p.spec ? 'prior' THEN (c->>'prior')::float8
                  ELSE least(0.5, greatest(1e-9, lam * ncand / all_pairs, lam_r)) END;
    FOR f, fidx IN SELECT e.value, e.ord FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(value, ord) LOOP
        IF NOT (SELECT bool_or(fixed) FROM pg_temp.cd_est_par WHERE cd_est_par.fi = fidx) THEN
            -- named levels keep below 1 in m and u together (the rest is "different")
            f := jsonb_set(f, '{levels}', (
                SELECT jsonb_agg(lv || jsonb_build_object(
                           'm', round((pr.m / greatest(1, s.sm / 0.999))::numeric, 8)::float8,
                           'u', round((pr.u_rand / greatest(1, s.su / 0.999))::numeric, 10)::float8)
                           ORDER BY o)
                  FROM jsonb_array_elements(f->'levels') WITH ORDINALITY AS l(lv, o)
                  JOIN pg_temp.cd_est_par pr ON pr.fi = fidx AND pr.li = o - 1,
                       LATERAL (SELECT sum(x.m) AS sm, sum(x.u_rand) AS su
                                  FROM pg_temp.cd_est_par x
                                 WHERE x.fi = fidx AND x.li < jsonb_array_length(f->'levels')) s));
        END IF;
        fields := fields || jsonb_build_array(f);
    END LOOP;
    summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                  'iterations', it, 'duplicate_share_of_candidates', round(lam::numeric, 6),
                                  'duplicate_share_of_random_pairs', round(lam_r::numeric, 6),
                                  'prior', prior, 'estimated_at', now());
    c := c || jsonb_build_object('fields', fields, 'prior', prior, 'estimated', summary);
    UPDATE @extschema@.profiles pr SET compiled = c, updated_at = now() WHERE pr.name = p.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- the scorer's checks of the new numbers (an error here undoes the update)
    PERFORM @extschema@.score_rows(profile, '{}', '{}', false);
    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    RETURN summary;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, whole person name, company word and whole company name, city, code and mailbox name occurs in the profile''s table; returns the row count';

-- 0.2.0 (issue 3, patstat): the "similar company" level takes its u from the term frequencies too,
-- as a person name's "similar name" level does
CREATE OR REPLACE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005,"tf":true}]'
    WHEN 'person_name' THEN '[{"level":"same name","min":0.98,"m":0.70,"u":0.002,"tf":true},
                              {"level":"similar name","min":0.9,"m":0.20,"u":0.005,"tf":true},
                              {"level":"somewhat similar","min":0.75,"m":0.06,"u":0.03}]'
    WHEN 'first_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.02,"tf":true},
                             {"level":"similar","min":0.9,"m":0.10,"u":0.02},
                             {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.05}]'
    WHEN 'last_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.005,"tf":true},
                            {"level":"similar","min":0.9,"m":0.10,"u":0.005},
                            {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.03}]'
    WHEN 'middle_name' THEN '[{"level":"same","min":0.98,"m":0.70,"u":0.05},
                              {"level":"similar","min":0.85,"m":0.10,"u":0.05}]'
    WHEN 'company' THEN '[{"level":"same company","min":0.98,"m":0.70,"u":0.01,"tf":true},
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01,"tf":true},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.03}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true},
                       {"level":"similar","min":0.85,"m":0.05,"u":0.02}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01}]'
    WHEN 'external_id' THEN '[{"level":"same id","min":0.999,"m":0.90,"u":0.00001}]'
    WHEN 'code' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                       {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'text' THEN '[{"level":"same","min":0.95,"m":0.60,"u":0.01},
                       {"level":"similar","min":0.8,"m":0.25,"u":0.03}]'
END::jsonb;

-- 0.2.0 (merge of the issue-3 branches): default_levels(), analyze() and estimate() with both
-- branches' changes (phone and company term frequencies, the weighted u, the tf-aware prior)

CREATE OR REPLACE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005,"tf":true},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005,"tf":true}]'
    WHEN 'person_name' THEN '[{"level":"same name","min":0.98,"m":0.70,"u":0.002,"tf":true},
                              {"level":"similar name","min":0.9,"m":0.20,"u":0.005,"tf":true},
                              {"level":"somewhat similar","min":0.75,"m":0.06,"u":0.03}]'
    WHEN 'first_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.02,"tf":true},
                             {"level":"similar","min":0.9,"m":0.10,"u":0.02},
                             {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.05}]'
    WHEN 'last_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.005,"tf":true},
                            {"level":"similar","min":0.9,"m":0.10,"u":0.005},
                            {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.03}]'
    WHEN 'middle_name' THEN '[{"level":"same","min":0.98,"m":0.70,"u":0.05},
                              {"level":"similar","min":0.85,"m":0.10,"u":0.05}]'
    WHEN 'company' THEN '[{"level":"same company","min":0.98,"m":0.70,"u":0.01,"tf":true},
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01,"tf":true},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.03}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true},
                       {"level":"similar","min":0.85,"m":0.05,"u":0.02}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01},
                             {"level":"within a month","min":0.77,"m":0.03,"u":0.003}]'
    WHEN 'external_id' THEN '[{"level":"same id","min":0.999,"m":0.90,"u":0.00001}]'
    WHEN 'code' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                       {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'text' THEN '[{"level":"same","min":0.95,"m":0.60,"u":0.01},
                       {"level":"similar","min":0.8,"m":0.25,"u":0.03}]'
END::jsonb;

COMMENT ON FUNCTION @extschema@.default_levels(text) IS
'default comparison levels (similarity threshold, m and u probabilities) of a field role; NULL for an unknown role';

CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
    others text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email', 'phone')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          f->'from'->>'table');
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'phone' THEN
            -- a number: how many rows hold it besides the two compared (0.2.0); a number
            -- held by one or two rows is left out (the scorer then keeps the level's u: a
            -- number can weaken the level, as a switchboard many records share does, not
            -- strengthen it)
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT k) - 2)::float8 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''phone'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT k) > 2', '@extschema@', src, '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'company' THEN
            -- 0.2.0: a company word: the share of the distinct company names holding it.
            -- Legal names are unique within a jurisdiction, so the rows sharing one name
            -- are mostly records of one company: they do not make its words look common,
            -- while a generic word (holding, electronics) is held by many names.
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, w.term, count(*)::float8 / greatest(max(k.names), 1)
                              FROM (SELECT key, count(*) OVER () AS names
                                      FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                              FROM (%s) s WHERE v IS NOT NULL) d
                                     WHERE key IS NOT NULL AND key <> '''') k,
                                   LATERAL (SELECT DISTINCT term FROM unnest(string_to_array(k.key, '' '')) AS term
                                             WHERE term <> '''') w
                             GROUP BY w.term', '@extschema@', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field';
            -- and a whole name of several words: the share of rows holding it, rows that
            -- also agree on every other field of the profile (in the table itself) counted
            -- once: copies of one record say nothing of how many companies share a name,
            -- branches at other addresses do; a name counted once is left out (1/rows)
            SELECT coalesce(string_agg(format('t.%I', o->>'field'), ', ' ORDER BY o->>'field'), '')
              INTO others
              FROM jsonb_array_elements(p.compiled->'fields') o
             WHERE NOT o ? 'from' AND o->>'field' <> f->>'field';
            IF f ? 'from' THEN
                others := 's.k';	-- a child table's values: every record counts
            END IF;
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT o)::float8 / greatest($3, 1)
                              FROM (SELECT %I.translit(%I.company_key(s.v)) AS term, jsonb_build_array(%s) AS o
                                      FROM (%s) s %s WHERE s.v IS NOT NULL) w
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT o) > 1',
                           '@extschema@', '@extschema@', '@extschema@', others, src,
                           CASE WHEN f ? 'from' THEN '' ELSE format('JOIN %s t ON t.%I = s.k', p.table_oid, p.compiled->>'id') END)
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, whole person name, company word and whole company name, city, code, phone and mailbox name occurs in the profile''s table; returns the row count';

CREATE OR REPLACE FUNCTION @extschema@.estimate(profile text, block_cap integer DEFAULT 100,
                                     sample_pairs integer DEFAULT 20000, max_iterations integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
SET client_min_messages = warning
AS $$
DECLARE
    p record;
    c jsonb;
    nrows bigint;
    all_pairs float8;
    ncand bigint;
    nrand bigint;
    lam float8;
    lam_new float8;
    lam_r float8;
    k int;
    delta float8;
    it int := 0;
    prior float8;
    fields jsonb := '[]';
    f jsonb;
    fidx int;
    summary jsonb;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = estimate.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = p.table_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one estimate of a profile at a time
    PERFORM 1 FROM @extschema@.profiles pr WHERE pr.name = p.name FOR UPDATE;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sample_pairs IS NULL OR sample_pairs < 100 THEN
        RAISE EXCEPTION 'sample_pairs must be at least 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_iterations IS NULL OR max_iterations < 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- start from the spec's defaults every time: estimates never feed on earlier estimates
    c := @extschema@.compile_profile_spec(p.table_oid, p.spec);
    UPDATE @extschema@.profiles pr SET compiled = c WHERE pr.name = p.name;

    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    EXECUTE 'CREATE TEMP TABLE cd_est_rows AS SELECT row_number() OVER (ORDER BY s.id) AS rn, s.r FROM ('
            || @extschema@.report_rows_sql(profile) || ') s';
    ALTER TABLE pg_temp.cd_est_rows ADD PRIMARY KEY (rn);
    nrows := (SELECT count(*) FROM pg_temp.cd_est_rows);
    all_pairs := nrows::float8 * (nrows - 1) / 2;
    IF nrows < 3 THEN
        RAISE EXCEPTION 'profile "%": too few rows to estimate from (%)', profile, nrows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- candidate pairs: the blocking keys of the reports, frequent keys skipped
    CREATE TEMP TABLE cd_est_keys AS
        SELECT r.rn, k.k AS key FROM pg_temp.cd_est_rows r, @extschema@.blocking_keys(c, r.r) AS k(k);
    CREATE TEMP TABLE cd_est_pairs AS
        SELECT DISTINCT x AS a, y AS b, true AS cand
          FROM (SELECT array_agg(rn) AS ids FROM pg_temp.cd_est_keys GROUP BY key
                 HAVING count(*) BETWEEN 2 AND block_cap) g,
               unnest(g.ids) x, unnest(g.ids) y
         WHERE x < y;
    ncand := (SELECT count(*) FROM pg_temp.cd_est_pairs);
    -- random pairs (every pair of a small table); drawn by a hash, so the same table gives the
    -- same estimate
    IF all_pairs <= sample_pairs THEN
        INSERT INTO pg_temp.cd_est_pairs
        SELECT x, y, false FROM generate_series(1, nrows) x, generate_series(1, nrows) y WHERE x < y;
    ELSE
        INSERT INTO pg_temp.cd_est_pairs
        SELECT least(x, y), greatest(x, y), false
          FROM (SELECT 1 + abs(hashint8(2 * i::bigint)::bigint) % nrows AS x,
                       1 + abs(hashint8(2 * i::bigint + 1)::bigint) % nrows AS y
                  FROM generate_series(1, sample_pairs) i) s
         WHERE x <> y;
    END IF;
    nrand := (SELECT count(*) FROM pg_temp.cd_est_pairs WHERE NOT cand);
    IF ncand = 0 THEN
        RAISE EXCEPTION 'profile "%": the blocking keys find no candidate pairs to estimate from', profile
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- comparison vectors: per field the index of the level reached (the levels in order, then
    -- "different"), -1 when a value is missing; identical vectors counted once
    CREATE TEMP TABLE cd_est_lv AS
        SELECT cf.value->>'field' AS field, l.level, cf.ord::int AS fi, l.li
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
         CROSS JOIN LATERAL (SELECT lv->>'level' AS level, (o - 1)::int AS li
                               FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                             UNION ALL SELECT 'different', jsonb_array_length(cf.value->'levels')
                             UNION ALL SELECT 'missing', -1) l;
    -- the levels whose u the scorer takes from the term frequencies (when analyze()d)
    ALTER TABLE pg_temp.cd_est_lv ADD COLUMN tf boolean;
    UPDATE pg_temp.cd_est_lv lv
       SET tf = coalesce((SELECT (l->>'tf')::boolean
                            FROM jsonb_array_elements(c->'fields'->(lv.fi - 1)->'levels') l
                           WHERE l->>'level' = lv.level LIMIT 1), false);
    CREATE TEMP TABLE cd_est_ex AS
        SELECT row_number() OVER () AS id, e.cand, s.explanation->'fields' AS ex
          FROM pg_temp.cd_est_pairs e
          JOIN pg_temp.cd_est_rows ra ON ra.rn = e.a
          JOIN pg_temp.cd_est_rows rb ON rb.rn = e.b,
               LATERAL @extschema@.score_rows(profile, ra.r, rb.r, true) s;
    -- tu (0.2.0): for a random pair, per field the u the scorer used at a term-frequency
    -- level (to a quarter of a bit), NULL elsewhere
    CREATE TEMP TABLE cd_est_pat AS
        SELECT row_number() OVER () AS pid, cand, cv, tu, count(*) AS n
          FROM (SELECT x.id, x.cand, array_agg(lv.li ORDER BY lv.fi) AS cv,
                       array_agg(CASE WHEN lv.tf AND NOT x.cand AND (fe->>'u')::float8 > 0
                                      THEN power(2::float8, round(4 * ln((fe->>'u')::float8) / ln(2::float8)) / 4) END
                                 ORDER BY lv.fi) AS tu
                  FROM pg_temp.cd_est_ex x, jsonb_array_elements(x.ex) fe, pg_temp.cd_est_lv lv
                 WHERE lv.field = fe->>'field' AND lv.level = fe->>'level'
                 GROUP BY x.id, x.cand) s
         GROUP BY cand, cv, tu;
    CREATE TEMP TABLE cd_est_pv AS
        SELECT t.pid, t.cand, x.fi::int AS fi, x.li, t.n, t.tu[x.fi] AS tu
          FROM pg_temp.cd_est_pat t, unnest(t.cv) WITH ORDINALITY AS x(li, fi)
         WHERE x.li >= 0;

    -- parameters per field and level: m0, u0 the defaults; u_rand from the random pairs
    CREATE TEMP TABLE cd_est_par AS
        SELECT cf.ord::int AS fi, l.li, l.m0, l.u0, l.m0 AS m, coalesce(r.u_rand, 0) AS u_rand,
               coalesce(jsonb_typeof(p.spec->'fields'->(cf.value->>'field')) = 'object'
                        AND (p.spec->'fields'->(cf.value->>'field')) ? 'levels', false) AS fixed
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
          CROSS JOIN LATERAL (SELECT (o - 1)::int AS li, (lv->>'m')::float8 AS m0, (lv->>'u')::float8 AS u0
                          FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                        UNION ALL
                        SELECT jsonb_array_length(cf.value->'levels'),
                               1 - (SELECT sum((lv->>'m')::float8) FROM jsonb_array_elements(cf.value->'levels') lv),
                               1 - (SELECT sum((lv->>'u')::float8) FROM jsonb_array_elements(cf.value->'levels') lv)) l
          LEFT JOIN (SELECT v.fi, v.li, sum(v.n)::float8 / sum(sum(v.n)) OVER (PARTITION BY v.fi) AS u_rand
                       FROM pg_temp.cd_est_pv v WHERE NOT v.cand GROUP BY v.fi, v.li) r
            ON r.fi = cf.ord AND r.li = l.li;
    -- u during EM: the random pairs' share (floored: a level no random pair reached keeps the
    -- smaller of its default and one in the sample)
    ALTER TABLE pg_temp.cd_est_par ADD COLUMN u float8;
    UPDATE pg_temp.cd_est_par
       SET u = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    ALTER TABLE pg_temp.cd_est_par ADD PRIMARY KEY (fi, li);
    ANALYZE pg_temp.cd_est_par;
    ANALYZE pg_temp.cd_est_pv;

    -- EM over the candidates: E step, the probability each vector is a duplicate pair; M step,
    -- m and u as the posterior-weighted shares (plus one pseudo-pair at the starting values)
    lam := 0.1;
    CREATE TEMP TABLE cd_est_post (pid bigint PRIMARY KEY, n bigint, w float8);
    LOOP
        it := it + 1;
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n,
               1 / (1 + (1 - lam) / lam * exp(least(700, greatest(-700,
                   coalesce(sum(ln(pr.u) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
         WHERE t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(n * w) / sum(n) FROM pg_temp.cd_est_post);
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * q.w) AS sm, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.sm, 0) AS sm, coalesce(s.su, 0) AS su,
                   sum(coalesce(s.sm, 0)) OVER (PARTITION BY pr.fi) AS tm,
                   sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET m = greatest(1e-6, (tot.sm + pr.m0) / (tot.tm + 1)),
               u = greatest(1e-9, (tot.su + pr.u) / (tot.tu + 1))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND NOT pr.fixed;
        delta := abs(lam_new - lam);
        lam := least(0.999, greatest(1e-9, lam_new));
        EXIT WHEN it >= max_iterations OR delta < 1e-7;
    END LOOP;

    -- EM can settle on another split of the candidates than duplicates / the rest (in a table
    -- where the blocking keys gather many records of one common first name, on "same first
    -- name").  Such a split shows as a field whose top level then counts against being
    -- duplicates (m below u): the estimate is not used, the defaults stay.
    IF EXISTS (SELECT 1 FROM pg_temp.cd_est_par pr WHERE pr.li = 0 AND NOT pr.fixed
                  AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1)))) THEN
        summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                      'iterations', it, 'rejected', true);
        RAISE WARNING 'crmdedup: the estimate for profile "%" was not used: it makes agreeing on field "%" count against duplicates',
            profile, (SELECT string_agg(e.fv->>'field', ', ') FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                        JOIN pg_temp.cd_est_par pr ON pr.fi = e.o AND pr.li = 0 AND NOT pr.fixed
                         AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1))))
            USING HINT = 'The profile keeps its default m, u and prior.  Try again with a lower block_cap, or give the levels in the spec.';
        DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
            pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
        RETURN summary;
    END IF;

    -- The prior: the duplicates EM counts among the candidates, over all pairs; but the blocking
    -- keys skip big blocks, where the duplicates of a frequent name sit, so the share of
    -- duplicates among the random pairs is estimated too (the same E step over the random
    -- sample, with m from EM), and the larger of the two is taken.
    -- The random pairs hold duplicates too (about prior x sample pairs of them), and on the top
    -- levels of identifying fields (same mailbox, same date) they are most of what the sample
    -- sees: their share is not u.  So u is estimated in the same loop as that share (0.2.0): the
    -- M step takes u as the share of each level among the random pairs weighted by the
    -- probability that they are not duplicates (floored as above: a level no unrelated pair
    -- reached keeps the smaller of its default and one in the sample).
    UPDATE pg_temp.cd_est_par SET u_rand = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    lam_r := least(0.5, greatest(1e-9, lam * ncand / all_pairs));
    FOR k IN 1 .. max_iterations LOOP
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n, 1 / (1 + (1 - lam_r) / lam_r * exp(least(700, greatest(-700,
                   coalesce(sum(ln(coalesce(v.tu, pr.u_rand)) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
         WHERE NOT t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(q.n * q.w) / sum(q.n) FROM pg_temp.cd_est_post q);
        lam_new := least(0.5, greatest(1e-9, lam_new));
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.su, 0) AS su, sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET u_rand = greatest(tot.su / tot.tu, least(pr.u0, 1.0 / greatest(nrand, 1)))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND tot.tu > 0 AND NOT pr.fixed;
        delta := abs(lam_new - lam_r);
        lam_r := lam_new;
        EXIT WHEN delta < 1e-9;
    END LOOP;

    -- the compiled profile with the estimates: m from EM, u from the random pairs
    prior := CASE WHEN p.spec ? 'prior' THEN (c->>'prior')::float8
                  ELSE least(0.5, greatest(1e-9, lam * ncand / all_pairs, lam_r)) END;
    FOR f, fidx IN SELECT e.value, e.ord FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(value, ord) LOOP
        IF NOT (SELECT bool_or(fixed) FROM pg_temp.cd_est_par WHERE cd_est_par.fi = fidx) THEN
            -- named levels keep below 1 in m and u together (the rest is "different")
            f := jsonb_set(f, '{levels}', (
                SELECT jsonb_agg(lv || jsonb_build_object(
                           'm', round((pr.m / greatest(1, s.sm / 0.999))::numeric, 8)::float8,
                           'u', round((pr.u_rand / greatest(1, s.su / 0.999))::numeric, 10)::float8)
                           ORDER BY o)
                  FROM jsonb_array_elements(f->'levels') WITH ORDINALITY AS l(lv, o)
                  JOIN pg_temp.cd_est_par pr ON pr.fi = fidx AND pr.li = o - 1,
                       LATERAL (SELECT sum(x.m) AS sm, sum(x.u_rand) AS su
                                  FROM pg_temp.cd_est_par x
                                 WHERE x.fi = fidx AND x.li < jsonb_array_length(f->'levels')) s));
        END IF;
        fields := fields || jsonb_build_array(f);
    END LOOP;
    summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                  'iterations', it, 'duplicate_share_of_candidates', round(lam::numeric, 6),
                                  'duplicate_share_of_random_pairs', round(lam_r::numeric, 6),
                                  'prior', prior, 'estimated_at', now());
    c := c || jsonb_build_object('fields', fields, 'prior', prior, 'estimated', summary);
    UPDATE @extschema@.profiles pr SET compiled = c, updated_at = now() WHERE pr.name = p.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- the scorer's checks of the new numbers (an error here undoes the update)
    PERFORM @extschema@.score_rows(profile, '{}', '{}', false);
    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex;
    RETURN summary;
END;
$$;

COMMENT ON FUNCTION @extschema@.estimate(text, integer, integer, integer) IS
'estimate a profile''s m and u probabilities and its prior from its table (u from random pairs, m and the duplicate share by EM over the blocking candidates)';

-- 0.2.0: child tables and key types from a profile go through regclass and regtype in the SQL built from it

CREATE OR REPLACE FUNCTION @extschema@.match_rows(profile text, a jsonb, b jsonb,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    f jsonb;
    q text;
    va text[];
    vb text[];
BEGIN
    SELECT pr.compiled INTO c FROM @extschema@.profiles pr WHERE pr.name = match_rows.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    a := coalesce(a, '{}');
    b := coalesce(b, '{}');
    FOR f IN SELECT * FROM jsonb_array_elements(c->'fields') AS e WHERE e ? 'from' LOOP
        q := format('SELECT coalesce(array_agg(%I::text) FILTER (WHERE %I IS NOT NULL), ''{}'') FROM %s WHERE %I = $1::%s',
                    f->'from'->>'column', f->'from'->>'column', (f->'from'->>'table')::regclass, f->'from'->>'key',
                    (f->'from'->>'key_type')::regtype);
        EXECUTE q INTO va USING a->>(c->>'id');
        EXECUTE q INTO vb USING b->>(c->>'id');
        IF jsonb_typeof(a) = 'object' THEN
            a := a || jsonb_build_object(f->>'field', va);
        END IF;
        IF jsonb_typeof(b) = 'object' THEN
            b := b || jsonb_build_object(f->>'field', vb);
        END IF;
    END LOOP;
    SELECT s.score, s.decision, s.weight, s.explanation INTO score, decision, weight, explanation
      FROM @extschema@.score_rows(profile, a, b) AS s;
END;
$$;

COMMENT ON FUNCTION @extschema@.match_rows(text, jsonb, jsonb) IS
'score two rows given as jsonb against a profile: score in [0,1], decision, total weight, per-field explanation';

CREATE OR REPLACE FUNCTION @extschema@.match(profile text, a anyelement, b anyelement,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    ra jsonb;
    rb jsonb;
BEGIN
    SELECT pr.compiled || jsonb_build_object('table', pr.table_oid::text) INTO c
      FROM @extschema@.profiles pr WHERE pr.name = match.profile;
    IF c IS NULL THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF (SELECT t.typtype = 'c' FROM pg_type t WHERE t.oid = pg_typeof(a)) THEN
        ra := to_jsonb(a);
        rb := to_jsonb(b);
    ELSE
        EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE %I = $1::%s', c->>'table', c->>'id', (c->>'id_type')::regtype)
           INTO ra USING a::text;
        EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE %I = $1::%s', c->>'table', c->>'id', (c->>'id_type')::regtype)
           INTO rb USING b::text;
        IF ra IS NULL OR rb IS NULL THEN
            RAISE EXCEPTION 'no row with % = % in %', c->>'id', CASE WHEN ra IS NULL THEN a::text ELSE b::text END,
                c->>'table'
                USING ERRCODE = 'no_data_found';
        END IF;
    END IF;
    SELECT * INTO score, decision, weight, explanation FROM @extschema@.match_rows(profile, ra, rb);
END;
$$;

COMMENT ON FUNCTION @extschema@.match(text, anyelement, anyelement) IS
'score two records (rows of the profile''s table, or their ids) and explain why they match';

CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
    others text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email', 'phone')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          (f->'from'->>'table')::regclass);
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'phone' THEN
            -- a number: how many rows hold it besides the two compared (0.2.0); a number
            -- held by one or two rows is left out (the scorer then keeps the level's u: a
            -- number can weaken the level, as a switchboard many records share does, not
            -- strengthen it)
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT k) - 2)::float8 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''phone'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT k) > 2', '@extschema@', src, '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'company' THEN
            -- 0.2.0: a company word: the share of the distinct company names holding it.
            -- Legal names are unique within a jurisdiction, so the rows sharing one name
            -- are mostly records of one company: they do not make its words look common,
            -- while a generic word (holding, electronics) is held by many names.
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, w.term, count(*)::float8 / greatest(max(k.names), 1)
                              FROM (SELECT key, count(*) OVER () AS names
                                      FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                              FROM (%s) s WHERE v IS NOT NULL) d
                                     WHERE key IS NOT NULL AND key <> '''') k,
                                   LATERAL (SELECT DISTINCT term FROM unnest(string_to_array(k.key, '' '')) AS term
                                             WHERE term <> '''') w
                             GROUP BY w.term', '@extschema@', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field';
            -- and a whole name of several words: the share of rows holding it, rows that
            -- also agree on every other field of the profile (in the table itself) counted
            -- once: copies of one record say nothing of how many companies share a name,
            -- branches at other addresses do; a name counted once is left out (1/rows)
            SELECT coalesce(string_agg(format('t.%I', o->>'field'), ', ' ORDER BY o->>'field'), '')
              INTO others
              FROM jsonb_array_elements(p.compiled->'fields') o
             WHERE NOT o ? 'from' AND o->>'field' <> f->>'field';
            IF f ? 'from' THEN
                others := 's.k';	-- a child table's values: every record counts
            END IF;
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT o)::float8 / greatest($3, 1)
                              FROM (SELECT %I.translit(%I.company_key(s.v)) AS term, jsonb_build_array(%s) AS o
                                      FROM (%s) s %s WHERE s.v IS NOT NULL) w
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT o) > 1',
                           '@extschema@', '@extschema@', '@extschema@', others, src,
                           CASE WHEN f ? 'from' THEN '' ELSE format('JOIN %s t ON t.%I = s.k', p.table_oid, p.compiled->>'id') END)
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, whole person name, company word and whole company name, city, code, phone and mailbox name occurs in the profile''s table; returns the row count';

CREATE OR REPLACE FUNCTION @extschema@.report_rows_sql(profile text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
    joins text := '';
    i integer := 0;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') WHERE value ? 'from' LOOP
        i := i + 1;
        extra := extra || format(' || jsonb_build_object(%L, j%s.v)', f->>'field', i);
        joins := joins || format(' LEFT JOIN (SELECT c.%I AS k, jsonb_agg(c.%I) AS v FROM %s c GROUP BY c.%I) j%s ON j%s.k = t.%I',
                                 f->'from'->>'key', f->'from'->>'column', (f->'from'->>'table')::regclass, f->'from'->>'key',
                                 i, i, p.compiled->>'id');
    END LOOP;
    RETURN format('SELECT t.%I::text AS id, to_jsonb(t)%s AS r FROM %s t%s', p.compiled->>'id', extra, p.table_oid, joins);
END;
$$;

CREATE OR REPLACE FUNCTION @extschema@.report_rows_rn_sql(profile text, ids text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
    fields text := '';
    joins text := '';
    i integer := 0;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(p.compiled->'fields') LOOP
        IF f ? 'from' THEN
            i := i + 1;
            extra := extra || format(' || jsonb_build_object(%L, j%s.v)', f->>'field', i);
            fields := fields || format(', %L, j%s.v', f->>'field', i);
            joins := joins || format(' LEFT JOIN (SELECT c.%I AS k, jsonb_agg(c.%I) AS v FROM %s c GROUP BY c.%I) j%s ON j%s.k = t.%I',
                                     f->'from'->>'key', f->'from'->>'column', (f->'from'->>'table')::regclass, f->'from'->>'key',
                                     i, i, p.compiled->>'id');
        ELSIF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.table_oid AND a.attname = f->>'field'
                         AND a.attnum > 0 AND NOT a.attisdropped) THEN
            fields := fields || format(', %L, t.%I', f->>'field', f->>'field');
        END IF;
    END LOOP;
    RETURN format('SELECT n.rn, t.%I::text AS id, %s AS r FROM %s t JOIN %s n ON n.id = t.%I%s',
                  p.compiled->>'id',
                  CASE WHEN jsonb_array_length(p.compiled->'fields') > 45 THEN 'to_jsonb(t)' || extra
                       WHEN fields = '' THEN '''{}''::jsonb'
                       ELSE 'jsonb_build_object(' || substr(fields, 3) || ')' END,
                  p.table_oid, ids, p.compiled->>'id', joins);
END;
$$;

COMMENT ON FUNCTION @extschema@.report_rows_rn_sql(text, text) IS
'internal: a query giving (rn, id, r) for every row of a profile''s table, numbered by the table ids (rn, id)';

-- 0.2.0: company names of one word: analyze() keeps the whole name's share under the word and a space, at least the word's share of distinct first words (issue 3)

CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
    others text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email', 'phone')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          (f->'from'->>'table')::regclass);
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'phone' THEN
            -- a number: how many rows hold it besides the two compared (0.2.0); a number
            -- held by one or two rows is left out (the scorer then keeps the level's u: a
            -- number can weaken the level, as a switchboard many records share does, not
            -- strengthen it)
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT k) - 2)::float8 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''phone'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT k) > 2', '@extschema@', src, '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'company' THEN
            -- 0.2.0: a company word: the share of the distinct company names holding it.
            -- Legal names are unique within a jurisdiction, so the rows sharing one name
            -- are mostly records of one company: they do not make its words look common,
            -- while a generic word (holding, electronics) is held by many names.
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, w.term, count(*)::float8 / greatest(max(k.names), 1)
                              FROM (SELECT key, count(*) OVER () AS names
                                      FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                              FROM (%s) s WHERE v IS NOT NULL) d
                                     WHERE key IS NOT NULL AND key <> '''') k,
                                   LATERAL (SELECT DISTINCT term FROM unnest(string_to_array(k.key, '' '')) AS term
                                             WHERE term <> '''') w
                             GROUP BY w.term', '@extschema@', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field';
            -- and a whole name: the share of rows holding it, rows that also agree on
            -- every other field of the profile (in the table itself) counted once: copies
            -- of one record say nothing of how many companies share a name, branches at
            -- other addresses do; a name counted once is left out (1/rows).  A name of one
            -- word is kept as the word and a space (the word alone is the word's share of
            -- distinct names), for two records holding that same name (0.2.0): the larger of
            -- that share and the share of distinct names holding the word counted once per
            -- first word, so that the names of one group (DSM, DSM IP Assets, DSM Research)
            -- count once while a generic word (Holding: Nordic Holding, Baltic Holding ...)
            -- stays common; each share is left out when it counts one
            SELECT coalesce(string_agg(format('t.%I', o->>'field'), ', ' ORDER BY o->>'field'), '')
              INTO others
              FROM jsonb_array_elements(p.compiled->'fields') o
             WHERE NOT o ? 'from' AND o->>'field' <> f->>'field';
            IF f ? 'from' THEN
                others := 's.k';	-- a child table's values: every record counts
            END IF;
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            WITH d AS (SELECT key FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                                          FROM (%s) s WHERE v IS NOT NULL) d0
                                        WHERE key IS NOT NULL AND key <> '''')
                            SELECT $1, $2, term, max(freq)
                              FROM (SELECT term, count(DISTINCT o)::float8 / greatest($3, 1) AS freq
                                      FROM (SELECT CASE WHEN strpos(key, '' '') > 0 THEN key ELSE key || '' '' END AS term, o
                                              FROM (SELECT %I.translit(%I.company_key(s.v)) AS key, jsonb_build_array(%s) AS o
                                                      FROM (%s) s %s WHERE s.v IS NOT NULL) k
                                             WHERE key <> '''') w
                                     GROUP BY term HAVING count(DISTINCT o) > 1
                                    UNION ALL
                                    SELECT x.word || '' '', count(DISTINCT split_part(d.key, '' '', 1))::float8
                                                          / greatest((SELECT count(*) FROM d), 1)
                                      FROM d, LATERAL (SELECT DISTINCT word FROM unnest(string_to_array(d.key, '' '')) AS word
                                                        WHERE word <> '''') x
                                     WHERE x.word IN (SELECT d1.key FROM d d1 WHERE strpos(d1.key, '' '') = 0)
                                     GROUP BY x.word HAVING count(DISTINCT split_part(d.key, '' '', 1)) > 1) t
                             GROUP BY term',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', others, src,
                           CASE WHEN f ? 'from' THEN '' ELSE format('JOIN %s t ON t.%I = s.k', p.table_oid, p.compiled->>'id') END)
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, whole person name, company word and whole company name, city, code, phone and mailbox name occurs in the profile''s table; returns the row count';

-- 2026-11-27 (issue 6, reports speed): the scoring step reads each row once per range of
-- pairs (report_score_pairs in C); report_rows_sql and report_rows_rn_sql are one builder; the
-- survivors step builds whole rows for the clustered rows only.
DROP FUNCTION @extschema@.report_rows_rn_sql(text, text);
DROP FUNCTION @extschema@.report_missing_pairs(regclass, regclass[], float8);

CREATE OR REPLACE FUNCTION @extschema@.report_score_pairs(profile text, pairs regclass, rows regclass, lo bigint, hi bigint,
    min_score float8 DEFAULT 0, OUT a integer, OUT b integer, OUT score float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_score_pairs'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000000 ROWS 10000;

COMMENT ON FUNCTION @extschema@.report_score_pairs(text, regclass, regclass, bigint, bigint, float8) IS
'the score_rows() scores of the pairs (n, a, b) with lo < n <= hi of a work table, each row of rows (rn int4, r jsonb) read once for the range; with min_score > 0 a pair that cannot reach it may get a NULL score';

-- The rows of a profile's table as a query.  With ids (a table (rn int4, id of the table's
-- key type)): (rn, id text, r jsonb) for the rows of ids, numbered as there; without:
-- (id text, r jsonb) for every row.  Each child table is aggregated once and joined (a hash
-- join) rather than looked up per row by a correlated subquery: PostgreSQL 15 does not run
-- correlated subqueries in parallel workers, and a million index lookups per child table
-- cost more than one pass over it.  whole: r is the whole row (to_jsonb(), child-table
-- fields added), what the survivor rules read; else r holds the profile's fields only, the
-- values that score_rows() and report_row_keys() read: one jsonb_build_object() per row
-- (on 1,000,000 contacts to_jsonb() of the whole rows alone took 9 s).  A field that is not
-- a column is left out (score_rows() finds it missing, as in the whole row); a profile of
-- more than 45 fields (jsonb_build_object takes at most 100 arguments) gets the whole row.
CREATE OR REPLACE FUNCTION @extschema@.report_rows_rn_sql(profile text, ids text, whole boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
    fields text := '';
    joins text := '';
    r text;
    i integer := 0;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(p.compiled->'fields') LOOP
        IF f ? 'from' THEN
            i := i + 1;
            extra := extra || format(' || jsonb_build_object(%L, j%s.v)', f->>'field', i);
            fields := fields || format(', %L, j%s.v', f->>'field', i);
            joins := joins || format(' LEFT JOIN (SELECT c.%I AS k, jsonb_agg(c.%I) AS v FROM %s c GROUP BY c.%I) j%s ON j%s.k = t.%I',
                                     f->'from'->>'key', f->'from'->>'column', (f->'from'->>'table')::regclass, f->'from'->>'key',
                                     i, i, p.compiled->>'id');
        ELSIF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.table_oid AND a.attname = f->>'field'
                         AND a.attnum > 0 AND NOT a.attisdropped) THEN
            fields := fields || format(', %L, t.%I', f->>'field', f->>'field');
        END IF;
    END LOOP;
    r := CASE WHEN whole OR jsonb_array_length(p.compiled->'fields') > 45 THEN 'to_jsonb(t)' || extra
              WHEN fields = '' THEN '''{}''::jsonb'
              ELSE 'jsonb_build_object(' || substr(fields, 3) || ')' END;
    IF ids IS NULL THEN
        RETURN format('SELECT t.%I::text AS id, %s AS r FROM %s t%s', p.compiled->>'id', r, p.table_oid, joins);
    END IF;
    RETURN format('SELECT n.rn, t.%I::text AS id, %s AS r FROM %s t JOIN %s n ON n.id = t.%I%s',
                  p.compiled->>'id', r, p.table_oid, ids, p.compiled->>'id', joins);
END;
$$;

COMMENT ON FUNCTION @extschema@.report_rows_rn_sql(text, text, boolean) IS
'internal: a query giving (rn, id, r) for the rows of a profile''s table in ids (rn, id), or (id, r) for every row without ids; r the profile''s fields, or the whole row';

-- The rows of a profile's table as (id text, r jsonb), child-table fields filled in: the
-- whole rows of report_rows_rn_sql().
CREATE OR REPLACE FUNCTION @extschema@.report_rows_sql(profile text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT @extschema@.report_rows_rn_sql(profile, NULL, true);
END;

-- The work of a report, left in work tables of this transaction: <ws>.cd_work_<pid>_rows
-- (rn, id, r, s), the row numbers of the table's ids <ws>.cd_work_<pid>_ids (rn, id) and the
-- scored candidate pairs <ws>.cd_work_<pid>_s1 .. _sN (a, b, score; a < b are row numbers);
-- returns N.  The caller drops them.
--
-- Rows are numbered 1..n in the order of their ids as text (the order the text ids of the
-- earlier pipeline sorted in, so ties in clustering break the same way), and everything
-- after that works on these integers.  Blocking keys: report_row_keys() in C, one call per
-- row (parallel workers), 64-bit hashes of the keys of blocking_keys().  Candidate pairs:
-- report_block_pairs() in C from the sorted keys: a key shared by at most block_cap rows
-- gives every pair of them; a larger block, and every block of a word-sound key (the sound
-- of one word of a name, shared by thousands of rows at scale), gives sorted-neighbourhood
-- pairs: rows in name order, each paired with the next two (one for word-sound keys); each
-- pair once.  Scores: score_rows in CREATE TABLE AS statements of batch pairs each, which
-- PostgreSQL runs with parallel workers.
--
-- Parallel query needs work tables that parallel workers can read: unlogged tables in the
-- extension's schema, created and dropped inside the caller's transaction (no other session
-- ever sees them; a cancelled report leaves nothing behind).  A user without CREATE on the
-- extension's schema gets temp work tables and a serial report.  Progress goes to NOTICEs
-- and to this backend's application_name.
CREATE OR REPLACE FUNCTION @extschema@.report_work(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- a few large statements: JIT compiling the score expression saves nothing (the work is in C)
SET jit = off
AS $$
DECLARE
    p record;
    npairs bigint;
    nrows bigint;
    nkeys bigint;
    cap integer;
    chunk integer := 0;
    t0 timestamptz := clock_timestamp();
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    shared boolean := has_schema_privilege('@extschema@', 'CREATE');
    kind text;
    ws text;
    pre text := 'cd_work_' || pg_backend_pid() || '_';
    rows_t text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    kind := CASE WHEN shared THEN 'UNLOGGED' ELSE 'TEMP' END;
    ws := CASE WHEN shared THEN quote_ident('@extschema@') ELSE 'pg_temp' END;
    rows_t := format('%s.%I', ws, pre || 'rows');

    -- row numbers, then the rows as jsonb with their name sort key (OFFSET 0 keeps the
    -- subquery whole, so r is built once per row and not again for s)
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT (row_number() OVER (ORDER BY t.%I::text))::int4 AS rn, t.%I AS id FROM %s t',
                   kind, ws, pre || 'ids', p.compiled->>'id', p.compiled->>'id', p.table_oid);
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'ids');
    EXECUTE format('CREATE %s TABLE %s AS SELECT q.rn, q.id, q.r, %s AS s FROM (%s OFFSET 0) q',
                   kind, rows_t, @extschema@.report_sort_sql(profile, 'q'),
                   @extschema@.report_rows_rn_sql(profile, format('%s.%I', ws, pre || 'ids')));
    GET DIAGNOSTICS nrows = ROW_COUNT;
    -- the ids table stays for the survivors step (clusters() reads the clustered rows whole)
    EXECUTE format('CREATE UNIQUE INDEX ON %s (rn)', rows_t);
    EXECUTE format('ANALYZE %s', rows_t);
    -- every row's keys from one C call; the planner counts C functions at the default cost
    -- (1) and would keep them out of parallel workers without these two settings
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT r.rn, k.h FROM %s r, unnest(@extschema@.report_row_keys(%L::jsonb, r.r)) k(h)',
                   kind, ws, pre || 'keys', rows_t, p.compiled);
    GET DIAGNOSTICS nkeys = ROW_COUNT;
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    RAISE NOTICE 'crmdedup: % rows, % blocking keys (% s)',
        nrows, nkeys, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- candidate pairs, each once, numbered for the scoring batches.  Above 100,000 rows the
    -- cap shrinks with the fourth root of the rows (block_cap * (100000 / rows) ^ 0.25, at
    -- least 2): the blocks of a key whose values do not grow with the table (a birth date)
    -- grow with it, and all pairs of blocks up to the cap made the candidates per row grow
    -- with the table (3.2 at 100,000 demo contacts, 5.3 at 1,000,000); larger blocks still
    -- give their neighbours in name order
    cap := block_cap;
    IF nrows > 100000 THEN
        cap := least(block_cap, greatest(2, round(block_cap * (100000.0 / nrows) ^ 0.25)::integer));
    END IF;
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT n, a, b FROM @extschema@.report_block_pairs(%L::regclass, %L::regclass, %s)',
                   kind, ws, pre || 'pairs', format('%s.%I', ws, pre || 'keys'), rows_t, cap);
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'keys');
    EXECUTE format('CREATE INDEX ON %s.%I (n)', ws, pre || 'pairs');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % candidate pairs (block cap %; % s)', npairs, cap,
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- scores, batch pairs per statement (each statement may run in parallel workers)
    chunk := @extschema@.report_score(profile, format('%s.%I', ws, pre || 'pairs')::regclass, 0, batch, 'candidate pairs');
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % pairs scored (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    RETURN chunk;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_work(text, integer, integer) IS
'internal: numbered rows and scored candidate pairs of a profile''s table in this transaction''s work tables (capped and sorted-neighbourhood blocking in C, scoring in parallel where allowed); returns the number of score tables';

-- Score the pairs (n, a, b) of a work table, batch pairs per CREATE TABLE AS statement, into
-- the work tables cd_work_<pid>_s<first_chunk + 1> ...; returns the number of the last.  A
-- batch is cut into ranges of n small enough for work_mem, and each range is scored by one
-- call of report_score_pairs() in C, which reads each of the range's rows once (not two
-- index lookups and two jsonb readings per pair, as a join of each pair to its rows did).
-- The ranges are the rows of a work table with one row per page (fillfactor 10 and a
-- filler), so that a parallel sequential scan of it hands the ranges out one by one to the
-- parallel workers and the leader; the planner, which does not count the scoring in the
-- scan it would split, is told that the table is worth parallel workers.  A NOTICE and
-- application_name after each batch.
CREATE OR REPLACE FUNCTION @extschema@.report_score(profile text, pairs regclass, first_chunk integer, batch integer,
                                         what text DEFAULT 'candidate pairs')
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    npairs bigint;
    done bigint := 0;
    lo bigint := 0;
    chunk integer := first_chunk;
    t1 timestamptz := clock_timestamp();
    app text := current_setting('application_name');
    mps text := current_setting('min_parallel_table_scan_size');
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    eta numeric;
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
    ranges text := @extschema@.report_work_name('ranges');
    -- about 400 bytes of a range's rows and values per pair (the rows are shared by pairs)
    range_size bigint := greatest(1000, least(batch, pg_size_bytes(current_setting('work_mem')) / 400));
BEGIN
    IF pairs IS NULL OR first_chunk IS NULL THEN
        RAISE EXCEPTION 'pairs and first_chunk must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT coalesce(max(n), 0) FROM %s', pairs) INTO npairs;
    -- ranges (lo, hi] of n, numbered by batch k
    EXECUTE format('CREATE %s TABLE %s (k integer, lo bigint, hi bigint, filler text) WITH (fillfactor = 10, parallel_workers = %s)',
                   kind, ranges, greatest(current_setting('max_parallel_workers_per_gather')::integer, 0));
    EXECUTE format('INSERT INTO %1$s SELECT (b / %2$s)::integer + 1, g, least(g + %3$s, b + %2$s, %4$s), repeat(''.'', 600)
                      FROM generate_series(0, %4$s - 1, %2$s) b, generate_series(b, least(b + %2$s, %4$s) - 1, %3$s) g',
                   ranges, batch, range_size, npairs);
    EXECUTE format('ANALYZE %s', ranges);
    PERFORM set_config('min_parallel_table_scan_size', '0', true),
            set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    WHILE lo < npairs LOOP
        chunk := chunk + 1;
        EXECUTE format(
            'CREATE %s TABLE %s AS
             SELECT x.a, x.b, x.score
               FROM %s g, @extschema@.report_score_pairs(%L, %L::regclass, %L::regclass, g.lo, g.hi, 0) x
              WHERE g.k = %s',
            kind, @extschema@.report_work_name('s' || chunk), ranges, profile, pairs,
            @extschema@.report_work_name('rows'), chunk - first_chunk);
        lo := lo + batch;
        done := least(lo, npairs);
        eta := CASE WHEN done > 0 THEN round((extract(epoch FROM clock_timestamp() - t1) / done * (npairs - done))::numeric, 0) END;
        RAISE NOTICE 'crmdedup: scored % of % % (% %%), about % s left',
            done, npairs, what, round(100.0 * done / greatest(npairs, 1)), eta;
        PERFORM set_config('application_name',
                           left(format('crmdedup %s: %s%% of %s %s, %s s left', profile,
                                       round(100.0 * done / greatest(npairs, 1)), npairs, what, eta), 63), true);
    END LOOP;
    EXECUTE format('DROP TABLE %s', ranges);
    PERFORM set_config('min_parallel_table_scan_size', mps, true),
            set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    PERFORM set_config('application_name', app, true);
    RETURN chunk;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_score(text, regclass, integer, integer, text) IS
'internal: scores the pairs (n, a, b) of a report work table into score work tables, batch pairs per statement in ranges scored by report_score_pairs() (in parallel where allowed); returns the last score table''s number';

-- Fill pg_temp.cd_report_rows (id, r) and pg_temp.cd_report_pairs (a, b, score) with every
-- candidate pair (a < b) and its score, from report_work().
CREATE OR REPLACE FUNCTION @extschema@.report_candidates(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    chunks integer;
    w regclass[];
    npairs bigint;
BEGIN
    DROP TABLE IF EXISTS pg_temp.cd_report_rows, pg_temp.cd_report_keys, pg_temp.cd_report_pairs;
    chunks := @extschema@.report_work(profile, block_cap, batch);
    w := @extschema@.report_work_tables(chunks);
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT id, r FROM %s', w[1]);
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    IF chunks = 0 THEN
        CREATE TEMP TABLE cd_report_pairs (a text, b text, score float8) ON COMMIT DROP;
    ELSE
        EXECUTE format('CREATE TEMP TABLE cd_report_pairs ON COMMIT DROP AS
                        SELECT ra.id AS a, rb.id AS b, s.score FROM (%s) s JOIN %s ra ON ra.rn = s.a JOIN %s rb ON rb.rn = s.b',
                       (SELECT string_agg(format('SELECT a, b, score FROM %s', t), ' UNION ALL ') FROM unnest(w[2:]) t),
                       w[1], w[1]);
    END IF;
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ') || ', ' || @extschema@.report_work_name('ids');
    ANALYZE pg_temp.cd_report_rows;
    ANALYZE pg_temp.cd_report_pairs;
    RETURN npairs;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_candidates(text, integer, integer) IS
'internal: candidate pairs of a profile''s table through capped and sorted-neighbourhood blocking, scored (in parallel where allowed), left in session temp tables';

-- Clusters: components of the pairs above min_score, split by average linkage so that a chain
-- A~B~C of two different people never becomes one cluster.  The components, the scores of
-- the pairs inside them that no key found, and the clustering are report_cluster() in C.
CREATE OR REPLACE FUNCTION @extschema@.clusters(profile text, min_score float8 DEFAULT NULL, survivor text DEFAULT 'most_complete',
                                     block_cap integer DEFAULT 20, survivor_column text DEFAULT NULL)
RETURNS TABLE (cluster_id text, id text, score float8, is_survivor boolean, suggested_survivor text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    p record;
    threshold float8;
    refs text := '';
    fk record;
    chunks integer;
    nscored integer;
    w regclass[];
    t0 timestamptz := clock_timestamp();
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF survivor IS NULL OR survivor NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid survivor rule "%"', coalesce(survivor, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use most_complete, oldest, newest or most_referenced.';
    END IF;
    IF survivor IN ('oldest', 'newest') AND NOT EXISTS (
            SELECT 1 FROM pg_attribute WHERE attrelid = p.table_oid AND attname = coalesce(survivor_column, 'created_at')
               AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'survivor rule % needs a timestamp column', survivor
            USING ERRCODE = 'undefined_column', HINT = 'Name it with survivor_column (default created_at).';
    END IF;
    threshold := coalesce(min_score, (p.compiled->>'same')::float8);
    chunks := @extschema@.report_work(profile, block_cap);
    w := @extschema@.report_work_tables(chunks);

    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- every pair inside the components of the strong pairs (those no key found numbered n,
    -- with no score yet), then the missing ones scored like the candidates (in parallel):
    -- report_cluster() reads these, not every candidate pair again
    EXECUTE format('CREATE %s TABLE %s AS SELECT n, a, b, score FROM @extschema@.report_missing_pairs(%L::regclass, %L::regclass[], %L::float8)',
                   kind, @extschema@.report_work_name('inner'), w[1], w[2:], threshold);
    IF chunks > 0 THEN
        EXECUTE 'DROP TABLE ' || array_to_string(w[2:], ', ');
    END IF;
    EXECUTE format('CREATE INDEX ON %s (n)', @extschema@.report_work_name('inner'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('inner'));
    nscored := @extschema@.report_score(profile, @extschema@.report_work_name('inner')::regclass, chunks, 500000,
                                        'pairs inside components');
    w := ARRAY[w[1], @extschema@.report_work_name('inner')::regclass]
         || (SELECT coalesce(array_agg(@extschema@.report_work_name('s' || i)::regclass ORDER BY i), '{}')
               FROM generate_series(chunks + 1, nscored) i);
    DROP TABLE IF EXISTS pg_temp.cd_report_clusters;
    CREATE TEMP TABLE cd_report_clusters ON COMMIT DROP AS
        SELECT k.rn, k.center, k.score FROM @extschema@.report_cluster(profile, w[1], w[2:], threshold, 0.2) k;
    RAISE NOTICE 'crmdedup: % clusters (% s)',
        (SELECT count(*) FROM (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) c),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the suggested survivor of each cluster
    IF survivor = 'most_referenced' THEN
        FOR fk IN SELECT c.conrelid::regclass AS child, a.attname AS col
                    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   WHERE c.contype = 'f' AND c.confrelid = p.table_oid AND cardinality(c.conkey) = 1 LOOP
            refs := refs || format(' + (SELECT count(*) FROM %s x WHERE x.%I::text = f.id)', fk.child, fk.col);
        END LOOP;
    END IF;
    -- the members of clusters of two or more: (rn, id of the table's key type, cluster_id, score)
    EXECUTE format('CREATE %1$s TABLE %3$s AS SELECT k.rn, i.id, ic.id::text AS cluster_id, k.score
                      FROM pg_temp.cd_report_clusters k
                      JOIN (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) big USING (center)
                      JOIN %2$s i ON i.rn = k.rn JOIN %2$s ic ON ic.rn = k.center',
                   kind, @extschema@.report_work_name('ids'), @extschema@.report_work_name('members'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('members'));
    -- each member's rank under the survivor rule, which reads the whole row (as
    -- report_rows_sql() gives it, child-table fields included), built for the members only;
    -- a CREATE TABLE AS, which may run in parallel workers
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s AS SELECT c.cluster_id, f.id, c.score, %s AS rank_value
                      FROM %s c JOIN (%s) f ON f.rn = c.rn',
                   kind, @extschema@.report_work_name('ranks'),
                   CASE survivor
                       WHEN 'most_complete' THEN '@extschema@.filled_fields(f.r)'
                       WHEN 'most_referenced' THEN '0' || refs
                       ELSE format('(f.r->>%L)::timestamptz', coalesce(survivor_column, 'created_at')) END,
                   @extschema@.report_work_name('members'),
                   @extschema@.report_rows_rn_sql(profile, @extschema@.report_work_name('members'), true));
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    RETURN QUERY EXECUTE format(
        'WITH s AS (SELECT DISTINCT ON (cluster_id) cluster_id, id AS survivor
                      FROM %1$s ORDER BY cluster_id, rank_value %2$s NULLS LAST, id)
         SELECT m.cluster_id, m.id, m.score, m.id = s.survivor, s.survivor
           FROM %1$s m JOIN s USING (cluster_id)
          ORDER BY m.cluster_id, m.id = s.survivor DESC, m.score DESC, m.id',
        @extschema@.report_work_name('ranks'),
        CASE survivor WHEN 'oldest' THEN 'ASC' ELSE 'DESC' END);
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ') || ', ' || @extschema@.report_work_name('ids') || ', '
            || @extschema@.report_work_name('members') || ', ' || @extschema@.report_work_name('ranks');
END;
$$;

COMMENT ON FUNCTION @extschema@.clusters(text, float8, text, integer, text) IS
'duplicate clusters of a profile''s table: members, their score against the cluster''s best record, and a suggested survivor';

CREATE OR REPLACE FUNCTION @extschema@.report_missing_pairs(rows regclass, scored regclass[], threshold float8,
    OUT n integer, OUT a integer, OUT b integer, OUT score float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_missing_pairs'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 1000;

COMMENT ON FUNCTION @extschema@.report_missing_pairs(regclass, regclass[], float8) IS
'every pair (a < b) inside the components of the pairs scored >= threshold: those that no scored table (a, b, score) holds numbered n, with a NULL score, the others with their score and a NULL n';


-- 0.2.0 (issue 3, Fodors-Zagat: one place, several entities): company names below "somewhat
-- similar" are "little in common" (>= 0.35) or "different"; estimate() gives the phone, city and
-- postcode fields of a profile with an address and a name field their u when an address agrees
-- ("u_same_place", from the pairs at one address whose names are "different"), used in its EM and
-- by the scorer.
CREATE OR REPLACE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005,"tf":true},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005,"tf":true}]'
    WHEN 'person_name' THEN '[{"level":"same name","min":0.98,"m":0.70,"u":0.002,"tf":true},
                              {"level":"similar name","min":0.9,"m":0.20,"u":0.005,"tf":true},
                              {"level":"somewhat similar","min":0.75,"m":0.06,"u":0.03}]'
    WHEN 'first_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.02,"tf":true},
                             {"level":"similar","min":0.9,"m":0.10,"u":0.02},
                             {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.05}]'
    WHEN 'last_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.005,"tf":true},
                            {"level":"similar","min":0.9,"m":0.10,"u":0.005},
                            {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.03}]'
    WHEN 'middle_name' THEN '[{"level":"same","min":0.98,"m":0.70,"u":0.05},
                              {"level":"similar","min":0.85,"m":0.10,"u":0.05}]'
    WHEN 'company' THEN '[{"level":"same company","min":0.98,"m":0.70,"u":0.01,"tf":true},
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01,"tf":true},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.03},
                          {"level":"little in common","min":0.35,"m":0.05,"u":0.15}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true},
                       {"level":"similar","min":0.85,"m":0.05,"u":0.02}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01},
                             {"level":"within a month","min":0.77,"m":0.03,"u":0.003}]'
    WHEN 'external_id' THEN '[{"level":"same id","min":0.999,"m":0.90,"u":0.00001}]'
    WHEN 'code' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                       {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'text' THEN '[{"level":"same","min":0.95,"m":0.60,"u":0.01},
                       {"level":"similar","min":0.8,"m":0.25,"u":0.03}]'
END::jsonb;

COMMENT ON FUNCTION @extschema@.default_levels(text) IS
'default comparison levels (similarity threshold, m and u probabilities) of a field role; NULL for an unknown role';

CREATE OR REPLACE FUNCTION @extschema@.estimate(profile text, block_cap integer DEFAULT 100,
                                     sample_pairs integer DEFAULT 20000, max_iterations integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
SET client_min_messages = warning
AS $$
DECLARE
    p record;
    c jsonb;
    nrows bigint;
    all_pairs float8;
    ncand bigint;
    nrand bigint;
    lam float8;
    lam_new float8;
    lam_r float8;
    k int;
    delta float8;
    it int := 0;
    prior float8;
    fields jsonb := '[]';
    f jsonb;
    fidx int;
    summary jsonb;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = estimate.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = p.table_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one estimate of a profile at a time
    PERFORM 1 FROM @extschema@.profiles pr WHERE pr.name = p.name FOR UPDATE;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sample_pairs IS NULL OR sample_pairs < 100 THEN
        RAISE EXCEPTION 'sample_pairs must be at least 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_iterations IS NULL OR max_iterations < 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- start from the spec's defaults every time: estimates never feed on earlier estimates
    c := @extschema@.compile_profile_spec(p.table_oid, p.spec);
    UPDATE @extschema@.profiles pr SET compiled = c WHERE pr.name = p.name;

    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex, pg_temp.cd_est_place;
    EXECUTE 'CREATE TEMP TABLE cd_est_rows AS SELECT row_number() OVER (ORDER BY s.id) AS rn, s.r FROM ('
            || @extschema@.report_rows_sql(profile) || ') s';
    ALTER TABLE pg_temp.cd_est_rows ADD PRIMARY KEY (rn);
    nrows := (SELECT count(*) FROM pg_temp.cd_est_rows);
    all_pairs := nrows::float8 * (nrows - 1) / 2;
    IF nrows < 3 THEN
        RAISE EXCEPTION 'profile "%": too few rows to estimate from (%)', profile, nrows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- candidate pairs: the blocking keys of the reports, frequent keys skipped
    CREATE TEMP TABLE cd_est_keys AS
        SELECT r.rn, k.k AS key FROM pg_temp.cd_est_rows r, @extschema@.blocking_keys(c, r.r) AS k(k);
    CREATE TEMP TABLE cd_est_pairs AS
        SELECT DISTINCT x AS a, y AS b, true AS cand
          FROM (SELECT array_agg(rn) AS ids FROM pg_temp.cd_est_keys GROUP BY key
                 HAVING count(*) BETWEEN 2 AND block_cap) g,
               unnest(g.ids) x, unnest(g.ids) y
         WHERE x < y;
    ncand := (SELECT count(*) FROM pg_temp.cd_est_pairs);
    -- random pairs (every pair of a small table); drawn by a hash, so the same table gives the
    -- same estimate
    IF all_pairs <= sample_pairs THEN
        INSERT INTO pg_temp.cd_est_pairs
        SELECT x, y, false FROM generate_series(1, nrows) x, generate_series(1, nrows) y WHERE x < y;
    ELSE
        INSERT INTO pg_temp.cd_est_pairs
        SELECT least(x, y), greatest(x, y), false
          FROM (SELECT 1 + abs(hashint8(2 * i::bigint)::bigint) % nrows AS x,
                       1 + abs(hashint8(2 * i::bigint + 1)::bigint) % nrows AS y
                  FROM generate_series(1, sample_pairs) i) s
         WHERE x <> y;
    END IF;
    nrand := (SELECT count(*) FROM pg_temp.cd_est_pairs WHERE NOT cand);
    IF ncand = 0 THEN
        RAISE EXCEPTION 'profile "%": the blocking keys find no candidate pairs to estimate from', profile
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- comparison vectors: per field the index of the level reached (the levels in order, then
    -- "different"), -1 when a value is missing; identical vectors counted once
    CREATE TEMP TABLE cd_est_lv AS
        SELECT cf.value->>'field' AS field, l.level, cf.ord::int AS fi, l.li
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
         CROSS JOIN LATERAL (SELECT lv->>'level' AS level, (o - 1)::int AS li
                               FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                             UNION ALL SELECT 'different', jsonb_array_length(cf.value->'levels')
                             UNION ALL SELECT 'missing', -1) l;
    -- the levels whose u the scorer takes from the term frequencies (when analyze()d)
    ALTER TABLE pg_temp.cd_est_lv ADD COLUMN tf boolean;
    UPDATE pg_temp.cd_est_lv lv
       SET tf = coalesce((SELECT (l->>'tf')::boolean
                            FROM jsonb_array_elements(c->'fields'->(lv.fi - 1)->'levels') l
                           WHERE l->>'level' = lv.level LIMIT 1), false);
    CREATE TEMP TABLE cd_est_ex AS
        SELECT row_number() OVER () AS id, e.cand, s.explanation->'fields' AS ex
          FROM pg_temp.cd_est_pairs e
          JOIN pg_temp.cd_est_rows ra ON ra.rn = e.a
          JOIN pg_temp.cd_est_rows rb ON rb.rn = e.b,
               LATERAL @extschema@.score_rows(profile, ra.r, rb.r, true) s;
    -- tu (0.2.0): for a random pair, per field the u the scorer used at a term-frequency
    -- level (to a quarter of a bit), NULL elsewhere
    CREATE TEMP TABLE cd_est_pat AS
        SELECT row_number() OVER () AS pid, cand, cv, tu, count(*) AS n
          FROM (SELECT x.id, x.cand, array_agg(lv.li ORDER BY lv.fi) AS cv,
                       array_agg(CASE WHEN lv.tf AND NOT x.cand AND (fe->>'u')::float8 > 0
                                      THEN power(2::float8, round(4 * ln((fe->>'u')::float8) / ln(2::float8)) / 4) END
                                 ORDER BY lv.fi) AS tu
                  FROM pg_temp.cd_est_ex x, jsonb_array_elements(x.ex) fe, pg_temp.cd_est_lv lv
                 WHERE lv.field = fe->>'field' AND lv.level = fe->>'level'
                 GROUP BY x.id, x.cand) s
         GROUP BY cand, cv, tu;
    CREATE TEMP TABLE cd_est_pv AS
        SELECT t.pid, t.cand, x.fi::int AS fi, x.li, t.n, t.tu[x.fi] AS tu
          FROM pg_temp.cd_est_pat t, unnest(t.cv) WITH ORDINALITY AS x(li, fi)
         WHERE x.li >= 0;

    -- parameters per field and level: m0, u0 the defaults; u_rand from the random pairs
    CREATE TEMP TABLE cd_est_par AS
        SELECT cf.ord::int AS fi, l.li, l.m0, l.u0, l.m0 AS m, coalesce(r.u_rand, 0) AS u_rand,
               coalesce(jsonb_typeof(p.spec->'fields'->(cf.value->>'field')) = 'object'
                        AND (p.spec->'fields'->(cf.value->>'field')) ? 'levels', false) AS fixed
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
          CROSS JOIN LATERAL (SELECT (o - 1)::int AS li, (lv->>'m')::float8 AS m0, (lv->>'u')::float8 AS u0
                          FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                        UNION ALL
                        SELECT jsonb_array_length(cf.value->'levels'),
                               1 - (SELECT sum((lv->>'m')::float8) FROM jsonb_array_elements(cf.value->'levels') lv),
                               1 - (SELECT sum((lv->>'u')::float8) FROM jsonb_array_elements(cf.value->'levels') lv)) l
          LEFT JOIN (SELECT v.fi, v.li, sum(v.n)::float8 / sum(sum(v.n)) OVER (PARTITION BY v.fi) AS u_rand
                       FROM pg_temp.cd_est_pv v WHERE NOT v.cand GROUP BY v.fi, v.li) r
            ON r.fi = cf.ord AND r.li = l.li;
    -- u during EM: the random pairs' share (floored: a level no random pair reached keeps the
    -- smaller of its default and one in the sample)
    ALTER TABLE pg_temp.cd_est_par ADD COLUMN u float8;
    UPDATE pg_temp.cd_est_par
       SET u = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    ALTER TABLE pg_temp.cd_est_par ADD PRIMARY KEY (fi, li);
    ANALYZE pg_temp.cd_est_par;
    ANALYZE pg_temp.cd_est_pv;

    -- One place, several entities (0.2.0): the restaurants of one hotel, the firms of one
    -- building, the people of one household share its address, often its phone number and
    -- always its city, so among unrelated pairs those fields are not independent of the address.
    -- For each phone, city and postcode field (not fixed by the spec): the share of the candidates
    -- at the top level of an address field whose company and person name fields all reached
    -- "different" (different entities at one place) that also reach the field's top level (one
    -- pseudo-pair at its u), its u when an address agrees: in EM below and in the scorer
    -- ("u_same_place").  None without an address field and a name field.
    ALTER TABLE pg_temp.cd_est_pat ADD COLUMN place boolean;
    UPDATE pg_temp.cd_est_pat t
       SET place = EXISTS (SELECT 1 FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                            WHERE e.fv->>'role' = 'address' AND t.cv[e.o] = 0)
                   AND EXISTS (SELECT 1 FROM jsonb_array_elements(c->'fields') e(fv)
                                WHERE e.fv->>'role' IN ('company', 'person_name'))
                   AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                                    WHERE e.fv->>'role' IN ('company', 'person_name')
                                      AND t.cv[e.o] IS DISTINCT FROM jsonb_array_length(e.fv->'levels'));
    CREATE TEMP TABLE cd_est_place AS
        SELECT pr.fi, (coalesce(sum(t.n) FILTER (WHERE t.cv[pr.fi] = 0), 0) + pr.u) / (sum(t.n) + 1) AS place_u
          FROM pg_temp.cd_est_par pr
          JOIN jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o) ON e.o = pr.fi
          JOIN pg_temp.cd_est_pat t ON t.cand AND t.place AND t.cv[pr.fi] >= 0
         WHERE pr.li = 0 AND NOT pr.fixed AND e.fv->>'role' IN ('phone', 'city', 'postcode')
         GROUP BY pr.fi, pr.u;
    UPDATE pg_temp.cd_est_place SET place_u = 0 WHERE place_u IS NULL;
    ALTER TABLE pg_temp.cd_est_place ADD PRIMARY KEY (fi);

    -- EM over the candidates: E step, the probability each vector is a duplicate pair; M step,
    -- m and u as the posterior-weighted shares (plus one pseudo-pair at the starting values)
    lam := 0.1;
    CREATE TEMP TABLE cd_est_post (pid bigint PRIMARY KEY, n bigint, w float8);
    LOOP
        it := it + 1;
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n,
               1 / (1 + (1 - lam) / lam * exp(least(700, greatest(-700,
                   coalesce(sum(ln(CASE WHEN t.place AND v.li = 0 THEN greatest(pr.u, pl.place_u) ELSE pr.u END)
                                - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
          LEFT JOIN pg_temp.cd_est_place pl ON pl.fi = v.fi
         WHERE t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(n * w) / sum(n) FROM pg_temp.cd_est_post);
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * q.w) AS sm, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.sm, 0) AS sm, coalesce(s.su, 0) AS su,
                   sum(coalesce(s.sm, 0)) OVER (PARTITION BY pr.fi) AS tm,
                   sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET m = greatest(1e-6, (tot.sm + pr.m0) / (tot.tm + 1)),
               u = greatest(1e-9, (tot.su + pr.u) / (tot.tu + 1))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND NOT pr.fixed;
        delta := abs(lam_new - lam);
        lam := least(0.999, greatest(1e-9, lam_new));
        EXIT WHEN it >= max_iterations OR delta < 1e-7;
    END LOOP;

    -- EM can settle on another split of the candidates than duplicates / the rest (in a table
    -- where the blocking keys gather many records of one common first name, on "same first
    -- name").  Such a split shows as a field whose top level then counts against being
    -- duplicates (m below u): the estimate is not used, the defaults stay.
    IF EXISTS (SELECT 1 FROM pg_temp.cd_est_par pr WHERE pr.li = 0 AND NOT pr.fixed
                  AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1)))) THEN
        summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                      'iterations', it, 'rejected', true);
        RAISE WARNING 'crmdedup: the estimate for profile "%" was not used: it makes agreeing on field "%" count against duplicates',
            profile, (SELECT string_agg(e.fv->>'field', ', ') FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                        JOIN pg_temp.cd_est_par pr ON pr.fi = e.o AND pr.li = 0 AND NOT pr.fixed
                         AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1))))
            USING HINT = 'The profile keeps its default m, u and prior.  Try again with a lower block_cap, or give the levels in the spec.';
        DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
            pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex, pg_temp.cd_est_place;
        RETURN summary;
    END IF;

    -- The prior: the duplicates EM counts among the candidates, over all pairs; but the blocking
    -- keys skip big blocks, where the duplicates of a frequent name sit, so the share of
    -- duplicates among the random pairs is estimated too (the same E step over the random
    -- sample, with m from EM), and the larger of the two is taken.
    -- The random pairs hold duplicates too (about prior x sample pairs of them), and on the top
    -- levels of identifying fields (same mailbox, same date) they are most of what the sample
    -- sees: their share is not u.  So u is estimated in the same loop as that share (0.2.0): the
    -- M step takes u as the share of each level among the random pairs weighted by the
    -- probability that they are not duplicates (floored as above: a level no unrelated pair
    -- reached keeps the smaller of its default and one in the sample).
    UPDATE pg_temp.cd_est_par SET u_rand = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    lam_r := least(0.5, greatest(1e-9, lam * ncand / all_pairs));
    FOR k IN 1 .. max_iterations LOOP
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n, 1 / (1 + (1 - lam_r) / lam_r * exp(least(700, greatest(-700,
                   coalesce(sum(ln(coalesce(v.tu, pr.u_rand)) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
         WHERE NOT t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(q.n * q.w) / sum(q.n) FROM pg_temp.cd_est_post q);
        lam_new := least(0.5, greatest(1e-9, lam_new));
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.su, 0) AS su, sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET u_rand = greatest(tot.su / tot.tu, least(pr.u0, 1.0 / greatest(nrand, 1)))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND tot.tu > 0 AND NOT pr.fixed;
        delta := abs(lam_new - lam_r);
        lam_r := lam_new;
        EXIT WHEN delta < 1e-9;
    END LOOP;

    -- the compiled profile with the estimates: m from EM, u from the random pairs
    prior := CASE WHEN p.spec ? 'prior' THEN (c->>'prior')::float8
                  ELSE least(0.5, greatest(1e-9, lam * ncand / all_pairs, lam_r)) END;
    FOR f, fidx IN SELECT e.value, e.ord FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(value, ord) LOOP
        IF NOT (SELECT bool_or(fixed) FROM pg_temp.cd_est_par WHERE cd_est_par.fi = fidx) THEN
            -- named levels keep below 1 in m and u together (the rest is "different")
            f := jsonb_set(f, '{levels}', (
                SELECT jsonb_agg(lv || jsonb_build_object(
                           'm', round((pr.m / greatest(1, s.sm / 0.999))::numeric, 8)::float8,
                           'u', round((pr.u_rand / greatest(1, s.su / 0.999))::numeric, 10)::float8)
                           ORDER BY o)
                  FROM jsonb_array_elements(f->'levels') WITH ORDINALITY AS l(lv, o)
                  JOIN pg_temp.cd_est_par pr ON pr.fi = fidx AND pr.li = o - 1,
                       LATERAL (SELECT sum(x.m) AS sm, sum(x.u_rand) AS su
                                  FROM pg_temp.cd_est_par x
                                 WHERE x.fi = fidx AND x.li < jsonb_array_length(f->'levels')) s));
            IF EXISTS (SELECT 1 FROM pg_temp.cd_est_place pl WHERE pl.fi = fidx AND pl.place_u > 0) THEN
                f := f || jsonb_build_object('u_same_place',
                                             (SELECT round(pl.place_u::numeric, 8)::float8 FROM pg_temp.cd_est_place pl WHERE pl.fi = fidx));
            END IF;
        END IF;
        fields := fields || jsonb_build_array(f);
    END LOOP;
    summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                  'iterations', it, 'duplicate_share_of_candidates', round(lam::numeric, 6),
                                  'duplicate_share_of_random_pairs', round(lam_r::numeric, 6),
                                  'prior', prior, 'estimated_at', now());
    c := c || jsonb_build_object('fields', fields, 'prior', prior, 'estimated', summary);
    UPDATE @extschema@.profiles pr SET compiled = c, updated_at = now() WHERE pr.name = p.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- the scorer's checks of the new numbers (an error here undoes the update)
    PERFORM @extschema@.score_rows(profile, '{}', '{}', false);
    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex, pg_temp.cd_est_place;
    RETURN summary;
END;
$$;

COMMENT ON FUNCTION @extschema@.estimate(text, integer, integer, integer) IS
'estimate a profile''s m and u probabilities and its prior from its table (u from random pairs, m and the duplicate share by EM over the blocking candidates)';


-- guard() (issue 5): a btree the table already has on a guarded field's key (a unique index on
-- a normalized phone or email, say) serves the probe; no second index on the same key.
CREATE OR REPLACE FUNCTION @extschema@.guard(profile text, action text DEFAULT 'block', name text DEFAULT NULL,
                                  fields text[] DEFAULT NULL, min_score float8 DEFAULT NULL,
                                  link_column text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    gname text;
    tbl regclass;
    idcol text;
    keys text[] := '{}';
    conds text[] := '{}';
    cols text[] := '{}';
    cexpr text;
    iexpr text;
    iname text;
    used text[] := '{}';
    link_type text;
    id_type text;
    nsp text;
    relname text;
    coltype text;
    listcast text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = guard.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    tbl := p.table_oid;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to guard it', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF action IS NULL OR action NOT IN ('block', 'flag', 'link') THEN
        RAISE EXCEPTION 'invalid guard action "%"', coalesce(action, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use block, flag or link.';
    END IF;
    gname := coalesce(name, profile || '_' || action);
    IF gname !~ '^[A-Za-z_][A-Za-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'invalid guard name "%"', gname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use letters, digits and underscores, at most 41 characters, starting with a letter.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.guards g WHERE g.name = gname) THEN
        RAISE EXCEPTION 'guard "%" already exists', gname USING ERRCODE = 'duplicate_object';
    END IF;
    IF min_score IS NOT NULL AND (min_score < 0 OR min_score > 1) THEN
        RAISE EXCEPTION 'min_score must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    idcol := p.compiled->>'id';
    id_type := p.compiled->>'id_type';
    SELECT n.nspname, c.relname INTO nsp, relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;

    IF action = 'link' THEN
        IF link_column IS NULL THEN
            RAISE EXCEPTION 'a link guard needs link_column' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Name the column that receives the existing row''s id, e.g. link_column => ''duplicate_of''.';
        END IF;
        SELECT format_type(atttypid, atttypmod) INTO link_type FROM pg_attribute
         WHERE attrelid = tbl AND attname = link_column AND attnum > 0 AND NOT attisdropped;
        IF link_type IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', link_column, tbl USING ERRCODE = 'undefined_column';
        END IF;
    ELSIF link_column IS NOT NULL THEN
        RAISE EXCEPTION 'link_column applies to link guards only' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') LOOP
        CONTINUE WHEN fields IS NOT NULL AND NOT (f->>'field' = ANY (fields));
        CONTINUE WHEN f->>'role' NOT IN ('phone', 'email', 'person_name', 'company', 'external_id');
        IF f ? 'from' THEN
            IF fields IS NOT NULL THEN
                RAISE EXCEPTION 'field "%" lives in table % and cannot be guarded on %', f->>'field',
                    f->'from'->>'table', tbl
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Guard the child table with its own profile.';
            END IF;
            CONTINUE;
        END IF;
        -- a list column (text[], jsonb) is keyed as a whole; a scalar column one value at a time
        coltype := (SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = tbl AND attname = f->>'field');
        listcast := CASE WHEN coltype IN ('text[]', 'character varying[]') THEN 'text[]'
                         WHEN coltype IN ('jsonb', 'json') THEN 'jsonb' END;
        IF listcast IS NOT NULL AND f->>'role' NOT IN ('phone', 'email') THEN
            RAISE EXCEPTION '% field "%" must be a scalar column to be guarded', f->>'role', f->>'field'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        CASE f->>'role'
        WHEN 'phone' THEN
            IF listcast IS NULL THEN
                -- plain C calls on a scalar: an SQL-language helper per row costs more than the probe
                keys := keys || format('SELECT ''p:'' || @extschema@.phone_e164(($1).%I::text, %L)', f->>'field', f->>'region');
                iexpr := format('@extschema@.phone_e164(%I::text, %L)', f->>'field', f->>'region');
                cexpr := format('@extschema@.phone_e164(t.%I::text, %L) = @extschema@.phone_e164(($1).%I::text, %L)',
                                f->>'field', f->>'region', f->>'field', f->>'region');
            ELSE
                keys := keys || format('SELECT ''p:'' || k FROM unnest(@extschema@.phone_keys(($1).%I::%s, %L)) k',
                                       f->>'field', listcast, f->>'region');
                iexpr := format('@extschema@.phone_keys(%I::%s, %L)', f->>'field', listcast, f->>'region');
                cexpr := format('@extschema@.phone_keys(t.%I::%s, %L) OPERATOR(pg_catalog.&&) @extschema@.phone_keys(($1).%I::%s, %L)',
                                f->>'field', listcast, f->>'region', f->>'field', listcast, f->>'region');
            END IF;
        WHEN 'email' THEN
            IF listcast IS NULL THEN
                keys := keys || format('SELECT ''e:'' || @extschema@.email_key(($1).%I::text)', f->>'field');
                iexpr := format('@extschema@.email_key(%I::text)', f->>'field');
                cexpr := format('@extschema@.email_key(t.%I::text) = @extschema@.email_key(($1).%I::text)',
                                f->>'field', f->>'field');
            ELSE
                keys := keys || format('SELECT ''e:'' || k FROM unnest(@extschema@.email_keys(($1).%I::%s)) k',
                                       f->>'field', listcast);
                iexpr := format('@extschema@.email_keys(%I::%s)', f->>'field', listcast);
                cexpr := format('@extschema@.email_keys(t.%I::%s) OPERATOR(pg_catalog.&&) @extschema@.email_keys(($1).%I::%s)',
                                f->>'field', listcast, f->>'field', listcast);
            END IF;
        WHEN 'person_name' THEN
            -- the sorted transliterated words, and their sound keys (typos, spelling variants);
            -- candidates by the sound key, which the same words always share
            keys := keys || format('SELECT ''n:'' || @extschema@.person_key(($1).%I::text)', f->>'field')
                         || format('SELECT ''h:'' || @extschema@.phonetic(@extschema@.person_key(($1).%I::text))', f->>'field');
            iexpr := format('@extschema@.phonetic(@extschema@.person_key(%I::text))', f->>'field');
            cexpr := format('@extschema@.phonetic(@extschema@.person_key(t.%I::text)) = @extschema@.phonetic(@extschema@.person_key(($1).%I::text))',
                            f->>'field', f->>'field');
        WHEN 'company' THEN
            keys := keys || format('SELECT ''c:'' || @extschema@.company_key(($1).%I::text)', f->>'field');
            iexpr := format('@extschema@.company_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.company_key(t.%I::text) = @extschema@.company_key(($1).%I::text)',
                            f->>'field', f->>'field');
        ELSE    -- external_id
            keys := keys || format('SELECT ''x:'' || %L || '':'' || @extschema@.name_key(($1).%I::text)', f->>'field', f->>'field');
            iexpr := format('@extschema@.name_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.name_key(t.%I::text) = @extschema@.name_key(($1).%I::text)',
                            f->>'field', f->>'field');
        END CASE;
        conds := conds || cexpr;
        cols := cols || (f->>'field');
        used := used || (f->>'field');
        -- the index that makes the probe O(candidates): btree on a key, GIN on a key array
        -- (a name's index is on its sound key: "_person_sound", not the exact key's "_person_name")
        iname := left('crmdedup_' || relname || '_' || (f->>'field') || '_'
                      || CASE WHEN f->>'role' = 'person_name' THEN 'person_sound' ELSE f->>'role' END, 63);
        -- A btree the table already has on the same key (a unique index on a normalized phone
        -- or email, say) serves the probe as well: no second index to keep up on every insert.
        -- Same key: one expression column printing as this one, no predicate, the default
        -- text opclass, a deterministic collation (what the trigger's direct path checks too).
        IF iexpr NOT LIKE '%_keys(%' AND to_regclass(format('%I.%I', nsp, iname)) IS NULL THEN
            SELECT ic.relname INTO iname
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
              JOIN pg_collation co ON co.oid = i.indcollation[0]
             WHERE i.indrelid = tbl AND i.indnatts = 1 AND i.indkey[0] = 0 AND i.indpred IS NULL
               AND i.indisvalid AND i.indisready AND i.indislive AND am.amname = 'btree'
               AND co.collisdeterministic
               AND i.indclass[0] = (SELECT oc.oid FROM pg_opclass oc WHERE oc.opcmethod = am.oid
                                       AND oc.opcintype = 'pg_catalog.text'::pg_catalog.regtype AND oc.opcdefault)
               AND pg_get_indexdef(i.indexrelid, 1, false)
                   = replace(replace(iexpr, quote_ident(f->>'field') || '::text', quote_ident(f->>'field')),
                             format('%L)', f->>'region'), format('%L::text)', f->>'region'))
             ORDER BY i.indisunique DESC, ic.relname LIMIT 1;
            IF FOUND THEN
                RAISE NOTICE 'guard "%" uses the index % on %', gname, quote_ident(iname), iexpr;
            ELSE
                iname := left('crmdedup_' || relname || '_' || (f->>'field') || '_'
                              || CASE WHEN f->>'role' = 'person_name' THEN 'person_sound' ELSE f->>'role' END, 63);
            END IF;
        END IF;
        IF to_regclass(format('%I.%I', nsp, iname)) IS NULL THEN
            EXECUTE format('CREATE INDEX %I ON %s USING %s ((%s))',
                           iname, tbl,
                           CASE WHEN iexpr LIKE '%_keys(%' THEN 'gin' ELSE 'btree' END, iexpr);
        END IF;
    END LOOP;

    IF cardinality(conds) = 0 THEN
        RAISE EXCEPTION 'profile "%" has no field a guard can use', profile
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Guards find candidates by phone, email, person_name, company or external_id columns of the table.';
    END IF;

    INSERT INTO @extschema@.guards (name, profile, table_oid, action, fields, min_score, link_column, keys_sql, probe_sql)
    VALUES (gname, profile, tbl, action, used,
            coalesce(min_score, (p.compiled->>'same')::float8), link_column,
            format('SELECT ARRAY(SELECT DISTINCT k FROM (%s) s(k) WHERE k IS NOT NULL)', array_to_string(keys, ' UNION ALL ')),
            format('SELECT t.%I::text, m.score, m.explanation, '
                   '(SELECT string_agg(CASE WHEN (x->>''similarity'')::float8 >= 0.999 THEN x->>''level'' '
                   'ELSE (x->>''level'') || '' '' || (x->>''similarity'') END || '' ('' || (x->>''field'') || '')'', '', '' '
                   'ORDER BY (x->>''weight'')::float8 DESC) FROM jsonb_array_elements(m.explanation->''fields'') x '
                   'WHERE (x->>''weight'')::float8 > 0) '
                   'FROM %s t CROSS JOIN LATERAL @extschema@.score_rows(%L, to_jsonb($1), to_jsonb(t), true) m '
                   'WHERE (%s) AND t.%I IS DISTINCT FROM ($1).%I AND m.score >= $2 ORDER BY m.score DESC, 1 LIMIT 3',
                   idcol, tbl, profile, array_to_string(conds, ' OR '), idcol, idcol));

    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_trigger(%L)',
                   'crmdedup_guard_' || gname,
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c), tbl, gname);
    RETURN gname;
END;
$$;

-- company_key(): key rules 2 and legal forms data legal-forms-2 (no SQL object changes): a legal
-- form after the name followed by a comma, ';' or '(' ends the name (`Unilever N.V., Rotterdam`
-- -> unilever), and the Dutch and Belgian forms written out (Naamloze Vennootschap, Besloten
-- Vennootschap ...) are legal forms.  Indexes and stored values built with company_key() by an
-- earlier build must be rebuilt, then crmdedup.refresh_versions(); crmdedup.versions() warns.

-- analyze(): a one-word company name's share of distinct names counts the groups (first words)
-- holding the word other than the pair's own
CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
    others text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email', 'phone')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          (f->'from'->>'table')::regclass);
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'phone' THEN
            -- a number: how many rows hold it besides the two compared (0.2.0); a number
            -- held by one or two rows is left out (the scorer then keeps the level's u: a
            -- number can weaken the level, as a switchboard many records share does, not
            -- strengthen it)
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, (count(DISTINCT k) - 2)::float8 / greatest($3, 1)
                              FROM (%s) s, unnest(%I.term_keys(''phone'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT k) > 2', '@extschema@', src, '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'company' THEN
            -- 0.2.0: a company word: the share of the distinct company names holding it.
            -- Legal names are unique within a jurisdiction, so the rows sharing one name
            -- are mostly records of one company: they do not make its words look common,
            -- while a generic word (holding, electronics) is held by many names.
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, w.term, count(*)::float8 / greatest(max(k.names), 1)
                              FROM (SELECT key, count(*) OVER () AS names
                                      FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                              FROM (%s) s WHERE v IS NOT NULL) d
                                     WHERE key IS NOT NULL AND key <> '''') k,
                                   LATERAL (SELECT DISTINCT term FROM unnest(string_to_array(k.key, '' '')) AS term
                                             WHERE term <> '''') w
                             GROUP BY w.term', '@extschema@', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field';
            -- and a whole name: the share of rows holding it, rows that also agree on
            -- every other field of the profile (in the table itself) counted once: copies
            -- of one record say nothing of how many companies share a name, branches at
            -- other addresses do; a name counted once is left out (1/rows).  A name of one
            -- word is kept as the word and a space (the word alone is the word's share of
            -- distinct names), for two records holding that same name (0.2.0): the larger of
            -- that share and the share of distinct names holding the word counted once per
            -- first word, so that the names of one group (DSM, DSM IP Assets, DSM Research)
            -- count once while a generic word (Holding: Nordic Holding, Baltic Holding ...)
            -- stays common; each share is left out when it counts one.  The groups counted
            -- are the groups other than the pair's own (0.2.0, as for mailbox names: the
            -- evidence is how often another company holds the name), so a word held by
            -- two groups counts one
            SELECT coalesce(string_agg(format('t.%I', o->>'field'), ', ' ORDER BY o->>'field'), '')
              INTO others
              FROM jsonb_array_elements(p.compiled->'fields') o
             WHERE NOT o ? 'from' AND o->>'field' <> f->>'field';
            IF f ? 'from' THEN
                others := 's.k';	-- a child table's values: every record counts
            END IF;
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            WITH d AS (SELECT key FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                                          FROM (%s) s WHERE v IS NOT NULL) d0
                                        WHERE key IS NOT NULL AND key <> '''')
                            SELECT $1, $2, term, max(freq)
                              FROM (SELECT term, count(DISTINCT o)::float8 / greatest($3, 1) AS freq
                                      FROM (SELECT CASE WHEN strpos(key, '' '') > 0 THEN key ELSE key || '' '' END AS term, o
                                              FROM (SELECT %I.translit(%I.company_key(s.v)) AS key, jsonb_build_array(%s) AS o
                                                      FROM (%s) s %s WHERE s.v IS NOT NULL) k
                                             WHERE key <> '''') w
                                     GROUP BY term HAVING count(DISTINCT o) > 1
                                    UNION ALL
                                    SELECT x.word || '' '', (count(DISTINCT split_part(d.key, '' '', 1)) - 1)::float8
                                                          / greatest((SELECT count(*) FROM d), 1)
                                      FROM d, LATERAL (SELECT DISTINCT word FROM unnest(string_to_array(d.key, '' '')) AS word
                                                        WHERE word <> '''') x
                                     WHERE x.word IN (SELECT d1.key FROM d d1 WHERE strpos(d1.key, '' '') = 0)
                                     GROUP BY x.word HAVING count(DISTINCT split_part(d.key, '' '', 1)) > 1) t
                             GROUP BY term',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', others, src,
                           CASE WHEN f ? 'from' THEN '' ELSE format('JOIN %s t ON t.%I = s.k', p.table_oid, p.compiled->>'id') END)
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

-- crmdedup.name_ops: name index keys name-grams-4 (no SQL object changes): the most common word
-- and patronymic counts (2 words, no patronymic) have no shape key, and a query asks for every
-- other count.  Indexes USING gin (... crmdedup.name_ops) built with name-grams-3 must be rebuilt
-- (REINDEX), then crmdedup.refresh_versions(); crmdedup.versions() warns.

-- 0.2.0: 0.2.0: guard() reuses an existing key btree only in the default collation (the SQL probe's planner cannot use another)

CREATE OR REPLACE FUNCTION @extschema@.guard(profile text, action text DEFAULT 'block', name text DEFAULT NULL,
                                  fields text[] DEFAULT NULL, min_score float8 DEFAULT NULL,
                                  link_column text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    gname text;
    tbl regclass;
    idcol text;
    keys text[] := '{}';
    conds text[] := '{}';
    cols text[] := '{}';
    cexpr text;
    iexpr text;
    iname text;
    used text[] := '{}';
    link_type text;
    id_type text;
    nsp text;
    relname text;
    coltype text;
    listcast text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = guard.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    tbl := p.table_oid;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to guard it', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF action IS NULL OR action NOT IN ('block', 'flag', 'link') THEN
        RAISE EXCEPTION 'invalid guard action "%"', coalesce(action, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use block, flag or link.';
    END IF;
    gname := coalesce(name, profile || '_' || action);
    IF gname !~ '^[A-Za-z_][A-Za-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'invalid guard name "%"', gname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use letters, digits and underscores, at most 41 characters, starting with a letter.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.guards g WHERE g.name = gname) THEN
        RAISE EXCEPTION 'guard "%" already exists', gname USING ERRCODE = 'duplicate_object';
    END IF;
    IF min_score IS NOT NULL AND (min_score < 0 OR min_score > 1) THEN
        RAISE EXCEPTION 'min_score must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    idcol := p.compiled->>'id';
    id_type := p.compiled->>'id_type';
    SELECT n.nspname, c.relname INTO nsp, relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;

    IF action = 'link' THEN
        IF link_column IS NULL THEN
            RAISE EXCEPTION 'a link guard needs link_column' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Name the column that receives the existing row''s id, e.g. link_column => ''duplicate_of''.';
        END IF;
        SELECT format_type(atttypid, atttypmod) INTO link_type FROM pg_attribute
         WHERE attrelid = tbl AND attname = link_column AND attnum > 0 AND NOT attisdropped;
        IF link_type IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', link_column, tbl USING ERRCODE = 'undefined_column';
        END IF;
    ELSIF link_column IS NOT NULL THEN
        RAISE EXCEPTION 'link_column applies to link guards only' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') LOOP
        CONTINUE WHEN fields IS NOT NULL AND NOT (f->>'field' = ANY (fields));
        CONTINUE WHEN f->>'role' NOT IN ('phone', 'email', 'person_name', 'company', 'external_id');
        IF f ? 'from' THEN
            IF fields IS NOT NULL THEN
                RAISE EXCEPTION 'field "%" lives in table % and cannot be guarded on %', f->>'field',
                    f->'from'->>'table', tbl
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Guard the child table with its own profile.';
            END IF;
            CONTINUE;
        END IF;
        -- a list column (text[], jsonb) is keyed as a whole; a scalar column one value at a time
        coltype := (SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = tbl AND attname = f->>'field');
        listcast := CASE WHEN coltype IN ('text[]', 'character varying[]') THEN 'text[]'
                         WHEN coltype IN ('jsonb', 'json') THEN 'jsonb' END;
        IF listcast IS NOT NULL AND f->>'role' NOT IN ('phone', 'email') THEN
            RAISE EXCEPTION '% field "%" must be a scalar column to be guarded', f->>'role', f->>'field'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        CASE f->>'role'
        WHEN 'phone' THEN
            IF listcast IS NULL THEN
                -- plain C calls on a scalar: an SQL-language helper per row costs more than the probe
                keys := keys || format('SELECT ''p:'' || @extschema@.phone_e164(($1).%I::text, %L)', f->>'field', f->>'region');
                iexpr := format('@extschema@.phone_e164(%I::text, %L)', f->>'field', f->>'region');
                cexpr := format('@extschema@.phone_e164(t.%I::text, %L) = @extschema@.phone_e164(($1).%I::text, %L)',
                                f->>'field', f->>'region', f->>'field', f->>'region');
            ELSE
                keys := keys || format('SELECT ''p:'' || k FROM unnest(@extschema@.phone_keys(($1).%I::%s, %L)) k',
                                       f->>'field', listcast, f->>'region');
                iexpr := format('@extschema@.phone_keys(%I::%s, %L)', f->>'field', listcast, f->>'region');
                cexpr := format('@extschema@.phone_keys(t.%I::%s, %L) OPERATOR(pg_catalog.&&) @extschema@.phone_keys(($1).%I::%s, %L)',
                                f->>'field', listcast, f->>'region', f->>'field', listcast, f->>'region');
            END IF;
        WHEN 'email' THEN
            IF listcast IS NULL THEN
                keys := keys || format('SELECT ''e:'' || @extschema@.email_key(($1).%I::text)', f->>'field');
                iexpr := format('@extschema@.email_key(%I::text)', f->>'field');
                cexpr := format('@extschema@.email_key(t.%I::text) = @extschema@.email_key(($1).%I::text)',
                                f->>'field', f->>'field');
            ELSE
                keys := keys || format('SELECT ''e:'' || k FROM unnest(@extschema@.email_keys(($1).%I::%s)) k',
                                       f->>'field', listcast);
                iexpr := format('@extschema@.email_keys(%I::%s)', f->>'field', listcast);
                cexpr := format('@extschema@.email_keys(t.%I::%s) OPERATOR(pg_catalog.&&) @extschema@.email_keys(($1).%I::%s)',
                                f->>'field', listcast, f->>'field', listcast);
            END IF;
        WHEN 'person_name' THEN
            -- the sorted transliterated words, and their sound keys (typos, spelling variants);
            -- candidates by the sound key, which the same words always share
            keys := keys || format('SELECT ''n:'' || @extschema@.person_key(($1).%I::text)', f->>'field')
                         || format('SELECT ''h:'' || @extschema@.phonetic(@extschema@.person_key(($1).%I::text))', f->>'field');
            iexpr := format('@extschema@.phonetic(@extschema@.person_key(%I::text))', f->>'field');
            cexpr := format('@extschema@.phonetic(@extschema@.person_key(t.%I::text)) = @extschema@.phonetic(@extschema@.person_key(($1).%I::text))',
                            f->>'field', f->>'field');
        WHEN 'company' THEN
            keys := keys || format('SELECT ''c:'' || @extschema@.company_key(($1).%I::text)', f->>'field');
            iexpr := format('@extschema@.company_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.company_key(t.%I::text) = @extschema@.company_key(($1).%I::text)',
                            f->>'field', f->>'field');
        ELSE    -- external_id
            keys := keys || format('SELECT ''x:'' || %L || '':'' || @extschema@.name_key(($1).%I::text)', f->>'field', f->>'field');
            iexpr := format('@extschema@.name_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.name_key(t.%I::text) = @extschema@.name_key(($1).%I::text)',
                            f->>'field', f->>'field');
        END CASE;
        conds := conds || cexpr;
        cols := cols || (f->>'field');
        used := used || (f->>'field');
        -- the index that makes the probe O(candidates): btree on a key, GIN on a key array
        -- (a name's index is on its sound key: "_person_sound", not the exact key's "_person_name")
        iname := left('crmdedup_' || relname || '_' || (f->>'field') || '_'
                      || CASE WHEN f->>'role' = 'person_name' THEN 'person_sound' ELSE f->>'role' END, 63);
        -- A btree the table already has on the same key (a unique index on a normalized phone
        -- or email, say) serves the probe as well: no second index to keep up on every insert.
        -- Same key: one expression column printing as this one, no predicate, the default
        -- text opclass, the default collation (the probe's expression has it: an index in
        -- another collation would serve the trigger's direct path, but the planner would not
        -- use it for the SQL probe of partitioned and inherited tables).
        IF iexpr NOT LIKE '%_keys(%' AND to_regclass(format('%I.%I', nsp, iname)) IS NULL THEN
            SELECT ic.relname INTO iname
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
             WHERE i.indrelid = tbl AND i.indnatts = 1 AND i.indkey[0] = 0 AND i.indpred IS NULL
               AND i.indisvalid AND i.indisready AND i.indislive AND am.amname = 'btree'
               AND i.indcollation[0] = 'pg_catalog.default'::pg_catalog.regcollation
               AND i.indclass[0] = (SELECT oc.oid FROM pg_opclass oc WHERE oc.opcmethod = am.oid
                                       AND oc.opcintype = 'pg_catalog.text'::pg_catalog.regtype AND oc.opcdefault)
               AND pg_get_indexdef(i.indexrelid, 1, false)
                   = replace(replace(iexpr, quote_ident(f->>'field') || '::text', quote_ident(f->>'field')),
                             format('%L)', f->>'region'), format('%L::text)', f->>'region'))
             ORDER BY i.indisunique DESC, ic.relname LIMIT 1;
            IF FOUND THEN
                RAISE NOTICE 'guard "%" uses the index % on %', gname, quote_ident(iname), iexpr;
            ELSE
                iname := left('crmdedup_' || relname || '_' || (f->>'field') || '_'
                              || CASE WHEN f->>'role' = 'person_name' THEN 'person_sound' ELSE f->>'role' END, 63);
            END IF;
        END IF;
        IF to_regclass(format('%I.%I', nsp, iname)) IS NULL THEN
            EXECUTE format('CREATE INDEX %I ON %s USING %s ((%s))',
                           iname, tbl,
                           CASE WHEN iexpr LIKE '%_keys(%' THEN 'gin' ELSE 'btree' END, iexpr);
        END IF;
    END LOOP;

    IF cardinality(conds) = 0 THEN
        RAISE EXCEPTION 'profile "%" has no field a guard can use', profile
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Guards find candidates by phone, email, person_name, company or external_id columns of the table.';
    END IF;

    INSERT INTO @extschema@.guards (name, profile, table_oid, action, fields, min_score, link_column, keys_sql, probe_sql)
    VALUES (gname, profile, tbl, action, used,
            coalesce(min_score, (p.compiled->>'same')::float8), link_column,
            format('SELECT ARRAY(SELECT DISTINCT k FROM (%s) s(k) WHERE k IS NOT NULL)', array_to_string(keys, ' UNION ALL ')),
            format('SELECT t.%I::text, m.score, m.explanation, '
                   '(SELECT string_agg(CASE WHEN (x->>''similarity'')::float8 >= 0.999 THEN x->>''level'' '
                   'ELSE (x->>''level'') || '' '' || (x->>''similarity'') END || '' ('' || (x->>''field'') || '')'', '', '' '
                   'ORDER BY (x->>''weight'')::float8 DESC) FROM jsonb_array_elements(m.explanation->''fields'') x '
                   'WHERE (x->>''weight'')::float8 > 0) '
                   'FROM %s t CROSS JOIN LATERAL @extschema@.score_rows(%L, to_jsonb($1), to_jsonb(t), true) m '
                   'WHERE (%s) AND t.%I IS DISTINCT FROM ($1).%I AND m.score >= $2 ORDER BY m.score DESC, 1 LIMIT 3',
                   idcol, tbl, profile, array_to_string(conds, ' OR '), idcol, idcol));

    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_trigger(%L)',
                   'crmdedup_guard_' || gname,
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c), tbl, gname);
    RETURN gname;
END;
$$;

COMMENT ON FUNCTION @extschema@.guard(text, text, text, text[], float8, text) IS
'attach a guard (block, flag or link duplicates) to the table of a profile; creates the indexes it needs';

-- 0.2.0: 0.2.0: a scoring range shrinks with the rows' size (large rows held per pair)

CREATE OR REPLACE FUNCTION @extschema@.report_score(profile text, pairs regclass, first_chunk integer, batch integer,
                                         what text DEFAULT 'candidate pairs')
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    npairs bigint;
    done bigint := 0;
    lo bigint := 0;
    chunk integer := first_chunk;
    t1 timestamptz := clock_timestamp();
    app text := current_setting('application_name');
    mps text := current_setting('min_parallel_table_scan_size');
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    eta numeric;
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
    ranges text := @extschema@.report_work_name('ranges');
    row_bytes float8;
    range_size bigint;
BEGIN
    IF pairs IS NULL OR first_chunk IS NULL THEN
        RAISE EXCEPTION 'pairs and first_chunk must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT coalesce(max(n), 0) FROM %s', pairs) INTO npairs;
    -- A range holds its pairs' rows (detoasted) and their values: about 400 bytes per pair
    -- with the rows shared by pairs, but up to two whole rows per pair when rows are large
    -- (many fields, long child lists), so the range shrinks with the rows' size (a sample).
    EXECUTE format('SELECT avg(octet_length(r::text)) FROM (SELECT r FROM %s LIMIT 1000) s',
                   @extschema@.report_work_name('rows')) INTO row_bytes;
    range_size := greatest(100, least(batch, pg_size_bytes(current_setting('work_mem'))
                                             / greatest(400, 2 * coalesce(row_bytes, 0))::bigint));
    -- ranges (lo, hi] of n, numbered by batch k
    EXECUTE format('CREATE %s TABLE %s (k integer, lo bigint, hi bigint, filler text) WITH (fillfactor = 10, parallel_workers = %s)',
                   kind, ranges, greatest(current_setting('max_parallel_workers_per_gather')::integer, 0));
    EXECUTE format('INSERT INTO %1$s SELECT (b / %2$s)::integer + 1, g, least(g + %3$s, b + %2$s, %4$s), repeat(''.'', 600)
                      FROM generate_series(0, %4$s - 1, %2$s) b, generate_series(b, least(b + %2$s, %4$s) - 1, %3$s) g',
                   ranges, batch, range_size, npairs);
    EXECUTE format('ANALYZE %s', ranges);
    PERFORM set_config('min_parallel_table_scan_size', '0', true),
            set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    WHILE lo < npairs LOOP
        chunk := chunk + 1;
        EXECUTE format(
            'CREATE %s TABLE %s AS
             SELECT x.a, x.b, x.score
               FROM %s g, @extschema@.report_score_pairs(%L, %L::regclass, %L::regclass, g.lo, g.hi, 0) x
              WHERE g.k = %s',
            kind, @extschema@.report_work_name('s' || chunk), ranges, profile, pairs,
            @extschema@.report_work_name('rows'), chunk - first_chunk);
        lo := lo + batch;
        done := least(lo, npairs);
        eta := CASE WHEN done > 0 THEN round((extract(epoch FROM clock_timestamp() - t1) / done * (npairs - done))::numeric, 0) END;
        RAISE NOTICE 'crmdedup: scored % of % % (% %%), about % s left',
            done, npairs, what, round(100.0 * done / greatest(npairs, 1)), eta;
        PERFORM set_config('application_name',
                           left(format('crmdedup %s: %s%% of %s %s, %s s left', profile,
                                       round(100.0 * done / greatest(npairs, 1)), npairs, what, eta), 63), true);
    END LOOP;
    EXECUTE format('DROP TABLE %s', ranges);
    PERFORM set_config('min_parallel_table_scan_size', mps, true),
            set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    PERFORM set_config('application_name', app, true);
    RETURN chunk;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_score(text, regclass, integer, integer, text) IS
'internal: scores the pairs (n, a, b) of a report work table into score work tables, batch pairs per statement in ranges scored by report_score_pairs() (in parallel where allowed); returns the last score table''s number';

-- 0.2.0: 0.2.0: reports drop their temp tables only when the session has a temp schema (no NOTICE 'schema pg_temp does not exist')

CREATE OR REPLACE FUNCTION @extschema@.report_candidates(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    chunks integer;
    w regclass[];
    npairs bigint;
BEGIN
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_report_rows, pg_temp.cd_report_keys, pg_temp.cd_report_pairs; END IF;
    chunks := @extschema@.report_work(profile, block_cap, batch);
    w := @extschema@.report_work_tables(chunks);
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT id, r FROM %s', w[1]);
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    IF chunks = 0 THEN
        CREATE TEMP TABLE cd_report_pairs (a text, b text, score float8) ON COMMIT DROP;
    ELSE
        EXECUTE format('CREATE TEMP TABLE cd_report_pairs ON COMMIT DROP AS
                        SELECT ra.id AS a, rb.id AS b, s.score FROM (%s) s JOIN %s ra ON ra.rn = s.a JOIN %s rb ON rb.rn = s.b',
                       (SELECT string_agg(format('SELECT a, b, score FROM %s', t), ' UNION ALL ') FROM unnest(w[2:]) t),
                       w[1], w[1]);
    END IF;
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ') || ', ' || @extschema@.report_work_name('ids');
    ANALYZE pg_temp.cd_report_rows;
    ANALYZE pg_temp.cd_report_pairs;
    RETURN npairs;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_candidates(text, integer, integer) IS
'internal: candidate pairs of a profile''s table through capped and sorted-neighbourhood blocking, scored (in parallel where allowed), left in session temp tables';

CREATE OR REPLACE FUNCTION @extschema@.clusters(profile text, min_score float8 DEFAULT NULL, survivor text DEFAULT 'most_complete',
                                     block_cap integer DEFAULT 20, survivor_column text DEFAULT NULL)
RETURNS TABLE (cluster_id text, id text, score float8, is_survivor boolean, suggested_survivor text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    p record;
    threshold float8;
    refs text := '';
    fk record;
    chunks integer;
    nscored integer;
    w regclass[];
    t0 timestamptz := clock_timestamp();
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF survivor IS NULL OR survivor NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid survivor rule "%"', coalesce(survivor, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use most_complete, oldest, newest or most_referenced.';
    END IF;
    IF survivor IN ('oldest', 'newest') AND NOT EXISTS (
            SELECT 1 FROM pg_attribute WHERE attrelid = p.table_oid AND attname = coalesce(survivor_column, 'created_at')
               AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'survivor rule % needs a timestamp column', survivor
            USING ERRCODE = 'undefined_column', HINT = 'Name it with survivor_column (default created_at).';
    END IF;
    threshold := coalesce(min_score, (p.compiled->>'same')::float8);
    chunks := @extschema@.report_work(profile, block_cap);
    w := @extschema@.report_work_tables(chunks);

    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- every pair inside the components of the strong pairs (those no key found numbered n,
    -- with no score yet), then the missing ones scored like the candidates (in parallel):
    -- report_cluster() reads these, not every candidate pair again
    EXECUTE format('CREATE %s TABLE %s AS SELECT n, a, b, score FROM @extschema@.report_missing_pairs(%L::regclass, %L::regclass[], %L::float8)',
                   kind, @extschema@.report_work_name('inner'), w[1], w[2:], threshold);
    IF chunks > 0 THEN
        EXECUTE 'DROP TABLE ' || array_to_string(w[2:], ', ');
    END IF;
    EXECUTE format('CREATE INDEX ON %s (n)', @extschema@.report_work_name('inner'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('inner'));
    nscored := @extschema@.report_score(profile, @extschema@.report_work_name('inner')::regclass, chunks, 500000,
                                        'pairs inside components');
    w := ARRAY[w[1], @extschema@.report_work_name('inner')::regclass]
         || (SELECT coalesce(array_agg(@extschema@.report_work_name('s' || i)::regclass ORDER BY i), '{}')
               FROM generate_series(chunks + 1, nscored) i);
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_report_clusters; END IF;
    CREATE TEMP TABLE cd_report_clusters ON COMMIT DROP AS
        SELECT k.rn, k.center, k.score FROM @extschema@.report_cluster(profile, w[1], w[2:], threshold, 0.2) k;
    RAISE NOTICE 'crmdedup: % clusters (% s)',
        (SELECT count(*) FROM (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) c),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the suggested survivor of each cluster
    IF survivor = 'most_referenced' THEN
        FOR fk IN SELECT c.conrelid::regclass AS child, a.attname AS col
                    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   WHERE c.contype = 'f' AND c.confrelid = p.table_oid AND cardinality(c.conkey) = 1 LOOP
            refs := refs || format(' + (SELECT count(*) FROM %s x WHERE x.%I::text = f.id)', fk.child, fk.col);
        END LOOP;
    END IF;
    -- the members of clusters of two or more: (rn, id of the table's key type, cluster_id, score)
    EXECUTE format('CREATE %1$s TABLE %3$s AS SELECT k.rn, i.id, ic.id::text AS cluster_id, k.score
                      FROM pg_temp.cd_report_clusters k
                      JOIN (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) big USING (center)
                      JOIN %2$s i ON i.rn = k.rn JOIN %2$s ic ON ic.rn = k.center',
                   kind, @extschema@.report_work_name('ids'), @extschema@.report_work_name('members'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('members'));
    -- each member's rank under the survivor rule, which reads the whole row (as
    -- report_rows_sql() gives it, child-table fields included), built for the members only;
    -- a CREATE TABLE AS, which may run in parallel workers
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s AS SELECT c.cluster_id, f.id, c.score, %s AS rank_value
                      FROM %s c JOIN (%s) f ON f.rn = c.rn',
                   kind, @extschema@.report_work_name('ranks'),
                   CASE survivor
                       WHEN 'most_complete' THEN '@extschema@.filled_fields(f.r)'
                       WHEN 'most_referenced' THEN '0' || refs
                       ELSE format('(f.r->>%L)::timestamptz', coalesce(survivor_column, 'created_at')) END,
                   @extschema@.report_work_name('members'),
                   @extschema@.report_rows_rn_sql(profile, @extschema@.report_work_name('members'), true));
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    RETURN QUERY EXECUTE format(
        'WITH s AS (SELECT DISTINCT ON (cluster_id) cluster_id, id AS survivor
                      FROM %1$s ORDER BY cluster_id, rank_value %2$s NULLS LAST, id)
         SELECT m.cluster_id, m.id, m.score, m.id = s.survivor, s.survivor
           FROM %1$s m JOIN s USING (cluster_id)
          ORDER BY m.cluster_id, m.id = s.survivor DESC, m.score DESC, m.id',
        @extschema@.report_work_name('ranks'),
        CASE survivor WHEN 'oldest' THEN 'ASC' ELSE 'DESC' END);
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ') || ', ' || @extschema@.report_work_name('ids') || ', '
            || @extschema@.report_work_name('members') || ', ' || @extschema@.report_work_name('ranks');
END;
$$;

COMMENT ON FUNCTION @extschema@.clusters(text, float8, text, integer, text) IS
'duplicate clusters of a profile''s table: members, their score against the cluster''s best record, and a suggested survivor';

CREATE OR REPLACE FUNCTION @extschema@.summary(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 20)
RETURNS TABLE (section text, item text, value numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    nrows bigint;
BEGIN
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_summary_clusters, pg_temp.cd_report_rows; END IF;
    CREATE TEMP TABLE cd_summary_clusters ON COMMIT DROP AS SELECT * FROM @extschema@.clusters(profile, min_score, 'most_complete', block_cap);
    EXECUTE format('SELECT count(*) FROM %s', (SELECT pr.table_oid FROM @extschema@.profiles pr WHERE pr.name = profile)) INTO nrows;
    -- the clustered rows as jsonb, for the reasons
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT q.id, q.r FROM (%s) q
                     WHERE q.id IN (SELECT c.id FROM pg_temp.cd_summary_clusters c)', @extschema@.report_rows_sql(profile));
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    RETURN QUERY
        SELECT 'totals', 'rows', nrows::numeric
        UNION ALL SELECT 'totals', 'rows in clusters', count(*)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'clusters', count(DISTINCT cluster_id)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate rows (would be merged away)',
                         (count(*) - count(DISTINCT cluster_id))::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate share %',
                         round(100.0 * (count(*) - count(DISTINCT cluster_id)) / greatest(nrows, 1), 2)
                    FROM pg_temp.cd_summary_clusters
        UNION ALL
        SELECT 'clusters by size', size || ' records', count(*)::numeric
          FROM (SELECT cluster_id, count(*) AS size FROM pg_temp.cd_summary_clusters GROUP BY cluster_id) s
         GROUP BY size
        UNION ALL
        -- why members match their cluster's best record: the fields that gave positive evidence
        SELECT 'pairs by reason', reason, count(*)::numeric
          FROM (SELECT (SELECT string_agg(f->>'level' || ' (' || (f->>'field') || ')', ' + '
                                          ORDER BY (f->>'weight')::float8 DESC)
                          FROM jsonb_array_elements(m.explanation->'fields') f
                         WHERE (f->>'weight')::float8 > 0) AS reason
                  FROM pg_temp.cd_summary_clusters c
                  JOIN pg_temp.cd_report_rows ra ON ra.id = c.id
                  JOIN pg_temp.cd_report_rows rb ON rb.id = c.suggested_survivor,
                       @extschema@.score_rows(profile, ra.r, rb.r, true) m
                 WHERE NOT c.is_survivor) x
         GROUP BY reason;
END;
$$;

COMMENT ON FUNCTION @extschema@.summary(text, float8, integer) IS
'rows, rows in clusters, clusters by size, duplicate share and counts by reason of a profile''s table';

-- 0.2.0: auto_merge drops its plan table only when the session has a temp schema
CREATE OR REPLACE PROCEDURE @extschema@.auto_merge(profile text, min_score float8 DEFAULT 0.97, dry_run boolean DEFAULT true,
                                       survivor text DEFAULT NULL, batch_size integer DEFAULT 100,
                                       rules jsonb DEFAULT '{}', INOUT merged integer DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    tbl regclass;
    c record;
    n integer := 0;
    total integer;
    mid bigint;
BEGIN
    SELECT pr.table_oid INTO tbl FROM @extschema@.profiles pr WHERE pr.name OPERATOR(pg_catalog.=) profile;
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF min_score IS NULL OR min_score OPERATOR(pg_catalog.<) 0.5 OR min_score OPERATOR(pg_catalog.>) 1 THEN
        RAISE EXCEPTION 'min_score for auto_merge must be between 0.5 and 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_auto_merge_plan; END IF;
    CREATE TEMP TABLE cd_auto_merge_plan AS
        SELECT k.cluster_id, k.suggested_survivor AS keep,
               pg_catalog.array_agg(k.id ORDER BY k.score DESC, k.id) FILTER (WHERE NOT k.is_survivor) AS losers,
               pg_catalog.min(k.score) AS weakest
          FROM @extschema@.clusters(profile, min_score,
                   coalesce(survivor, (SELECT pr.compiled->>'survivor' FROM @extschema@.profiles pr
                                        WHERE pr.name OPERATOR(pg_catalog.=) profile), 'most_complete')) k
         GROUP BY k.cluster_id, k.suggested_survivor;
    total := (SELECT pg_catalog.count(*) FROM pg_temp.cd_auto_merge_plan);
    IF dry_run THEN
        FOR c IN SELECT * FROM pg_temp.cd_auto_merge_plan ORDER BY cluster_id LOOP
            RAISE NOTICE 'would merge % into % (weakest member score %)',
                c.losers, c.keep, pg_catalog.round(c.weakest::numeric, 3);
        END LOOP;
        RAISE NOTICE 'dry run: % clusters would be merged; nothing was changed (plan in pg_temp.cd_auto_merge_plan)', total;
        merged := 0;
        RETURN;
    END IF;
    FOR c IN SELECT * FROM pg_temp.cd_auto_merge_plan ORDER BY cluster_id LOOP
        CALL @extschema@.merge_text_keys(tbl, c.keep, c.losers, rules, mid);
        n := n OPERATOR(pg_catalog.+) 1;
        IF n OPERATOR(pg_catalog.%) batch_size OPERATOR(pg_catalog.=) 0 THEN
            COMMIT;
            RAISE NOTICE 'crmdedup auto_merge: % of % clusters merged', n, total;
        END IF;
    END LOOP;
    RAISE NOTICE 'crmdedup auto_merge: % of % clusters merged', n, total;
    merged := n;
END;
$$;

COMMENT ON PROCEDURE @extschema@.auto_merge(text, float8, boolean, text, integer, jsonb, integer) IS
'merge every cluster at or above min_score into its suggested survivor, committing every batch_size merges; dry_run shows the plan';

-- issue 3 (2026-11-27, patstat branch): estimate() applies u_same_place in both E steps to every
-- pair at the top level of an address field, as the scorer does (it was applied only to the pairs
-- it is estimated from, whose names are all "different")
CREATE OR REPLACE FUNCTION @extschema@.estimate(profile text, block_cap integer DEFAULT 100,
                                     sample_pairs integer DEFAULT 20000, max_iterations integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
SET client_min_messages = warning
AS $$
DECLARE
    p record;
    c jsonb;
    nrows bigint;
    all_pairs float8;
    ncand bigint;
    nrand bigint;
    lam float8;
    lam_new float8;
    lam_r float8;
    k int;
    delta float8;
    it int := 0;
    prior float8;
    fields jsonb := '[]';
    f jsonb;
    fidx int;
    summary jsonb;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = estimate.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = p.table_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one estimate of a profile at a time
    PERFORM 1 FROM @extschema@.profiles pr WHERE pr.name = p.name FOR UPDATE;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sample_pairs IS NULL OR sample_pairs < 100 THEN
        RAISE EXCEPTION 'sample_pairs must be at least 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_iterations IS NULL OR max_iterations < 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- start from the spec's defaults every time: estimates never feed on earlier estimates
    c := @extschema@.compile_profile_spec(p.table_oid, p.spec);
    UPDATE @extschema@.profiles pr SET compiled = c WHERE pr.name = p.name;

    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex, pg_temp.cd_est_place;
    EXECUTE 'CREATE TEMP TABLE cd_est_rows AS SELECT row_number() OVER (ORDER BY s.id) AS rn, s.r FROM ('
            || @extschema@.report_rows_sql(profile) || ') s';
    ALTER TABLE pg_temp.cd_est_rows ADD PRIMARY KEY (rn);
    nrows := (SELECT count(*) FROM pg_temp.cd_est_rows);
    all_pairs := nrows::float8 * (nrows - 1) / 2;
    IF nrows < 3 THEN
        RAISE EXCEPTION 'profile "%": too few rows to estimate from (%)', profile, nrows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- candidate pairs: the blocking keys of the reports, frequent keys skipped
    CREATE TEMP TABLE cd_est_keys AS
        SELECT r.rn, k.k AS key FROM pg_temp.cd_est_rows r, @extschema@.blocking_keys(c, r.r) AS k(k);
    CREATE TEMP TABLE cd_est_pairs AS
        SELECT DISTINCT x AS a, y AS b, true AS cand
          FROM (SELECT array_agg(rn) AS ids FROM pg_temp.cd_est_keys GROUP BY key
                 HAVING count(*) BETWEEN 2 AND block_cap) g,
               unnest(g.ids) x, unnest(g.ids) y
         WHERE x < y;
    ncand := (SELECT count(*) FROM pg_temp.cd_est_pairs);
    -- random pairs (every pair of a small table); drawn by a hash, so the same table gives the
    -- same estimate
    IF all_pairs <= sample_pairs THEN
        INSERT INTO pg_temp.cd_est_pairs
        SELECT x, y, false FROM generate_series(1, nrows) x, generate_series(1, nrows) y WHERE x < y;
    ELSE
        INSERT INTO pg_temp.cd_est_pairs
        SELECT least(x, y), greatest(x, y), false
          FROM (SELECT 1 + abs(hashint8(2 * i::bigint)::bigint) % nrows AS x,
                       1 + abs(hashint8(2 * i::bigint + 1)::bigint) % nrows AS y
                  FROM generate_series(1, sample_pairs) i) s
         WHERE x <> y;
    END IF;
    nrand := (SELECT count(*) FROM pg_temp.cd_est_pairs WHERE NOT cand);
    IF ncand = 0 THEN
        RAISE EXCEPTION 'profile "%": the blocking keys find no candidate pairs to estimate from', profile
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- comparison vectors: per field the index of the level reached (the levels in order, then
    -- "different"), -1 when a value is missing; identical vectors counted once
    CREATE TEMP TABLE cd_est_lv AS
        SELECT cf.value->>'field' AS field, l.level, cf.ord::int AS fi, l.li
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
         CROSS JOIN LATERAL (SELECT lv->>'level' AS level, (o - 1)::int AS li
                               FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                             UNION ALL SELECT 'different', jsonb_array_length(cf.value->'levels')
                             UNION ALL SELECT 'missing', -1) l;
    -- the levels whose u the scorer takes from the term frequencies (when analyze()d)
    ALTER TABLE pg_temp.cd_est_lv ADD COLUMN tf boolean;
    UPDATE pg_temp.cd_est_lv lv
       SET tf = coalesce((SELECT (l->>'tf')::boolean
                            FROM jsonb_array_elements(c->'fields'->(lv.fi - 1)->'levels') l
                           WHERE l->>'level' = lv.level LIMIT 1), false);
    CREATE TEMP TABLE cd_est_ex AS
        SELECT row_number() OVER () AS id, e.cand, s.explanation->'fields' AS ex
          FROM pg_temp.cd_est_pairs e
          JOIN pg_temp.cd_est_rows ra ON ra.rn = e.a
          JOIN pg_temp.cd_est_rows rb ON rb.rn = e.b,
               LATERAL @extschema@.score_rows(profile, ra.r, rb.r, true) s;
    -- tu (0.2.0): for a random pair, per field the u the scorer used at a term-frequency
    -- level (to a quarter of a bit), NULL elsewhere
    CREATE TEMP TABLE cd_est_pat AS
        SELECT row_number() OVER () AS pid, cand, cv, tu, count(*) AS n
          FROM (SELECT x.id, x.cand, array_agg(lv.li ORDER BY lv.fi) AS cv,
                       array_agg(CASE WHEN lv.tf AND NOT x.cand AND (fe->>'u')::float8 > 0
                                      THEN power(2::float8, round(4 * ln((fe->>'u')::float8) / ln(2::float8)) / 4) END
                                 ORDER BY lv.fi) AS tu
                  FROM pg_temp.cd_est_ex x, jsonb_array_elements(x.ex) fe, pg_temp.cd_est_lv lv
                 WHERE lv.field = fe->>'field' AND lv.level = fe->>'level'
                 GROUP BY x.id, x.cand) s
         GROUP BY cand, cv, tu;
    CREATE TEMP TABLE cd_est_pv AS
        SELECT t.pid, t.cand, x.fi::int AS fi, x.li, t.n, t.tu[x.fi] AS tu
          FROM pg_temp.cd_est_pat t, unnest(t.cv) WITH ORDINALITY AS x(li, fi)
         WHERE x.li >= 0;

    -- parameters per field and level: m0, u0 the defaults; u_rand from the random pairs
    CREATE TEMP TABLE cd_est_par AS
        SELECT cf.ord::int AS fi, l.li, l.m0, l.u0, l.m0 AS m, coalesce(r.u_rand, 0) AS u_rand,
               coalesce(jsonb_typeof(p.spec->'fields'->(cf.value->>'field')) = 'object'
                        AND (p.spec->'fields'->(cf.value->>'field')) ? 'levels', false) AS fixed
          FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS cf(value, ord)
          CROSS JOIN LATERAL (SELECT (o - 1)::int AS li, (lv->>'m')::float8 AS m0, (lv->>'u')::float8 AS u0
                          FROM jsonb_array_elements(cf.value->'levels') WITH ORDINALITY AS l(lv, o)
                        UNION ALL
                        SELECT jsonb_array_length(cf.value->'levels'),
                               1 - (SELECT sum((lv->>'m')::float8) FROM jsonb_array_elements(cf.value->'levels') lv),
                               1 - (SELECT sum((lv->>'u')::float8) FROM jsonb_array_elements(cf.value->'levels') lv)) l
          LEFT JOIN (SELECT v.fi, v.li, sum(v.n)::float8 / sum(sum(v.n)) OVER (PARTITION BY v.fi) AS u_rand
                       FROM pg_temp.cd_est_pv v WHERE NOT v.cand GROUP BY v.fi, v.li) r
            ON r.fi = cf.ord AND r.li = l.li;
    -- u during EM: the random pairs' share (floored: a level no random pair reached keeps the
    -- smaller of its default and one in the sample)
    ALTER TABLE pg_temp.cd_est_par ADD COLUMN u float8;
    UPDATE pg_temp.cd_est_par
       SET u = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    ALTER TABLE pg_temp.cd_est_par ADD PRIMARY KEY (fi, li);
    ANALYZE pg_temp.cd_est_par;
    ANALYZE pg_temp.cd_est_pv;

    -- One place, several entities (0.2.0): the restaurants of one hotel, the firms of one
    -- building, the people of one household share its address, often its phone number and
    -- always its city, so among unrelated pairs those fields are not independent of the address.
    -- For each phone, city and postcode field (not fixed by the spec): the share of the candidates
    -- at the top level of an address field whose company and person name fields all reached
    -- "different" (different entities at one place) that also reach the field's top level (one
    -- pseudo-pair at its u), its u when an address agrees: in EM below and in the scorer
    -- ("u_same_place").  None without an address field and a name field.  Estimated from the
    -- pairs of unrelated names, applied as the scorer applies it (0.2.0): to every pair at the
    -- top level of an address field (at_place), whatever its names, in both E steps.
    ALTER TABLE pg_temp.cd_est_pat ADD COLUMN at_place boolean, ADD COLUMN place boolean;
    UPDATE pg_temp.cd_est_pat t
       SET at_place = EXISTS (SELECT 1 FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                               WHERE e.fv->>'role' = 'address' AND t.cv[e.o] = 0);
    UPDATE pg_temp.cd_est_pat t
       SET place = t.at_place
                   AND EXISTS (SELECT 1 FROM jsonb_array_elements(c->'fields') e(fv)
                                WHERE e.fv->>'role' IN ('company', 'person_name'))
                   AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                                    WHERE e.fv->>'role' IN ('company', 'person_name')
                                      AND t.cv[e.o] IS DISTINCT FROM jsonb_array_length(e.fv->'levels'));
    CREATE TEMP TABLE cd_est_place AS
        SELECT pr.fi, (coalesce(sum(t.n) FILTER (WHERE t.cv[pr.fi] = 0), 0) + pr.u) / (sum(t.n) + 1) AS place_u
          FROM pg_temp.cd_est_par pr
          JOIN jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o) ON e.o = pr.fi
          JOIN pg_temp.cd_est_pat t ON t.cand AND t.place AND t.cv[pr.fi] >= 0
         WHERE pr.li = 0 AND NOT pr.fixed AND e.fv->>'role' IN ('phone', 'city', 'postcode')
         GROUP BY pr.fi, pr.u;
    UPDATE pg_temp.cd_est_place SET place_u = 0 WHERE place_u IS NULL;
    ALTER TABLE pg_temp.cd_est_place ADD PRIMARY KEY (fi);

    -- EM over the candidates: E step, the probability each vector is a duplicate pair; M step,
    -- m and u as the posterior-weighted shares (plus one pseudo-pair at the starting values)
    lam := 0.1;
    CREATE TEMP TABLE cd_est_post (pid bigint PRIMARY KEY, n bigint, w float8);
    LOOP
        it := it + 1;
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n,
               1 / (1 + (1 - lam) / lam * exp(least(700, greatest(-700,
                   coalesce(sum(ln(CASE WHEN t.at_place AND v.li = 0 THEN greatest(pr.u, coalesce(pl.place_u, 0)) ELSE pr.u END)
                                - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
          LEFT JOIN pg_temp.cd_est_place pl ON pl.fi = v.fi
         WHERE t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(n * w) / sum(n) FROM pg_temp.cd_est_post);
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * q.w) AS sm, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.sm, 0) AS sm, coalesce(s.su, 0) AS su,
                   sum(coalesce(s.sm, 0)) OVER (PARTITION BY pr.fi) AS tm,
                   sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET m = greatest(1e-6, (tot.sm + pr.m0) / (tot.tm + 1)),
               u = greatest(1e-9, (tot.su + pr.u) / (tot.tu + 1))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND NOT pr.fixed;
        delta := abs(lam_new - lam);
        lam := least(0.999, greatest(1e-9, lam_new));
        EXIT WHEN it >= max_iterations OR delta < 1e-7;
    END LOOP;

    -- EM can settle on another split of the candidates than duplicates / the rest (in a table
    -- where the blocking keys gather many records of one common first name, on "same first
    -- name").  Such a split shows as a field whose top level then counts against being
    -- duplicates (m below u): the estimate is not used, the defaults stay.
    IF EXISTS (SELECT 1 FROM pg_temp.cd_est_par pr WHERE pr.li = 0 AND NOT pr.fixed
                  AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1)))) THEN
        summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                      'iterations', it, 'rejected', true);
        RAISE WARNING 'crmdedup: the estimate for profile "%" was not used: it makes agreeing on field "%" count against duplicates',
            profile, (SELECT string_agg(e.fv->>'field', ', ') FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(fv, o)
                        JOIN pg_temp.cd_est_par pr ON pr.fi = e.o AND pr.li = 0 AND NOT pr.fixed
                         AND pr.m < greatest(pr.u_rand, least(pr.u0, 1.0 / greatest(nrand, 1))))
            USING HINT = 'The profile keeps its default m, u and prior.  Try again with a lower block_cap, or give the levels in the spec.';
        DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
            pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex, pg_temp.cd_est_place;
        RETURN summary;
    END IF;

    -- The prior: the duplicates EM counts among the candidates, over all pairs; but the blocking
    -- keys skip big blocks, where the duplicates of a frequent name sit, so the share of
    -- duplicates among the random pairs is estimated too (the same E step over the random
    -- sample, with m from EM), and the larger of the two is taken.
    -- The random pairs hold duplicates too (about prior x sample pairs of them), and on the top
    -- levels of identifying fields (same mailbox, same date) they are most of what the sample
    -- sees: their share is not u.  So u is estimated in the same loop as that share (0.2.0): the
    -- M step takes u as the share of each level among the random pairs weighted by the
    -- probability that they are not duplicates (floored as above: a level no unrelated pair
    -- reached keeps the smaller of its default and one in the sample).
    UPDATE pg_temp.cd_est_par SET u_rand = greatest(u_rand, least(u0, 1.0 / greatest(nrand, 1)));
    lam_r := least(0.5, greatest(1e-9, lam * ncand / all_pairs));
    FOR k IN 1 .. max_iterations LOOP
        TRUNCATE pg_temp.cd_est_post;
        INSERT INTO pg_temp.cd_est_post
        SELECT t.pid, t.n, 1 / (1 + (1 - lam_r) / lam_r * exp(least(700, greatest(-700,
                   coalesce(sum(ln(CASE WHEN t.at_place AND v.li = 0
                                        THEN greatest(coalesce(v.tu, pr.u_rand), coalesce(pl.place_u, 0))
                                        ELSE coalesce(v.tu, pr.u_rand) END) - ln(pr.m)), 0)))))
          FROM pg_temp.cd_est_pat t
          LEFT JOIN pg_temp.cd_est_pv v ON v.pid = t.pid
          LEFT JOIN pg_temp.cd_est_par pr ON pr.fi = v.fi AND pr.li = v.li
          LEFT JOIN pg_temp.cd_est_place pl ON pl.fi = v.fi
         WHERE NOT t.cand
         GROUP BY t.pid, t.n;
        lam_new := (SELECT sum(q.n * q.w) / sum(q.n) FROM pg_temp.cd_est_post q);
        lam_new := least(0.5, greatest(1e-9, lam_new));
        WITH s AS (
            SELECT v.fi, v.li, sum(v.n * (1 - q.w)) AS su
              FROM pg_temp.cd_est_pv v JOIN pg_temp.cd_est_post q ON q.pid = v.pid
             GROUP BY v.fi, v.li),
        tot AS (
            SELECT pr.fi, pr.li, coalesce(s.su, 0) AS su, sum(coalesce(s.su, 0)) OVER (PARTITION BY pr.fi) AS tu
              FROM pg_temp.cd_est_par pr LEFT JOIN s ON s.fi = pr.fi AND s.li = pr.li)
        UPDATE pg_temp.cd_est_par pr
           SET u_rand = greatest(tot.su / tot.tu, least(pr.u0, 1.0 / greatest(nrand, 1)))
          FROM tot WHERE tot.fi = pr.fi AND tot.li = pr.li AND tot.tu > 0 AND NOT pr.fixed;
        delta := abs(lam_new - lam_r);
        lam_r := lam_new;
        EXIT WHEN delta < 1e-9;
    END LOOP;

    -- the compiled profile with the estimates: m from EM, u from the random pairs
    prior := CASE WHEN p.spec ? 'prior' THEN (c->>'prior')::float8
                  ELSE least(0.5, greatest(1e-9, lam * ncand / all_pairs, lam_r)) END;
    FOR f, fidx IN SELECT e.value, e.ord FROM jsonb_array_elements(c->'fields') WITH ORDINALITY AS e(value, ord) LOOP
        IF NOT (SELECT bool_or(fixed) FROM pg_temp.cd_est_par WHERE cd_est_par.fi = fidx) THEN
            -- named levels keep below 1 in m and u together (the rest is "different")
            f := jsonb_set(f, '{levels}', (
                SELECT jsonb_agg(lv || jsonb_build_object(
                           'm', round((pr.m / greatest(1, s.sm / 0.999))::numeric, 8)::float8,
                           'u', round((pr.u_rand / greatest(1, s.su / 0.999))::numeric, 10)::float8)
                           ORDER BY o)
                  FROM jsonb_array_elements(f->'levels') WITH ORDINALITY AS l(lv, o)
                  JOIN pg_temp.cd_est_par pr ON pr.fi = fidx AND pr.li = o - 1,
                       LATERAL (SELECT sum(x.m) AS sm, sum(x.u_rand) AS su
                                  FROM pg_temp.cd_est_par x
                                 WHERE x.fi = fidx AND x.li < jsonb_array_length(f->'levels')) s));
            IF EXISTS (SELECT 1 FROM pg_temp.cd_est_place pl WHERE pl.fi = fidx AND pl.place_u > 0) THEN
                f := f || jsonb_build_object('u_same_place',
                                             (SELECT round(pl.place_u::numeric, 8)::float8 FROM pg_temp.cd_est_place pl WHERE pl.fi = fidx));
            END IF;
        END IF;
        fields := fields || jsonb_build_array(f);
    END LOOP;
    summary := jsonb_build_object('rows', nrows, 'candidate_pairs', ncand, 'random_pairs', nrand,
                                  'iterations', it, 'duplicate_share_of_candidates', round(lam::numeric, 6),
                                  'duplicate_share_of_random_pairs', round(lam_r::numeric, 6),
                                  'prior', prior, 'estimated_at', now());
    c := c || jsonb_build_object('fields', fields, 'prior', prior, 'estimated', summary);
    UPDATE @extschema@.profiles pr SET compiled = c, updated_at = now() WHERE pr.name = p.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table % to estimate its profile', p.table_oid
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- the scorer's checks of the new numbers (an error here undoes the update)
    PERFORM @extschema@.score_rows(profile, '{}', '{}', false);
    DROP TABLE IF EXISTS pg_temp.cd_est_rows, pg_temp.cd_est_keys, pg_temp.cd_est_pairs, pg_temp.cd_est_pat,
        pg_temp.cd_est_pv, pg_temp.cd_est_par, pg_temp.cd_est_post, pg_temp.cd_est_lv, pg_temp.cd_est_ex, pg_temp.cd_est_place;
    RETURN summary;
END;
$$;

COMMENT ON FUNCTION @extschema@.estimate(text, integer, integer, integer) IS
'estimate a profile''s m and u probabilities and its prior from its table (u from random pairs, m and the duplicate share by EM over the blocking candidates)';

-- company_key(): key rules 3 (no SQL object changes; crmdedup.runtime_versions() reports
-- "crmdedup keys" 3): a run of two or more one-letter words is one word, its letters joined
-- (`D.S.M.` -> dsm, `U. S. Philips` -> us philips), and a legal form when the joined letters
-- are one (`Unilever P.L.C.`, `Foo G.m.b.H.`, `Foo A.G.` -> unilever, foo).  Indexes and stored
-- values built with company_key() (and with company_similarity(), name keys of companies) by an
-- earlier build must be rebuilt (REINDEX), then crmdedup.refresh_versions(); crmdedup.versions()
-- warns until then.  The scorer (match_rows and everything built on it): a company name whose
-- words are all words of the other name counts at the top level with the pair's term-frequency u.

-- company_key() key rules 3, review (no SQL object changes): the longest end of a run of
-- one-letter words that is a legal form is removed and the letters before it stay a word
-- (`Type X G.m.b.H.` -> type x); two letters first in the name are initials, not a form
-- (`A.G. Barr` -> ag barr); initials with nothing but legal forms are the name (`A.B. Ltd` ->
-- ab); only letters join (not Arabic-Indic or NKo digits).  The scorer: a contained company
-- name is promoted only when the pair's term-frequency u (the larger of the two names'
-- frequencies) gives the top level a weight at least the level below the top's (m0/u >= m1/u1).
-- After upgrading, besides REINDEX: term frequencies gathered by crmdedup.analyze() under
-- earlier keys (crmdedup.term_stats) hold the old company words; run crmdedup.analyze() again
-- for every profile with a company field, or company pairs are scored with stale frequencies.

-- clusters(): a pair across two groups is known different (keeps them apart) below the
-- profile's prior (its fields' evidence against it), 0.2 at most; it was 0.2 for every profile.
-- Clusters: components of the pairs above min_score, split by average linkage so that a chain
-- A~B~C of two different people never becomes one cluster.  The components, the scores of
-- the pairs inside them that no key found, and the clustering are report_cluster() in C.
-- Known different (0.2.0): a pair across two groups keeps them apart when its fields' evidence
-- is against it (a score below the profile's prior, so its weights sum below 0), 0.2 at most: a
-- pair scored 0.2 whose fields gave evidence for it (two typo spellings of one name, where the
-- prior is large) is not known different.
CREATE OR REPLACE FUNCTION @extschema@.clusters(profile text, min_score float8 DEFAULT NULL, survivor text DEFAULT 'most_complete',
                                     block_cap integer DEFAULT 20, survivor_column text DEFAULT NULL)
RETURNS TABLE (cluster_id text, id text, score float8, is_survivor boolean, suggested_survivor text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    p record;
    threshold float8;
    known_different float8;
    refs text := '';
    fk record;
    chunks integer;
    nscored integer;
    w regclass[];
    t0 timestamptz := clock_timestamp();
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF survivor IS NULL OR survivor NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid survivor rule "%"', coalesce(survivor, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use most_complete, oldest, newest or most_referenced.';
    END IF;
    IF survivor IN ('oldest', 'newest') AND NOT EXISTS (
            SELECT 1 FROM pg_attribute WHERE attrelid = p.table_oid AND attname = coalesce(survivor_column, 'created_at')
               AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'survivor rule % needs a timestamp column', survivor
            USING ERRCODE = 'undefined_column', HINT = 'Name it with survivor_column (default created_at).';
    END IF;
    threshold := coalesce(min_score, (p.compiled->>'same')::float8);
    known_different := least(0.2, coalesce((p.compiled->>'prior')::float8, 0.2));
    chunks := @extschema@.report_work(profile, block_cap);
    w := @extschema@.report_work_tables(chunks);

    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- every pair inside the components of the strong pairs (those no key found numbered n,
    -- with no score yet), then the missing ones scored like the candidates (in parallel):
    -- report_cluster() reads these, not every candidate pair again
    EXECUTE format('CREATE %s TABLE %s AS SELECT n, a, b, score FROM @extschema@.report_missing_pairs(%L::regclass, %L::regclass[], %L::float8)',
                   kind, @extschema@.report_work_name('inner'), w[1], w[2:], threshold);
    IF chunks > 0 THEN
        EXECUTE 'DROP TABLE ' || array_to_string(w[2:], ', ');
    END IF;
    EXECUTE format('CREATE INDEX ON %s (n)', @extschema@.report_work_name('inner'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('inner'));
    nscored := @extschema@.report_score(profile, @extschema@.report_work_name('inner')::regclass, chunks, 500000,
                                        'pairs inside components');
    w := ARRAY[w[1], @extschema@.report_work_name('inner')::regclass]
         || (SELECT coalesce(array_agg(@extschema@.report_work_name('s' || i)::regclass ORDER BY i), '{}')
               FROM generate_series(chunks + 1, nscored) i);
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_report_clusters; END IF;
    CREATE TEMP TABLE cd_report_clusters ON COMMIT DROP AS
        SELECT k.rn, k.center, k.score FROM @extschema@.report_cluster(profile, w[1], w[2:], threshold, known_different) k;
    RAISE NOTICE 'crmdedup: % clusters (% s)',
        (SELECT count(*) FROM (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) c),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the suggested survivor of each cluster
    IF survivor = 'most_referenced' THEN
        FOR fk IN SELECT c.conrelid::regclass AS child, a.attname AS col
                    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   WHERE c.contype = 'f' AND c.confrelid = p.table_oid AND cardinality(c.conkey) = 1 LOOP
            refs := refs || format(' + (SELECT count(*) FROM %s x WHERE x.%I::text = f.id)', fk.child, fk.col);
        END LOOP;
    END IF;
    -- the members of clusters of two or more: (rn, id of the table's key type, cluster_id, score)
    EXECUTE format('CREATE %1$s TABLE %3$s AS SELECT k.rn, i.id, ic.id::text AS cluster_id, k.score
                      FROM pg_temp.cd_report_clusters k
                      JOIN (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) big USING (center)
                      JOIN %2$s i ON i.rn = k.rn JOIN %2$s ic ON ic.rn = k.center',
                   kind, @extschema@.report_work_name('ids'), @extschema@.report_work_name('members'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('members'));
    -- each member's rank under the survivor rule, which reads the whole row (as
    -- report_rows_sql() gives it, child-table fields included), built for the members only;
    -- a CREATE TABLE AS, which may run in parallel workers
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s AS SELECT c.cluster_id, f.id, c.score, %s AS rank_value
                      FROM %s c JOIN (%s) f ON f.rn = c.rn',
                   kind, @extschema@.report_work_name('ranks'),
                   CASE survivor
                       WHEN 'most_complete' THEN '@extschema@.filled_fields(f.r)'
                       WHEN 'most_referenced' THEN '0' || refs
                       ELSE format('(f.r->>%L)::timestamptz', coalesce(survivor_column, 'created_at')) END,
                   @extschema@.report_work_name('members'),
                   @extschema@.report_rows_rn_sql(profile, @extschema@.report_work_name('members'), true));
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    RETURN QUERY EXECUTE format(
        'WITH s AS (SELECT DISTINCT ON (cluster_id) cluster_id, id AS survivor
                      FROM %1$s ORDER BY cluster_id, rank_value %2$s NULLS LAST, id)
         SELECT m.cluster_id, m.id, m.score, m.id = s.survivor, s.survivor
           FROM %1$s m JOIN s USING (cluster_id)
          ORDER BY m.cluster_id, m.id = s.survivor DESC, m.score DESC, m.id',
        @extschema@.report_work_name('ranks'),
        CASE survivor WHEN 'oldest' THEN 'ASC' ELSE 'DESC' END);
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ') || ', ' || @extschema@.report_work_name('ids') || ', '
            || @extschema@.report_work_name('members') || ', ' || @extschema@.report_work_name('ranks');
END;
$$;

COMMENT ON FUNCTION @extschema@.clusters(text, float8, text, integer, text) IS
'duplicate clusters of a profile''s table: members, their score against the cluster''s best record, and a suggested survivor';

-- term_stats.freq is a share of rows in (0, 1] (term_stats_freq_check): the scorer takes its
-- logarithm, so a 0, a negative value or NaN failed every score of the field, and a share above
-- 1 (analyze() over a child table, or rows added while it ran) meant nothing.  Rows gathered
-- before hold such values only in those cases: a share above 1 (or infinite) becomes 1, what
-- analyze() now writes; a 0, a negative or NaN is removed (the term counts as unknown).
DELETE FROM @extschema@.term_stats WHERE freq OPERATOR(pg_catalog.<=) 0 OR freq OPERATOR(pg_catalog.=) 'NaN'::float8;
UPDATE @extschema@.term_stats SET freq = 1 WHERE freq OPERATOR(pg_catalog.>) 1;
ALTER TABLE @extschema@.term_stats ADD CONSTRAINT term_stats_freq_check
    CHECK (freq OPERATOR(pg_catalog.>) 0 AND freq OPERATOR(pg_catalog.<=) 1);

CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
    others text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email', 'phone')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          (f->'from'->>'table')::regclass);
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, least((count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                       / greatest($3, 1), 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'phone' THEN
            -- a number: how many rows hold it besides the two compared (0.2.0); a number
            -- held by one or two rows is left out (the scorer then keeps the level's u: a
            -- number can weaken the level, as a switchboard many records share does, not
            -- strengthen it)
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, least((count(DISTINCT k) - 2)::float8 / greatest($3, 1), 1)
                              FROM (%s) s, unnest(%I.term_keys(''phone'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT k) > 2', '@extschema@', src, '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'company' THEN
            -- 0.2.0: a company word: the share of the distinct company names holding it.
            -- Legal names are unique within a jurisdiction, so the rows sharing one name
            -- are mostly records of one company: they do not make its words look common,
            -- while a generic word (holding, electronics) is held by many names.
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, w.term, least(count(*)::float8 / greatest(max(k.names), 1), 1)
                              FROM (SELECT key, count(*) OVER () AS names
                                      FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                              FROM (%s) s WHERE v IS NOT NULL) d
                                     WHERE key IS NOT NULL AND key <> '''') k,
                                   LATERAL (SELECT DISTINCT term FROM unnest(string_to_array(k.key, '' '')) AS term
                                             WHERE term <> '''') w
                             GROUP BY w.term', '@extschema@', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field';
            -- and a whole name: the share of rows holding it, rows that also agree on
            -- every other field of the profile (in the table itself) counted once: copies
            -- of one record say nothing of how many companies share a name, branches at
            -- other addresses do; a name counted once is left out (1/rows).  A name of one
            -- word is kept as the word and a space (the word alone is the word's share of
            -- distinct names), for two records holding that same name (0.2.0): the larger of
            -- that share and the share of distinct names holding the word counted once per
            -- first word, so that the names of one group (DSM, DSM IP Assets, DSM Research)
            -- count once while a generic word (Holding: Nordic Holding, Baltic Holding ...)
            -- stays common; each share is left out when it counts one.  The groups counted
            -- are the groups other than the pair's own (0.2.0, as for mailbox names: the
            -- evidence is how often another company holds the name), so a word held by
            -- two groups counts one
            SELECT coalesce(string_agg(format('t.%I', o->>'field'), ', ' ORDER BY o->>'field'), '')
              INTO others
              FROM jsonb_array_elements(p.compiled->'fields') o
             WHERE NOT o ? 'from' AND o->>'field' <> f->>'field';
            IF f ? 'from' THEN
                others := 's.k';	-- a child table's values: every record counts
            END IF;
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            WITH d AS (SELECT key FROM (SELECT DISTINCT %I.translit(%I.company_key(v)) AS key
                                                          FROM (%s) s WHERE v IS NOT NULL) d0
                                        WHERE key IS NOT NULL AND key <> '''')
                            SELECT $1, $2, term, max(freq)
                              FROM (SELECT term, least(count(DISTINCT o)::float8 / greatest($3, 1), 1) AS freq
                                      FROM (SELECT CASE WHEN strpos(key, '' '') > 0 THEN key ELSE key || '' '' END AS term, o
                                              FROM (SELECT %I.translit(%I.company_key(s.v)) AS key, jsonb_build_array(%s) AS o
                                                      FROM (%s) s %s WHERE s.v IS NOT NULL) k
                                             WHERE key <> '''') w
                                     GROUP BY term HAVING count(DISTINCT o) > 1
                                    UNION ALL
                                    SELECT x.word || '' '', (count(DISTINCT split_part(d.key, '' '', 1)) - 1)::float8
                                                          / greatest((SELECT count(*) FROM d), 1)
                                      FROM d, LATERAL (SELECT DISTINCT word FROM unnest(string_to_array(d.key, '' '')) AS word
                                                        WHERE word <> '''') x
                                     WHERE x.word IN (SELECT d1.key FROM d d1 WHERE strpos(d1.key, '' '') = 0)
                                     GROUP BY x.word HAVING count(DISTINCT split_part(d.key, '' '', 1)) > 1) t
                             GROUP BY term',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', others, src,
                           CASE WHEN f ? 'from' THEN '' ELSE format('JOIN %s t ON t.%I = s.k', p.table_oid, p.compiled->>'id') END)
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, least(count(DISTINCT k)::float8 / greatest($3, 1), 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term HAVING count(DISTINCT k) > 0', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, least(count(DISTINCT k)::float8 / greatest($3, 1), 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

-- crmdedup.name_ops: name index keys name-grams-5 (no SQL object changes): a name of 2 words
-- with a patronymic holds a shape key of its own, so the index leaves out the 2-word items
-- that share only a query's given name.  Indexes USING gin (... crmdedup.name_ops) built with
-- name-grams-4 must be rebuilt (REINDEX), then crmdedup.refresh_versions(); crmdedup.versions()
-- warns.  name_similarity: a person-word typo that is one edit apart only through the spelling
-- fold scores 0.01 less than one typed as it reads.

-- 0.2.0: guard() refuses partitioned tables and partitions (their row triggers fire on the partition, whose guard they cannot find)
-- and makes a scalar key's own index in the "C" collation (an index in "C" on the same key is
-- reused as well); indexes made before keep their collation, and each guard's probe is written
-- in its index's collation

CREATE OR REPLACE FUNCTION @extschema@.guard(profile text, action text DEFAULT 'block', name text DEFAULT NULL,
                                  fields text[] DEFAULT NULL, min_score float8 DEFAULT NULL,
                                  link_column text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    gname text;
    tbl regclass;
    idcol text;
    keys text[] := '{}';
    conds text[] := '{}';
    cols text[] := '{}';
    cexpr text;
    rexpr text;
    iexpr text;
    iname text;
    used text[] := '{}';
    link_type text;
    id_type text;
    nsp text;
    relname text;
    coltype text;
    listcast text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = guard.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    tbl := p.table_oid;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to guard it', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- a partitioned table's row trigger fires on the partition, whose guard it cannot find,
    -- and its key locks would be the partition's: refused rather than failing every insert
    IF (SELECT c.relkind = 'p' OR c.relispartition
          FROM pg_class c
         WHERE c.oid = tbl) THEN
        RAISE EXCEPTION 'crmdedup guards do not support partitioned tables or partitions: %', tbl
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Guard a table that is not partitioned.';
    END IF;
    IF action IS NULL OR action NOT IN ('block', 'flag', 'link') THEN
        RAISE EXCEPTION 'invalid guard action "%"', coalesce(action, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use block, flag or link.';
    END IF;
    gname := coalesce(name, profile || '_' || action);
    IF gname !~ '^[A-Za-z_][A-Za-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'invalid guard name "%"', gname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use letters, digits and underscores, at most 41 characters, starting with a letter.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.guards g WHERE g.name = gname) THEN
        RAISE EXCEPTION 'guard "%" already exists', gname USING ERRCODE = 'duplicate_object';
    END IF;
    IF min_score IS NOT NULL AND (min_score < 0 OR min_score > 1) THEN
        RAISE EXCEPTION 'min_score must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    idcol := p.compiled->>'id';
    id_type := p.compiled->>'id_type';
    SELECT n.nspname, c.relname INTO nsp, relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;

    IF action = 'link' THEN
        IF link_column IS NULL THEN
            RAISE EXCEPTION 'a link guard needs link_column' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Name the column that receives the existing row''s id, e.g. link_column => ''duplicate_of''.';
        END IF;
        SELECT format_type(atttypid, atttypmod) INTO link_type FROM pg_attribute
         WHERE attrelid = tbl AND attname = link_column AND attnum > 0 AND NOT attisdropped;
        IF link_type IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', link_column, tbl USING ERRCODE = 'undefined_column';
        END IF;
    ELSIF link_column IS NOT NULL THEN
        RAISE EXCEPTION 'link_column applies to link guards only' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') LOOP
        CONTINUE WHEN fields IS NOT NULL AND NOT (f->>'field' = ANY (fields));
        CONTINUE WHEN f->>'role' NOT IN ('phone', 'email', 'person_name', 'company', 'external_id');
        IF f ? 'from' THEN
            IF fields IS NOT NULL THEN
                RAISE EXCEPTION 'field "%" lives in table % and cannot be guarded on %', f->>'field',
                    f->'from'->>'table', tbl
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Guard the child table with its own profile.';
            END IF;
            CONTINUE;
        END IF;
        -- a list column (text[], jsonb) is keyed as a whole; a scalar column one value at a time
        coltype := (SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = tbl AND attname = f->>'field');
        listcast := CASE WHEN coltype IN ('text[]', 'character varying[]') THEN 'text[]'
                         WHEN coltype IN ('jsonb', 'json') THEN 'jsonb' END;
        IF listcast IS NOT NULL AND f->>'role' NOT IN ('phone', 'email') THEN
            RAISE EXCEPTION '% field "%" must be a scalar column to be guarded', f->>'role', f->>'field'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- a scalar key's condition is cexpr = rexpr (the row's side, the new row's side),
        -- written below in its index's collation; a list's, cexpr whole
        rexpr := NULL;
        CASE f->>'role'
        WHEN 'phone' THEN
            IF listcast IS NULL THEN
                -- plain C calls on a scalar: an SQL-language helper per row costs more than the probe
                keys := keys || format('SELECT ''p:'' || @extschema@.phone_e164(($1).%I::text, %L)', f->>'field', f->>'region');
                iexpr := format('@extschema@.phone_e164(%I::text, %L)', f->>'field', f->>'region');
                cexpr := format('@extschema@.phone_e164(t.%I::text, %L)', f->>'field', f->>'region');
                rexpr := format('@extschema@.phone_e164(($1).%I::text, %L)', f->>'field', f->>'region');
            ELSE
                keys := keys || format('SELECT ''p:'' || k FROM unnest(@extschema@.phone_keys(($1).%I::%s, %L)) k',
                                       f->>'field', listcast, f->>'region');
                iexpr := format('@extschema@.phone_keys(%I::%s, %L)', f->>'field', listcast, f->>'region');
                cexpr := format('@extschema@.phone_keys(t.%I::%s, %L) OPERATOR(pg_catalog.&&) @extschema@.phone_keys(($1).%I::%s, %L)',
                                f->>'field', listcast, f->>'region', f->>'field', listcast, f->>'region');
            END IF;
        WHEN 'email' THEN
            IF listcast IS NULL THEN
                keys := keys || format('SELECT ''e:'' || @extschema@.email_key(($1).%I::text)', f->>'field');
                iexpr := format('@extschema@.email_key(%I::text)', f->>'field');
                cexpr := format('@extschema@.email_key(t.%I::text)', f->>'field');
                rexpr := format('@extschema@.email_key(($1).%I::text)', f->>'field');
            ELSE
                keys := keys || format('SELECT ''e:'' || k FROM unnest(@extschema@.email_keys(($1).%I::%s)) k',
                                       f->>'field', listcast);
                iexpr := format('@extschema@.email_keys(%I::%s)', f->>'field', listcast);
                cexpr := format('@extschema@.email_keys(t.%I::%s) OPERATOR(pg_catalog.&&) @extschema@.email_keys(($1).%I::%s)',
                                f->>'field', listcast, f->>'field', listcast);
            END IF;
        WHEN 'person_name' THEN
            -- the sorted transliterated words, and their sound keys (typos, spelling variants);
            -- candidates by the sound key, which the same words always share
            keys := keys || format('SELECT ''n:'' || @extschema@.person_key(($1).%I::text)', f->>'field')
                         || format('SELECT ''h:'' || @extschema@.phonetic(@extschema@.person_key(($1).%I::text))', f->>'field');
            iexpr := format('@extschema@.phonetic(@extschema@.person_key(%I::text))', f->>'field');
            cexpr := format('@extschema@.phonetic(@extschema@.person_key(t.%I::text))', f->>'field');
            rexpr := format('@extschema@.phonetic(@extschema@.person_key(($1).%I::text))', f->>'field');
        WHEN 'company' THEN
            keys := keys || format('SELECT ''c:'' || @extschema@.company_key(($1).%I::text)', f->>'field');
            iexpr := format('@extschema@.company_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.company_key(t.%I::text)', f->>'field');
            rexpr := format('@extschema@.company_key(($1).%I::text)', f->>'field');
        ELSE    -- external_id
            keys := keys || format('SELECT ''x:'' || %L || '':'' || @extschema@.name_key(($1).%I::text)', f->>'field', f->>'field');
            iexpr := format('@extschema@.name_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.name_key(t.%I::text)', f->>'field');
            rexpr := format('@extschema@.name_key(($1).%I::text)', f->>'field');
        END CASE;
        cols := cols || (f->>'field');
        used := used || (f->>'field');
        -- the index that makes the probe O(candidates): btree on a key, GIN on a key array
        -- (a name's index is on its sound key: "_person_sound", not the exact key's "_person_name")
        iname := left('crmdedup_' || relname || '_' || (f->>'field') || '_'
                      || CASE WHEN f->>'role' = 'person_name' THEN 'person_sound' ELSE f->>'role' END, 63);
        -- A btree the table already has on the same key (a unique index on a normalized phone
        -- or email, say) serves the probe as well: no second index to keep up on every insert.
        -- Same key: one expression column printing as this one, no predicate, the default
        -- text opclass, the database's default collation or "C" (the probe's condition is
        -- written in the index's collation below, so that the planner uses it for the SQL
        -- probe of inherited tables too; another collation could order or compare otherwise).
        IF rexpr IS NOT NULL AND to_regclass(format('%I.%I', nsp, iname)) IS NULL THEN
            SELECT ic.relname INTO iname
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
             WHERE i.indrelid = tbl AND i.indnatts = 1 AND i.indkey[0] = 0 AND i.indpred IS NULL
               AND i.indisvalid AND i.indisready AND i.indislive AND am.amname = 'btree'
               AND i.indcollation[0] IN ('pg_catalog.default'::pg_catalog.regcollation,
                                         'pg_catalog."C"'::pg_catalog.regcollation)
               AND i.indclass[0] = (SELECT oc.oid FROM pg_opclass oc WHERE oc.opcmethod = am.oid
                                       AND oc.opcintype = 'pg_catalog.text'::pg_catalog.regtype AND oc.opcdefault)
               AND pg_get_indexdef(i.indexrelid, 1, false)
                   = replace(replace(iexpr, quote_ident(f->>'field') || '::text', quote_ident(f->>'field')),
                             format('%L)', f->>'region'), format('%L::text)', f->>'region'))
             ORDER BY i.indisunique DESC, ic.relname LIMIT 1;
            IF FOUND THEN
                RAISE NOTICE 'guard "%" uses the index % on %', gname, quote_ident(iname), iexpr;
            ELSE
                iname := left('crmdedup_' || relname || '_' || (f->>'field') || '_'
                              || CASE WHEN f->>'role' = 'person_name' THEN 'person_sound' ELSE f->>'role' END, 63);
            END IF;
        END IF;
        -- A scalar key's own index is in the "C" collation: the keys are only ever compared
        -- for equality, which is bytewise in every deterministic collation, and a descent
        -- then compares bytes instead of calling the database's collation (ICU or libc) at
        -- each of its steps, in the probes and in every insert
        IF to_regclass(format('%I.%I', nsp, iname)) IS NULL THEN
            EXECUTE format('CREATE INDEX %I ON %s USING %s ((%s)%s)',
                           iname, tbl, CASE WHEN rexpr IS NULL THEN 'gin' ELSE 'btree' END, iexpr,
                           CASE WHEN rexpr IS NULL THEN '' ELSE ' COLLATE pg_catalog."C"' END);
        END IF;
        IF rexpr IS NOT NULL THEN
            cexpr := format('%s%s = %s', cexpr,
                            CASE WHEN (SELECT i.indcollation[0] FROM pg_index i
                                        WHERE i.indexrelid = to_regclass(format('%I.%I', nsp, iname)))
                                      = 'pg_catalog."C"'::pg_catalog.regcollation
                                 THEN ' COLLATE pg_catalog."C"' ELSE '' END,
                            rexpr);
        END IF;
        conds := conds || cexpr;
    END LOOP;

    IF cardinality(conds) = 0 THEN
        RAISE EXCEPTION 'profile "%" has no field a guard can use', profile
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Guards find candidates by phone, email, person_name, company or external_id columns of the table.';
    END IF;

    INSERT INTO @extschema@.guards (name, profile, table_oid, action, fields, min_score, link_column, keys_sql, probe_sql)
    VALUES (gname, profile, tbl, action, used,
            coalesce(min_score, (p.compiled->>'same')::float8), link_column,
            format('SELECT ARRAY(SELECT DISTINCT k FROM (%s) s(k) WHERE k IS NOT NULL)', array_to_string(keys, ' UNION ALL ')),
            format('SELECT t.%I::text, m.score, m.explanation, '
                   '(SELECT string_agg(CASE WHEN (x->>''similarity'')::float8 >= 0.999 THEN x->>''level'' '
                   'ELSE (x->>''level'') || '' '' || (x->>''similarity'') END || '' ('' || (x->>''field'') || '')'', '', '' '
                   'ORDER BY (x->>''weight'')::float8 DESC) FROM jsonb_array_elements(m.explanation->''fields'') x '
                   'WHERE (x->>''weight'')::float8 > 0) '
                   'FROM %s t CROSS JOIN LATERAL @extschema@.score_rows(%L, to_jsonb($1), to_jsonb(t), true) m '
                   'WHERE (%s) AND t.%I IS DISTINCT FROM ($1).%I AND m.score >= $2 ORDER BY m.score DESC, 1 LIMIT 3',
                   idcol, tbl, profile, array_to_string(conds, ' OR '), idcol, idcol));

    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_trigger(%L)',
                   'crmdedup_guard_' || gname,
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c), tbl, gname);
    RETURN gname;
END;
$$;

COMMENT ON FUNCTION @extschema@.guard(text, text, text, text[], float8, text) IS
'attach a guard (block, flag or link duplicates) to the table of a profile; creates the indexes it needs';

-- 0.2.0: analyze() counts a company word once per group of names the profile's own weights
-- call the same company (one company's many spellings no longer make its words look common).
-- Its company branch computes each row's key once for the word shares, the whole names'
-- shares and the count of distinct names (one statement), not in four passes (2026-11-28).
CREATE OR REPLACE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
    others text;
    names bigint;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code',
                                       'email', 'phone')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          (f->'from'->>'table')::regclass);
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        IF f->>'role' = 'email' THEN
            -- a mailbox name: how many other mailboxes hold it, per row (a person's
            -- duplicates mostly share one mailbox: they do not make its name look common);
            -- a name held by one mailbox is left out
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, least((count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) - 1)::float8
                                                       / greatest($3, 1), 1)
                              FROM (%s) s, unnest(%I.term_keys(''email'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT coalesce(%I.email_key(v), %I.name_key(v))) > 1',
                           '@extschema@', '@extschema@', '@extschema@', src, '@extschema@', '@extschema@', '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'phone' THEN
            -- a number: how many rows hold it besides the two compared (0.2.0); a number
            -- held by one or two rows is left out (the scorer then keeps the level's u: a
            -- number can weaken the level, as a switchboard many records share does, not
            -- strengthen it)
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, least((count(DISTINCT k) - 2)::float8 / greatest($3, 1), 1)
                              FROM (%s) s, unnest(%I.term_keys(''phone'', v)) AS term
                             WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                             GROUP BY term HAVING count(DISTINCT k) > 2', '@extschema@', src, '@extschema@')
                USING p.name, f->>'field', n;
            CONTINUE;
        END IF;
        IF f->>'role' = 'company' THEN
            -- 0.2.0: a company word: the share of the distinct company names holding it.
            -- Legal names are unique within a jurisdiction, so the rows sharing one name
            -- are mostly records of one company: they do not make its words look common,
            -- while a generic word (holding, electronics) is held by many names.
            -- And a whole name: the share of rows holding it, rows that also agree on
            -- every other field of the profile (in the table itself) counted once: copies
            -- of one record say nothing of how many companies share a name, branches at
            -- other addresses do; a name counted once is left out (1/rows).  A name of one
            -- word is kept as the word and a space (the word alone is the word's share of
            -- distinct names), for two records holding that same name (0.2.0): the larger of
            -- that share and the share of distinct names holding the word counted once per
            -- first word, so that the names of one group (DSM, DSM IP Assets, DSM Research)
            -- count once while a generic word (Holding: Nordic Holding, Baltic Holding ...)
            -- stays common; each share is left out when it counts one.  The groups counted
            -- are the groups other than the pair's own (0.2.0, as for mailbox names: the
            -- evidence is how often another company holds the name), so a word held by
            -- two groups counts one.
            -- Both in one statement, which also counts the distinct names for the bound
            -- below: each row's key (translit(company_key(v)), the costly part) is computed
            -- once for the three, not in four passes over the table (2026-11-28).  A row with
            -- a NULL id counts for the words, not for the whole names (the join on the id
            -- found no row for it when they were two statements).
            SELECT coalesce(string_agg(format('t.%I', o->>'field'), ', ' ORDER BY o->>'field'), '')
              INTO others
              FROM jsonb_array_elements(p.compiled->'fields') o
             WHERE NOT o ? 'from' AND o->>'field' <> f->>'field';
            IF f ? 'from' THEN
                others := 's.k';	-- a child table's values: every record counts
            END IF;
            EXECUTE format('WITH keys AS MATERIALIZED (
                                SELECT %1$I.translit(%1$I.company_key(s.v)) AS key, jsonb_build_array(%3$s) AS o,
                                       %5$s AS joined
                                  FROM (%2$s) s %4$s WHERE s.v IS NOT NULL),
                            d AS MATERIALIZED (
                                SELECT DISTINCT key FROM keys WHERE key IS NOT NULL AND key <> ''''),
                            word_shares AS (
                                INSERT INTO %1$I.term_stats (profile, field, term, freq)
                                SELECT $1, $2, w.term, least(count(*)::float8 / greatest((SELECT count(*) FROM d), 1), 1)
                                  FROM d, LATERAL (SELECT DISTINCT term FROM unnest(string_to_array(d.key, '' '')) AS term
                                                    WHERE term <> '''') w
                                 GROUP BY w.term),
                            name_shares AS (
                                INSERT INTO %1$I.term_stats (profile, field, term, freq)
                                SELECT $1, $2, term, max(freq)
                                  FROM (SELECT term, least(count(DISTINCT o)::float8 / greatest($3, 1), 1) AS freq
                                          FROM (SELECT CASE WHEN strpos(key, '' '') > 0 THEN key ELSE key || '' '' END AS term, o
                                                  FROM keys WHERE joined AND key <> '''') w
                                         GROUP BY term HAVING count(DISTINCT o) > 1
                                        UNION ALL
                                        SELECT x.word || '' '', (count(DISTINCT split_part(d.key, '' '', 1)) - 1)::float8
                                                              / greatest((SELECT count(*) FROM d), 1)
                                          FROM d, LATERAL (SELECT DISTINCT word FROM unnest(string_to_array(d.key, '' '')) AS word
                                                            WHERE word <> '''') x
                                         WHERE x.word IN (SELECT d1.key FROM d d1 WHERE strpos(d1.key, '' '') = 0)
                                         GROUP BY x.word HAVING count(DISTINCT split_part(d.key, '' '', 1)) > 1) t
                                 GROUP BY term)
                            SELECT count(DISTINCT key) FROM keys',
                           '@extschema@', src, others,
                           CASE WHEN f ? 'from' THEN ''
                                ELSE format('LEFT JOIN %s t ON t.%I = s.k', p.table_oid, p.compiled->>'id') END,
                           CASE WHEN f ? 'from' THEN 'true' ELSE 's.k IS NOT NULL' END)
                INTO names
                USING p.name, f->>'field', n;
            -- 0.2.0: then a word counted once per company, not once per spelling.  One
            -- company written many ways (Koninklijke Philips Electronics, Philips
            -- Electronics N.V., Koninklike Philips Electronics) makes its own words look as
            -- common as a generic word, and its spellings then too weak to meet.  Two
            -- distinct names of two words or more sharing a word held by at most 100 names,
            -- all of the shorter name's words but one among the other's (a name inside the
            -- other, a typo: what can reach the top level), are compared on this field
            -- alone with the profile's weights and prior (as estimate() left them); the
            -- names it calls the same (score >= same) are one company, and a word's share is
            -- the share of companies holding it.  A name of one word is left out: it is
            -- often a group's name, inside each of its companies' names (Siemens, Siemens
            -- Energy, Siemens Mobility), and joining through it would make one "company" of
            -- them all.  Names of three words or more are paired through two shared words,
            -- one held by at most 100 names, rather than filtered after pairing on one; a
            -- name of two words with a name holding its rare word and its other word as it
            -- is or with the same first or last two letters (a typo, a word cut short), not
            -- with every name holding the rare word (on 1,000,000 rows with 330,000 names:
            -- 4.4 million pairs scored before, 0.66 million now).  No pair reaching "same":
            -- the shares stay as counted above.  The scores read the shares counted above,
            -- so the profile's row count is set first.
            -- Up to 1,000,000 distinct names (on 1,000,000 rows with 330,000 names the step
            -- takes about 40 s, the whole analyze() 45-51 s; 2026-11-28); a larger table
            -- keeps the shares counted above, and a NOTICE says so.
            IF names > 1000000 THEN
                RAISE NOTICE 'company words of field "%" counted per distinct name: % names, more than 1000000', f->>'field', names
                    USING HINT = 'Words are counted once per company only for up to 1,000,000 distinct company names.';
                CONTINUE;
            END IF;
            UPDATE @extschema@.profiles pr SET analyzed_rows = n WHERE pr.name = p.name;
            EXECUTE format('WITH names AS MATERIALIZED (
                                SELECT row_number() OVER (ORDER BY key)::int AS i, rep, words, cardinality(words) AS nw
                                  FROM (SELECT key, rep,
                                               ARRAY(SELECT DISTINCT w FROM unnest(string_to_array(key, '' '')) AS w
                                                      WHERE w <> '''' ORDER BY w) AS words
                                          FROM (SELECT %1$I.translit(%1$I.company_key(v)) AS key, min(v) AS rep
                                                  FROM (%2$s) s WHERE v IS NOT NULL GROUP BY 1) d0
                                         WHERE key IS NOT NULL AND key <> '''') d),
                            words AS MATERIALIZED (
                                SELECT d.i, d.nw, w.term FROM names d, unnest(d.words) AS w(term)),
                            rare AS MATERIALIZED (
                                SELECT term FROM words GROUP BY term HAVING count(*) <= 100),
                            -- two words: a rare word shared, and the other word of the name of
                            -- two words found in the other name as it is or with its first two or
                            -- last two letters (a typo or a word cut short keeps one of them: what
                            -- can reach the top level); keyed by the rare word and the other word,
                            -- so that a block is not every name holding the rare word
                            wkeys AS MATERIALIZED (
                                SELECT d.i, d.nw, j.t AS w, x.k
                                  FROM names d, unnest(d.words) AS j(t), unnest(d.words) AS k(t),
                                       LATERAL (VALUES (k.t), (chr(1) || left(k.t, 2)), (chr(2) || right(k.t, 2))) AS x(k)
                                 WHERE d.nw >= 2 AND j.t <> k.t AND j.t IN (SELECT term FROM rare)),
                            two AS (
                                SELECT least(x.i, y.i) AS a, greatest(x.i, y.i) AS b
                                  FROM wkeys x JOIN wkeys y ON y.w = x.w AND y.k = x.k AND y.i <> x.i
                                 WHERE x.nw = 2),
                            -- three words or more on both sides: two words shared, one of them rare
                            wpairs AS MATERIALIZED (
                                SELECT d.i, j.t AS t1, k.t AS t2
                                  FROM names d, unnest(d.words) WITH ORDINALITY AS j(t, n),
                                       unnest(d.words) WITH ORDINALITY AS k(t, n)
                                 WHERE d.nw >= 3 AND j.n < k.n
                                   AND (j.t IN (SELECT term FROM rare) OR k.t IN (SELECT term FROM rare))),
                            many AS (
                                SELECT x.i AS a, y.i AS b
                                  FROM wpairs x JOIN wpairs y ON y.t1 = x.t1 AND y.t2 = x.t2 AND y.i > x.i),
                            -- the pairs first, then the name of each side in a step of its own: with
                            -- both names in one join the planner may pair every name with every
                            -- name before the filter that reads both
                            cand AS MATERIALIZED (
                                SELECT a, b FROM two UNION SELECT a, b FROM many),
                            half AS MATERIALIZED (
                                SELECT c.a, c.b, na.rep AS rep_a, na.words AS words_a, na.nw AS nw_a
                                  FROM cand c JOIN names na ON na.i = c.a),
                            close AS MATERIALIZED (
                                SELECT h.a, h.b, h.rep_a, nb.rep AS rep_b
                                  FROM half h JOIN names nb ON nb.i = h.b
                                 WHERE least(h.nw_a, nb.nw) <= 3
                                    OR (SELECT count(*) FROM unnest(h.words_a) AS w WHERE w = ANY (nb.words))
                                       >= least(h.nw_a, nb.nw) - 1),
                            same AS MATERIALIZED (
                                SELECT c.a, c.b
                                  FROM close c,
                                       LATERAL %1$I.score_rows($1, jsonb_build_object($2, c.rep_a),
                                                               jsonb_build_object($2, c.rep_b), false) m
                                 WHERE m.score >= $3),
                            comp AS MATERIALIZED (
                                SELECT u.i::int AS i, u.c
                                  FROM unnest(%1$I.pair_components((SELECT count(*)::int FROM names),
                                                                   (SELECT array_agg(a) FROM same),
                                                                   (SELECT array_agg(b) FROM same)))
                                       WITH ORDINALITY AS u(c, i)),
                            counted AS (
                                SELECT w.term, count(DISTINCT comp.c) AS companies
                                  FROM words w JOIN comp ON comp.i = w.i GROUP BY w.term)
                            UPDATE %1$I.term_stats t
                               SET freq = least(c.companies::float8
                                                / greatest((SELECT count(DISTINCT comp.c) FROM comp), 1), 1)
                              FROM counted c
                             WHERE t.profile = $1 AND t.field = $2 AND t.term = c.term', '@extschema@', src)
                USING p.name, f->>'field', (p.compiled->>'same')::float8;
            CONTINUE;
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, least(count(DISTINCT k)::float8 / greatest($3, 1), 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term HAVING count(DISTINCT k) > 0', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
        -- the whole key of a person name of several words (words contain no space, so the
        -- two kinds of term never meet); a name held by one row is left out: the scorer
        -- counts an unknown term 1/rows, which is its share
        IF f->>'role' = 'person_name' THEN
            EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                            SELECT $1, $2, term, least(count(DISTINCT k)::float8 / greatest($3, 1), 1)
                              FROM (SELECT s.k, %I.person_key(s.v) AS term FROM (%s) s WHERE s.v IS NOT NULL) s
                             WHERE strpos(term, '' '') > 0
                             GROUP BY term HAVING count(DISTINCT k) > 1', '@extschema@', '@extschema@', src)
                USING p.name, f->>'field', n;
        END IF;
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, whole person name, company word and whole company name, city, code, phone and mailbox name occurs in the profile''s table; returns the row count';

-- company_key(): still key rules 3 (no SQL object changes): a legal form never starts inside
-- letters written tight, so `U.S.A.` holds no `S.A.` (`Acme U.S.A. Inc` -> acme usa, was acme u).
-- Indexes and stored values an earlier 0.2.0 build keyed with company_key() must be rebuilt.
-- The scorer reads a company name without a country or region closing it (company-places data,
-- data/company_places.tsv) when the other name ends with none; run crmdedup.analyze() again for
-- profiles with a company field.

-- cluster_pairs(), report_cluster() and so clusters(), summary() and auto_merge(): average
-- linkage averages each pair's evidence (its score's log-odds, within +-10 bits) instead of
-- its score, which the lowest of a few near-0-or-1 scores ruled (no SQL object changes but
-- this comment).  Clusters kept from an earlier build may differ from a new run.
COMMENT ON FUNCTION @extschema@.cluster_pairs(text[], integer[], integer[], float8[], float8, float8) IS
'clusters one component: ids are its members, pair k joins ids[a[k]] and ids[b[k]] with scores[k] in [0,1] (missing pairs: never compared, a score of 0 in averages; repeats keep the highest; NaN: never compared). Average linkage of evidence (a score''s log-odds in bits, within +-10 bits) merges while the average cross evidence reaches that of threshold and no cross pair is below floor. One row per member: its cluster (named by the center id), the center (member with the highest average evidence to the others) and its score to the center (1 for the center)';
