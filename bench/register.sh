#!/usr/bin/env bash
# REGISTER-with-digest-auth throughput of Herald under SIPp, and RSS with N users
# registered. Each step runs SIPp at a fixed rate for DUR seconds; a step passes when
# failed calls < 1 % and the achieved rate is >= 95 % of the target (the method of
# ../../shared/anchors/kamailio/README.md). The ladder is repeated RUNS times; the
# reported figure is the median of the per-run maxima.
#
#   bash bench/register.sh            # full: 10k users, UDP and TCP, 3 runs
#   bash bench/register.sh --quick    # smoke: 1k users, short steps, 1 run
# Env: USERS, DUR, RUNS, RATES, TRANSPORTS, HERALD_BIN, PORT, OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

USERS=${USERS:-10000}; DUR=${DUR:-10}; RUNS=${RUNS:-3}; TRANSPORTS=${TRANSPORTS-"udp tcp"}
RATES=${RATES:-"1000 2000 4000 6000 8000 10000 12000 14000 16000 18000 20000"}
if [ "${1:-}" = "--quick" ]; then USERS=1000; DUR=3; RUNS=1; RATES="500 1000"; SETTLE=1; fi
PORT=${PORT:-15060}
OUT=${OUT:-/tmp/herald-bench-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

command -v sipp >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends sip-tester >/dev/null; }
if [ -z "${HERALD_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --locked -p herald >/dev/null)
  HERALD_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/herald"
fi
if ss -lun | grep -q ":$PORT " || ss -ltn | grep -q ":$PORT "; then echo "port $PORT is busy" >&2; exit 1; fi

data="$OUT/data"; mkdir -p "$data"
cat > "$data/herald.toml" <<TOML
domains = ["bench.test"]
listen = ["udp:127.0.0.1:$PORT", "tcp:127.0.0.1:$PORT"]
log = "warn"
[auth]
algorithms = ["MD5", "SHA-256"]
[flood]
# The load comes from this address: a load test from a trusted address is not throttled.
trusted = ["127.0.0.1/32"]
[user_limits]
# Each simulated user re-registers several times a second here, far above a real
# device's rate: the per-user budget would refuse most of the load.
register_burst = 100000
register_per_minute = 1000000
TOML
python3 - "$USERS" "$data" <<'PY'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
with open(f"{d}/users.csv", "w") as c, open(f"{d}/users.inf", "w") as i:
    i.write("SEQUENTIAL\n")
    for k in range(n):
        u, p = f"u{k:06d}", f"p{k:06d}x"
        c.write(f"{u}@bench.test,{p}\n")
        i.write(f"{u};bench.test;[authentication username={u} password={p}]\n")
PY
start=$(date +%s.%N)
"$HERALD_BIN" --data-dir "$data" user import "$data/users.csv" >/dev/null
echo "imported $USERS users in $(python3 -c "import sys; print(round($(date +%s.%N) - $start, 2))") s" | tee "$OUT/import.txt"

"$HERALD_BIN" --data-dir "$data" serve > "$OUT/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening" "$OUT/server.log" && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }   # utime+stime in clock ticks
tck=$(getconf CLK_TCK)

{ echo "nproc: $(nproc)"; grep -m1 "model name" /proc/cpuinfo; uname -r; sipp -v 2>&1 | grep -m1 -i sipp || true; } > "$OUT/env.txt"
rss0=$(rss)

# Register every user once (distinct bindings), then read RSS.
sipp 127.0.0.1:$PORT -sf "$here/sipp/register_auth.xml" -t u1 -i 127.0.0.1 -p $((PORT+100)) \
  -inf "$data/users.inf" -r 2000 -m "$USERS" -recv_timeout 5000 -nostdin -default_behaviors all,-bye \
  >/dev/null 2>&1 || true
sleep 1
rss1=$(rss)
# Server transactions are kept 64*T1 = 32 s after their answer (RFC 3261 Timer J) to
# absorb retransmissions; the steady-state figure is read once they are gone.
sleep "${SETTLE:-35}"
rss2=$(rss)
echo "RSS before: $rss0 kB; right after registering $USERS users: $rss1 kB; 35 s later (transactions expired): $rss2 kB" | tee "$OUT/rss.txt"

step() { # transport rate run -> prints "pass achieved failed cpu_per_10k p50ms"
  local t=$1 r=$2 n=$3 m=$(( $2 * DUR )) st="$OUT/stat-$1-$2-$3.csv"
  local c0; c0=$(cpu)
  local t0; t0=$(date +%s.%N)
  timeout $((DUR + 40)) sipp 127.0.0.1:$PORT -sf "$here/sipp/register_auth.xml" -t "${t:0:1}1" -i 127.0.0.1 \
    -p $((PORT+200)) -inf "$data/users.inf" -r "$r" -m "$m" -recv_timeout 5000 -timeout $((DUR + 30))s -nostdin \
    -default_behaviors all,-bye -trace_stat -stf "$st" >/dev/null 2>&1 || true
  local t1; t1=$(date +%s.%N)
  local c1; c1=$(cpu)
  python3 - "$st" "$r" "$m" "$t0" "$t1" "$c0" "$c1" "$tck" <<'PY'
import csv, sys
st, rate, m, t0, t1, c0, c1, tck = sys.argv[1:]
try:
    rows = list(csv.reader(open(st), delimiter=';'))
    h, last = rows[0], rows[-1]
    g = lambda k: last[h.index(k)]
    ok, failed = int(g("SuccessfulCall(C)")), int(g("FailedCall(C)"))
except Exception:
    ok, failed = 0, int(m)
elapsed = float(t1) - float(t0)
achieved = ok / elapsed if elapsed > 0 else 0
passed = failed < 0.01 * int(m) and ok + failed >= int(m) and achieved >= 0.95 * int(rate)
cpu_s = (float(c1) - float(c0)) / float(tck)
reqs = 2 * (ok + failed)   # two REGISTERs per call
per10k = cpu_s / reqs * 10000 if reqs else float("nan")
print(f"{'pass' if passed else 'FAIL'} {achieved:.0f} {failed} {per10k:.3f}")
PY
}

touch "$OUT/max.tsv"
echo -e "transport\trun\trate\tresult\tachieved_calls_s\tfailed\tserver_cpu_s_per_10k_req" > "$OUT/steps.tsv"
for t in $TRANSPORTS; do
  for run in $(seq "$RUNS"); do
    best=0
    for r in $RATES; do
      read -r res ach fail per <<<"$(step "$t" "$r" "$run")"
      echo -e "$t\t$run\t$r\t$res\t$ach\t$fail\t$per" | tee -a "$OUT/steps.tsv"
      [ "$res" = pass ] || break
      best=$r
      sleep 2
    done
    echo -e "$t\t$run\t$best" >> "$OUT/max.tsv"
  done
done
python3 - "$OUT" <<'PY'
import sys, statistics, collections
out = sys.argv[1]
m = collections.defaultdict(list)
for line in open(f"{out}/max.tsv"):
    t, run, best = line.split()
    m[t].append(int(best))
with open(f"{out}/summary.txt", "w") as f:
    for t, v in m.items():
        line = f"REGISTER+auth {t.upper()}: max passing rate per run {v} calls/s -> median {statistics.median(v):.0f} registrations/s ({2*statistics.median(v):.0f} REGISTER/s)"
        print(line); f.write(line + "\n")
PY
cat "$OUT/env.txt" "$OUT/rss.txt"
echo "results in $OUT"
