/*
 * app_client.c
 *		What a CRM web form's back end sees through an ordinary driver (libpq) when it
 *		inserts into a guarded table: for a block guard the SQLSTATE, constraint name and
 *		detail of the error; for a link guard the id the new row was linked to; for a flag
 *		guard the queued review item.  Run by test/e2e/app_client.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static PGconn *conn;

static void
run(const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "setup failed: %s\n%s", sql, PQerrorMessage(conn));
		exit(1);
	}
	PQclear(res);
}

/* insert a web-form submission with parameters, as an application does */
static void
submit(const char *label, const char *name, const char *phone, const char *email)
{
	const char *params[3] = {name, phone, email};
	PGresult   *res = PQexecParams(conn,
								   "INSERT INTO web_contacts (full_name, phone, email) VALUES ($1, $2, $3) "
								   "RETURNING id, duplicate_of",
								   3, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		printf("%s: stored id=%s duplicate_of=%s\n", label, PQgetvalue(res, 0, 0),
			   PQgetisnull(res, 0, 1) ? "null" : PQgetvalue(res, 0, 1));
	else
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
		const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

		printf("%s: error sqlstate=%s constraint=%s table=%s detail=%s\n", label,
			   state ? state : "-", constraint ? constraint : "-", table ? table : "-",
			   detail ? detail : "-");
	}
	PQclear(res);
}

int
main(void)
{
	PGresult   *res;

	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		return 1;
	}
	run("SET client_min_messages = warning");
	run("DROP TABLE IF EXISTS web_contacts");
	run("CREATE TABLE web_contacts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
		"full_name text, phone text, email text, duplicate_of bigint)");
	run("SELECT crmdedup.create_profile('web_contacts', 'web_contacts', "
		"'{\"region\": \"RU\", \"fields\": {\"full_name\": \"person_name\", \"phone\": \"phone\", \"email\": \"email\"}}')");
	/* two guards side by side: the same email is refused, the same phone is linked */
	run("SELECT crmdedup.guard('web_contacts', 'block', name => 'web_same_email', fields => ARRAY['email'], min_score => 0)");
	run("SELECT crmdedup.guard('web_contacts', 'link', name => 'web_repeat_request', fields => ARRAY['phone'], "
		"min_score => 0, link_column => 'duplicate_of')");

	submit("first request", "Петров Иван", "8 (912) 345-67-89", "ivan.petrov@gmail.com");
	submit("same email", "Ivan Petrov", "+7 999 000 11 22", "IvanPetrov+shop@GoogleMail.com");
	submit("repeat request", "Иван", "+7 912 345 67 89", NULL);

	run("SELECT crmdedup.unguard('web_same_email')");
	run("SELECT crmdedup.unguard('web_repeat_request')");
	run("SELECT crmdedup.guard('web_contacts', 'flag', name => 'web_review')");
	submit("flagged", "Ivan Petrov", "+7 912 345 67 89", "ivanpetrov@gmail.com");
	res = PQexec(conn, "SELECT count(*) FROM crmdedup.review WHERE guard = 'web_review' AND status = 'open'");
	printf("review queue: %s open\n", PQgetvalue(res, 0, 0));
	PQclear(res);

	run("SELECT crmdedup.unguard('web_review')");
	run("DELETE FROM crmdedup.review WHERE guard = 'web_review'");
	run("SELECT crmdedup.drop_profile('web_contacts')");
	run("DROP TABLE web_contacts");
	PQfinish(conn);
	return 0;
}
