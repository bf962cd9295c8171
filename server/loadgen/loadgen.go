// Package loadgen is an NTP load generator: it sends client requests to one
// server from many source ports (and, on loopback, many source addresses)
// with batched system calls, open-loop at a target rate or as fast as it
// can, for a fixed time, and measures every answer with the client's kernel
// transmit and receive timestamps. Client and server share a clock when
// both run on one machine, so ((T2-T1)+(T3-T4))/2 is the server's own
// timestamp error.
package loadgen

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"stratum1/nts"
)

// Config says what load to offer.
type Config struct {
	Target   netip.AddrPort
	Rate     int           // requests per second; 0 sends as fast as possible
	Duration time.Duration // how long to send
	Sockets  int           // source sockets (ports); on loopback each gets its own 127.x address
	// AllowRemote permits a target outside loopback. Load tests can hurt a
	// server and the network; they must be asked for by name.
	AllowRemote bool
	// NTS, when set, sends NTS-protected requests on this session's cookie
	// (NTS-KE once, then the same cookie on every request, each with its
	// own authenticator), so that the server does all of an NTS reply's
	// work per request. Every 16th reply's authenticator is checked.
	NTS *nts.Session
}

// Limits that keep a run bounded.
const (
	MaxDuration = 10 * time.Minute
	MaxSockets  = 1024
	MaxRate     = 10_000_000
	drainTime   = 300 * time.Millisecond // waiting for late answers after the last send
)

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if !c.Target.IsValid() || c.Target.Port() == 0 {
		return fmt.Errorf("target %v: need an IP address and a port", c.Target)
	}
	if !c.Target.Addr().IsLoopback() && !c.AllowRemote {
		return fmt.Errorf("target %v is not on loopback: name it with --remote to load a server over the network", c.Target)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		return fmt.Errorf("duration %v out of range (0, %v]", c.Duration, MaxDuration)
	}
	if c.Rate < 0 || c.Rate > MaxRate {
		return fmt.Errorf("rate %d out of range 0 (as fast as possible) to %d", c.Rate, MaxRate)
	}
	if c.Sockets < 1 || c.Sockets > MaxSockets {
		return fmt.Errorf("sockets %d out of range 1 to %d", c.Sockets, MaxSockets)
	}
	return nil
}

// Report is the outcome of one run.
type Report struct {
	Sent, Answered uint64
	KoD            map[string]uint64 // stratum-0 replies by kiss code (INIT: not synchronised)
	Oversized      uint64            // replies longer than their request
	OutOfOrder     uint64            // replies whose T1 <= T2 <= T3 <= T4 does not hold
	Bogus          uint64            // replies that match no request, or not mode 4, or (NTS) do not authenticate
	NTSChecked     uint64            // NTS replies whose authenticator was checked
	Elapsed        time.Duration     // sending time
	KernelStamps   uint64            // answers measured with kernel T1 and T4

	RTT   Percentiles // T4 - T1
	Error Percentiles // ((T2-T1)+(T3-T4))/2: the server's timestamp error
}

// Percentiles summarises a distribution.
type Percentiles struct {
	N            int
	P1, P50, P99 time.Duration
	Min, Max     time.Duration
}

// Loss returns the fraction of requests that got no answer.
func (r *Report) Loss() float64 {
	if r.Sent == 0 {
		return 0
	}
	got := r.Answered + r.kodTotal()
	if got >= r.Sent {
		return 0
	}
	return float64(r.Sent-got) / float64(r.Sent)
}

// Rate returns the achieved request rate.
func (r *Report) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

func (r *Report) kodTotal() uint64 {
	var n uint64
	for _, v := range r.KoD {
		n += v
	}
	return n
}

func percentiles(ns []int64) Percentiles {
	if len(ns) == 0 {
		return Percentiles{}
	}
	slices.Sort(ns)
	at := func(p float64) time.Duration { return time.Duration(ns[int(p*float64(len(ns)-1))]) }
	return Percentiles{N: len(ns), P1: at(0.01), P50: at(0.5), P99: at(0.99), Min: time.Duration(ns[0]), Max: time.Duration(ns[len(ns)-1])}
}

// Progress is a snapshot handed to the progress callback about once a second.
type Progress struct {
	Elapsed        time.Duration
	Sent, Answered uint64
}

var errNoSockets = errors.New("loadgen: no source socket could be opened")
