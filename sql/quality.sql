-- Matching quality rules of 0.2.0 (issue 3), table-driven: short names one letter apart,
-- first and last names in each other's columns, house and street numbers in addresses, and
-- m, u and the prior estimated from the table by crmdedup.estimate().
SET extra_float_digits = 0;

-- one part of a name (first, last, middle name fields): a letter dropped or doubled in a short
-- name is a typo, a changed one is another name; name_similarity (whole names, and the name_ops
-- index) keeps the stricter rule
SELECT a, b, round(crmdedup.name_part_similarity(a, b)::numeric, 3) AS part_sim,
       round(crmdedup.name_similarity(a, b)::numeric, 3) AS name_sim
  FROM (VALUES ('Sarah', 'Sara'), ('sara', 'SARAH'), ('Sarah Smith', 'Sara Smith'), ('Hnry', 'Henry'),
               ('Mary', 'Mark'), ('Jane', 'June'), ('Sara', 'Sera'), ('Eric', 'Erica'),
               ('Jon', 'Jo'), ('Matthew', 'Mathew')) v(a, b);

-- addresses: the words with typos in any order, but house and street numbers must agree
SELECT a, b, round(crmdedup.address_similarity(a, b)::numeric, 3) AS sim,
       round(crmdedup.token_similarity(crmdedup.translit(a), crmdedup.translit(b))::numeric, 3) AS words_only
  FROM (VALUES ('1200 W 12th St', '1200 w. 12th st'), ('1200 W 12th St', '1201 W 12th St'),
               ('1200 W 12th St', '1200 W 13th St'), ('W 12th St', '1200 W 12th St'),
               ('5 Main St Apt 3', '5 Main Street'), ('5 Main St Apt 3', '5 Main St Apt 4'),
               ('ул. Ленина, д. 5', 'ulitsa Lenina 5'), ('ул. Ленина, д. 5', 'ulitsa Lenina 7'),
               ('Main Street', 'Main St'), ('', '5 Main St')) v(a, b);
SELECT crmdedup.address_similarity('1 Main St', NULL) IS NULL AS strict;
SELECT crmdedup.value_similarity('address', '1200 W 12th St', '1201 W 12th St', 'US') AS value_similarity;

-- first and last names typed in each other's columns
CREATE TABLE q_people (id int PRIMARY KEY, first_name text, last_name text, dob text, city text, email text);
SELECT crmdedup.create_profile('q_people', 'q_people', '{"fields": {"first_name": "first_name",
    "last_name": "last_name", "dob": "birth_date", "city": "city", "email": "email"}}');
SELECT x.note, s.decision,
       (SELECT string_agg(format('%s:%s(%s/%s)', f->>'field', f->>'level', f->>'a', f->>'b'), ' ' ORDER BY f->>'field')
          FROM jsonb_array_elements(s.explanation->'fields') f WHERE f->>'role' IN ('first_name', 'last_name')) AS names
  FROM (VALUES
    ('swapped', '{"first_name": "Freddie", "last_name": "Bradley", "dob": "2020-05-20"}'::jsonb,
                '{"first_name": "Bradley", "last_name": "Freddie", "dob": "2020-05-20"}'::jsonb),
    ('straight', '{"first_name": "Freddie", "last_name": "Bradley", "dob": "2020-05-20"}',
                 '{"first_name": "Freddie", "last_name": "Bradley", "dob": "2020-05-20"}'),
    ('one side, other column', '{"first_name": "Henry", "dob": "1990-01-02"}',
                               '{"last_name": "Henry", "dob": "1990-01-02"}'),
    ('swapped with a typo', '{"first_name": "Simmons", "last_name": "Henry", "dob": "2019-01-31"}',
                            '{"first_name": "Hnry", "dob": "2019-01-31"}'),
    ('same surname, other first name', '{"first_name": "Anna", "last_name": "Smith", "dob": "1980-01-01"}',
                                       '{"first_name": "John", "last_name": "Smith", "dob": "1980-01-01"}')) x(note, a, b),
       LATERAL crmdedup.match_rows('q_people', x.a, x.b) s;

-- estimate(): a small table of people, a few typed twice with typos, swapped names, other dates
INSERT INTO q_people
SELECT i, (ARRAY['Anna', 'John', 'Maria', 'Peter', 'Olga', 'Ivan', 'Sarah', 'Paul', 'Lena', 'Mark'])[1 + i % 10],
       (ARRAY['Smith', 'Petrov', 'Brown', 'Kuznetsov', 'Taylor', 'Ivanova', 'Wilson', 'Moore', 'Clark',
              'Lewis', 'Walker', 'Hall', 'Young'])[1 + (i * 7) % 13],
       format('19%s-%s-%s', 50 + i % 47, lpad((1 + i % 12)::text, 2, '0'), lpad((1 + (i * 3) % 28)::text, 2, '0')),
       (ARRAY['London', 'Leeds', 'York', 'Bath'])[1 + i % 4],
       CASE WHEN i % 3 = 0 THEN 'person' || i || '@example.com' END
  FROM generate_series(1, 300) i;
INSERT INTO q_people
SELECT 1000 + id,
       CASE WHEN id % 12 = 0 THEN last_name ELSE first_name || 'h' END,
       CASE WHEN id % 12 = 0 THEN first_name ELSE last_name END,
       CASE WHEN id % 5 = 0 THEN '1901-01-01' ELSE dob END,
       city, email
  FROM q_people WHERE id % 6 = 0;
SELECT crmdedup.analyze('q_people');
SELECT e->'rows' AS rows, e->'candidate_pairs' AS candidates, e->'random_pairs' AS random_pairs,
       round((e->>'prior')::numeric, 6) AS prior, round((e->>'duplicate_share_of_candidates')::numeric, 4) AS dup_share,
       (e->>'iterations')::int BETWEEN 2 AND 100 AS converged
  FROM crmdedup.estimate('q_people') e;
