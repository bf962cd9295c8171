package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/beevik/ntp"

	"stratum1/access"
	stntp "stratum1/ntp"
	"stratum1/server"
)

// checkPool adds the NTP Pool's expectations: reachable at a public
// address, rate limiting that spares the monitor, mode 6 closed to the
// internet, no pool upstreams, and a live probe scored as the monitor does.
func (c *checker) checkPool(ctx context.Context) {
	c.checkPublicAddress()
	c.checkRateLimit()
	c.checkQueryClosed()
	c.checkUpstreams()
	c.checkProbe(ctx)
}

// publicAddr reports whether a is reachable from the internet: global
// unicast, not private, not carrier-grade NAT space, not documentation.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.2.0/24"),  // documentation
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("2001:db8::/32"),
}

func (c *checker) checkPublicAddress() {
	if c.publicAddr != "" {
		a, err := netip.ParseAddr(c.publicAddr)
		switch {
		case err != nil:
			c.add(checkFail, "pool address", fmt.Sprintf("--public %q is not an IP address", c.publicAddr), "")
		case !publicAddr(a):
			c.add(checkFail, "pool address", a.String()+" is not a public address; the pool's monitors could not reach it",
				"register the static public address of your connection, with UDP 123 forwarded to this Pi")
		default:
			c.add(checkPass, "pool address", a.String()+" is public (the pool needs it static, with UDP 123 reaching this Pi)", "")
		}
		return
	}
	addrs, err := c.ifaceAddrs()
	if err != nil {
		c.add(checkWarn, "pool address", "cannot list the interfaces' addresses: "+err.Error(), "pass --public ADDR")
		return
	}
	var public []string
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		if publicAddr(pfx.Addr()) {
			public = append(public, pfx.Addr().String())
		}
	}
	if len(public) == 0 {
		c.add(checkWarn, "pool address", "no public address on any interface: the Pi is behind NAT",
			"forward UDP 123 from the router's static public address to this Pi and register that address; check it with --public ADDR")
		return
	}
	c.add(checkPass, "pool address", "public address(es) "+strings.Join(public, ", ")+" (the pool needs a static one)", "")
}

// monitorAddr stands for a pool monitor: a public address no rule of a
// sane config singles out.
var monitorAddr = netip.MustParseAddr("45.54.12.1")

func (c *checker) checkRateLimit() {
	rl := c.cfg.Access.RateLimit
	if rl.Disabled {
		c.add(checkFail, "rate limit", "rate limiting is off: a single abusive client gets every answer it asks for",
			"remove disabled = true from [access.rate_limit]; the defaults (8s, burst 8) let the pool's monitor through")
		return
	}
	// Run the pool's traffic through the very policy the daemon would
	// build, in virtual time.
	p, err := access.New(c.cfg.Access)
	if err != nil {
		c.add(checkFail, "rate limit", "the [access] section does not compile: "+err.Error(), "")
		return
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if v := p.Check(monitorAddr, stntp.ModeClient, t0.Add(time.Duration(i)*2*time.Second)); v != server.Serve {
			c.add(checkFail, "rate limit", fmt.Sprintf("the pool monitor's query %d of 3 (2 s apart) would get %s, which the pool scores as a failure", i+1, verdictName(v)),
				"raise [access.rate_limit] burst to at least 3 and keep interval at most 8s, and do not ignore or deny public clients by default")
			return
		}
	}
	// A client polling every second for a minute must be limited.
	other := netip.MustParseAddr("45.54.13.1")
	limited := 0
	for i := range 60 {
		if p.Check(other, stntp.ModeClient, t0.Add(time.Hour+time.Duration(i)*time.Second)) != server.Serve {
			limited++
		}
	}
	if limited == 0 {
		c.add(checkWarn, "rate limit", "a client polling every second for a minute was answered every time",
			"lower [access.rate_limit] burst or raise interval (defaults: 8s, burst 8)")
		return
	}
	c.add(checkPass, "rate limit", fmt.Sprintf("the monitor's 3 queries 2 s apart pass; a client polling every second has %d of 60 refused", limited), "")
}

func verdictName(v server.Verdict) string {
	switch v {
	case server.Serve:
		return "an answer"
	case server.Ignore:
		return "no answer"
	case server.KissDeny:
		return "a kiss-o'-death DENY"
	case server.KissRate:
		return "a kiss-o'-death RATE"
	case server.KissRstr:
		return "a kiss-o'-death RSTR"
	}
	return fmt.Sprintf("verdict %d", v)
}

// localRanges are the networks mode 6 may be open to.
var localRanges = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

func (c *checker) checkQueryClosed() {
	p, err := access.New(c.cfg.Access)
	if err != nil {
		return // reported by checkRateLimit
	}
	var open []string
	for _, q := range p.QueryNetworks() {
		local := false
		for _, r := range localRanges {
			if r.Bits() <= q.Bits() && r.Contains(q.Addr()) {
				local = true
				break
			}
		}
		if !local {
			open = append(open, q.String())
		}
	}
	if len(open) > 0 {
		c.add(checkFail, "queries", "mode 6 (ntpq) queries are open to "+strings.Join(open, ", ")+": an amplification vector the pool rejects",
			"limit [access] query to loopback and your private networks")
		return
	}
	c.add(checkPass, "queries", "mode 6 answers only local networks; mode 7 is never answered", "")
}

