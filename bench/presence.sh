#!/usr/bin/env bash
# Presence fan-out under herald-load (crates/herald-load), over TCP, against Herald
# (TARGET=herald, default) or the Kamailio of bench/kamailio (TARGET=kamailio, presence +
# presence_xml, digest auth): the PUBLISH-with-watchers test of issue 7.
#
# USERS presentities (u00000 ...), each watched by the WATCH users after it (default 20):
# USERS x WATCH presence subscriptions, every SUBSCRIBE digest-authenticated (one
# challenge per user, then the nonce is reused with an increasing nc). The server's RSS
# is read before the subscriptions (idle) and after them (loaded). Then a ladder of
# publish steps: PUBLISH at each rate of RATES for DUR seconds (random presentity without
# a PUBLISH in flight, availability cycling Available / Busy / Away with an offset so a
# value repeats only after 300 publishes of a user), then DRAIN seconds for the NOTIFYs
# still owed. herald-load matches every NOTIFY to its (publish, watcher) pairs by the
# availability number it carries (Herald's own element, which Kamailio relays as
# published) and measures publish-to-NOTIFY latency. A step passes when >= 95 % of the
# target rate was answered 2xx, < 1 % of publishes failed and every (publish, watcher)
# pair owed was delivered by the end of the drain; the ladder stops at the first failing
# step. Herald coalesces a watcher's changes within its 1 s notify interval (a NOTIFY
# with a newer value delivers the older publishes too); Kamailio sends one NOTIFY per
# PUBLISH and watcher.
#
# Server CPU is utime+stime of every server process (Kamailio's main process and its
# children), sampled twice a second; server_cpu_s of a step covers its window and drain.
# RSS: Herald's VmRSS; for Kamailio the sum of the processes' Pss (its shared memory
# pool is mapped in every process, so a sum of RSS would count it many times).
#
#   bash bench/presence.sh                     # Herald: 5 000 presentities x 20 watchers
#   TARGET=kamailio bash bench/presence.sh     # the same against Kamailio
#   bash bench/presence.sh --quick             # smoke: 500 x 20, two 3 s steps (< 40 s)
#   RATES="1000 2000" DUR=10 RUNS=3 bash bench/presence.sh
# Env: TARGET, USERS, WATCH, DUR, DRAIN, RATES, RUNS, CONCURRENCY, CONNS (herald-load's TCP
#      connections), PORT, HERALD_BIN, LOAD_BIN, OUT, NOTIFY_INTERVAL_MS (Herald only).
# Writes $OUT/result.json (the last run's figures; with RUNS > 1 every run is in "runs"
# and max_passing_publish_rate is the median of the runs' maxima), summary.txt, and per
# run run-N/: load.json, load.out, load.log, usage.txt, server log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

TARGET=${TARGET:-herald}
USERS=${USERS:-5000}; WATCH=${WATCH:-20}; DUR=${DUR:-10}; DRAIN=${DRAIN:-5}; CONNS=${CONNS:-50}
# Users subscribing at once during the set-up (a 503 from an overloaded server is retried
# after its Retry-After, as a client logging in would).
CONCURRENCY=${CONCURRENCY:-500}
RUNS=${RUNS:-1}
RATES=${RATES:-"250 500 1000 1500 2000 3000 4000 5000"}
QUICK=""
if [ "${1:-}" = "--quick" ]; then QUICK=1; USERS=500; DUR=3; DRAIN=2; CONNS=10; RATES="100 300"; RUNS=1; fi
case $TARGET in
  herald) PORT=${PORT:-17060} ;;
  kamailio) PORT=${PORT:-17070} ;;
  *) echo "TARGET must be herald or kamailio" >&2; exit 2 ;;
esac
OUT=${OUT:-/tmp/presence-bench-$TARGET-$(date -u +%Y%m%dT%H%M%SZ)}
DOMAIN=bench.test
PASSWORD=bench-pw
# Every step is bounded: subscriptions (SETUP_LIMIT s), each publish step (window, drain,
# the tool's wait for late answers and NOTIFYs, a margin).
SETUP_LIMIT=${SETUP_LIMIT:-120}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ -z "${LOAD_BIN:-}" ] || { [ "$TARGET" = herald ] && [ -z "${HERALD_BIN:-}" ]; }; then
  pkgs="-p herald-load"; [ "$TARGET" = herald ] && pkgs="$pkgs -p herald"
  (cd "$repo" && cargo build --release --locked $pkgs >/dev/null)
  HERALD_BIN=${HERALD_BIN:-"${CARGO_TARGET_DIR:-$repo/target}/release/herald"}
  LOAD_BIN=${LOAD_BIN:-"${CARGO_TARGET_DIR:-$repo/target}/release/herald-load"}
