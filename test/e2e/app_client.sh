#!/usr/bin/env bash
# End-to-end: a libpq program inserts through block, link and flag guards and sees what a
# CRM back end would: SQLSTATE 23505 with the guard as constraint name, the linked id, the
# review queue.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build/e2e
cc -Wall -Wextra -Werror -o build/e2e/app_client test/e2e/app_client.c \
	-I"$(pg_config --includedir)" -L"$(pg_config --libdir)" -lpq
db=e2e_app
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
psql -X -q -d "$db" -c 'CREATE EXTENSION crmdedup'
PGDATABASE=$db build/e2e/app_client | tee /tmp/app_client.out
grep -q '^first request: stored id=1 duplicate_of=null$' /tmp/app_client.out
grep -q '^same email: error sqlstate=23505 constraint=web_same_email table=web_contacts detail=The row matches the existing row id = 1 ' /tmp/app_client.out
grep -q '^repeat request: stored id=[0-9]* duplicate_of=1$' /tmp/app_client.out
grep -q '^flagged: stored id=[0-9]* duplicate_of=null$' /tmp/app_client.out
grep -q '^review queue: [1-9][0-9]* open$' /tmp/app_client.out
dropdb "$db"
echo ok
