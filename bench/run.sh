#!/usr/bin/env bash
# Herald against Kamailio on this host, side by side (issue 7). Installs what it needs
# (SIPp from Debian's sip-tester, Kamailio and its presence, SQLite and TLS modules,
# matplotlib for the plot), builds Herald and herald-load in release mode, and runs
# bench/harness.py, which prints the table of Herald/Kamailio ratios.
#
#   bash bench/run.sh              # the full run (about 45 minutes on 2 cores); writes BENCHMARKS.md
#   bash bench/run.sh --quick      # smoke run (under 2 minutes): every test on both servers, tiny rates
#   bash bench/run.sh --tests register,message --runs 1     # a subset (see harness.py --help)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

need=""
command -v sipp >/dev/null || need="$need sip-tester"
command -v kamailio >/dev/null || need="$need kamailio"
mods=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -f $mods/presence_xml.so ] || need="$need kamailio-presence-modules"
[ -f $mods/db_sqlite.so ] || need="$need kamailio-sqlite-modules"
[ -f $mods/tls.so ] || need="$need kamailio-tls-modules"
command -v sqlite3 >/dev/null || need="$need sqlite3"
command -v openssl >/dev/null || need="$need openssl"
if [ -n "$need" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; }
fi
python3 -c "import matplotlib" 2>/dev/null || pip install -q matplotlib >/dev/null 2>&1 \
  || echo "matplotlib could not be installed: the run goes on without the plot" >&2

target="${CARGO_TARGET_DIR:-$repo/target}"
if [ -z "${HERALD_BIN:-}" ] || [ -z "${HERALD_LOAD_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --locked -p herald -p herald-load)
fi
export HERALD_BIN="${HERALD_BIN:-$target/release/herald}" HERALD_LOAD_BIN="${HERALD_LOAD_BIN:-$target/release/herald-load}"

args=("$@")
if [ $# -eq 0 ]; then args=(--write-doc); fi
exec python3 "$here/harness.py" --herald-bin "$HERALD_BIN" --load-bin "$HERALD_LOAD_BIN" "${args[@]}"
