-- demo/demo.sql: what crmdedup finds in the sample CRM, next to what exact comparison finds.
--
--   psql -X -v ON_ERROR_STOP=1 -d demo -f demo/demo.sql
--
-- Needs CREATE EXTENSION crmdedup, demo/schema.sql and the data of demo/generate.py.
-- Pairs are built from groups of equal keys (a.contact_id < b.contact_id), never from a
-- cross join, so the script stays fast from 5,000 to 100,000 contacts.  A pair is a true
-- duplicate when crm.demo_truth gives both contacts the same original_id.

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset null '∅'
SET client_min_messages = warning;

\echo
\echo '=== 1. The sample CRM: rows per table ==='
\echo
SELECT t.name AS "table", t.n AS "rows"
FROM (
    SELECT 1 AS ord, 'crm.companies' AS name, count(*) AS n FROM crm.companies
    UNION ALL SELECT 2, 'crm.contacts', count(*) FROM crm.contacts
    UNION ALL SELECT 3, 'crm.contact_phones', count(*) FROM crm.contact_phones
    UNION ALL SELECT 4, 'crm.contact_emails', count(*) FROM crm.contact_emails
    UNION ALL SELECT 5, 'crm.deals', count(*) FROM crm.deals
    UNION ALL SELECT 6, 'crm.activities', count(*) FROM crm.activities
    UNION ALL SELECT 7, 'crm.tags', count(*) FROM crm.tags
    UNION ALL SELECT 8, 'crm.contact_tags', count(*) FROM crm.contact_tags
    UNION ALL SELECT 9, 'crm.demo_truth', count(*) FROM crm.demo_truth
) t
ORDER BY t.ord;

SELECT count(*) FILTER (WHERE contact_id <> original_id) AS "injected duplicates",
       count(DISTINCT original_id) AS "distinct people"
FROM crm.demo_truth;

\echo
\echo '=== 2. Raw -> normalized: a few rows for each function ==='
\echo
\echo 'crmdedup.phone_e164(phone, country): the contact''s country is the region for numbers'
\echo 'written without a country code; NULL = not a valid number'
SELECT s.country, s.phone AS raw, crmdedup.phone_e164(s.phone, coalesce(s.country, 'ZZ')) AS phone_e164
FROM (
    SELECT c.country::text AS country, p.phone,
           row_number() OVER (PARTITION BY c.country ORDER BY md5(p.id::text)) AS rn
    FROM crm.contact_phones p
    JOIN crm.contacts c ON c.id = p.contact_id
) s
WHERE s.rn <= 2
ORDER BY s.country NULLS LAST, s.rn;

\echo 'crmdedup.email_key(email): case, display names, Gmail dots and +tags, googlemail, Yandex aliases'
SELECT e.email AS raw, lower(e.email) AS "lower(email)", crmdedup.email_key(e.email) AS email_key
FROM crm.contact_emails e
WHERE lower(e.email) IS DISTINCT FROM crmdedup.email_key(e.email)
ORDER BY md5(e.id::text)
LIMIT 8;

\echo 'crmdedup.name_key (script kept), translit (Latin ASCII), person_key (transliterated, words sorted)'
SELECT s.full_name AS raw, crmdedup.name_key(s.full_name) AS name_key,
       crmdedup.translit(s.full_name) AS translit, crmdedup.person_key(s.full_name) AS person_key
FROM (
    SELECT c.full_name, c.country,
           row_number() OVER (PARTITION BY c.country ORDER BY md5(c.id::text)) AS rn
    FROM crm.contacts c
    WHERE c.country IS NOT NULL
) s
WHERE s.rn <= CASE WHEN s.country IN ('RU', 'CN') THEN 2 ELSE 1 END
ORDER BY s.country, s.rn;

\echo 'crmdedup.company_key(name): legal forms and quotes removed'
SELECT s.name AS raw, crmdedup.company_key(s.name) AS company_key
FROM (
    SELECT co.name, row_number() OVER (PARTITION BY co.country ORDER BY md5(co.id::text)) AS rn, co.country
    FROM crm.companies co
) s
WHERE s.rn <= CASE WHEN s.country = 'RU' THEN 2 ELSE 1 END
ORDER BY s.country, s.rn;

