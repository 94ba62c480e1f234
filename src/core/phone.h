/*
 * phone.h
 *		Phone number normalizer of the pure core: any way people write a phone number,
 *		plus a default region, to E.164 ("+79123456789") and an extension.
 *
 * The result depends only on the arguments and on the compiled data tables
 * (data/phone_*.tsv), whose version cd_phone_data_version() reports: a key built from
 * cd_phone_parse() changes only when that version does.  A change to the parsing rules
 * in phone.c that changes any result must bump the '# version:' line of every
 * data/phone_*.tsv file too.  No memory is allocated.
 */
#ifndef CD_PHONE_H
#define CD_PHONE_H

#include <stdbool.h>
#include <stddef.h>

#define CD_PHONE_MAX 16			/* '+' and at most 15 digits */
#define CD_PHONE_EXT_MAX 15		/* digits of an extension */

typedef enum CdPhoneStatus
{
	CD_PHONE_OK = 0,
	CD_PHONE_UNKNOWN_REGION,	/* the region argument is not an ISO 3166-1 alpha-2 code we
								 * know, nor "ZZ" */
	CD_PHONE_EMPTY,				/* no digits at all */
	CD_PHONE_NOT_A_NUMBER,		/* letters or symbols that do not belong in a phone number */
	CD_PHONE_NO_COUNTRY,		/* a national number, but region "ZZ" gives no country */
	CD_PHONE_BAD_COUNTRY_CODE,	/* no such country calling code */
	CD_PHONE_TOO_SHORT,			/* national number shorter than the country allows */
	CD_PHONE_TOO_LONG			/* longer than the country allows, or than 15 digits */
} CdPhoneStatus;

typedef struct CdPhoneResult
{
	char		e164[CD_PHONE_MAX + 1];	/* "+79123456789", set only when OK */
	char		ext[CD_PHONE_EXT_MAX + 1];	/* extension digits or "" (also set when not
											 * OK if found) */
	int			country_code;	/* 7, 44, 1, 86 ... or 0 when unknown */
	char		region[3];		/* ISO region of the number when it can be told (RU, KZ,
								 * US, CA...), else "" */
} CdPhoneResult;

/* case-insensitive; "ZZ" is known */
extern bool cd_phone_region_known(const char *region, size_t len);

/*
 * Normalize raw[0..len) (UTF-8, any bytes accepted) written for the default region
 * region[0..region_len) ("ZZ": none).  Fills *res in every case.
 */
extern CdPhoneStatus cd_phone_parse(const char *raw, size_t len,
									const char *region, size_t region_len,
									CdPhoneResult *res);

/*
 * cd_phone_parse without the active value memo: for a number parsed once and not again
 * soon (a guard's candidate), where looking it up and keeping it costs more than the
 * parse.  The same status and result.
 */
extern CdPhoneStatus cd_phone_parse_once(const char *raw, size_t len,
										 const char *region, size_t region_len,
										 CdPhoneResult *res);

/* short lower-case English sentence fragment */
extern const char *cd_phone_status_reason(CdPhoneStatus st);

/* version of the compiled data tables, e.g. "2025.1" */
extern const char *cd_phone_data_version(void);

#endif							/* CD_PHONE_H */
