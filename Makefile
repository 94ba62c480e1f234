# crmdedup: PGXS build, plus targets for the pure C core's unit tests and fuzzers.
EXTENSION = crmdedup
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = crmdedup

# Data tables in data/ are compiled into C by tools/gen_<name>.py -> src/core/<name>.c
GEN_SRCS = $(patsubst tools/gen_%.py,src/core/%.c,$(wildcard tools/gen_*.py))
CORE_SRCS = $(sort $(filter-out $(GEN_SRCS),$(wildcard src/core/*.c)) $(GEN_SRCS))
GLUE_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(GLUE_SRCS:.c=.o)

# The install script is assembled from sql/install/*.sql in name order (pg_partman's way);
# upgrade scripts are written by hand and never edited after a release.
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard sql/released/*.sql) $(wildcard sql/updates/*.sql)

REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION) --encoding=UTF8 --no-locale
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION) --encoding=UTF8 --no-locale

PKGS = libutf8proc icu-uc icu-i18n
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lm
PG_CPPFLAGS = -I$(srcdir)/src/core -I$(srcdir)/src $(PKG_CFLAGS)
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK = $(PKG_LIBS)

EXTRA_CLEAN = $(GEN_SRCS) build results regression.diffs regression.out output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

ifeq ($(shell $(PG_CONFIG) --configure | grep -c -- '--with-icu'),0)
$(error PostgreSQL was built without ICU; crmdedup needs an ICU-enabled server)
endif

$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

src/core/%.c: tools/gen_%.py tools/data_tsv.py $(wildcard data/*)
	python3 $< > $@.tmp && mv $@.tmp $@

$(OBJS): $(wildcard src/core/*.h src/*.h)

# ---- pure core: unit tests (Check) and fuzzers (libFuzzer), built without PostgreSQL ----
CORE_CC ?= cc
CORE_CFLAGS = -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/core $(PKG_CFLAGS)
UNIT_TESTS = $(patsubst test/unit/%.c,build/unit/%,$(wildcard test/unit/test_*.c))
FUZZERS = $(patsubst test/fuzz/%.c,build/fuzz/%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 20

build/unit/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h test/unit/*.h)
	@mkdir -p build/unit
	$(CORE_CC) $(CORE_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -o $@ $< $(CORE_SRCS) $(shell pkg-config --cflags --libs check) $(PKG_LIBS)

build/fuzz/%: test/fuzz/%.c $(CORE_SRCS) $(wildcard src/core/*.h test/fuzz/*.h)
	@mkdir -p build/fuzz
	clang $(CORE_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(CORE_SRCS) $(PKG_LIBS)

.PHONY: unit fuzz-build fuzz
unit: $(UNIT_TESTS)
	@rc=0; for t in $(UNIT_TESTS); do $$t || rc=1; done; exit $$rc

fuzz-build: $(FUZZERS)

fuzz: $(FUZZERS)
	@rc=0; for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p build/corpus/$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=0 \
	      build/corpus/$$n test/fuzz/corpus/$$n >build/fuzz/$$n.log 2>&1 \
	    && echo "fuzz $$n: ok" || { echo "fuzz $$n: FAILED (see build/fuzz/$$n.log)"; rc=1; }; done; exit $$rc

build/bench/core_bench: bench/core_bench.c $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p build/bench
	$(CORE_CC) -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/core $(PKG_CFLAGS) -o $@ $< $(CORE_SRCS) $(PKG_LIBS)

build/bench/score_core: bench/score_core.c $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p build/bench
	$(CORE_CC) -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/core $(PKG_CFLAGS) -o $@ $< $(CORE_SRCS) $(PKG_LIBS)
