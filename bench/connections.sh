#!/usr/bin/env bash
# Concurrent connections held by one server (Herald or Kamailio) over TCP or TLS: for each
# count N, a fresh server, N connections (herald-load hold: one user each, REGISTER with
# digest auth, re-REGISTER every E/2 jittered, CRLF keep-alive every K s), and the server's
# memory before, with all N registered, and after a hold with re-REGISTERs, plus its CPU
# over the hold.
#
#   TARGET=herald|kamailio TRANSPORT=tcp|tls COUNTS="10000 50000 100000" OUT=dir \
#     bash bench/connections.sh [--quick]        # quick: 1 000 connections, < 30 s
# Env: HERALD_BIN, LOAD_BIN (built with cargo build --release when unset), EXPIRES (120),
# KEEPALIVE (30), HOLD (seconds after READY; default EXPIRES*3/4 so that every connection
# re-registers at least once), RATE (connections opened per second: 2000 over TCP, 200 over
# TLS), CONCURRENCY (setups in flight: 500 over TCP, 50 over TLS).
#
# RSS is summed over the server's processes (Kamailio forks; its processes share memory,
# so PSS, also recorded, is the fairer sum). bytes_per_connection = (PSS with all N
# registered - PSS before) / registered. Ports: Herald 18060 (TCP) / 18061 (TLS), Kamailio
# 18070 / 18071. A process here may not hold more descriptors than the hard RLIMIT_NOFILE
# (20 000 on this machine, and it cannot be raised without CAP_SYS_RESOURCE), so a count
# that needs more is recorded as skipped with the reason rather than run.
# Writes $OUT/result.json (see the end of this file) and one directory per step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

TARGET=${TARGET:-herald}; TRANSPORT=${TRANSPORT:-tcp}; COUNTS=${COUNTS:-"10000 50000 100000"}
# TLS setups are slower: Kamailio 5.6.3 with OpenSSL 3 (Debian 12) double-frees and loses
# children (kamailio#3791; its fix, tls_threads_mode, is 5.7+) when handshakes come at
# 2000/s, so both servers get 200/s over TLS.
if [ "$TRANSPORT" = tls ]; then default_rate=200 default_concurrency=50; else default_rate=2000 default_concurrency=500; fi
EXPIRES=${EXPIRES:-120}; KEEPALIVE=${KEEPALIVE:-30}; RATE=${RATE:-$default_rate}; CONCURRENCY=${CONCURRENCY:-$default_concurrency}
if [ "${1:-}" = "--quick" ]; then COUNTS=1000; EXPIRES=12; KEEPALIVE=3; HOLD=${HOLD:-8}; fi
HOLD=${HOLD:-$((EXPIRES * 3 / 4))}
OUT=${OUT:-/tmp/herald-connections-$TARGET-$TRANSPORT-$(date -u +%Y%m%dT%H%M%SZ)}
case $TARGET in herald|kamailio) ;; *) echo "TARGET must be herald or kamailio" >&2; exit 2 ;; esac
case $TRANSPORT in tcp|tls) ;; *) echo "TRANSPORT must be tcp or tls" >&2; exit 2 ;; esac
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)

if [ "$TARGET" = herald ]; then tcp_port=18060 tls_port=18061; else tcp_port=18070 tls_port=18071; fi
port=$([ "$TRANSPORT" = tls ] && echo $tls_port || echo $tcp_port)

if [ -z "${HERALD_BIN:-}" ] || [ -z "${LOAD_BIN:-}" ]; then
  (cd "$repo" && timeout 3600 cargo build --release --locked -p herald -p herald-load >/dev/null)
  HERALD_BIN=${HERALD_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/herald}
  LOAD_BIN=${LOAD_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/herald-load}
fi

# Descriptors: the server and the load tool each hold one per connection.
hard=$(ulimit -Hn)
ulimit -n "$hard"
if [ "$hard" = unlimited ]; then max_count=100000000; else max_count=$((hard - 500)); fi
biggest=0
for n in $COUNTS; do [ "$n" -le "$max_count" ] && [ "$n" -gt "$biggest" ] && biggest=$n; done