fi
if ss -Hlnt 2>/dev/null | awk '{print $4}' | grep -q ":$PORT\$"; then echo "port $PORT is busy" >&2; exit 1; fi

awk -v n="$USERS" -v d="$DOMAIN" -v p="$PASSWORD" \
  'BEGIN { for (i = 0; i < n; i++) printf "u%05d@%s,%s\n", i, d, p }' > "$OUT/users.csv"
{ echo "nproc: $(nproc)"; grep -m1 "model name" /proc/cpuinfo || true; uname -r
  echo "TARGET=$TARGET USERS=$USERS WATCH=$WATCH DUR=$DUR DRAIN=$DRAIN CONNS=$CONNS RATES=$RATES RUNS=$RUNS"
  echo "herald: $(cd "$repo" && git log -1 --format='%h %s' | cut -c1-100)"
  [ "$TARGET" = kamailio ] && kamailio -v 2>/dev/null | head -1; true; } > "$OUT/env.txt"

SERVER_PID=""; LOAD_PID=""; SAMPLER_PID=""; KAM_DIR=""
stop_pid() { # pid: TERM, then KILL after 10 s; only the pids this script started
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$1" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_all() {
  exec 3>&- 2>/dev/null || true
  stop_pid "$LOAD_PID"; LOAD_PID=""
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
  if [ -n "$KAM_DIR" ]; then bash "$here/kamailio/stop.sh" "$KAM_DIR"; KAM_DIR=""; SERVER_PID=""; fi
  stop_pid "$SERVER_PID"; SERVER_PID=""
}
trap stop_all EXIT
trap 'exit 130' INT TERM

tck=$(getconf CLK_TCK)
# The server's processes: the main one and its children (Kamailio forks its workers).
server_pids() { echo "$SERVER_PID"; [ "$TARGET" = kamailio ] && pgrep -P "$SERVER_PID" 2>/dev/null; true; }
cpu_ticks() {
  local t=0 p
  for p in $(server_pids); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
mem_kb() {
  if [ "$TARGET" = herald ]; then
    awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0
  else
    local t=0 p
    for p in $(server_pids); do t=$((t + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0))); done
    echo "$t"
  fi
}

start_herald() { # run dir
  local data="$1/data"; rm -rf "$data"; mkdir -p "$data"
  sed 's/^/sip:/' "$OUT/users.csv" > "$1/users.csv"
  cat > "$data/herald.toml" <<TOML
domains = ["$DOMAIN"]
listen = ["tcp:127.0.0.1:$PORT"]
log = "warn"
[auth]
algorithms = ["MD5", "SHA-256"]
[flood]
# The load comes from this address: a load test from a trusted address is not throttled.
trusted = ["127.0.0.1/32"]
[user_limits]
# Each simulated user publishes up to several times a second, far above a real client.
publish_burst = 100000
publish_per_minute = 1000000
subscribe_burst = 100000
subscribe_per_minute = 1000000
TOML
  if [ -n "${NOTIFY_INTERVAL_MS:-}" ]; then printf '[presence]\nnotify_interval_ms = %s\n' "$NOTIFY_INTERVAL_MS" >> "$data/herald.toml"; fi
  "$HERALD_BIN" --data-dir "$data" user import "$1/users.csv" >/dev/null
  "$HERALD_BIN" --data-dir "$data" --config "$data/herald.toml" serve --no-demo-users > "$1/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -qs "listening" "$1/server.log" && return 0; sleep 0.1; done
  echo "herald did not start, see $1/server.log" >&2; exit 1
}

start_kamailio() { # run dir
  KAM_DIR="$1/kamailio"
  bash "$here/kamailio/start.sh" --dir "$KAM_DIR" --port "$PORT" --users "$OUT/users.csv" --domain "$DOMAIN" \
    --max-conns $((CONNS + 64))
  SERVER_PID=$(cat "$KAM_DIR/kamailio.pid")
}

