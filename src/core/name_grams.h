/*
 * name_grams.h
 *		Index keys of person names across scripts, and the query plan that decides from
 *		the keys an item holds whether name_similarity() can reach a threshold: the pure
 *		core of the GIN opclass crmdedup.name_ops and its operator %~.
 *
 * Both sides are transliterated (cd_translit: Петров Иван -> "petrov ivan", 王小明 ->
 * "wang xiao ming") and split into words, the way cd_name_similarity() reads them: the
 * first CD_NAME_MAX_WORDS words, the first CD_NAME_MAX_WORD letters of a word.  Every
 * word gets its spelling fold and phonetic key (phonetic.h).  A key is a uint32: the
 * class in the top 3 bits, a hash of the gram in the low bits (classes never collide; a
 * collision inside a class only makes an item look closer than it is).  Trigram,
 * nickname, initial and shape keys come from small sets and keep 29 bits; sound,
 * gender and swap keys keep 16 bits and joined keys 14: a rare key of its own costs a
 * GIN entry tuple (about 30 bytes on a half-full page), a posting in a shared list 1-4
 * bytes, and the recheck drops the items a shared value lets through.  Keys of a stored
 * name, per word:
 *		TRIGRAM   the trigrams of the fold (first 64 letters, the part the typo rule
 *		          compares), padded as pg_trgm pads a word but without its "  w" (" wo",
 *		          ..., "rd ": one per letter; " wo" implies "  w"), each hashed with the
 *		          length of the fold, so that a query word looks only at words of the
 *		          lengths a typo can reach (a word of the same length holding all of a
 *		          query word's trigrams may be that word: the index has no key of whole
 *		          words)
 *		SOUND     the phonetic key, and the keys of the word's other readings (English,
 *		          French, German, Italian, Spanish, Japanese, Hungarian and pinyin
 *		          spellings: Джон = John by the English reading of "j"), these for
 *		          Latin or Han text only
 *		NICKNAME  the canonical name of every nickname group of the fold (Саша, Sasha,
 *		          Aleksandr -> "aleksandr"), also when it is the word itself
 *		GENDER    the stem of a male or female form (-iy/-aya, -oy/-aya, -i/-ya; ""/"a"
 *		          only for stems of 3 letters: Ivanov/Ivanova is a letter added, which
 *		          the trigrams of the typo rule find)
 *		INITIAL   an initial ("i", "yu", "shch"), or the initials a full word begins with
 *		SWAP      for folds of 4-5 letters, the sorted letters (Jonh = John)
 *		JOINED    for runs of 2-4 adjacent words, the fold of their
 *		          concatenation ("xiao ming" -> "xiaoming": 王小明 meets Wang Xiaoming)
 *		          and, for Latin or Han text whose run is all pinyin syllables, the
 *		          phonetic key of the run read as pinyin (Ван Сяомин); one tag for runs
 *		          of any length; a mark when a run key repeats or a run reads as a
 *		          patronymic
 *		SHAPE     the number of words (8 for 8 or more) and of patronymics (4 for 4+),
 *		          except the most common, 2 words and no patronymic, which have no key;
 *		          and a mark of 2 words with a patronymic (name-grams-5), so that an
 *		          item of 2 words without it is known to have none
 *
 * The query side (cd_name_query_new) asks for the matching keys of every query word
 * (trigrams at each length a typo of one edit can reach, the other role of initials and gender
 * stems), of its runs of 2-4 words (their joined keys, and every third trigram of their
 * concatenation: a stored word may be the run joined), and of every word and patronymic
 * count but the default (an item holding none of these has the default count).  Given
 * which of them an
 * item holds, cd_name_query_bound() bounds from above how similar the item can be: each
 * query word is credited with the best word-pair score of name_match.h its shared keys
 * allow (1 same fold (all its trigrams), 0.95 nickname group or typo of one edit (enough
 * trigrams at a length one edit reaches, or the same sorted letters; 0.9 for a changed letter in words of
 * 4-5 letters), 0.9 sound in some reading, 0.85 gender form, 0.8 initial (0.4 when no
 * other word has 0.85 or more, as name_match.c scores initials), 0 without a shared
 * key), and the unpaired words are
 * charged the least the formula of name_match.h can charge, given the word and
 * patronymic counts the item may have.  Joins (a JOINED key of a word or run, or a run
 * that sounds like a stored word, present) change the counts: then the better of the
 * bound without joins and a looser one that allows them counts.  A real item holds
 * exactly one shape key of each kind; for such an item, keys turned unknown
 * (CD_GRAM_MAYBE) never lower the bound, nor do word keys turned present (GIN's skipping
 * relies on the first).
 *
 * The evidence of a pair (cd_name_evidence) is the smaller of the two bounds, each name
 * read once as query and once as stored.  The operator %~ asks for name_similarity and
 * the evidence to reach its threshold; the index keeps the items whose bound reaches it
 * and rechecks the operator.  So the index returns exactly the rows a sequential scan
 * returns, whatever name_similarity() learns later.  The word rules mirrored here
 * (initials, patronymics, gender forms, the typo limits, readings, joins; from
 * name_match.c) only decide how many pairs that name_similarity() puts at the threshold
 * also have the evidence: all but those whose words meet only by a typo of two edits
 * (name_match.c allows two in words of 9+ letters; the evidence credits one, see
 * typo_by_trigrams) or as a Han transcription of a foreign name (no key): the bound is
 * at least cd_name_similarity_one_edit() on every pair test_name_grams.c and
 * fuzz_name_grams.c try.  Keys change only with
 * CD_NAME_GRAMS_VERSION, the transliteration tables, the phonetic key and the nickname
 * data: an index built with other versions must be rebuilt (REINDEX).
 *
 * Statuses as in field_match.h: TOO_LONG (more than CD_MATCH_MAX_BYTES), INVALID_UTF8,
 * NOMEM, ICU_ERROR.  All memory comes from the allocator; on error nothing is left
 * allocated.  Not thread-safe (per-process caches of the transliteration).
 */
