-- crmdedup install script, assembled from sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION crmdedup" to load this file. \quit