# Users u000000.. with passwords p000000x.., as bench/register.sh makes them.
users_csv="$OUT/users.csv"
python3 - "$biggest" "$users_csv" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for k in range(n):
        f.write(f"u{k:06d}@bench.test,p{k:06d}x\n")
PY
if [ "$TRANSPORT" = tls ] && [ "$TARGET" = kamailio ]; then
  timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.test \
    -keyout "$OUT/key.pem" -out "$OUT/cert.pem" >/dev/null 2>&1
fi
if [ "$TARGET" = herald ]; then
  # One import, copied into each step's fresh data directory.
  template="$OUT/herald-template"; rm -rf "$template"; mkdir -p "$template"
  timeout 600 "$HERALD_BIN" --data-dir "$template" user import "$users_csv" >/dev/null
fi

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    if [ "$TARGET" = herald ]; then
      kill "$server_pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$server_pid" 2>/dev/null || true
    else
      bash "$here/kamailio/stop.sh" "$step_dir/kamailio" || true
    fi
    server_pid=""
  fi
}
load_pid=""
cleanup() { [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; stop_server; }
trap cleanup EXIT

# The server's processes: the main one and its children.
server_pids() { echo "$server_pid"; ps -o pid= --ppid "$server_pid" 2>/dev/null || true; }
mem_kb() { # field (Rss or Pss) summed over the server's processes, from smaps_rollup
  local sum=0 p v
  for p in $(server_pids); do
    v=$(awk -v f="$1:" '$1 == f {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo $sum
}
cpu_ticks() {
  local sum=0 p v
  for p in $(server_pids); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo $sum
}
wait_line() { # file pattern seconds pid: 0 when the line came
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || { grep -q "$2" "$1" 2>/dev/null; return; }
    sleep 0.2
  done
  return 1
}

start_server() { # count
  local n=$1
  if [ "$TARGET" = herald ]; then
    local data="$step_dir/data"; cp -r "$template" "$data"
    local listen="tcp:127.0.0.1:$tcp_port"
    [ "$TRANSPORT" = tls ] && listen="tls:127.0.0.1:$tls_port"
    cat > "$data/herald.toml" <<TOML
domains = ["bench.test"]
listen = ["$listen"]
log = "warn"
[auth]
# Kamailio's auth module answers MD5 only: both servers do the same work.
algorithms = ["MD5"]
[registrar]
min_expires = 10
[flood]
# The load comes from 127.0.0.2 onwards: a load test is not a flood.
trusted = ["127.0.0.0/8"]
[limits]
max_connections = $((n + 1000))
max_connections_per_ip = 100000
[user_limits]
register_burst = 1000
register_per_minute = 100000
TOML
    "$HERALD_BIN" --data-dir "$data" serve > "$step_dir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do grep -q "listening" "$step_dir/server.log" && break; sleep 0.1; done
  else
    local tls_args=()
    [ "$TRANSPORT" = tls ] && tls_args=(--tls-port "$tls_port" --cert "$OUT/cert.pem" --key "$OUT/key.pem")
    timeout 120 bash "$here/kamailio/start.sh" --dir "$step_dir/kamailio" --port "$tcp_port" \
      --users "$users_csv" --max-conns $((n + 1000)) "${tls_args[@]}"
    server_pid=$(cat "$step_dir/kamailio/kamailio.pid")
  fi
}

steps_file="$OUT/steps.jsonl"; : > "$steps_file"
tck=$(getconf CLK_TCK)
for n in $COUNTS; do
  step_dir="$OUT/n$n"; rm -rf "$step_dir"; mkdir -p "$step_dir"
  if [ "$n" -gt "$max_count" ]; then
    echo "{\"connections\": $n, \"skipped\": \"needs $n descriptors in one process; the hard RLIMIT_NOFILE here is $hard (raising it needs CAP_SYS_RESOURCE)\"}" >> "$steps_file"
    echo "n=$n: skipped (descriptor hard limit $hard)"
    continue
  fi
  start_server "$n"
  sleep 1
  rss_before=$(mem_kb Rss); pss_before=$(mem_kb Pss)
  setup_limit=$(( n / RATE + 90 ))
  "$LOAD_BIN" hold --server "127.0.0.1:$port" --transport "$TRANSPORT" --connections "$n" \
    --password 'p{n}x' --expires "$EXPIRES" --keepalive "$KEEPALIVE" --hold "$HOLD" --linger 3 \
    --rate "$RATE" --concurrency "$CONCURRENCY" --setup-timeout "$setup_limit" \
    --json "$step_dir/load.json" > "$step_dir/load.out" 2> "$step_dir/load.err" &
  load_pid=$!
  rss_loaded=0 pss_loaded=0 rss_held=0 pss_held=0 cpu0=0 cpu1=0 t0=0 t1=0
  if wait_line "$step_dir/load.out" '^READY' $((setup_limit + 10)) "$load_pid"; then
    # The last REGISTER answers are out; give the server a moment to settle its buffers.
    sleep 1
    rss_loaded=$(mem_kb Rss); pss_loaded=$(mem_kb Pss)
    cpu0=$(cpu_ticks); t0=$(date +%s.%N)
    if wait_line "$step_dir/load.out" '^HELD' $((HOLD + 30)) "$load_pid"; then
      cpu1=$(cpu_ticks); t1=$(date +%s.%N)
      rss_held=$(mem_kb Rss); pss_held=$(mem_kb Pss)
    fi
  fi
  # The load tool lingers 3 s, closes and writes its JSON.
  for _ in $(seq 300); do kill -0 "$load_pid" 2>/dev/null || break; sleep 0.2; done
  kill "$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; load_pid=""
  stop_server
  python3 - "$step_dir" "$n" "$rss_before" "$pss_before" "$rss_loaded" "$pss_loaded" "$rss_held" \
    "$pss_held" "$cpu0" "$cpu1" "$t0" "$t1" "$tck" >> "$steps_file" <<'PY'
import json, sys
d, n, rb, pb, rl, pl, rh, ph, c0, c1, t0, t1, tck = sys.argv[1:]
n, rb, pb, rl, pl, rh, ph = map(int, (n, rb, pb, rl, pl, rh, ph))
try:
    load = json.load(open(f"{d}/load.json"))
except Exception as e:
    load = {"error": f"no load report: {e}"}
reg = load.get("registered", 0)
step = {
    "connections": n,
    "registered": reg,
    "rss_before_kb": rb, "pss_before_kb": pb,
    "rss_loaded_kb": rl, "pss_loaded_kb": pl,
    "rss_held_kb": rh, "pss_held_kb": ph,
    "bytes_per_connection": round((pl - pb) * 1024 / reg) if reg and pl else None,
    "bytes_per_connection_rss": round((rl - rb) * 1024 / reg) if reg and rl else None,
    "setup_s": load.get("setup_s"),
    "hold_s": round(float(t1) - float(t0), 2) if float(t1) > 0 else None,
    "server_cpu_s_hold": round((float(c1) - float(c0)) / float(tck), 2) if float(t1) > 0 else None,
    "reregisters_ok": load.get("reregisters_ok"),
    "reregisters_failed": load.get("reregisters_failed"),
    "failed": load.get("failed"),
    "failures": load.get("failures"),
    "lost": load.get("lost"),
    "keepalive_pings": load.get("keepalive_pings"),
    "keepalive_pongs": load.get("keepalive_pongs"),
}
print(json.dumps(step))
PY
  tail -1 "$steps_file"
done

python3 - "$OUT" "$TARGET" "$TRANSPORT" "$EXPIRES" "$KEEPALIVE" "$HOLD" "$RATE" <<'PY'
import json, sys
out, target, transport, expires, keepalive, hold, rate = sys.argv[1:]
steps = [json.loads(l) for l in open(f"{out}/steps.jsonl") if l.strip()]
result = {"target": target, "transport": transport, "expires": int(expires),
          "keepalive_s": float(keepalive), "hold_s": float(hold), "rate": float(rate), "steps": steps}
json.dump(result, open(f"{out}/result.json", "w"), indent=1)
PY
echo "wrote $OUT/result.json"
