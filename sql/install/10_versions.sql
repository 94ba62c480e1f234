-- Library and data versions that decide key output (see DESIGN.md, invariant 1).

CREATE FUNCTION @extschema@.runtime_versions(OUT component text, OUT version text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'runtime_versions'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.runtime_versions() IS
'versions of crmdedup key rules, utf8proc, ICU and data tables running in this backend';

-- Not a pg_dump config table on purpose: a restore rebuilds every index with the
-- libraries of the new server, so the new server's versions are the right record.
CREATE TABLE @extschema@.library_versions (
    component text PRIMARY KEY,
    version text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.library_versions IS
'versions recorded at CREATE EXTENSION or crmdedup.refresh_versions(); a mismatch with the running code raises a warning';

INSERT INTO @extschema@.library_versions (component, version)
SELECT component, version FROM @extschema@.runtime_versions();

GRANT SELECT ON @extschema@.library_versions TO PUBLIC;

CREATE FUNCTION @extschema@.versions(OUT component text, OUT recorded text, OUT running text, OUT matches boolean)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE(l.component, r.component), l.version, r.version,
           l.version IS NOT DISTINCT FROM r.version
      FROM @extschema@.library_versions AS l
      FULL JOIN @extschema@.runtime_versions() AS r ON l.component OPERATOR(pg_catalog.=) r.component
     ORDER BY 1;
END;

COMMENT ON FUNCTION @extschema@.versions() IS
'recorded and running versions of everything that decides crmdedup keys';

-- Run after rebuilding the indexes and stored values that use crmdedup keys.
CREATE FUNCTION @extschema@.refresh_versions()
RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    DELETE FROM @extschema@.library_versions;
    INSERT INTO @extschema@.library_versions (component, version)
    SELECT component, version FROM @extschema@.runtime_versions();
END;

REVOKE ALL ON FUNCTION @extschema@.refresh_versions() FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.refresh_versions() IS
'record the running library versions as the ones keys are built with (after a REINDEX)';
