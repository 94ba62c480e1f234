#!/usr/bin/env python3
"""Generate a sample CRM for the crmdedup demo, as a SQL script on stdout.

    python3 demo/generate.py --seed 42 --contacts 5000 [--dup-rate 0.3] | psql -d demo

The script loads every table of demo/schema.sql with COPY ... FROM stdin (explicit ids),
moves the identity sequences past them and runs ANALYZE.  Contacts are about 1/3 Russian,
1/3 English-speaking (US, UK), 1/6 Chinese and 1/6 German, Indian and Brazilian, written the
way people write them.  About --dup-rate of the contacts are duplicates of another contact,
made the way duplicates really arise (reformatted phones, email variants, typos, word order,
transliteration, nicknames, patronymics, initials, company legal forms, missing fields,
repeated web-form requests); crm.demo_truth records which is which.

Only the standard library is used.  The output depends on the arguments and the files in
demo/data/ only: the same seed gives byte-identical output (no clock, no set ordering).
"""

import argparse
import bisect
import datetime
import io
import os
import sys

import random

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

# Culture mix: ru 1/3, en 1/3 (US and UK), zh 1/6, de/in/br 1/18 each.
CULTURE_WEIGHTS = [("ru", 6), ("en", 6), ("zh", 3), ("de", 1), ("in", 1), ("br", 1)]
COUNTRY_OF = {"ru": "RU", "zh": "CN", "de": "DE", "in": "IN", "br": "BR"}  # en: US or GB

BASE = datetime.datetime(2022, 1, 1)  # fixed: contacts are created 2022-01-01 .. 2024-12-31
SPAN = 3 * 365 * 86400


# --------------------------------------------------------------------------- data files

def read_tsv(name, ncols):
    """Rows of demo/data/<name>, '#' lines skipped, padded to ncols fields."""
    rows = []
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            cells += [""] * (ncols - len(cells))
            rows.append(cells[:ncols])
    return rows


def split_bar(s):
    return [x for x in s.split("|") if x] if s else []


class Pool:
    """Weighted choice with precomputed cumulative weights."""

    def __init__(self, items, weights=None):
        self.items = list(items)
        if not self.items:
            raise ValueError("empty pool")
        ws = weights if weights is not None else [1] * len(self.items)
        self.cum = []
        total = 0.0
        for w in ws:
            total += float(w)
            self.cum.append(total)
        self.total = total

    def pick(self, rng):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


def load_data():
    first = {}
    for culture, gender, name, variants, nicks, patr, weight in read_tsv("first_names.tsv", 7):
        first.setdefault((culture, gender), []).append({
            "name": name, "variants": split_bar(variants), "nicks": split_bar(nicks),
            "patr": split_bar(patr), "weight": float(weight or 1)})
    sur = {}
    for culture, name, female, variants, particle, weight in read_tsv("surnames.tsv", 6):
        sur.setdefault(culture, []).append({
            "name": name, "female": female or name, "variants": split_bar(variants),
            "particle": particle, "weight": float(weight or 1)})
    cities = {}
    for country, name, alt, codes, weight, extra in read_tsv("cities.tsv", 6):
        cities.setdefault(country, []).append({
            "name": name, "alt": split_bar(alt), "codes": split_bar(codes),
            "weight": float(weight or 1), "extra": extra})
    words = {}
    for culture, kind, word, latin in read_tsv("company_words.tsv", 4):
        words.setdefault((culture, kind), []).append((word, latin))
    d = {"first": {}, "sur": {}, "cities": {}, "words": words}
    for k, v in first.items():
        d["first"][k] = Pool(v, [x["weight"] for x in v])
    for k, v in sur.items():
        d["sur"][k] = Pool(v, [x["weight"] for x in v])
    for k, v in cities.items():
        d["cities"][k] = Pool(v, [x["weight"] for x in v])
    return d


# --------------------------------------------------------------------------- text helpers

_COPY_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def cell(v):
    """One COPY text-format field."""
    if v is None:
        return "\\N"
    return str(v).translate(_COPY_ESC)


