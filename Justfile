# Porch in Rust: every task of the project. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build every crate and binary.
build:
    cargo build --workspace --all-targets

# The whole test gate: format, lint, generated-artefact drift, every test, then upstream's
# porchctl conformance cases end to end.
test: lint drift unit conformance

# Format check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Every unit, integration and doc test (nextest when installed).
unit:
    if cargo nextest --version >/dev/null 2>&1; then \
        cargo nextest run --workspace --no-fail-fast; \
    else \
        cargo test --workspace --no-fail-fast; \
    fi
    cargo test --workspace --doc

# Regenerate the CRD YAML in crds/ from the Rust types.
crds:
    cargo run --quiet -p porch-crds --bin crdgen -- crds

# Fail when committed generated files differ from what the code generates.
drift:
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT; \
    cargo run --quiet -p porch-crds --bin crdgen -- "$tmp"; \
    diff -u <(cd crds && ls *.yaml) <(cd "$tmp" && ls *.yaml); \
    for f in "$tmp"/*.yaml; do diff -u "crds/$(basename "$f")" "$f"; done

# Format the code.
fmt:
    cargo fmt --all

# Benchmarks of every crate that has them.
bench:
    cargo bench --workspace

# The kpt library's three figures: parse + emit MB/s, render of 100 resources, 3-way merge.
bench-kpt:
    cargo bench -p kpt --bench kpt

# porch.kpt.dev over HTTPS against the release `porch standalone` (10,000 revisions synced from git)
bench-api:
    cargo bench -p porch --bench standalone_api

# Fuzz the kpt YAML parser (nightly + `cargo install cargo-fuzz`); target = parse | roundtrip.
fuzz-kpt target="parse" secs="300":
    cd kpt/fuzz && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-{{justfile_directory()}}/target}/fuzz" \
        cargo +nightly fuzz run {{target}} -- -max_total_time={{secs}} -timeout=10

# Start `porch standalone` on 127.0.0.1:7443 with its data in .porch/ (kubeconfig: .porch/kubeconfig).
run *ARGS:
    cargo run --quiet -p porch -- standalone --data-dir .porch {{ARGS}}

# Run upstream's data-driven porchctl cases (../shared/conformance) against porch standalone.
conformance *ARGS:
    porchctl/scripts/conformance.sh {{ARGS}}
