-- Estimating a profile's m and u probabilities and its prior from the profiled table itself
-- (expectation-maximisation, as Fellegi and Sunter proposed and Splink does), so that the
-- weights fit the data at hand without anyone reading answers or tuning numbers by hand.
--
-- 1. u (how often unrelated records reach each level) from pairs of records drawn at random:
--    almost every random pair is unrelated, so the share of random pairs at a level is its u
--    (since 0.2.0 weighted by the probability that each is not a duplicate, see below).
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
