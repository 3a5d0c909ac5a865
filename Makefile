# cfimap — build, test, demo, bench. Each target installs what it needs on a
# fresh Debian machine first (apt packages, the rustup target).

CARGO  ?= cargo
TARGET := $(or $(CARGO_TARGET_DIR),target)
GUEST  := $(TARGET)/wasm32-wasip2/release/cfimap.wasm
CLI    := $(TARGET)/release/cfimap
APT    := DEBIAN_FRONTEND=noninteractive apt-get
# wasm-tools checks the built component against the WIT world (make lint);
# `cargo install` puts it in Cargo's bin directory.
WASM_TOOLS_VERSION := 1.263.0
WASM_TOOLS := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin/wasm-tools

# The host crate embeds the component built here (its build.rs refuses a
# component older than the guest's sources); without this it would build
# the guest a second time into its own target directory.
export CFIMAP_COMPONENT := $(abspath $(GUEST))

.PHONY: all build install guest node node-test test test-external fresh-embed demo bench bench-smoke bench-deps lint wasm-tools toolchain dovecot clean

all: build

## toolchain: the wasm target the guest is built for.
toolchain:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

## dovecot: Debian's IMAP server, run privately by the tests and the demo
## (never as a system service).
dovecot:
	@test -x /usr/sbin/dovecot || { $(APT) update -qq && $(APT) install -y -qq dovecot-imapd; }
	@# Debian may start a system instance on install; the tests never use it.
	@-systemctl stop dovecot >/dev/null 2>&1 || true

## build: the component, then the host CLI that embeds it, and the Node host;
## then the component compiled ahead of time beside the CLI (cfimap-KEY.cwasm,
## KEY a hash of the component, the host version and the engine
## configuration), so that no first run pays for compiling it. A stale file
## of an earlier build goes first.
build: guest node
	$(CARGO) build --release -p cfimap-cli -p cfimap-tests --bins
	rm -f $(TARGET)/release/cfimap-*.cwasm
	@# It refuses a directory others can write to (a umask of 002): then a
	@# first start compiles, as without it.
	@$(CLI) precompile >/dev/null || echo 'make: no component compiled ahead of time (see above); a first start compiles it'

## node: the Node host (host/node): its npm dependencies, exactly as
## package-lock.json pins them, and the component transpiled for it by jco
## into host/node/gen (again whenever the component changes).
NODE_DIR := host/node
node: guest $(NODE_DIR)/gen/cfimap.js

