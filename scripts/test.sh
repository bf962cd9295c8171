#!/usr/bin/env bash
# Runs every test of stratum1. Installs the Debian packages the interop tests
# need when they are missing (as root, or through sudo), then vets, tests with
# the race detector, and cross-builds for the Raspberry Pi architectures.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# program:package pairs. ntpsec conflicts with chrony, so it is unpacked
# under /opt/ntpsec below instead of installed.
need=()
for pair in chronyd:chrony ntpdig:ntpsec-ntpdig faketime:faketime \
	qemu-arm-static:qemu-user-static mcopy:mtools mkfs.vfat:dosfstools \
	sfdisk:fdisk debugfs:e2fsprogs mkfs.ext4:e2fsprogs lintian:lintian \
	chromium:chromium systemd-analyze:systemd patch:patch unshare:util-linux \
	ip:iproute2 useradd:passwd python3:python3 taskset:util-linux \
	qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap; do
	prog=${pair%%:*} pkg=${pair##*:}
	command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || [ -x "/sbin/$prog" ] || need+=("$pkg")
done
python3 -c 'import ntp' >/dev/null 2>&1 || need+=(python3-ntp)
# gpsd's UBX decoder (ubxtool's gps.ubx module) checks `gps configure --out`.
/usr/bin/python3 -c 'import gps.ubx' >/dev/null 2>&1 || need+=(python3-gps)
[ -f /usr/share/zoneinfo/leap-seconds.list ] || need+=(tzdata)
# apt must not start the daemons it installs (a chronyd would steer this
# machine's clock): a policy-rc.d that refuses every start, ours only while
# apt runs, and only when the machine has none of its own.
apt_install() {
	local policy=/usr/sbin/policy-rc.d ours=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# stratum1 scripts/test.sh: no daemon starts during its install\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		ours=1
	fi
	local rc=0
	$sudo apt-get update -qq || rc=$?
	[ $rc -ne 0 ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" || rc=$?
	[ -z "$ours" ] || $sudo rm -f "$policy"
	return $rc
}
if [ ${#need[@]} -gt 0 ]; then
	echo "installing: ${need[*]}"
	apt_install "${need[@]}"
fi
if [ ! -x /opt/ntpsec/usr/bin/ntpq ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && { apt-get download ntpsec >/dev/null 2>&1 || { $sudo apt-get update -qq && apt-get download ntpsec >/dev/null; }; })
	$sudo mkdir -p /opt/ntpsec
	$sudo dpkg-deb -x "$tmp"/ntpsec_*.deb /opt/ntpsec
	rm -rf "$tmp"
fi

echo "== go vet"
go vet ./...
echo "== cross-build for the Raspberry Pi"
GOOS=linux GOARCH=arm GOARM=6 go build -o /dev/null ./cmd/stratum1
GOOS=linux GOARCH=arm GOARM=7 go build -o /dev/null ./cmd/stratum1
GOOS=linux GOARCH=arm64 go build -o /dev/null ./cmd/stratum1
echo "== go vet for arm and arm64 (type-checks every test file for the Pi)"
GOOS=linux GOARCH=arm GOARM=6 go vet ./...
GOOS=linux GOARCH=arm64 go vet ./...
echo "== the client subcommands build for an operator's laptop"
GOOS=darwin GOARCH=arm64 go build -o /dev/null ./cmd/stratum1
GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/stratum1
echo "== PPS ioctl layouts and pairing on 32-bit ARM (qemu)"
GOOS=linux GOARCH=arm GOARM=6 go test -exec qemu-arm-static ./pps/ ./ntp/
echo "== AES-SIV on arm64 (qemu): crypto/aes's path, which a Pi takes"
GOOS=linux GOARCH=arm64 go test -exec qemu-aarch64-static ./nts/siv/
echo "== fuzz go-nmea's per-type parsers with checksummed sentences (bounded)"
# A count, not a duration: Go 1.26's fuzzing coordinator can fail a target
# with a bare "context deadline exceeded" when a -fuzztime duration ends
# mid-call (golang/go#75804, fixed in 1.27), with nothing found. 400 000
# executions are about 10 s here; -timeout bounds a slow machine.
go test -run='^$' -fuzz=FuzzNMEABody -fuzztime=400000x -timeout 10m ./gps/
echo "== fuzz the AES-NI assembly against crypto/aes (bounded)"
go test -run='^$' -fuzz=FuzzPaths -fuzztime=300000x -timeout 10m ./nts/siv/
echo "== go test -race"
go test -race -timeout 40m ./...
echo "== virtual Pi lab, short scenario (docs/lab.md)"
scripts/lab.sh --short --check
