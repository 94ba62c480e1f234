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
import random
import re
import sys

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
    # Chinese given names of two characters are mostly free combinations of single ones.
    d["zh_single"] = {}
    for g in ("m", "f"):
        single = [x for x in first.get(("zh", g), []) if len(x["name"]) == 1]
        if single:
            d["zh_single"][g] = Pool(single, [x["weight"] for x in single])
    for k, v in sur.items():
        d["sur"][k] = Pool(v, [x["weight"] for x in v])
    for k, v in cities.items():
        d["cities"][k] = Pool(v, [x["weight"] for x in v])
    return d


# --------------------------------------------------------------------------- text helpers

_COPY_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_NEEDS_ESC = re.compile(r"[\\\t\n\r]")


def cell(v):
    """One COPY text-format field."""
    if v is None:
        return "\\N"
    if v.__class__ is not str:
        return str(v)
    return v.translate(_COPY_ESC) if _NEEDS_ESC.search(v) else v


def ts(dt):
    return dt.isoformat(" ") + "+00"  # whole seconds, UTC


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
    """Transliterate Russian text, keeping word capitalisation.  Word-final -ий/-ый follow
    the system (Yuriy / Iurii / Yury), and 'gost' writes е after a vowel as ye (Alekseyev)."""
    table = _RU_SYSTEMS[system]
    out = []
    prev = ""
    n = len(text)
    for i, ch in enumerate(text):
        low = ch.lower()
        if low not in table:
            out.append(ch)
            prev = low
            continue
        final_y = i + 1 < n and text[i + 1].lower() == "й" and (i + 2 >= n or not text[i + 2].isalpha())
        if system == "gost" and low == "е" and prev and prev in _RU_VOWELS:
            lat = "ye"
        elif low == "и" and final_y:
            lat = "" if system == "simple" else "i"
        elif low == "ы" and final_y:
            lat = "" if system == "simple" else "y"
        else:
            lat = table[low]
        if ch != low and lat:
            lat = lat[0].upper() + lat[1:]
        out.append(lat)
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


# --------------------------------------------------------------------------- phones

RU_MOBILE = ("900 901 902 903 904 905 906 908 909 910 911 912 913 914 915 916 917 918 919 "
             "920 921 922 923 924 925 926 927 928 929 930 931 936 937 950 951 952 953 958 "
             "960 961 962 963 964 965 966 967 968 969 977 978 980 981 982 983 984 985 986 "
             "987 988 989 991 992 993 994 995 996 997 999").split()
CN_MOBILE = ("130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
             "166 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199").split()
DE_MOBILE = "151 152 157 160 162 170 171 172 173 174 175 176 177 178 179".split()
# UK mobile number ranges in use (07xx x, the part after 07 and before the six last digits).
GB_MOBILE = [r for r in ("%03d" % n for n in range(710, 800))
             if r[:2] in ("71", "72", "73") or r in (
                 "740 741 742 743 744 746 747 748 749 750 751 753 754 755 756 757 758 759 "
                 "771 772 773 774 775 776 777 780 781 784 785 786 787 788 789 790 792 794 "
                 "795 796 797 798 799").split()]


class Phone:
    """A real-looking number: country, area code (national, without trunk prefix),
    subscriber digits, whether it is a mobile."""
    __slots__ = ("country", "area", "sub", "mobile")

    def __init__(self, country, area, sub, mobile):
        self.country, self.area, self.sub, self.mobile = country, area, sub, mobile

    def key(self):
        return (self.country, self.area, self.sub)


def _digits(rng, n, first="0123456789"):
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def new_phone(rng, country, city, mobile):
    codes = city["codes"] if city else []
    if country == "RU":
        if mobile or not codes:
            return Phone("RU", rng.choice(RU_MOBILE), _digits(rng, 7, "123456789"), True)
        a = rng.choice(codes)
        return Phone("RU", a, _digits(rng, 10 - len(a), "23456789"), False)
    if country == "US":
        a = rng.choice(codes) if codes else "212"
        while True:
            e = _digits(rng, 3, "23456789")
            if e[1:] != "11" and e != "555":
                break
        if rng.random() < 0.04:
            e, line = "555", "01" + _digits(rng, 2)
        else:
            line = _digits(rng, 4)
        return Phone("US", a, e + line, mobile)
    if country == "GB":
        if mobile or not codes:
            return Phone("GB", rng.choice(GB_MOBILE) + _digits(rng, 1), _digits(rng, 6), True)
        a = rng.choice(codes)
        if a == "20":
            return Phone("GB", a, rng.choice("378") + _digits(rng, 7), False)
        if a == "28":
            return Phone("GB", a, rng.choice(["90", "95"]) + _digits(rng, 6), False)
        if a == "29":
            return Phone("GB", a, "20" + _digits(rng, 6), False)
        return Phone("GB", a, _digits(rng, 7, "2345678"), False)
    if country == "CN":
        if mobile or not codes:
            return Phone("CN", "", rng.choice(CN_MOBILE) + _digits(rng, 8), True)
        a = rng.choice(codes)
        return Phone("CN", a, _digits(rng, 7 if a == "592" else 8, "2345678"), False)
    if country == "DE":
        if mobile or not codes:
            a = rng.choice(DE_MOBILE)
            return Phone("DE", a, _digits(rng, 8 if a.startswith("15") else rng.choice((7, 8)), "123456789"), True)
        a = rng.choice(codes)
        return Phone("DE", a, _digits(rng, 10 - len(a), "23456789"), False)
    if country == "IN":
        if mobile or not codes:
            return Phone("IN", "", _digits(rng, 10, "9999888776"), True)
        a = rng.choice(codes)
        return Phone("IN", a, _digits(rng, 10 - len(a), "2222246"), False)
    if country == "BR":
        a = rng.choice(codes) if codes else "11"
        if mobile:
            return Phone("BR", a, "9" + _digits(rng, 8, "6789"), True)
        return Phone("BR", a, _digits(rng, 8, "2345"), False)
    raise ValueError(country)


def _pool(spec):
    return Pool([t for t, _ in spec], [w for _, w in spec])


# Written forms, as people type them.  Fields: a = area code, s = subscriber digits,
# g = subscriber grouped with spaces, d = grouped with dashes, plus per-country pieces.
PHONE_FORMATS = {
    "RU": _pool([
        ("8 ({a}) {d}", 20), ("+7 ({a}) {d}", 12), ("+7 {a} {g}", 12), ("+7 {a} {d}", 8),
        ("8{a}{s}", 10), ("+7{a}{s}", 12), ("8-{a}-{d}", 6), ("8 {a} {s}", 4), ("7{a}{s}", 4),
        ("8 {a} {g}", 6), ("({a}) {d}", 2), ("{a} {d}", 2), ("+7-{a}-{d}", 2), ("8({a}){d}", 3)]),
    "US": _pool([
        ("({a}) {e}-{l}", 25), ("{a}-{e}-{l}", 15), ("{a}.{e}.{l}", 6), ("+1 {a} {e} {l}", 6),
        ("+1-{a}-{e}-{l}", 8), ("+1 ({a}) {e}-{l}", 10), ("1-{a}-{e}-{l}", 5), ("{a}{e}{l}", 8),
        ("+1{a}{e}{l}", 12), ("1 ({a}) {e}-{l}", 3), ("{a} {e} {l}", 3)]),
    "GB": _pool([
        ("0{a} {g}", 30), ("+44 {a} {g}", 15), ("+44 (0){a} {g}", 10), ("(0{a}) {g}", 6),
        ("0{a}{s}", 10), ("+44{a}{s}", 10), ("0044 {a} {g}", 3), ("+44 (0) {a} {g}", 3),
        ("0{a}-{d}", 2)]),
    "CN": _pool([
        ("0{a}-{s}", 20), ("0{a}-{g}", 10), ("(0{a}) {s}", 8), ("+86 {a} {g}", 10),
        ("+86-{a}-{s}", 6), ("0{a} {g}", 8), ("+86{a}{s}", 3)]),
    "CN-mobile": _pool([
        ("{g}", 20), ("{d}", 10), ("{s}", 25), ("+86 {g}", 10), ("+86 {d}", 8), ("+86{s}", 10),
        ("+86 {s}", 8), ("0086 {s}", 3), ("(+86) {g}", 3), ("86-{s}", 3)]),
    "DE": _pool([
        ("0{a} {s}", 20), ("0{a}/{s}", 10), ("0{a} {g}", 10), ("+49 {a} {s}", 15),
        ("+49 (0){a} {s}", 8), ("+49 {a} {g}", 10), ("0049 {a} {s}", 4), ("+49{a}{s}", 10),
        ("0{a}-{s}", 6), ("0{a}{s}", 5)]),
    "IN": _pool([
        ("0{a} {g}", 20), ("+91 {a} {g}", 15), ("(0{a}) {s}", 8), ("0{a}-{s}", 15),
        ("+91-{a}-{s}", 8), ("+91{a}{s}", 4)]),
    "IN-mobile": _pool([
        ("{g}", 20), ("+91 {g}", 20), ("+91-{s}", 10), ("0{s}", 8), ("{s}", 20), ("+91{s}", 10),
        ("+91 {d}", 4), ("91 {s}", 3)]),
    "BR": _pool([
        ("({a}) {d}", 30), ("+55 {a} {d}", 15), ("+55 ({a}) {d}", 10), ("{a}{s}", 10),
        ("+55{a}{s}", 10), ("(0{a}) {d}", 5), ("{a} {d}", 8), ("0{a} {d}", 3)]),
}
# E.164-ish forms an API integration writes.
PHONE_API_FORMATS = {
    "RU": "+7{a}{s}", "US": "+1{a}{e}{l}", "GB": "+44{a}{s}", "CN": "+86{a}{s}",
    "CN-mobile": "+86{s}", "DE": "+49{a}{s}", "IN": "+91{a}{s}", "IN-mobile": "+91{s}",
    "BR": "+55{a}{s}",
}
PHONE_EXT = {
    "RU": [" доб. {x}", " доб.{x}", " (доб. {x})", ", доб. {x}", " вн. {x}"],
    "US": [" ext. {x}", " x{x}", " ext {x}", " Ext. {x}"],
    "GB": [" ext. {x}", " ext {x}", " x{x}"],
    "CN": ["转{x}", " 转 {x}", " ext. {x}"],
    "DE": [" Durchwahl {x}", " App. {x}"],
    "IN": [" ext. {x}", " extn. {x}"],
    "BR": [" ramal {x}", " r. {x}"],
}
JUNK_PHONES = ["-", "нет", "0", "000", "n/a", "123", "tbd", "+7", "уточнить", "暂无", "none", "?"]


