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
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo"))
import generate as g  # noqa: E402

CULTURES = [("ru", 2), ("en", 2), ("zh", 1)]
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
    a = ap.parse_args()
    rng = random.Random(a.seed)
    data = g.load_data()
    pool = g.Pool([c for c, _ in CULTURES], [w for _, w in CULTURES])
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n", closefd=False)
    people = []
    out.write("COPY names (id, name) FROM stdin;\n")
    for i in range(1, a.rows + 1):
        culture = pool.pick(rng)
        country = g.COUNTRY_OF.get(culture) or rng.choice(["US", "GB"])
        p = g.new_person(rng, data, culture, country)
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
