-- crmdedup install script, assembled from sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION crmdedup" to load this file. \quit

-- Everyone may call the functions, as with any extension installed into a shared schema;
-- what needs more (recording versions, later profiles and merges) is granted separately.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
