#!/usr/bin/env python3
"""Compile data/translit_{cyrillic,greek,latin}.tsv and data/translit_cjk_surnames.tsv
into C (src/core/translit_data.c) on stdout.  Python 3 standard library only.

Rule files: tab-separated rows "map <lang> <from> <to> [<initial>]" and
"detect <lang> <letters>"; '#' starts a comment line.  See data/translit_cyrillic.tsv.
"""
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data')
RULE_FILES = ['translit_cyrillic.tsv', 'translit_greek.tsv', 'translit_latin.tsv']
SURNAME_FILE = 'translit_cjk_surnames.tsv'
# ru, el and la never overlap, so they share the base table; kk selects the base table
LANGS = {'ru': 'CD_TL_BASE', 'el': 'CD_TL_BASE', 'la': 'CD_TL_BASE',
         'uk': 'CD_TL_UK', 'be': 'CD_TL_BE', 'kk': 'CD_TL_KK'}
MAX_FROM = 3


def fail(path, lineno, msg):
    sys.stderr.write('%s:%d: %s\n' % (path, lineno, msg))
    sys.exit(1)


def read_rows(name):
    """Return (path, version, [(lineno, fields)]) for one data file."""
    path = os.path.join(DATA, name)
    version = None
    rows = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if line.startswith('#'):
                text = line[1:].strip()
                if text.startswith('version:'):
                    version = text[len('version:'):].strip()
                continue
            if not line.strip():
                continue
            rows.append((lineno, line.split('\t')))
    if not version:
        fail(path, 1, 'no "# version:" line')
    return path, version, rows


def c_string(s):
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += '\\' + ch
        elif ' ' <= ch <= '~':
            out += ch
        else:
            fail('<string>', 0, 'non-ASCII output %r' % s)
    return out + '"'


def main():
    versions = []
    rules = {}
    detects = []
    for name in RULE_FILES:
        path, version, rows = read_rows(name)
        versions.append(version)
        for lineno, fields in rows:
            kind = fields[0]
            if len(fields) < 3 or fields[1] not in LANGS:
                fail(path, lineno, 'bad row')
            lang = fields[1]
            src = fields[2]
            if kind == 'detect':
                cps = [ord(c) for c in src]
                if not 1 <= len(cps) <= MAX_FROM:
                    fail(path, lineno, 'detect needs 1..%d letters' % MAX_FROM)
                detects.append((cps, LANGS[lang]))
                if len(detects) > 21:
                    fail(path, lineno, 'at most 21 detect rows (a 64-bit mask in C)')
                continue
            if kind != 'map' or len(fields) not in (4, 5):
                fail(path, lineno, 'bad row')
            final_only = src.endswith('$')
            if final_only:
                src = src[:-1]
            cps = [ord(c) for c in src]
            if not 1 <= len(cps) <= MAX_FROM:
                fail(path, lineno, 'from must be 1..%d letters' % MAX_FROM)
            for c in src:
                # cd_fold lower-cases and removes marks, except from й, ў and ї
                if unicodedata.normalize('NFC', c.casefold()) != c or \
                        (unicodedata.decomposition(c) and c not in '\u0439\u045e\u0457'):
                    fail(path, lineno, '%r is not folded, no rule can match it' % c)
            to = fields[3]
            initial = fields[4] if len(fields) == 5 else None
            for t in (to, initial or ''):
                if not all(ch.isascii() and (ch.islower() or ch.isdigit()) for ch in t):
                    fail(path, lineno, 'output must be lower-case ASCII letters')
            key = (tuple(cps), LANGS[lang], final_only)
            if key in rules:
                fail(path, lineno, 'duplicate rule')
            rules[key] = (to, initial)

    # every rule must start with a letter the base set maps on its own: the C code treats
    # such letters as covered by the tables and everything else as work for ICU
    base_single = {k[0][0] for k in rules if len(k[0]) == 1 and k[1] == 'CD_TL_BASE' and not k[2]}
    for (cps, lang, final_only) in rules:
        if cps[0] not in base_single:
            fail(RULE_FILES[0], 0, 'rule for %r: no single-letter base rule for its first letter'
                 % ''.join(map(chr, cps)))

    path, version, rows = read_rows(SURNAME_FILE)
    versions.append(version)
    surnames = set()
    for lineno, fields in rows:
        name = unicodedata.normalize('NFC', fields[0].strip())
        if len(name) != 2:
            fail(path, lineno, 'a two-character name is expected')
        surnames.add((ord(name[0]), ord(name[1])))

    # order: first letter, then longer sequences first, so a lookup takes the first match
    order = sorted(rules.items(), key=lambda kv: (kv[0][0][0], -len(kv[0][0]), kv[0][1], kv[0][2]))

    w = sys.stdout.write
    w('/*\n * translit_data.c\n *\t\tGenerated by tools/gen_translit_data.py from data/translit_*.tsv;\n'
      ' *\t\tdo not edit.\n */\n')
    w('#include "translit_data.h"\n\n')
    w('const char cd_translit_data_version_string[] = %s;\n\n' % c_string(';'.join(versions)))
    w('const CdTranslitRule cd_translit_rules[] = {\n')
    for (cps, lang, final_only), (to, initial) in order:
        padded = list(cps) + [0] * (MAX_FROM - len(cps))
        w('\t{{%s}, %d, %s, %s, %s, %s},\n' % (
            ', '.join('0x%04X' % c for c in padded), len(cps), lang,
            'true' if final_only else 'false', c_string(to),
            c_string(initial) if initial is not None else 'NULL'))
    w('};\n')
    w('const int\tcd_translit_nrules = (int) (sizeof(cd_translit_rules) / sizeof(cd_translit_rules[0]));\n\n')
    # dense index of the first rule for the Greek and Cyrillic blocks
    w('const int16_t cd_translit_dense_first[CD_TL_DENSE_LAST - CD_TL_DENSE_FIRST + 1] = {\n')
    first = {}
    for i, ((cps, _, _), _) in enumerate(order):
        first.setdefault(cps[0], i)
    dense = [first.get(c, -1) for c in range(0x0370, 0x0530)]
    for k in range(0, len(dense), 16):
        w('\t' + ', '.join(str(v) for v in dense[k:k + 16]) + ',\n')
    w('};\n\n')
    letters = sorted({c for cps, _ in detects for c in cps})
    w('const int32_t cd_translit_detect_letters[] = {%s};\n' % ', '.join('0x%04X' % c for c in letters))
    w('const int\tcd_translit_ndetect_letters = %d;\n\n' % len(letters))
    w('const CdTranslitDetect cd_translit_detects[] = {\n')
    for cps, lang in detects:
        padded = list(cps) + [0] * (MAX_FROM - len(cps))
        w('\t{{%s}, %d, %s},\n' % (', '.join('0x%04X' % c for c in padded), len(cps), lang))
    w('};\n')
    w('const int\tcd_translit_ndetects = (int) (sizeof(cd_translit_detects) / sizeof(cd_translit_detects[0]));\n\n')
    w('const int32_t cd_cjk_surnames[][2] = {\n')
    for a, b in sorted(surnames):
        w('\t{0x%04X, 0x%04X},\n' % (a, b))
    w('};\n')
    w('const int\tcd_cjk_nsurnames = (int) (sizeof(cd_cjk_surnames) / sizeof(cd_cjk_surnames[0]));\n')


if __name__ == '__main__':
    main()