-- the compiled profile holds the estimates: m and u of every level, the prior, a summary
SELECT f->>'field' AS field, l->>'level' AS level, round((l->>'m')::numeric, 3) AS m, round((l->>'u')::numeric, 4) AS u
  FROM crmdedup.profiles p, jsonb_array_elements(p.compiled->'fields') f, jsonb_array_elements(f->'levels') l
 WHERE p.name = 'q_people' ORDER BY 1, (l->>'min')::float8 DESC;
SELECT round((compiled->>'prior')::numeric, 5) AS prior, compiled ? 'estimated' AS summarized
  FROM crmdedup.profiles WHERE name = 'q_people';
-- the same table gives the same estimate
SELECT (SELECT compiled FROM crmdedup.profiles WHERE name = 'q_people') AS before \gset
SELECT crmdedup.estimate('q_people') IS NOT NULL AS again;
SELECT (compiled - 'estimated') = (:'before'::jsonb - 'estimated') AS same_estimate
  FROM crmdedup.profiles WHERE name = 'q_people';
-- duplicates found with the estimates: every twin, how many others
SELECT count(*) FILTER (WHERE b.id = a.id + 1000) AS twins_same, count(*) FILTER (WHERE b.id <> a.id + 1000) AS others_same
  FROM q_people a JOIN q_people b ON a.id < b.id,
       LATERAL crmdedup.match_rows('q_people', to_jsonb(a), to_jsonb(b)) s
 WHERE s.decision = 'same';
SELECT count(*) AS twins FROM q_people WHERE id > 1000;
-- a spec's own levels and prior are kept; with these three fields EM splits the candidates by
-- name instead (last name agreeing would count against duplicates): the estimate is not used
SELECT crmdedup.alter_profile('q_people', '{"prior": 0.01, "fields": {"first_name": "first_name",
    "last_name": "last_name", "dob": "birth_date",
    "city": {"role": "city", "levels": [{"level": "same", "min": 0.95, "m": 0.9, "u": 0.1}]}}}');
SELECT e->'rejected' AS rejected FROM crmdedup.estimate('q_people') e;
SELECT (compiled->>'prior')::float8 AS prior,
       (SELECT f->'levels' FROM jsonb_array_elements(compiled->'fields') f WHERE f->>'field' = 'city') AS city_levels
  FROM crmdedup.profiles WHERE name = 'q_people';
-- alter_profile starts from the defaults again
SELECT crmdedup.alter_profile('q_people', '{"fields": {"first_name": "first_name", "last_name": "last_name"}}');
SELECT compiled ? 'estimated' AS estimated, (compiled->>'prior')::float8 AS prior FROM crmdedup.profiles WHERE name = 'q_people';

-- company names (0.2.0): legal names are unique within a jurisdiction, so the rows sharing a
-- whole company name are mostly records of one company.  analyze() counts a company word over
-- the distinct names holding it (a generic word such as "holding" is held by many) and a whole
-- name of several words over the distinct values of the profile's other fields among its rows
-- (branches in other cities count, copies of one record do not); a name's u is the larger of
-- its words' product and its whole-name share
CREATE TABLE q_firms (id int PRIMARY KEY, company text, city text);
INSERT INTO q_firms VALUES
    (1, 'Acme Widgets B.V.', 'Delft'), (2, 'ACME WIDGETS BV', 'Delft'), (3, 'Acme Widgets', 'Delft'),
    (4, 'Acme Widgets N.V.', 'Delft'), (5, 'Nordic Holding', 'Oslo'), (6, 'Baltic Holding', 'Riga'),
    (7, 'Alpine Holding', 'Bern'), (8, 'Holding Partners', 'Oslo'), (9, 'Zenith Trading', 'Oslo'),
    (10, 'Zenith Trading', 'Riga'), (11, 'Zenith Trading', 'Bern'), (12, 'Quartz Optics', 'Delft'),
    (13, 'Holding B.V.', 'Oslo'), (14, 'Holding N.V.', 'Riga');
SELECT crmdedup.create_profile('q_firms', 'q_firms', '{"fields": {"company": "company", "city": "city"}}');
SELECT crmdedup.analyze('q_firms');
SELECT term, round(freq::numeric, 4) AS freq FROM crmdedup.term_stats
 WHERE profile = 'q_firms' AND field = 'company' ORDER BY term;
SELECT x.a, x.b, f->>'level' AS level, round((f->>'u')::numeric, 4) AS u, f->>'weight' AS weight
  FROM (VALUES (1, 2), (5, 5), (5, 8), (9, 10), (12, 12), (13, 14)) v(i, j),
       LATERAL (SELECT (SELECT to_jsonb(t) FROM q_firms t WHERE t.id = v.i) AS ra,
                       (SELECT to_jsonb(t) FROM q_firms t WHERE t.id = v.j) AS rb) r,
       LATERAL (SELECT r.ra->>'company' AS a, r.rb->>'company' AS b) x,
       LATERAL crmdedup.match_rows('q_firms', r.ra, r.rb) s,
       jsonb_array_elements(s.explanation->'fields') f
 WHERE f->>'field' = 'company';

