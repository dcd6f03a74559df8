#!/usr/bin/env bash
# Stop the Kamailio that start.sh started in RUNDIR (only that process and its children).
#   bash bench/kamailio/stop.sh RUNDIR
set -u
dir=${1:?usage: stop.sh RUNDIR}
pid=$(cat "$dir/kamailio.pid" 2>/dev/null) || exit 0
kill "$pid" 2>/dev/null || exit 0
for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.25; done
pkill -9 -P "$pid" 2>/dev/null
kill -9 "$pid" 2>/dev/null
exit 0
