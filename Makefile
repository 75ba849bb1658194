# PGXS build of the extension.  The C++ unit tests of the PostgreSQL-free
# code are built separately by CMakeLists.txt.

EXTENSION = nextcrm_mongo_fdw
MODULE_big = nextcrm_mongo_fdw
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

SRCS = $(wildcard src/*.cpp src/pg/*.cpp src/core/*.cpp)
OBJS = $(SRCS:.cpp=.o)

# The pgTAP validation suite is installed beside the install script, for
# pg_prove after a migration (docs/MIGRATING.md).
DATA = $(wildcard sql/$(EXTENSION)--*.sql) test/pgtap/validation/$(EXTENSION)_validate.sql

# pg_regress suites: every sql/*.sql except the install scripts.
REGRESS = $(filter-out $(EXTENSION)--%,$(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))

# libmongoc 1.x's pkg-config name, else 2.x's (mongoc2; libmongoc-2.0 in
# some distributions).  MONGOC_PC=mongoc2 in the environment picks 2.x where
# both are installed.
ifndef MONGOC_PC
MONGOC_PC := $(firstword $(foreach m,libmongoc-1.0 mongoc2 libmongoc-2.0,$(shell pkg-config --exists $(m) && echo $(m))))
endif
ifeq ($(MONGOC_PC),)
MONGOC_PC := libmongoc-1.0
endif
MONGOC_CFLAGS := $(shell pkg-config --cflags $(MONGOC_PC))
MONGOC_LIBS := $(shell pkg-config --libs $(MONGOC_PC))

EXTRA_CLEAN = .pgxs-target

PG_CPPFLAGS = -I$(srcdir)/src $(MONGOC_CFLAGS) -DNEXTCRM_VERSION=\"$(EXTVERSION)\"
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

# The profiles (src/core/profile.hpp): every directory under profiles/ is
# installed as $(datadir)/extension/nextcrm_mongo_fdw/profiles/<name>/, read
# at run time, so a profile changes without a new module.  cp -L copies what
# a symlink points to (the nextcrm profile's migrations/ is
# prisma/migrations), so the installed profile is self-contained.  A
# reinstall replaces each profile whole: no file of an older one survives.
PROFILES_INSTALL_DIR = $(DESTDIR)$(datadir)/extension/$(EXTENSION)/profiles
install: install-profiles
uninstall: uninstall-profiles
.PHONY: install-profiles uninstall-profiles
install-profiles:
	@for p in profiles/*/; do \
		n=$$(basename "$$p"); \
		rm -rf '$(PROFILES_INSTALL_DIR)'/"$$n" && \
		$(MKDIR_P) '$(PROFILES_INSTALL_DIR)'/"$$n" && \
		cp -RL "$$p". '$(PROFILES_INSTALL_DIR)'/"$$n"/ || exit 1; \
	done
uninstall-profiles:
	rm -rf '$(PROFILES_INSTALL_DIR)'

.PHONY: format format-check
format:
	clang-format -i src/*.cpp src/*.hpp src/pg/*.cpp src/pg/*.hpp src/core/*.cpp src/core/*.hpp test/unit/*.cpp tools/*.cpp

format-check:
	clang-format --dry-run --Werror src/*.cpp src/*.hpp src/pg/*.cpp src/pg/*.hpp src/core/*.cpp src/core/*.hpp test/unit/*.cpp tools/*.cpp
