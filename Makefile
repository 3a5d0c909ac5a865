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

.PHONY: all build guest test fresh-embed demo bench bench-smoke bench-deps lint wasm-tools toolchain dovecot clean

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

## build: the component, then the host CLI that embeds it.
build: guest
	$(CARGO) build --release -p cfimap-cli -p cfimap-tests --bins

guest: toolchain
	$(CARGO) build --release -p cfimap --target wasm32-wasip2

## test: lints, a smoke run of the bench, unit tests, then the conformance
## tests against a private Dovecot (the host library's examples among them).
test: build dovecot lint bench-smoke
	$(CARGO) test --release -p cfimap --lib
	$(CARGO) test --release -p cfimap-host -p cfimap-cli -p cfimap-tests
	$(MAKE) fresh-embed

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

## wasm-tools: from crates.io, built once (about 3 minutes).
wasm-tools:
	@$(WASM_TOOLS) --version 2>/dev/null | grep -q '$(WASM_TOOLS_VERSION)' || \
	  $(CARGO) install --locked wasm-tools --version $(WASM_TOOLS_VERSION)

## demo: a throwaway Dovecot seeded with sample mail, and cfimap run against it
## (over STARTTLS, verified against the demo's own CA).
DEMO_AUTH := CFIMAP_PASSWORD="$$CFIMAP_DEMO_PASSWORD"
DEMO_CONN := --server "$$CFIMAP_DEMO_SERVER" --port "$$CFIMAP_DEMO_PORT" --username "$$CFIMAP_DEMO_USER" --cafile "$$CFIMAP_DEMO_CAFILE"
DEMO_FILES := target/demo-attachments

demo: build dovecot
	rm -rf $(DEMO_FILES)
	$(TARGET)/release/cfimap-testbed demo -- \
	  '$(DEMO_AUTH) "$$CFIMAP_BIN" listAllFolders --recurse $(DEMO_CONN) --format table' \
	  '$(DEMO_AUTH) "$$CFIMAP_BIN" getHeaderOnly --folder INBOX $(DEMO_CONN) --format table' \
	  '$(DEMO_AUTH) "$$CFIMAP_BIN" getAll --uid 3 --attachmentpath $(DEMO_FILES) $(DEMO_CONN) --format json' \
	  'ls -l $(DEMO_FILES)'

## bench: cfimap against imaplib, IMAPClient and a raw-socket floor on a
## private Dovecot (10,000 + 2,000 messages); results in target/bench.
BENCH_VENV := target/bench-venv
BENCH_PY   := $(BENCH_VENV)/bin/python
IMAPCLIENT := imapclient==4.1.0

bench: build dovecot bench-deps
	CFIMAP_BENCH_PYTHON=$(BENCH_PY) $(TARGET)/release/cfimap-bench --out target/bench

## bench-smoke: the same bench on a tiny corpus, checks only (part of test).
bench-smoke: build dovecot bench-deps
	CFIMAP_BENCH_PYTHON=$(BENCH_PY) $(TARGET)/release/cfimap-bench --smoke --out target/bench-smoke

## bench-deps: IMAPClient for the bench's Python peers, in a venv of its own
## (made once). Debian's python3 needs python3-venv for `-m venv`.
bench-deps:
	@$(BENCH_PY) -c 'import imapclient' 2>/dev/null || { \
	  command -v python3 >/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3; }; \
	  rm -rf $(BENCH_VENV); \
	  python3 -m venv $(BENCH_VENV) >/dev/null 2>&1 || { \
	    rm -rf $(BENCH_VENV); \
	    $(APT) update -qq && $(APT) install -y -qq python3-venv && python3 -m venv $(BENCH_VENV); }; \
	  $(BENCH_PY) -m pip install -q $(IMAPCLIENT); }

clean:
	$(CARGO) clean