$(NODE_DIR)/gen/cfimap.js: $(GUEST) $(NODE_DIR)/node_modules/.package-lock.json
	cd $(NODE_DIR) && rm -rf gen && ./node_modules/.bin/jco transpile $(abspath $(GUEST)) \
	  --instantiation sync --name cfimap --quiet -o gen

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json $(NODE_DIR)/package.json
	@command -v node >/dev/null && command -v npm >/dev/null || { $(APT) update -qq && $(APT) install -y -qq nodejs npm; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error

## node-test: the Node host's tests: unit tests, a scripted hostile server
## and its TypeScript types; then its API and its CLI (against the Rust
## CLI's output) on a private Dovecot with accounts of their own, and
## README's example.
node-test: build dovecot
	cd $(NODE_DIR) && node --test test/unit.test.mjs test/fault.test.mjs test/compile.test.mjs
	cd $(NODE_DIR) && ./node_modules/.bin/tsc --noEmit --strict --module nodenext --moduleResolution nodenext lib/index.d.ts
	rm -rf $(TARGET)/node-example
	$(TARGET)/release/cfimap-testbed demo --accounts 24 -- \
	  'cd $(NODE_DIR) && CFIMAP_TEST_REQUIRE_ALL=1 node --test test/api.test.mjs test/parity.test.mjs' \
	  '$(subst $(DEMO_FILES)/node,$(TARGET)/node-example,$(NODE_EXAMPLE_ENV)) node $(NODE_DIR)/examples/embed.mjs' \
	  'test -s $(TARGET)/node-example/report-Q4.pdf'

guest: toolchain
	$(CARGO) build --release -p cfimap --target wasm32-wasip2

## test: lints, smoke runs of the bench and the fuzz targets, unit tests, the
## conformance tests against private Dovecots (the host library's examples
## among them), the suite again in its external-server mode, and a fresh
## project embedding the host library. CFIMAP_TEST_REQUIRE_ALL=1: no test of
## the conformance run may be ignored for want of something (tests/build.rs).
test: build dovecot lint bench-smoke fuzz-smoke node-test
	$(CARGO) test --release -p cfimap --lib
	CFIMAP_TEST_REQUIRE_ALL=1 $(CARGO) test --release -p cfimap-host -p cfimap-cli -p cfimap-tests
	$(MAKE) test-external
	$(MAKE) fresh-embed

## test-external: the conformance suite as a user runs it against a server of
## their own (CFIMAP_TEST_SERVER, see tests/harness/target.rs), here a private
## Courier-flavoured Dovecot: `INBOX.` namespace, `.` delimiter, no UNSELECT or ESEARCH,
## implicit TLS verified against its own CA. The tests that need the private
## servers ran above and are reported as ignored here, so this run clears
## CFIMAP_TEST_REQUIRE_ALL. (The same packages as test's run: another set
## unifies other dependency features and rebuilds wasmtime.)
EXTERNAL_ENV := CFIMAP_TEST_SERVER="$$CFIMAP_DEMO_SERVER" CFIMAP_TEST_PORT="$$CFIMAP_DEMO_TLS_PORT" \
  CFIMAP_TEST_SECURE=yes CFIMAP_TEST_USER="$$CFIMAP_DEMO_USER" CFIMAP_TEST_PASSWORD="$$CFIMAP_DEMO_PASSWORD" \
  CFIMAP_TEST_CAFILE="$$CFIMAP_DEMO_CAFILE" CFIMAP_TEST_REQUIRE_ALL=
test-external: build dovecot
	$(TARGET)/release/cfimap-testbed demo --flavor courier -- \
	  '$(EXTERNAL_ENV) $(CARGO) test --release -p cfimap-host -p cfimap-cli -p cfimap-tests'

## fresh-embed: a project made by `cargo new` outside this workspace, depending
## on host/ by path, builds without CFIMAP_COMPONENT (the host's build script
## builds the component itself) and runs the README's example against the demo
## Dovecot. Its own target directory: nothing of this build is reused.
FRESH        := $(TARGET)/fresh-embed
FRESH_TARGET := $(abspath $(TARGET))/fresh-embed-target
fresh-embed: build dovecot
	rm -rf $(FRESH) && mkdir -p $(FRESH)
	dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	  cd "$$dir" && $(CARGO) new --quiet --vcs none --name fresh-embed app && cd app && \
	  $(CARGO) add --quiet --path $(CURDIR)/host cfimap-host && \
	  $(CARGO) add --quiet tokio --features rt,macros && \
	  cp $(CURDIR)/host/examples/embed.rs src/main.rs && \
	  env -u CFIMAP_COMPONENT CARGO_TARGET_DIR=$(FRESH_TARGET) $(CARGO) build --quiet && \
	  cp $(FRESH_TARGET)/debug/fresh-embed $(abspath $(FRESH))/fresh-embed
	$(TARGET)/release/cfimap-testbed demo -- \
	  'CFIMAP_SERVER="$$CFIMAP_DEMO_SERVER" CFIMAP_PORT="$$CFIMAP_DEMO_PORT" CFIMAP_USERNAME="$$CFIMAP_DEMO_USER" \
	   CFIMAP_PASSWORD="$$CFIMAP_DEMO_PASSWORD" CFIMAP_CAFILE="$$CFIMAP_DEMO_CAFILE" \
	   CFIMAP_ATTACHMENTS=$(FRESH)/attachments $(FRESH)/fresh-embed' \
	  'test -n "$$(ls $(FRESH)/attachments)"'

## lint: formatting, clippy on every crate, and the built component checked
## against the WIT world: an import the world does not declare fails here.
lint: guest wasm-tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release -p cfimap --target wasm32-wasip2 -- -D warnings
	$(CARGO) clippy --release -p cfimap --lib --tests -- -D warnings
	$(CARGO) clippy --release -p cfimap-host -p cfimap-cli -p cfimap-tests --all-targets -- -D warnings
	$(WASM_TOOLS) component targets wit $(GUEST) --world cfimap

## wasm-tools: from crates.io, built once, with only its `component`
## subcommands (lint uses `component targets`); all of them took twice as
## long to build.
wasm-tools:
	@$(WASM_TOOLS) --version 2>/dev/null | grep -q '$(WASM_TOOLS_VERSION)' || \
	  $(CARGO) install --locked wasm-tools --version $(WASM_TOOLS_VERSION) \
	    --no-default-features --features component

## demo: a throwaway Dovecot seeded with sample mail, and cfimap run against it
## (over STARTTLS, verified against the demo's own CA).
DEMO_AUTH := CFIMAP_PASSWORD="$$CFIMAP_DEMO_PASSWORD"
DEMO_CONN := --server "$$CFIMAP_DEMO_SERVER" --port "$$CFIMAP_DEMO_PORT" --username "$$CFIMAP_DEMO_USER" --cafile "$$CFIMAP_DEMO_CAFILE"
DEMO_FILES := target/demo-attachments
# The Node host's example (README.md, "Embedding in Node.js") on the demo server.
NODE_EXAMPLE_ENV := CFIMAP_SERVER="$$CFIMAP_DEMO_SERVER" CFIMAP_PORT="$$CFIMAP_DEMO_PORT" \
  CFIMAP_USERNAME="$$CFIMAP_DEMO_USER" CFIMAP_PASSWORD="$$CFIMAP_DEMO_PASSWORD" \
  CFIMAP_CAFILE="$$CFIMAP_DEMO_CAFILE" CFIMAP_ATTACHMENTS=$(DEMO_FILES)/node

demo: build dovecot
	rm -rf $(DEMO_FILES)
	$(TARGET)/release/cfimap-testbed demo -- \
	  '$(DEMO_AUTH) "$$CFIMAP_BIN" listAllFolders --recurse $(DEMO_CONN) --format table' \
	  '$(DEMO_AUTH) "$$CFIMAP_BIN" getHeaderOnly --folder INBOX $(DEMO_CONN) --format table' \
	  '$(DEMO_AUTH) "$$CFIMAP_BIN" getAll --uid 3 --attachmentpath $(DEMO_FILES) $(DEMO_CONN) --format json' \
	  'ls -l $(DEMO_FILES)' \
	  '$(DEMO_AUTH) "$$CFIMAP_BIN" run examples/inbox-report.cfm $(DEMO_CONN)' \
	  '$(NODE_EXAMPLE_ENV) node $(NODE_DIR)/examples/embed.mjs'
	@echo
	@echo 'The demo server is gone. To keep one to try things on, see "make demo" in README.md:'
	@echo '  $(TARGET)/release/cfimap-testbed serve'

## install: cfimap, its component compiled ahead of time (in lib/cfimap, where
## the binary looks) and its manual page under $(PREFIX) (DESTDIR for staging).
PREFIX ?= /usr/local
install: build
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/man/man1"
	install -m 755 $(CLI) "$(DESTDIR)$(PREFIX)/bin/cfimap"
	rm -f "$(DESTDIR)$(PREFIX)/lib/cfimap"/cfimap-*.cwasm
	$(CLI) precompile --dir "$(DESTDIR)$(PREFIX)/lib/cfimap" >/dev/null
	$(CLI) man > "$(DESTDIR)$(PREFIX)/share/man/man1/cfimap.1"

## bench: cfimap against imaplib, IMAPClient and a raw-socket floor on a
## private Dovecot (10,000 + 2,000 messages, and the scale rows: 50,000 and
## 100,000 messages, 5,000 and 10,000 folders); results in target/bench.
BENCH_VENV := target/bench-venv
BENCH_PY   := $(BENCH_VENV)/bin/python
IMAPCLIENT := imapclient==4.1.0

bench: build dovecot bench-deps
	CFIMAP_BENCH_PYTHON=$(BENCH_PY) $(TARGET)/release/cfimap-bench --out target/bench

## bench-smoke: the same bench on a tiny corpus, checks only (part of test).
bench-smoke: build dovecot bench-deps
	CFIMAP_BENCH_PYTHON=$(BENCH_PY) $(TARGET)/release/cfimap-bench --smoke --out target/bench-smoke

## bench-deps: IMAPClient for the bench's Python peers, in a venv of its own
## (made once; Debian's python3 needs python3-venv for `-m venv`), and where
## a JDK is, Debian's Jakarta Mail (JavaMail) for the Java peer.
bench-deps:
	@test -f /usr/share/java/jakarta-mail.jar || ! command -v javac >/dev/null || { \
	  $(APT) update -qq && $(APT) install -y -qq libjakarta-mail-java; }
	@$(BENCH_PY) -c 'import imapclient' 2>/dev/null || { \
	  command -v python3 >/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3; }; \
	  rm -rf $(BENCH_VENV); \
	  python3 -m venv $(BENCH_VENV) >/dev/null 2>&1 || { \
	    rm -rf $(BENCH_VENV); \
	    $(APT) update -qq && $(APT) install -y -qq python3-venv && python3 -m venv $(BENCH_VENV); }; \
	  $(BENCH_PY) -m pip install -q $(IMAPCLIENT); }

