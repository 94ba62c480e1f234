/*
 * phonetic.c
 *		Spelling fold and phonetic key of transliterated name words (see phonetic.h).
 *
 * tools/gen_nicknames_data.py carries a Python copy of cd_spell_fold_word() to fold the
 * nickname table at build time; test_matching.c checks that both agree on every
 * spelling in the table, so change the two together.
 */
#include <string.h>

#include "phonetic.h"
#include "translit.h"

static inline bool
is_vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* the vowels a glide (y, j, i) can stand before */
static inline bool
is_glide_vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'o' || c == 'u';
}

static inline bool
starts(const char *w, size_t n, size_t i, const char *lit)
{
	size_t		k = strlen(lit);

	return n - i >= k && memcmp(w + i, lit, k) == 0;
}

/* the rest of the word from i is exactly lit */
static inline bool
rest_is(const char *w, size_t n, size_t i, const char *lit)
{
	size_t		k = strlen(lit);

	return n - i == k && memcmp(w + i, lit, k) == 0;
}

/* spelling of glide + vowel v; g is the glide letter ('y' for "iy"/"ij") */
static const char *
glide(char v, bool start, bool after_cons, char g)
{
	if (v == 'a')
		return "ya";
	if (v == 'u')
		return "yu";
	if (v == 'e')
		return "e";
	/* v == 'o': Пётр Pyotr -> petr, Ёлкин Yolkin -> elkin, but Maiyo keeps its "yo" */
	if (start)
		return g == 'y' ? "e" : "yo";
	return after_cons ? "e" : "yo";
}

size_t
cd_spell_fold_word(const char *w, size_t n, char *out)
{
	size_t		i = 0;
	size_t		o = 0;
	size_t		k;

#define EMIT(s) do { const char *s_ = (s); while (*s_) out[o++] = *s_++; } while (0)

	while (i < n)
	{
		char		c = w[i];
		char		nxt = i + 1 < n ? w[i + 1] : '\0';
		bool		start = (i == 0);
		bool		after_cons = (i > 0 && !is_vowel(w[i - 1]));

		/* Scottish and Irish Mc- is Мак- (McIlvenny Макилвенни), like Mac- */
		if (start && starts(w, n, i, "mc") && n > 3)
		{
			EMIT("mak");
			i += 2;
			continue;
		}
		if (starts(w, n, i, "shtch") || starts(w, n, i, "chtch"))
		{
			EMIT("sh");
			i += 5;
			continue;
		}
		if (starts(w, n, i, "shch") || starts(w, n, i, "stch"))
		{
			EMIT("sh");
			i += 4;
			continue;
		}
		if (starts(w, n, i, "sch"))
		{
			EMIT("sh");
			i += 3;
			continue;
		}
		if (starts(w, n, i, "tch"))
		{
			EMIT("ch");
			i += 3;
			continue;
		}
		if (nxt == 'h' && (c == 's' || c == 'c' || c == 'z'))
		{
			out[o++] = c;
			out[o++] = 'h';
			i += 2;
			continue;
		}
		if (nxt != '\0')
		{
			const char *rep = NULL;

			if (nxt == 'h')
				rep = c == 'k' ? "h" : c == 'p' ? "f" : c == 't' ? "t" : c == 'g' ? "g" : NULL;
			else if (c == 'c' && nxt == 'k')
				rep = "k";
			else if (c == 't' && (nxt == 's' || nxt == 'z' || nxt == 'c'))
				rep = "c";
			else if (c == 'c' && nxt == 'z')
				rep = "ch";
			if (rep)
			{
				EMIT(rep);
				i += 2;
				continue;
			}
		}
		if (rest_is(w, n, i, "iy") || rest_is(w, n, i, "yy") || rest_is(w, n, i, "ij") ||
			rest_is(w, n, i, "yj") || rest_is(w, n, i, "ii") || rest_is(w, n, i, "y") ||
			rest_is(w, n, i, "j"))
		{
			EMIT("i");
			break;
		}
		if (rest_is(w, n, i, "ic") && n >= 5)
		{
			EMIT("ich");
			break;
		}
		if (rest_is(w, n, i, "off"))
		{
			EMIT("ov");
			break;
		}
		if (rest_is(w, n, i, "eff"))
		{
			EMIT("ev");
			break;
		}
		switch (c)
		{
			case 'x':
				EMIT("ks");
				i++;
				continue;
			case 'q':
				EMIT("k");
				i++;
				continue;
			case 'w':
				EMIT("v");
				i++;
				continue;
			case 'c':
				out[o++] = (nxt == 'e' || nxt == 'i' || nxt == 'y') ? 'c' : 'k';
				i++;
				continue;
			default:
				break;
		}
		if (c == 'i' || c == 'j' || c == 'y')
		{
			if (c == 'i' && (nxt == 'y' || nxt == 'j') && i + 2 < n &&
				is_glide_vowel(w[i + 2]) && (start || after_cons))
			{
				EMIT(glide(w[i + 2], start, after_cons, 'y'));
				i += 3;
				continue;
			}
			if (is_glide_vowel(nxt) && (c != 'i' || start || after_cons) &&
				!(c == 'i' && nxt == 'o'))
			{
				EMIT(glide(nxt, start, after_cons, c));
				i += 2;
				continue;
			}
			if (c != 'i')
			{
				EMIT("i");
				i++;
				continue;
			}
		}
		if (c == 'o' && nxt == 'u')
		{
			EMIT("u");
			i += 2;
			continue;
		}
		if (after_cons && nxt == 'e' && (c == 'u' || c == 'o' || c == 'a') &&
			i + 2 < n && !is_vowel(w[i + 2]))
		{
			out[o++] = c;
			i += 2;
			continue;
		}
		/*
		 * Russian writes English w before a vowel as у (Wellin Уэллин, William
		 * Уильям): a word-initial u before a vowel is read as w.  Only at the start:
		 * inside a word u + vowel is as often a real u (Luigi, Samuel).
		 */
		if (c == 'u' && start && (nxt == 'a' || nxt == 'e' || nxt == 'i' || nxt == 'o'))
		{
			out[o++] = 'v';
			i++;
			continue;
		}
		out[o++] = c;
		i++;
	}
#undef EMIT

	/* runs of one letter become one letter */
	if (o > 1)
	{
		size_t		j = 1;

		for (k = 1; k < o; k++)
			if (out[k] != out[j - 1] || (out[k] >= '0' && out[k] <= '9'))
				out[j++] = out[k];
		o = j;
	}
	out[o] = '\0';
	return o;
}

