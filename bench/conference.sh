#!/usr/bin/env bash
# Group IM conference figures of Herald under herald-load (crates/herald-load), over TCP.
#
# CONFS conferences of PARTS participants (users u00000 ...; conference c holds users
# c*PARTS .. c*PARTS+PARTS-1): the first one creates it by INVITE to conf-factory, the
# others join by INVITE to the conference URI (each INVITE answers a 407). Then a
# ladder of message steps: MESSAGEs in the participants' dialogs at each total rate of
# RATES for DUR seconds, spread evenly over everyone, then DRAIN seconds for the copies
# still owed. The focus sends every other participant a copy (PARTS-1 per message);
# herald-load answers each 200 and measures the copies per second, loss, order per
# sender, the named sender (P-Asserted-Identity) and the send-to-arrival latency. A
# step passes when >= 95 % of the target rate was accepted, < 1 % of MESSAGEs failed,
# no copy was lost, out of order or misattributed, no participant was dropped and the
# p99 latency is <= MAX_P99_MS; the ladder stops at the first failing step.
#
#   bash bench/conference.sh            # full: 50 x 20, RATES ladder, RUNS runs
#   bash bench/conference.sh --quick    # smoke: 10 x 20, two short steps, one run (< 1 min)
# Env: CONFS, PARTS, RATES, DUR, DRAIN, RUNS, CONNS (herald-load's TCP connections, 0 =
#      one per participant), BODY (message body bytes), MAX_P99_MS, QUEUE (the server's
#      conference.participant_queue), PORT, HERALD_BIN, LOAD_BIN (prebuilt binaries), OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

CONFS=${CONFS:-50}; PARTS=${PARTS:-20}; DUR=${DUR:-10}; DRAIN=${DRAIN:-5}; RUNS=${RUNS:-3}
CONNS=${CONNS:-0}; BODY=${BODY:-100}; MAX_P99_MS=${MAX_P99_MS:-1000}; QUEUE=${QUEUE:-}
RATES=${RATES:-"50 100 200 400 600 800 1000 1200 1400 1600"}
if [ "${1:-}" = "--quick" ]; then CONFS=10; PARTS=20; DUR=3; DRAIN=2; RUNS=1; RATES="20 100"; fi
OUT=${OUT:-/tmp/herald-bench-conference-$(date -u +%Y%m%dT%H%M%SZ)}
PORT=${PORT:-15370}
DOMAIN=bench.test
PASSWORD=bench-pw
USERS=$((CONFS * PARTS))
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
  stop_pid "$LOAD_PID"; LOAD_PID=""
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
  stop_pid "$SERVER_PID"; SERVER_PID=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

awk -v n="$USERS" -v d="$DOMAIN" -v p="$PASSWORD" \
  'BEGIN { for (i = 0; i < n; i++) printf "sip:u%05d@%s,%s\n", i, d, p }' > "$OUT/users.csv"
{ echo "nproc: $(nproc)"; grep -m1 "model name" /proc/cpuinfo || true; uname -r
  echo "CONFS=$CONFS PARTS=$PARTS RATES=$RATES DUR=$DUR DRAIN=$DRAIN RUNS=$RUNS CONNS=$CONNS BODY=$BODY MAX_P99_MS=$MAX_P99_MS QUEUE=${QUEUE:-default}"
  echo "repository: $(cd "$repo" && git log -1 --format='%h %s' | cut -c1-100)"
  echo "binaries: $HERALD_BIN ($(date -u -r "$HERALD_BIN" +%FT%TZ)), $LOAD_BIN"; } > "$OUT/env.txt"
tck=$(getconf CLK_TCK)