def _groups(country, p):
    s = p.sub
    if country == "RU":
        parts = [s[:3], s[3:5], s[5:]] if len(s) == 7 else [s[:2], s[2:4], s[4:]]
    elif country == "US":
        parts = [s[:3], s[3:]]
    elif country == "CN" and p.mobile:
        parts = [s[:3], s[3:7], s[7:]]
    elif country in ("CN", "GB", "IN") and not p.mobile:
        parts = [s[:4], s[4:]] if len(s) == 8 else [s[:3], s[3:]]
    elif country == "GB":
        parts = [s] if len(s) == 6 else [s[:3], s[3:]]
    elif country == "IN":
        parts = [s[:5], s[5:]]
    elif country == "DE":
        parts = [s[:4], s[4:]] if len(s) >= 7 else [s]
    else:  # BR
        parts = [s[:-4], s[-4:]]
    return parts


def render_phone(rng, p, style="any", ext=None):
    """The number as someone would write it.  style: 'any' (people) or 'api' (E.164)."""
    key = p.country + ("-mobile" if p.mobile and p.country in ("CN", "IN") else "")
    parts = _groups(p.country, p)
    f = {"a": p.area, "s": p.sub, "g": " ".join(parts), "d": "-".join(parts),
         "e": p.sub[:3], "l": p.sub[3:]}
    if p.country == "GB" and p.mobile and rng.random() < 0.5:
        # 07700 900123: the mobile "area" is written as one block with the trunk 0
        f["g"] = p.sub
    tmpl = PHONE_API_FORMATS[key] if style == "api" else PHONE_FORMATS[key].pick(rng)
    text = tmpl.format(**f)
    if ext:
        text += rng.choice(PHONE_EXT[p.country]).format(x=ext)
    return text


# --------------------------------------------------------------------------- emails

EMAIL_PROVIDERS = {
    "RU": _pool([("gmail.com", 20), ("mail.ru", 25), ("yandex.ru", 25), ("ya.ru", 4), ("bk.ru", 5),
                 ("inbox.ru", 4), ("list.ru", 4), ("rambler.ru", 5)]),
    "US": _pool([("gmail.com", 40), ("yahoo.com", 15), ("outlook.com", 12), ("hotmail.com", 10),
                 ("icloud.com", 10), ("aol.com", 5), ("comcast.net", 4)]),
    "GB": _pool([("gmail.com", 35), ("hotmail.co.uk", 15), ("yahoo.co.uk", 10), ("outlook.com", 12),
                 ("btinternet.com", 8), ("icloud.com", 8), ("sky.com", 4)]),
    "CN": _pool([("qq.com", 40), ("163.com", 25), ("126.com", 12), ("sina.com", 6), ("gmail.com", 8),
                 ("foxmail.com", 5)]),
    "DE": _pool([("gmx.de", 25), ("web.de", 25), ("t-online.de", 15), ("gmail.com", 20),
                 ("posteo.de", 5), ("outlook.de", 5)]),
    "IN": _pool([("gmail.com", 60), ("yahoo.co.in", 15), ("rediffmail.com", 10), ("outlook.com", 10),
                 ("hotmail.com", 5)]),
    "BR": _pool([("gmail.com", 45), ("hotmail.com", 20), ("outlook.com", 10), ("yahoo.com.br", 10),
                 ("uol.com.br", 8), ("bol.com.br", 7)]),
}
# Local parts.  f = given name, l = surname, fi/li = initials, n = nickname, yy/yyyy = birth year.
EMAIL_LOCAL = _pool([
    ("{f}.{l}", 25), ("{l}.{f}", 6), ("{f}{l}", 10), ("{fi}{l}", 10), ("{l}_{fi}", 5), ("{f}_{l}", 6),
    ("{f}.{l}{yy}", 8), ("{f}{l}{yyyy}", 4), ("{l}{fi}", 4), ("{fi}.{l}", 8), ("{f}{yy}", 5),
    ("{n}{yyyy}", 3), ("{f}", 3), ("{l}{yy}", 3)])
EMAIL_LOCAL_ZH = _pool([
    ("{l}{gi}", 15), ("{f}.{l}", 10), ("{l}.{f}", 10), ("{l}{f}", 10), ("{l}{f}{yyyy}", 5),
    ("{gi}{l}", 5), ("{l}_{f}", 4)])
EMAIL_LOCAL_WORK = _pool([
    ("{f}.{l}", 30), ("{fi}.{l}", 20), ("{fi}{l}", 15), ("{l}", 10), ("{f}", 5), ("{l}.{fi}", 5),
    ("{f}{li}", 3)])
GMAIL = ("gmail.com", "googlemail.com")
YANDEX = ("yandex.ru", "ya.ru", "yandex.com", "yandex.by", "yandex.kz")
PLUS_TAGS = ["crm", "news", "shop", "work", "spam", "promo", "1", "2024"]


def email_identity(local, domain):
    """What makes two addresses the same mailbox, for keeping people's addresses apart."""
    local, domain = local.lower(), domain.lower()
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        return local.replace(".", "") + "@gmail.com"
    if domain in YANDEX:
        return local.replace(".", "-") + "@yandex.ru"
    return local + "@" + domain


def _fill_local(tmpl, pieces):
    return tmpl.format(**pieces).strip("._")


def new_email(rng, used, pieces, domain, pool, qq=False):
    """A (local, domain) nobody else uses, from the person's name pieces."""
    if qq and rng.random() < 0.5:
        while True:
            local = str(rng.randrange(10000, 3000000000))
            if email_identity(local, domain) not in used:
                used.add(email_identity(local, domain))
                return (local, domain)
    for attempt in range(8):
        local = _fill_local(pool.pick(rng), pieces)
        if attempt >= 4:
            local += str(rng.randrange(1, 100))
        if len(local) >= 2 and email_identity(local, domain) not in used:
            used.add(email_identity(local, domain))
            return (local, domain)
    while True:
        local = _fill_local("{f}.{l}", pieces) + str(rng.randrange(100, 100000))
        if email_identity(local, domain) not in used:
            used.add(email_identity(local, domain))
            return (local, domain)


def _title_case_email(text):
    out, up = [], True
    for ch in text:
        out.append(ch.upper() if up else ch)
        up = not ch.isalnum()
    return "".join(out)


