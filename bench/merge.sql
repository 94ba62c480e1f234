-- bench/merge.sql: merges per second on the demo CRM (demo/schema.sql, generated with
-- demo/generate.py --seed 1 --contacts 20000): crmdedup.merge() against the same merge written
-- as plain SQL by hand, in the same run, on clusters of 2 to 5 contacts with 10 child rows each
-- (2 phones, 2 emails, 2 deals, 2 activities, 2 tags, one tag shared by the whole cluster).
-- Each merge is its own transaction; the two methods take turns, cluster by cluster, so that
-- the machine's moods fall on both.  Then crmdedup.unmerge() of every crmdedup merge.
-- Run by bench/merge; not a test.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET jit = off;
SET max_parallel_workers_per_gather = 0;

-- :clusters clusters per method, sizes 2, 3, 4, 5 in turn
DROP TABLE IF EXISTS public.bench_members, public.bench_clusters, public.bench_times;
SELECT coalesce(max(id), 0) AS base FROM crm.contacts \gset
CREATE TABLE public.bench_members AS
SELECT s.cluster_no, s.method, s.size, m AS member,
       :base + row_number() OVER (ORDER BY s.cluster_no, m) AS id
  FROM (SELECT g AS cluster_no, CASE WHEN g % 2 = 0 THEN 'crmdedup' ELSE 'hand' END AS method, 2 + (g / 2) % 4 AS size
          FROM generate_series(0, 2 * :clusters - 1) AS g) AS s,
       generate_series(1, s.size) AS m;

-- duplicates as they come in: the first row is the oldest, the others fill its gaps
INSERT INTO crm.contacts (id, company_id, full_name, first_name, last_name, middle_name, birth_date, city, country,
                          source, created_at, updated_at, notes)
SELECT id, CASE WHEN member > 1 THEN cluster_no % 2000 + 1 END,
       CASE member % 3 WHEN 1 THEN 'Petrov Ivan ' ELSE 'Ivan Petrov ' END || cluster_no,
       CASE WHEN member > 1 THEN 'Ivan' END, 'Petrov', CASE WHEN member = 3 THEN 'Sergeevich' END,
       CASE WHEN member = 2 THEN date '1980-01-01' + cluster_no % 9000 END,
       CASE WHEN member <> 1 THEN (ARRAY['Moscow', 'Moskva', 'Kazan', 'Omsk', 'Tver'])[member] END,
       'RU', (ARRAY['manual', 'import', 'web_form', 'api', 'import'])[member],
       timestamptz '2023-01-01 00:00+00' + make_interval(days => member),
       timestamptz '2024-01-01 00:00+00' + make_interval(days => member),
       CASE WHEN member = 3 THEN 'called back ' || cluster_no END
  FROM public.bench_members;
SELECT setval(pg_get_serial_sequence('crm.contacts', 'id'), (SELECT max(id) FROM crm.contacts));

INSERT INTO crm.contact_phones (contact_id, phone, kind)
SELECT id, format('+7 9%s %s-%s-%s', lpad((id % 100)::text, 2, '0'), lpad((id % 1000)::text, 3, '0'),
                  lpad((n * 7 % 100)::text, 2, '0'), lpad((id / 7 % 100)::text, 2, '0')),
       (ARRAY['mobile', 'work'])[n]
  FROM public.bench_members, generate_series(1, 2) AS n;
INSERT INTO crm.contact_emails (contact_id, email, kind)
SELECT id, format('ivan.petrov%s.%s@example.com', cluster_no, n + member), (ARRAY['personal', 'work'])[n]
  FROM public.bench_members, generate_series(1, 2) AS n;
INSERT INTO crm.deals (contact_id, title, amount, currency, stage, created_at)
SELECT id, format('Deal %s/%s', id, n), 1000 * n, 'RUB', (ARRAY['lead', 'won'])[n], timestamptz '2024-02-01 00:00+00'
  FROM public.bench_members, generate_series(1, 2) AS n;
INSERT INTO crm.activities (contact_id, deal_id, kind, happened_at, note)
SELECT b.id, CASE WHEN n = 1 THEN (SELECT min(d.id) FROM crm.deals d WHERE d.contact_id = b.id) END,
       (ARRAY['call', 'email'])[n], timestamptz '2024-03-01 00:00+00' + make_interval(hours => n), 'note ' || n
  FROM public.bench_members b, generate_series(1, 2) AS n;