-- a company name of one word (0.2.0): two records holding the same one-word name take the
-- whole name's share (its rows, other fields' distinct values counted once; 1/rows when one
-- value), not the word's share of distinct names, which also counts the group's other names
-- (Orbis IP Assets, Orbis Research); a one-word name held in three cities counts three rows;
-- a similar name ("Orbis" / "Orbis Research") still takes the words' shares
CREATE TABLE q_brands (id int PRIMARY KEY, company text, city text);
INSERT INTO q_brands VALUES
    (1, 'Orbis B.V.', 'Delft'), (2, 'ORBIS NV', 'Delft'), (3, 'Orbis IP Assets B.V.', 'Delft'),
    (4, 'Orbis Research', 'Delft'), (5, 'Nova', 'Oslo'), (6, 'Nova', 'Riga'), (7, 'Nova', 'Bern'),
    (8, 'Quartz Optics', 'Delft'), (9, 'Zenith Trading', 'Oslo'), (10, 'Alpine Foods', 'Bern');
SELECT crmdedup.create_profile('q_brands', 'q_brands', '{"fields": {"company": "company", "city": "city"}}');
SELECT crmdedup.analyze('q_brands');
SELECT '"' || term || '"' AS term, round(freq::numeric, 4) AS freq FROM crmdedup.term_stats
 WHERE profile = 'q_brands' AND field = 'company' AND term ~ '^(orbis|nova)' ORDER BY term;
SELECT x.a, x.b, f->>'level' AS level, round((f->>'u')::numeric, 4) AS u, round((f->>'weight')::numeric, 2) AS weight
  FROM (VALUES (1, 2), (5, 6), (1, 4), (3, 4)) v(i, j),
       LATERAL (SELECT (SELECT to_jsonb(t) FROM q_brands t WHERE t.id = v.i) AS ra,
                       (SELECT to_jsonb(t) FROM q_brands t WHERE t.id = v.j) AS rb) r,
       LATERAL (SELECT r.ra->>'company' AS a, r.rb->>'company' AS b) x,
       LATERAL crmdedup.match_rows('q_brands', r.ra, r.rb) s,
       jsonb_array_elements(s.explanation->'fields') f
 WHERE f->>'field' = 'company';
SELECT crmdedup.drop_profile('q_brands');
DROP TABLE q_brands;

-- a typo in a company name (0.2.0): two spellings that reach "similar company" and are each as
-- rare as a name no other row holds (Orbis IP Assets / Orbis IP Assests) count at the top level,
-- as do the same words but for one typo (similarity >= 0.95) of a common name (Holding Group /
-- Holding Groups), with the common name's u; a name whose words are all words of the other
-- counts at the top level with the pair's u (the larger of the two names' frequencies) only
-- when that weighs at least "similar company" (m0 / u >= m1 / u1): a common name (Holding Group / Nordic Holding
-- Group) keeps "similar company", a rare one (Quartz Optics / Quartz Optics Nordic) is promoted
CREATE TABLE q_typos (id int PRIMARY KEY, company text);
INSERT INTO q_typos VALUES
    (1, 'Orbis IP Assets B.V.'), (2, 'Orbis IP Assests B.V.'), (3, 'Holding Group'), (4, 'Holding Groups'),
    (5, 'Nordic Holding Group'), (6, 'Baltic Holding Group'), (7, 'Alpine Holding Group'),
    (8, 'Zenith Trading'), (9, 'Quartz Optics'), (10, 'Nova Foods');
SELECT crmdedup.create_profile('q_typos', 'q_typos', '{"fields": {"company": "company"}}');
SELECT crmdedup.analyze('q_typos');
SELECT v.i, v.j, f->>'level' AS level, round((f->>'similarity')::numeric, 3) AS sim,
       round((f->>'m')::numeric, 2) AS m, round((f->>'u')::numeric, 4) AS u
  FROM (VALUES (1, 2), (3, 4), (3, 5), (5, 6)) v(i, j),
       LATERAL crmdedup.match_rows('q_typos', (SELECT to_jsonb(t) FROM q_typos t WHERE t.id = v.i),
                                   (SELECT to_jsonb(t) FROM q_typos t WHERE t.id = v.j)) s,
       jsonb_array_elements(s.explanation->'fields') f;
-- a rare name inside a longer one (a row no other holds; the longer name unknown): the top level
SELECT f->>'level' AS level, round((f->>'similarity')::numeric, 3) AS sim,
       round((f->>'m')::numeric, 2) AS m, round((f->>'u')::numeric, 4) AS u
  FROM crmdedup.match_rows('q_typos', (SELECT to_jsonb(t) FROM q_typos t WHERE t.id = 9),
                           '{"id": 99, "company": "Quartz Optics Nordic"}') s,
       jsonb_array_elements(s.explanation->'fields') f;
SELECT crmdedup.drop_profile('q_typos');
DROP TABLE q_typos;