# One run: a fresh data directory and server, herald-load's whole ladder, the samples.
run_once() { # run directory
  local dir=$1 data=$1/data started
  mkdir -p "$data"
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
  if [ -n "$QUEUE" ]; then printf '[conference]\nparticipant_queue = %s\n' "$QUEUE" >> "$data/herald.toml"; fi
  "$HERALD_BIN" --data-dir "$data" user import "$OUT/users.csv" >/dev/null
  "$HERALD_BIN" --data-dir "$data" --config "$data/herald.toml" serve --no-demo-users > "$dir/server.log" 2>&1 &
  SERVER_PID=$!
  started=""
  for _ in $(seq 100); do grep -q "listening" "$dir/server.log" && { started=1; break; }; sleep 0.1; done
  [ -n "$started" ] || { echo "server did not start, see $dir/server.log" >&2; exit 1; }
  # Server CPU ticks and RSS, herald-load's CPU ticks (it shares the cores) and the
  # machine's busy ticks (what else ran), twice a second, to line up with the steps.
  rm -f "$dir/load.pid"
  ( while kill -0 "$SERVER_PID" 2>/dev/null; do
      s=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)
      m=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
      l=0; p=$(cat "$dir/load.pid" 2>/dev/null) && l=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
      b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat)
      echo "$(date +%s.%N) $s $m $l $b"; sleep 0.5
    done ) > "$dir/usage.txt" &
  SAMPLER_PID=$!
  sleep 1
  "$LOAD_BIN" conference --server "127.0.0.1:$PORT" --domain "$DOMAIN" --password "$PASSWORD" \
      --conferences "$CONFS" --participants "$PARTS" --connections "$CONNS" \
      --rate "$(echo $RATES | tr ' ' ',')" --duration "$DUR" --drain "$DRAIN" --body-bytes "$BODY" \
      --max-p99-ms "$MAX_P99_MS" --stop-on-fail --json "$dir/load.json" \
      > "$dir/load.out" 2> "$dir/load.log" &
  LOAD_PID=$!
  echo "$LOAD_PID" > "$dir/load.pid"
  # Bounded: setup, every step with its drain and pause, the answers' timeout, the leave.
  local limit=$(( 120 + $(echo $RATES | wc -w) * (DUR + 2 * DRAIN + 2 + 40) ))
  local t0; t0=$(date +%s)
  while kill -0 "$LOAD_PID" 2>/dev/null; do
    [ $(( $(date +%s) - t0 )) -lt "$limit" ] || { echo "herald-load still running after $limit s" >&2; exit 1; }
    sleep 0.5
  done
  wait "$LOAD_PID" || { echo "herald-load failed, see $dir/load.log" >&2; LOAD_PID=""; exit 1; }
  LOAD_PID=""
  sleep 1
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
  stop_pid "$SERVER_PID"; SERVER_PID=""
  # The focus's monitoring records (one per conference: end, reason, message count).
  "$HERALD_BIN" --data-dir "$data" conferences --json --limit $((CONFS + 10)) > "$dir/conferences.jsonl" 2>&1 || true
  cat "$dir/load.out"
}

for run in $(seq "$RUNS"); do
  echo "== run $run of $RUNS"
  run_once "$OUT/run-$run"
done