run_once() { # run number -> $OUT/run-N/result.json
  local run="$OUT/run-$1"; mkdir -p "$run"
  if [ "$TARGET" = herald ]; then start_herald "$run"; else start_kamailio "$run"; fi
  ( while kill -0 "$SERVER_PID" 2>/dev/null; do
      echo "$(date +%s.%N) $(cpu_ticks) $(mem_kb)"; sleep 0.5
    done ) > "$run/usage.txt" &
  SAMPLER_PID=$!
  sleep 1
  local rss_idle cpu0 cpu1 rss_loaded t0 auth="" rates steps_limit
  rss_idle=$(mem_kb); cpu0=$(cpu_ticks)
  [ "$TARGET" = kamailio ] && auth="--proxy-auth"
  rates=$(echo $RATES | tr ' ' ',')
  rm -f "$run/go"; mkfifo "$run/go"
  # herald-load waits for a line on the fifo after the subscriptions: the RSS is read then.
  "$LOAD_BIN" presence --server "127.0.0.1:$PORT" --domain "$DOMAIN" --users "$USERS" --watch "$WATCH" \
      --password "$PASSWORD" --connections "$CONNS" --concurrency "$CONCURRENCY" --rate "$rates" $auth \
      --duration "$DUR" --drain "$DRAIN" --notify-wait 20 --timeout 10 --stop-on-fail --json "$run/load.json" \
      < "$run/go" > "$run/load.out" 2> "$run/load.log" &
  LOAD_PID=$!
  exec 3> "$run/go"
  t0=$(date +%s)
  until grep -q "^READY" "$run/load.out" 2>/dev/null; do
    kill -0 "$LOAD_PID" 2>/dev/null || { echo "herald-load ended early, see $run/load.log" >&2; tail -5 "$run/load.log" >&2; exit 1; }
    [ $(( $(date +%s) - t0 )) -lt "$SETUP_LIMIT" ] || { echo "subscriptions took over $SETUP_LIMIT s" >&2; exit 1; }
    sleep 0.2
  done
  local setup_s=$(( $(date +%s) - t0 ))
  cpu1=$(cpu_ticks)
  sleep 2   # the first NOTIFYs' bookkeeping settles before RSS is read
  rss_loaded=$(mem_kb)
  echo go >&3
  exec 3>&-
  # window + drain + the tool's wait for late answers (--timeout) and one more drain + pause
  steps_limit=$(python3 -c "print(int(len('$RATES'.split()) * ($DUR + 2 * $DRAIN + 10 + 2 + 5) + 30))")
  t0=$(date +%s)
  while kill -0 "$LOAD_PID" 2>/dev/null; do
    if [ $(( $(date +%s) - t0 )) -ge "$steps_limit" ]; then
      echo "publish steps took over $steps_limit s: stopped" >&2; stop_pid "$LOAD_PID"; LOAD_PID=""; exit 1
    fi
    sleep 0.5
  done
  wait "$LOAD_PID" || { echo "herald-load failed, see $run/load.log" >&2; LOAD_PID=""; exit 1; }
  LOAD_PID=""
  stop_all
  python3 - "$run" "$TARGET" "$rss_idle" "$rss_loaded" "$cpu0" "$cpu1" "$tck" "$setup_s" <<'PY'
import json, sys
run, target, rss_idle, rss_loaded, cpu0, cpu1, tck, setup_s = sys.argv[1:]
tck = float(tck)
r = json.load(open(f"{run}/load.json"))
s = r["subscribe"]
usage = []
for line in open(f"{run}/usage.txt"):
    try:
        t, c, m = line.split()
        usage.append((float(t), int(c), int(m)))
    except ValueError:
        pass
def usage_between(a, b):
    """Server CPU-seconds between the samples around [a, b], and the peak memory."""
    before = [u for u in usage if u[0] <= a]
    after = [u for u in usage if u[0] >= b]
    first = before[-1] if before else (usage[0] if usage else None)
    last = after[0] if after else (usage[-1] if usage else None)
    if first is None or last is None or last[0] <= first[0]:
        return float("nan"), 0
    return (last[1] - first[1]) / tck, max(u[2] for u in usage if first[0] <= u[0] <= last[0])
steps, best, best_notify = [], 0, 0.0
peak = int(rss_loaded)
for st in r["steps"]:
    cpu_s, mem = usage_between(st["window_start_unix_s"], st["drain_end_unix_s"])
    peak = max(peak, mem)
    lat = st["latency"]
    steps.append({
        "publish_rate": st["target_rate"],
        "passed": st["pass"],
        "publish_ok_per_s": round(st["achieved_rate"], 1),
        "notify_per_s": round(st["notifies_per_s"], 1),
        "notifies": st["notifies_total"],
        "deliveries": st["deliveries"],
        "deliveries_expected": st["deliveries_expected"],
        "server_cpu_s": round(cpu_s, 2),
        "cpu_s_per_10k_notify": round(cpu_s / st["notifies_total"] * 1e4, 3) if st["notifies_total"] else None,
        "p50_ms": lat["p50_ms"], "p90_ms": lat["p90_ms"], "p99_ms": lat["p99_ms"], "max_ms": lat["max_ms"],
        "publish_p99_ms": st["publish_response"]["p99_ms"],
        "failed": st["failures"],
        "outcomes": st["outcomes"],
        "missing": st["missing_notifies"],
        "missing_later": st["missing_notifies_later"],
        "window_s": round(st["duration_s"], 2),
    })
    if st["pass"]:
        best = max(best, st["target_rate"])
        best_notify = max(best_notify, st["notifies_per_s"])
result = {
    "target": target,
    "watchers": r["watch"],
    "presentities": r["users"],
    "subscriptions": s["established"],
    "subscriptions_planned": s["subscriptions"],
    "subscribe_failed_or_missing": s["subscriptions"] - s["notified"],
    "setup_s": float(setup_s),
    "setup_cpu_s": round((int(cpu1) - int(cpu0)) / tck, 2),
    "rss_idle_kb": int(rss_idle),
    "rss_loaded_kb": int(rss_loaded),
    "rss_peak_kb": peak,
    "memory": "VmRSS" if target == "herald" else "sum of Pss over the processes",
    "steps": steps,
    "max_passing_publish_rate": best,
    "max_notify_per_s": round(best_notify, 1),
    "terminated": r["terminated"],
    "anomalies": r["anomalies"],
}
json.dump(result, open(f"{run}/result.json", "w"), indent=1)
PY
}

