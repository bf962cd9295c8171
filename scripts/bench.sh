#!/bin/sh
# bench.sh reproduces BENCHMARKS.md in one run: it loads stratum1's
# responder, chronyd and ntpsec's ntpd on this machine with the same
# generator (stratum1 bench), each server pinned to CPU 0 and the generator
# to CPU 1, and prints the median, min and max of RUNS runs as Markdown.
#
# Everything runs in a private user and network namespace (unshare -rn):
# the servers can use port 123 on a loopback of their own and none of them
# can set the host's clock, whatever it tries (the kernel refuses).
#
# Usage: scripts/bench.sh            (RUNS=3 DUR=5s by default)
set -eu

if [ -z "${BENCH_IN_NETNS:-}" ]; then
	exec unshare -rn env BENCH_IN_NETNS=1 sh "$0" "$@"
fi
ip link set lo up

RUNS=${RUNS:-3}
DUR=${DUR:-5s}
STEPS=${STEPS:-"40000 60000 80000 100000 130000 160000"}
CPU_SERVER=${CPU_SERVER:-0}
CPU_GEN=${CPU_GEN:-1}
NTPD=${NTPD:-/opt/ntpsec/usr/sbin/ntpd}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/stratum1-bench.XXXXXX)}
mkdir -p "$OUT"
cd "$ROOT"
go build -o "$OUT/stratum1" ./cmd/stratum1
go build -o "$OUT/benchserver" ./server/internal/benchserver

cat > "$OUT/chrony.conf" <<CONF
local stratum 1
allow
port 123
bindaddress 127.0.0.1
cmdport 0
pidfile $OUT/chronyd.pid
CONF
cat > "$OUT/ntp.conf" <<CONF
# No upstream and no rate limiting configured. ntpsec has no local clock
# driver: unsynchronised, it answers each client address about ten times
# (leap 3, INIT) and then no more, so its rows measure only that.
restrict default
restrict 127.0.0.1
disable kernel
CONF

start_server() {
	case $1 in
	stratum1) taskset -c "$CPU_SERVER" "$OUT/benchserver" -listen 127.0.0.1:123 2>"$OUT/$1.log" & ;;
	chronyd) taskset -c "$CPU_SERVER" chronyd -x -d -u root -f "$OUT/chrony.conf" 2>"$OUT/$1.log" & ;;
	ntpd) taskset -c "$CPU_SERVER" "$NTPD" -n -c "$OUT/ntp.conf" -I lo -p "$OUT/ntpd.pid" >"$OUT/$1.log" 2>&1 & ;;
	esac
	PID=$!
	sleep 2
}

bench() { # name tag rate duration
	taskset -c "$CPU_GEN" "$OUT/stratum1" bench --quiet --json --pid "$PID" --rate "$3" --duration "$4" 127.0.0.1:123 >"$OUT/$1-$2.json"
}

for s in stratum1 chronyd ntpd; do
	if [ "$s" = ntpd ] && [ ! -x "$NTPD" ]; then
		echo "ntpd: $NTPD missing, skipped" >&2
		continue
	fi
	start_server "$s"
	echo "$s (pid $PID): $RUNS runs" >&2
	for run in $(seq 1 "$RUNS"); do
		bench "$s" "48k-$run" 48000 "$DUR"
		bench "$s" "10k-$run" 10000 "$DUR"
		best=0
		for r in $STEPS; do
			bench "$s" "step-$run-$r" "$r" 3s
			ok=$(python3 -c "import json,sys; d=json.load(open('$OUT/$s-step-$run-$r.json')); print(1 if d['loss_pct']<1 and d['rate_per_s']>0.97*$r else 0)")
			[ "$ok" = 1 ] || break
			best=$r
		done
		echo "$best" >"$OUT/$s-max-$run.txt"
		bench "$s" "flood-$run" 0 3s
	done
	kill "$PID"
	wait "$PID" 2>/dev/null || true
