/*
 * email.h
 *		Email address normalization and the email dedup key of the pure core.
 *
 * Two functions, both writing into a caller-supplied buffer and never allocating:
 *
 *	cd_email_normalize()  the address in canonical form, true for every provider:
 *		- ASCII and Unicode spaces, zero-width characters, BOM and bidi marks are trimmed at
 *		  both ends, then trailing ",", ";" and "." (copy-paste debris);
 *		- "mailto:" is stripped (any case), with its "?query"; %XX escapes after it are decoded;
 *		- display names are stripped: `Name <addr>`, `"Last, First" <addr>`, `<addr>`, and a
 *		  trailing RFC 5322 comment `addr (Name)`.  An unquoted display name must not contain
 *		  "," ";" ":" "<" ">" or "@" (that is a list, not one address) unless it is the address
 *		  itself (`ivan@x.ru <ivan@x.ru>`);
 *		- fullwidth forms (U+FF01..U+FF5E, typed by CJK input methods) are read as ASCII;
 *		- exactly one "@"; a list of addresses is CD_EMAIL_SYNTAX;
 *		- local part: dot-atom only.  ASCII a-z 0-9 and !#$%&'*+/=?^_`{|}~- plus ".", not
 *		  leading, trailing or doubled; non-ASCII (RFC 6531) letters, marks and digits, a mark
 *		  only after a letter or digit.  Quoted local parts ("john doe"@x) are rejected as
 *		  CD_EMAIL_SYNTAX: real mailboxes practically never use them, and their escapes would
 *		  make keys ambiguous.  Emoji, symbols, controls and format characters are rejected.
 *		  ASCII is lower-cased; a non-ASCII local part is case folded (Unicode full case
 *		  folding, so "ß" becomes "ss") and put in NFC.  Local parts are case-sensitive in
 *		  theory only: no large provider treats them so;
 *		- domain: IDNA2008 via ICU UTS #46 (nontransitional, STD3 rules, bidi and context
 *		  checks) to lower-case ASCII/punycode; code points outside letters, marks and
 *		  decimal digits (emoji, symbols) are rejected, as IDNA2008 does.  At least one dot,
 *		  labels of 1-63 octets of letters, digits and "-" (not at either end, not "--" in
 *		  positions 3-4 unless "xn--"), a top-level label that is not all digits; one
 *		  trailing dot (root) is dropped.  Domain literals ("[1.2.3.4]", "[IPv6:...]") are
 *		  rejected as CD_EMAIL_BAD_DOMAIN: a CRM contact address never needs them.
 *		  Pure ASCII domains are checked by hand; ICU is used only for non-ASCII or "xn--"
 *		  (should ICU fail to open its UTS #46 data, those domains are CD_EMAIL_BAD_DOMAIN).
 *
 *	cd_email_key()  the dedup key: the normalized address with the provider rules from
 *		data/email_providers.tsv applied (Gmail dots and +tags, Yandex domains and "."/"-",
 *		Proton, iCloud and Outlook.com +tags, ...).  Only rules that are really true are
 *		there: a false merge is worse than a miss.  cd_email_data_version() names the data
 *		version, which changes whenever a key can change.
 *
 * Statuses are decided in this order: CD_EMAIL_EMPTY, CD_EMAIL_SYNTAX (shape and characters
 * of the whole address), CD_EMAIL_TOO_LONG for the local part, then the domain
 * (CD_EMAIL_BAD_DOMAIN, or CD_EMAIL_TOO_LONG when it is longer than 253 octets), then the
 * whole address (CD_EMAIL_TOO_LONG above 254 octets).  Invalid UTF-8 anywhere in the input,
 * or a NUL byte, is CD_EMAIL_SYNTAX.  An address part longer than 1024 bytes before
 * normalization, or a local part longer than 256 bytes, is CD_EMAIL_TOO_LONG without
 * further look (no real address comes near either).  Work is O(n) in the input length.
 *
 * On any status other than CD_EMAIL_OK, out is set to "" and *outlen to 0.  The output is
 * NUL-terminated, at most 254 octets plus the NUL, valid UTF-8.  Both functions are
 * idempotent: normalizing (or keying) their own output gives it back unchanged.
 *
 * Thread safety: one ICU UTS #46 object is opened on first need and cached for the process
 * (never freed); PostgreSQL backends are single-threaded, and after that first call the
 * functions are safe to call from several threads.
 */
#ifndef CD_EMAIL_H
#define CD_EMAIL_H

#include <stddef.h>

#define CD_EMAIL_MAX 320		/* output buffer size needed, NUL included */

typedef enum CdEmailStatus
{
	CD_EMAIL_OK = 0,
	CD_EMAIL_EMPTY,				/* nothing but spaces */
	CD_EMAIL_SYNTAX,			/* not an address: missing or several @, bad characters,
								 * empty parts, dots misplaced */
	CD_EMAIL_TOO_LONG,			/* local part > 64 octets or address > 254 */
	CD_EMAIL_BAD_DOMAIN			/* domain fails IDNA / label rules / no dot / numeric TLD */
} CdEmailStatus;

/*
 * address in canonical form: trimmed, mailto:/display name stripped, domain lower-cased and
 * IDNA ASCII (punycode), local part lower-cased (Unicode case fold for non-ASCII local
 * parts, RFC 6531) — no provider rules.
 */
extern CdEmailStatus cd_email_normalize(const char *raw, size_t len, char out[CD_EMAIL_MAX],
										size_t *outlen);

/* the dedup key: cd_email_normalize + provider rules that are really true */
extern CdEmailStatus cd_email_key(const char *raw, size_t len, char out[CD_EMAIL_MAX],
								  size_t *outlen);

/* a short English phrase for a status, for error details; never NULL */
extern const char *cd_email_status_reason(CdEmailStatus st);

/* version of data/email_providers.tsv compiled in: a changed version may change keys */
extern const char *cd_email_data_version(void);

/*
 * Internal: the provider table, generated into email_data.c by tools/gen_email_data.py.
 * Entries are sorted by domain; canonical is the domain written into the key.
 */
#define CD_EMAIL_RULE_PLUS						0x01	/* drop "+tag" */
#define CD_EMAIL_RULE_DROP_DOTS					0x02	/* remove "." */
#define CD_EMAIL_RULE_DOT_HYPHEN				0x04	/* "." is written "-" */
#define CD_EMAIL_RULE_DROP_DOT_HYPHEN_UNDERSCORE 0x08	/* remove ".", "-", "_" */

typedef struct CdEmailProvider
{
	const char *domain;
	const char *canonical;
	unsigned int rules;
} CdEmailProvider;

extern const CdEmailProvider cd_email_providers[];
extern const size_t cd_email_nproviders;
extern const char cd_email_providers_version[];

#endif							/* CD_EMAIL_H */