INSERT INTO crm.contact_tags (contact_id, tag_id)
SELECT id, t FROM public.bench_members,
       LATERAL (SELECT DISTINCT t FROM unnest(ARRAY[cluster_no % 16 + 1, (cluster_no + member) % 16 + 1]) AS t) AS x;
-- make the cluster share one tag and each member have two
INSERT INTO crm.contact_tags (contact_id, tag_id)
SELECT id, (cluster_no + 8) % 16 + 1 FROM public.bench_members
 WHERE (cluster_no + member) % 16 = cluster_no % 16
ON CONFLICT DO NOTHING;
ANALYZE;

CREATE TABLE public.bench_clusters AS
SELECT cluster_no, method, size, min(id) AS keep, array_agg(id ORDER BY member) FILTER (WHERE member > 1) AS losers
  FROM public.bench_members GROUP BY cluster_no, method, size;
SELECT size, count(*) / 2 AS clusters_per_method,
       (SELECT round(avg(n), 1) FROM (
            SELECT (SELECT count(*) FROM crm.contact_phones p WHERE p.contact_id = m.id)
                 + (SELECT count(*) FROM crm.contact_emails e WHERE e.contact_id = m.id)
                 + (SELECT count(*) FROM crm.deals d WHERE d.contact_id = m.id)
                 + (SELECT count(*) FROM crm.activities a WHERE a.contact_id = m.id)
                 + (SELECT count(*) FROM crm.contact_tags t WHERE t.contact_id = m.id) AS n
              FROM public.bench_members m WHERE m.size = c.size) AS s) AS child_rows_per_contact
  FROM public.bench_clusters c GROUP BY size ORDER BY size;

-- The merge a DBA writes by hand for this schema: fill the survivor's NULLs from the losers
-- in order, move the children, drop tags the survivor already has, delete the losers.  No
-- audit, no undo, no rules, nothing generic.
CREATE OR REPLACE PROCEDURE public.bench_hand_merge(keep bigint, losers bigint[])
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM crm.contacts WHERE id = keep OR id = ANY (losers) ORDER BY id FOR UPDATE;
    UPDATE crm.contacts c
       SET company_id = coalesce(c.company_id, l.company_id), first_name = coalesce(c.first_name, l.first_name),
           last_name = coalesce(c.last_name, l.last_name), middle_name = coalesce(c.middle_name, l.middle_name),
           birth_date = coalesce(c.birth_date, l.birth_date), city = coalesce(c.city, l.city),
           country = coalesce(c.country, l.country), notes = coalesce(c.notes, l.notes)
      FROM (SELECT (array_agg(company_id ORDER BY o) FILTER (WHERE company_id IS NOT NULL))[1] AS company_id,
                   (array_agg(first_name ORDER BY o) FILTER (WHERE first_name IS NOT NULL))[1] AS first_name,
                   (array_agg(last_name ORDER BY o) FILTER (WHERE last_name IS NOT NULL))[1] AS last_name,
                   (array_agg(middle_name ORDER BY o) FILTER (WHERE middle_name IS NOT NULL))[1] AS middle_name,
                   (array_agg(birth_date ORDER BY o) FILTER (WHERE birth_date IS NOT NULL))[1] AS birth_date,
                   (array_agg(city ORDER BY o) FILTER (WHERE city IS NOT NULL))[1] AS city,
                   (array_agg(country ORDER BY o) FILTER (WHERE country IS NOT NULL))[1] AS country,
                   (array_agg(notes ORDER BY o) FILTER (WHERE notes IS NOT NULL))[1] AS notes
              FROM unnest(losers) WITH ORDINALITY AS u(id, o) JOIN crm.contacts x ON x.id = u.id) AS l
     WHERE c.id = keep;
    UPDATE crm.contact_phones SET contact_id = keep WHERE contact_id = ANY (losers);
    UPDATE crm.contact_emails SET contact_id = keep WHERE contact_id = ANY (losers);
    UPDATE crm.deals SET contact_id = keep WHERE contact_id = ANY (losers);
    UPDATE crm.activities SET contact_id = keep WHERE contact_id = ANY (losers);
    INSERT INTO crm.contact_tags (contact_id, tag_id)
    SELECT DISTINCT keep, tag_id FROM crm.contact_tags WHERE contact_id = ANY (losers)
    ON CONFLICT DO NOTHING;
    DELETE FROM crm.contact_tags WHERE contact_id = ANY (losers);
    DELETE FROM crm.contacts WHERE id = ANY (losers);
END;
$$;

