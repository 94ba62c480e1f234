#!/usr/bin/env python3
"""Compile data/phone_*.tsv into C tables for src/core/phone.c.

Usage: python3 tools/gen_phone_data.py > src/core/phone_data.c

Reads data/phone_countries.tsv (one row per region), data/phone_regions.tsv (region of a
number by the start of its national number) and data/phone_ranges.tsv (lengths by prefix).
Every file carries a '# version:' line; they must agree, and the version becomes
cd_phone_data_version().  Any inconsistency stops the build with a message on stderr.
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.path.join(ROOT, "data")

MAX_TRUNKS = 12
MAX_INTL = 12
MAX_PREFIX = 6
E164_DIGITS = 15


def fail(msg):
    sys.stderr.write("gen_phone_data.py: %s\n" % msg)
    sys.exit(1)


def read_tsv(name, ncols):
    """Return (version, rows) where rows are (lineno, [fields])."""
    path = os.path.join(DATA, name)
    version = None
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                m = re.match(r"#\s*version:\s*(\S+)\s*$", line)
                if m:
                    if version is not None:
                        fail("%s:%d: second version line" % (name, lineno))
                    version = m.group(1)
                continue
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < ncols:
                fail("%s:%d: expected %d tab-separated columns, got %d"
                     % (name, lineno, ncols, len(fields)))
            rows.append((lineno, fields))
    if version is None:
        fail("%s: no '# version:' line" % name)
    return version, rows


def expand(prefix, where):
    """Expand one optional bracket class: 1[3-9] -> 13 .. 19."""
    m = re.fullmatch(r"(\d*)\[([0-9\-]+)\](\d*)", prefix)
    if not m:
        if not re.fullmatch(r"\d{1,%d}" % MAX_PREFIX, prefix):
            fail("%s: bad prefix %r" % (where, prefix))
        return [prefix]
    head, cls, tail = m.groups()
    digits = []
    i = 0
    while i < len(cls):
        if i + 2 < len(cls) and cls[i + 1] == "-":
            lo, hi = cls[i], cls[i + 2]
            if lo > hi:
                fail("%s: bad class %r" % (where, prefix))
            digits.extend(chr(c) for c in range(ord(lo), ord(hi) + 1))
            i += 3
        else:
            digits.append(cls[i])
            i += 1
    out = [head + d + tail for d in digits]
    for p in out:
        if not re.fullmatch(r"\d{1,%d}" % MAX_PREFIX, p):
            fail("%s: bad prefix %r" % (where, p))
    return out


def digit_list(text, where, what, limit):
    if text == "-":
        return []
    items = text.split(",")
    for it in items:
        if not re.fullmatch(r"\d{1,%d}" % MAX_PREFIX, it):
            fail("%s: bad %s %r" % (where, what, it))
    if len(set(items)) != len(items):
        fail("%s: repeated %s" % (where, what))
    if len(items) > limit:
        fail("%s: more than %d %s" % (where, limit, what))
    # longest first, so that 810 is tried before 8 and 0011 before 00
    return sorted(items, key=lambda s: (-len(s), s))


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    version, crow = read_tsv("phone_countries.tsv", 8)
    v2, rrow = read_tsv("phone_regions.tsv", 3)
    v3, grow = read_tsv("phone_ranges.tsv", 4)
    if not (version == v2 == v3):
        fail("version lines differ: countries %s, regions %s, ranges %s" % (version, v2, v3))

    regions = []            # dicts
    by_iso = {}
    ccs = {}                # cc string -> dict
    for lineno, f in crow:
        where = "phone_countries.tsv:%d" % lineno
        iso, cc, trunk, intl, mn, mx, main_mark, name = [x.strip() for x in f[:8]]
        if not re.fullmatch(r"\d{1,3}", cc) or cc[0] == "0":
            fail("%s: bad calling code %r" % (where, cc))
        if not (mn.isdigit() and mx.isdigit()):
            fail("%s: bad lengths" % where)
        mn, mx = int(mn), int(mx)
        if not (1 <= mn <= mx) or len(cc) + mx > E164_DIGITS:
            fail("%s: lengths %d-%d impossible for +%s" % (where, mn, mx, cc))
        if main_mark not in ("*", "-"):
            fail("%s: main column must be * or -" % where)
        c = ccs.setdefault(cc, {"cc": cc, "min": mn, "max": mx, "regions": [],
                                "main": None, "nongeo": False, "names": []})
        c["min"] = min(c["min"], mn)
        c["max"] = max(c["max"], mx)
        c["names"].append(name)
        if iso == "001":
            if c["regions"]:
                fail("%s: +%s is both geographic and not" % (where, cc))
            if trunk != "-" or intl != "-":
                fail("%s: a non-geographic code has no trunk or international prefix" % where)
            c["nongeo"] = True
            continue
        if c["nongeo"]:
            fail("%s: +%s is both geographic and not" % (where, cc))
        if not re.fullmatch(r"[A-Z]{2}", iso) or iso == "ZZ":
            fail("%s: bad ISO code %r" % (where, iso))
        if iso in by_iso:
            fail("%s: region %s listed twice" % (where, iso))
        r = {"iso": iso, "cc": cc, "trunk": digit_list(trunk, where, "trunk prefix", MAX_TRUNKS),
             "intl": digit_list(intl, where, "international prefix", MAX_INTL),
             "min": mn, "max": mx, "name": name}
        by_iso[iso] = r
        regions.append(r)
        c["regions"].append(iso)
        if main_mark == "*":
            if c["main"] is not None:
                fail("%s: +%s has two main regions" % (where, cc))
            c["main"] = iso

    # calling codes must be prefix-free, or longest-prefix matching is ambiguous
    codes = sorted(ccs)
    for a in codes:
        for b in codes:
            if a != b and b.startswith(a):
                fail("calling codes %s and %s overlap" % (a, b))
    for cc, c in ccs.items():
        if c["nongeo"]:
            continue
        if len(c["regions"]) == 1:
            if c["main"] not in (None, c["regions"][0]):
                fail("+%s: bad main region" % cc)
            c["main"] = c["regions"][0]
        elif c["main"] is None:
            fail("+%s is shared by %s but none is marked main (*)" % (cc, ",".join(c["regions"])))

    regions.sort(key=lambda r: r["iso"])
    region_index = {r["iso"]: i for i, r in enumerate(regions)}
    country_list = sorted(ccs.values(), key=lambda c: (len(c["cc"]), int(c["cc"])))
    country_index = {c["cc"]: i for i, c in enumerate(country_list)}

    # region of a number by prefix
    prefixes = {}           # cc -> list of (prefix, iso)
    for lineno, f in rrow:
        where = "phone_regions.tsv:%d" % lineno
        cc, prefix, iso = [x.strip() for x in f[:3]]
        if cc not in ccs or ccs[cc]["nongeo"]:
            fail("%s: unknown geographic calling code %r" % (where, cc))
        if iso not in by_iso or by_iso[iso]["cc"] != cc:
            fail("%s: region %r does not use +%s" % (where, iso, cc))
        for p in expand(prefix, where):
            if cc == "1" and len(p) != 3:
                fail("%s: +1 prefixes are 3-digit area codes" % where)
            if cc == "1" and p[0] in "01":
                fail("%s: NANP area codes start with 2-9" % where)
            lst = prefixes.setdefault(cc, [])
            if any(q == p for q, _ in lst):
                fail("%s: prefix %s of +%s listed twice" % (where, p, cc))
            lst.append((p, iso))

    # lengths by prefix
    ranges = {}
    for lineno, f in grow:
        where = "phone_ranges.tsv:%d" % lineno
        cc, prefix, mn, mx = [x.strip() for x in f[:4]]
        if cc not in ccs:
            fail("%s: unknown calling code %r" % (where, cc))
        if not (mn.isdigit() and mx.isdigit()):
            fail("%s: bad lengths" % where)
        mn, mx = int(mn), int(mx)
        c = ccs[cc]
        if not (mn == mx == 0 or (c["min"] <= mn <= mx <= c["max"])):
            fail("%s: lengths %d-%d outside +%s's %d-%d" % (where, mn, mx, cc, c["min"], c["max"]))
        for p in expand(prefix, where):
            lst = ranges.setdefault(cc, [])
            if any(q == p for q, _, _ in lst):
                fail("%s: prefix %s of +%s listed twice" % (where, p, cc))
            lst.append((p, mn, mx))

    out = []
    w = out.append
    w("/*")
    w(" * phone_data.c")
    w(" *\t\tGENERATED by tools/gen_phone_data.py from data/phone_*.tsv; do not edit.")
    w(" */")
    w('#include "phone_tables.h"')
    w("")
    w("const char cd_phone_data_version_str[] = %s;" % c_str(version))
    w("")

    # ranges and prefixes in per-country slices
    range_rows = []
    prefix_rows = []
    slices = {}
    for c in country_list:
        cc = c["cc"]
        rs = sorted(ranges.get(cc, []), key=lambda t: (-len(t[0]), t[0]))
        ps = sorted(prefixes.get(cc, []), key=lambda t: (-len(t[0]), t[0])) if cc != "1" else []
        slices[cc] = (len(range_rows), len(rs), len(prefix_rows), len(ps))
        range_rows.extend(rs)
        prefix_rows.extend(ps)

    w("const CdPhoneRange cd_phone_ranges[] = {")
    for p, mn, mx in range_rows:
        w("\t{%s, %d, %d, %d}," % (c_str(p), len(p), mn, mx))
    if not range_rows:
        w("\t{\"\", 0, 0, 0}")
    w("};")
    w("")
    w("const CdPhoneRegionPrefix cd_phone_region_prefixes[] = {")
    for p, iso in prefix_rows:
        w("\t{%s, %d, %d},\t/* %s */" % (c_str(p), len(p), region_index[iso], iso))
    if not prefix_rows:
        w("\t{\"\", 0, 0}")
    w("};")
    w("")

    w("const CdPhoneCountry cd_phone_countries[] = {")
    for c in country_list:
        cc = c["cc"]
        main = c["main"]
        trunks = by_iso[main]["trunk"] if main else []
        trunk_zero = any(t.startswith("0") for t in trunks)
        r0, rn, p0, pn = slices[cc]
        w("\t{%s, %d, %d, %d, %d, %s, %s, %d, %d, %d, %d, %d},\t/* %s */"
          % (c_str(cc), len(cc), int(cc), c["min"], c["max"],
             "true" if cc == "1" else "false",
             "true" if trunk_zero else "false",
             region_index[main] if main else -1, r0, rn, p0 + 0, pn,
             main if main else c["names"][0]))
    w("};")
    w("const int	cd_phone_country_count = %d;" % len(country_list))
    w("")

    w("const CdPhoneRegion cd_phone_regions[] = {")
    for r in regions:
        tr = ", ".join("{%s, %d}" % (c_str(t), len(t)) for t in r["trunk"]) or "{\"\", 0}"
        it = ", ".join("{%s, %d}" % (c_str(t), len(t)) for t in r["intl"]) or "{\"\", 0}"
        w("\t{%s, %d, %d, %d, %d, %d, {%s}, {%s}},\t/* %s */"
          % (c_str(r["iso"]), country_index[r["cc"]], r["min"], r["max"],
             len(r["trunk"]), len(r["intl"]), tr, it, r["name"].replace("*/", "* /")))
    w("};")
    w("const int	cd_phone_region_count = %d;" % len(regions))
    w("")

    # region code -> index, 26 x 26
    tbl = [-1] * (26 * 26)
    for r in regions:
        tbl[(ord(r["iso"][0]) - 65) * 26 + ord(r["iso"][1]) - 65] = region_index[r["iso"]]
    emit_int_table(w, "int16_t", "cd_phone_region_by_code", tbl)

    # first three digits -> calling code index
    tbl = [-1] * 1000
    for i in range(1000):
        s = "%03d" % i
        for c in country_list:
            if s.startswith(c["cc"]):
                tbl[i] = country_index[c["cc"]]
                break
    emit_int_table(w, "int16_t", "cd_phone_cc_by_prefix3", tbl)

    # NANP area code -> region index
    tbl = [-1] * 1000
    for p, iso in prefixes.get("1", []):
        tbl[int(p)] = region_index[iso]
    emit_int_table(w, "int16_t", "cd_phone_nanp_region", tbl)

    sys.stdout.write("\n".join(out) + "\n")


def emit_int_table(w, ctype, name, values):
    w("const %s %s[%d] = {" % (ctype, name, len(values)))
    for i in range(0, len(values), 16):
        w("\t" + ", ".join("%d" % v for v in values[i:i + 16]) + ",")
    w("};")
    w("")


if __name__ == "__main__":
    main()
