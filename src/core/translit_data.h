/*
 * translit_data.h
 *		Tables compiled from data/translit_*.tsv by tools/gen_translit_data.py into
 *		translit_data.c; used only by translit.c and name_key.c.
 */
#ifndef CD_TRANSLIT_DATA_H
#define CD_TRANSLIT_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* rule sets: the base set (ru, el, la share it, they never overlap) and overrides */
typedef enum CdTranslitLang
{
	CD_TL_BASE = 0,
	CD_TL_UK,
	CD_TL_BE,
	CD_TL_KK					/* detected only to keep Kazakh text on the base set */
} CdTranslitLang;

typedef struct CdTranslitRule
{
	int32_t		from[3];		/* folded code points, unused ones 0 */
	uint8_t		nfrom;
	uint8_t		lang;			/* CdTranslitLang */
	bool		final_only;		/* applies only at the end of a word */
	const char *to;				/* lower-case ASCII, may be empty */
	const char *to_initial;		/* at the start of a word; NULL means "to" */
} CdTranslitRule;

typedef struct CdTranslitDetect
{
	int32_t		letters[3];		/* all must occur in the string */
	uint8_t		nletters;
	uint8_t		lang;
} CdTranslitDetect;

/* sorted by from[0], then longer rules first */
extern const CdTranslitRule cd_translit_rules[];
extern const int cd_translit_nrules;
/* first rule index (or -1) for code points in [CD_TL_DENSE_FIRST, CD_TL_DENSE_LAST] */
#define CD_TL_DENSE_FIRST 0x0370
#define CD_TL_DENSE_LAST 0x052F
extern const int16_t cd_translit_dense_first[];
/* every letter used by a detect row, sorted */
extern const int32_t cd_translit_detect_letters[];
extern const int cd_translit_ndetect_letters;
/* in priority order */
extern const CdTranslitDetect cd_translit_detects[];
extern const int cd_translit_ndetects;
/* two-character family names (Han, Hangul), sorted */
extern const int32_t cd_cjk_surnames[][2];
extern const int cd_cjk_nsurnames;
extern const char cd_translit_data_version_string[];

#endif							/* CD_TRANSLIT_DATA_H */
