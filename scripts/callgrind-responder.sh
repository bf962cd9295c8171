#!/bin/sh
# callgrind-responder.sh counts the user-space instructions the responder
# executes per reply, which the load of a shared machine does not change
# (unlike CPU time): server/internal/benchserver runs under valgrind's
# callgrind with one worker, `stratum1 bench` sends RATE requests/s for
# 5 s, and the instructions counted between the start and the end of the
# load are divided by the replies. At the default 2000/s every request
# arrives alone (one wakeup, one recvmmsg, one sendmsg), so the figure is
# the whole per-request path with no batching to share it. The kernel's
# work (the system calls themselves) is not counted.
#
# Usage: scripts/callgrind-responder.sh [RATE]     (OUT=dir to keep files)
# Everything runs in a private user and network namespace (unshare -rn),
# on its own loopback; the whole run is bounded by timeout.
set -eu
RATE=${1:-2000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/stratum1-callgrind.XXXXXX)}
mkdir -p "$OUT"
cd "$ROOT"
timeout 600 go build -o "$OUT/benchserver" ./server/internal/benchserver
timeout 600 go build -o "$OUT/stratum1" ./cmd/stratum1
# Asynchronous preemption (SIGURG) trips callgrind's signal handling, and
# callgrind cannot finish a Go program that exits on a signal: the profile
# is zeroed when the load starts and dumped when it ends, then the server
# is killed.
timeout 300 unshare -rn sh -c '
ip link set lo up
GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$1/callgrind.out" \
	"$1/benchserver" -listen 127.0.0.1:123 -workers 1 2>"$1/valgrind.log" &
vp=$!
sleep 8
callgrind_control -z "$vp" >/dev/null 2>&1
timeout 60 "$1/stratum1" bench --quiet --json --rate "$2" --duration 5s 127.0.0.1:123 >"$1/bench.json"
callgrind_control -d "$vp" >/dev/null 2>&1
kill -KILL "$vp"
wait "$vp" 2>/dev/null || true
' sh "$OUT" "$RATE"
python3 - "$OUT" <<'PY'
import collections, glob, json, re, sys
out = sys.argv[1]
replies = json.load(open(f"{out}/bench.json"))["Answered"]
# Self cost per function: every cost line but those that follow calls=
# (which carry the callee's inclusive cost).
names, self_, fn, after_call, total = {}, collections.Counter(), None, False, 0
for path in glob.glob(f"{out}/callgrind.out.*"):
    for line in open(path):
        if line.startswith(("fn=", "cfn=")):
            m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if m and m.group(2):
                names[m.group(1)] = m.group(2)
            if line.startswith("fn="):
                fn = names.get(m.group(1)) if m else line[3:].strip()
        elif line.startswith("calls="):
            after_call = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            parts = line.split()
            if len(parts) >= 2:
                if after_call:
                    after_call = False
                    continue
                self_[fn] += int(parts[1])
                total += int(parts[1])
print(f"replies {replies}, instructions {total}, per reply {total / max(replies, 1):.0f}")
for f, v in self_.most_common(25):
    print(f"{v / max(replies, 1):8.1f}  {f}")
print(f"files: {out}")
PY