-- a name contained in the other with a slip (0.2.0): every word of the shorter name a word of
-- the longer one or that word with a typo of the kind company words tolerate (a dropped plural,
-- a doubled letter), or cut short (5+ letters, 60%+ of the word), each word of the longer name
-- once, at least one word exactly, in the longer name's order and at most one word more there,
-- counts as the exact containment does, with the u of the correctly spelt words: the same level
-- and weight, never more (here a common name: the exact one stays "similar company", and so do
-- the slips, where the misspelt word's own rarity would have promoted them); as many words on
-- both sides with a word cut short and one misspelt: as the same name; another word (Electric /
-- Electronics), a name of one word with a slip, or a slip with two words more (Eindhoven) is not
-- contained
CREATE TABLE q_contained (id int PRIMARY KEY, company text);
INSERT INTO q_contained
SELECT i, (ARRAY['Koninklijke Orbis Electronics N.V.', 'KONINKLIJKE ORBIS ELECTRONICS NV', 'Orbis Electronics N.V.',
                 'Vantor Data Systems', 'Helix Marine Holding', 'Pelican Foods', 'Nordic Holding Group',
                 'Quartz Optics', 'Baltic Holding Group', 'Zenith Trading'])[1 + i % 10]
  FROM generate_series(0, 29) i;
SELECT crmdedup.create_profile('q_contained', 'q_contained', '{"fields": {"company": "company"}}');
SELECT crmdedup.analyze('q_contained');
SELECT v.a, v.b, f->>'level' AS level, round((f->>'m')::numeric, 2) AS m, round((f->>'u')::numeric, 4) AS u,
       (f->>'weight')::numeric AS weight
  FROM (VALUES ('Koninklijke Orbis Electronics N.V.', 'ORBIS ELECTRONICS N.V.'),
               ('Koninklijke Orbis Electronics N.V.', 'ORBIS ELECTRONIC N.V.'),
               ('Koninklijke Orbis Electronics N.V.', 'ORRBIS ELECTRONICS N.V.'),
               ('Koninklijke Orbis Electronics N.V.', 'Orbis Electric N.V.'),
               ('Koninklijke Orbis Electronics N.V.', 'Orbiss'),
               ('Koninklijke Orbis Electronics N.V.', 'Koninklijke Orbis Electronics N.V.'),
               ('Koninklijke Orbis Electronics N.V.', 'KONINKL ORBIS ELECTRONIC N.V.'),
               ('Koninklijke Orbis Electronics Eindhoven N.V.', 'ORBIS ELECTRONICS N.V.'),
               ('Koninklijke Orbis Electronics Eindhoven N.V.', 'ORBIS ELECTRONIC N.V.')) v(a, b),
       LATERAL crmdedup.match_rows('q_contained', jsonb_build_object('id', 100, 'company', v.a),
                                   jsonb_build_object('id', 101, 'company', v.b)) s,
       jsonb_array_elements(s.explanation->'fields') f;
SELECT crmdedup.drop_profile('q_contained');
DROP TABLE q_contained;

-- the review's two cases (0.2.0), in a table where the correctly spelt words are common: the
-- score does not depend on which name is a (names of as many words are contained with slips only
-- when each reads into the other: Baltic written twice on one side reads one way only, and was
-- "same company" that way), and a slip on each side weighs what the exact containment weighs,
-- never more (each slipped word at its more frequent spelling: Orbiss and Electronic read as Orbis
-- and Electronics; the misspelt names were as rare as an unknown one, which promoted them to
-- "same company")
CREATE TABLE q_slips (id int PRIMARY KEY, company text);
INSERT INTO q_slips
SELECT i, (ARRAY['Orbis Electronics Holding', 'Koninklijke Orbis Electronics Holding', 'Orbis Holding',
                 'Orbis Electronics', 'Orbis Trading', 'Electronics Holding', 'Baltic Electronics',
                 'Baltic Holding', 'Baltic Trading', 'Baltic Baltics Electronics', 'Baltics Trading',
                 'Baltics Holding', 'Vantor Data Systems', 'Pelican Foods'])[1 + i % 14]
  FROM generate_series(0, 69) i;
SELECT crmdedup.create_profile('q_slips', 'q_slips', '{"fields": {"company": "company"}}');
SELECT crmdedup.analyze('q_slips');
SELECT v.a, v.b, f1->>'level' AS level_ab, (f1->>'weight')::numeric AS weight_ab,
       f2->>'level' AS level_ba, (f2->>'weight')::numeric AS weight_ba
  FROM (VALUES ('Baltic Baltic Electro', 'Baltic Baltics Electronics'),
               ('Koninklijke Orbiss Electronics Holding', 'Orbis Electronic Holding'),
               ('Koninklijke Orbis Electronics Holding', 'Orbis Electronics Holding'),
               ('Koninklijke Orbiss Electronics Holding', 'Orbis Electronics Holding'),
               ('Koninklijke Orbis Electronics Holding', 'Orbis Electronic Holding')) v(a, b),
       LATERAL crmdedup.match_rows('q_slips', jsonb_build_object('id', 100, 'company', v.a),
                                   jsonb_build_object('id', 101, 'company', v.b)) s1,
       LATERAL crmdedup.match_rows('q_slips', jsonb_build_object('id', 100, 'company', v.b),
                                   jsonb_build_object('id', 101, 'company', v.a)) s2,
       jsonb_array_elements(s1.explanation->'fields') f1,
       jsonb_array_elements(s2.explanation->'fields') f2;
SELECT crmdedup.drop_profile('q_slips');
DROP TABLE q_slips;

-- a place closing a company name (company-places data, 0.2.0): Orbis Electronics UK is read as
-- Orbis Electronics when the other name names no place, so it is contained in Koninklijke Orbis
-- Electronics as Orbis Electronics is, at that pair's weight, in either order (a place written
-- out, North America, or in another script, Рус, the same); two names that both name a place
-- (Orbis Electronics UK / Koninklijke Orbis Electronics Nederland) or a name whose other words
-- differ (Orbis Semiconductors UK) are not contained, and company_key keeps the place
CREATE TABLE q_places (id int PRIMARY KEY, company text);
INSERT INTO q_places VALUES (1, 'Koninklijke Orbis Electronics N.V.'), (2, 'Orbis Electronics'),
                            (3, 'Orbis Electronics UK Ltd'), (4, 'Orbis Semiconductors');
INSERT INTO q_places
SELECT 10 + i, (ARRAY['Vantor', 'Pelican', 'Baltic', 'Nordwind', 'Gamma', 'Kestrel', 'Arden', 'Lumen',
                      'Corvus', 'Talisman', 'Quarry', 'Halcyon'])[1 + i % 12] || ' ' ||
               (ARRAY['Data Systems', 'Foods', 'Trading', 'Logistik GmbH', 'Holding', 'Media',
                      'Textiles', 'Pharma', 'Motors', 'Glass', 'Mining'])[1 + (i / 12) % 11]
  FROM generate_series(0, 131) i;
