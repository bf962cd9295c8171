#!/bin/sh
# The lab's scenario, run in the guest at boot from the host's share (/lab).
# Settings come from /lab/scenario.env (written by the host runner); results
# go to /lab/results: series (labguest monitor), events ("truth_s name"),
# final.env, and the journal. The guest powers off at the end.
set -u
. /lab/scenario.env
out=/lab/results
mkdir -p "$out"
par=/sys/module/stratum1_lab/parameters

truth_s() { cut -d' ' -f1 /proc/stratum1_lab | sed 's/.........$//'; }
event() { echo "$(truth_s) $1" >>"$out/events"; echo "lab: $1" >/dev/console; }
finish() {
	event end
	{
		echo "column=$COLUMN"
		echo "kernel=$(uname -r)"
		echo "ntp_synchronized=$(timedatectl show -p NTPSynchronized --value 2>/dev/null)"
		echo "pulses=$(cat $par/pulses) lost=$(cat $par/lost) late=$(cat $par/late)"
		echo "pps_device=\"$(stat -c '%U:%G %a' /dev/pps0 2>&1)\""
		if [ "$COLUMN" = stratum1 ]; then
			echo "systemd_active=$(systemctl is-active stratum1.service)"
			echo "exposure=$(systemd-analyze security stratum1.service 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
			echo "permission_errors=$(journalctl -u stratum1.service -o cat | grep -ciE 'permission denied|operation not permitted|EPERM')"
		else
			echo "systemd_active=$(systemctl is-active "$COLUMN.service")"
		fi
	} >"$out/final.env"
	systemd-analyze security stratum1.service >"$out/security.txt" 2>&1 || true
	chronyc -n tracking >"$out/chronyc-tracking.txt" 2>&1 || true
	ntpq -pn >"$out/ntpq-peers.txt" 2>&1 || true
	stratum1 status >"$out/stratum1-status.txt" 2>&1 || true
	journalctl -b -o short-monotonic >"$out/journal.txt" 2>&1
	sync
	systemctl poweroff
	exit 0
}

# daemon_event UNIT: the truth second at which UNIT's main process started
# (systemd's monotonic start stamp, carried to truth through /proc/uptime,
# which in a guest that never suspends runs with CLOCK_MONOTONIC). Lock
# times count from it: unpacking the .deb, the postinst and systemd's
# reload are not the daemon's time, nor a column's.
daemon_event() {
	mono_us=$(systemctl show -p ExecMainStartTimestampMonotonic --value "$1")
	read -r up _ </proc/uptime
	now=$(truth_s)
	[ -n "$mono_us" ] && [ "$mono_us" != 0 ] || return 0
	echo "$(awk -v n="$now" -v u="$up" -v m="$mono_us" 'BEGIN { printf "%d", n - (u - m / 1e6) }') daemon" >>"$out/events"
}

# wait_lock SECONDS: until the last LOCK_HOLD_S samples are all within
# 10 µs of truth, or SECONDS have passed.
wait_lock() {
	deadline=$(( $(truth_s) + $1 ))
	while [ "$(truth_s)" -lt "$deadline" ]; do
		if [ "$(tail -n "$LOCK_HOLD_S" "$out/series" 2>/dev/null | awk '{e=$2<0?-$2:$2; if (e<10000) n++} END {print n+0}')" -ge "$LOCK_HOLD_S" ]; then
			return 0
		fi
		sleep 2
	done
	return 1
}

insmod /lab/stratum1_lab.ko crystal_ppm="$CRYSTAL_PPM" jitter_ns="$JITTER_NS" \
	missing_permille="${MISSING_PERMILLE:-0}" outlier_permille="${OUTLIER_PERMILLE:-0}" \
	outlier_ns="${OUTLIER_NS:-200000}" || {
	echo "lab: insmod failed" >"$out/failed"; finish; }