def vary_email(rng, local, domain, display_name, n_changes):
    """An address for the same mailbox, written differently (case, dots, +tags, googlemail,
    Yandex aliases, display name, stray spaces)."""
    changes = []
    options = ["case", "case", "spaces", "display", "mailto"]
    if domain in GMAIL:
        options += ["dots", "dots", "dots", "plus", "plus", "googlemail", "googlemail"]
    elif domain in YANDEX:
        options += ["yandex", "yandex", "yandex", "plus"]
    elif domain in ("outlook.com", "hotmail.com", "icloud.com"):
        options += ["plus"]
    for _ in range(n_changes):
        changes.append(rng.choice(options))
    for ch in changes:
        if ch == "dots":
            local = local.replace(".", "")
        elif ch == "plus" and "+" not in local:
            local = local + "+" + rng.choice(PLUS_TAGS)
        elif ch == "googlemail":
            domain = "googlemail.com" if domain == "gmail.com" else "gmail.com"
        elif ch == "yandex":
            domain = rng.choice([d for d in YANDEX if d != domain])
    text = local + "@" + domain
    for ch in changes:
        if ch == "case":
            r = rng.random()
            text = text.upper() if r < 0.25 else _title_case_email(text) if r < 0.8 else \
                text.split("@")[0] + "@" + text.split("@")[1].upper()
    if "display" in changes and display_name:
        name = display_name.strip()
        tmpl = rng.choice(["{n} <{e}>", '"{n}" <{e}>', "{n} <{e}>", "{e} ({n})"])
        if tmpl == "{n} <{e}>" and any(ch in name for ch in ',;:"()<>[]@\\'):
            tmpl = '"{n}" <{e}>'  # mail clients quote such display names
        text = tmpl.format(n=name.replace('"', ""), e=text)
    elif "mailto" in changes:
        text = "mailto:" + text
    elif "spaces" in changes:
        text = rng.choice([" ", "", "  "]) + text + (";" if rng.random() < 0.05 else rng.choice([" ", "  ", ""]))
    return text


# --------------------------------------------------------------------------- companies

# Legal forms: the first spelling is the usual one; the others are how the same form gets
# written elsewhere.  {b} = brand, {B} = brand upper case, {l} = brand in Latin letters.
LEGAL_FORMS = {
    "RU": {
        "ooo": (80, ["ООО «{b}»", 'ООО "{b}"', "ООО {b}", "{b} ООО", "{b}, ООО", 'ООО "{B}"',
                     "Общество с ограниченной ответственностью «{b}»", "ООО «{b}»"],
                ["{l} LLC", "OOO {l}", '{l}, LLC', 'LLC "{l}"', "{l} Ltd"]),
        "ao": (12, ["АО «{b}»", 'АО "{b}"', "{b} АО", "Акционерное общество «{b}»", "АО {b}"],
               ["JSC {l}", "{l} JSC", "AO {l}"]),
        "pao": (3, ["ПАО «{b}»", 'ПАО "{b}"', 'Публичное акционерное общество "{b}"'],
                ["PJSC {l}", "{l} PJSC"]),
        "zao": (5, ["ЗАО «{b}»", 'ЗАО "{b}"', "{b} ЗАО"], ["CJSC {l}", "ZAO {l}"]),
    },
    "US": {
        "inc": (45, ["{b} Inc.", "{b}, Inc.", "{b} Inc", "{b} Incorporated", "{B} INC"], []),
        "llc": (35, ["{b} LLC", "{b}, LLC", "{b} L.L.C.", "{b} llc"], []),
        "corp": (20, ["{b} Corp.", "{b} Corporation", "{b} Corp", "{B} CORP."], []),
    },
    "GB": {
        "ltd": (80, ["{b} Ltd", "{b} Ltd.", "{b} Limited", "{B} LTD", "{b} Ltd"], []),
        "plc": (8, ["{b} plc", "{b} PLC", "{b} p.l.c."], []),
        "llp": (12, ["{b} LLP", "{b} L.L.P."], []),
    },
    "CN": {
        "yx": (60, ["{c}{b}有限公司", "{b}有限公司", "{c}{b}", "{c}市{b}有限公司"],
               ["{cl} {l} Co., Ltd.", "{l} Co. Ltd", "{cl} {l} Co., Ltd"]),
        "yxzr": (25, ["{c}{b}有限责任公司", "{b}有限责任公司", "{c}{b}有限公司", "{c}{b}"],
                 ["{cl} {l} Co., Ltd.", "{l} Co., Ltd."]),
        "gf": (15, ["{c}{b}股份有限公司", "{b}股份有限公司", "{c}{b}股份公司"],
               ["{cl} {l} Co., Ltd.", "{l} Corporation"]),
    },
    "DE": {
        "gmbh": (70, ["{b} GmbH", "{b} G.m.b.H.", "{b} Gmbh", "{B} GMBH", "{b} GmbH"], ["{l} GmbH"]),
        "ag": (10, ["{b} AG", "{b} Aktiengesellschaft"], ["{l} AG"]),
        "kg": (15, ["{b} GmbH & Co. KG", "{b} GmbH & Co KG", "{b} GmbH u. Co. KG"], ["{l} GmbH & Co. KG"]),
        "ug": (5, ["{b} UG (haftungsbeschränkt)", "{b} UG", "{b} UG (haftungsbeschraenkt)"], []),
    },
    "IN": {
        "pvt": (70, ["{b} Pvt. Ltd.", "{b} Pvt Ltd", "{b} Private Limited", "{b} Pvt. Limited",
                     "{B} PVT LTD", "{b} (P) Ltd"], []),
        "ltd": (15, ["{b} Ltd.", "{b} Limited", "{b} Ltd"], []),
        "llp": (15, ["{b} LLP", "{b} L.L.P."], []),
    },
    "BR": {
        "ltda": (70, ["{b} Ltda.", "{b} Ltda", "{b} LTDA", "{b} Limitada", "{b} Ltda. - ME"], ["{l} Ltda."]),
        "sa": (15, ["{b} S.A.", "{b} S/A", "{b} SA"], ["{l} S.A."]),
        "me": (10, ["{b} ME", "{b} - ME", "{b} Ltda. ME"], []),
        "eireli": (5, ["{b} EIRELI", "{b} Eireli", "{b} - EIRELI"], []),
    },
}
LEGAL_POOLS = {c: _pool([(k, v[0]) for k, v in forms.items()]) for c, forms in LEGAL_FORMS.items()}
TLDS = {"RU": _pool([(".ru", 80), (".com", 15), (".su", 2), (".net", 3)]),
        "US": _pool([(".com", 85), (".net", 5), (".co", 5), (".io", 5)]),
        "GB": _pool([(".co.uk", 70), (".com", 25), (".uk", 5)]),
        "CN": _pool([(".com.cn", 40), (".cn", 30), (".com", 30)]),
        "DE": _pool([(".de", 90), (".com", 10)]),
        "IN": _pool([(".in", 35), (".co.in", 25), (".com", 40)]),
        "BR": _pool([(".com.br", 90), (".com", 10)])}
DOMAIN_TAILS = ["-group", "-pro", "24", "-online", "-hq", "-co", "plus", "-trade"]


class Company:
    __slots__ = ("id", "culture", "country", "city", "brand", "latin", "form", "name", "tax_id",
                 "website", "domain", "created", "office", "weight", "variants", "city_name")


def _inn10(rng, region):
    d = [int(c) for c in region] + [rng.randrange(10) for _ in range(7)]
    w = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    d.append(sum(a * b for a, b in zip(d, w)) % 11 % 10)
    return "".join(map(str, d))


_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _uscc(rng, region):
    org = [rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8)]
    vals = [_USCC.index(c) if c in _USCC else 0 for c in org]
    w = [3, 7, 9, 10, 5, 8, 4, 2]
    c9 = 11 - sum(a * b for a, b in zip(vals, w)) % 11
    org.append("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    body = "91" + region + "".join(org)
    total = sum(_USCC.index(c) * (3 ** i % 31) for i, c in enumerate(body))
    return body + _USCC[(31 - total % 31) % 31]


def _de_vat(rng):
    d = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(7)]
    product = 10
    for x in d:
        s = (x + product) % 10 or 10
        product = (2 * s) % 11
    check = 11 - product
    return "DE" + "".join(map(str, d)) + str(0 if check == 10 else check)


_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _gstin(rng, state):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pan = "".join(rng.choice(letters) for _ in range(3)) + "C" + rng.choice(letters) + \
        "".join(str(rng.randrange(10)) for _ in range(4)) + rng.choice(letters)
    body = state + pan + "1Z"
    total = 0
    for i, c in enumerate(body):
        p = _B36.index(c) * (2 if i % 2 else 1)
        total += p // 36 + p % 36
    return body + _B36[(36 - total % 36) % 36]


def _cnpj(rng):
    d = [rng.randrange(10) for _ in range(8)] + [0, 0, 0, 1]
    for w in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        r = sum(a * b for a, b in zip(d, w)) % 11
        d.append(0 if r < 2 else 11 - r)
    s = "".join(map(str, d))
    return "%s.%s.%s/%s-%s" % (s[:2], s[2:5], s[5:8], s[8:12], s[12:])


