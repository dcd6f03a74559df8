#!/usr/bin/env bash
# Presence figures of Herald under herald-load (crates/herald-load), over TCP.
#
# USERS users (u00000 ...), each watching the next WATCH users: USERS x WATCH presence
# subscriptions, every SUBSCRIBE with digest authentication (one 401 per user, then
# the nonce is reused with an increasing nc). The server's RSS is read before and
# after the subscriptions (RSS per subscription = delta / subscriptions) with the
# server CPU-seconds they cost. Then a ladder of publish steps: PUBLISH at each rate
# of RATES for DUR seconds (random presentity, availability cycling Available / Busy /
# Away), then DRAIN seconds for the NOTIFYs still owed. herald-load measures NOTIFYs/s
# and the publish-to-NOTIFY latency of every (publish, watcher) pair; a NOTIFY that
# carries a newer value (the server coalesces changes within its 1 s notify interval)
# delivers the older publishes too. A step passes when >= 95 % of the target rate was
# achieved, < 1 % of publishes failed and every NOTIFY owed arrived within the drain;
# the ladder stops at the first failing step.
#
#   bash bench/presence.sh            # full: 10k users x 50 watched, RATES ladder
#   bash bench/presence.sh --quick    # smoke: 1k users x 10 watched, two short steps
# Env: USERS, WATCH, DUR, DRAIN, RATES, CONNS (herald-load's TCP connections), PORT,
#      HERALD_BIN, LOAD_BIN (prebuilt binaries), OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

USERS=${USERS:-10000}; WATCH=${WATCH:-50}; DUR=${DUR:-10}; DRAIN=${DRAIN:-5}; CONNS=${CONNS:-50}
RATES=${RATES:-"200 500 1000 2000 3000"}
if [ "${1:-}" = "--quick" ]; then USERS=1000; WATCH=10; DUR=3; DRAIN=3; CONNS=10; RATES="100 300"; fi
OUT=${OUT:-/tmp/herald-bench-presence-$(date -u +%Y%m%dT%H%M%SZ)}
PORT=${PORT:-15360}
DOMAIN=bench.test
PASSWORD=bench-pw
mkdir -p "$OUT"

if [ -z "${HERALD_BIN:-}" ] || [ -z "${LOAD_BIN:-}" ]; then
  (cd "$repo" && cargo build --release -p herald -p herald-load >/dev/null)
  HERALD_BIN=${HERALD_BIN:-"${CARGO_TARGET_DIR:-$repo/target}/release/herald"}
  LOAD_BIN=${LOAD_BIN:-"${CARGO_TARGET_DIR:-$repo/target}/release/herald-load"}
fi
if ss -Hlnt 2>/dev/null | awk '{print $4}' | grep -q ":$PORT\$"; then echo "port $PORT is busy" >&2; exit 1; fi