done

python3 - "$OUT" "$RUNS" <<'PY'
import json, sys, statistics, os
out, runs = sys.argv[1], int(sys.argv[2])
def load(s, tag):
    p = f"{out}/{s}-{tag}.json"
    return json.load(open(p)) if os.path.exists(p) else None
def agg(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals: return "n/a"
    return f"{fmt(statistics.median(vals))} ({fmt(min(vals))}..{fmt(max(vals))})"
us = lambda v: f"{v/1000:.2f}"
rows = []
servers = [s for s in ("stratum1", "chronyd", "ntpd") if load(s, "48k-1")]
def col(s, f):
    return [f(load(s, f"{t}-{r}")) if load(s, f"{t}-{r}") else None for r in range(1, runs+1) for t in [col.tag]]
res = {}
for s in servers:
    g = lambda tag, f: [f(load(s, f"{tag}-{r}")) for r in range(1, runs+1) if load(s, f"{tag}-{r}")]
    ts = lambda d, k, p: d[k][p] if d[k]["N"] else None
    res[s] = {
        "cpu48": g("48k", lambda d: d.get("cpu_per_reply_ns")),
        "loss48": g("48k", lambda d: d["loss_pct"]),
        "max": [int(open(f"{out}/{s}-max-{r}.txt").read()) for r in range(1, runs+1)],
        "flood": g("flood", lambda d: d["rate_per_s"] * (1 - d["loss_pct"]/100)),
        "e1": g("10k", lambda d: ts(d, "Error", "P1")), "e50": g("10k", lambda d: ts(d, "Error", "P50")),
        "e99": g("10k", lambda d: ts(d, "Error", "P99")),
        "spread": g("10k", lambda d: d["Error"]["P99"] - d["Error"]["P1"] if d["Error"]["N"] else None),
        "r50": g("10k", lambda d: d["RTT"]["P50"] if d["RTT"]["N"] else None),
        "r99": g("10k", lambda d: d["RTT"]["P99"] if d["RTT"]["N"] else None),
        "ooo": g("10k", lambda d: 100 * d["OutOfOrder"] / max(d["KernelStamps"], 1)),
        "rss": g("48k", lambda d: d.get("server_hwm_bytes")),
    }
lines = ["| metric (median of %d, min..max) | %s |" % (runs, " | ".join(servers)), "|---|" + "---|" * len(servers)]
def row(name, key, fmt):
    lines.append(f"| {name} | " + " | ".join(agg(res[s][key], fmt) for s in servers) + " |")
row("CPU per reply at 48k/s (us)", "cpu48", us)
row("loss at 48k/s (%)", "loss48", lambda v: f"{v:.2f}")
row("highest step with <1% loss (req/s)", "max", lambda v: f"{v:.0f}")
row("answers/s when flooded", "flood", lambda v: f"{v:.0f}")
row("timestamp error p1 at 10k/s (us)", "e1", us)
row("timestamp error p50 at 10k/s (us)", "e50", us)
row("timestamp error p99 at 10k/s (us)", "e99", us)
row("error spread p1..p99 (us)", "spread", us)
row("RTT p50 at 10k/s (us)", "r50", us)
row("RTT p99 at 10k/s (us)", "r99", us)
row("replies with T3 > T4 or out of order (%)", "ooo", lambda v: f"{v:.1f}")
row("peak RSS (MiB)", "rss", lambda v: f"{v/2**20:.1f}")
if "chronyd" in res and "stratum1" in res and res["chronyd"]["cpu48"] and res["stratum1"]["cpu48"]:
    lines.append("")
    lines.append("CPU per reply, stratum1 / chronyd: %.2f" % (statistics.median(res["stratum1"]["cpu48"]) / statistics.median(res["chronyd"]["cpu48"])))
print("\n".join(lines))
print(f"\nraw results: {out}")
PY
