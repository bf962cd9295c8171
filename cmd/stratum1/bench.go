package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"stratum1/server/loadgen"
)

const benchUsage = `usage: stratum1 bench [flags] HOST:PORT

Load-test an NTP server: send NTPv4 client requests from many source ports
(and, on loopback, many source addresses in 127.0.0.0/8) at a fixed rate or
as fast as possible, for a fixed time, and report how many were answered,
how fast, and how true the server's timestamps were. The client's kernel
transmit and receive timestamps give the round trip; when client and server
share one machine's clock, ((T2-T1)+(T3-T4))/2 is the server's own
timestamp error. With --pid, also the server's CPU time per reply and its
memory.

At a fixed rate the requests are paced one by one, as independent clients
send them, and the generator keeps one CPU busy doing so: on a small box,
pin it away from the server (taskset) or load the box from another machine.

Only loopback targets are loaded unless --remote is given: a load test can
take a server, or the network in front of it, down.

With --nts-ke the requests are NTS-protected (RFC 8915): NTS-KE once, then
that cookie on every request with its own authenticator; with --ke-only,
NTS-KE handshakes per second instead (the target is then ignored).

Example: how many clients can the server on this machine take?
  stratum1 bench --rate 48000 --duration 10s --pid $(pidof stratum1) 127.0.0.1:123
  stratum1 bench --nts-ke 127.0.0.1:4460 --nts-ca cert.pem --rate 20000 127.0.0.1:123

flags:
`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	rate := fs.Int("rate", 10000, "requests per `second`, open loop; 0 sends as fast as possible")
	dur := fs.Duration("duration", 10*time.Second, "how long to send (at most 10m)")
	sockets := fs.Int("sockets", 16, "source sockets, each its own port (and 127.x address on loopback)")
	pid := fs.Int("pid", 0, "server process `id`: report its CPU time per reply and memory")
	remote := fs.Bool("remote", false, "allow a target that is not on loopback")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress line")
	var ntsf ntsBenchFlags
	ntsf.declare(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	// Flags may come before or after the target.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errUsage
	}
	target := rest[0]
	if err := parseFlags(fs, rest[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "stratum1 bench: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if ntsf.keOnly {
		if ntsf.ke == "" {
			return errors.New("--ke-only needs --nts-ke")
		}
		return ntsf.keRate(ctx, *sockets, *dur, stdout)
	}
	ua, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return fmt.Errorf("target %q: %w", target, err)
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	cfg := loadgen.Config{Target: ap, Rate: *rate, Duration: *dur, Sockets: *sockets, AllowRemote: *remote}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if ntsf.ke != "" {
		if cfg.NTS, err = ntsf.session(ctx); err != nil {
			return err
		}
	}

	var progress func(loadgen.Progress)
	if !*quiet {
		progress = func(p loadgen.Progress) {
			loss := 0.0
			if p.Sent > 0 && p.Answered < p.Sent {
				loss = 100 * float64(p.Sent-p.Answered) / float64(p.Sent)
			}
			fmt.Fprintf(stderr, "\r%5.1fs  sent %d  answered %d  unanswered so far %.2f%%  %.0f/s   ",
				p.Elapsed.Seconds(), p.Sent, p.Answered, loss, float64(p.Sent)/p.Elapsed.Seconds())
		}
	}
	out, err := measure(ctx, cfg, *pid, progress)
	if progress != nil {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, out)
	}
	printBench(stdout, &out, *pid != 0)
	return nil
}

type benchResult struct {
	Target string `json:"target"`
	*loadgen.Report
	LossPct       float64       `json:"loss_pct"`
	RatePerS      float64       `json:"rate_per_s"`
	ServerCPU     time.Duration `json:"server_cpu_ns,omitempty"`
	CPUPerReply   time.Duration `json:"cpu_per_reply_ns,omitempty"`
	CPUPerReplyUs float64       `json:"cpu_per_reply_us,omitempty"`
	ServerRSS     uint64        `json:"server_rss_bytes,omitempty"`
	ServerHWM     uint64        `json:"server_hwm_bytes,omitempty"`
}

func kodSum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

func printBench(w io.Writer, r *benchResult, withPid bool) {
	fmt.Fprintf(w, "target        %s\n", r.Target)
	fmt.Fprintf(w, "sent          %d in %v (%.0f/s)\n", r.Sent, r.Elapsed.Round(time.Millisecond), r.RatePerS)
	fmt.Fprintf(w, "answered      %d   KoD %d %v   loss %.3f%%\n", r.Answered, kodSum(r.KoD), r.KoD, r.LossPct)
	fmt.Fprintf(w, "RTT           p50 %v  p99 %v  (max %v; %d with kernel timestamps)\n", r.RTT.P50, r.RTT.P99, r.RTT.Max, r.RTT.N)
	fmt.Fprintf(w, "server error  p1 %v  p50 %v  p99 %v  (spread p1..p99 %v)\n", r.Error.P1, r.Error.P50, r.Error.P99, r.Error.P99-r.Error.P1)
	fmt.Fprintf(w, "anomalies     oversized %d  out-of-order %d  bogus %d\n", r.Oversized, r.OutOfOrder, r.Bogus)
	if r.NTSChecked > 0 {
		fmt.Fprintf(w, "NTS           %d authenticators checked\n", r.NTSChecked)
	}
	if withPid {
		fmt.Fprintf(w, "server        CPU %v, %.2f us per reply, RSS %.1f MiB (peak %.1f MiB)\n",
			r.ServerCPU, r.CPUPerReplyUs, float64(r.ServerRSS)/(1<<20), float64(r.ServerHWM)/(1<<20))
	}
}
