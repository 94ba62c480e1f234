-- crmdedup install script, assembled from sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION crmdedup" to load this file. \quit

-- Install safety (the CVE-2020-14350 pattern).  PostgreSQL installs into a schema named
-- crmdedup that already exists, whoever owns it.  A schema owned by another role, or where
-- another role may create objects or already has, would let that role replace, rename or
-- shadow this extension's functions and have them run with the rights of whoever calls
-- them (a superuser, say).  So the schema must belong to the installing role, nobody else
-- may create in it, and nothing in it may belong to anyone else.
DO $crmdedup_install_check$
DECLARE
    nsp pg_catalog.oid := pg_catalog.to_regnamespace('@extschema@');
    me pg_catalog.oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER);
    bad text;
BEGIN
    SELECT pg_catalog.format('schema %s is owned by %s', n.nspname, n.nspowner::pg_catalog.regrole) INTO bad
      FROM pg_catalog.pg_namespace n
     WHERE n.oid OPERATOR(pg_catalog.=) nsp AND n.nspowner OPERATOR(pg_catalog.<>) me;
    IF bad IS NULL THEN
        SELECT pg_catalog.format('role %s may create objects in it',
                                 CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE a.grantee::pg_catalog.regrole::text END)
          INTO bad
          FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
         WHERE n.oid OPERATOR(pg_catalog.=) nsp AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
           AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
         LIMIT 1;
    END IF;
    IF bad IS NULL THEN
        SELECT pg_catalog.format('%s belongs to %s', o.what, o.owner::pg_catalog.regrole) INTO bad
          FROM (SELECT c.oid::pg_catalog.regclass::text AS what, c.relowner AS owner
                  FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
                UNION ALL
                SELECT p.oid::pg_catalog.regprocedure::text, p.proowner
                  FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
                UNION ALL
                SELECT o.oid::pg_catalog.regoperator::text, o.oprowner
                  FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp
                UNION ALL
                SELECT t.oid::pg_catalog.regtype::text, t.typowner
                  FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp) o
         WHERE o.owner OPERATOR(pg_catalog.<>) me
         LIMIT 1;
    END IF;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'crmdedup cannot be installed safely into the existing schema @extschema@: %', bad
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Another role could replace or shadow the extension''s objects and run code with the rights of their callers.',
                  HINT = 'Drop the schema, or make the installing role its owner and the owner of everything in it, with no CREATE for others.';
    END IF;
END
$crmdedup_install_check$;

-- Everyone may call the functions, as with any extension installed into a shared schema;
-- what needs more (recording versions, later profiles and merges) is granted separately.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