-- Keys of every contact, once per contact and value: signal = phone, email or name;
-- raw_key = what exact comparison uses, norm_key = the crmdedup key.
CREATE TEMP TABLE demo_keys AS
SELECT DISTINCT 'phone'::text AS signal, p.contact_id, p.phone AS raw_value, p.phone AS raw_key,
       crmdedup.phone_e164(p.phone, coalesce(c.country::text, 'ZZ')) AS norm_key
FROM crm.contact_phones p
JOIN crm.contacts c ON c.id = p.contact_id
UNION ALL
SELECT DISTINCT 'email', e.contact_id, e.email, lower(e.email), crmdedup.email_key(e.email)
FROM crm.contact_emails e
UNION ALL
SELECT 'name', c.id, c.full_name, lower(c.full_name), crmdedup.person_key(c.full_name)
FROM crm.contacts c;
CREATE INDEX ON demo_keys (signal, contact_id);
ANALYZE demo_keys;

-- Contact pairs sharing a key, from groups of equal keys; true_pair from crm.demo_truth.
CREATE TEMP TABLE demo_pairs AS
SELECT q.signal, q.method, q.a, q.b, ta.original_id = tb.original_id AS true_pair
FROM (
    SELECT x.signal, 'raw'::text AS method, x.contact_id AS a, y.contact_id AS b
    FROM demo_keys x
    JOIN demo_keys y ON y.signal = x.signal AND y.raw_key = x.raw_key AND y.contact_id > x.contact_id
    UNION
    SELECT x.signal, 'key', x.contact_id, y.contact_id
    FROM demo_keys x
    JOIN demo_keys y ON y.signal = x.signal AND y.norm_key = x.norm_key AND y.contact_id > x.contact_id
) q
JOIN crm.demo_truth ta ON ta.contact_id = q.a
JOIN crm.demo_truth tb ON tb.contact_id = q.b;
CREATE INDEX ON demo_pairs (signal, method, a, b);
ANALYZE demo_pairs;

-- All true pairs: two contacts with the same original_id.
CREATE TEMP TABLE demo_true_pairs AS
SELECT x.contact_id AS a, y.contact_id AS b
FROM crm.demo_truth x
JOIN crm.demo_truth y ON y.original_id = x.original_id AND y.contact_id > x.contact_id;
ANALYZE demo_true_pairs;

-- Pairs found, true pairs among them, precision and recall, for one signal and method.
CREATE FUNCTION pg_temp.demo_score(sig text, meth text,
    OUT pairs bigint, OUT true_pairs bigint, OUT "precision" text, OUT recall text)
LANGUAGE sql STABLE AS $$
    SELECT count(*), count(*) FILTER (WHERE p.true_pair),
           coalesce(round(100.0 * count(*) FILTER (WHERE p.true_pair) / nullif(count(*), 0), 1) || ' %', '-'),
           coalesce(round(100.0 * count(*) FILTER (WHERE p.true_pair)
                          / nullif((SELECT count(*) FROM demo_true_pairs), 0), 1) || ' %', '-')
    FROM (SELECT DISTINCT d.a, d.b, d.true_pair FROM demo_pairs d
          WHERE (sig = 'any' OR d.signal = sig) AND d.method = meth) p
$$;

-- A few pairs that only the crmdedup key finds, with the raw values that differ.
CREATE FUNCTION pg_temp.demo_only_by_key(sig text, n int)
RETURNS TABLE (contact_a bigint, raw_a text, contact_b bigint, raw_b text, shared_key text, same_person text)
LANGUAGE sql STABLE AS $$
    WITH chosen AS (
        SELECT p.a, p.b, p.true_pair
        FROM demo_pairs p
        WHERE p.signal = sig AND p.method = 'key'
          AND NOT EXISTS (SELECT 1 FROM demo_pairs r
                          WHERE r.signal = sig AND r.method = 'raw' AND r.a = p.a AND r.b = p.b)
        ORDER BY md5(p.a || '-' || p.b)
        LIMIT n
    )
    SELECT DISTINCT ON (md5(c.a || '-' || c.b))
           c.a, ka.raw_value, c.b, kb.raw_value, ka.norm_key, CASE WHEN c.true_pair THEN 'yes' ELSE 'no' END
    FROM chosen c
    JOIN demo_keys ka ON ka.signal = sig AND ka.contact_id = c.a
    JOIN demo_keys kb ON kb.signal = sig AND kb.contact_id = c.b AND kb.norm_key = ka.norm_key
    ORDER BY md5(c.a || '-' || c.b), ka.raw_value, kb.raw_value
