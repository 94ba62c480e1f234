/*
 * lib_versions.c
 *		Reports the versions that decide key output: crmdedup's key rules, utf8proc and its
 *		Unicode tables, ICU and its Unicode tables, and each compiled data table.
 */
#include "lib_versions.h"

#include <stdio.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/uversion.h>
#include <utf8proc.h>

#include "email.h"
#include "name_grams.h"
#include "name_key.h"
#include "phone.h"
#include "phonetic.h"
#include "name_match.h"
#include "translit.h"

static void
set(CdComponentVersion *v, const char *component, const char *version)
{
	v->component = component;
	snprintf(v->version, CD_VERSION_LEN, "%s", version);
}

void
cd_lib_versions(CdComponentVersion out[CD_NUM_COMPONENTS])
{
	UVersionInfo info;
	char		buf[U_MAX_VERSION_STRING_LENGTH];

	set(&out[0], "crmdedup keys", CD_KEY_VERSION);
	set(&out[1], "utf8proc", utf8proc_version());
	set(&out[2], "utf8proc unicode", utf8proc_unicode_version());
	u_getVersion(info);
	u_versionToString(info, buf);
	set(&out[3], "icu", buf);
	u_getUnicodeVersion(info);
	u_versionToString(info, buf);
	set(&out[4], "icu unicode", buf);
	set(&out[5], "phone data", cd_phone_data_version());
	set(&out[6], "email data", cd_email_data_version());
	set(&out[7], "translit data", cd_translit_data_version());
	set(&out[8], "legal forms data", cd_legal_forms_data_version());
	set(&out[9], "nicknames data", cd_nicknames_data_version());
	set(&out[10], "phonetic keys", CD_PHONETIC_VERSION);
	set(&out[11], "name index keys", CD_NAME_GRAMS_VERSION);
}