def new_tax_id(rng, country, city):
    if country == "RU":
        return _inn10(rng, city["extra"] or "77")
    if country == "US":
        return "%02d-%07d" % (rng.randrange(10, 99), rng.randrange(10 ** 7))
    if country == "GB":
        return "%08d" % rng.randrange(10 ** 5, 14 * 10 ** 6)
    if country == "CN":
        return _uscc(rng, city["extra"] or "110105")
    if country == "DE":
        return _de_vat(rng)
    if country == "IN":
        return _gstin(rng, city["extra"] or "27")
    return _cnpj(rng)


def vary_tax_id(rng, country, tax):
    """The same number written another way."""
    if country == "RU":
        return rng.choice(["ИНН " + tax, "ИНН: " + tax, tax + " "])
    if country == "US":
        return tax.replace("-", "")
    if country == "GB":
        return tax.lstrip("0") if rng.random() < 0.5 else "No. " + tax
    if country == "CN":
        return tax[:6] + " " + tax[6:12] + " " + tax[12:] if rng.random() < 0.5 else tax.lower()
    if country == "DE":
        return "DE " + tax[2:5] + " " + tax[5:8] + " " + tax[8:]
    if country == "IN":
        return tax.lower()
    return "".join(c for c in tax if c.isdigit())


def brand_of(rng, data, culture):
    """(brand as written locally, brand in Latin letters)."""
    words = data["words"]
    if culture == "ru":
        if rng.random() < 0.4:
            w, lat = rng.choice(words[("ru", "stem")])
        else:
            while True:
                pre, _ = rng.choice(words[("ru", "prefix")])
                suf, _ = rng.choice(words[("ru", "suffix")])
                if pre != suf:
                    break
            w = pre + suf if rng.random() < 0.6 else pre + suf.lower()
            lat = ""
        return w, lat or translit_ru(w, "gost")
    if culture == "zh":
        b, bl = rng.choice(words[("zh", "brand")])
        ind, il = rng.choice(words[("zh", "industry")])
        return b + ind, bl.replace(" ", "").capitalize() + " " + il
    stems = words[(culture, "stem")]
    w, lat = rng.choice(stems)
    if rng.random() < 0.6:
        ind, il = rng.choice(words[(culture, "industry")])
        w, lat = w + " " + ind, (lat or w) + " " + (il or ind)
    return w, lat or w


def render_company(rng, c, variant=False):
    """Company name with its legal form: the usual spelling, or (variant=True) another one."""
    for _ in range(6):
        name = _render_company(rng, c, variant)
        if not variant or name != c.name:
            break
    return name


def _render_company(rng, c, variant):
    spellings_local, spellings_latin = LEGAL_FORMS[c.country][c.form][1:]
    if not variant:
        tmpl = spellings_local[0] if rng.random() < 0.8 else rng.choice(spellings_local[:3])
    elif spellings_latin and rng.random() < 0.3:
        tmpl = rng.choice(spellings_latin)
    else:
        tmpl = rng.choice(spellings_local)
    brand = c.brand
    if variant and c.culture == "ru" and rng.random() < 0.2:
        brand = brand.upper() if rng.random() < 0.5 else brand[0] + brand[1:].lower()
    if variant and c.country == "DE" and rng.random() < 0.3:
        brand = brand.translate(_DE_ASCII)
    if variant and c.country == "BR" and rng.random() < 0.3:
        brand = brand.translate(_STRIP_MARKS)
    city = c.city["name"]
    city_latin = (c.city["alt"] or [city])[0]
    return tmpl.format(b=brand, B=brand.upper(), l=c.latin, c=city, cl=city_latin)


def new_domain(rng, used, c):
    base = ascii_login(c.latin.split(" ")[0] if rng.random() < 0.5 else c.latin)
    tld = TLDS[c.country].pick(rng)
    for _ in range(6):
        if base + tld not in used:
            used.add(base + tld)
            return base + tld
        base = base + rng.choice(DOMAIN_TAILS)
    base += str(rng.randrange(1000))
    used.add(base + tld)
    return base + tld


def render_website(rng, domain):
    return rng.choice(["https://www.{d}", "www.{d}", "{d}", "http://{d}/", "https://{d}",
                       "https://www.{d}/", "http://www.{d}"]).format(d=domain)


# --------------------------------------------------------------------------- people and names

class Person:
    __slots__ = ("culture", "country", "gender", "fn", "sn", "sn2", "patr", "middle", "city",
                 "birth", "company", "phones", "personal", "work", "pieces")


def new_person(rng, data, culture, country):
    p = Person()
    p.culture, p.country = culture, country
    p.gender = "m" if rng.random() < 0.55 else "f"
    p.fn = data["first"][(culture, p.gender)].pick(rng)
    if culture == "zh" and p.gender in data["zh_single"] and rng.random() < 0.5:
        pool = data["zh_single"][p.gender]
        a, b = pool.pick(rng), pool.pick(rng)
        if a["name"] != b["name"]:
            p.fn = {"name": a["name"] + b["name"], "variants": [a["variants"][0] + " " + b["variants"][0]],
                    "nicks": [], "patr": [], "weight": 1.0}
    p.sn = data["sur"][culture].pick(rng)
    p.sn2 = data["sur"]["br"].pick(rng) if culture == "br" and rng.random() < 0.5 else None
    if p.sn2 is not None and p.sn2["name"] == p.sn["name"]:
        p.sn2 = None
    p.patr = None
    p.middle = None
    if culture == "ru":
        father = data["first"][("ru", "m")].pick(rng)
        p.patr = father["patr"][0 if p.gender == "m" else 1]
    elif culture in ("en", "de") and rng.random() < 0.3:
        p.middle = data["first"][(culture, p.gender)].pick(rng)["name"]
    p.city = data["cities"][country].pick(rng)
    p.birth = datetime.date(1955, 1, 1) + datetime.timedelta(days=rng.randrange(48 * 365))
    p.company = None
    p.phones, p.personal, p.work = [], [], None
    return p


def _surname(p, entry, latin=False, var=0):
    name = entry["female"] if p.gender == "f" else entry["name"]
    if latin and entry["variants"] and p.culture != "ru":
        name = entry["variants"][var % len(entry["variants"])]
    return name


def email_pieces(p):
    """Name pieces for email local parts, in ASCII."""
    if p.culture == "zh":
        given = p.fn["variants"][0].split() if p.fn["variants"] else ["x"]
        f = "".join(given)
        l = (p.sn["variants"] or ["x"])[0].split("|")[0]
        gi = "".join(s[0] for s in given)
        nick = f
    elif p.culture == "ru":
        f = ascii_login(p.fn["variants"][0] if p.fn["variants"] else p.fn["name"])
        l = ascii_login(_surname(p, p.sn))
        gi = f[:1]
        nick = ascii_login(p.fn["nicks"][0]) if p.fn["nicks"] else f
    else:
        f = ascii_login(p.fn["name"])
        l = ascii_login(_surname(p, p.sn))
        gi = f[:1]
        nick = ascii_login(p.fn["nicks"][0]) if p.fn["nicks"] else f
    y = p.birth.year
    return {"f": f, "l": l, "fi": f[:1], "li": l[:1], "gi": gi, "n": nick,
            "yy": "%02d" % (y % 100), "yyyy": str(y)}


def original_name_spec(rng, p, source):
    s = {"script": "native", "tsys": "gost", "fvar": 0, "svar": 0, "nick": None, "patr": False,
         "order": "FL", "init": False, "typoF": None, "typoL": None, "case": None, "yo": False,
         "spaces": False, "given": "joined", "sn2": p.sn2 is not None, "particle": False,
         "split": source != "web_form" or rng.random() < 0.3}
    r = rng.random()
    if p.culture == "ru":
        s["order"] = "LFP" if r < 0.4 else "FL" if r < 0.7 else "LF" if r < 0.9 else "FPL"
        s["patr"] = s["order"] in ("LFP", "FPL")
        if rng.random() < 0.05:
            s["script"] = "latin"
            s["tsys"] = rng.choice(["gost", "icao", "simple"])
    elif p.culture == "zh":
        s["order"] = "LF"
        if rng.random() < 0.15:
            s["script"] = "latin"
            s["order"] = "LF" if rng.random() < 0.6 else "FL"
    else:
        s["order"] = "FL" if r < 0.9 else "L,F" if r < 0.95 else "LF"
        s["patr"] = p.middle is not None and rng.random() < 0.35
        s["particle"] = bool(p.sn["particle"]) and rng.random() < 0.5
    if p.fn["nicks"] and p.culture in ("en", "ru", "br") and rng.random() < 0.05:
        s["nick"] = p.fn["nicks"][0]
    if source == "web_form":
        s["order"] = "FL" if p.culture != "zh" else "LF"
        s["patr"] = False
        if rng.random() < 0.15:
            s["order"] = "F"
        if rng.random() < 0.1:
            s["case"] = "lower"
    return s


