#!/bin/sh
# bench-nts.sh: stratum1's NTS (responder alone, server/internal/benchserver
# with NTS-KE) against chronyd as an NTS server (ntsservercert/ntsserverkey,
# -x: it never touches the clock), each pinned to CPU 0, loaded by
# `stratum1 bench --nts-ke` pinned to CPU 1 on loopback: NTS-KE once, then a
# cookie per request. Prints one JSON line per measurement. Servers run at
# normal priority: BENCH_RT=1 runs them SCHED_FIFO at priority 20 as
# scripts/bench.sh does, but then stratum1 stalls once its NTS path makes
# the Go garbage collector run (pinned to one CPU, at real-time priority;
# with GOGC=off it does not), see BENCHMARKS.md. Each rate is measured with
# NTS and then without (BENCH_PLAIN=0 skips the plain runs).
#   RATES="10000 40000" DUR=5s KE_DUR=5s scripts/bench-nts.sh
set -eu
RATES=${RATES:-"10000 40000"}
DUR=${DUR:-5s}
KE_DUR=${KE_DUR:-5s}
KE_PAR=${KE_PAR:-4}
CPU_SERVER=${CPU_SERVER:-0}
CPU_GEN=${CPU_GEN:-1}
OUT=$(mktemp -d /tmp/bench-nts.XXXXXX)
NTP_PORT=${NTP_PORT:-11123}
KE_PORT=${KE_PORT:-14460}
cd "$(dirname "$0")/.."
timeout 600 go build -o "$OUT/stratum1" ./cmd/stratum1
timeout 600 go build -o "$OUT/benchserver" ./server/internal/benchserver
"$OUT/stratum1" nts-cert --ip 127.0.0.1 --out "$OUT" >/dev/null

cat >"$OUT/chrony.conf" <<CONF
local stratum 1
allow 127.0.0.0/8
bindaddress 127.0.0.1
port $NTP_PORT
ntsport $KE_PORT
ntsservercert $OUT/cert.pem
ntsserverkey $OUT/key.pem
ntsdumpdir $OUT
cmdport 0
bindcmdaddress /
pidfile $OUT/chronyd.pid
driftfile $OUT/drift
CONF

PID=
stop() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi
}
trap 'stop; rm -rf "$OUT"' EXIT
trap 'exit 1' INT TERM

run_server() {
	case $1 in
	stratum1)
		taskset -c "$CPU_SERVER" "$OUT/benchserver" -listen 127.0.0.1:$NTP_PORT \
			-nts-listen 127.0.0.1:$KE_PORT -nts-cert "$OUT/cert.pem" -nts-key "$OUT/key.pem" 2>"$OUT/$1.log" &
		;;
	chronyd)
		taskset -c "$CPU_SERVER" chronyd -x -d -u root -f "$OUT/chrony.conf" 2>"$OUT/$1.log" &
		;;
	esac
	PID=$!
	# SCHED_FIFO priority 20, as chronyd -P 20 would run, all threads.
	if [ "${BENCH_RT:-0}" = 1 ]; then
		sleep 0.3
		chrt -a -f -p 20 "$PID" >/dev/null 2>&1 || true
	fi
	for _ in $(seq 50); do
		if "$OUT/stratum1" bench --quiet --nts-ke 127.0.0.1:$KE_PORT --nts-ca "$OUT/cert.pem" --rate 100 --duration 100ms 127.0.0.1:$NTP_PORT >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "$1 did not start" >&2
	cat "$OUT/$1.log" >&2
	exit 1
}

# measure MODE RATE [generator options]: one JSON line for the running
# server $srv.
measure() {
	printf '{"server":"%s","mode":"%s","rate":%s,"result":' "$srv" "$1" "$2"
	m_rate=$2
	shift 2
	taskset -c "$CPU_GEN" "$OUT/stratum1" bench --quiet --json --pid "$PID" "$@" \
		--rate "$m_rate" --duration "$DUR" 127.0.0.1:$NTP_PORT | tr -d '\n'
	echo '}'
}

for srv in stratum1 chronyd; do
	run_server $srv
	for rate in $RATES; do
		measure nts "$rate" --nts-ke 127.0.0.1:$KE_PORT --nts-ca "$OUT/cert.pem"
		# The same server and rate without NTS: what the wakeups, system
		# calls and loopback cost before any cryptography.
		[ "${BENCH_PLAIN:-1}" != 1 ] || measure plain "$rate"
	done
	printf '{"server":"%s","ke":"' $srv
	taskset -c "$CPU_GEN" "$OUT/stratum1" bench --ke-only --nts-ke 127.0.0.1:$KE_PORT --nts-ca "$OUT/cert.pem" \
		--sockets "$KE_PAR" --duration "$KE_DUR" x | tr -d '\n'
	echo '"}'
	stop
done
