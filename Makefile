# PicoShare for Rust. `make run` and `make test` are the two set-up commands in the README.
CARGO ?= cargo
ARGS ?=
# Release builds are static (glibc linked in, `-C target-feature=+crt-static`): only the libc
# code we use is mapped, which takes about 1 MB off the idle RSS. `--target` keeps the flag off
# build scripts and proc-macros.
HOST := $(shell rustc -vV | sed -n 's/^host: //p')
RELEASE_BIN := target/$(HOST)/release/picoshare

.PHONY: run build release test test-browser check fmt clippy bench bench-attack fuzz

# Build and start with the defaults: database data/store.db, port 4001, and a random
# passphrase printed once unless PS_SHARED_SECRET or PS_SHARED_SECRET_FILE is set.
run: release
	./$(RELEASE_BIN) $(ARGS)

build:
	$(CARGO) build --locked

release:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked \
		--target $(HOST) --bin picoshare

# Every test: unit, store, transport, in-process handlers, real-binary HTTP (curl), Litestream
# and browser tests. What a test needs and this machine lacks is installed on first need; what
# cannot be fails the run, unless PICOSHARE_TEST_SKIP names it (README.md, Development). The
# tests skipped that way are listed at the end.
SKIPPED_LOG := target/tmp/skipped-tests.txt
test:
	@rm -f $(SKIPPED_LOG)
	$(CARGO) test --locked --workspace
	$(MAKE) test-browser
	@if [ -s $(SKIPPED_LOG) ]; then \
		echo "Skipped because PICOSHARE_TEST_SKIP=$$PICOSHARE_TEST_SKIP names what they need:"; \
		cat $(SKIPPED_LOG); \
	fi

# Browser journeys in headless Chromium against the real binary (installs chromium and
# playwright-core when missing; screenshots go to tests/browser/screenshots/).
test-browser: build
	bash tests/browser/run.sh

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

check:
	$(CARGO) fmt --all -- --check
	$(MAKE) clippy
	$(MAKE) test

# The tiny-VM benchmark (not part of `make test`): three 618 MiB uploads in parallel inside
# 256 MB and 32 MB memory cgroups, baselines, seek latency, footprint, and side by side with
# the Go PicoShare when PICOSHARE_GO names its binary (default: where
# ../shared/tools/picoshare-go/build.sh puts it, if it is there). Writes bench/RESULTS.md.
# BIG=1 adds one 7 GiB upload.
PICOSHARE_GO ?= $(wildcard /tmp/picoshare-go/bin/picoshare-1.5.1)
bench: release
	PICOSHARE_BIN=$(CURDIR)/$(RELEASE_BIN) PICOSHARE_GO=$(PICOSHARE_GO) python3 bench/bench.py

# Only the "under attack" section of make bench (issue 15), written to bench/RESULTS-attack.md.
# ATTACK_SCALE=small runs each attack at a fraction of its strength, as a quick check.
bench-attack: release
	PICOSHARE_BIN=$(CURDIR)/$(RELEASE_BIN) python3 bench/attack.py

# A long run of the property-based fuzz tests (`make test` runs a short, bounded one).
# Issue 13's differential tests count Python-encoded forms: the reader alone reads each one
# five ways; through the server each is uploaded and downloaded (fewer, each costs more).
FUZZ_ITERS ?= 100000
FUZZ_FORMS ?= 20000
FUZZ_UPLOADS ?= 2000
fuzz:
	FUZZ_ITERS=$(FUZZ_ITERS) $(CARGO) test --release --locked --test issue_7_fuzz
	FUZZ_ITERS=$(FUZZ_FORMS) $(CARGO) test --release --locked -p multipart --test differential \
		-- --nocapture
	FUZZ_ITERS=$(FUZZ_UPLOADS) $(CARGO) test --release --locked --test issue_13_multipart \
		issue_13_python_encoded_uploads -- --nocapture

# Deployment recipes (deploy/fly, deploy/lightsail): print the steps; nothing is run.
.PHONY: deploy-fly deploy-lightsail test-deploy
deploy-fly:
	@sed -n '/^## 1\./,/^## Operations/{/^## Operations/!p;}' deploy/fly/README.md

deploy-lightsail:
	@sed -n '/^## 1\./,/^## What big uploads/{/^## What big uploads/!p;}' deploy/lightsail/README.md

# Only the deployment tests: a real Litestream round trip, fly.toml, the systemd units, the
# Caddyfile, the launch script (Litestream and Caddy are installed into .tools/ on first
# need). `make test` runs them too.
test-deploy:
	$(CARGO) test --locked --test issue_8_litestream
