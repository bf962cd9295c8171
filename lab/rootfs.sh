#!/usr/bin/env bash
# Builds (once) the lab guest: a Debian bookworm root file system made with
# debootstrap, cached in $STRATUM1_LAB_CACHE (default /var/cache/stratum1-lab)
# and rebuilt only when missing or incomplete, then a raw ext4 image of it
# that QEMU boots with -snapshot (the image itself is never written).
#
# The guest kernel's headers and a compiler are part of it, so the lab's
# kernel module is built in a chroot against the guest's exact kernel.
# chrony and gpsd are installed but disabled: the scenario starts the column
# it measures. At boot the guest mounts the host's share (9p, tag "lab") on
# /lab and runs /lab/scenario.sh.
#
# Prints key=value lines: root, image, kernel, initrd, kver.
set -euo pipefail
cache=${STRATUM1_LAB_CACHE:-/var/cache/stratum1-lab}
mirror=${STRATUM1_LAB_MIRROR:-http://deb.debian.org/debian}
root="$cache/rootfs"
image="$cache/rootfs.img"
pkgs=systemd-sysv,udev,dbus,linux-image-amd64,linux-headers-amd64,make,gcc,libc6-dev,chrony,gpsd,pps-tools,iproute2,kmod,procps
prep=3 # bump when the preparation below changes

if [ ! -f "$root/.stratum1-lab-complete" ] || [ "$(cat "$root/.stratum1-lab-complete")" != "$pkgs" ]; then
	mkdir -p "$cache"
	rm -rf "$root.tmp"
	echo "lab: debootstrap bookworm into $root (a few minutes, once)" >&2
	debootstrap --variant=minbase --include="$pkgs" bookworm "$root.tmp" "$mirror" >&2
	rm -rf "$root" "$image"
	mv "$root.tmp" "$root"
	echo "$pkgs" >"$root/.stratum1-lab-complete"
fi

if [ "$(cat "$root/.stratum1-lab-prep" 2>/dev/null)" != "$prep" ]; then
	echo "lab: preparing the guest" >&2
	echo stratum1-lab >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 stratum1-lab\n' >"$root/etc/hosts"
	cat >"$root/etc/fstab" <<-'FSTAB'
	/dev/vda / ext4 rw,errors=remount-ro 0 1
	lab /lab 9p trans=virtio,version=9p2000.L,msize=524288 0 0
	FSTAB
	mkdir -p "$root/lab" "$root/etc/systemd/network"
	printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/10-lab.network"
	cat >"$root/etc/systemd/system/stratum1-lab.service" <<-'UNIT'
	[Unit]
	Description=stratum1 virtual Pi lab scenario
	Requires=lab.mount
	After=lab.mount systemd-udev-settle.service systemd-networkd.service

	[Service]
	Type=oneshot
	ExecStart=/bin/sh /lab/scenario.sh
	StandardOutput=journal+console
	StandardError=journal+console
	TimeoutStartSec=infinity

	[Install]
	WantedBy=multi-user.target
	UNIT
	# The root account has no password: the console is the lab's own.
	chroot "$root" passwd -d root >/dev/null
	chroot "$root" systemctl enable stratum1-lab.service systemd-networkd.service >/dev/null 2>&1
	chroot "$root" systemctl disable chrony.service gpsd.service gpsd.socket >/dev/null 2>&1 || true
	rm -f "$image"
	echo "$prep" >"$root/.stratum1-lab-prep"
fi

if [ ! -f "$image" ]; then
	echo "lab: making $image" >&2
	rm -f "$image.tmp"
	truncate -s 3G "$image.tmp"
	mkfs.ext4 -q -F -L stratum1-lab -d "$root" "$image.tmp" >&2
	mv "$image.tmp" "$image"
fi

kver=$(ls "$root/lib/modules" | sort -V | tail -1)
echo "root=$root"
echo "image=$image"
echo "kernel=$root/boot/vmlinuz-$kver"
echo "initrd=$root/boot/initrd.img-$kver"
echo "kver=$kver"