def render_name(p, s):
    """(full_name, first_name, last_name, middle_name) for a name spec."""
    latin = s["script"] == "latin"
    if p.culture == "ru":
        first = s["nick"] or p.fn["name"]
        last = _surname(p, p.sn)
        mid = p.patr
        if latin:
            if s["nick"] or not p.fn["variants"]:
                first = translit_ru(first, s["tsys"])
            else:
                first = p.fn["variants"][s["fvar"] % len(p.fn["variants"])]
            last = translit_ru(last, s["tsys"])
            mid = translit_ru(mid, s["tsys"])
    elif p.culture == "zh":
        if latin:
            syl = p.fn["variants"][0].split() if p.fn["variants"] else [p.fn["name"]]
            if s["given"] == "spaced":
                first = " ".join(x.capitalize() for x in syl)
            elif s["given"] == "hyphen":
                first = "-".join(syl).capitalize()
            else:
                first = "".join(syl).capitalize()
            last = p.sn["variants"][s["svar"] % len(p.sn["variants"])].capitalize() if p.sn["variants"] else p.sn["name"]
        else:
            first, last = p.fn["name"], p.sn["name"]
        mid = None
    else:
        first = s["nick"] or p.fn["name"]
        if not s["nick"] and s["fvar"] and p.fn["variants"]:
            first = p.fn["variants"][(s["fvar"] - 1) % len(p.fn["variants"])]
        last = _surname(p, p.sn, latin=s["svar"] > 0, var=s["svar"] - 1)
        if p.culture == "br" and s["particle"] and p.sn["particle"]:
            last = p.sn["particle"] + " " + last
        if p.culture == "br" and s["sn2"] and p.sn2 is not None:
            last = _surname(p, p.sn2) + " " + last
        mid = p.middle
        if latin:  # ASCII-only systems: Müller -> Mueller, João -> Joao
            fold = _DE_ASCII if p.culture == "de" else _STRIP_MARKS
            first, last = first.translate(fold), last.translate(fold)
            mid = mid.translate(fold) if mid else mid
    if s["typoF"]:
        first = s["typoF"]
    if s["typoL"]:
        last = s["typoL"]
    if not s["patr"]:
        mid = None
    elif p.culture in ("en", "de") and mid and not s["init"]:
        mid = mid[0] + "." if len(mid) > 2 else mid
    if s["yo"]:
        yo = str.maketrans("ёЁ", "еЕ")
        first, last = first.translate(yo), last.translate(yo)
        mid = mid.translate(yo) if mid else mid
    f_shown, m_shown = first, mid
    if s["init"]:
        f_shown = first[0] + "."
        m_shown = mid[0] + "." if mid else None
    order = s["order"]
    if p.culture == "zh" and not latin:
        full = last + (" " if s["given"] == "spaced" else "") + first
    elif order == "F":
        full = f_shown
    elif order == "LF" or order == "LFP":
        if s["init"] and m_shown:
            full = last + " " + f_shown + ("" if s["given"] == "spaced" else " ") + m_shown
        else:
            full = " ".join(x for x in (last, f_shown, m_shown) if x)
    elif order == "L,F":
        full = last + ", " + " ".join(x for x in (f_shown, m_shown) if x)
    else:  # FL, FPL
        full = " ".join(x for x in (f_shown, m_shown, last) if x)
    if s["case"] == "upper":
        full = full.upper()
    elif s["case"] == "lower":
        full = full.lower()
    elif s["case"] == "upperlast" and order != "F":
        full = full.replace(last, last.upper(), 1)
    if s["spaces"]:
        full = full.replace(" ", "  ", 1) + " "
    if not s["split"]:
        return full, None, None, None
    return full, f_shown, (last if order != "F" else None), m_shown


def mutate_name(rng, p, s, n, force=()):
    """Apply the changes in force, then n random realistic ones, to a copy of name spec s."""
    s = dict(s)
    menu = [("order", 3), ("typo", 3), ("case", 1), ("init", 1.5), ("spaces", 0.5)]
    if p.culture in ("ru", "zh"):
        menu.append(("script", 3))
    if p.culture in ("de", "br"):
        menu.append(("script", 1.5))
    if p.culture == "ru":
        menu += [("patr", 3), ("tsys", 2 if s["script"] == "latin" else 0.3)]
        if "ё" in (p.fn["name"] + _surname(p, p.sn) + (p.patr or "")).lower():
            menu.append(("yo", 4))
    if p.culture in ("en", "de") and p.middle:
        menu.append(("patr", 1))
    if p.fn["nicks"] and p.culture != "zh":
        menu.append(("nick", 2.5))
    if p.culture == "zh":
        menu += [("given", 1.5), ("svar", 0.5 if len(p.sn["variants"]) > 1 else 0)]
    if p.culture in ("de", "in", "br") and (p.sn["variants"] or p.fn["variants"]):
        menu.append(("svar", 2))
    if p.culture == "br":
        menu += [("sn2", 1.5 if p.sn2 else 0), ("particle", 1 if p.sn["particle"] else 0)]
    pool = _pool(menu)
    for m in list(force) + [pool.pick(rng) for _ in range(n)]:
        if m == "order":
            if p.culture == "zh":
                s["order"] = "FL" if s["order"] == "LF" else "LF"
            elif p.culture == "ru":
                s["order"] = rng.choice([o for o in ("LFP", "FL", "LF", "FPL") if o != s["order"]])
                s["patr"] = s["order"] in ("LFP", "FPL") and rng.random() < 0.8
            else:
                s["order"] = rng.choice([o for o in ("FL", "L,F", "LF") if o != s["order"]])
                if s["order"] == "LF" and rng.random() < 0.5:
                    s["case"] = "upperlast"
        elif m == "typo":
            full, first, last, _ = render_name(p, dict(s, split=True, init=False, case=None))
            if last and (rng.random() < 0.65 or len(first) < 4):
                s["typoL"] = " ".join(typo(rng, w) for w in last.split(" "))
            elif first:
                s["typoF"] = typo(rng, first)
        elif m == "case":
            s["case"] = rng.choice(["upper", "lower", None])
        elif m == "init":
            s["init"] = not s["init"]
            if s["order"] == "F":
                s["order"] = "FL"
        elif m == "spaces":
            s["spaces"] = True
        elif m == "script":
            s["script"] = "latin" if s["script"] == "native" else "native"
            s["tsys"] = rng.choice(["gost", "gost", "icao", "simple"])
            s["fvar"] = rng.randrange(4)
            s["typoF"] = s["typoL"] = None
            if p.culture == "zh" and s["script"] == "latin":
                s["order"] = "LF" if rng.random() < 0.55 else "FL"
                s["case"] = "upperlast" if rng.random() < 0.2 else s["case"]
        elif m == "tsys":
            s["tsys"] = rng.choice([t for t in ("gost", "icao", "simple") if t != s["tsys"]])
            s["fvar"] = s["fvar"] + 1 + rng.randrange(3)
            s["typoF"] = s["typoL"] = None
        elif m == "patr":
            s["patr"] = not s["patr"]
            if s["patr"] and s["order"] in ("FL", "LF") and p.culture == "ru":
                s["order"] = "LFP" if s["order"] == "LF" else "FPL"
            elif not s["patr"] and s["order"] in ("LFP", "FPL"):
                s["order"] = "LF" if s["order"] == "LFP" else "FL"
        elif m == "yo":
            s["yo"] = not s["yo"]
        elif m == "nick":
            s["nick"] = None if s["nick"] else rng.choice(p.fn["nicks"])
            s["typoF"] = None
        elif m == "given":
            s["given"] = rng.choice([g for g in ("joined", "spaced", "hyphen") if g != s["given"]])
        elif m == "svar":
            s["svar"] = 1 + rng.randrange(3) if s["svar"] == 0 else 0
            s["fvar"] = rng.randrange(3)
            s["typoL"] = None
        elif m == "sn2":
            s["sn2"] = not s["sn2"]
            s["typoL"] = None
        elif m == "particle":
            s["particle"] = not s["particle"]
            s["typoL"] = None
    return s


# --------------------------------------------------------------------------- texts

