/*
 * cd_buf.h
 *		Growable byte buffer for the pure C core, over a caller-supplied allocator.
 *
 * The core never calls malloc directly: PostgreSQL glue passes an allocator backed by
 * palloc (so memory dies with the memory context, even across ereport), unit tests and
 * fuzzers pass one backed by malloc.  An allocator may fail by returning NULL (malloc) or
 * by not returning at all (palloc raising an error); core code must leave no foreign
 * (ICU, utf8proc) resource behind in either case.
 */
#ifndef CD_BUF_H
#define CD_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct CdAllocator
{
	void	   *(*alloc) (size_t size, void *ctx);
	void	   *(*resize) (void *ptr, size_t size, void *ctx);
	void		(*release) (void *ptr, void *ctx);
	void	   *ctx;
} CdAllocator;

/* malloc-backed allocator for tests, fuzzers and benchmarks */
extern const CdAllocator cd_malloc_allocator;

typedef struct CdBuf
{
	char	   *data;			/* always NUL-terminated when len > 0 or cap > 0 */
	size_t		len;
	size_t		cap;
	bool		failed;			/* an allocation failed: contents are unusable */
	const CdAllocator *alloc;
} CdBuf;

extern void cd_buf_init(CdBuf *buf, const CdAllocator *alloc);
extern void cd_buf_free(CdBuf *buf);
extern void cd_buf_reset(CdBuf *buf);
extern bool cd_buf_reserve(CdBuf *buf, size_t extra);
extern bool cd_buf_append(CdBuf *buf, const char *s, size_t n);
extern bool cd_buf_append_str(CdBuf *buf, const char *s);
extern bool cd_buf_append_byte(CdBuf *buf, char c);
/* append one Unicode code point as UTF-8 */
extern bool cd_buf_append_cp(CdBuf *buf, int32_t cp);

/*
 * Decode one UTF-8 code point from s[0..len).  Returns the number of bytes consumed
 * (>= 1) and stores the code point, or returns -1 for an invalid or truncated sequence
 * (overlongs, surrogates and values above U+10FFFF are invalid).
 */
extern int	cd_utf8_decode(const unsigned char *s, size_t len, int32_t *cp);
/* true when s[0..len) is well-formed UTF-8 */
extern bool cd_utf8_valid(const char *s, size_t len);

#endif							/* CD_BUF_H */