def ts(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S+00")


# Russian -> Latin.  'gost' is the common/BGN-like style of business cards, 'icao' the one
# in Russian passports since 2014, 'simple' what people type in logins (x -> h, shch -> sch).
_RU_COMMON = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    "й": "y",
}
_RU_SYSTEMS = {
    "gost": dict(_RU_COMMON),
    "icao": dict(_RU_COMMON, **{"й": "i", "ю": "iu", "я": "ia", "ъ": "ie"}),
    "simple": dict(_RU_COMMON, **{"х": "h", "щ": "sch", "ц": "c", "ё": "yo"}),
}
_RU_VOWELS = "аеёиоуыэюяь"


def translit_ru(text, system="gost"):
    """Transliterate Russian text, keeping word capitalisation."""
    table = _RU_SYSTEMS[system]
    out = []
    prev = ""
    n = len(text)
    for i, ch in enumerate(text):
        low = ch.lower()
        nxt = text[i + 1].lower() if i + 1 < n else ""
        if low in table:
            if system == "gost" and low == "е" and (prev == "" or prev in _RU_VOWELS or not prev.isalpha()):
                lat = "ye" if prev in _RU_VOWELS and prev != "" else "e"
            elif low == "и" and nxt == "й" and (i + 2 >= n or not text[i + 2].isalpha()):
                lat = {"gost": "i", "icao": "i", "simple": ""}[system]
            elif low == "й" and prev == "и" and system == "simple" and (i + 1 >= n or not text[i + 1].isalpha()):
                lat = "y"
            elif low == "ы" and nxt == "й" and (i + 2 >= n or not text[i + 2].isalpha()):
                lat = "y" if system != "simple" else ""
            else:
                lat = table[low]
            if ch != low and lat:
                lat = lat[0].upper() + lat[1:]
            out.append(lat)
        else:
            out.append(ch)
        prev = low
    return "".join(out)


_DE_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_STRIP_MARKS = str.maketrans({
    "ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "ss", "á": "a", "à": "a",
    "â": "a", "ã": "a", "é": "e", "ê": "e", "í": "i", "ó": "o", "ô": "o", "õ": "o", "ú": "u",
    "ç": "c", "Á": "A", "É": "E", "Í": "I", "Ó": "O", "Ú": "U", "Ç": "C", "Â": "A", "Ê": "E",
    "Ô": "O", "Ã": "A", "Õ": "O", "'": "", "’": ""})


def ascii_login(text):
    """Lower-case ASCII letters for email local parts and domains."""
    s = translit_ru(text, "simple") if any("а" <= c.lower() <= "я" or c in "ёЁ" for c in text) else text
    s = s.translate(_DE_ASCII).translate(_STRIP_MARKS).lower()
    return "".join(c for c in s if "a" <= c <= "z" or "0" <= c <= "9")


# Keyboard neighbours for one-letter typos (QWERTY and ЙЦУКЕН rows).
def _neighbours(rows):
    nb = {}
    for r, row in enumerate(rows):
        for i, ch in enumerate(row):
            near = []
            if i > 0:
                near.append(row[i - 1])
            if i + 1 < len(row):
                near.append(row[i + 1])
            for rr in (r - 1, r + 1):
                if 0 <= rr < len(rows) and i < len(rows[rr]):
                    near.append(rows[rr][i])
            nb[ch] = near
    return nb


_KEY_NEAR = _neighbours(["qwertyuiop", "asdfghjkl", "zxcvbnm"])
_KEY_NEAR.update(_neighbours(["йцукенгшщзх", "фывапролджэ", "ячсмитьбю"]))


def typo(rng, word):
    """One realistic typing slip in a word of 4+ letters: neighbour key, dropped,
    doubled or swapped letter.  The first letter is left alone."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word))
    op = rng.random()
    if op < 0.4:
        ch = word[i]
        near = _KEY_NEAR.get(ch.lower())
        if not near:
            return word
        rep = rng.choice(near)
        if ch.isupper():
            rep = rep.upper()
        return word[:i] + rep + word[i + 1:]
    if op < 0.65:
        return word[:i] + word[i + 1:]
    if op < 0.8:
        return word[:i] + word[i] + word[i:]
    if i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i - 1] + word[i] + word[i - 1]