SELECT crmdedup.create_profile('q_places', 'q_places', '{"fields": {"company": "company"}}');
SELECT crmdedup.analyze('q_places');
SELECT v.a, v.b, f1->>'level' AS level_ab, (f1->>'weight')::numeric AS weight_ab,
       f2->>'level' AS level_ba, (f2->>'weight')::numeric AS weight_ba
  FROM (VALUES ('Orbis Electronics', 'Koninklijke Orbis Electronics N.V.'),
               ('Orbis Electronics UK Ltd', 'Koninklijke Orbis Electronics N.V.'),
               ('ORBIS ELECTRONICS NORTH AMERICA, INC.', 'Koninklijke Orbis Electronics N.V.'),
               ('ООО Орбис Электроникс Рус', 'Koninklijke Orbis Electronics N.V.'),
               ('Orbis Electronics UK Ltd', 'Koninklijke Orbis Electronics Nederland N.V.'),
               ('Orbis Semiconductors UK', 'Koninklijke Orbis Electronics N.V.')) v(a, b),
       LATERAL crmdedup.match_rows('q_places', jsonb_build_object('id', 100, 'company', v.a),
                                   jsonb_build_object('id', 101, 'company', v.b)) s1,
       LATERAL crmdedup.match_rows('q_places', jsonb_build_object('id', 100, 'company', v.b),
                                   jsonb_build_object('id', 101, 'company', v.a)) s2,
       jsonb_array_elements(s1.explanation->'fields') f1,
       jsonb_array_elements(s2.explanation->'fields') f2;
SELECT crmdedup.company_key('Orbis Electronics UK Ltd'), crmdedup.company_key('ООО Орбис Электроникс Рус');
SELECT crmdedup.drop_profile('q_places');
DROP TABLE q_places;

-- estimate() with one company field (0.2.0): the random pairs' share of duplicates is found
-- with the u the scorer uses (the term frequencies), so a table where most companies have
-- several records gets a prior near its share of duplicate pairs rather than one near zero
CREATE TABLE q_firm_rows (id int PRIMARY KEY, company text);
INSERT INTO q_firm_rows
SELECT row_number() OVER (ORDER BY c, k), format((ARRAY['%s %s B.V.', '%s %s BV', '%s %s', '%s %s N.V.'])[1 + k % 4],
           initcap(translate(left(md5(c::text), 7), '0123456789', 'ghijklmnop')),
           (ARRAY['Widgets', 'Optics', 'Foods', 'Chemicals', 'Systems', 'Holding'])[1 + c / 20])
  FROM generate_series(0, 119) c, generate_series(0, (c * 7) % 6) k;
SELECT crmdedup.create_profile('q_firm_rows', 'q_firm_rows', '{"fields": {"company": "company"}}');
SELECT crmdedup.analyze('q_firm_rows');
SELECT round((e->>'prior')::numeric, 4) AS prior,
       round((SELECT count(*) FROM q_firm_rows a JOIN q_firm_rows b ON a.id < b.id
                AND crmdedup.company_key(a.company) = crmdedup.company_key(b.company))::numeric
             / (SELECT count(*) * (count(*) - 1) / 2 FROM q_firm_rows), 4) AS duplicate_share
  FROM crmdedup.estimate('q_firm_rows') e;
-- one field whose exact agreement is capped by a name's share 1/rows: with a prior of
-- (records per company - 1) / rows, a company of a few records reaches "maybe", not "same"
-- (0.2.0: so do 4 pairs of two random names whose first words share a phonetic key,
-- Jefohlk Systems / Eieflik Systems, 0.95: two rare names that similar count at the top level)
SELECT s.decision, count(*) FILTER (WHERE crmdedup.company_key(a.company) = crmdedup.company_key(b.company)) AS same_firm,
       count(*) FILTER (WHERE crmdedup.company_key(a.company) <> crmdedup.company_key(b.company)) AS other_firm
  FROM q_firm_rows a JOIN q_firm_rows b ON a.id < b.id,
       LATERAL crmdedup.match_rows('q_firm_rows', to_jsonb(a), to_jsonb(b)) s
 GROUP BY 1 ORDER BY 1;
SELECT crmdedup.drop_profile('q_firms'), crmdedup.drop_profile('q_firm_rows');
DROP TABLE q_firms, q_firm_rows;

-- a company written many ways (0.2.0): analyze() counts a company word once per group of names
-- the profile's own weights call the same company on that field alone (score >= same), so one
-- company's spellings (Koninklijke Orbis Electronics and its typos) do not make its words look
-- common.  With the default prior no two names meet on the company alone and the shares stay
-- those of distinct names; after estimate(), analyze() again: the typo'd spellings meet, orbis and
-- koninklijke get rarer, and the containments (Orbis Electronics inside Koninklijke Orbis
-- Electronics) weigh more; generic words (holding, widgets) and other companies' pairs do not
CREATE TABLE q_spelt (id int PRIMARY KEY, company text);
INSERT INTO q_spelt
SELECT row_number() OVER (ORDER BY c, k), format((ARRAY['%s %s B.V.', '%s %s BV', '%s %s', '%s %s N.V.'])[1 + k % 4],
           initcap(translate(left(md5(c::text), 7), '0123456789', 'ghijklmnop')),
           (ARRAY['Widgets', 'Optics', 'Foods', 'Chemicals', 'Systems', 'Holding'])[1 + c % 6])
  FROM generate_series(0, 39) c, generate_series(0, 19) k;
