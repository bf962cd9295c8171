#!/bin/sh
# xleave-spread.sh measures what interleaved mode (RFC 9769) buys a client:
# chronyd 4.3 (-x: it never touches the clock) polls the responder
# (server/internal/benchserver, serving this machine's clock) 64 times a
# second, for DUR seconds in basic mode and then DUR seconds with xleave,
# and logs every measurement. Client and server share one clock, so every
# measured offset is an error; the script prints, per mode, the number of
# samples, their mode as chronyd saw it (B basic, I interleaved), and the
# offset's mean, standard deviation and p1/p50/p99, and the delay's median.
#
# It runs in a private user and network namespace (unshare -rn): port 123
# on a loopback of its own, and no process in it can set the host's clock.
#
# Usage: scripts/xleave-spread.sh        (DUR=60 by default; ROUNDS=1)
set -eu

if [ -z "${XLEAVE_IN_NETNS:-}" ]; then
	OUT=${OUT:-$(mktemp -d /tmp/stratum1-xleave.XXXXXX)}
	export OUT
	go build -o "$OUT/benchserver" ./server/internal/benchserver
	exec timeout "${XLEAVE_TIMEOUT:-1800}" unshare -rn env XLEAVE_IN_NETNS=1 sh "$0" "$@"
fi
ip link set lo up

DUR=${DUR:-60}
ROUNDS=${ROUNDS:-1}
"$OUT/benchserver" --listen 127.0.0.1:123 2>"$OUT/benchserver.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 1

run() { # mode options
	dir="$OUT/$1"
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 700 "$dir"
	cat >"$dir/chrony.conf" <<EOF
server 127.0.0.1 port 123 iburst minpoll -6 maxpoll -6 $2
port 0
cmdport 0
bindcmdaddress /
pidfile $dir/chronyd.pid
driftfile $dir/drift
logdir $dir
log measurements
EOF
	/usr/sbin/chronyd -x -d -u root -f "$dir/chrony.conf" >"$dir/chronyd.out" 2>&1 &
	client=$!
	sleep "$DUR"
	kill "$client"
	wait "$client" 2>/dev/null || true
	# Skip the first 10 samples (iburst, and the two basic exchanges an
	# interleaved client starts with).
	awk -v mode="$1" '
	$1 ~ /^[0-9][0-9][0-9][0-9]-/ { n++; if (n <= 10) next
		m[substr($18, 2, 1)]++; off[k++] = $12 * 1e6; del[k - 1] = $13 * 1e6 }
	END {
		for (i = 0; i < k; i++) { s += off[i]; ss += off[i] * off[i] }
		mean = s / k; sd = sqrt(ss / k - mean * mean)
		printf "%s %d %s %s %.3f %.3f\n", mode, k, m["B"] + 0, m["I"] + 0, mean, sd
	}' "$dir/measurements.log" >"$dir/summary"
	awk '$1 ~ /^[0-9][0-9][0-9][0-9]-/ { n++; if (n > 10) print $12 * 1e6 }' "$dir/measurements.log" | sort -g >"$dir/offsets"
	awk '$1 ~ /^[0-9][0-9][0-9][0-9]-/ { n++; if (n > 10) print $13 * 1e6 }' "$dir/measurements.log" | sort -g >"$dir/delays"
	k=$(wc -l <"$dir/offsets")
	p() { sed -n "$(( ($2 * k + 99) / 100 ))p" "$1"; }
	read -r mode n b i mean sd <"$dir/summary"
	printf '| %s | %d | %d / %d | %.3f | %.3f | %.3f / %.3f / %.3f | %.1f |\n' \
		"$mode" "$n" "$b" "$i" "$mean" "$sd" "$(p "$dir/offsets" 1)" "$(p "$dir/offsets" 50)" "$(p "$dir/offsets" 99)" "$(p "$dir/delays" 50)"
}

echo '| client | samples | basic / interleaved | offset mean (us) | offset SD (us) | offset p1 / p50 / p99 (us) | delay p50 (us) |'
echo '|---|---|---|---|---|---|---|'
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	run basic ""
	run xleave xleave
done