$$;

\echo
\echo '=== 3. Phones: contact pairs sharing a phone ==='
\echo
SELECT m.label AS "phones compared by", s.*
FROM (VALUES (1, 'raw', 'raw text'),
             (2, 'key', 'crmdedup.phone_e164(phone, country)')) AS m(ord, meth, label),
     LATERAL pg_temp.demo_score('phone', m.meth) s
ORDER BY m.ord;
\echo 'found only by phone_e164 (same person = according to crm.demo_truth):'
SELECT * FROM pg_temp.demo_only_by_key('phone', 6);

\echo
\echo '=== 4. Emails: contact pairs sharing an email ==='
\echo
SELECT m.label AS "emails compared by", s.*
FROM (VALUES (1, 'raw', 'lower(email)'),
             (2, 'key', 'crmdedup.email_key(email)')) AS m(ord, meth, label),
     LATERAL pg_temp.demo_score('email', m.meth) s
ORDER BY m.ord;
\echo 'found only by email_key:'
SELECT * FROM pg_temp.demo_only_by_key('email', 6);

\echo
\echo '=== 5. Names: contact pairs with the same name ==='
\echo
SELECT m.label AS "names compared by", s.*
FROM (VALUES (1, 'raw', 'lower(full_name)'),
             (2, 'key', 'crmdedup.person_key(full_name)')) AS m(ord, meth, label),
     LATERAL pg_temp.demo_score('name', m.meth) s
ORDER BY m.ord;
\echo 'found only by person_key (a shared name alone also matches namesakes):'
SELECT * FROM pg_temp.demo_only_by_key('name', 6);

\echo
\echo '=== 6. Companies: the same company under other spellings ==='
\echo
CREATE TEMP TABLE demo_company_keys AS
SELECT co.id, co.name, co.city, lower(co.name) AS raw_key, crmdedup.company_key(co.name) AS norm_key
FROM crm.companies co;
SELECT m.label AS "companies compared by",
       count(g.n) AS "names shared by 2+ companies", coalesce(sum(g.n), 0) AS "companies sharing a name"
FROM (VALUES (1, 'raw', 'lower(name)'), (2, 'key', 'crmdedup.company_key(name)')) AS m(ord, meth, label)
LEFT JOIN LATERAL (
    SELECT count(*) AS n
    FROM demo_company_keys k
    WHERE (CASE m.meth WHEN 'raw' THEN k.raw_key ELSE k.norm_key END) IS NOT NULL
    GROUP BY CASE m.meth WHEN 'raw' THEN k.raw_key ELSE k.norm_key END
    HAVING count(*) > 1
) g ON true
GROUP BY m.ord, m.label
ORDER BY m.ord;
\echo 'groups only company_key finds (the same brand in another city may be another company):'
SELECT k.norm_key AS company_key, count(*) AS companies,
       string_agg(k.name, ' | ' ORDER BY k.id) AS names,
       string_agg(DISTINCT coalesce(k.city, '∅'), ', ') AS cities
FROM demo_company_keys k
WHERE k.norm_key IS NOT NULL
GROUP BY k.norm_key
HAVING count(DISTINCT k.raw_key) > 1
ORDER BY md5(k.norm_key)
LIMIT 6;

\echo
\echo '=== 7. All together: contact pairs sharing a phone, an email or a name, against crm.demo_truth ==='
\echo
SELECT count(*) AS "true pairs in crm.demo_truth" FROM demo_true_pairs;
\echo 'raw = phone text, lower(email), lower(full_name); crmdedup = phone_e164, email_key, person_key'
SELECT m.label AS "pairs sharing",
       r.pairs AS "raw: pairs", r.true_pairs AS "raw: true", r.precision AS "raw: precision", r.recall AS "raw: recall",
       k.pairs AS "crmdedup: pairs", k.true_pairs AS "crmdedup: true", k.precision AS "crmdedup: precision",
       k.recall AS "crmdedup: recall"
