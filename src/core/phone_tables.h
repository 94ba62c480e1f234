/*
 * phone_tables.h
 *		Shapes of the tables that tools/gen_phone_data.py compiles from data/phone_*.tsv
 *		into phone_data.c.  Private to phone.c and its tests.
 */
#ifndef CD_PHONE_TABLES_H
#define CD_PHONE_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#define CD_PHONE_MAX_TRUNKS 12
#define CD_PHONE_MAX_INTL 12

/* a short digit string: trunk or international prefix */
typedef struct CdPhonePrefix
{
	char		s[7];
	uint8_t		len;
} CdPhonePrefix;

/* national number lengths for numbers starting with prefix; min = max = 0: no such numbers */
typedef struct CdPhoneRange
{
	char		prefix[7];
	uint8_t		len;
	uint8_t		min_len;
	uint8_t		max_len;
} CdPhoneRange;

/* numbers of a shared calling code starting with prefix belong to region */
typedef struct CdPhoneRegionPrefix
{
	char		prefix[7];
	uint8_t		len;
	int16_t		region;
} CdPhoneRegionPrefix;

/* one country calling code */
typedef struct CdPhoneCountry
{
	char		cc_str[4];
	uint8_t		cc_len;
	uint16_t	cc;
	uint8_t		min_len;		/* national significant number, union of its regions */
	uint8_t		max_len;
	bool		nanp;			/* +1: area code and exchange start with 2-9 */
	bool		trunk_zero;		/* 0 is a trunk prefix, so no national number starts with 0 */
	int16_t		main_region;	/* index in cd_phone_regions, -1 when non-geographic */
	uint16_t	range_first;	/* slice of cd_phone_ranges, longest prefix first */
	uint16_t	range_count;
	uint16_t	prefix_first;	/* slice of cd_phone_region_prefixes, longest first */
	uint16_t	prefix_count;
} CdPhoneCountry;

/* one ISO region */
typedef struct CdPhoneRegion
{
	char		iso[3];
	int16_t		country;		/* index in cd_phone_countries */
	uint8_t		min_len;
	uint8_t		max_len;
	uint8_t		ntrunk;
	uint8_t		nintl;
	CdPhonePrefix trunk[CD_PHONE_MAX_TRUNKS];	/* longest first */
	CdPhonePrefix intl[CD_PHONE_MAX_INTL];	/* longest first */
} CdPhoneRegion;

extern const char cd_phone_data_version_str[];
extern const CdPhoneRange cd_phone_ranges[];
extern const CdPhoneRegionPrefix cd_phone_region_prefixes[];
extern const CdPhoneCountry cd_phone_countries[];
extern const int cd_phone_country_count;
extern const CdPhoneRegion cd_phone_regions[];
extern const int cd_phone_region_count;
/* (A..Z, A..Z) -> region index or -1 */
extern const int16_t cd_phone_region_by_code[26 * 26];
/* first three digits of an international number -> country index or -1 */
extern const int16_t cd_phone_cc_by_prefix3[1000];
/* NANP area code -> region index, -1 for the United States and non-geographic codes */
extern const int16_t cd_phone_nanp_region[1000];

#endif							/* CD_PHONE_TABLES_H */
