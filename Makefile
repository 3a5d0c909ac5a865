# cfimap — build, test, demo, bench. Each target installs what it needs on a
# fresh Debian machine first (apt packages, the rustup target).

CARGO  ?= cargo
GUEST  := target/wasm32-wasip2/release/cfimap.wasm
CLI    := target/release/cfimap
APT    := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: all build test demo bench bench-smoke bench-deps lint toolchain dovecot clean

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
build: toolchain
	$(CARGO) build --release -p cfimap --target wasm32-wasip2
	$(CARGO) build --release -p cfimap-host -p cfimap-tests --bins

## test: lints, a smoke run of the bench, unit tests, then the conformance
## tests against a private Dovecot.
test: build dovecot lint bench-smoke
	$(CARGO) test --release -p cfimap --lib
	$(CARGO) test --release -p cfimap-host -p cfimap-tests

lint: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release -p cfimap --target wasm32-wasip2 -- -D warnings
	$(CARGO) clippy --release -p cfimap --lib --tests -- -D warnings
	$(CARGO) clippy --release -p cfimap-host -p cfimap-tests --all-targets -- -D warnings

## demo: a throwaway Dovecot seeded with sample mail, and cfimap run against it
## (over STARTTLS, verified against the demo's own CA).
DEMO_AUTH := CFIMAP_PASSWORD="$$CFIMAP_DEMO_PASSWORD"
DEMO_CONN := --server "$$CFIMAP_DEMO_SERVER" --port "$$CFIMAP_DEMO_PORT" --username "$$CFIMAP_DEMO_USER" --cafile "$$CFIMAP_DEMO_CAFILE"
DEMO_FILES := target/demo-attachments

demo: build dovecot
	rm -rf $(DEMO_FILES)
	target/release/cfimap-testbed demo -- \
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
	CFIMAP_BENCH_PYTHON=$(BENCH_PY) target/release/cfimap-bench --out target/bench

## bench-smoke: the same bench on a tiny corpus, checks only (part of test).
bench-smoke: build dovecot bench-deps
	CFIMAP_BENCH_PYTHON=$(BENCH_PY) target/release/cfimap-bench --smoke --out target/bench-smoke

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