## fuzz-deps: cargo-fuzz and the nightly toolchain it builds with (libFuzzer
## and the sanitizers are nightly-only); cargo-fuzz is built once (under a
## minute).
.PHONY: fuzz fuzz-smoke fuzz-deps
CARGO_FUZZ_VERSION := 0.13.2
# Nightly by name, whatever CARGO is: the rest of the build stays on stable.
FUZZ := cargo +nightly fuzz
# -O: release without cargo-fuzz's blanket debug assertions; fuzz/Cargo.toml
# turns them on, with overflow checks, for all but mail-parser (see
# fuzz/README.md). The sanitizer builds stay in fuzz/target, whatever
# CARGO_TARGET_DIR says.
FUZZ_BUILD   := -O --target-dir $(CURDIR)/fuzz/target
FUZZ_TARGETS := responses attributes rows
# libFuzzer: an input that runs longer than this many seconds is a hang.
FUZZ_ARGS    := -timeout=10
# fuzz-smoke is a gate, so it is reproducible: a fixed seed and a fixed
# number of inputs (about 5 s per target here). Exploring with fresh seeds
# is `make fuzz`'s job; a find there joins the corpus or fuzz/regressions.
FUZZ_SMOKE_RUNS ?= 8000
FUZZ_SEED ?= 1
FUZZ_SECONDS ?= 300

