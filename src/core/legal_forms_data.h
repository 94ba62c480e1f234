/*
 * legal_forms_data.h
 *		Legal-form words compiled from data/legal_forms.tsv by
 *		tools/gen_legal_forms_data.py into legal_forms_data.c; used by name_key.c.
 */
#ifndef CD_LEGAL_FORMS_DATA_H
#define CD_LEGAL_FORMS_DATA_H

typedef enum CdLegalFormKind
{
	CD_LF_WORD = 0,				/* whole words only */
	CD_LF_SUFFIX,				/* also at the end of a word (Chinese) */
	CD_LF_AFFIX					/* also at the start or end of a word (Japanese, Korean) */
} CdLegalFormKind;

typedef struct CdLegalForm
{
	const char *folded;			/* folded words separated by single spaces */
	const char *raw;			/* as written in the data file */
	int			folded_len;
	int			nwords;
	int			kind;			/* CdLegalFormKind */
	const char *where;			/* country or language codes */
} CdLegalForm;

typedef struct CdLegalFormGroup
{
	const char *word;			/* first folded word of the forms in this group */
	int			word_len;
	int			start;			/* index into cd_legal_forms */
	int			count;
} CdLegalFormGroup;

/* grouped by first word, more words first within a group */
extern const CdLegalForm cd_legal_forms[];
extern const int cd_legal_nforms;
/* sorted bytewise by word */
extern const CdLegalFormGroup cd_legal_form_groups[];
extern const int cd_legal_ngroups;
/* indexes of suffix and affix forms, longest first */
extern const int cd_legal_affixes[];
extern const int cd_legal_naffixes;
extern const char cd_legal_forms_data_version_string[];

#endif							/* CD_LEGAL_FORMS_DATA_H */
