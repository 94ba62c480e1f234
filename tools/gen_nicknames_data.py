#!/usr/bin/env python3
"""Compile data/nicknames.tsv into C (src/core/nicknames_data.c) on stdout.

Usage: gen_nicknames_data.py [path-to-tsv] [--report]
  --report  also list, on stderr, the folded spellings that stand in several groups

Every name is transliterated (Cyrillic by the small table below, the way
crmdedup.translit() writes Russian names; Latin lower-cased without accents) and then
spelling-folded by spell_fold(), a copy of cd_spell_fold_word() in src/core/phonetic.c:
the C lookup folds its input the same way, and test/unit/test_matching.c looks every
source spelling up through the C code to prove the two copies agree.

Output: the version string, the canonical name of every group, the (folded spelling,
group) pairs sorted bytewise by spelling for binary search, and every source spelling
with its group for the tests.  The generator refuses a file without a version line, a
line that is not "lang<TAB>names", a letter it cannot transliterate, or two groups with
the same canonical name, so a typo in the data fails the build.
"""
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
REPORT = "--report" in sys.argv[1:]
SRC = ARGS[0] if ARGS else os.path.join(HERE, "..", "data", "nicknames.tsv")

VERSION = re.compile(r"^#\s*version:\s*(\S.*?)\s*$")
LANGS = ("ru", "en", "de")

# Russian letters as crmdedup.translit() writes them in names (ё is folded to е first)
CYR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}
# Latin letters without a decomposition
LATIN_EXTRA = {"ß": "ss", "ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ı": "i", "þ": "th"}


def fail(lineno, msg):
    sys.stderr.write("%s:%d: %s\n" % (SRC, lineno, msg))
    sys.exit(1)


def translit(name, lineno):
    out = []
    for ch in name.lower():
        if ch in CYR:
            out.append(CYR[ch])
        elif ch in LATIN_EXTRA:
            out.append(LATIN_EXTRA[ch])
        elif "a" <= ch <= "z":
            out.append(ch)
        else:
            base = "".join(c for c in unicodedata.normalize("NFD", ch)
                           if not unicodedata.combining(c))
            if len(base) == 1 and "a" <= base <= "z":
                out.append(base)
            else:
                fail(lineno, "cannot transliterate %r in %r" % (ch, name))
    if not out:
        fail(lineno, "empty name")
    return "".join(out)


# ---- copy of cd_spell_fold_word() (src/core/phonetic.c); keep the two in step ----
VOWELS = "aeiouy"
GLIDE_V = "aeou"
TWO = {"kh": "h", "ph": "f", "th": "t", "gh": "g", "ck": "k", "ts": "c", "tz": "c", "tc": "c",
       "cz": "ch"}
ENDINGS = ("iy", "yy", "ij", "yj", "ii", "y", "j")


def _glide(v, start, after_cons, g):
    if v == "a":
        return "ya"
    if v == "u":
        return "yu"
    if v == "e":
        return "e"
    if start:
        return "e" if g == "y" else "yo"
    return "e" if after_cons else "yo"


def spell_fold(w):
    n = len(w)
    out = []
    i = 0
    while i < n:
        prev = w[i - 1] if i else ""
        start = i == 0
        after_cons = prev != "" and prev not in VOWELS
        rest = w[i:]
        c = w[i]
        nxt = w[i + 1] if i + 1 < n else ""
        two = rest[:2]
        if start and rest.startswith("mc") and n > 3:
            out.append("mak"); i += 2; continue
        if rest.startswith(("shtch", "chtch")):
            out.append("sh"); i += 5; continue
        if rest.startswith(("shch", "stch")):
            out.append("sh"); i += 4; continue
        if rest.startswith("sch"):
            out.append("sh"); i += 3; continue
        if rest.startswith("tch"):
            out.append("ch"); i += 3; continue
        if two in ("sh", "ch", "zh"):
            out.append(two); i += 2; continue
        if two in TWO:
            out.append(TWO[two]); i += 2; continue
        if rest in ENDINGS:
            out.append("i"); break
        if rest == "ic" and n >= 5:
            out.append("ich"); break
        if rest == "off":
            out.append("ov"); break
        if rest == "eff":
            out.append("ev"); break
        if c == "x":
            out.append("ks"); i += 1; continue
        if c == "q":
            out.append("k"); i += 1; continue
        if c == "w":
            out.append("v"); i += 1; continue
        if c == "c":
            out.append("c" if nxt in ("e", "i", "y") else "k"); i += 1; continue
        if c in "ijy":
            if (c == "i" and nxt in ("y", "j") and i + 2 < n and w[i + 2] in GLIDE_V
                    and (start or after_cons)):
                out.append(_glide(w[i + 2], start, after_cons, "y")); i += 3; continue
            if (nxt != "" and nxt in GLIDE_V and (c != "i" or start or after_cons)
                    and not (c == "i" and nxt == "o")):
                out.append(_glide(nxt, start, after_cons, c)); i += 2; continue
            if c != "i":
                out.append("i"); i += 1; continue
        if two == "ou":
            out.append("u"); i += 2; continue
        if after_cons and two in ("ue", "oe", "ae") and i + 2 < n and w[i + 2] not in VOWELS:
            out.append(c); i += 2; continue
        if c == "u" and start and nxt in ("a", "e", "i", "o"):
            out.append("v"); i += 1; continue
        out.append(c); i += 1
    res = []
    for ch in "".join(out):
        if not res or res[-1] != ch or ch.isdigit():
            res.append(ch)
    return "".join(res)