INSERT INTO q_spelt
SELECT 1000 + k, (ARRAY['Koninklijke Orbis Electronics N.V.', 'Orbis Electronics B.V.', 'Nordic Electronics',
                        'Baltic Electronics'])[1 + k % 4]
  FROM generate_series(0, 39) k;
INSERT INTO q_spelt VALUES
    (2001, 'Koninklijke Orbis Electronic'), (2002, 'Koninklike Orbis Electronics'),
    (2003, 'Koninklijke Orbis Electronis N.V.'), (2004, 'Konninklijke Orbis Electronics'),
    (2005, 'Orbis Electroncs'), (2006, 'Orbis Electronics Holding'), (2007, 'Orbis Electronics Holding N.V.');
SELECT crmdedup.create_profile('q_spelt', 'q_spelt', '{"fields": {"company": "company"}}');
SELECT crmdedup.analyze('q_spelt');
CREATE TEMP TABLE shares_before AS SELECT term, freq FROM crmdedup.term_stats WHERE profile = 'q_spelt';
SELECT round((e->>'prior')::numeric, 4) AS prior FROM crmdedup.estimate('q_spelt') e;
CREATE TEMP TABLE pairs AS
SELECT * FROM (VALUES (1000, 1001), (1001, 2006), (1000, 2001), (2001, 2002), (1002, 1003), (1001, 1002)) v(i, j);
CREATE TEMP TABLE scores_est AS
SELECT v.i, v.j, s.score, s.explanation->'fields'->0 AS f
  FROM pairs v,
       LATERAL crmdedup.match_rows('q_spelt', (SELECT to_jsonb(t) FROM q_spelt t WHERE t.id = v.i),
                                   (SELECT to_jsonb(t) FROM q_spelt t WHERE t.id = v.j)) s;
SELECT crmdedup.analyze('q_spelt');
SELECT b.term, round(b.freq::numeric, 4) AS before, round(t.freq::numeric, 4) AS after
  FROM shares_before b JOIN crmdedup.term_stats t ON t.profile = 'q_spelt' AND t.term = b.term
 WHERE b.term IN ('orbis', 'electronics', 'koninklijke', 'holding', 'nordic', 'widgets') ORDER BY 1;
SELECT (SELECT company FROM q_spelt WHERE id = v.i) AS a, (SELECT company FROM q_spelt WHERE id = v.j) AS b,
       e.f->>'level' AS level, round((e.f->>'u')::numeric, 4) AS u_before, round(e.score::numeric, 3) AS score_before,
       s.decision, round((s.explanation->'fields'->0->>'u')::numeric, 4) AS u_after, round(s.score::numeric, 3) AS score_after
  FROM pairs v JOIN scores_est e ON e.i = v.i AND e.j = v.j,
       LATERAL crmdedup.match_rows('q_spelt', (SELECT to_jsonb(t) FROM q_spelt t WHERE t.id = v.i),
                                   (SELECT to_jsonb(t) FROM q_spelt t WHERE t.id = v.j)) s
 ORDER BY v.i, v.j;
-- a group's name of one word inside the names of distinct companies of the group (Brandtner,
-- Brandtner Bau, Brandtner Transport ...) does not join them into one company: a name of one word
-- is left out of the grouping (it met each of them), so their shared word keeps a share of its own
-- and the companies stay apart; the Orbis spellings still count as one
INSERT INTO q_spelt
SELECT 3000 + 10 * c + k, (ARRAY['Brandtner GmbH', 'Brandtner Bau GmbH', 'Brandtner Bau Service GmbH',
                                 'Brandtner Transport GmbH', 'Brandtner Transport Logistik GmbH',
                                 'Brandtner Elektro GmbH', 'Brandtner Elektro Technik GmbH',
                                 'Brandtner Immobilien GmbH'])[1 + c]
  FROM generate_series(0, 7) c, generate_series(0, 4) k;
SELECT crmdedup.analyze('q_spelt');
SELECT term, round(freq::numeric, 4) AS freq FROM crmdedup.term_stats
 WHERE profile = 'q_spelt' AND term IN ('brandtner', 'bau', 'transport', 'orbis', 'koninklijke') ORDER BY term;
SELECT (a.company = 'Brandtner GmbH' OR b.company = 'Brandtner GmbH') AS with_group_name, s.decision, count(*)
  FROM (SELECT DISTINCT company FROM q_spelt WHERE company LIKE 'Brandtner%') a
  JOIN (SELECT DISTINCT company FROM q_spelt WHERE company LIKE 'Brandtner%') b ON a.company < b.company,
       LATERAL crmdedup.match_rows('q_spelt', jsonb_build_object('company', a.company),
                                   jsonb_build_object('company', b.company)) s
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT crmdedup.drop_profile('q_spelt');
DROP TABLE shares_before, pairs, scores_est;