FROM (VALUES (1, 'phone', 'a phone'), (2, 'email', 'an email'), (3, 'name', 'a name'),
             (4, 'any', 'any of these')) AS m(ord, sig, label),
     LATERAL pg_temp.demo_score(m.sig, 'raw') r,
     LATERAL pg_temp.demo_score(m.sig, 'key') k
ORDER BY m.ord;

\echo 'true pairs no key finds (typos, nicknames, new numbers: work for similarity scores):'
SELECT t.a AS contact_a, ca.full_name AS name_a,
       (SELECT string_agg(p.phone, ', ' ORDER BY p.id) FROM crm.contact_phones p WHERE p.contact_id = t.a) AS phones_a,
       t.b AS contact_b, cb.full_name AS name_b,
       (SELECT string_agg(p.phone, ', ' ORDER BY p.id) FROM crm.contact_phones p WHERE p.contact_id = t.b) AS phones_b
FROM demo_true_pairs t
JOIN crm.contacts ca ON ca.id = t.a
JOIN crm.contacts cb ON cb.id = t.b
WHERE NOT EXISTS (SELECT 1 FROM demo_pairs p WHERE p.method = 'key' AND p.a = t.a AND p.b = t.b)
ORDER BY md5(t.a || '-' || t.b)
LIMIT 5;

-- ======================================================================================
-- Stage 2: record scores that explain themselves
-- ======================================================================================
\echo
\echo '=== 8. Record scores: a profile of crm.contacts, its phones and emails ==='
\echo
SELECT crmdedup.create_profile('demo_contacts', 'crm.contacts', jsonb_build_object(
    'region', 'RU',
    'fields', jsonb_build_object(
        'full_name', 'person_name',
        'birth_date', 'birth_date',
        'city', 'city',
        'phones', jsonb_build_object('role', 'phone',
                     'from', jsonb_build_object('table', 'contact_phones', 'column', 'phone', 'key', 'contact_id')),
        'emails', jsonb_build_object('role', 'email',
                     'from', jsonb_build_object('table', 'contact_emails', 'column', 'email', 'key', 'contact_id')))))
  AS profile_created;
SELECT crmdedup.analyze('demo_contacts') AS rows_analyzed;

\echo 'true pairs no exact key found, scored (decision same / maybe / distinct):'
SELECT t.a, t.b, ca.full_name AS name_a, cb.full_name AS name_b,
       round(m.score::numeric, 3) AS score, m.decision,
       (SELECT string_agg(f->>'field' || ': ' || (f->>'level'), ', ')
          FROM jsonb_array_elements(m.explanation->'fields') f WHERE (f->>'weight')::float8 <> 0) AS why
FROM (SELECT * FROM demo_true_pairs t
       WHERE NOT EXISTS (SELECT 1 FROM demo_pairs p WHERE p.method = 'key' AND p.a = t.a AND p.b = t.b)
       ORDER BY md5(t.a || '-' || t.b) LIMIT 6) t
JOIN crm.contacts ca ON ca.id = t.a
JOIN crm.contacts cb ON cb.id = t.b,
LATERAL crmdedup.match('demo_contacts', t.a, t.b) m;

