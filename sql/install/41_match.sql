-- Record scoring: Fellegi-Sunter sum of log-likelihood weights per field, explained.

-- The values of one field of a row as text[]: a scalar, a SQL array or a jsonb array (of
-- strings, or of objects holding the value under "value", "phone", "email", "number" or "address").
CREATE FUNCTION @extschema@.field_values(v jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN '{}'::text[]
    WHEN jsonb_typeof(v) = 'array' THEN
        coalesce((SELECT array_agg(x) FROM (
            SELECT CASE jsonb_typeof(e)
                       WHEN 'string' THEN e #>> '{}'
                       WHEN 'object' THEN coalesce(e->>'value', e->>'phone', e->>'email', e->>'number', e->>'address')
                       WHEN 'null' THEN NULL
                       ELSE e #>> '{}' END AS x
              FROM jsonb_array_elements(v) AS e) s
          WHERE x IS NOT NULL AND btrim(x) <> ''), '{}'::text[])
    WHEN jsonb_typeof(v) = 'string' AND btrim(v #>> '{}') = '' THEN '{}'::text[]
    ELSE ARRAY[v #>> '{}']
END;

-- digits of a date as YYYYMMDD from the common ways of writing one, else NULL
CREATE FUNCTION @extschema@.date_digits(v text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN v ~ '^\s*\d{4}-\d{1,2}-\d{1,2}' THEN
        (SELECT m[1] || lpad(m[2], 2, '0') || lpad(m[3], 2, '0')
           FROM regexp_match(v, '^\s*(\d{4})-(\d{1,2})-(\d{1,2})') AS m)
    WHEN v ~ '^\s*\d{1,2}[./]\d{1,2}[./]\d{4}\s*$' THEN
        (SELECT m[3] || lpad(m[2], 2, '0') || lpad(m[1], 2, '0')
           FROM regexp_match(v, '^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})') AS m)
    WHEN v ~ '^\s*\d{8}\s*$' THEN btrim(v)
END;

-- similarity of two values of a role, in [0,1]
CREATE FUNCTION @extschema@.value_similarity(role text, a text, b text, region text)
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

-- the key whose frequency decides how much agreeing on it is worth
CREATE FUNCTION @extschema@.term_keys(role text, v text)
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

-- Score a pair of rows given as jsonb (to_jsonb of a table row).  The scoring itself is
-- crmdedup.score_rows() (C, 42_score.sql); this fetches the values of child-table fields
-- ("from") by the rows' ids and puts them under the field's name first.  A NULL row
-- counts as a row without values.
CREATE FUNCTION @extschema@.match_rows(profile text, a jsonb, b jsonb,
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

-- match(profile, a, b): a and b are rows of the profile's table, or their ids.
CREATE FUNCTION @extschema@.match(profile text, a anyelement, b anyelement,
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

-- Gather term frequencies of the name-like fields of a profile's table.  Each is a share in
-- (0, 1] (term_stats_freq_check): a count over a child table or rows added while it runs can
-- exceed the rows counted first, so every share is capped at 1.
CREATE FUNCTION @extschema@.analyze(profile text)
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
