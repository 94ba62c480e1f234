-- bench/quality_score.sql: score candidate value pairs with crmdedup.match_rows.
-- psql variables :part and :parts: this session scores the pairs with (va + vb) % parts = part,
-- so bench/quality can run one session per core.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET jit = off;
UPDATE q.vpair p
   SET (score, weight, expl) = (SELECT m.score, m.weight, m.explanation
                                  FROM crmdedup.match_rows(p.ds, va.row, vb.row) m)
  FROM q.val va, q.val vb
 WHERE va.ds = p.ds AND va.vid = p.va AND vb.ds = p.ds AND vb.vid = p.vb
   AND (p.va + p.vb) % :parts = :part
   AND p.score IS NULL;
