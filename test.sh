#!/usr/bin/env bash
# Runs every Herald test: formatting, lints, unit and integration tests, a fuzz smoke
# run of every fuzz target, the interop tests against real SIP peers (SIPp,
# PJSIP, SIPVicious), then a smoke run of the benchmark harness against Kamailio. Installs what it needs on a
# fresh Debian machine (run as root there). Usage: ./test.sh
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, integration, RFC 4475 parser conformance)"
cargo test --workspace --locked

step "fuzz smoke: every cargo-fuzz target for 30 s from its seeds (stable, -s none)"
FUZZ_JOBS="${FUZZ_JOBS:-2}" bash tests/fuzz/smoke.sh "${FUZZ_SECONDS:-30}"

step "release build for the interop tests and the benchmark smoke run"
cargo build --release --locked -p herald -p herald-load

step "interop tests against real SIP peers"
HERALD_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/herald" bash tests/interop/run.sh

step "benchmark harness smoke run against Kamailio (bench/run.sh --quick)"
HERALD_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/herald" \
  HERALD_LOAD_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/herald-load" bash bench/run.sh --quick