-- ======================================================================================
-- Stage 3: guards at insert time
-- ======================================================================================
\echo
\echo '=== 9. Guards: web-form leads arriving, duplicates blocked or linked ==='
\echo
CREATE TABLE crm.leads (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    full_name text, phone text, email text, duplicate_of bigint, note text
);
SELECT crmdedup.create_profile('demo_leads', 'crm.leads', '{"region": "RU",
    "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}') AS profile_created;
-- the same email is refused; a repeat request with a known phone is kept and linked
SELECT crmdedup.guard('demo_leads', 'block', name => 'demo_same_email', fields => ARRAY['email'], min_score => 0);
SELECT crmdedup.guard('demo_leads', 'link', name => 'demo_repeat_request', fields => ARRAY['phone'],
                      min_score => 0, link_column => 'duplicate_of');
INSERT INTO crm.leads (full_name, phone, email, note) VALUES
    ('Петров Иван', '8 (912) 345-67-89', 'ivan.petrov@gmail.com', 'first request');
INSERT INTO crm.leads (full_name, phone, note) VALUES
    ('Ivan Petrov', '+7 912 345 67 89', 'asks again a week later');
\set ON_ERROR_STOP off
\echo 'the same person again through another form, with his Gmail written another way:'
INSERT INTO crm.leads (full_name, phone, email, note) VALUES
    ('Иван', '+7 999 000 00 00', 'IvanPetrov+promo@GoogleMail.com', 'newsletter sign-up');
\set ON_ERROR_STOP on
SELECT id, full_name, phone, email, duplicate_of, note FROM crm.leads ORDER BY id;

-- ======================================================================================
-- Stage 4: the duplicate report
-- ======================================================================================
\echo
\echo '=== 10. Report: duplicate clusters of crm.contacts (profile demo_contacts) ==='
\echo
SELECT section, item, value FROM crmdedup.summary('demo_contacts') ORDER BY section, value DESC, item LIMIT 14;
CREATE TEMP TABLE demo_clusters AS SELECT * FROM crmdedup.clusters('demo_contacts');
\echo 'pairwise precision and recall of the clusters against crm.demo_truth:'
WITH pred AS (SELECT x.id::bigint AS a, y.id::bigint AS b FROM demo_clusters x
                JOIN demo_clusters y ON y.cluster_id = x.cluster_id AND x.id::bigint < y.id::bigint)
SELECT (SELECT count(*) FROM pred) AS predicted_pairs,
       (SELECT count(*) FROM pred JOIN demo_true_pairs USING (a, b)) AS true_pairs_found,
       round(100.0 * (SELECT count(*) FROM pred JOIN demo_true_pairs USING (a, b)) / greatest((SELECT count(*) FROM pred), 1), 1) AS precision_pct,
       round(100.0 * (SELECT count(*) FROM pred JOIN demo_true_pairs USING (a, b)) / (SELECT count(*) FROM demo_true_pairs), 1) AS recall_pct;
\echo 'the largest clusters:'
SELECT k.cluster_id, k.id, c.full_name, round(k.score::numeric, 3) AS score, k.is_survivor
  FROM demo_clusters k JOIN crm.contacts c ON c.id = k.id::bigint
 WHERE k.cluster_id IN (SELECT cluster_id FROM demo_clusters GROUP BY cluster_id ORDER BY count(*) DESC, cluster_id LIMIT 2)
 ORDER BY k.cluster_id, k.is_survivor DESC, k.id;

-- ======================================================================================
-- Stage 5: merges that can be undone
-- ======================================================================================
\echo
\echo '=== 11. Merge: the largest cluster folded into its survivor, then undone ==='
\echo
SELECT suggested_survivor AS keep, array_agg(id ORDER BY id) FILTER (WHERE NOT is_survivor) AS losers
  FROM demo_clusters WHERE cluster_id = (SELECT cluster_id FROM demo_clusters GROUP BY cluster_id ORDER BY count(*) DESC, cluster_id LIMIT 1)
 GROUP BY suggested_survivor \gset
SELECT (SELECT count(*) FROM crm.deals WHERE contact_id = :'keep'::bigint) AS survivor_deals_before,
       (SELECT count(*) FROM crm.deals WHERE contact_id = ANY (:'losers'::bigint[])) AS loser_deals_before;
CALL crmdedup.merge('crm.contacts', keep => :'keep'::bigint, losers => :'losers'::bigint[]);
SELECT (SELECT count(*) FROM crm.deals WHERE contact_id = :'keep'::bigint) AS survivor_deals_after,
       (SELECT count(*) FROM crm.contacts WHERE id = ANY (:'losers'::bigint[])) AS losers_left;
SELECT max(merge_id) AS merge_id FROM crmdedup.merge_log \gset
CALL crmdedup.unmerge(:merge_id);
SELECT (SELECT count(*) FROM crm.contacts WHERE id = ANY (:'losers'::bigint[])) AS losers_restored,
       (SELECT count(*) FROM crm.deals WHERE contact_id = :'keep'::bigint) AS survivor_deals_restored;
\echo 'auto_merge dry run: what merging every cluster scoring 0.97 or more would do (nothing changes):'
CALL crmdedup.auto_merge('demo_contacts', min_score => 0.97, dry_run => true);
SELECT count(*) AS clusters_to_merge, sum(cardinality(losers)) AS records_to_merge_away FROM pg_temp.cd_auto_merge_plan;

