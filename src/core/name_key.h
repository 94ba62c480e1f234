/*
 * name_key.h
 *		Exact-match keys for names of people and companies.
 *
 * Status and buffer rules: see unicode_fold.h.
 */
#ifndef CD_NAME_KEY_H
#define CD_NAME_KEY_H

#include "unicode_fold.h"

/* the folded name, script kept: "Пётр  ЩУКИН" -> "петр щукин" (same as cd_fold) */
extern CdTextStatus cd_name_key(const char *in, size_t len, CdBuf *out);

/*
 * Order-insensitive key of a person's name: transliterated (cd_translit), words sorted
 * bytewise and joined by single spaces: "Петров Иван", "Ivan Petrov" and "ivan  PETROV"
 * all give "ivan petrov".  A Han word of 2-4 characters (or a whole name of 2-4 Han
 * characters written with spaces) is read as family name + given name, the way people
 * write Chinese names in Latin letters: 王小明 -> "wang xiaoming", 欧阳小明 -> "ouyang
 * xiaoming" (two-character family names from data/translit_cjk_surnames.tsv).  Hangul
 * words of 2-4 syllables are split the same way (김민수 -> "gim minsu").
 */
extern CdTextStatus cd_person_key(const char *in, size_t len, CdBuf *out);

/*
 * Key of a company name, script kept: quotes removed (apostrophes inside a word join
 * it: McDonald's -> mcdonalds), legal-form words and word sequences from
 * data/legal_forms.tsv removed wherever they stand as whole words (ООО «Ромашка» ->
 * "ромашка", Romashka L.L.C. -> "romashka"), Chinese forms also as word endings and
 * Japanese/Korean forms as word beginnings or endings (北京小米科技有限责任公司 ->
 * "北京小米科技"), then folded as cd_name_key.  When nothing but legal forms would
 * remain, nothing is removed ("ООО" -> "ооо").
 */
extern CdTextStatus cd_company_key(const char *in, size_t len, CdBuf *out);

/* version of the compiled legal-form table, e.g. "legal-forms-1" */
extern const char *cd_legal_forms_data_version(void);

#endif							/* CD_NAME_KEY_H */