func (c *checker) checkUpstreams() {
	pc := c.cfg.Peers
	var poolNames []string
	for _, s := range pc.Pools {
		poolNames = append(poolNames, s.Address)
	}
	for _, s := range pc.Servers {
		host := s.Address
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if strings.HasSuffix(strings.TrimSuffix(strings.ToLower(host), "."), "pool.ntp.org") {
			poolNames = append(poolNames, s.Address)
		}
	}
	switch {
	case len(poolNames) > 0:
		c.add(checkFail, "upstreams", "upstream "+strings.Join(poolNames, ", ")+" is the pool itself: a pool server must not take its time from the pool",
			"replace them with 3 or 4 hand-picked [[peers.server]] entries (nearby stratum 1 or 2 servers you trust)")
	case len(pc.Servers) == 0:
		c.add(checkWarn, "upstreams", "no upstream servers: if the GPS fails the server will go unsynchronised",
			"add 3 or 4 hand-picked [[peers.server]] entries as a fallback")
	default:
		c.add(checkPass, "upstreams", fmt.Sprintf("%d hand-picked upstream server(s), no pool names", len(pc.Servers)), "")
	}
}

// ntpProbe is one answer (or its absence) to a client query.
type ntpProbe struct {
	ok      bool // an answer arrived
	err     error
	stratum uint8
	leap    uint8
	kiss    string
	offset  time.Duration
	rtt     time.Duration
	refID   string
}

type ntpQueryFunc func(ctx context.Context, addr string) ntpProbe

func beevikQuery(ctx context.Context, addr string) ntpProbe {
	r, err := ntp.QueryWithOptions(addr, ntp.QueryOptions{Timeout: 3 * time.Second})
	if err != nil {
		return ntpProbe{err: err}
	}
	p := ntpProbe{ok: true, stratum: r.Stratum, leap: uint8(r.Leap), kiss: r.KissCode, offset: r.ClockOffset, rtt: r.RTT}
	p.refID = stntp.RefID(r.ReferenceID).Format(r.Stratum)
	return p
}

// monitorStep scores one probe the way the NTP Pool's monitor does: -5
// without an answer or with a kiss-o'-death, -4 at a far-off offset or a
// high stratum (16, unsynchronised, included), then graded by offset up to
// +1 within 75 ms. A leap-3 alarm makes clients discard the answer, so it
// costs as much as stratum 16.
func monitorStep(p ntpProbe) (step float64, why string) {
	abs := p.offset
	if abs < 0 {
		abs = -abs
	}
	switch {
	case !p.ok:
		return -5, "no answer"
	case p.stratum == 0:
		return -5, "kiss-o'-death " + p.kiss
	case abs > 3*time.Second:
		return -4, fmt.Sprintf("offset %v beyond 3 s (score capped at -20)", p.offset)
	case p.stratum >= 16:
		return -4, "stratum 16: unsynchronised"
	case p.stratum >= 8:
		return -4, fmt.Sprintf("stratum %d", p.stratum)
	case p.leap == 3:
		return -4, "leap indicator 3: unsynchronised"
	case abs > 750*time.Millisecond:
		return -2, fmt.Sprintf("offset %v beyond 750 ms", p.offset)
	case abs > 75*time.Millisecond:
		return 1 - 4*abs.Seconds(), fmt.Sprintf("offset %v beyond 75 ms", p.offset)
	}
	return 1, "good"
}

func (c *checker) checkProbe(ctx context.Context) {
	var probes []ntpProbe
	for i := range c.probeCount {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.probeGap):
			}
		}
		probes = append(probes, c.probeQuery(ctx, c.ntpServer))
	}
	// Like the monitor: one bad answer fails the check; otherwise the
	// answer with the shortest round trip counts.
	var best *ntpProbe
	answered := 0
	for i := range probes {
		p := &probes[i]
		if !p.ok {
			continue
		}
		answered++
		if p.stratum == 0 || p.stratum >= 16 || p.leap == 3 || p.stratum > 6 {
			best = p
			break
		}
		if best == nil || p.rtt < best.rtt {
			best = p
		}
	}
	var step float64
	var why string
	if best == nil {
		step, why = monitorStep(ntpProbe{})
		if probes[0].err != nil {
			why += ": " + probes[0].err.Error()
		}
	} else {
		step, why = monitorStep(*best)
	}
	// The pool's score moves as score = 0.95*score + step, so it settles at
	// 20*step; servers above 10 get traffic.
	steady := min(20, 20*step)
	if best != nil && (best.offset > 3*time.Second || best.offset < -3*time.Second) {
		steady = -20 // the monitor pins the score there
	}
	detail := fmt.Sprintf("%s: %d of %d answered", c.ntpServer, answered, len(probes))
	if best != nil {
		detail += fmt.Sprintf(", stratum %d, refid %s, leap %d, offset %v, rtt %v", best.stratum, best.refID, best.leap, best.offset, best.rtt)
	}
	detail += fmt.Sprintf("; pool step %+.2f (%s), score settles at %.0f", step, why, steady)
	switch {
	case steady > 10 && step >= 1:
		c.add(checkPass, "pool probe", detail+" (in the pool above 10)", "")
	case steady > 10:
		c.add(checkWarn, "pool probe", detail, "the offset costs score; check that the clock is locked (stratum1 status)")
	default:
		c.add(checkFail, "pool probe", detail+": the pool would not use this server",
			"make sure the daemon runs and is locked (stratum1 status), that UDP 123 reaches it and that rate limiting spares the monitor")
	}
}