#ifndef CD_NAME_GRAMS_H
#define CD_NAME_GRAMS_H

#include <stddef.h>
#include <stdint.h>

#include "cd_buf.h"
#include "field_match.h"

#define CD_NAME_GRAMS_VERSION "name-grams-6"

/* key classes: the top 3 bits of a key */
typedef enum CdGramClass
{
	CD_GRAM_TRIGRAM = 0,
	CD_GRAM_SOUND,
	CD_GRAM_NICKNAME,
	CD_GRAM_GENDER,
	CD_GRAM_INITIAL,
	CD_GRAM_SWAP,
	CD_GRAM_JOINED,
	CD_GRAM_SHAPE
} CdGramClass;

#define CD_GRAM_CLASS(key) ((CdGramClass) ((uint32_t) (key) >> 29))

/*
 * Keys of a stored name: *keys (from al, sorted ascending, no duplicates; NULL when
 * there are none) and *nkeys.  A name without letters or digits has no keys.  On error
 * *keys = NULL and *nkeys = 0.  The caller releases *keys with al.
 */
extern CdMatchStatus cd_name_grams(const char *in, size_t len, const CdAllocator *al,
								   uint32_t **keys, int *nkeys);

/* what an index item is known to hold of a query key */
#define CD_GRAM_ABSENT	0
#define CD_GRAM_PRESENT 1
#define CD_GRAM_MAYBE	2		/* unknown (GIN's GIN_MAYBE): counted as present */

typedef struct CdNameQuery CdNameQuery;

/*
 * Plan a query for the name in[0..len).  *out is one block from al (release it with
 * cd_name_query_free).  A query without words has no keys; its bound is always 0.
 * The plan also holds the keys of the same name when stored (for cd_name_evidence).
 */
extern CdMatchStatus cd_name_query_new(const char *in, size_t len, const CdAllocator *al,
									   CdNameQuery **out);
extern void cd_name_query_free(CdNameQuery *q);

/* the query's keys: sorted ascending, no duplicates */
extern int	cd_name_query_nkeys(const CdNameQuery *q);
extern const uint32_t *cd_name_query_keys(const CdNameQuery *q);
/* number of words of the query that count (at most CD_NAME_MAX_WORDS) */
extern int	cd_name_query_nwords(const CdNameQuery *q);

/*
 * Upper bound in [0,1] of cd_name_similarity(query, item) for an item that holds the
 * query keys as state[i] says (one of CD_GRAM_ABSENT, CD_GRAM_PRESENT, CD_GRAM_MAYBE
 * for key i of cd_name_query_keys).  No memory is allocated.
 */
extern double cd_name_query_bound(const CdNameQuery *q, const uint8_t *state);

/* the keys of the query's name when stored: what cd_name_grams() returns for it */
extern const uint32_t *cd_name_query_stored_keys(const CdNameQuery *q, int *nkeys);

/* the bound for an item with the given stored keys (sorted ascending); uses q's scratch */
extern double cd_name_query_bound_keys(CdNameQuery *q, const uint32_t *keys, int nkeys);

/*
 * Evidence that two names can be alike: the smaller of the bound of a against b's
 * stored keys and of b against a's.  Not more than what the index checks, so an
 * operator that asks for it is answered the same with or without the index.
 */
extern double cd_name_evidence(CdNameQuery *a, CdNameQuery *b);

#endif							/* CD_NAME_GRAMS_H */
