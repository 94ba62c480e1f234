"""Reading the tab-separated tables of data/ for the tools/gen_*.py generators.

Python 3 standard library only.  A table's lines are rows of tab-separated fields; a line
starting with '#' is a comment, and the comment "# version: <name>" names the table's
version, which the generator compiles into C.  Blank lines are skipped.
"""
import sys


def fail(path, lineno, msg):
    """Report a bad line of a table and stop the generator (the build fails)."""
    sys.stderr.write('%s:%d: %s\n' % (path, lineno, msg))
    sys.exit(1)


def read_rows(path):
    """Return (version, [(lineno, fields)]) for one table; no version line fails."""
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
    return version, rows
