-- crmdedup upgrade 0.1.0 -> 0.2.0.
-- Every change made to sql/install/*.sql after 0.1.0 is repeated here, so that
-- ALTER EXTENSION crmdedup UPDATE gives the same objects as a fresh install of 0.2.0
-- (test/e2e/upgrade.sh compares the two).
\echo Use "ALTER EXTENSION crmdedup UPDATE TO '0.2.0'" to load this file. \quit
