-- bench/quality_load.sql: load the labelled datasets of ../shared/datasets into schema q.
-- Run by bench/quality with the datasets folder as the working directory (\copy paths are relative).
--
-- Every dataset becomes one table q.<ds> holding only what a CRM would hold (an integer id and the
-- record's fields).  The answers live apart, in q.truth_entity (record -> entity) and q.truth_pair
-- (a < b), and are read only by the evaluation: no profile, key or rule ever sees them.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS stage CASCADE;
DROP SCHEMA IF EXISTS q CASCADE;
CREATE SCHEMA stage;
CREATE SCHEMA q;

CREATE TABLE q.truth_entity (ds text, id int, entity text, PRIMARY KEY (ds, id));
CREATE TABLE q.truth_pair (ds text, a int, b int, PRIMARY KEY (ds, a, b), CHECK (a < b));

-- FEBRL: "rec_id, given_name, ..." with a space after each comma; lower case; rec-<N>-org / rec-<N>-dup-<k>.
CREATE TABLE stage.febrl (file text, line bigserial, rec_id text, given_name text, surname text,
    street_number text, address_1 text, address_2 text, suburb text, postcode text, state text,
    date_of_birth text, soc_sec_id text);
\copy stage.febrl (rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id) FROM 'febrl/dataset1.csv' WITH (FORMAT csv, HEADER true)
UPDATE stage.febrl SET file = 'febrl1' WHERE file IS NULL;
\copy stage.febrl (rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id) FROM 'febrl/dataset2.csv' WITH (FORMAT csv, HEADER true)
UPDATE stage.febrl SET file = 'febrl2' WHERE file IS NULL;
\copy stage.febrl (rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id) FROM 'febrl/dataset3.csv' WITH (FORMAT csv, HEADER true)
UPDATE stage.febrl SET file = 'febrl3' WHERE file IS NULL;
\copy stage.febrl (rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id) FROM 'febrl/dataset4a.csv' WITH (FORMAT csv, HEADER true)
UPDATE stage.febrl SET file = 'febrl4' WHERE file IS NULL;
\copy stage.febrl (rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id) FROM 'febrl/dataset4b.csv' WITH (FORMAT csv, HEADER true)
UPDATE stage.febrl SET file = 'febrl4' WHERE file IS NULL;

CREATE FUNCTION stage.t(x text) RETURNS text LANGUAGE sql IMMUTABLE RETURN nullif(btrim(x), '');

DO $$
DECLARE d text;
BEGIN
    FOREACH d IN ARRAY ARRAY['febrl1', 'febrl2', 'febrl3', 'febrl4'] LOOP
        EXECUTE format($f$
            CREATE TABLE q.%1$I (
                id int PRIMARY KEY, given_name text, surname text, address text, suburb text,
                postcode text, state text, date_of_birth text, soc_sec_id text);
            INSERT INTO q.%1$I
            SELECT row_number() OVER (ORDER BY line), stage.t(given_name), stage.t(surname),
                   -- the street line as a CRM keeps it: number, street, and the second line
                   nullif(concat_ws(' ', stage.t(street_number), stage.t(address_1), stage.t(address_2)), ''),
                   stage.t(suburb), stage.t(postcode), stage.t(state), stage.t(date_of_birth), stage.t(soc_sec_id)
              FROM stage.febrl WHERE file = %1$L;
            INSERT INTO q.truth_entity
            SELECT %1$L, row_number() OVER (ORDER BY line), split_part(btrim(rec_id), '-', 2)
              FROM stage.febrl WHERE file = %1$L;
        $f$, d);
    END LOOP;
END $$;

-- Splink fake_1000: unique_id, first_name, surname, dob, city, email, cluster
CREATE TABLE stage.fake (unique_id int, first_name text, surname text, dob text, city text, email text, cluster text);
\copy stage.fake FROM 'splink_fake_1000/fake_1000.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE q.fake1000 (id int PRIMARY KEY, first_name text, surname text, dob text, city text, email text);
INSERT INTO q.fake1000 SELECT unique_id, stage.t(first_name), stage.t(surname), stage.t(dob), stage.t(city), stage.t(email)
  FROM stage.fake;
INSERT INTO q.truth_entity SELECT 'fake1000', unique_id, cluster FROM stage.fake;

-- Fodors-Zagat: two guides in one table (ids do not overlap); truth = the 112 listed cross pairs.
CREATE TABLE stage.fz (id int, name text, addr text, city text, phone text, type text);
\copy stage.fz FROM 'fodors_zagat_restaurants/fodors.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE stage.fz_src AS SELECT id, 'fodors'::text AS src FROM stage.fz;
\copy stage.fz FROM 'fodors_zagat_restaurants/zagats.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO stage.fz_src SELECT id, 'zagat' FROM stage.fz WHERE id NOT IN (SELECT id FROM stage.fz_src);
CREATE TABLE stage.fz_match (fodors_id int, zagats_id int);
\copy stage.fz_match FROM 'fodors_zagat_restaurants/matches_fodors_zagats.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE q.fodors_zagat (id int PRIMARY KEY, name text, addr text, city text, phone text, type text);
INSERT INTO q.fodors_zagat SELECT id, stage.t(name), stage.t(addr), stage.t(city), stage.t(phone), stage.t(type) FROM stage.fz;
INSERT INTO q.truth_pair SELECT DISTINCT 'fodors_zagat', least(fodors_id, zagats_id), greatest(fodors_id, zagats_id)
  FROM stage.fz_match;

-- dedupe Chicago early childhood: 33 columns, quoted newlines; e-mail in one of two columns.
CREATE TABLE stage.chicago (true_id text, id int, source text, site_name text, address text, zip text, phone text,
    fax text, program_name text, length_of_day text, idhs_provider_id text, agency text, neighborhood text,
    funded_enrollment text, program_option text, number_per_site_ehs text, number_per_site_hs text,
    director text, head_start_fund text, early_head_start_fund text, cc_fund text, progmod text, website text,
    executive_director text, center_director text, ece_available_programs text, naeyc_valid_until text,
    naeyc_program_id text, email_address text, ounce_description text, purple_binder_type text,
    col1 text, col2 text);
\copy stage.chicago FROM 'dedupe_chicago_early_childhood/csv_example_input_with_true_ids.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE q.chicago (id int PRIMARY KEY, site_name text, address text, zip text, phone text, email text);
INSERT INTO q.chicago
SELECT id, stage.t(regexp_replace(site_name, '\s+', ' ', 'g')), stage.t(regexp_replace(address, '\s+', ' ', 'g')),
       stage.t(zip), stage.t(phone),
       CASE WHEN email_address LIKE '%@%' THEN stage.t(email_address)
            WHEN purple_binder_type LIKE '%@%' THEN stage.t(purple_binder_type) END
  FROM stage.chicago;
INSERT INTO q.truth_entity SELECT 'chicago', id, true_id FROM stage.chicago;

-- dedupe patstat: the raw applicant names of the reference file (legal forms, punctuation variants);
-- leuven_id is the answer.  (patstat_input.csv holds PATSTAT-cleaned names; the raw ones are the test.)
CREATE TABLE stage.pat_ref (person_id int, leuven_id text, person_name text);
\copy stage.pat_ref FROM 'dedupe_patstat/patstat_reference.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE q.patstat (id int PRIMARY KEY, company text);
INSERT INTO q.patstat SELECT r.person_id, stage.t(r.person_name) FROM stage.pat_ref r;
INSERT INTO q.truth_entity SELECT 'patstat', person_id, leuven_id FROM stage.pat_ref;

-- pairs within one entity
INSERT INTO q.truth_pair
SELECT x.ds, x.id, y.id FROM q.truth_entity x JOIN q.truth_entity y ON y.ds = x.ds AND y.entity = x.entity AND x.id < y.id;

-- patstat without its largest entity (one company holds most of its pairs): evaluated as a second
-- row over the same predictions, restricted to the records of the other entities.
INSERT INTO q.truth_entity
SELECT 'patstat_rest', id, entity FROM q.truth_entity
 WHERE ds = 'patstat'
   AND entity <> (SELECT entity FROM q.truth_entity WHERE ds = 'patstat' GROUP BY entity ORDER BY count(*) DESC, entity LIMIT 1);
INSERT INTO q.truth_pair
SELECT 'patstat_rest', x.id, y.id FROM q.truth_entity x JOIN q.truth_entity y
    ON y.ds = x.ds AND y.entity = x.entity AND x.id < y.id
 WHERE x.ds = 'patstat_rest';

-- Wikidata word pairs: latin <TAB> target with its characters space-separated <TAB> count
CREATE TABLE stage.wd (latin text, target text, cnt int);
\copy stage.wd FROM 'wikidata_name_transliteration/wd_russian_80.tsv' WITH (FORMAT text)
CREATE TABLE q.wikidata (script text, latin text, native text, cnt int);
INSERT INTO q.wikidata SELECT 'Cyrillic', latin, replace(target, ' ', ''), cnt FROM stage.wd;
TRUNCATE stage.wd;
\copy stage.wd FROM 'wikidata_name_transliteration/wd_chinese_80.tsv' WITH (FORMAT text)
INSERT INTO q.wikidata SELECT 'Han', latin, replace(target, ' ', ''), cnt FROM stage.wd;

DROP SCHEMA stage CASCADE;
ANALYZE;