-- analyze()'s grouping pairs a name of two words with the names holding its rare word and its
-- other word as it is or with the same first or last two letters (2026-11-28): a typo near the
-- start of the word (Lectronics), near its end (Electronisc) or both (Lectronisc, reached through
-- the other two) still joins Zorbax Electronics, and zorbax counts as one company's word
-- (q_spelt's 40 companies written 20 ways each: its first 800 rows)
CREATE TABLE q_keys (id int PRIMARY KEY, company text);
INSERT INTO q_keys SELECT id, company FROM q_spelt WHERE id <= 800;
DROP TABLE q_spelt;
INSERT INTO q_keys SELECT 1000 + k, 'Zorbax Electronics B.V.' FROM generate_series(0, 19) k;
INSERT INTO q_keys VALUES (2001, 'Zorbax Lectronics'), (2002, 'Zorbax Electronisc'), (2003, 'Zorbax Lectronisc');
SELECT crmdedup.create_profile('q_keys', 'q_keys', '{"fields": {"company": "company"}}');
SELECT crmdedup.analyze('q_keys');
SELECT round((e->>'prior')::numeric, 4) AS prior FROM crmdedup.estimate('q_keys') e;
SELECT crmdedup.analyze('q_keys');
-- each spelling against Zorbax Electronics on the company alone, then the share of zorbax:
-- that of a word one company holds (each filler name's first word)
SELECT b.company, s.decision
  FROM q_keys b, LATERAL crmdedup.match_rows('q_keys', jsonb_build_object('company', 'Zorbax Electronics B.V.'),
                                             jsonb_build_object('company', b.company)) s
 WHERE b.id > 2000 ORDER BY b.id;
SELECT t.freq = (SELECT min(freq) FROM crmdedup.term_stats WHERE profile = 'q_keys' AND field = 'company' AND strpos(term, ' ') = 0)
       AS zorbax_one_company, round(t.freq::numeric, 4) AS freq
  FROM crmdedup.term_stats t WHERE t.profile = 'q_keys' AND t.term = 'zorbax';
SELECT crmdedup.drop_profile('q_keys');
DROP TABLE q_keys;

-- one place, several entities (0.2.0): restaurants listed by two guides; the restaurants of one
-- hotel share its address, phone number and city; estimate() learns from the pairs at one
-- address whose names are "different" how often other entities there share the phone and
-- the city, and those fields then weigh that much when an address agrees
CREATE TABLE q_places (id int PRIMARY KEY, name text, address text, city text, phone text);
-- restaurants 0-7: two to a hotel (one address, one phone); 8-25: three to a mall (one
-- address, a phone each); each listed twice
INSERT INTO q_places
SELECT 2 * r + g, initcap(translate(left(md5('n' || r), 8), '0123456789', 'ghijklmnop'))
                  || CASE WHEN g = 1 THEN ' Restaurant' ELSE '' END,
       format('%s %s Ave', 100 + h, initcap(translate(left(md5('s' || h), 6), '0123456789', 'ghijklmnop'))),
       (ARRAY['New York', 'Los Angeles', 'Chicago', 'Atlanta'])[1 + h % 4],
       format('212-555-%s', lpad(CASE WHEN r < 8 THEN h ELSE r END::text, 4, '0'))
  FROM generate_series(0, 119) r,
       LATERAL (SELECT CASE WHEN r < 8 THEN r / 2 WHEN r < 26 THEN 8 + (r - 8) / 3 ELSE r END AS h) x,
       generate_series(0, 1) g;
SELECT crmdedup.create_profile('q_places', 'q_places', '{"region": "US", "fields": {
    "name": "company", "address": "address", "city": "city", "phone": "phone"}}');
SELECT crmdedup.analyze('q_places');
SELECT (e->'rejected') IS NULL AS used FROM crmdedup.estimate('q_places') e;
SELECT f->>'field' AS field, round((f->>'u_same_place')::numeric, 3) AS u_same_place
  FROM crmdedup.profiles p, jsonb_array_elements(p.compiled->'fields') f WHERE p.name = 'q_places' ORDER BY 1;
-- the same restaurant in both guides, and two restaurants of one hotel
SELECT x.same_restaurant, x.same_phone, s.decision, count(*)
  FROM (SELECT a.id / 2 = b.id / 2 AS same_restaurant, a.phone = b.phone AS same_phone, to_jsonb(a) AS ra, to_jsonb(b) AS rb
          FROM q_places a JOIN q_places b ON a.id < b.id AND (a.address = b.address)) x,
       LATERAL crmdedup.match_rows('q_places', x.ra, x.rb) s
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT f->>'field' AS field, f->>'level' AS level, round((f->>'u')::numeric, 3) AS u, f->>'weight' AS weight, f->>'same_place_as' AS same_place_as
  FROM crmdedup.match_rows('q_places', (SELECT to_jsonb(p) FROM q_places p WHERE id = 0),
                           (SELECT to_jsonb(p) FROM q_places p WHERE id = 2)) s,
       jsonb_array_elements(s.explanation->'fields') f ORDER BY 1;
-- without u_same_place (every field counted as independent of the others) the restaurants of one
-- hotel are the same restaurant
UPDATE crmdedup.profiles
   SET compiled = jsonb_set(compiled, '{fields}', (SELECT jsonb_agg(f - 'u_same_place' ORDER BY o)
                                                      FROM jsonb_array_elements(compiled->'fields') WITH ORDINALITY e(f, o)))
 WHERE name = 'q_places';
SELECT x.same_restaurant, x.same_phone, s.decision, count(*)
  FROM (SELECT a.id / 2 = b.id / 2 AS same_restaurant, a.phone = b.phone AS same_phone, to_jsonb(a) AS ra, to_jsonb(b) AS rb
          FROM q_places a JOIN q_places b ON a.id < b.id AND (a.address = b.address)) x,
       LATERAL crmdedup.match_rows('q_places', x.ra, x.rb) s
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT crmdedup.drop_profile('q_places');
DROP TABLE q_places;

-- errors
\set VERBOSITY terse
SELECT crmdedup.estimate('no_such_profile');
SELECT crmdedup.estimate('q_people', block_cap => 1);
SELECT crmdedup.estimate('q_people', sample_pairs => 10);
SELECT crmdedup.estimate('q_people', max_iterations => 0);
CREATE TABLE q_tiny (id int PRIMARY KEY, name text);
INSERT INTO q_tiny VALUES (1, 'Anna'), (2, 'Boris');
SELECT crmdedup.create_profile('q_tiny', 'q_tiny', '{"fields": {"name": "person_name"}}');
SELECT crmdedup.estimate('q_tiny');
INSERT INTO q_tiny VALUES (3, 'Clara');
SELECT crmdedup.estimate('q_tiny');
-- only the table's owner may estimate its profile
CREATE ROLE q_quality_other;
SET ROLE q_quality_other;
SELECT crmdedup.estimate('q_people');
RESET ROLE;
DROP ROLE q_quality_other;
\set VERBOSITY default
SELECT crmdedup.drop_profile('q_people'), crmdedup.drop_profile('q_tiny');
DROP TABLE q_people, q_tiny;

-- birth dates at most 31 days apart (a day or a month typed wrong) reach "within a month"
-- (0.2.0) when their digits are further apart; real dates only (leap years counted)
SELECT a, b, crmdedup.value_similarity('birth_date', a, b, NULL) AS sim
  FROM (VALUES ('1976-10-20', '1976-11-17'), ('1976-10-20', '1976-11-21'), ('1976-10-20', '20.10.1976'),
               ('1980-05-17', '1980-05-18'), ('1999-12-31', '2000-01-01'), ('2000-02-29', '2000-03-30'),
               ('2000-02-28', '2000-03-31'), ('1999-02-29', '1999-03-01'), ('1980-13-01', '1980-12-05'),
               ('0000-01-01', '0000-01-05'), ('19761020', '1976-11-19'), ('1976-10-20', '1986-11-20')) v(a, b);
CREATE TABLE q_dates (id int PRIMARY KEY, dob text);
SELECT crmdedup.create_profile('q_dates', 'q_dates', '{"fields": {"dob": "birth_date"}}');
SELECT (SELECT jsonb_agg(l->>'level') FROM jsonb_array_elements(crmdedup.default_levels('birth_date')) l) AS levels;
-- the C scorer and value_similarity agree
SELECT a, b, s.explanation->'fields'->0->>'level' AS level,
       (s.explanation->'fields'->0->>'similarity')::float8 = round(crmdedup.value_similarity('birth_date', a, b, NULL)::numeric, 3)::float8 AS same_sim
  FROM (VALUES ('1976-10-20', '1976-11-17'), ('1999-12-31', '2000-01-01'), ('1999-02-29', '1999-03-01'),
               ('1976-10-20', '1976-12-20')) v(a, b),
       LATERAL crmdedup.score_rows('q_dates', jsonb_build_object('dob', a), jsonb_build_object('dob', b)) s;
SELECT crmdedup.drop_profile('q_dates');
DROP TABLE q_dates;

-- phones: after analyze(), a number held by rows besides the two compared (a switchboard)
-- weighs less; a number only the two hold keeps the level's weight (0.2.0)
CREATE TABLE q_sites (id int PRIMARY KEY, name text, phone text);
INSERT INTO q_sites SELECT i, 'Site ' || i, '+1 312 555 ' || lpad((1000 + i)::text, 4, '0') FROM generate_series(1, 200) i;
UPDATE q_sites SET phone = '+1 312 555 0000' WHERE id <= 12;          -- one switchboard for 12 sites
UPDATE q_sites SET phone = '+1 312 555 1100' WHERE id = 101;           -- site 100's number also at site 101
SELECT crmdedup.create_profile('q_sites', 'q_sites', '{"region": "US", "fields": {"name": "company", "phone": "phone"}}');
SELECT crmdedup.analyze('q_sites');
SELECT term, round(freq::numeric, 4) AS freq FROM crmdedup.term_stats WHERE profile = 'q_sites' AND field = 'phone';
SELECT x.a, x.b, f->>'level' AS level, f->'u' AS u, f->'weight' AS weight
  FROM (VALUES (2, 3), (100, 101)) x(a, b),
       LATERAL crmdedup.match('q_sites', x.a, x.b) s,
       jsonb_array_elements(s.explanation->'fields') f
 WHERE f->>'field' = 'phone';
SELECT crmdedup.drop_profile('q_sites');
DROP TABLE q_sites;
-- analyze() on a profile over a view counts the company words and whole names as over its
-- table, rows with a NULL or a repeated id included (the whole names join the table on the id)
CREATE TABLE q_firms (id int, company text, city text);
INSERT INTO q_firms VALUES (1, 'Romashka LLC', 'Moscow'), (2, 'ООО Ромашка', 'Moscow'), (NULL, 'Romashka LLC', 'Kazan'),
  (3, 'Romashka LLC', 'Kazan'), (3, 'Lютик Trading', 'Tver'), (4, 'Lyutik Trading Co', 'Tver'), (5, 'Acme', 'Paris'),
  (6, 'Acme Holding', 'Lyon'), (NULL, 'Acme', 'Nice'), (7, 'Acme', 'Nice');
CREATE VIEW q_firms_v AS SELECT * FROM q_firms;
SELECT crmdedup.create_profile('q_firms', 'q_firms', '{"id": "id", "fields": {"company": "company", "city": "city"}}'),
       crmdedup.create_profile('q_firms_v', 'q_firms_v', '{"id": "id", "fields": {"company": "company", "city": "city"}}');
SELECT crmdedup.analyze('q_firms'), crmdedup.analyze('q_firms_v');
SELECT '"' || coalesce(t.term, v.term) || '"' AS term, round(t.freq::numeric, 3) AS freq, round(v.freq::numeric, 3) AS view_freq
  FROM (SELECT * FROM crmdedup.term_stats WHERE profile = 'q_firms' AND field = 'company') t
       FULL JOIN (SELECT * FROM crmdedup.term_stats WHERE profile = 'q_firms_v' AND field = 'company') v ON v.term = t.term
 ORDER BY 1;
SELECT crmdedup.drop_profile('q_firms'), crmdedup.drop_profile('q_firms_v');
DROP VIEW q_firms_v;
DROP TABLE q_firms;