SERVER_PID=""; LOAD_PID=""; SAMPLER_PID=""
stop_pid() { # pid: TERM, then KILL after 10 s; only the pids this script started
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$1" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  exec 3>&- 2>/dev/null || true
  stop_pid "$LOAD_PID"; LOAD_PID=""
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
  stop_pid "$SERVER_PID"; SERVER_PID=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Users and configuration.
data="$OUT/data"; rm -rf "$data"; mkdir -p "$data"
awk -v n="$USERS" -v d="$DOMAIN" -v p="$PASSWORD" \
  'BEGIN { for (i = 0; i < n; i++) printf "sip:u%05d@%s,%s\n", i, d, p }' > "$OUT/users.csv"
cat > "$data/herald.toml" <<TOML
domains = ["$DOMAIN"]
listen = ["tcp:127.0.0.1:$PORT"]
log = "warn"
[auth]
algorithms = ["MD5", "SHA-256"]
[flood]
# The load comes from this address: a load test from a trusted address is not throttled.
trusted = ["127.0.0.1/32"]
TOML
"$HERALD_BIN" --data-dir "$data" user import "$OUT/users.csv" >/dev/null

"$HERALD_BIN" --data-dir "$data" --config "$data/herald.toml" serve --no-demo-users > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
started=""
for _ in $(seq 100); do grep -q "listening" "$OUT/server.log" && { started=1; break; }; sleep 0.1; done
[ -n "$started" ] || { echo "server did not start, see $OUT/server.log" >&2; exit 1; }

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
# Server CPU and RSS, and herald-load's CPU (it shares the cores), twice a second, to
# line up with herald-load's step times.
load_ticks() { local p; p=$(cat "$OUT/load.pid" 2>/dev/null) && awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0; }
rm -f "$OUT/load.pid"
( while kill -0 "$SERVER_PID" 2>/dev/null; do
    echo "$(date +%s.%N) $(cpu_ticks) $(rss_kb) $(load_ticks)"; sleep 0.5
  done ) > "$OUT/usage.txt" &
SAMPLER_PID=$!

{ echo "nproc: $(nproc)"; grep -m1 "model name" /proc/cpuinfo || true; uname -r
  echo "USERS=$USERS WATCH=$WATCH DUR=$DUR DRAIN=$DRAIN CONNS=$CONNS RATES=$RATES"
  echo "herald: $(cd "$repo" && git log -1 --format='%h %s' | cut -c1-100)"; } > "$OUT/env.txt"

sleep 1
rss_idle=$(rss_kb); cpu0=$(cpu_ticks)

# herald-load waits for a line on the fifo after the subscriptions: the RSS is read then.
rm -f "$OUT/go"; mkfifo "$OUT/go"
"$LOAD_BIN" presence --server "127.0.0.1:$PORT" --domain "$DOMAIN" --users "$USERS" --watch "$WATCH" \
    --password "$PASSWORD" --connections "$CONNS" --rate "$(echo $RATES | tr ' ' ',')" \
    --duration "$DUR" --drain "$DRAIN" --stop-on-fail --json "$OUT/load.json" \
    < "$OUT/go" > "$OUT/load.out" 2> "$OUT/load.log" &
LOAD_PID=$!
echo "$LOAD_PID" > "$OUT/load.pid"
exec 3> "$OUT/go"
t0=$(date +%s)
until grep -q "^READY" "$OUT/load.out" 2>/dev/null; do
  kill -0 "$LOAD_PID" 2>/dev/null || { echo "herald-load ended early, see $OUT/load.log" >&2; cat "$OUT/load.out" >&2; exit 1; }
  [ $(( $(date +%s) - t0 )) -lt 1800 ] || { echo "subscription phase took over 30 min" >&2; exit 1; }
  sleep 0.2
done
cpu1=$(cpu_ticks)
sleep 2   # let the server finish the first NOTIFYs' bookkeeping before reading RSS
rss_subs=$(rss_kb)
cat "$OUT/load.out"
echo go >&3
exec 3>&-
wait "$LOAD_PID" || { echo "herald-load failed, see $OUT/load.log" >&2; LOAD_PID=""; exit 1; }
LOAD_PID=""
cat "$OUT/load.out" | sed '1,/^READY/d'

python3 - "$OUT" "$rss_idle" "$rss_subs" "$cpu0" "$cpu1" "$tck" <<'PY'
import json, sys
out, rss_idle, rss_subs, cpu0, cpu1, tck = sys.argv[1:]
rss_idle, rss_subs, tck = int(rss_idle), int(rss_subs), float(tck)
r = json.load(open(f"{out}/load.json"))
s = r["subscribe"]
usage = []
for line in open(f"{out}/usage.txt"):
    try:
        t, c, m, l = line.split()
        usage.append((float(t), int(c), int(m), int(l)))
    except ValueError:
        pass
def cpu_between(a, b):
    """Server CPU, herald-load CPU (fractions of one core) and peak server RSS (kB)."""
    inside = [u for u in usage if a <= u[0] <= b]
    if len(inside) < 2:
        return float("nan"), float("nan"), 0
    span = inside[-1][0] - inside[0][0]
    return ((inside[-1][1] - inside[0][1]) / tck / span, (inside[-1][3] - inside[0][3]) / tck / span,
            max(u[2] for u in inside))
subs = s["established"]
per_sub = (rss_subs - rss_idle) * 1024 / subs if subs else float("nan")
sub_cpu = (int(cpu1) - int(cpu0)) / tck
lines = [
    f"Presence through herald over TCP: {r['users']} users x {r['watch']} watched, {r['connections']} connections",
    f"subscriptions: {subs} of {s['subscriptions']} established in {s['complete_after_s']:.1f} s "
    f"({s['per_second']:.0f}/s incl. first NOTIFY), first NOTIFY missing {s['missing_first_notify']}, "
    f"outcomes {' '.join(f'{k}:{v}' for k, v in s['outcomes'].items())}",
    f"server RSS: idle {rss_idle / 1024:.1f} MiB, with subscriptions {rss_subs / 1024:.1f} MiB "
    f"-> {per_sub:.0f} bytes per subscription; server CPU for the subscription phase {sub_cpu:.1f} s "
    f"({sub_cpu / subs * 1e6 if subs else float('nan'):.0f} us per subscription)",
    "",
    f"{'rate/s':>7} {'result':>6} {'achieved':>9} {'NOTIFY/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
    f"{'max ms':>8} {'PUB p99':>8} {'fail %':>7} {'missing':>8} {'later':>7} {'cpu %':>6} {'load %':>6} "
    f"{'RSS MiB':>8}",
]
best = 0
for st in r["steps"]:
    lat = st["latency"]
    cpu, load_cpu, rss = cpu_between(st["window_start_unix_s"], st["drain_end_unix_s"])
    lines.append(
        f"{st['target_rate']:>7} {'pass' if st['pass'] else 'FAIL':>6} {st['achieved_rate']:>9.0f} "
        f"{st['notifies_per_s']:>9.0f} {lat['p50_ms']:>8.1f} {lat['p90_ms']:>8.1f} {lat['p99_ms']:>8.1f} "
        f"{lat['max_ms']:>8.1f} {st['publish_response']['p99_ms']:>8.1f} {st['failure_pct']:>7.2f} "
        f"{st['missing_notifies']:>8} {st['missing_notifies_later']:>7} {100 * cpu:>6.0f} {100 * load_cpu:>6.0f} "
        f"{rss / 1024:>8.1f}")
    if st["pass"]:
        best = max(best, st["target_rate"])
lines.append("")
lines.append(f"highest passing PUBLISH rate: {best}/s" if best else "no step passed")
if r["terminated"]:
    lines.append(f"subscriptions terminated by the server: {r['terminated']}")
if r["anomalies"]:
    lines.append(f"herald-load anomalies: {r['anomalies']}")
lines.append("p50..max: PUBLISH sent -> NOTIFY read, per watcher; PUB p99: PUBLISH -> its final response; "
             "missing: NOTIFYs owed after the drain; later: still owed a drain after the last PUBLISH answer; "
             "cpu % / load %: server / herald-load CPU over the step, 100 % = one core")
with open(f"{out}/summary.txt", "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
cat "$OUT/env.txt"
echo "results in $OUT"