udevadm settle
install -m 755 /lab/labguest /usr/local/bin/labguest
stty -F /dev/ttyS1 9600 cs8 -parenb -cstopb raw -echo clocal -crtscts
systemd-run --unit=lab-nmea /usr/local/bin/labguest nmea /dev/ttyS1 >/dev/null
systemd-run --unit=lab-monitor /usr/local/bin/labguest monitor "$out/series" >/dev/null
event boot

# The clock OFFSET_NS off at the daemon's start.
echo "$OFFSET_NS" >$par/offset_ns
case "$COLUMN" in
stratum1)
	mkdir -p /etc/stratum1
	sed -e 's|^device = "/dev/serial0"|device = "/dev/ttyS2"|' \
		-e 's|^baud = "auto"|baud = "9600"|' /lab/stratum1.toml >/etc/stratum1/stratum1.toml
	# stratum1 conflicts with chrony (one clock steerer): chrony goes.
	dpkg --purge chrony >"$out/dpkg.txt" 2>&1
	event start
	DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold /lab/stratum1.deb >>"$out/dpkg.txt" 2>&1 ||
		echo "lab: dpkg failed" >>"$out/failed"
	svc=stratum1.service
	;;
chrony)
	# As gpsd's time-service guide configures them.
	cat >/etc/default/gpsd <<-'GPSD'
	START_DAEMON="true"
	USBAUTO="false"
	DEVICES="/dev/ttyS2 /dev/pps0"
	GPSD_OPTIONS="-n -s 9600"
	GPSD
	cat >/etc/chrony/chrony.conf <<-'CHRONY'
	refclock SHM 0 refid NMEA offset 0.17 delay 0.2 noselect
	refclock PPS /dev/pps0 refid PPS lock NMEA
	makestep 1 3
	driftfile /var/lib/chrony/chrony.drift
	rtcsync
	allow
	CHRONY
	event start
	systemctl start gpsd.service chrony.service
	svc=chrony.service
	;;
ntpsec)
	# ntpsec's own NMEA refclock with its integrated PPS (flag1, ppspath):
	# the sentences number the seconds, the pulses give the edge, polled
	# every 16 s as for a GPS; no gpsd. time2 is the line's delay after the
	# second (RMC written 100 ms after it, 70-odd bytes at 9600 baud), as
	# chrony's offset 0.17. A separate PPS refclock beside an NMEA one
	# never took over in the first run: with time2 16 ms off, ntpd's
	# selection saw two sources that disagreed beyond their distances.
	dpkg --purge chrony >"$out/dpkg.txt" 2>&1
	mkdir -p /etc/ntpsec
	cat >/etc/ntpsec/ntp.conf <<-'NTP'
	driftfile /var/lib/ntpsec/ntp.drift
	leapfile /usr/share/zoneinfo/leap-seconds.list
	refclock nmea unit 0 path /dev/ttyS2 ppspath /dev/pps0 baud 9600 flag1 1 time2 0.17 minpoll 4 maxpoll 4 prefer refid GPS
	logconfig =syncall +clockall +peerall +sysall
	NTP
	event start
	DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold /lab/python3-ntp.deb /lab/ntpsec.deb >>"$out/dpkg.txt" 2>&1 ||
		echo "lab: dpkg failed" >>"$out/failed"
	# The postinst starts it where policy allows; make sure.
	systemctl start ntpsec.service
	svc=ntpsec.service
	;;
esac
daemon_event "$svc"

if ! wait_lock "$LOCK_TIMEOUT_S"; then
	event nolock
	finish
fi
event locked
sleep "$MEASURE_S"
if [ "$OUTAGE_S" -gt 0 ]; then
	event outage
	echo Y >$par/outage
	sleep "$OUTAGE_S"
	echo N >$par/outage
	event outage_end
	sleep "$RECOVER_S"
fi
if [ "$STEP_PPM" != 0 ]; then
	echo $((CRYSTAL_PPM + STEP_PPM)) >$par/crystal_ppm
	event step
	sleep "$AFTER_STEP_S"
fi
event restart
systemctl restart "$svc"
sleep "$AFTER_RESTART_S"
finish
