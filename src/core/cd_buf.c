/*
 * cd_buf.c
 *		Growable byte buffer and UTF-8 decoding shared by every core module.
 */
#include "cd_buf.h"

#include <stdlib.h>
#include <string.h>

static void *
malloc_alloc(size_t size, void *ctx)
{
	(void) ctx;
	return malloc(size);
}

static void *
malloc_resize(void *ptr, size_t size, void *ctx)
{
	(void) ctx;
	return realloc(ptr, size);
}

static void
malloc_release(void *ptr, void *ctx)
{
	(void) ctx;
	free(ptr);
}

const CdAllocator cd_malloc_allocator = {malloc_alloc, malloc_resize, malloc_release, NULL};

void
cd_buf_init(CdBuf *buf, const CdAllocator *alloc)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->failed = false;
	buf->alloc = alloc;
}

void
cd_buf_free(CdBuf *buf)
{
	if (buf->data)
		buf->alloc->release(buf->data, buf->alloc->ctx);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

void
cd_buf_reset(CdBuf *buf)
{
	buf->len = 0;
	buf->failed = false;
	if (buf->data)
		buf->data[0] = '\0';
}

bool
cd_buf_reserve(CdBuf *buf, size_t extra)
{
	size_t		need;
	size_t		newcap;
	char	   *p;

	if (buf->failed)
		return false;
	if (extra > SIZE_MAX / 2 - buf->len)
	{
		buf->failed = true;
		return false;
	}
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return true;
	newcap = buf->cap ? buf->cap : 64;
	while (newcap < need)
		newcap *= 2;
	if (buf->data)
		p = buf->alloc->resize(buf->data, newcap, buf->alloc->ctx);
	else
		p = buf->alloc->alloc(newcap, buf->alloc->ctx);
	if (p == NULL)
	{
		buf->failed = true;
		return false;
	}
	buf->data = p;
	buf->cap = newcap;
	return true;
}

bool
cd_buf_append(CdBuf *buf, const char *s, size_t n)
{
	if (!cd_buf_reserve(buf, n))
		return false;
	if (n)
		memcpy(buf->data + buf->len, s, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return true;
}

bool
cd_buf_append_str(CdBuf *buf, const char *s)
{
	return cd_buf_append(buf, s, strlen(s));
}

bool
cd_buf_append_byte(CdBuf *buf, char c)
{
	return cd_buf_append(buf, &c, 1);
}

bool
cd_buf_append_cp(CdBuf *buf, int32_t cp)
{
	char		tmp[4];
	size_t		n;

	if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return false;
	if (cp < 0x80)
	{
		tmp[0] = (char) cp;
		n = 1;
	}
	else if (cp < 0x800)
	{
		tmp[0] = (char) (0xC0 | (cp >> 6));
		tmp[1] = (char) (0x80 | (cp & 0x3F));
		n = 2;
	}
	else if (cp < 0x10000)
	{
		tmp[0] = (char) (0xE0 | (cp >> 12));
		tmp[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		tmp[2] = (char) (0x80 | (cp & 0x3F));
		n = 3;
	}
	else
	{
		tmp[0] = (char) (0xF0 | (cp >> 18));
		tmp[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		tmp[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		tmp[3] = (char) (0x80 | (cp & 0x3F));
		n = 4;
	}
	return cd_buf_append(buf, tmp, n);
}

int
cd_utf8_decode(const unsigned char *s, size_t len, int32_t *cp)
{
	unsigned char c;
	int			n;
	int32_t		v;
	int32_t		min;

	if (len == 0)
		return -1;
	c = s[0];
	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		n = 2;
		v = c & 0x1F;
		min = 0x80;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 3;
		v = c & 0x0F;
		min = 0x800;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	}
	else
		return -1;
	if (len < (size_t) n)
		return -1;
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	*cp = v;
	return n;
}

bool
cd_utf8_valid(const char *s, size_t len)
{
	size_t		i = 0;
	int32_t		cp;

	while (i < len)
	{
		int			n;

		/* a run of ASCII needs no decoding (most phones, emails and Latin names) */
		if ((unsigned char) s[i] < 0x80)
		{
			i++;
			continue;
		}
		n = cd_utf8_decode((const unsigned char *) s + i, len - i, &cp);
		if (n < 0)
			return false;
		i += (size_t) n;
	}
	return true;
}