/* sound class of a consonant unit (letter, or digraph sh/ch/zh marked by 'h' in d) */
static char
sound_class(char c, bool digraph)
{
	if (digraph)
		return c == 's' ? 'x' : c == 'c' ? 'q' : 'j';
	switch (c)
	{
		case 'h':
			return 'g';
		case 'z':
		case 'c':
			return 's';
		default:
			return c;
	}
}

size_t
cd_phonetic_folded_word(const char *f, size_t n, char *out)
{
	size_t		i = 0;
	size_t		o = 0;
	char		last = '\0';
	bool		prev_vowel = false;

	while (i < n)
	{
		char		c = f[i];
		bool		digraph = (c == 's' || c == 'c' || c == 'z') && i + 1 < n && f[i + 1] == 'h';
		size_t		ulen = digraph ? 2 : 1;
		char		cl;

		if (c >= '0' && c <= '9')
		{
			out[o++] = c;
			last = '\0';
			prev_vowel = false;
			i++;
			continue;
		}
		if (is_vowel(c))
		{
			if (i == 0)
				out[o++] = 'a';
			last = 'V';
			prev_vowel = true;
			i++;
			continue;
		}
		if (c == 'h' && prev_vowel && !(i + 1 < n && is_vowel(f[i + 1])))
		{
			/* silent h: Zehrfuss = Зерфусс; prev_vowel stays as it was */
			i++;
			continue;
		}
		/*
		 * An affricate is keyed by its second half: "dzh" (Джон Dzhon = John, read as
		 * English) and "dz" (Polish, Japanese) by zh and z, "tts"/"ttz" (Гётце
		 * Gettse = Goetze) by c.
		 */
		if ((c == 'd' && i + 1 < n && f[i + 1] == 'z') ||
			(c == 't' && i + 1 < n && f[i + 1] == 'c'))
		{
			i++;
			continue;
		}
		cl = sound_class(c, digraph);
		if (cl != last)
			out[o++] = cl;
		last = cl;
		prev_vowel = false;
		i += ulen;
	}
	out[o] = '\0';
	return o;
}

CdMatchStatus
cd_phonetic(const char *in, size_t len, CdBuf *out)
{
	CdBuf		tr;
	CdTextStatus ts;
	size_t		orig_len = out->len;
	size_t		i;
	bool		first = true;
	char		fold[CD_SPELL_FOLD_SIZE(64)];
	char		key[CD_SPELL_FOLD_SIZE(64)];

	if (len > CD_MATCH_MAX_BYTES)
		return CD_MATCH_TOO_LONG;
	if (!cd_utf8_valid(in, len))
		return CD_MATCH_INVALID_UTF8;

	cd_buf_init(&tr, out->alloc);
	ts = cd_translit(in, len, &tr);
	if (ts != CD_TEXT_OK)
	{
		cd_buf_free(&tr);
		return ts == CD_TEXT_NOMEM ? CD_MATCH_NOMEM :
			ts == CD_TEXT_INVALID_UTF8 ? CD_MATCH_INVALID_UTF8 : CD_MATCH_ICU_ERROR;
	}

	i = 0;
	while (i < tr.len)
	{
		size_t		start = i;
		size_t		wl,
					fl,
					kl;

		while (i < tr.len && tr.data[i] != ' ')
			i++;
		wl = i - start;
		if (wl > 0)
		{
			/*
			 * Words longer than 64 letters are no names: their first 64 letters
			 * stand for them, which bounds the stack buffers.
			 */
			if (wl > 64)
				wl = 64;
			fl = cd_spell_fold_word(tr.data + start, wl, fold);
			kl = cd_phonetic_folded_word(fold, fl, key);
			if (kl > 0)
			{
				if ((!first && !cd_buf_append_byte(out, ' ')) ||
					!cd_buf_append(out, key, kl))
				{
					cd_buf_free(&tr);
					out->len = orig_len;
					if (out->data)
						out->data[orig_len] = '\0';
					return CD_MATCH_NOMEM;
				}
				first = false;
			}
		}
		while (i < tr.len && tr.data[i] == ' ')
			i++;
	}
	cd_buf_free(&tr);
	return CD_MATCH_OK;
}

char
cd_fold_lead_vowel(const char *f, size_t n)
{
	if (n >= 2 && f[0] == 'y' && strchr("aeiou", f[1]) != NULL)
		return f[1];
	if (n >= 1 && strchr("aeiouy", f[0]) != NULL)
		return f[0];
	return '\0';
}