for n in $(seq "$RUNS"); do
  echo "run $n of $RUNS against $TARGET (port $PORT)" >&2
  run_once "$n"
done

python3 - "$OUT" "$RUNS" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
results = [json.load(open(f"{out}/run-{n}/result.json")) for n in range(1, runs + 1)]
final = dict(results[-1])
if runs > 1:
    final["runs"] = results
    final["max_passing_publish_rate"] = statistics.median_low(r["max_passing_publish_rate"] for r in results)
    final["max_notify_per_s"] = statistics.median_low(r["max_notify_per_s"] for r in results)
json.dump(final, open(f"{out}/result.json", "w"), indent=1)
lines = [f"presence fan-out against {final['target']}: {final['presentities']} presentities x "
         f"{final['watchers']} watchers = {final['subscriptions']} subscriptions in {final['setup_s']:.0f} s"]
for i, r in enumerate(results, 1):
    lines.append(f"run {i}: setup {r['setup_s']:.0f} s ({r['setup_cpu_s']} server CPU-s), RSS idle "
                 f"{r['rss_idle_kb'] / 1024:.1f} MiB, loaded {r['rss_loaded_kb'] / 1024:.1f} MiB "
                 f"({r['memory']}), max passing {r['max_passing_publish_rate']} PUBLISH/s")
    lines.append(f"{'PUB/s':>6} {'result':>6} {'ok/s':>7} {'NOTIFY/s':>9} {'CPU-s':>6} {'s/10k N':>8} "
                 f"{'p50 ms':>8} {'p99 ms':>8} {'failed':>6} {'missing':>7}")
    for st in r["steps"]:
        per = st["cpu_s_per_10k_notify"]
        lines.append(f"{st['publish_rate']:>6} {'pass' if st['passed'] else 'FAIL':>6} {st['publish_ok_per_s']:>7.0f} "
                     f"{st['notify_per_s']:>9.0f} {st['server_cpu_s']:>6.1f} {per if per is not None else float('nan'):>8.3f} "
                     f"{st['p50_ms']:>8.1f} {st['p99_ms']:>8.1f} {st['failed']:>6} {st['missing']:>7}")
    if r["anomalies"]:
        lines.append(f"herald-load anomalies: {r['anomalies']}")
lines.append(f"max passing PUBLISH rate: {final['max_passing_publish_rate']}/s, NOTIFY/s there: {final['max_notify_per_s']}")
open(f"{out}/summary.txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "results in $OUT"
