#!/usr/bin/env bash
# Pager MESSAGE throughput and latency of Herald (or the Kamailio anchor) under SIPp.
#
# USERS users are all registered with Contact = one SIPp (message_uas_register.xml,
# which then stays up and answers every relayed MESSAGE 200 through its out-of-call
# scenario message_uas.xml); it registers them over the transport under test, so over
# TCP the bindings live on its one connection, the flow Herald delivers on. A second
# SIPp sends MESSAGEs user i -> user i+USERS/2 at a fixed rate, each one with digest
# authentication (MESSAGE -> 407 -> MESSAGE with Proxy-Authorization -> 200). Each
# ladder step runs DUR seconds; it passes when failed calls < 1 %, every planned call
# was made and the achieved rate is >= 95 % of the target (the method of
# ../../shared/anchors/kamailio/README.md). The ladder stops at the first failing
# step; it is run RUNS times and the figure is the median of the per-run maxima.
# Then one step at half that rate traces every response time (-trace_rtt) for p50/p99.
#
#   bash bench/message.sh              # full: 10k users, UDP and TCP, 3 runs
#   bash bench/message.sh --quick      # smoke: 1k users, short steps, 1 run
#   TARGET=kamailio bash bench/message.sh   # the same ladder against the anchor's
#                                      # kamailio.cfg (no auth: *_noauth scenarios)
# Env: USERS, DUR, RUNS, RATES, TRANSPORTS, TARGET (herald|kamailio), HERALD_BIN,
#      PORT (Herald's; Kamailio's is 5070, fixed by its cfg), OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

USERS=${USERS:-10000}; DUR=${DUR:-10}; RUNS=${RUNS:-3}; TRANSPORTS=${TRANSPORTS-"udp tcp"}
RATES=${RATES:-"500 1000 2000 3000 4000 5000 6000 7000 8000 9000 10000 12000"}
TARGET=${TARGET:-herald}
if [ "${1:-}" = "--quick" ]; then USERS=1000; DUR=3; RUNS=1; RATES="200 500"; fi
OUT=${OUT:-/tmp/herald-bench-message-$(date -u +%Y%m%dT%H%M%SZ)}
DOMAIN=bench.test
mkdir -p "$OUT"

case $TARGET in
  herald)
    PORT=${PORT:-15160}
    UAC_SF="$here/sipp/message_uac_auth.xml"; UAS_SF="$here/sipp/message_uas_register.xml" ;;
  kamailio)
    PORT=5070
    # kamailio.cfg serves only its own address as a domain (no alias to add there).
    DOMAIN=127.0.0.1:5070
    KAM_HERE=$(cd "$repo/../shared/anchors/kamailio" 2>/dev/null && pwd) \
      || { echo "the Kamailio anchor (shared/anchors/kamailio) is not beside the repository" >&2; exit 1; }
    UAC_SF="$here/sipp/message_uac_noauth.xml"; UAS_SF="$here/sipp/message_uas_register_noauth.xml" ;;
  *) echo "TARGET must be herald or kamailio" >&2; exit 1 ;;
esac
UAS_PORT=$((PORT + 100)); UAC_PORT=$((PORT + 200))

