/*
 * type_values.h
 *		The values of the crmdedup.phone and crmdedup.email types, encoded and checked
 *		without PostgreSQL: src/phone_type.c and src/email_type.c only move bytes between
 *		these functions and the server, so a fuzz harness (test/fuzz/fuzz_types.c) drives
 *		the very code that type input, binary receive and output run.
 *
 *	crmdedup.phone: the E.164 digits as an int64 (E.164 never starts with 0, so nothing is
 *		lost).  A value is valid when it is in 1..999999999999999 and "+<digits>" parses
 *		back to itself: only canonical numbers may enter, by text or by binary receive.
 *
 *	crmdedup.email: one byte holding the key's length, the key (cd_email_key), then the
 *		address (cd_email_normalize) when it differs from the key, else nothing.
 *
 * No memory is allocated.
 */
#ifndef CD_TYPE_VALUES_H
#define CD_TYPE_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "email.h"
#include "phone.h"

#define CD_PHONE_VALUE_MAX INT64_C(999999999999999)	/* 15 digits */
#define CD_PHONE_TEXT_MAX (CD_PHONE_MAX + 2)	/* "+" 15 digits, NUL, one spare */

/* text input: cd_phone_parse, and on CD_PHONE_OK the digits as *value */
extern CdPhoneStatus cd_phone_value_parse(const char *raw, size_t len, const char *region,
										  size_t region_len, int64_t *value);

/* binary receive: true when v is a number the text input could have produced */
extern bool cd_phone_value_valid(int64_t v);

/* output: "+<digits>" into buf, NUL-terminated; returns its length */
extern size_t cd_phone_value_format(int64_t v, char buf[CD_PHONE_TEXT_MAX]);

/* key length byte, key (< CD_EMAIL_MAX), address (< CD_EMAIL_MAX) */
#define CD_EMAIL_VALUE_MAX (1 + 2 * CD_EMAIL_MAX)

/* text input and binary receive (whose format is the address as text) */
extern CdEmailStatus cd_email_value_encode(const char *raw, size_t len,
										   char out[CD_EMAIL_VALUE_MAX], size_t *outlen);

/*
 * The parts of an encoded value: false when val[0..len) is not a layout that
 * cd_email_value_encode can write (empty, key length past the end).  The address is
 * the key itself when none is stored.
 */
extern bool cd_email_value_parts(const char *val, size_t len, const char **key,
								 size_t *keylen, const char **addr, size_t *addrlen);

#endif							/* CD_TYPE_VALUES_H */
