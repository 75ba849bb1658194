# PGXS build of the extension.  The C++ unit tests of the PostgreSQL-free
# code are built separately by CMakeLists.txt.

EXTENSION = nextcrm_mongo_fdw
MODULE_big = nextcrm_mongo_fdw
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

SRCS = $(wildcard src/*.cpp src/core/*.cpp)
OBJS = $(SRCS:.cpp=.o)

# The pgTAP validation suite is installed beside the install script, for
# pg_prove after a migration (docs/MIGRATING.md).
DATA = $(wildcard sql/$(EXTENSION)--*.sql) test/pgtap/validation/$(EXTENSION)_validate.sql

# pg_regress suites: every sql/*.sql except the install scripts.
REGRESS = $(filter-out $(EXTENSION)--%,$(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))

# libmongoc 1.x's pkg-config name, else 2.x's (mongoc2; libmongoc-2.0 in
# some distributions).
MONGOC_PC := $(firstword $(foreach m,libmongoc-1.0 mongoc2 libmongoc-2.0,$(shell pkg-config --exists $(m) && echo $(m))))
ifeq ($(MONGOC_PC),)
MONGOC_PC := libmongoc-1.0
endif
MONGOC_CFLAGS := $(shell pkg-config --cflags $(MONGOC_PC))
MONGOC_LIBS := $(shell pkg-config --libs $(MONGOC_PC))

# Data files embedded into the module with .incbin (src/core/embedded_data.cpp).
FIELDS_CSV := $(abspath data/nextcrm/mongo-fields.csv)
ENUMS_CSV := $(abspath data/nextcrm/mongo-enums.csv)
MAPPING_CSV := $(abspath data/nextcrm/mapping.csv)
# The Prisma migrations, bundled into the module (src/migrate_schema.cpp) so
# that an empty database gets exactly the schema Prisma Migrate would create.
MIGRATION_SQL := $(sort $(wildcard prisma/migrations/*/migration.sql))
MIGRATIONS_BUNDLE := $(abspath migrations.bundle)
EXTRA_CLEAN = migrations.bundle .migrations-list .pgxs-target

PG_CPPFLAGS = -I$(srcdir)/src $(MONGOC_CFLAGS) -DNEXTCRM_VERSION=\"$(EXTVERSION)\" \
	-DNEXTCRM_FIELDS_CSV=\"$(FIELDS_CSV)\" -DNEXTCRM_ENUMS_CSV=\"$(ENUMS_CSV)\" \
	-DNEXTCRM_MAPPING_CSV=\"$(MAPPING_CSV)\" -DNEXTCRM_MIGRATIONS_BUNDLE=\"$(MIGRATIONS_BUNDLE)\"
# bson_t carries an alignment attribute that g++ reports as ignored when the
# type is a template argument; smart pointers hold only a pointer, so it is
# harmless there.  PostgreSQL's spinlock headers still use `register`, which
# C++17 removed.  -Wshadow=compatible-local is in PostgreSQL 16+'s own CFLAGS;
# naming it here makes a build against 15 refuse the same code.
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wshadow=compatible-local -Wno-unused-parameter \
	-Wno-missing-field-initializers -Wno-ignored-attributes -Wno-register -fno-omit-frame-pointer
SHLIB_LINK = $(MONGOC_LIBS) -lcrypto -lz -lstdc++

# Debian builds PostgreSQL with LLVM, so PGXS would also emit clang bitcode for
# JIT inlining.  Nothing here is called from JIT-compiled expressions, so the
# bitcode would only cost build time and a second compiler's warnings.
override with_llvm = no

# Rebuild objects when a header they include changes (PGXS's -MMD support;
# dependency files go to .deps/ by base name, so source base names must stay
# unique across src/ and src/core/).  Without it a changed class layout
# leaves stale objects that corrupt memory.
override autodepend = yes

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS builds in the source tree and its dependency files do not notice a
# different PostgreSQL: .pgxs-target names the installation the objects were
# built for, and is rewritten (so every object is rebuilt) only when PG_CONFIG
# names another one.  Objects of two versions are never linked together.
PG_TARGET := $(shell $(PG_CONFIG) --version) $(shell $(PG_CONFIG) --includedir-server)
.pgxs-target: FORCE
	@[ "$$(cat $@ 2>/dev/null)" = "$(PG_TARGET)" ] || echo "$(PG_TARGET)" > $@
$(OBJS): .pgxs-target
.PHONY: FORCE
FORCE:

src/core/embedded_data.o: $(FIELDS_CSV) $(ENUMS_CSV) $(MAPPING_CSV)

# Each migration as "<directory name>\n<length>\n<bytes>", bytes unchanged.
# .migrations-list names the migrations the bundle was made of, and is
# rewritten only when that set changes: a migration removed (none of the
# remaining files is newer than the bundle) rebuilds it too.
.migrations-list: FORCE
	@[ "$$(cat $@ 2>/dev/null)" = "$(MIGRATION_SQL)" ] || echo "$(MIGRATION_SQL)" > $@
migrations.bundle: $(MIGRATION_SQL) .migrations-list
	@for f in $(MIGRATION_SQL); do \
		printf '%s\n%s\n' "$$(basename "$$(dirname "$$f")")" "$$(wc -c < "$$f")"; cat "$$f"; \
	done > $@

src/migrate_schema.o: migrations.bundle

.PHONY: format format-check
format:
	clang-format -i src/*.cpp src/*.hpp src/core/*.cpp src/core/*.hpp test/unit/*.cpp tools/*.cpp

format-check:
	clang-format --dry-run --Werror src/*.cpp src/*.hpp src/core/*.cpp src/core/*.hpp test/unit/*.cpp tools/*.cpp
