-- One line per object of the crmdedup extension with what defines it; used by test/e2e/upgrade.sh
-- to compare an upgraded installation with a fresh one.  OIDs never appear, names do.
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'crmdedup'),
members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
lines AS (
    -- identity of every member
    SELECT 'member ' || pg_describe_object(classid, objid, objsubid) AS line FROM members
    UNION ALL
    -- functions and procedures: full definition, ACL, comment
    SELECT 'function ' || p.oid::regprocedure::text || E'\n'
           || CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid)
                   ELSE format('aggregate %s', (SELECT row(a.aggtransfn::regproc, a.aggfinalfn::regproc,
                                        a.aggcombinefn::regproc, a.aggtranstype::regtype, a.agginitval)::text
                                      FROM pg_aggregate a WHERE a.aggfnoid = p.oid)) END
           || E'\nacl ' || coalesce(p.proacl::text, '-')
           || E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
      FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    -- relations: columns, constraints, indexes, policies, triggers, options, ACL
    SELECT 'relation ' || c.oid::regclass::text || ' kind ' || c.relkind::text
           || ' rls ' || c.relrowsecurity || '/' || c.relforcerowsecurity
           || ' acl ' || coalesce(c.relacl::text, '-')
           || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
           || coalesce(E'\nview ' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, '')
           || coalesce((SELECT string_agg(format(E'\ncolumn %s %s notnull=%s default=%s identity=%s generated=%s acl=%s',
                                                 a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                                 pg_get_expr(ad.adbin, ad.adrelid), a.attidentity::text, a.attgenerated::text,
                                                 coalesce(a.attacl::text, '-')), '' ORDER BY a.attnum)
                          FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
           || coalesce((SELECT string_agg(E'\nconstraint ' || co.conname || ' ' || pg_get_constraintdef(co.oid), '' ORDER BY co.conname)
                          FROM pg_constraint co WHERE co.conrelid = c.oid), '')
           || coalesce((SELECT string_agg(E'\nindex ' || pg_get_indexdef(i.indexrelid), '' ORDER BY pg_get_indexdef(i.indexrelid))
                          FROM pg_index i WHERE i.indrelid = c.oid), '')
           || coalesce((SELECT string_agg(format(E'\npolicy %s %s %s %s %s', po.polname, po.polcmd::text, po.polroles::regrole[],
                                                 pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid)), '' ORDER BY po.polname)
                          FROM pg_policy po WHERE po.polrelid = c.oid), '')
           || coalesce((SELECT string_agg(E'\ntrigger ' || pg_get_triggerdef(t.oid), '' ORDER BY t.tgname)
                          FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '')
      FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    -- operator classes and families: every operator and support function with its strategy
    SELECT 'opfamily ' || pg_describe_object('pg_opfamily'::regclass, f.oid, 0)
           || coalesce((SELECT string_agg(format(E'\nop %s %s %s', ao.amopstrategy, ao.amopopr::regoperator, ao.amoppurpose::text), '' ORDER BY ao.amopstrategy, ao.amopopr::regoperator::text)
                          FROM pg_amop ao WHERE ao.amopfamily = f.oid), '')
           || coalesce((SELECT string_agg(format(E'\nproc %s %s %s %s', ap.amprocnum, ap.amproclefttype::regtype, ap.amprocrighttype::regtype, ap.amproc::regprocedure), '' ORDER BY ap.amprocnum, ap.amproclefttype::regtype::text)
                          FROM pg_amproc ap WHERE ap.amprocfamily = f.oid), '')
      FROM members m JOIN pg_opfamily f ON m.classid = 'pg_opfamily'::regclass AND f.oid = m.objid
    UNION ALL
    SELECT 'opclass ' || pg_describe_object('pg_opclass'::regclass, oc.oid, 0) || ' default ' || oc.opcdefault
           || ' storage ' || oc.opckeytype::regtype
      FROM members m JOIN pg_opclass oc ON m.classid = 'pg_opclass'::regclass AND oc.oid = m.objid
    UNION ALL
    SELECT format('operator %s restrict %s join %s commutator %s negator %s merges %s hashes %s',
                  o.oid::regoperator, o.oprrest, o.oprjoin, o.oprcom::regoperator, o.oprnegate::regoperator,
                  o.oprcanmerge, o.oprcanhash)
      FROM members m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
    UNION ALL
    SELECT format('type %s len %s byval %s align %s storage %s in %s out %s recv %s send %s category %s preferred %s',
                  t.oid::regtype, t.typlen, t.typbyval, t.typalign::text, t.typstorage::text, t.typinput, t.typoutput,
                  t.typreceive, t.typsend, t.typcategory::text, t.typispreferred)
      FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT format('cast %s -> %s via %s context %s method %s', ca.castsource::regtype, ca.casttarget::regtype,
                  ca.castfunc::regprocedure, ca.castcontext::text, ca.castmethod::text)
      FROM members m JOIN pg_cast ca ON m.classid = 'pg_cast'::regclass AND ca.oid = m.objid
    UNION ALL
    -- tables whose rows pg_dump keeps, with their filters
    SELECT 'config ' || cfg::regclass::text || ' ' || coalesce(cond, '')
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(cfg, cond)
     WHERE e.extname = 'crmdedup'
    UNION ALL
    SELECT 'schema acl ' || coalesce(n.nspacl::text, '-') FROM pg_namespace n WHERE n.nspname = 'crmdedup'
)
SELECT line FROM lines ORDER BY line;
