// Package lab runs the virtual Pi lab: the real stratum1 daemon (from its
// .deb, under its shipped systemd unit) and gpsd+chrony against a real
// Linux kernel in a QEMU guest, whose GPS receiver and truth clock are the
// lab's kernel module (lab/module). It boots the guest, relays the NMEA
// line between the guest's two 8250 ports, and computes each column's
// figures from the guest's error series. See docs/lab.md.
package lab
