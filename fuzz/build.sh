#!/usr/bin/env bash
# Builds every fuzz target (build only; running them is fuzz/run.sh). Called by .ci/run.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without them it says so
# and succeeds, so CI on a stable-only machine still passes.
set -euo pipefail
cd "$(dirname "$0")/.."

# Formatting needs no nightly: the fuzz crate is outside the workspace, so `cargo fmt --all` at the
# root does not see it.
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

if ! cargo +nightly fuzz --help >/dev/null 2>&1; then
  echo "fuzz/build.sh: skipped: \`cargo +nightly fuzz\` is unavailable (needs a nightly toolchain and \`cargo install cargo-fuzz\`)"
  exit 0
fi
cargo +nightly fuzz build
echo "fuzz/build.sh: built $(cargo +nightly fuzz list | tr '\n' ' ')"
