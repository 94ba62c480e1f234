-- Library versions are recorded at CREATE EXTENSION; a mismatch warns once per session.
SELECT component, recorded IS NOT NULL AS recorded, running IS NOT NULL AS running, matches
  FROM crmdedup.versions() ORDER BY component;

SELECT count(*) AS mismatches FROM crmdedup.versions() WHERE NOT matches;

-- simulate a server whose ICU and utf8proc changed since the keys were built
UPDATE crmdedup.library_versions SET version = '0.0' WHERE component IN ('icu', 'utf8proc');
\c
\set VERBOSITY terse
SELECT crmdedup.name_key('Пётр');
-- once per session only
SELECT crmdedup.name_key('Пётр');
\set VERBOSITY default

-- the documented path: rebuild what uses the keys, then record the running versions
SELECT crmdedup.refresh_versions();
\c
SELECT crmdedup.name_key('Пётр');
SELECT count(*) AS mismatches FROM crmdedup.versions() WHERE NOT matches;

-- only the owner may record versions
CREATE ROLE crmdedup_versions_user;
SET ROLE crmdedup_versions_user;
SELECT crmdedup.refresh_versions();
RESET ROLE;
DROP ROLE crmdedup_versions_user;