python3 - "$OUT" "$RUNS" "$tck" <<'PY'
import json, statistics, sys
out, runs, tck = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
lines, best_per_run = [], []
for run in range(1, runs + 1):
    d = f"{out}/run-{run}"
    r = json.load(open(f"{d}/load.json"))
    usage = []
    for line in open(f"{d}/usage.txt"):
        try:
            t, c, m, l, b = line.split()
            usage.append((float(t), int(c), int(m), int(l), int(b)))
        except ValueError:
            pass
    def between(a, b):
        """Server CPU, herald-load CPU, other processes' CPU (fractions of one core), peak
        server RSS (kB)."""
        inside = [u for u in usage if a <= u[0] <= b]
        if len(inside) < 2:
            return float("nan"), float("nan"), float("nan"), 0, float("nan")
        span = inside[-1][0] - inside[0][0]
        server = (inside[-1][1] - inside[0][1]) / tck / span
        load = (inside[-1][3] - inside[0][3]) / tck / span
        busy = (inside[-1][4] - inside[0][4]) / tck / span
        return server, load, max(0.0, busy - server - load), max(u[2] for u in inside), server * span
    s = r["setup"]
    idle_rss = usage[0][2] if usage else 0
    after_setup = [u for u in usage if u[0] <= s["end_unix_s"] + 0.5]
    setup_rss = after_setup[-1][2] if after_setup else 0
    setup_cpu = (after_setup[-1][1] - usage[0][1]) / tck if after_setup else float("nan")
    lines += [
        f"run {run}: {r['conferences']} conferences x {r['participants']} participants over "
        f"{r['connections']} TCP connections, body {r['body_bytes'] or 'stamp only'} bytes",
        f"setup: {s['created']}/{s['conferences']} conferences, {s['joined']}/{s['participants']} participants "
        f"in {s['duration_s']:.1f} s ({s['joins_per_s']:.0f} joins/s), INVITE outcomes "
        f"{' '.join(f'{k}:{v}' for k, v in s['outcomes'].items())}, INVITE->2xx p99 {s['join_time']['p99_ms']:.0f} ms; "
        f"server RSS {idle_rss / 1024:.1f} MiB idle -> {setup_rss / 1024:.1f} MiB, setup CPU {setup_cpu:.2f} s",
        f"{'msg/s':>6} {'result':>6} {'acc/s':>6} {'copies/s':>9} {'expect/s':>9} {'p50 ms':>7} {'p90 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'missing':>7} {'lost':>6} {'ooo':>4} {'drop':>4} {'fail%':>6} {'cpu %':>6} {'load %':>6} "
        f"{'other %':>7} {'us/copy':>7} {'RSS MiB':>8}",
    ]
    best = 0
    for st in r["steps"]:
        lat = st["latency"]
        cpu, load_cpu, other_cpu, rss, cpu_s = between(st["window_start_unix_s"], st["drain_end_unix_s"])
        per_copy = 1e6 * cpu_s / st["copies_received"] if st["copies_received"] else float("nan")
        lines.append(
            f"{st['target_rate']:>6} {'pass' if st['pass'] else 'FAIL':>6} {st['achieved_rate']:>6.0f} "
            f"{st['fanout_per_s']:>9.0f} {st['expected_fanout_per_s']:>9.0f} {lat['p50_ms']:>7.1f} "
            f"{lat['p90_ms']:>7.1f} {lat['p99_ms']:>7.1f} {lat['max_ms']:>7.1f} {st['copies_missing']:>7} {st['copies_lost']:>6} "
            f"{st['out_of_order']:>4} {st['participants_dropped']:>4} {st['failure_pct']:>6.2f} "
            f"{100 * cpu:>6.0f} {100 * load_cpu:>6.0f} {100 * other_cpu:>7.0f} {per_copy:>7.1f} {rss / 1024:>8.1f}")
        if not st["pass"]:
            lines.append(f"{'':>14}failed: {'; '.join(st['failed_checks'])}")
        elif st["target_rate"] > best:
            best = st["target_rate"]
    best_per_run.append(best)
    lines.append(f"leave: {' '.join(f'{k}:{v}' for k, v in r['leave'].items()) or 'none'}; "
                 f"dropped by the focus: {r['dropped_by_focus']}; anomalies: {r['anomalies'] or 'none'}")
    records = []
    for line in open(f"{d}/conferences.jsonl"):
        try:
            records.append(json.loads(line))
        except ValueError:
            pass
    reasons = {}
    for c in records:
        reasons[c.get("end_reason") or "still open"] = reasons.get(c.get("end_reason") or "still open", 0) + 1
    accepted = sum(st["accepted"] for st in r["steps"])
    counted = sum(c.get("message_count") or 0 for c in records)
    lines.append(f"monitoring records: {len(records)} conferences, ended {reasons}, messages counted {counted} "
                 f"(herald-load had {accepted} accepted)")
    lines.append("")
lines.append(f"highest passing rate per run (MESSAGE/s): {', '.join(map(str, best_per_run))}; "
             f"median {statistics.median(best_per_run):g}")
lines.append("copies/s: copies read during the sending window; expect/s: copies the accepted messages "
             "were owed per second; p50..max: MESSAGE sent -> copy read, per recipient (late copies included); "
             "missing: copies owed after the drain; lost: still owed one drain after every MESSAGE was "
             "answered; ooo: out of order per sender; drop: participants the focus dropped; "
             "cpu % / load % / other %: server / herald-load / every other process's CPU over the step "
             "and its drain, 100 % = one core; us/copy: server CPU over the step and its drain per copy "
             "received (the MESSAGE itself included)")
with open(f"{out}/summary.txt", "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
cat "$OUT/env.txt"
echo "results in $OUT"
