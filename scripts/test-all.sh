#!/usr/bin/env bash
# Runs every test of the workspace: formatting, lints, the feature matrix of the published crates,
# unit/integration/doc tests, docs, the no_std build of ws-core, the check that ws-core, ws-adapter and
# ws-std pull in no async crate, and the Autobahn conformance suite on every adapter in both roles, the
# browser test of the demo and a short run of every fuzz target. Installs what it needs itself (kosoku in a
# venv under target/, Chromium via apt-get, playwright-core via npm, cargo-fuzz and cargo-hack via cargo
# install), except redis-server and the proxies (tinyproxy, squid, microsocks, dante-server, stunnel4):
# ws-demo's --redis tests and tests/tests/proxy.rs need them and fail without them (.ci/run installs them
# with apt-get). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "feature matrix: every feature of each published crate on its own (cargo hack, -D warnings)"
# --ignore-private skips the publish = false crates (ws-testkit, ws-cli, ws-demo, ws-tests, ws-benches);
# --no-dev-deps builds each library the way a dependent gets it. clippy rather than check: its arguments
# reach only the workspace's crates, so -D warnings does not rebuild the dependencies.
command -v cargo-hack >/dev/null || cargo install --locked cargo-hack
cargo hack clippy --workspace --ignore-private --each-feature --no-dev-deps -- -D warnings

step "ws-core builds as no_std + alloc; ws-core, ws-adapter and ws-std have no async dependency"
cargo build -p ws-core --no-default-features
# Matches tokio, futures, async-std, smol, async-io and their family (futures-util, tokio-rustls, ...).
for crate in ws-core ws-adapter ws-std; do
  if cargo tree -p "$crate" -e normal --prefix none | grep -E '^(tokio|futures|async-std|smol|async-io)[- ]' ; then
    echo "$crate must not depend on a runtime or an async crate" >&2
    exit 1
  fi
done

step "ws-hyper without its default tokio feature picks no runtime"
# hyper's HTTP/2 (h2) uses tokio's I/O traits and sync types; no runtime, timer or socket feature may
# come in through ws-hyper itself.
if cargo tree -p ws-hyper --no-default-features -e normal,features -i tokio 2>/dev/null \
    | grep -E 'tokio feature "(rt|rt-multi-thread|time|net)"'; then
  echo "ws-hyper --no-default-features must not enable a tokio runtime, timer or socket feature" >&2
  exit 1
fi

step "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc -p ws-core --no-deps --no-default-features

step "tests"
cargo test --workspace
# Tests and doc examples behind ws-core's optional features (the http-typed handshakes need `http` and
# `deflate`, which no workspace crate turns on for ws-core yet): without this step they would not run.
cargo test -p ws-core --all-features

step "browser: the demo chat in headless Chromium"
bash tests/browser/run.sh

step "Autobahn conformance (kosoku), every adapter, both roles, strict"
python3 tests/autobahn/driver.py --parallelism 2 --allow-unimplemented '' --readme README.md

step "fuzzing: every cargo-fuzz target for a short run"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
