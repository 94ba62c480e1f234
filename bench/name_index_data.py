#!/usr/bin/env python3
"""Names for bench/name_index, as two COPY text streams on stdout (see bench/name_index.sql).

    python3 bench/name_index_data.py --rows 1000000 --queries 50 [--seed 4]

Rows: people of the demo generator (demo/generate.py), 2/5 Russian, 2/5 English, 1/5 Chinese,
each written once the way demo's originals are written.  Queries: for each kind of variant
(transliteration, word order, typos, nicknames, initials, patronymics) --queries people of
the table whose name admits that kind, written again with exactly that change (the demo's
mutate_name); the row of the original is the true duplicate.  Each kind draws its people
from its own shuffle of the first rows, and no person is queried twice (until 2026-11-27
every kind took the first eligible people in row order, so the kinds shared most of their
people and their misses).  Deterministic: the same arguments give byte-identical output.

--surname-tail P (default 0: the demo's lists as they are) gives a Russian or English person,
with probability P, a surname from a long synthetic tail instead (about 27,000 English and
72,000 Russian made-up surnames, drawn uniformly, from a random stream of their own, so that
everything else, the people, their given names and the queries' variants, stays as with P = 0).
The demo's lists hold 117 English and 169 Russian surnames, and every person draws from them:
Smith is 3.6 % of the English people, where the US 2010 census counts 0.8 % (2.44 million) and
162,000 surnames borne by 100 or more people.  P = 0.77 brings Smith to 0.8 % (the listed
surnames then cover 23 % of the English people, their top 25 10.4 %; census 2010: the 239 most
common cover 25 %, the top 25 8.7 %); see README ("A cross-script fuzzy name index") for what
this does to namesakes and recall.  bench/name_index passes 0.77 unless BENCH_SURNAME_TAIL says
otherwise (since 2026-11-27; 0 reproduces the runs before).
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo"))
import generate as g  # noqa: E402

CULTURES = [("ru", 2), ("en", 2), ("zh", 1)]

# the synthetic surname tail (--surname-tail): syllables that make plausible surnames
EN_ONSETS = ["B", "Br", "C", "Ch", "Cr", "D", "Dr", "G", "Gr", "H", "K", "L", "M", "N", "P", "R",
             "S", "St", "Th", "W"]
EN_NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "oo"]
EN_CODAS = ["ck", "ld", "ll", "n", "nd", "r", "rd", "lt", "s", "t", "ng", "m"]
EN_ENDINGS = ["", "ley", "ton", "son", "er", "ford", "field", "well", "man", "by", "ham", "wood",
              "ington", "ett"]
RU_ONSETS = ["Б", "Бр", "В", "Г", "Гр", "Д", "Ж", "З", "К", "Кр", "Л", "М", "Н", "П", "Пр", "Р",
             "С", "Ст", "Т", "Ф", "Х", "Ч", "Ш"]
RU_VOWELS = ["а", "е", "и", "о", "у"]
RU_CONS = ["б", "в", "г", "д", "з", "к", "л", "м", "н", "п", "р", "с", "т", "х", "ч"]
RU_LINKS = ["", "ал", "ел", "ин", "ор", "ер", "ан"]
# (male, female) suffixes
RU_SUFFIXES = [("ов", "ова"), ("ев", "ева"), ("ин", "ина"), ("ский", "ская"), ("енко", "енко"),
               ("ых", "ых")]


def surname_tail():
    """The synthetic surnames, as entries shaped like demo/generate.py's: {culture: [entry]}."""
    en = sorted({o + n + c + e for o in EN_ONSETS for n in EN_NUCLEI for c in EN_CODAS
                 for e in EN_ENDINGS})
    ru = {}
    for o in RU_ONSETS:
        for v in RU_VOWELS:
            for c in RU_CONS:
                for link in RU_LINKS:
                    for m, f in RU_SUFFIXES:
                        ru.setdefault(o + v + c + link + m, o + v + c + link + f)
    entry = lambda name, female: {"name": name, "female": female, "variants": [], "particle": "",
                                  "weight": 1.0}
    return {"en": [entry(x, x) for x in en], "ru": [entry(m, ru[m]) for m in sorted(ru)]}
# variant kind -> (mutation of demo/generate.py, cultures it applies to)
KINDS = [
    ("translit", "script", ("ru", "zh")),
    ("order", "order", ("ru", "en", "zh")),
    ("typo", "typo", ("ru", "en", "zh")),
    ("nickname", "nick", ("ru", "en")),
    ("initials", "init", ("ru", "en")),
    ("patronymic", "patr", ("ru",)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--queries", type=int, default=100, help="queries per kind of variant")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--surname-tail", type=float, default=0.0,
                    help="share of Russian and English people with a synthetic surname (0: none)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tail = surname_tail() if a.surname_tail > 0 else None
    trng = random.Random(a.seed + 7)  # the tail's own stream: the main one is unchanged
    data = g.load_data()
    pool = g.Pool([c for c, _ in CULTURES], [w for _, w in CULTURES])
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n", closefd=False)
    people = []
    out.write("COPY names (id, name) FROM stdin;\n")
    for i in range(1, a.rows + 1):
        culture = pool.pick(rng)
        country = g.COUNTRY_OF.get(culture) or rng.choice(["US", "GB"])
        p = g.new_person(rng, data, culture, country)
        if tail and p.culture in tail and trng.random() < a.surname_tail:
            p.sn = trng.choice(tail[p.culture])
        s = g.original_name_spec(rng, p, "import")
        full = g.render_name(p, s)[0]
        out.write("%d\t%s\n" % (i, g.cell(full)))
        if len(people) < 40 * a.queries * len(KINDS):
            people.append((i, p, s, full))
    out.write("\\.\n")
    out.write("COPY queries (id, kind, query, truth) FROM stdin;\n")
    qid = 0
    qrng = random.Random(a.seed + 1)
    used = set()
    for kind, mutation, cultures in KINDS:
        n = 0
        order = list(range(len(people)))
        qrng.shuffle(order)
        for k in order:
            rid, p, s, full = people[k]
            if n == a.queries:
                break
            if p.culture not in cultures or rid in used:
                continue
            if mutation == "nick" and not p.fn["nicks"]:
                continue
            if mutation == "patr" and p.culture == "ru" and not p.patr:
                continue
            v = g.render_name(p, g.mutate_name(qrng, p, s, 0, force=(mutation,)))[0]
            if v == full:
                continue
            qid += 1
            n += 1
            used.add(rid)
            out.write("%d\t%s\t%s\t%d\n" % (qid, kind, g.cell(v), rid))
    out.write("\\.\n")
    out.flush()


if __name__ == "__main__":
    main()
