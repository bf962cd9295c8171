package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"stratum1/lab"
)

// sources is how many loopback addresses the monitor's NTP queries rotate
// through, one a second, so that each stays inside the daemon's default
// rate limit (one query per 8 s from an address).
const sources = 8

// runMonitor appends one line per truth second to path:
//
//	truth_s err_ns bracket_ns kernel_synced stratum leap root_ns
//
// err_ns is kernel clock - truth (bracketed in the module), kernel_synced
// is the kernel's STA_UNSYNC bit cleared, and stratum, leap and root_ns
// (root delay/2 + root dispersion) are what the local NTP server serves,
// asked every second (stratum -1 without an answer).
func runMonitor(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	var last int64
	for {
		r, err := waitNextSecond(ctx, last, 500*time.Millisecond)
		if err != nil {
			return err
		}
		sec := r.truthNs / 1e9
		last = sec
		var tx unix.Timex
		state, err := unix.Adjtimex(&tx) // modes 0: only reads
		synced := err == nil && state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
		from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(2+sec%sources))}
		sv := lab.QueryNTP(from, "127.0.0.1:123", 300*time.Millisecond)
		fmt.Fprintf(w, "%d %d %d %t %d %d %d\n", sec, r.errNs, r.bracketNs, synced, sv.Stratum, sv.Leap, sv.RootNs)
		if err := w.Flush(); err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
	}
}