need=""
command -v sipp >/dev/null || need="$need sip-tester"
if [ "$TARGET" = kamailio ]; then command -v kamailio >/dev/null || need="$need kamailio"; fi
if [ -n "$need" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null; fi
if [ "$TARGET" = herald ] && [ -z "${HERALD_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --locked -p herald >/dev/null)
  HERALD_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/herald"
fi
for p in "$PORT" "$UAS_PORT" "$UAC_PORT"; do
  if ss -Hlntu 2>/dev/null | awk '{print $5}' | grep -q ":$p\$"; then echo "port $p is busy" >&2; exit 1; fi
done

# Injection files: users (for the registering SIPp) and pairs i -> i+N/2 (for the sender).
python3 - "$USERS" "$OUT" "$DOMAIN" <<'PY'
import sys
n, out, dom = int(sys.argv[1]), sys.argv[2], sys.argv[3]
name = lambda k: f"u{k:06d}"
pw = lambda k: f"p{k:06d}x"
with open(f"{out}/users.csv", "w") as c, open(f"{out}/users.inf", "w") as u, open(f"{out}/pairs.inf", "w") as p:
    u.write("SEQUENTIAL\n"); p.write("SEQUENTIAL\n")
    for k in range(n):
        c.write(f"{name(k)}@{dom},{pw(k)}\n")
        u.write(f"{name(k)};{dom};[authentication username={name(k)} password={pw(k)}]\n")
        t = (k + n // 2) % n
        p.write(f"{name(k)};{name(t)};{dom};[authentication username={name(k)} password={pw(k)}]\n")
PY

SERVER_PID=""; UAS_PID=""
stop_pid() { # pid: TERM, then KILL after 10 s; only the pids this script started
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$1" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() { stop_pid "$UAS_PID"; UAS_PID=""; stop_pid "$SERVER_PID"; SERVER_PID=""; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() { # label
  if [ "$TARGET" = herald ]; then
    local data="$OUT/data-$1"; rm -rf "$data"; mkdir -p "$data"
    cat > "$data/herald.toml" <<TOML
domains = ["$DOMAIN"]
listen = ["udp:127.0.0.1:$PORT", "tcp:127.0.0.1:$PORT"]
log = "warn"
[auth]
algorithms = ["MD5", "SHA-256"]
[flood]
# The load comes from this address: a load test from a trusted address is not throttled.
trusted = ["127.0.0.1/32"]
TOML
    "$HERALD_BIN" --data-dir "$data" user import "$OUT/users.csv" >/dev/null
    "$HERALD_BIN" --data-dir "$data" serve > "$OUT/server-$1.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q "listening" "$OUT/server-$1.log" && return 0; sleep 0.1; done
  else
    mkdir -p /tmp/kam && rm -rf /tmp/kam/dbtext && cp -r /usr/share/kamailio/dbtext/kamailio /tmp/kam/dbtext
    cp "$KAM_HERE/kamailio.cfg" /tmp/kam/kamailio.cfg
    kamailio -f /tmp/kam/kamailio.cfg -P /tmp/kam/kamailio.pid -m 4096 -M 16 -E -DD > "$OUT/server-$1.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 40); do kamcmd -s unix:/tmp/kam/kamailio_ctl core.uptime >/dev/null 2>&1 && return 0; sleep 0.25; done
  fi
  echo "server did not start, see $OUT/server-$1.log" >&2; exit 1
}

server_pids() { echo "$SERVER_PID"; pgrep -P "$SERVER_PID" || true; }
cpu_ticks() { local s=0 p t; for p in $(server_pids); do t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && s=$((s + t)); done; echo "$s"; }
tck=$(getconf CLK_TCK)

start_uas() { # transport: register every user from one SIPp that stays as their device
  local t=$1 log="$OUT/uas-$1.log"
  rm -f "$log"
  (cd "$OUT" && exec sipp 127.0.0.1:$PORT -sf "$UAS_SF" -oocsf "$here/sipp/message_uas.xml" -t "${t:0:1}1" \
      -i 127.0.0.1 -p "$UAS_PORT" -inf "$OUT/users.inf" -r 2000 -m "$USERS" -l $((USERS + 10)) -d 36000000 \
      -recv_timeout 10000 -nostdin -trace_logs -log_file "$log" -trace_err -error_file "$OUT/uas-$t.err" \
      > /dev/null 2>&1) &
  UAS_PID=$!
  local n=0
  for _ in $(seq 600); do
    n=$(grep -c "^registered" "$log" 2>/dev/null || true)
    [ "${n:-0}" -ge "$USERS" ] && break
    kill -0 "$UAS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "registered $n of $USERS users ($t) with Contact = the receiving SIPp" | tee -a "$OUT/setup.txt"
  [ "${n:-0}" -ge "$USERS" ] || { echo "registration incomplete, see $OUT/uas-$t.err" >&2; exit 1; }
}

step() { # transport rate label [extra sipp args] -> "pass|FAIL achieved failed fail_pct cpu_per_10k"
  local t=$1 r=$2 label=$3; shift 3
  local m=$((r * DUR)) d="$OUT/steps/$t-$r-$label"
  mkdir -p "$d"
  local c0 c1 t0 t1
  c0=$(cpu_ticks); t0=$(date +%s.%N)
  (cd "$d" && timeout $((DUR + 60)) sipp 127.0.0.1:$PORT -sf "$UAC_SF" -t "${t:0:1}1" -i 127.0.0.1 -p "$UAC_PORT" \
      -inf "$OUT/pairs.inf" -r "$r" -m "$m" -recv_timeout 5000 -timeout $((DUR + 30))s -nostdin \
      -default_behaviors all,-bye -trace_stat -stf stat.csv "$@" > /dev/null 2> sipp.stderr) || true
  t1=$(date +%s.%N); c1=$(cpu_ticks)
  python3 - "$d/stat.csv" "$r" "$m" "$t0" "$t1" "$c0" "$c1" "$tck" "$TARGET" <<'PY'
import csv, sys
st, rate, m, t0, t1, c0, c1, tck, target = sys.argv[1:]
m = int(m)
try:
    rows = list(csv.reader(open(st), delimiter=';'))
    h, last = rows[0], rows[-1]
    g = lambda k: last[h.index(k)]
    ok, failed, created = int(g("SuccessfulCall(C)")), int(g("FailedCall(C)")), int(g("TotalCallCreated"))
except Exception:
    ok, failed, created = 0, m, 0
elapsed = float(t1) - float(t0)
achieved = ok / elapsed if elapsed > 0 else 0
passed = failed < 0.01 * m and created >= m and achieved >= 0.95 * int(rate)
cpu_s = (float(c1) - float(c0)) / float(tck)
reqs = (2 if target == "herald" else 1) * (ok + failed)   # MESSAGEs the server got
per10k = cpu_s / reqs * 10000 if reqs else float("nan")
pct = 100 * failed / created if created else 100.0
print(f"{'pass' if passed else 'FAIL'} {achieved:.0f} {failed} {pct:.3f} {per10k:.3f}")
PY
}

percentiles() { # step dir -> "p50 p99 n" in ms from SIPp's -trace_rtt file
  python3 - "$1" <<'PY'
import glob, sys
vals = []
for f in glob.glob(f"{sys.argv[1]}/*_rtt.csv"):
    for line in open(f):
        parts = line.strip().split(";")
        if len(parts) >= 2:
            try:
                vals.append(float(parts[1]))
            except ValueError:
                pass  # the header line
vals.sort()
if not vals:
    print("na na 0")
else:
    q = lambda p: vals[min(len(vals) - 1, int(p * len(vals)))]
    # SIPp traces whole milliseconds (truncated): 0 means under 1 ms.
    show = lambda v: "<1" if v < 1 else f"{v:.0f}"
    print(f"{show(q(0.50))} {show(q(0.99))} {len(vals)}")
PY
}

{ echo "target: $TARGET"; echo "nproc: $(nproc)"; grep -m1 "model name" /proc/cpuinfo || true; uname -r
  sipp -v 2>&1 | grep -m1 -i sipp || true; echo "USERS=$USERS DUR=$DUR RUNS=$RUNS RATES=$RATES"; } > "$OUT/env.txt"
echo -e "transport\trun\trate\tresult\tachieved_calls_s\tfailed\tfail_pct\tserver_cpu_s_per_10k_msg" > "$OUT/steps.tsv"
: > "$OUT/max.tsv"; : > "$OUT/latency.tsv"
for t in $TRANSPORTS; do
  start_server "$t"
  start_uas "$t"
  maxima=""
  for run in $(seq "$RUNS"); do
    best=0
    for r in $RATES; do
      read -r res ach fail pct per <<<"$(step "$t" "$r" "run$run")"
      echo -e "$t\t$run\t$r\t$res\t$ach\t$fail\t$pct\t$per" | tee -a "$OUT/steps.tsv"
      [ "$res" = pass ] || break
      best=$r
      sleep 2
    done
    echo -e "$t\t$run\t$best" >> "$OUT/max.tsv"
    maxima="$maxima $best"
  done
  median=$(python3 -c "import statistics, sys; print(int(statistics.median(int(x) for x in sys.argv[1:])))" $maxima)
  half=$((median / 2))
  if [ "$half" -gt 0 ]; then
    sleep 2
    read -r res ach fail pct per <<<"$(step "$t" "$half" latency -trace_rtt -rtt_freq 1)"
    read -r p50 p99 n <<<"$(percentiles "$OUT/steps/$t-$half-latency")"
    echo -e "$t\t$half\t$res\t$fail\t$pct\t$p50\t$p99\t$n" | tee -a "$OUT/latency.tsv"
  fi
  stop_pid "$UAS_PID"; UAS_PID=""
  stop_pid "$SERVER_PID"; SERVER_PID=""
done

python3 - "$OUT" "$TARGET" <<'PY'
import collections, statistics, sys
out, target = sys.argv[1], sys.argv[2]
maxima = collections.defaultdict(list)
for line in open(f"{out}/max.tsv"):
    t, _, best = line.split()
    maxima[t].append(int(best))
latency = {}
for line in open(f"{out}/latency.tsv"):
    t, rate, res, failed, pct, p50, p99, n = line.split()
    latency[t] = (rate, p50, p99, n, pct)
fails = collections.defaultdict(list)
for line in list(open(f"{out}/steps.tsv"))[1:]:
    t, run, rate, res, ach, failed, pct, per = line.split()
    fails[t].append(f"{rate}:{pct}%{'' if res == 'pass' else '(FAIL)'}")
lines = [f"MESSAGE ({'digest auth per message' if target == 'herald' else 'no auth'}) through {target}",
         f"{'transport':<9} {'max/run':<22} {'median max':>10} {'p50 ms':>8} {'p99 ms':>8} {'at rate':>8} {'samples':>8}"]
for t, v in maxima.items():
    rate, p50, p99, n, _ = latency.get(t, ("-", "-", "-", "0", "-"))
    lines.append(f"{t.upper():<9} {str(v):<22} {statistics.median(v):>10.0f} {p50:>8} {p99:>8} {rate:>8} {n:>8}")
lines.append("failure rate per step (rate:failed%):")
for t, v in fails.items():
    lines.append(f"  {t.upper()}: " + " ".join(v))
with open(f"{out}/summary.txt", "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
cat "$OUT/env.txt"
echo "results in $OUT"
