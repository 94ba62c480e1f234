/*
 * test_phone.c
 *		Unit tests of the phone number normalizer (src/core/phone.c) and of the tables
 *		compiled from data/phone_*.tsv, plus a micro-benchmark printed in the output.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phone.h"
#include "phone_tables.h"

#define OK CD_PHONE_OK
#define UNKNOWN_REGION CD_PHONE_UNKNOWN_REGION
#define EMPTY CD_PHONE_EMPTY
#define NAN_ CD_PHONE_NOT_A_NUMBER
#define NO_COUNTRY CD_PHONE_NO_COUNTRY
#define BAD_CC CD_PHONE_BAD_COUNTRY_CODE
#define SHORT CD_PHONE_TOO_SHORT
#define LONG CD_PHONE_TOO_LONG

typedef struct PhoneCase
{
	const char *region;
	const char *raw;
	CdPhoneStatus st;
	const char *e164;			/* expected when OK */
	const char *ext;			/* expected extension, NULL: "" */
	int			cc;				/* expected country code, -1: do not check */
	const char *out_region;		/* expected region of the number, NULL: do not check */
} PhoneCase;

static const PhoneCase cases[] = {
	/* Russia */
	{"RU", "8 (912) 345-67-89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "+7 912 345 67 89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "89123456789", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "912-345-67-89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "79123456789", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "8-800-555-35-35", OK, "+78005553535", NULL, 7, "RU"},
	{"RU", "810 44 20 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"RU", "8 10 7 495 123 45 67", OK, "+74951234567", NULL, 7, "RU"},
	{"RU", "00 44 20 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"RU", "(812) 123-45-67", OK, "+78121234567", NULL, 7, "RU"},
	{"RU", "8 (8152) 12-34-56", OK, "+78152123456", NULL, 7, "RU"},
	{"RU", "+8 912 345-67-89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "+7 (8) 912 345-67-89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "+7 8 800 555 35 35", OK, "+78005553535", NULL, 7, "RU"},
	{"RU", "+7 701 123 45 67", OK, "+77011234567", NULL, 7, "KZ"},
	{"RU", "8 (495) 123-45-67 доб. 123", OK, "+74951234567", "123", 7, "RU"},
	{"RU", "+7 (495) 123-45-67 (доб. 123)", OK, "+74951234567", "123", 7, "RU"},
	{"RU", "+7 495 123 45 67 вн. 45", OK, "+74951234567", "45", 7, "RU"},
	{"RU", "8 495 123 45 67 ДОБ 7", OK, "+74951234567", "7", 7, "RU"},
	{"RU", "8 495 123 45 67 добавочный 7", OK, "+74951234567", "7", 7, "RU"},
	{"RU", "tel:+7-912-345-67-89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "8\u200B912\u200B345\u200B67\u200B89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "8\u00A0912\u00A0345-67-89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "8 912 345\u201367\u201489", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "\uFEFF+7 912 345 67 89", OK, "+79123456789", NULL, 7, "RU"},
	{"RU", "8 912 345 67 8", SHORT, NULL, NULL, 7, "RU"},
	{"RU", "+7 912 345 67 8", SHORT, NULL, NULL, 7, "RU"},
	{"RU", "8 912 345 67 89 0", LONG, NULL, NULL, 7, "RU"},
	{"RU", "+7 912 345 67 89 12", LONG, NULL, NULL, 7, "RU"},
	{"RU", "тел. 8 912 345 67 89", NAN_, NULL, NULL, 0, ""},
	{"RU", "+7 912 345 67 89; +7 495 123 45 67", NAN_, NULL, NULL, 0, ""},
	{"RU", "8 912 345 67 89, 8 495 123 45 67", NAN_, NULL, NULL, 0, ""},
	{"RU", "+7 912 345 67 89 \xF0\x9F\x98\x80", NAN_, NULL, NULL, 0, ""},
	{"RU", "8\u0301 912 345 67 89", NAN_, NULL, NULL, 0, ""},

	/* Kazakhstan */
	{"KZ", "8 701 123 45 67", OK, "+77011234567", NULL, 7, "KZ"},
	{"KZ", "8 (7172) 12-34-56", OK, "+77172123456", NULL, 7, "KZ"},
	{"KZ", "+7 727 123 45 67", OK, "+77271234567", NULL, 7, "KZ"},
	{"KZ", "810 49 30 123456", OK, "+4930123456", NULL, 49, "DE"},
	{"KZ", "8 912 345 67 89", OK, "+79123456789", NULL, 7, "RU"},
	{"kz", "87011234567", OK, "+77011234567", NULL, 7, "KZ"},

	/* China */
	{"CN", "010 1234 5678", OK, "+861012345678", NULL, 86, "CN"},
	{"CN", "138 0013 8000", OK, "+8613800138000", NULL, 86, "CN"},
	{"CN", "+86 138 0013 8000", OK, "+8613800138000", NULL, 86, "CN"},
	{"CN", "0086 138 0013 8000", OK, "+8613800138000", NULL, 86, "CN"},
	{"CN", "0755 1234 5678", OK, "+8675512345678", NULL, 86, "CN"},
	{"CN", "+86 10 1234 5678", OK, "+861012345678", NULL, 86, "CN"},
	{"CN", "+86 0755 1234 5678", OK, "+8675512345678", NULL, 86, "CN"},
	{"CN", "138-0013-8000 转 123", OK, "+8613800138000", "123", 86, "CN"},
	{"CN", "010 1234 5678 分机 88", OK, "+861012345678", "88", 86, "CN"},
	{"CN", "010 1234 5678分機88", OK, "+861012345678", "88", 86, "CN"},
	{"CN", "１３８ ００１３ ８０００", OK, "+8613800138000", NULL, 86, "CN"},
	{"CN", "（010）1234－5678", OK, "+861012345678", NULL, 86, "CN"},
	{"CN", "138 0013 800", SHORT, NULL, NULL, 86, "CN"},
	{"CN", "6234 5678", SHORT, NULL, NULL, 86, "CN"},
	{"CN", "+86 138 0013 8000 0", LONG, NULL, NULL, 86, "CN"},

	/* United States */
	{"US", "(212) 555-0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "1-212-555-0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "1 (212) 555-0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "+1 212 555 0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "+1 1 212 555 0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "212.555.0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "212/555-0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "011 44 20 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"US", "00 49 30 123456", OK, "+4930123456", NULL, 49, "DE"},
	{"US", "212-555-0123 x12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123 x 12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123 X12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123 ext. 12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123 ext 12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123 Ext: 12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123 extension 12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123,,12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123;12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123#12", OK, "+12125550123", "12", 1, "US"},
	{"US", "212-555-0123 #12", OK, "+12125550123", "12", 1, "US"},
	{"US", "tel:+1-212-555-0123;ext=12", OK, "+12125550123", "12", 1, "US"},
	{"US", "TEL:+1-212-555-0123;phone-context=example.com", OK, "+12125550123", NULL, 1, "US"},
	{"US", "callto:+12125550123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "'+1 212 555 0123", OK, "+12125550123", NULL, 1, "US"},
	{"US", "  +1 212 555 0123  \n", OK, "+12125550123", NULL, 1, "US"},
	{"US", "(212) 555-0123;", OK, "+12125550123", NULL, 1, "US"},
	{"US", "1-800-555-0199", OK, "+18005550199", NULL, 1, "US"},
	{"US", "(876) 555-0123", OK, "+18765550123", NULL, 1, "JM"},
	{"US", "+1 787 555 0123", OK, "+17875550123", NULL, 1, "PR"},
	{"US", "2125550123 ext 123456789012345", OK, "+12125550123", "123456789012345", 1, "US"},
	{"US", "+1 (123) 555-0123", NAN_, NULL, NULL, 1, "US"},
	{"US", "(212) 155-0123", NAN_, NULL, NULL, 1, "US"},
	{"US", "555-0123", SHORT, NULL, NULL, 1, "US"},
	{"US", "555 0123 ext 7", SHORT, NULL, "7", 1, "US"},
	{"US", "212 555 01234", LONG, NULL, NULL, 1, "US"},
	{"US", "2125550123 x", NAN_, NULL, NULL, 0, ""},
	{"US", "1-800-FLOWERS", NAN_, NULL, NULL, 0, ""},
	{"US", "212 555 0123 ext 12 34", NAN_, NULL, NULL, 0, ""},
	{"US", "2125550123 ext 1234567890123456", NAN_, NULL, NULL, 0, ""},
	{"US", "tel:+1-212-555-0123;ext=", NAN_, NULL, NULL, 0, ""},
	{"US", "+1 212 555 0123+", NAN_, NULL, NULL, 0, ""},
	{"US", "++1 212 555 0123", NAN_, NULL, NULL, 0, ""},
	{"US", "*100#", NAN_, NULL, NULL, 0, ""},
	{"US", "x12", NAN_, NULL, NULL, 0, ""},
	{"US", "ext 12", NAN_, NULL, NULL, 0, ""},
	{"US", "2125550123 xyz", NAN_, NULL, NULL, 0, ""},
	{"US", "+1 212 555 0123 ext 5 more", NAN_, NULL, NULL, 0, ""},
	{"US", "hello", NAN_, NULL, NULL, 0, ""},
	{"US", "john@example.com", NAN_, NULL, NULL, 0, ""},
	{"US", "12:30", NAN_, NULL, NULL, 0, ""},
	{"US", "01/15/2024", NAN_, NULL, NULL, 0, ""},

	/* Canada */
	{"CA", "(416) 555-0123", OK, "+14165550123", NULL, 1, "CA"},
	{"CA", "1 604 555 0123", OK, "+16045550123", NULL, 1, "CA"},
	{"CA", "+1 212 555 0123", OK, "+12125550123", NULL, 1, "US"},
	{"CA", "011 33 1 23 45 67 89", OK, "+33123456789", NULL, 33, "FR"},
	{"CA", "514-555-0123 poste 45", OK, "+15145550123", "45", 1, "CA"},

	/* United Kingdom and Crown Dependencies */
	{"GB", "020 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"GB", "(020) 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"GB", "+44 (0)20 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"GB", "07911 123456", OK, "+447911123456", NULL, 44, "GB"},
	{"GB", "+44 7911 123456", OK, "+447911123456", NULL, 44, "GB"},
	{"GB", "00 49 30 123456", OK, "+4930123456", NULL, 49, "DE"},
	{"GB", "0800 1111", OK, "+448001111", NULL, 44, "GB"},
	{"GB", "01534 123456", OK, "+441534123456", NULL, 44, "JE"},
	{"GB", "+44 1481 123456", OK, "+441481123456", NULL, 44, "GG"},
	{"JE", "01624 123456", OK, "+441624123456", NULL, 44, "IM"},
	{"GB", "020 7946 0958 ext 204", OK, "+442079460958", "204", 44, "GB"},
	{"GB", "020 7946 095", SHORT, NULL, NULL, 44, "GB"},
	{"GB", "+44 020 7946 095", SHORT, NULL, NULL, 44, "GB"},
	{"GB", "020 7946 09581", LONG, NULL, NULL, 44, "GB"},

	/* Germany */
	{"DE", "030 123456", OK, "+4930123456", NULL, 49, "DE"},
	{"DE", "+49 30 123456", OK, "+4930123456", NULL, 49, "DE"},
	{"DE", "+49 (0)30 123456", OK, "+4930123456", NULL, 49, "DE"},
	{"DE", "0171 1234567", OK, "+491711234567", NULL, 49, "DE"},
	{"DE", "0049 89 1234567", OK, "+49891234567", NULL, 49, "DE"},
	{"DE", "030/123456-78", OK, "+493012345678", NULL, 49, "DE"},
	{"DE", "030", SHORT, NULL, NULL, 49, "DE"},
	{"DE", "2024-01-15", NAN_, NULL, NULL, 0, ""},
	{"DE", "15.01.2024", NAN_, NULL, NULL, 0, ""},
	{"DE", "192.168.1.1", NAN_, NULL, NULL, 0, ""},

	/* France */
	{"FR", "01 23 45 67 89", OK, "+33123456789", NULL, 33, "FR"},
	{"FR", "01.23.45.67.89", OK, "+33123456789", NULL, 33, "FR"},
	{"FR", "+33 (0)1 23 45 67 89", OK, "+33123456789", NULL, 33, "FR"},
	{"FR", "+33 6 12 34 56 78", OK, "+33612345678", NULL, 33, "FR"},
	{"FR", "0033 1 23 45 67 89", OK, "+33123456789", NULL, 33, "FR"},
	{"FR", "06 12 34 56 7", SHORT, NULL, NULL, 33, "FR"},
	{"FR", "06 12 34 56 78 9", LONG, NULL, NULL, 33, "FR"},

	/* Italy: the leading 0 of fixed lines belongs to the number */
	{"IT", "06 1234 5678", OK, "+390612345678", NULL, 39, "IT"},
	{"IT", "+39 06 1234 5678", OK, "+390612345678", NULL, 39, "IT"},
	{"IT", "347 123 4567", OK, "+393471234567", NULL, 39, "IT"},
	{"IT", "+39 347 123 4567", OK, "+393471234567", NULL, 39, "IT"},
	{"IT", "0039 02 1234 5678", OK, "+390212345678", NULL, 39, "IT"},
	{"ZZ", "+39 06 698 12345", OK, "+390669812345", NULL, 39, "VA"},

	/* India */
	{"IN", "09876543210", OK, "+919876543210", NULL, 91, "IN"},
	{"IN", "98765 43210", OK, "+919876543210", NULL, 91, "IN"},
	{"IN", "+91 98765 43210", OK, "+919876543210", NULL, 91, "IN"},
	{"IN", "+91 098765 43210", OK, "+919876543210", NULL, 91, "IN"},
	{"IN", "1800 123 4567", OK, "+9118001234567", NULL, 91, "IN"},
	{"IN", "٠٩٨٧٦٥٤٣٢١٠", OK, "+919876543210", NULL, 91, "IN"},
	{"IN", "०९८७६५४३२१०", OK, "+919876543210", NULL, 91, "IN"},
	{"IN", "98765 4321", SHORT, NULL, NULL, 91, "IN"},
	{"IN", "98765 432101", LONG, NULL, NULL, 91, "IN"},

	/* Brazil */
	{"BR", "(11) 91234-5678", OK, "+5511912345678", NULL, 55, "BR"},
	{"BR", "(21) 2345-6789", OK, "+552123456789", NULL, 55, "BR"},
	{"BR", "+55 11 91234 5678", OK, "+5511912345678", NULL, 55, "BR"},
	{"BR", "011 91234-5678", OK, "+5511912345678", NULL, 55, "BR"},
	{"BR", "0 21 11 91234-5678", OK, "+5511912345678", NULL, 55, "BR"},
	{"BR", "0021 44 20 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"BR", "(11) 91234-5678 ramal 12", OK, "+5511912345678", "12", 55, "BR"},
	{"BR", "91234-5678", SHORT, NULL, NULL, 55, "BR"},

	/* Japan */
	{"JP", "03-1234-5678", OK, "+81312345678", NULL, 81, "JP"},
	{"JP", "090-1234-5678", OK, "+819012345678", NULL, 81, "JP"},
	{"JP", "+81 90 1234 5678", OK, "+819012345678", NULL, 81, "JP"},
	{"JP", "010 1 212 555 0123", OK, "+12125550123", NULL, 1, "US"},
	{"JP", "0120-123-456", OK, "+81120123456", NULL, 81, "JP"},
	{"JP", "０３－１２３４－５６７８", OK, "+81312345678", NULL, 81, "JP"},
	{"JP", "03ー1234ー5678", OK, "+81312345678", NULL, 81, "JP"},
	{"JP", "03-1234-5678 内線 12", OK, "+81312345678", "12", 81, "JP"},
	{"JP", "03-1234-567", SHORT, NULL, NULL, 81, "JP"},
	{"JP", "090-1234-567", SHORT, NULL, NULL, 81, "JP"},

	/* other national rules */
	{"KR", "010-1234-5678", OK, "+821012345678", NULL, 82, "KR"},
	{"KR", "02-123-4567", OK, "+8221234567", NULL, 82, "KR"},
	{"ES", "912 34 56 78", OK, "+34912345678", NULL, 34, "ES"},
	{"NL", "020 123 4567", OK, "+31201234567", NULL, 31, "NL"},
	{"BE", "02.123.45.67", OK, "+3221234567", NULL, 32, "BE"},
	{"HU", "06 1 234 5678", OK, "+3612345678", NULL, 36, "HU"},
	{"MX", "+52 1 55 1234 5678", OK, "+525512345678", NULL, 52, "MX"},
	{"MX", "044 55 1234 5678", OK, "+525512345678", NULL, 52, "MX"},
	{"BY", "8 029 123-45-67", OK, "+375291234567", NULL, 375, "BY"},
	{"BY", "029 123-45-67", OK, "+375291234567", NULL, 375, "BY"},
	{"UA", "044 123 45 67", OK, "+380441234567", NULL, 380, "UA"},
	{"AU", "(02) 9876 5432", OK, "+61298765432", NULL, 61, "AU"},
	{"AU", "0011 44 20 7946 0958", OK, "+442079460958", NULL, 44, "GB"},
	{"AU", "13 12 34", OK, "+61131234", NULL, 61, "AU"},
	{"SG", "6123 4567", OK, "+6561234567", NULL, 65, "SG"},
	{"CH", "044 123 45 67", OK, "+41441234567", NULL, 41, "CH"},
	{"PL", "12 345 67 89", OK, "+48123456789", NULL, 48, "PL"},
	{"FI", "+358 18 12345", OK, "+3581812345", NULL, 358, "AX"},

	/* no default region, non-geographic and unassigned codes */
	{"ZZ", "+7 912 345 67 89", OK, "+79123456789", NULL, 7, "RU"},
	{"zz", "+1 212 555 0123", OK, "+12125550123", NULL, 1, "US"},
	{"ZZ", "00 7 912 345 67 89", OK, "+79123456789", NULL, 7, "RU"},
	{"ZZ", "011 7 912 345 67 89", OK, "+79123456789", NULL, 7, "RU"},
	{"ZZ", "+800 1234 5678", OK, "+80012345678", NULL, 800, ""},
	{"ZZ", "+881 6 1234 5678", OK, "+881612345678", NULL, 881, ""},
	{"ZZ", "79123456789", NO_COUNTRY, NULL, NULL, 0, ""},
	{"ZZ", "+28 123 4567", BAD_CC, NULL, NULL, 0, ""},
	{"ZZ", "+422 123 456", BAD_CC, NULL, NULL, 0, ""},
	{"ZZ", "+671 123 4567", BAD_CC, NULL, NULL, 0, ""},
	{"ZZ", "+0 123", BAD_CC, NULL, NULL, 0, ""},
	{"ZZ", "00 999 123 456", BAD_CC, NULL, NULL, 0, ""},
	{"ZZ", "+38", SHORT, NULL, NULL, 0, ""},
	{"ZZ", "+7 912 345 67 89 12345678901234567", LONG, NULL, NULL, 7, "RU"},
	{"ZZ", "+", EMPTY, NULL, NULL, 0, ""},

	/* bad regions, empty input */
	{"XX", "123", UNKNOWN_REGION, NULL, NULL, 0, ""},
	{"", "123", UNKNOWN_REGION, NULL, NULL, 0, ""},
	{"R", "+7 912 345 67 89", UNKNOWN_REGION, NULL, NULL, 0, ""},
	{"RUS", "+7 912 345 67 89", UNKNOWN_REGION, NULL, NULL, 0, ""},
	{"R1", "+7 912 345 67 89", UNKNOWN_REGION, NULL, NULL, 0, ""},
	{"Ru", "8 912 345 67 89", OK, "+79123456789", NULL, 7, "RU"},
	{"US", "", EMPTY, NULL, NULL, 0, ""},
	{"US", "   ", EMPTY, NULL, NULL, 0, ""},
	{"US", "\u00A0\u3000\t", EMPTY, NULL, NULL, 0, ""},
	{"US", "---", EMPTY, NULL, NULL, 0, ""},
	{"US", "( )", EMPTY, NULL, NULL, 0, ""},
};

#define NCASES ((int) (sizeof(cases) / sizeof(cases[0])))

START_TEST(test_case_table)
{
	const PhoneCase *c = &cases[_i];
	CdPhoneResult res;
	CdPhoneStatus st;

	memset(&res, 0x5A, sizeof(res));
	st = cd_phone_parse(c->raw, strlen(c->raw), c->region, strlen(c->region), &res);
	ck_assert_msg(st == c->st, "case %d %s \"%s\": status %d (%s), want %d (%s)", _i, c->region,
				  c->raw, st, cd_phone_status_reason(st), c->st, cd_phone_status_reason(c->st));
	if (c->st == CD_PHONE_OK)
		ck_assert_msg(strcmp(res.e164, c->e164) == 0, "case %d \"%s\": e164 %s, want %s", _i,
					  c->raw, res.e164, c->e164);
	else
		ck_assert_msg(res.e164[0] == '\0', "case %d: e164 set on error", _i);
	ck_assert_msg(strcmp(res.ext, c->ext ? c->ext : "") == 0, "case %d \"%s\": ext \"%s\"", _i,
				  c->raw, res.ext);
	if (c->cc >= 0)
		ck_assert_msg(res.country_code == c->cc, "case %d \"%s\": cc %d, want %d", _i, c->raw,
					  res.country_code, c->cc);
	if (c->out_region)
		ck_assert_msg(strcmp(res.region, c->out_region) == 0, "case %d \"%s\": region \"%s\", want \"%s\"",
					  _i, c->raw, res.region, c->out_region);

	/* an E.164 result reads back as itself from anywhere */
	if (st == CD_PHONE_OK)
	{
		CdPhoneResult again;

		ck_assert_int_eq(cd_phone_parse(res.e164, strlen(res.e164), "ZZ", 2, &again), CD_PHONE_OK);
		ck_assert_str_eq(again.e164, res.e164);
		ck_assert_str_eq(again.region, res.region);
		ck_assert_int_eq(again.country_code, res.country_code);
	}
}
END_TEST

/* ---- hostile input ---- */

static CdPhoneStatus
parse_buf(const char *buf, size_t len, const char *region, CdPhoneResult *res)
{
	return cd_phone_parse(buf, len, region, strlen(region), res);
}

START_TEST(test_null_and_empty)
{
	CdPhoneResult res;

	ck_assert_int_eq(cd_phone_parse(NULL, 0, "RU", 2, &res), CD_PHONE_EMPTY);
	ck_assert_int_eq(cd_phone_parse("8 912 345 67 89", 15, NULL, 0, &res), CD_PHONE_UNKNOWN_REGION);
	ck_assert_int_eq(cd_phone_parse("8 912 345 67 89", 15, "RU", 0, &res), CD_PHONE_UNKNOWN_REGION);
	/* unknown region wins over anything in raw */
	ck_assert_int_eq(cd_phone_parse("\xff\xfe", 2, "QQ", 2, &res), CD_PHONE_UNKNOWN_REGION);
	ck_assert_int_eq(cd_phone_parse("", 0, "QQ", 2, &res), CD_PHONE_UNKNOWN_REGION);
	/* the length is honoured: no reading past it, no NUL needed */
	ck_assert_int_eq(cd_phone_parse("89123456789XYZ", 11, "RU", 2, &res), CD_PHONE_OK);
	ck_assert_str_eq(res.e164, "+79123456789");
	ck_assert_int_eq(cd_phone_parse("8 912 345 67 89", 15, "RUS", 2, &res), CD_PHONE_OK);
}
END_TEST

START_TEST(test_nul_and_invalid_utf8)
{
	static const struct
	{
		const char *s;
		size_t		len;
	}			bad[] = {
		{"8 912\0 345 67 89", 16},
		{"\0", 1},
		{"89123456789\0", 12},
		{"8 912 \xff 345 67 89", 16},
		{"8 912 \xc0\xb1 345 67 89", 17},	/* overlong '1' */
		{"8 912 \xed\xa0\x80 345", 13},	/* surrogate */
		{"8 912 \xf4\x90\x80\x80", 10},	/* above U+10FFFF */
		{"89123456789\xe2\x80", 13},	/* truncated */
		{"+7 912 345 67 89 \xd0", 18},
		{"\x80", 1},
	};
	CdPhoneResult res;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		ck_assert_msg(parse_buf(bad[k].s, bad[k].len, "RU", &res) == CD_PHONE_NOT_A_NUMBER,
					  "bad input %zu accepted", k);
}
END_TEST

START_TEST(test_large_inputs)
{
	size_t		n = 100 * 1024;
	char	   *buf = malloc(4 * n + 16);
	CdPhoneResult res;

	ck_assert_ptr_nonnull(buf);

	/* 100 kB of digits */
	memset(buf, '7', n);
	ck_assert_int_eq(parse_buf(buf, n, "RU", &res), CD_PHONE_TOO_LONG);
	buf[0] = '+';
	ck_assert_int_eq(parse_buf(buf, n, "ZZ", &res), CD_PHONE_TOO_LONG);

	/* 100 kB of spaces around a number */
	memset(buf, ' ', n);
	memcpy(buf + n / 2, "89123456789", 11);
	ck_assert_int_eq(parse_buf(buf, n, "RU", &res), CD_PHONE_OK);
	ck_assert_str_eq(res.e164, "+79123456789");

	/* a flood of combining marks after a digit */
	buf[0] = '8';
	for (size_t k = 0; k < n; k++)
		memcpy(buf + 1 + 2 * k, "\xcc\x81", 2);
	ck_assert_int_eq(parse_buf(buf, 1 + 2 * n, "RU", &res), CD_PHONE_NOT_A_NUMBER);

	/* a flood of zero-width spaces between digits is still a number */
	memset(buf, 0, 4 * n + 16);
	{
		size_t		pos = 0;
		const char *digits = "89123456789";

		for (size_t k = 0; k < 11; k++)
		{
			buf[pos++] = digits[k];
			for (size_t z = 0; z < n / 40; z++)
			{
				memcpy(buf + pos, "\xe2\x80\x8b", 3);
				pos += 3;
			}
		}
		ck_assert_int_eq(parse_buf(buf, pos, "RU", &res), CD_PHONE_OK);
		ck_assert_str_eq(res.e164, "+79123456789");
	}

	/* 100 kB of letters, of brackets, of pauses */
	memset(buf, 'a', n);
	ck_assert_int_eq(parse_buf(buf, n, "US", &res), CD_PHONE_NOT_A_NUMBER);
	memset(buf, '(', n);
	ck_assert_int_eq(parse_buf(buf, n, "US", &res), CD_PHONE_EMPTY);
	memcpy(buf, "2125550123", 10);
	memset(buf + 10, ',', n - 10);
	ck_assert_int_eq(parse_buf(buf, n, "US", &res), CD_PHONE_OK);
	/* an extension of 100 kB digits */
	memset(buf + 11, '5', n - 11);
	ck_assert_int_eq(parse_buf(buf, n, "US", &res), CD_PHONE_NOT_A_NUMBER);
	/* "x" repeated: only one extension word is allowed */
	memcpy(buf, "2125550123 ", 11);
	memset(buf + 11, 'x', n - 11);
	ck_assert_int_eq(parse_buf(buf, n, "US", &res), CD_PHONE_NOT_A_NUMBER);
	free(buf);
}
END_TEST

START_TEST(test_emoji_and_symbols)
{
	static const char *const bad[] = {
		"\xF0\x9F\x93\x9E 8 912 345 67 89",	/* telephone receiver emoji */
		"8 912 345 67 89 \xE2\x98\x8E",	/* black telephone */
		"1\xEF\xB8\x8F\xE2\x83\xA3 212 555 0123",	/* keycap 1 */
		"8 912 345 67 89!",
		"8 912 345 67 89 @",
		"8 912 345 67 89 *",
		"$89123456789",
		"8 912 345 67 89 \xC2\xB2",	/* superscript two */
		"8 912 345 67 89 \xE2\x91\xA0",	/* circled one */
		"\xD9\xA8\xD9\xA9\xD9\xA1 \xD9\xA2\xD9\xA3\xD9\xA4 \xD9\xA5\xD9\xA6 \xD9\xA7 x y",
	};
	CdPhoneResult res;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		ck_assert_msg(parse_buf(bad[k], strlen(bad[k]), "RU", &res) == CD_PHONE_NOT_A_NUMBER,
					  "input %zu accepted", k);
}
END_TEST

/* ---- tables ---- */

static int
country_of_code(const char *code)
{
	char		p3[3] = {'0', '0', '0'};
	size_t		n = strlen(code);
	int			ci;

	memcpy(p3, code, n < 3 ? n : 3);
	ci = cd_phone_cc_by_prefix3[(p3[0] - '0') * 100 + (p3[1] - '0') * 10 + (p3[2] - '0')];
	if (ci < 0 || cd_phone_countries[ci].cc_len != n || strcmp(cd_phone_countries[ci].cc_str, code) != 0)
		return -1;
	return ci;
}

START_TEST(test_every_region_has_a_calling_code)
{
	ck_assert_int_ge(cd_phone_region_count, 240);
	for (int r = 0; r < cd_phone_region_count; r++)
	{
		const CdPhoneRegion *rg = &cd_phone_regions[r];
		const CdPhoneCountry *c;
		char		lower[2];

		ck_assert_msg(cd_phone_region_known(rg->iso, 2), "%s unknown", rg->iso);
		lower[0] = (char) (rg->iso[0] + 32);
		lower[1] = (char) (rg->iso[1] + 32);
		ck_assert(cd_phone_region_known(lower, 2));
		ck_assert_int_eq(cd_phone_region_by_code[(rg->iso[0] - 'A') * 26 + rg->iso[1] - 'A'], r);
		ck_assert(rg->country >= 0 && rg->country < cd_phone_country_count);
		c = &cd_phone_countries[rg->country];
		ck_assert_msg(country_of_code(c->cc_str) == rg->country, "%s: +%s does not resolve",
					  rg->iso, c->cc_str);
		ck_assert(rg->min_len >= 1 && rg->min_len <= rg->max_len);
		ck_assert(rg->min_len >= c->min_len && rg->max_len <= c->max_len);
		ck_assert(c->cc_len + rg->max_len <= 15);
		ck_assert(c->main_region >= 0);
		ck_assert_int_eq(cd_phone_regions[c->main_region].country, rg->country);
		for (int k = 0; k < rg->ntrunk; k++)
			ck_assert(rg->trunk[k].len > 0 && strspn(rg->trunk[k].s, "0123456789") == rg->trunk[k].len);
		ck_assert_msg(rg->nintl > 0, "%s has no international prefix", rg->iso);
		for (int k = 0; k < rg->nintl; k++)
		{
			ck_assert(rg->intl[k].len > 0 && strspn(rg->intl[k].s, "0123456789") == rg->intl[k].len);
			if (k > 0)
				ck_assert(rg->intl[k].len <= rg->intl[k - 1].len);
		}
	}
	ck_assert(cd_phone_region_known("ZZ", 2));
	ck_assert(cd_phone_region_known("zz", 2));
	ck_assert(!cd_phone_region_known("XX", 2));
	ck_assert(!cd_phone_region_known("R", 1));
	ck_assert(!cd_phone_region_known("RUS", 3));
	ck_assert(!cd_phone_region_known(NULL, 2));
	ck_assert(!cd_phone_region_known("\xd0\xa0", 2));
}
END_TEST

/* every region dials London through each of its international prefixes */
START_TEST(test_every_region_dials_out)
{
	for (int r = 0; r < cd_phone_region_count; r++)
	{
		const CdPhoneRegion *rg = &cd_phone_regions[r];

		for (int k = 0; k < rg->nintl; k++)
		{
			char		buf[64];
			CdPhoneResult res;
			CdPhoneStatus st;

			snprintf(buf, sizeof(buf), "%s 44 20 7946 0958", rg->intl[k].s);
			st = cd_phone_parse(buf, strlen(buf), rg->iso, 2, &res);
			ck_assert_msg(st == CD_PHONE_OK && strcmp(res.e164, "+442079460958") == 0,
						  "%s: \"%s\" gave %s %s", rg->iso, buf, cd_phone_status_reason(st), res.e164);
		}
	}
}
END_TEST

/* assigned ITU-T E.164 codes are known, unassigned ones are not */
START_TEST(test_assigned_codes)
{
	static const char *const assigned[] = {
		"1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44",
		"45", "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61",
		"62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95",
		"98", "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226",
		"227", "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239",
		"240", "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252",
		"253", "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266",
		"267", "268", "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354",
		"355", "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377",
		"378", "380", "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500",
		"501", "502", "503", "504", "505", "506", "507", "508", "509", "590", "591", "592", "593",
		"594", "595", "596", "597", "598", "599", "670", "672", "673", "674", "675", "676", "677",
		"678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691",
		"692", "800", "808", "850", "852", "853", "855", "856", "870", "878", "880", "881", "882",
		"883", "886", "888", "960", "961", "962", "963", "964", "965", "966", "967", "968", "970",
		"971", "972", "973", "974", "975", "976", "977", "979", "991", "992", "993", "994", "995",
		"996", "998",
	};
	static const char *const unassigned[] = {
		"0", "00", "210", "214", "215", "217", "219", "259", "28", "280", "289", "292", "293",
		"294", "295", "296", "384", "422", "424", "425", "426", "427", "428", "429", "671", "684",
		"693", "699", "801", "802", "803", "804", "805", "806", "807", "809", "851", "854", "857",
		"858", "859", "871", "872", "873", "874", "875", "876", "877", "879", "884", "885", "887",
		"889", "89", "890", "899", "969", "978", "990", "997", "999",
	};

	for (size_t k = 0; k < sizeof(assigned) / sizeof(assigned[0]); k++)
		ck_assert_msg(country_of_code(assigned[k]) >= 0, "+%s missing", assigned[k]);
	for (size_t k = 0; k < sizeof(unassigned) / sizeof(unassigned[0]); k++)
	{
		char		buf[32];
		CdPhoneResult res;

		snprintf(buf, sizeof(buf), "+%s 123 456 78", unassigned[k]);
		ck_assert_msg(cd_phone_parse(buf, strlen(buf), "ZZ", 2, &res) == CD_PHONE_BAD_COUNTRY_CODE,
					  "+%s accepted", unassigned[k]);
	}
	/* codes are prefix-free: every 3-digit start resolves to at most one code */
	for (int ci = 0; ci < cd_phone_country_count; ci++)
		ck_assert_int_eq(country_of_code(cd_phone_countries[ci].cc_str), ci);
}
END_TEST

START_TEST(test_reasons_and_version)
{
	const char *seen[8];

	for (int st = CD_PHONE_OK; st <= CD_PHONE_TOO_LONG; st++)
	{
		const char *r = cd_phone_status_reason((CdPhoneStatus) st);

		ck_assert_ptr_nonnull(r);
		ck_assert(r[0] >= 'a' && r[0] <= 'z');
		ck_assert(r[strlen(r) - 1] != '.');
		for (int k = 0; k < st; k++)
			ck_assert_str_ne(seen[k], r);
		seen[st] = r;
	}
	ck_assert_ptr_nonnull(cd_phone_status_reason((CdPhoneStatus) 99));
	ck_assert_ptr_nonnull(cd_phone_data_version());
	ck_assert(strlen(cd_phone_data_version()) > 0);
}
END_TEST

/* ---- micro-benchmark ---- */

static void
bench(void)
{
	static const struct
	{
		const char *region;
		const char *raw;
	}			inputs[] = {
		{"RU", "8 (912) 345-67-89"},
		{"RU", "+7 912 345 67 89"},
		{"US", "(212) 555-0123"},
		{"GB", "020 7946 0958"},
		{"CN", "138 0013 8000"},
		{"DE", "+49 (0)30 123456"},
		{"IN", "09876543210"},
		{"BR", "(11) 91234-5678 ramal 12"},
	};
	int			n_in = (int) (sizeof(inputs) / sizeof(inputs[0]));
	int			iters = 200000;
	struct timespec t0,
				t1;
	volatile int sink = 0;
	double		ns;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (int k = 0; k < iters; k++)
	{
		CdPhoneResult res;
		int			j = k % n_in;

		sink += (int) cd_phone_parse(inputs[j].raw, strlen(inputs[j].raw), inputs[j].region, 2, &res);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / iters;
	printf("phone micro-benchmark: %.0f ns per cd_phone_parse call, CPU time (%d typical inputs; "
		   "this build's sanitizers slow it down several times)\n", ns, n_in);
	(void) sink;
}

static Suite *
phone_suite(void)
{
	Suite	   *s = suite_create("phone");
	TCase	   *tc = tcase_create("cases");
	TCase	   *th = tcase_create("hostile");
	TCase	   *tt = tcase_create("tables");

	tcase_add_loop_test(tc, test_case_table, 0, NCASES);
	suite_add_tcase(s, tc);

	tcase_set_timeout(th, 60);
	tcase_add_test(th, test_null_and_empty);
	tcase_add_test(th, test_nul_and_invalid_utf8);
	tcase_add_test(th, test_large_inputs);
	tcase_add_test(th, test_emoji_and_symbols);
	suite_add_tcase(s, th);

	tcase_add_test(tt, test_every_region_has_a_calling_code);
	tcase_add_test(tt, test_every_region_dials_out);
	tcase_add_test(tt, test_assigned_codes);
	tcase_add_test(tt, test_reasons_and_version);
	suite_add_tcase(s, tt);
	return s;
}

int
main(void)
{
	SRunner    *sr = srunner_create(phone_suite());
	int			failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	bench();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