CREATE TABLE public.bench_times (method text, size int, secs float8);
CREATE OR REPLACE PROCEDURE public.bench_run()
LANGUAGE plpgsql AS $$
DECLARE
    g record;
    t0 timestamptz;
    secs float8;
    mid bigint;
BEGIN
    FOR g IN SELECT * FROM public.bench_clusters ORDER BY cluster_no LOOP
        t0 := clock_timestamp();
        IF g.method = 'crmdedup' THEN
            CALL crmdedup.merge('crm.contacts', g.keep, g.losers, '{}', mid);
        ELSE
            CALL public.bench_hand_merge(g.keep, g.losers);
        END IF;
        COMMIT;
        secs := extract(epoch FROM clock_timestamp() - t0);
        INSERT INTO public.bench_times VALUES (g.method, g.size, secs);
        COMMIT;
    END LOOP;
END;
$$;

CREATE OR REPLACE PROCEDURE public.bench_unmerge()
LANGUAGE plpgsql AS $$
DECLARE
    m record;
    t0 timestamptz;
BEGIN
    FOR m IN SELECT l.merge_id, cardinality(l.losers) + 1 AS size FROM crmdedup.merge_log l
              WHERE l.unmerged_at IS NULL ORDER BY l.merge_id DESC LOOP
        t0 := clock_timestamp();
        CALL crmdedup.unmerge(m.merge_id);
        COMMIT;
        INSERT INTO public.bench_times VALUES ('crmdedup unmerge', m.size, extract(epoch FROM clock_timestamp() - t0));
        COMMIT;
    END LOOP;
END;
$$;

SELECT (SELECT count(*) FROM crm.deals) AS deals_before, (SELECT count(*) FROM crm.activities) AS activities_before \gset
CALL public.bench_run();

-- both did the whole job: no child of a loser left, no deal or activity lost
SELECT (SELECT count(*) FROM crm.deals) = :deals_before AND (SELECT count(*) FROM crm.activities) = :activities_before
       AND NOT EXISTS (SELECT 1 FROM public.bench_clusters c, unnest(c.losers) AS l(id)
                        WHERE EXISTS (SELECT 1 FROM crm.contacts x WHERE x.id = l.id)
                           OR EXISTS (SELECT 1 FROM crm.contact_phones x WHERE x.contact_id = l.id)
                           OR EXISTS (SELECT 1 FROM crm.contact_emails x WHERE x.contact_id = l.id)
                           OR EXISTS (SELECT 1 FROM crm.deals x WHERE x.contact_id = l.id)
                           OR EXISTS (SELECT 1 FROM crm.activities x WHERE x.contact_id = l.id)
                           OR EXISTS (SELECT 1 FROM crm.contact_tags x WHERE x.contact_id = l.id)) AS merges_complete;

CALL public.bench_unmerge();

\echo
\echo merges per second, one transaction each (median and 90th percentile latency in ms):
SELECT method, size AS contacts, count(*) AS merges,
       round((count(*) / sum(secs))::numeric, 0) AS per_second,
       round((60 * count(*) / sum(secs))::numeric, 0) AS per_minute,
       round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY secs))::numeric, 2) AS ms_median,
       round((1000 * percentile_cont(0.9) WITHIN GROUP (ORDER BY secs))::numeric, 2) AS ms_p90
  FROM public.bench_times GROUP BY ROLLUP (method), ROLLUP (size)
HAVING method IS NOT NULL
 ORDER BY method, size NULLS LAST;

\echo crmdedup.merge against the hand-written merge (time ratio, same clusters sizes):
SELECT c.size AS contacts, round((c.t / h.t)::numeric, 2) AS crmdedup_time_over_hand
  FROM (SELECT size, avg(secs) AS t FROM public.bench_times WHERE method = 'crmdedup' GROUP BY size) AS c
  JOIN (SELECT size, avg(secs) AS t FROM public.bench_times WHERE method = 'hand' GROUP BY size) AS h USING (size)
UNION ALL
SELECT NULL, round(((SELECT avg(secs) FROM public.bench_times WHERE method = 'crmdedup')
                  / (SELECT avg(secs) FROM public.bench_times WHERE method = 'hand'))::numeric, 2)
 ORDER BY 1 NULLS LAST;

\echo audit kept per merge:
SELECT round(avg(pg_column_size(l.*))) AS bytes_per_merge_log_row,
       round(avg(jsonb_array_length(moved)), 1) AS moved_rows, round(avg(jsonb_array_length(removed)), 1) AS removed_rows
  FROM crmdedup.merge_log l;
