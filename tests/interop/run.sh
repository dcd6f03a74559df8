#!/usr/bin/env bash
# Interop tests of the Herald server against real SIP peers (SIPp, PJSIP) and the
# RFC 4475 torture messages. Installs what is missing (CI: a fresh Debian, as root),
# then runs pytest over this folder. Extra arguments go to pytest.
#   HERALD_BIN   the server binary (default: <repo>/target/release/herald)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export HERALD_BIN="${HERALD_BIN:-$repo/target/release/herald}"

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
python="${PYTHON:-python3}"

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        $sudo apt-get update -qq >/dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

command -v "$python" >/dev/null 2>&1 || apt_install python3 python3-pip
"$python" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
command -v sipp >/dev/null 2>&1 || apt_install sip-tester

pip_install() {
    # Debian's system Python refuses global installs without this flag (PEP 668).
    "$python" -m pip install -q "$@" 2>/dev/null ||
        "$python" -m pip install -q --break-system-packages "$@"
}
"$python" -c "import pytest" 2>/dev/null || pip_install pytest
"$python" -c "import pjsua2" 2>/dev/null || pip_install pjsua2-python

if [ ! -x "$HERALD_BIN" ]; then
    echo "herald binary not found at $HERALD_BIN (build it: cargo build --release -p herald, or set HERALD_BIN)" >&2
    exit 2
fi

cd "$here"
# -p no:cacheprovider: leave no .pytest_cache behind in the source tree.
exec "$python" -m pytest -p no:cacheprovider -q -rfEsx "$here" "$@"
