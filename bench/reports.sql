-- bench/reports.sql: clusters() on the demo CRM loaded by bench/reports (profile demo_contacts,
-- as in demo/demo.sql), with and without parallel workers, its memory and temp files, its
-- pairwise precision and recall against crm.demo_truth, and the pg_trgm self-join a DBA
-- would write, stopped at :trgm_limit seconds.  psql variables: trgm_limit, serial (on/off).
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = notice;

SELECT count(*) AS contacts, (SELECT count(*) FROM crm.demo_truth WHERE contact_id <> original_id) AS true_duplicates
  FROM crm.contacts;
SELECT name, setting FROM pg_settings
 WHERE name IN ('work_mem', 'maintenance_work_mem', 'shared_buffers', 'temp_buffers',
                'max_parallel_workers_per_gather', 'max_parallel_workers', 'max_worker_processes')
 ORDER BY name;

-- 1. clusters() with parallel workers (the defaults: 2 workers per Gather)
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
SELECT temp_files AS tf0, temp_bytes AS tb0 FROM pg_stat_database WHERE datname = current_database() \gset
\echo 'load before (the machine is shared):'
\! cat /proc/loadavg
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE bench_clusters AS SELECT * FROM crmdedup.clusters('demo_contacts');
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1) AS parallel_seconds \gset
SELECT pg_stat_force_next_flush();
SELECT :parallel_seconds AS "clusters() wall s, parallel",
       temp_files - :tf0 AS "temp files", pg_size_pretty(temp_bytes - :tb0) AS "temp bytes"
  FROM pg_stat_database WHERE datname = current_database();
\echo 'load after; leader backend CPU seconds (parallel workers not included); its memory (VmHWM includes the shared buffers it touched; RssShmem: those mapped at the end, RssAnon: its private memory at the end):'
\! cat /proc/loadavg; awk '{ printf "leader CPU: %.1f s\n", ($14 + $15) / 100 }' /proc/$BENCH_PID/stat; grep -E 'VmHWM|VmRSS|RssAnon|RssShmem' /proc/$BENCH_PID/status

-- materialized results export with COPY
\copy (SELECT cluster_id, id, score, is_survivor, suggested_survivor FROM bench_clusters ORDER BY cluster_id, id) TO '/tmp/bench_reports_clusters.csv' WITH (FORMAT csv, HEADER)
\! wc -l /tmp/bench_reports_clusters.csv

-- 2. quality against the generator's truth (pairs inside predicted clusters)
CREATE TEMP TABLE bench_true_pairs AS
    SELECT x.contact_id AS a, y.contact_id AS b FROM crm.demo_truth x
      JOIN crm.demo_truth y ON y.original_id = x.original_id AND x.contact_id < y.contact_id;
WITH pred AS (SELECT x.id::bigint AS a, y.id::bigint AS b FROM bench_clusters x
                JOIN bench_clusters y ON y.cluster_id = x.cluster_id AND x.id::bigint < y.id::bigint),
     hit AS (SELECT count(*) AS n FROM pred JOIN bench_true_pairs USING (a, b))
SELECT (SELECT count(DISTINCT cluster_id) FROM bench_clusters) AS clusters,
       (SELECT count(*) FROM bench_clusters) AS records_in_clusters,
       (SELECT count(*) FROM pred) AS predicted_pairs, (SELECT count(*) FROM bench_true_pairs) AS true_pairs,
       round(100.0 * (SELECT n FROM hit) / greatest((SELECT count(*) FROM pred), 1), 1) AS precision_pct,
       round(100.0 * (SELECT n FROM hit) / (SELECT count(*) FROM bench_true_pairs), 1) AS recall_pct;

-- 3. the same report on one core (no parallel workers), when asked for
\if :serial
SET max_parallel_workers_per_gather = 0;
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE bench_clusters_serial AS SELECT * FROM crmdedup.clusters('demo_contacts');
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1) AS "clusters() wall s, serial";
RESET max_parallel_workers_per_gather;
\endif

-- 4. what a DBA would write: a pg_trgm self-join on the name (GIN index, % at the default
-- similarity threshold 0.3), stopped at the time limit
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SELECT clock_timestamp() AS t0 \gset
CREATE INDEX bench_trgm ON crm.contacts USING gin (full_name gin_trgm_ops);
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1) AS "pg_trgm GIN index build s";
SELECT :trgm_limit * 1000 AS limit_ms \gset
SET statement_timeout = :limit_ms;
SELECT clock_timestamp() AS t0 \gset
\set ON_ERROR_STOP off
SELECT count(*) AS trgm_pairs
  FROM crm.contacts a JOIN crm.contacts b ON a.full_name % b.full_name AND a.id < b.id;
\set ON_ERROR_STOP on
RESET statement_timeout;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1) AS "pg_trgm self-join s (stopped at the limit if it did not finish)",
       :trgm_limit AS "limit s";
DROP INDEX crm.bench_trgm;