NOTES = {
    "ru": ["Просил перезвонить после 15:00", "Интересуется оптовыми ценами", "Отправили КП, ждём ответа",
           "Познакомились на выставке «Иннопром»", "Пришёл по рекомендации", "Нужна демонстрация для отдела продаж",
           "Звонок 12.03:\nпросил прислать договор", "Не берёт трубку — писать в Telegram",
           "ЛПР — коммерческий директор", "Бухгалтерия: счёт отправлен", "Скидка 10% согласована",
           "Импорт из Excel, лист «Клиенты»\tстрока {n}", "Файл \\\\fs01\\crm\\import_2023.xlsx, строка {n}",
           "Клиент конкурента, недоволен поддержкой", "Договор на подписании у юристов"],
    "en": ["Asked for a quote", "Met at the trade show", "Requested a demo for the sales team",
           "Referred by an existing customer", "Decision maker: head of procurement", "Call back on Monday",
           "Follow-up call:\nwants the contract by Friday", "Prefers email, do not call before 10am",
           "Imported from old CRM export\trow {n}", "Budget approved for Q3", "Unhappy with current vendor",
           "See C:\\Users\\sales\\leads_{n}.csv"],
    "zh": ["客户询问报价", "在展会上认识", "需要给销售部门演示", "老客户介绍", "决策人：采购经理",
           "下周一回电", "回访：\n希望周五前拿到合同", "从旧系统导入\t第{n}行"],
    "de": ["Angebot angefragt", "Kennengelernt auf der Messe", "Demo für den Vertrieb gewünscht",
           "Empfehlung eines Bestandskunden", "Entscheider: Einkaufsleiter", "Rückruf am Montag",
           "Telefonat:\nVertrag bis Freitag", "Import aus Excel\tZeile {n}"],
    "br": ["Pediu orçamento", "Conhecemos na feira", "Quer demonstração para a equipe de vendas",
           "Indicação de cliente", "Decisor: gerente de compras", "Retornar ligação na segunda",
           "Ligação:\nquer o contrato até sexta", "Importado da planilha\tlinha {n}"],
}
WEB_NOTES = {
    "ru": (["Заявка с сайта: обратный звонок", "Заявка с сайта: расчёт стоимости",
            "Форма «Заказать демо» (utm_source=yandex)", "Заявка с сайта: консультация по тарифам"],
           ["Повторная заявка с сайта", "Повторная заявка: не дождался звонка",
            "Снова оставил заявку, просит срочно перезвонить", "Заявка с сайта (повторно): расчёт стоимости"]),
    "en": (["Web form: request a callback", "Contact form: pricing question",
            "Demo request (utm_source=google)", "Web form: newsletter signup"],
           ["Submitted the form again", "Second web request - nobody called back",
            "Web form again: wants a quote ASAP", "Repeat demo request"]),
    "zh": (["网站留言：咨询价格", "网站表单：申请试用", "在线表单：请回电"],
           ["再次提交表单", "重复留言：尚未收到回电", "再次申请试用"]),
    "de": (["Kontaktformular: Rückrufbitte", "Kontaktformular: Preisanfrage", "Demo-Anfrage (utm_source=google)"],
           ["Formular erneut abgeschickt", "Zweite Anfrage – noch kein Rückruf", "Erneute Preisanfrage"]),
    "br": (["Formulário do site: pedido de orçamento", "Formulário: quero ser contatado",
            "Pedido de demonstração (utm_source=google)"],
           ["Enviou o formulário novamente", "Segundo pedido: ninguém retornou", "Novo pedido de orçamento"]),
}
DEAL_TITLES = {
    "ru": ["Поставка оборудования", "Годовая лицензия", "Внедрение CRM", "Техническое обслуживание",
           "Пилотный проект", "Расширение лицензий", "Обучение персонала", "Интеграция с 1С", "Продление договора"],
    "en": ["Annual subscription", "Pilot project", "Enterprise license", "Implementation services",
           "Support renewal", "Seat expansion", "Training package", "Data migration", "Consulting retainer"],
    "zh": ["年度订阅", "试点项目", "系统集成", "设备采购", "技术支持续约", "培训服务", "软件许可扩容"],
    "de": ["Jahreslizenz", "Pilotprojekt", "Wartungsvertrag", "Einführung CRM", "Schulung", "Lizenzerweiterung"],
    "br": ["Assinatura anual", "Projeto piloto", "Licença corporativa", "Implantação", "Renovação de suporte",
           "Treinamento"],
}
ACTIVITY_NOTES = {
    "ru": {"call": ["Обсудили условия", "Не дозвонились", "Перезвонить в понедельник", "Уточнили потребность"],
           "email": ["Отправлено КП", "Выслан договор на согласование", "Напоминание об оплате"],
           "meeting": ["Встреча в офисе клиента", "Демонстрация продукта", "Онлайн-встреча"]},
    "en": {"call": ["Discussed terms", "No answer, left voicemail", "Call back next week", "Qualified the need"],
           "email": ["Sent the proposal", "Sent contract for review", "Payment reminder"],
           "meeting": ["Meeting at customer office", "Product demo", "Video call"]},
    "zh": {"call": ["沟通价格", "未接通", "下周回电"], "email": ["已发送报价", "已发送合同"],
           "meeting": ["上门拜访", "产品演示"]},
    "de": {"call": ["Konditionen besprochen", "Nicht erreicht", "Rückruf nächste Woche"],
           "email": ["Angebot verschickt", "Vertrag zur Prüfung gesendet"],
           "meeting": ["Termin beim Kunden", "Produktdemo"]},
    "br": {"call": ["Condições discutidas", "Não atendeu", "Ligar semana que vem"],
           "email": ["Proposta enviada", "Contrato enviado para revisão"],
           "meeting": ["Reunião no cliente", "Demonstração do produto"]},
}
TAGS = ["VIP", "newsletter", "partner", "reseller", "B2B", "B2C", "upsell", "churn risk", "do not call",
        "конференция-2023", "выставка Иннопром", "тёплый лид", "重点客户", "Messe 2024", "feira 2023",
        "webinar 2024"]
CURRENCY = {"RU": ("RUB", 50000, 5000000), "US": ("USD", 1000, 120000), "GB": ("GBP", 1000, 90000),
            "CN": ("CNY", 10000, 900000), "DE": ("EUR", 1000, 100000), "IN": ("INR", 50000, 5000000),
            "BR": ("BRL", 5000, 500000)}
STAGES = _pool([("lead", 25), ("qualified", 20), ("proposal", 15), ("negotiation", 10), ("won", 18),
                ("lost", 12)])
SOURCES = _pool([("manual", 40), ("import", 25), ("web_form", 20), ("api", 15)])
_CULTURES = _pool(CULTURE_WEIGHTS)
SCENARIOS = _pool([("reentry", 35), ("import", 22), ("api", 13), ("web_form", 20), ("mixed", 10)])


def text_culture(culture):
    return culture if culture in NOTES else "en"


# --------------------------------------------------------------------------- contacts

class Contact:
    __slots__ = ("seq", "id", "root", "person", "spec", "company", "full", "first", "last", "middle",
                 "birth", "city", "country", "source", "created", "updated", "notes", "phones", "emails")


