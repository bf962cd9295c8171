#!/usr/bin/env bash
# The virtual Pi lab (docs/lab.md): the real stratum1 daemon, from its .deb
# under its shipped unit, and gpsd+chrony as gpsd's guide configures them,
# each against a real Linux kernel in a QEMU (TCG) guest, on the same
# simulated receiver; prints one row per column.
#
#   scripts/lab.sh [--short] [--json] [--columns stratum1,chrony,ntpsec]
#
# --short runs a few-minute scenario on stratum1 only (scripts/test.sh runs
# it). Installs what it needs from Debian packages; needs root (debootstrap,
# chroot). Only the guest's clock is ever steered.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
need=()
for pair in qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap mkfs.ext4:e2fsprogs \
	chronyd:chrony; do
	prog=${pair%%:*} pkg=${pair##*:}
	command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "lab: installing ${need[*]}" >&2
	$sudo apt-get update -qq
	# A policy-rc.d keeps apt from starting chronyd on this machine.
	policy=/usr/sbin/policy-rc.d ours=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		ours=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" || rc=$?
	[ -z "$ours" ] || $sudo rm -f "$policy"
	[ "${rc:-0}" -eq 0 ]
fi

# Go's flag package takes --flag as -flag: the options pass through.
go build -o /tmp/stratum1-lab.$$ ./lab/cmd/lab
trap 'rm -f /tmp/stratum1-lab.$$' EXIT
$sudo env "PATH=$PATH" /tmp/stratum1-lab.$$ "$@"
