#!/usr/bin/env bash
# Start the Kamailio that Herald is benchmarked against (kamailio.cfg.in beside this file).
#
#   bash bench/kamailio/start.sh --dir RUNDIR --port PORT [--users USERS.csv] [--domain D]
#        [--tls-port PORT --cert CERT.pem --key KEY.pem] [--max-conns N] [--shm MB] [--pkg MB]
#   bash bench/kamailio/stop.sh RUNDIR
#
# RUNDIR gets the rendered kamailio.cfg, the SQLite database (subscriber table filled from
# USERS.csv: lines `user,password`, no header; domain D, default bench.test), the ctl socket
# (kamcmd -s unix:RUNDIR/kamailio_ctl), kamailio.pid (the main process: every server
# process is it or its child) and kamailio.log. Listens on 127.0.0.1 UDP and TCP PORT, and
# TLS on --tls-port when given. Installs the Debian packages it needs when missing. Returns
# when Kamailio answers on its ctl socket, or exits 1 naming the log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

dir="" port="" users="" domain="bench.test" tls_port="" cert="" key="" max_conns=4096 shm=4096 pkg=16
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --domain) domain=$2; shift 2 ;;
    --tls-port) tls_port=$2; shift 2 ;;
    --cert) cert=$2; shift 2 ;;
    --key) key=$2; shift 2 ;;
    --max-conns) max_conns=$2; shift 2 ;;
    --shm) shm=$2; shift 2 ;;
    --pkg) pkg=$2; shift 2 ;;
    *) echo "start.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$dir" ] && [ -n "$port" ] || { echo "start.sh: --dir and --port are required" >&2; exit 2; }
if [ -n "$tls_port" ] && { [ -z "$cert" ] || [ -z "$key" ]; }; then
  echo "start.sh: --tls-port needs --cert and --key" >&2; exit 2
fi

mods=/usr/lib/x86_64-linux-gnu/kamailio/modules
need=""
command -v kamailio >/dev/null || need="$need kamailio"
[ -f $mods/presence_xml.so ] || need="$need kamailio-presence-modules"
[ -f $mods/db_sqlite.so ] || need="$need kamailio-sqlite-modules"
[ -f $mods/tls.so ] || need="$need kamailio-tls-modules"
command -v sqlite3 >/dev/null || need="$need sqlite3"
if [ -n "$need" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; }
fi

for p in "$port" $tls_port; do
  if ss -Hlntu 2>/dev/null | awk '{print $5}' | grep -q ":$p\$"; then
    echo "start.sh: port $p is already in use" >&2; exit 1
  fi
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -f "$dir/kamailio.sqlite" "$dir/kamailio_ctl" "$dir/kamailio.pid"
# The schema Kamailio's modules check at start-up (version table), the subscriber table
# auth_db reads and the presence tables presence/presence_xml require even when they keep
# everything in memory (subs_db_mode 0, publ_cache 2).
schema=/usr/share/kamailio/db_sqlite
cat "$schema/standard-create.sql" "$schema/auth_db-create.sql" "$schema/presence-create.sql" \
  | sqlite3 "$dir/kamailio.sqlite"
if [ -n "$users" ]; then
  python3 - "$users" "$domain" "$dir/users.sql" <<'PY'
import sys
src, domain, out = sys.argv[1:]
def q(s):
    return "'" + s.replace("'", "''") + "'"
with open(src) as f, open(out, "w") as o:
    o.write("BEGIN;\n")
    for line in f:
        line = line.strip()
        if not line:
            continue
        user, password = line.split(",", 1)
        user = user.split("@", 1)[0]
        o.write(f"INSERT INTO subscriber (username, domain, password) VALUES ({q(user)}, {q(domain)}, {q(password)});\n")
    o.write("COMMIT;\n")
PY
  sqlite3 "$dir/kamailio.sqlite" < "$dir/users.sql"
fi

listen_tls="" tls_module="" tls_params=""
if [ -n "$tls_port" ]; then
  listen_tls="enable_tls=yes
listen=tls:127.0.0.1:$tls_port"
  tls_module='loadmodule "tls.so"'
  tls_params="modparam(\"tls\", \"config\", \"$dir/tls.cfg\")"
  cat > "$dir/tls.cfg" <<TLS
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = $cert
private_key = $key
TLS
fi
# Kamailio's TCP main process holds every connection's descriptor: ask for two per
# connection plus room, but never more than this process may have (the hard limit: without
# CAP_SYS_RESOURCE it cannot be raised, and Kamailio refuses to start if asked for more).
hard=$(ulimit -Hn)
open_files=$((max_conns * 2 + 4096))
if [ "$hard" != unlimited ] && [ "$open_files" -gt "$hard" ]; then
  echo "start.sh: open files capped at the hard limit $hard (asked $open_files for $max_conns connections)" >&2
  open_files=$hard
fi
RUNDIR=$dir PORT=$port DOMAIN=$domain MAX_CONNS=$max_conns OPEN_FILES=$open_files \
LISTEN_TLS=$listen_tls TLS_MODULE=$tls_module TLS_PARAMS=$tls_params \
python3 - "$here/kamailio.cfg.in" "$dir/kamailio.cfg" <<'PY'
import os, sys
text = open(sys.argv[1]).read()
for k in ["RUNDIR", "PORT", "DOMAIN", "MAX_CONNS", "OPEN_FILES", "LISTEN_TLS", "TLS_MODULE", "TLS_PARAMS"]:
    text = text.replace(f"@{k}@", os.environ[k])
open(sys.argv[2], "w").write(text)
PY
ulimit -n "$open_files"
# -DD: stay in the foreground (fork children) so $! is the main process.
kamailio -f "$dir/kamailio.cfg" -P "$dir/kamailio.pid" -m "$shm" -M "$pkg" -E -DD > "$dir/kamailio.log" 2>&1 &
kpid=$!
for _ in $(seq 80); do
  kamcmd -s "unix:$dir/kamailio_ctl" core.uptime >/dev/null 2>&1 && exit 0
  kill -0 "$kpid" 2>/dev/null || break
  sleep 0.25
done
echo "start.sh: kamailio did not start; see $dir/kamailio.log:" >&2
tail -20 "$dir/kamailio.log" >&2
exit 1
