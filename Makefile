# PicoShare for Rust. `make run` and `make test` are the two set-up commands in the README.
CARGO ?= cargo
ARGS ?=

.PHONY: run build release test test-browser check fmt clippy

# Build and start with the defaults: database data/store.db, port 4001, and a random
# passphrase printed once unless PS_SHARED_SECRET or PS_SHARED_SECRET_FILE is set.
run: release
	./target/release/picoshare $(ARGS)

build:
	$(CARGO) build --locked

release:
	$(CARGO) build --release --locked

# Every test: unit, store and real-binary HTTP tests.
test:
	$(CARGO) test --locked --workspace

# Browser journeys in headless Chromium against the real binary (installs chromium and
# playwright-core when missing; screenshots go to tests/browser/screenshots/).
test-browser: build
	bash tests/browser/setup.sh
	cd tests/browser && node --test --test-concurrency=1 journeys/

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

check:
	$(CARGO) fmt --all -- --check
	$(MAKE) clippy
	$(MAKE) test