fuzz-deps:
	@# libfuzzer-sys builds libFuzzer with a C++ compiler.
	@command -v c++ >/dev/null || { $(APT) update -qq && $(APT) install -y -qq g++; }
	@rustup toolchain list | grep -q '^nightly-' || rustup toolchain install nightly --profile minimal
	@cargo fuzz --version 2>/dev/null | grep -q ' $(CARGO_FUZZ_VERSION)$$' || \
	  $(CARGO) install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION)

## fuzz-smoke: every fuzz target built, then run on FUZZ_SMOKE_RUNS (default
## 8000) inputs from seed FUZZ_SEED (default 1) over a copy of its committed
## corpus and of its open findings in fuzz/regressions (replayed first, so
## none may fail): libFuzzer adds what it finds to the corpus it runs on, and
## fuzz/corpus must stay as committed. Fails on a panic, a failed check or a
## hang (the input is kept in fuzz/artifacts). Part of test.
fuzz-smoke: fuzz-deps
	$(FUZZ) build $(FUZZ_BUILD)
	@for t in $(FUZZ_TARGETS); do \
	  work=$$(mktemp -d) && mkdir "$$work/corpus" && cp fuzz/corpus/$$t/* "$$work/corpus"/ && \
	  for r in fuzz/regressions/$$t-*; do test ! -e "$$r" || cp "$$r" "$$work/corpus"/; done && \
	  if $(FUZZ) run $(FUZZ_BUILD) $$t "$$work/corpus" -- -runs=$(FUZZ_SMOKE_RUNS) \
	       -seed=$(FUZZ_SEED) $(FUZZ_ARGS) >"$$work/log" 2>&1; then \
	    echo "fuzz-smoke $$t: $$(grep -h '^Done' "$$work/log")"; rm -rf "$$work"; \
	  else \
	    grep -A 4 'panicked at' "$$work/log" | head -n 12; tail -n 30 "$$work/log"; \
	    rm -rf "$$work"; echo "fuzz-smoke $$t: failed"; exit 1; \
	  fi; \
	done

## fuzz: the longer run, FUZZ_SECONDS (default 300) per target, on a working
## corpus in fuzz/target/corpus that starts from fuzz/corpus and keeps what
## it finds from one run to the next (fuzz/README.md says how a find joins
## the committed corpus).
fuzz: fuzz-deps
	$(FUZZ) build $(FUZZ_BUILD)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/target/corpus/$$t && cp fuzz/corpus/$$t/* fuzz/target/corpus/$$t/ && \
	  $(FUZZ) run $(FUZZ_BUILD) $$t fuzz/target/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) \
	    $(FUZZ_ARGS) || exit 1; \
	done

clean:
	$(CARGO) clean