class World:
    """Everything generated, with the bookkeeping that keeps phones and emails of
    different people apart."""

    def __init__(self, rng, data):
        self.rng, self.data = rng, data
        self.companies, self.by_country = [], {}
        self.contacts = []
        self.used_phones, self.used_emails, self.used_domains = set(), set(), set()

    # ---- companies
    def make_companies(self, n):
        rng, data = self.rng, self.data
        lists = {}
        for _ in range(n):
            culture = _CULTURES.pick(rng)
            country = COUNTRY_OF.get(culture) or ("US" if rng.random() < 0.6 else "GB")
            c = Company()
            c.id = len(self.companies) + 1
            c.culture, c.country = culture, country
            c.city = data["cities"][country].pick(rng)
            c.city_name = c.city["name"]
            c.brand, c.latin = brand_of(rng, data, culture)
            c.form = LEGAL_POOLS[country].pick(rng)
            c.name = render_company(rng, c)
            c.tax_id = new_tax_id(rng, country, c.city) if rng.random() < 0.85 else None
            c.domain = new_domain(rng, self.used_domains, c) if rng.random() < 0.8 else None
            c.website = render_website(rng, c.domain) if c.domain and rng.random() < 0.85 else None
            c.created = datetime.datetime(2020, 1, 1) + datetime.timedelta(seconds=rng.randrange(2 * 365 * 86400))
            c.office = self.unique_phone(country, c.city, False)
            c.weight = min(30.0, rng.paretovariate(1.3))
            c.variants = []
            self.companies.append(c)
            lists.setdefault(country, []).append(c)
        for country, cs in lists.items():
            self.by_country[country] = Pool(cs, [c.weight for c in cs])

    def company_variant(self, c, when):
        """Another row for the same company, entered later under another spelling."""
        rng = self.rng
        if c.variants and rng.random() < 0.5:
            return rng.choice(c.variants)
        v = Company()
        v.id = len(self.companies) + 1
        v.culture, v.country, v.city, v.brand, v.latin, v.form = c.culture, c.country, c.city, c.brand, c.latin, c.form
        v.name = render_company(rng, c, variant=True)
        r = rng.random()
        v.tax_id = None if (c.tax_id is None or r < 0.4) else c.tax_id if r < 0.85 else vary_tax_id(rng, c.country, c.tax_id)
        v.domain = c.domain
        v.website = render_website(rng, c.domain) if c.domain and rng.random() < 0.6 else None
        v.city_name = rng.choice(c.city["alt"]) if c.city["alt"] and rng.random() < 0.4 else \
            (c.city["name"] if rng.random() < 0.8 else None)
        v.created = when
        v.office, v.weight, v.variants = c.office, 0, []
        self.companies.append(v)
        c.variants.append(v)
        return v

    # ---- phones and emails
    def unique_phone(self, country, city, mobile):
        while True:
            ph = new_phone(self.rng, country, city, mobile)
            if ph.key() not in self.used_phones:
                self.used_phones.add(ph.key())
                return ph

    def person_phones(self, p):
        rng = self.rng
        out = []  # (Phone, kind, extension)
        if rng.random() < 0.9:
            out.append((self.unique_phone(p.country, p.city, True), "mobile", None))
        else:
            out.append((self.unique_phone(p.country, p.city, False), "home", None))
        if rng.random() < 0.35:
            if p.company is not None and rng.random() < 0.6:
                if rng.random() < 0.5:
                    ext = str(rng.randrange(10, 1000)) if rng.random() < 0.8 else str(rng.randrange(1, 10))
                    out.append((p.company.office, "work", ext))
                else:
                    out.append((self.unique_phone(p.country, p.company.city, False), "work", None))
            else:
                out.append((self.unique_phone(p.country, p.city, rng.random() < 0.5), rng.choice(["mobile", "home"]), None))
        if rng.random() < 0.07:
            out.append((self.unique_phone(p.country, p.city, False), rng.choice(["fax", "other", "home"]), None))
        return out

    def person_emails(self, p):
        rng = self.rng
        pieces = email_pieces(p)
        pool = EMAIL_LOCAL_ZH if p.culture == "zh" else EMAIL_LOCAL
        if rng.random() < 0.88:
            dom = EMAIL_PROVIDERS[p.country].pick(rng)
            p.personal.append(new_email(rng, self.used_emails, pieces, dom, pool, qq=dom == "qq.com"))
            if rng.random() < 0.2:
                dom2 = EMAIL_PROVIDERS[p.country].pick(rng)
                p.personal.append(new_email(rng, self.used_emails, pieces, dom2, pool, qq=dom2 == "qq.com"))
        c = p.company
        if c is not None and c.domain and rng.random() < 0.55:
            if rng.random() < 0.05:  # the shared mailbox everyone at the company uses
                p.work = (rng.choice(["info", "sales", "office", "mail"]), c.domain)
            else:
                p.work = new_email(rng, self.used_emails, pieces, c.domain, EMAIL_LOCAL_WORK)

    # ---- originals
    def render_phone_for(self, ph, ext, source):
        rng = self.rng
        if source == "api" and rng.random() < 0.85:
            return render_phone(rng, ph, "api", ext)
        return render_phone(rng, ph, "any", ext)

    def render_email_for(self, addr, source, display):
        rng = self.rng
        text = addr[0] + "@" + addr[1]
        r = rng.random()
        if source != "api" and r < 0.06:
            return _title_case_email(text)
        if source == "import" and r < 0.12:
            return vary_email(rng, addr[0], addr[1], display, 1)
        return text

    def city_text(self, p, p_native=0.8, p_alt=0.12):
        r = self.rng.random()
        if r < p_native:
            return p.city["name"]
        if r < p_native + p_alt and p.city["alt"]:
            return self.rng.choice(p.city["alt"])
        return None if r >= p_native + p_alt else p.city["name"]

    def notes_for(self, p, source, repeat=False):
        rng = self.rng
        tc = text_culture(p.culture)
        if source == "web_form":
            first, again = WEB_NOTES[tc]
            return rng.choice(again if repeat else first)
        if rng.random() < 0.45:
            return None
        return rng.choice(NOTES[tc]).format(n=rng.randrange(2, 5000))

    def make_original(self, seq):
        rng, data = self.rng, self.data
        culture = _CULTURES.pick(rng)
        country = COUNTRY_OF.get(culture) or ("US" if rng.random() < 0.6 else "GB")
        p = new_person(rng, data, culture, country)
        if rng.random() < 0.7 and country in self.by_country:
            p.company = self.by_country[country].pick(rng)
        p.phones = self.person_phones(p)
        self.person_emails(p)
        c = Contact()
        c.seq, c.root, c.person = seq, None, p
        c.source = SOURCES.pick(rng)
        c.spec = original_name_spec(rng, p, c.source)
        c.full, c.first, c.last, c.middle = render_name(p, c.spec)
        c.company = p.company
        c.birth = p.birth if rng.random() < 0.35 else None
        c.city = self.city_text(p)
        c.country = country
        c.created = BASE + datetime.timedelta(seconds=rng.randrange(SPAN))
        c.updated = c.created if rng.random() < 0.3 else c.created + datetime.timedelta(seconds=rng.randrange(200 * 86400))
        c.notes = self.notes_for(p, c.source)
        c.phones = []
        for ph, kind, ext in p.phones:
            c.phones.append([ph, self.render_phone_for(ph, ext, c.source), kind, ext])
        if rng.random() < 0.003:  # what people type when they have no number
            junk = [None, rng.choice(JUNK_PHONES), "other", None]
            c.phones = c.phones[:2] + [junk] if rng.random() < 0.7 else [junk]
        c.emails = []
        if rng.random() < 0.9:
            addrs = ([(p.work, "work")] if p.work else []) + [(a, "personal") for a in p.personal]
            if c.source == "web_form":
                addrs.sort(key=lambda x: x[1] != "personal")
            for addr, kind in addrs[:2]:
                c.emails.append([addr, self.render_email_for(addr, c.source, c.full), kind])
        return c

    # ---- duplicates
    def make_duplicate(self, seq, src):
        rng = self.rng
        p = src.person
        scenario = SCENARIOS.pick(rng)
        d = Contact()
        d.seq, d.person = seq, p
        d.root = src.root if src.root is not None else src
        if scenario == "web_form":
            d.source = "web_form"
        elif scenario == "api":
            d.source = "api"
        elif scenario == "import":
            d.source = "import"
        else:
            d.source = "manual" if rng.random() < 0.8 else "import"

        # name
        if scenario == "web_form":
            spec = dict(src.spec) if src.source == "web_form" else original_name_spec(rng, p, "web_form")
            spec["split"] = rng.random() < 0.3
            n = 0 if rng.random() < 0.6 else 1
        elif scenario == "api":
            spec = dict(src.spec)
            force = ["script"] if p.culture in ("ru", "zh", "de", "br") and rng.random() < 0.6 else []
            n = rng.choice([0, 0, 1])
        elif scenario == "mixed":
            spec, n = dict(src.spec), rng.choice([2, 3, 3])
        else:
            spec = dict(src.spec)
            r = rng.random()
            n = 0 if r < 0.2 else 1 if r < 0.7 else 2 if r < 0.95 else 3
        if scenario != "api":
            force = []
        if scenario != "web_form":
            spec["split"] = True
        d.spec = mutate_name(rng, p, spec, n, force)
        d.full, d.first, d.last, d.middle = render_name(p, d.spec)

        # when
        if scenario == "web_form":
            delay = rng.randrange(86400, 30 * 86400)
        elif rng.random() < 0.2:
            delay = rng.randrange(600, 7 * 86400)
        else:
            delay = rng.randrange(86400, 600 * 86400)
        d.created = src.created + datetime.timedelta(seconds=delay)
        d.updated = d.created if rng.random() < 0.4 else d.created + datetime.timedelta(seconds=rng.randrange(120 * 86400))

        # phones
        reformat = {"reentry": 0.6, "import": 0.8, "api": 1.0, "web_form": 0.3, "mixed": 0.9}[scenario]
        phones = []
        srcp = src.phones if scenario != "web_form" else src.phones[:1]
        for ph, raw, kind, ext in srcp:
            if ph is None:
                if rng.random() < 0.3:
                    phones.append([None, raw, kind, ext])
                continue
            if len(srcp) > 1 and rng.random() < 0.15:
                continue
            if rng.random() < 0.015:  # one digit mistyped
                i = rng.randrange(len(ph.sub))
                ph = Phone(ph.country, ph.area, ph.sub[:i] + str((int(ph.sub[i]) + 1 + rng.randrange(8)) % 10) + ph.sub[i + 1:], ph.mobile)
                raw = None
            if raw is None or rng.random() < reformat:
                raw = self.render_phone_for(ph, ext if rng.random() < 0.7 else None, d.source)
            phones.append([ph, raw, kind, ext])
        if scenario != "web_form" and rng.random() < 0.07:
            phones = []  # "no phone": the duplicate has only a number the original does not
        if not phones or (scenario != "web_form" and rng.random() < 0.06):
            ph = self.unique_phone(p.country, p.city, rng.random() < 0.7)
            phones.append([ph, self.render_phone_for(ph, None, d.source), "mobile" if ph.mobile else "home", None])
            p.phones.append((ph, "mobile" if ph.mobile else "home", None))
        d.phones = phones[:3]

        # emails
        emails = []
        p_missing = {"reentry": 0.15, "import": 0.25, "api": 0.1, "web_form": 0.3, "mixed": 0.3}[scenario]
        p_vary = {"reentry": 0.45, "import": 0.5, "api": 0.3, "web_form": 0.25, "mixed": 0.7}[scenario]
        if rng.random() >= p_missing:
            for addr, raw, kind in src.emails:
                if len(src.emails) > 1 and rng.random() < 0.25:
                    continue
                if d.source == "api":
                    raw = (addr[0] + "@" + addr[1]).lower() if rng.random() < 0.5 else raw
                if rng.random() < p_vary:
                    raw = vary_email(rng, addr[0], addr[1], d.full, 1 if rng.random() < 0.7 else 2)
                emails.append([addr, raw, kind])
            known = [a for a, _, _ in emails]
            extra = [(a, "personal") for a in p.personal if a not in known] + \
                ([(p.work, "work")] if p.work and p.work not in known else [])
            if extra and len(emails) < 2 and rng.random() < 0.15:
                addr, kind = rng.choice(extra)
                emails.append([addr, self.render_email_for(addr, d.source, d.full), kind])
        d.emails = emails[:2]

        # company, dates of birth, city, country
        r = rng.random()
        if src.company is None:
            d.company = None
        elif scenario == "web_form":
            d.company = src.company if r < 0.4 else None
        elif r < 0.55:
            d.company = src.company
        elif r < 0.78:
            base = p.company if p.company is not None else src.company
            d.company = self.company_variant(base, d.created)
        else:
            d.company = None
        d.birth = p.birth if (scenario != "web_form" and rng.random() < 0.3) else None
        if d.birth is not None and d.birth.day <= 12 and d.birth.day != d.birth.month and rng.random() < 0.03:
            d.birth = datetime.date(d.birth.year, d.birth.day, d.birth.month)  # day and month swapped
        d.city = self.city_text(p, 0.55, 0.2) if scenario != "web_form" else self.city_text(p, 0.4, 0.1)
        d.country = p.country if rng.random() < 0.95 else None
        repeat = scenario == "web_form" and src.source == "web_form"
        d.notes = self.notes_for(p, d.source, repeat)
        for _ in range(3):  # a repeated request says something else
            if d.notes is None or d.notes != src.notes:
                break
            d.notes = self.notes_for(p, d.source, repeat)
        return d



