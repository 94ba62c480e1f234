/*
 * lib_versions.h
 *		Versions of the libraries and data whose behaviour decides the keys crmdedup computes.
 *
 * A key stored in an index is only valid while the code that made it behaves the same;
 * PostgreSQL tracks collation versions for the same reason.
 */
#ifndef CD_LIB_VERSIONS_H
#define CD_LIB_VERSIONS_H

#define CD_KEY_VERSION "3"		/* bump whenever a key function's output changes */
#define CD_VERSION_LEN 64

typedef struct CdComponentVersion
{
	const char *component;
	char		version[CD_VERSION_LEN];
} CdComponentVersion;

#define CD_NUM_COMPONENTS 12

/* fills out[0..CD_NUM_COMPONENTS) with the versions of the running code and libraries */
extern void cd_lib_versions(CdComponentVersion out[CD_NUM_COMPONENTS]);

#endif							/* CD_LIB_VERSIONS_H */
