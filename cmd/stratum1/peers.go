package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"stratum1/status"
)

func cmdPeers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("peers", stderr)
	server := fs.String("server", status.DefaultServerURL, "base URL of the daemon's status server")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stratum1 peers: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	s, err := status.Fetch(ctx, *server)
	if err != nil {
		return err
	}
	writePeers(stdout, s.Peers)
	return nil
}

// writePeers prints peers as `ntpq -p` does: tally and remote, refid,
// stratum, type, seconds since the last sample, poll interval, reach in
// octal, and delay, offset and jitter in milliseconds. A note, when the
// daemon gives one (falseticker, KoD RATE, unreachable), ends the line.
func writePeers(w io.Writer, peers []status.Peer) {
	if len(peers) == 0 {
		fmt.Fprintln(w, "no time sources: the daemon has no GPS, PPS or upstream peers configured")
		return
	}
	width := len("remote")
	for _, p := range peers {
		width = max(width, len(remoteName(p.Name)))
	}
	header := fmt.Sprintf(" %-*s %-15s %2s %1s %4s %4s %5s %8s %8s %8s", width, "remote", "refid", "st", "t",
		"when", "poll", "reach", "delay", "offset", "jitter")
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, strings.Repeat("=", len(header)))
	for _, p := range peers {
		tally := p.Tally
		if len(tally) != 1 {
			tally = " "
		}
		typ := p.Type
		if typ == "" {
			typ = "-"
		}
		when := "-"
		if p.When > 0 || p.Reach != 0 {
			when = shortDuration(p.When)
		}
		line := fmt.Sprintf("%s%-*s %-15s %2d %1s %4s %4s %5o %8.3f %8.3f %8.3f", tally, width, remoteName(p.Name),
			p.RefID, p.Stratum, typ, when, shortDuration(p.Poll), p.Reach,
			millis(p.Delay), millis(p.Offset), millis(p.Jitter))
		if p.Note != "" {
			line += "  " + p.Note
		}
		fmt.Fprintln(w, line)
	}
}

// remoteName drops the port when it is NTP's own.
func remoteName(name string) string {
	if host, port, err := net.SplitHostPort(name); err == nil && port == "123" {
		return host
	}
	return name
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shortDuration prints whole seconds, switching to minutes, hours and days
// as ntpq does so that the column stays four wide.
func shortDuration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 0:
		return "-"
	case s <= 2048:
		return fmt.Sprint(s)
	case s < 300*60:
		return fmt.Sprintf("%dm", s/60)
	case s < 96*3600:
		return fmt.Sprintf("%dh", s/3600)
	default:
		return fmt.Sprintf("%dd", s/86400)
	}
}