# ---- end of the copy ----


def c_string(s):
    out = ['"']
    for b in s.encode("utf-8"):
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\%03o" % b)
    out.append('"')
    return "".join(out)


def main():
    version = None
    groups = []         # (canonical translit, [(source, folded)])
    canon_seen = {}
    with open(SRC, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = VERSION.match(line)
            if m:
                if version is not None:
                    fail(lineno, "second version line")
                version = m.group(1)
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 2 or cols[0] not in LANGS:
                fail(lineno, "expected lang<TAB>names with lang one of %s" % ", ".join(LANGS))
            names = [n.strip() for n in cols[1].split(",")]
            if any(not n for n in names):
                fail(lineno, "empty name in the list")
            members = []
            seen = set()
            for n in names:
                if " " in n:
                    fail(lineno, "a name is one word: %r" % n)
                key = spell_fold(translit(n, lineno))
                if (n, key) not in seen:
                    seen.add((n, key))
                    members.append((n, key))
            canon = translit(names[0], lineno)
            if canon in canon_seen:
                fail(lineno, "group %r already defined on line %d" % (canon, canon_seen[canon]))
            canon_seen[canon] = lineno
            groups.append((canon, members))
    if version is None:
        fail(0, "no '# version:' line")
    if len(groups) > 65535:
        fail(0, "too many groups")

    pairs = sorted({(key.encode("ascii"), g) for g, (_, members) in enumerate(groups)
                    for _, key in members})
    if REPORT:
        bykey = {}
        for key, g in pairs:
            bykey.setdefault(key, []).append(groups[g][0])
        for key, cs in sorted(bykey.items()):
            if len(cs) > 1:
                sys.stderr.write("%s: %s\n" % (key.decode(), ", ".join(cs)))
        sys.stderr.write("%d groups, %d spellings\n" % (len(groups), len(pairs)))

    w = sys.stdout.write
    w("/* Generated by tools/gen_nicknames_data.py from data/nicknames.tsv: do not edit. */\n")
    w("#include \"name_match.h\"\n\n")
    w("const char cd_nicknames_version[] = %s;\n\n" % c_string(version))
    w("const char *const cd_nickname_canonicals[] = {\n")
    for canon, _ in groups:
        w("\t%s,\n" % c_string(canon))
    w("};\n")
    w("const size_t cd_nickname_ngroups = %d;\n\n" % len(groups))
    w("/* folded spelling -> group, sorted bytewise by spelling */\n")
    w("const CdNicknameEntry cd_nickname_entries[] = {\n")
    for key, g in pairs:
        w("\t{%s, %d},\n" % (c_string(key.decode()), g))
    w("};\n")
    w("const size_t cd_nickname_nentries = %d;\n\n" % len(pairs))
    w("/* every spelling of the data file and its group, for the unit tests */\n")
    w("const CdNicknameEntry cd_nickname_sources[] = {\n")
    for g, (_, members) in enumerate(groups):
        for n, _ in members:
            w("\t{%s, %d},\n" % (c_string(n), g))
    w("};\n")
    w("const size_t cd_nickname_nsources = %d;\n"
      % sum(len(m) for _, m in groups))


if __name__ == "__main__":
    main()