# --------------------------------------------------------------------------- assembling

def build(seed, n_contacts, dup_rate):
    rng = random.Random(seed)
    data = load_data()
    w = World(rng, data)
    n_dup = min(int(round(n_contacts * dup_rate)), n_contacts - 1)
    n_orig = n_contacts - n_dup
    w.make_companies(max(10, n_orig // 7))
    originals = [w.make_original(i) for i in range(n_orig)]
    dups, size = [], [1] * n_orig
    for j in range(n_dup):
        src = originals[rng.randrange(n_orig)]
        if dups and rng.random() < 0.2:
            cand = dups[rng.randrange(len(dups))]  # a duplicate of a duplicate
            if size[cand.root.seq] < 5:
                src = cand
        d = w.make_duplicate(n_orig + j, src)
        size[d.root.seq] += 1
        dups.append(d)
    contacts = originals + dups
    contacts.sort(key=lambda c: (c.created, c.seq))  # ids follow creation time
    for i, c in enumerate(contacts):
        c.id = i + 1
    w.contacts = contacts
    return w


def related_rows(w):
    """Deals, activities and tags for every contact, originals and duplicates alike."""
    rng = w.rng
    deals, activities, tags = [], [], []
    n_deals = _pool([(0, 50), (1, 30), (2, 15), (3, 5)])
    n_acts = _pool([(0, 30), (1, 25), (2, 20), (3, 12), (4, 8), (5, 5)])
    n_tags = _pool([(0, 45), (1, 30), (2, 18), (3, 7)])
    kinds = _pool([("call", 50), ("email", 35), ("meeting", 15)])
    for c in w.contacts:
        tc = text_culture(c.person.culture)
        cur, lo, hi = CURRENCY[c.person.country]
        mine = []
        for _ in range(n_deals.pick(rng)):
            did = len(deals) + 1
            amount = "%d.00" % (rng.randrange(lo, hi) // 100 * 100)
            when = c.created + datetime.timedelta(seconds=rng.randrange(300 * 86400))
            deals.append((did, c.id, c.company.id if c.company else None, rng.choice(DEAL_TITLES[tc]),
                          amount, cur, STAGES.pick(rng), ts(when)))
            mine.append(did)
        for _ in range(n_acts.pick(rng)):
            kind = kinds.pick(rng)
            when = c.created + datetime.timedelta(seconds=rng.randrange(400 * 86400))
            deal = rng.choice(mine) if mine and rng.random() < 0.5 else None
            note = rng.choice(ACTIVITY_NOTES[tc][kind]) if rng.random() < 0.8 else None
            activities.append((len(activities) + 1, c.id, deal, kind, ts(when), note))
        for t in sorted(rng.sample(range(len(TAGS)), n_tags.pick(rng))):
            tags.append((c.id, t + 1))
    return deals, activities, tags


def copy_block(out, table, columns, rows):
    out.write("COPY %s (%s) FROM stdin;\n" % (table, ", ".join(columns)))
    buf = []
    for r in rows:
        buf.append("\t".join(cell(v) for v in r))
        if len(buf) >= 5000:
            out.write("\n".join(buf) + "\n")
            buf = []
    if buf:
        out.write("\n".join(buf) + "\n")
    out.write("\\.\n\n")


def write_sql(w, out, args):
    out.write("-- Sample CRM for the crmdedup demo, made by demo/generate.py --seed %d --contacts %d "
              "--dup-rate %s\n-- Load into a database that has demo/schema.sql.\n"
              % (args.seed, args.contacts, args.dup_rate))
    out.write("SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nBEGIN;\n\n")
    copy_block(out, "crm.companies", ["id", "name", "tax_id", "website", "city", "country", "created_at"],
               ((c.id, c.name, c.tax_id, c.website, c.city_name, c.country, ts(c.created)) for c in w.companies))
    copy_block(out, "crm.contacts",
               ["id", "company_id", "full_name", "first_name", "last_name", "middle_name", "birth_date",
                "city", "country", "source", "created_at", "updated_at", "notes"],
               ((c.id, c.company.id if c.company else None, c.full, c.first, c.last, c.middle,
                 c.birth.isoformat() if c.birth else None, c.city, c.country, c.source, ts(c.created),
                 ts(c.updated), c.notes) for c in w.contacts))
    phones, emails = [], []
    for c in w.contacts:
        for ph in c.phones:
            phones.append((len(phones) + 1, c.id, ph[1], ph[2]))
        for em in c.emails:
            emails.append((len(emails) + 1, c.id, em[1], em[2]))
    copy_block(out, "crm.contact_phones", ["id", "contact_id", "phone", "kind"], phones)
    copy_block(out, "crm.contact_emails", ["id", "contact_id", "email", "kind"], emails)
    deals, activities, tags = related_rows(w)
    copy_block(out, "crm.deals", ["id", "contact_id", "company_id", "title", "amount", "currency", "stage",
                                  "created_at"], deals)
    copy_block(out, "crm.activities", ["id", "contact_id", "deal_id", "kind", "happened_at", "note"], activities)
    copy_block(out, "crm.tags", ["id", "name"], ((i + 1, t) for i, t in enumerate(TAGS)))
    copy_block(out, "crm.contact_tags", ["contact_id", "tag_id"], tags)
    copy_block(out, "crm.demo_truth", ["contact_id", "original_id"],
               ((c.id, (c.root or c).id) for c in w.contacts))
    out.write("COMMIT;\n\n")
    seqs = ["companies", "contacts", "contact_phones", "contact_emails", "deals", "activities", "tags"]
    out.write("SELECT %s;\n\n" % ",\n       ".join(
        "setval(pg_get_serial_sequence('crm.%s', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM crm.%s), false)"
        % (t, t) for t in seqs))
    out.write("ANALYZE %s;\n" % ", ".join("crm." + t for t in seqs + ["contact_tags", "demo_truth"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--contacts", type=int, default=5000, help="number of contacts, duplicates included")
    ap.add_argument("--dup-rate", type=float, default=0.3,
                    help="share of contacts that are injected duplicates (default 0.3)")
    args = ap.parse_args(argv)
    if args.contacts < 1:
        ap.error("--contacts must be at least 1")
    if not 0 <= args.dup_rate < 1:
        ap.error("--dup-rate must be in [0, 1)")
    w = build(args.seed, args.contacts, args.dup_rate)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    write_sql(w, out, args)
    out.flush()


if __name__ == "__main__":
    main()
