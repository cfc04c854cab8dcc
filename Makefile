# Vexil: `make demo` runs the main job, `make test` runs every test.
# Both install what they need first (scripts/setup.sh), idempotently.

# Must equal the wasm-bindgen version in Cargo.lock (setup.sh checks).
WASM_BINDGEN_VERSION := 0.2.130
export WASM_BINDGEN_VERSION

CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
# The module is the bindings crate over the core alone: no origin, CLI or authoring
# features (Cargo.toml).
WASM_CARGO := --target $(WASM_TARGET) --no-default-features
WASM_CRATE := -p vexil-wasm
# `wasm` (size-optimised, the default) or `wasm-speed` (opt-level 3); see Cargo.toml.
WASM_PROFILE ?= wasm
WASM_RAW := target/$(WASM_TARGET)/$(WASM_PROFILE)/vexil_wasm.wasm
WASM_OUT := pkg/wasm/vexil_bg.wasm
# Every entry hands the glue its module (pkg/lazy.js, node.js, worker.js), so the
# glue's own default path is left out; every runtime served has encodeInto.
WASM_BINDGEN_FLAGS := --target web --omit-default-module-path --encode-into always
# Binaryen's wasm-opt from npm (v132): Debian's v108 mis-exports wasm-bindgen's
# externref table, which breaks loading.
WASM_OPT := node_modules/.bin/wasm-opt
# Cargo's progress is hidden for the quick rebuilds of tests; `make demo` shows it
# (its first release builds take minutes).
CARGO_QUIET ?= --quiet

.PHONY: setup setup-test wasm wasm-names www build test test-rust test-wasm test-js demo demo-intro bench lint clean

setup:
	@bash scripts/setup.sh

# Everything the tests start themselves: Chromium, and PostgreSQL for throwaway clusters.
setup-test:
	@bash scripts/setup.sh --browser --postgres

# The wasm module: size-optimised build, bindings, the panic path's formatting
# snipped (scripts/snip-wasm.mjs), then wasm-opt (which also strips).
wasm: setup
	@$(CARGO) build $(CARGO_QUIET) $(WASM_CRATE) --lib $(WASM_CARGO) --profile $(WASM_PROFILE)
	@wasm-bindgen $(WASM_BINDGEN_FLAGS) --out-dir pkg/wasm --out-name vexil $(WASM_RAW)
	@node scripts/snip-wasm.mjs $(WASM_OUT)
	@$(WASM_OPT) -Oz --converge --strip-debug --strip-producers $(WASM_OUT) -o $(WASM_OUT)
	@node scripts/inline-wasm.mjs $(WASM_OUT) pkg/wasm/vexil_inline.js
	@printf 'wasm: %s bytes, %s bytes gzipped\n' "$$(wc -c < $(WASM_OUT))" "$$(gzip -9 -c $(WASM_OUT) | wc -c)"

# The same module with its name section kept, for the benchmark's size report
# (bench/peers/wasm-size.mjs): the same wasm-bindgen output and `wasm-opt -Oz`, with
# -g so the function names stay. What `make wasm` ships is unchanged.
WASM_NAMES_DIR := target/wasm-names
wasm-names: wasm
	@wasm-bindgen $(WASM_BINDGEN_FLAGS) --out-dir $(WASM_NAMES_DIR) --out-name vexil $(WASM_RAW)
	@node scripts/snip-wasm.mjs $(WASM_NAMES_DIR)/vexil_bg.wasm
	@$(WASM_OPT) -Oz --converge -g $(WASM_NAMES_DIR)/vexil_bg.wasm -o $(WASM_NAMES_DIR)/vexil_bg.wasm

# The console's one third-party file: uPlot, from npm.
www: setup
	@mkdir -p www/vendor
	@cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css www/vendor/

build: wasm www
	@$(CARGO) build $(CARGO_QUIET) --release --bin vexil

test-rust: setup
	$(CARGO) test --quiet
	$(CARGO) check --quiet --no-default-features --lib

test-wasm: setup
	$(CARGO) test $(WASM_CRATE) $(WASM_CARGO) --test wasm

# The worker tests start a real `vexil serve` (target/debug/vexil).
test-js: wasm www setup-test
	$(CARGO) build --quiet --bin vexil
	node --test pkg/test/*.test.js worker/test/*.test.js www/test/*.test.js scripts/test/*.test.js

# Rust first, then wasm-bindgen tests, then the JS runner, whose summary ends the output.
test: wasm www setup-test
	$(CARGO) test --quiet
	$(CARGO) check --quiet --no-default-features --lib
	$(CARGO) test $(WASM_CRATE) $(WASM_CARGO) --test wasm
	node --test pkg/test/*.test.js worker/test/*.test.js www/test/*.test.js scripts/test/*.test.js

demo: CARGO_QUIET =
demo: demo-intro build
	@bash scripts/demo.sh

demo-intro:
	@echo "make demo: building the wasm package and the release binary (cargo shows its progress; the first build takes a few minutes)"

# Native (criterion, including the side-by-side workload), then Vexil and its peers
# in one Node run (bench/peers.mjs), then the worker and the origin, then the origin
# on SQLite beside two replicas on a throwaway PostgreSQL.
bench: wasm-names setup-test
	$(CARGO) build --quiet --release --bin vexil
	node bench/peers/native-workload.mjs
	$(CARGO) bench --bench engine
	node bench/peers.mjs
	node bench/edge.mjs
	node bench/origin-replicas.mjs

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy $(WASM_CARGO) --lib -- -D warnings
	$(CARGO) clippy $(WASM_CRATE) $(WASM_CARGO) --lib --test wasm -- -D warnings
	$(CARGO) clippy --no-default-features --lib -- -D warnings

clean:
	rm -rf target pkg/wasm .demo www/vendor
