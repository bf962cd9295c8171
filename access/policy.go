package access

import (
	"net/netip"
	"sync/atomic"
	"time"

	"stratum1/ntp"
	"stratum1/server"
)

// Policy decides, per request, whether the responder answers, drops or
// kisses. It is immutable once built except for its client table, which is
// safe for concurrent use; Check does not allocate.
//
// To apply a new configuration, build a new Policy with Reload (which keeps
// the client table and counters) and swap it in, for instance through a
// Reloadable.
type Policy struct {
	c     compiled
	tab   *table
	count *counters
}

var _ server.Policy = (*Policy)(nil)

// counters are kept apart from the Policy so that they survive reloads.
// Each sits on its own cache line: workers on different cores bump
// different counters without sharing a line. served, bumped by nearly
// every request, is split further by the client's address: workers serve
// different clients (SO_REUSEPORT hashes them), so they bump different
// lines rather than all of them one.
type counters struct {
	served   [servedShards]paddedCounter
	limited  paddedCounter
	kissRate paddedCounter
	kissDeny paddedCounter
	ignored  paddedCounter
	mode     paddedCounter
	control  paddedCounter
	evicted  paddedCounter
}

const servedShards = 16

// serve counts a request from src let through.
func (c *counters) serve(src netip.Addr) {
	b := src.As16()
	c.served[(b[15]^b[13])%servedShards].Add(1)
}

func (c *counters) servedTotal() uint64 {
	var n uint64
	for i := range c.served {
		n += c.served[i].Load()
	}
	return n
}

type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

// Counters is what the policy has decided since it (or the policy it was
// reloaded from) was created.
type Counters struct {
	Served         uint64 `json:"served"`          // let through to be answered (incl. mode 6 from query networks)
	Limited        uint64 `json:"limited"`         // over the rate limit, dropped without reply
	KissRate       uint64 `json:"kiss_rate"`       // over the rate limit, answered with KoD RATE
	KissDeny       uint64 `json:"kiss_deny"`       // matched a deny rule, answered with KoD DENY
	Ignored        uint64 `json:"ignored"`         // matched an ignore rule
	ModeDropped    uint64 `json:"mode_dropped"`    // modes never answered: 0, 2, 4, 5, 7
	ControlRefused uint64 `json:"control_refused"` // mode 6 from outside the query networks
	Evicted        uint64 `json:"evicted"`         // clients forgotten from a full table before their bucket drained
	Clients        int    `json:"clients"`         // clients in the table (Stats only)
	ActiveClients  int    `json:"active_clients"`  // of those, clients whose bucket is not empty (Stats only)
	TableCapacity  int    `json:"table_capacity"`  // clients the table can hold
	TableBytes     int    `json:"table_bytes"`     // memory of the table
}

// New builds a policy from a validated configuration, allocating its client
// table.
func New(cfg Config) (*Policy, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return &Policy{c: c, tab: newTable(c.tableBytes), count: new(counters)}, nil
}

// Reload builds a policy from cfg that shares p's counters and, when the
// table budget is unchanged, p's client table, so that a configuration
// reload neither forgets who is over the limit nor resets the counters.
// p stays valid until the caller stops using it.
func (p *Policy) Reload(cfg Config) (*Policy, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	tab := p.tab
	if c.tableBytes != p.c.tableBytes || c.v4Bits != p.c.v4Bits || c.v6Bits != p.c.v6Bits {
		tab = newTable(c.tableBytes)
	}
	return &Policy{c: c, tab: tab, count: p.count}, nil
}

// Check decides what to do with a request of the given mode from src at now.
func (p *Policy) Check(src netip.Addr, mode ntp.Mode, now time.Time) server.Verdict {
	src = src.Unmap()
	switch mode {
	case ntp.ModeClient, ntp.ModeSymmetricActive:
	case ntp.ModeControl:
		if !p.QueryAllowed(src) {
			p.count.control.Add(1)
			return server.Ignore
		}
		if p.controlOverLimit(src, now.UnixNano()) {
			p.count.limited.Add(1)
			return server.Ignore
		}
		p.count.serve(src)
		return server.Serve
	default:
		// Mode 7 is never answered (it was the monlist amplifier), and
		// server, broadcast and passive packets are not requests.
		p.count.mode.Add(1)
		return server.Ignore
	}
	act := p.action(src)
	switch act {
	case actIgnore:
		p.count.ignored.Add(1)
		return server.Ignore
	case actUnlimited:
		p.count.serve(src)
		return server.Serve
	}
	if !p.c.limit {
		if act == actDeny {
			p.count.kissDeny.Add(1)
			return server.KissDeny
		}
		p.count.serve(src)
		return server.Serve
	}
	return p.limit(src, act, now.UnixNano())
}

// action is what the first rule containing src (or the default) says.
func (p *Policy) action(src netip.Addr) action {
	for i := range p.c.rules {
		if p.c.rules[i].net.Contains(src) {
			return p.c.rules[i].act
		}
	}
	return p.c.deflt
}

// limit runs the client's leaky bucket (the generic cell rate algorithm):
// the bucket's level is how far its theoretical arrival time tat runs ahead
// of now; each answered request adds one interval, and a request that finds
// the level above the tolerance is over the limit. Requests over the limit
// do not fill the bucket, so a client is answered at its fair rate however
// fast it sends. Denied clients fill the bucket too, so that KoD DENY cannot
// be used to reflect a flood.
func (p *Policy) limit(src netip.Addr, act action, now int64) server.Verdict {
	hi, lo := key(src, p.c.v4Bits, p.c.v6Bits)
	s, e, evicted := p.tab.lookup(hi, lo, now)
	if evicted {
		p.count.evicted.Add(1)
	}
	tat := max(e.tat, now)
	if tat-now > int64(p.c.tolerance) {
		kiss := act == actServe && now-e.kiss >= int64(p.c.kissEvery)
		if kiss {
			e.kiss = now
		}
		s.mu.Unlock()
		if kiss {
			p.count.kissRate.Add(1)
			return server.KissRate
		}
		p.count.limited.Add(1)
		return server.Ignore
	}
	e.tat = tat + int64(p.c.interval)
	s.mu.Unlock()
	if act == actDeny {
		p.count.kissDeny.Add(1)
		return server.KissDeny
	}
	p.count.serve(src)
	return server.Serve
}

// QueryAllowed reports whether src may use mode 6.
func (p *Policy) QueryAllowed(src netip.Addr) bool {
	src = src.Unmap()
	for _, q := range p.c.query {
		if q.Contains(src) {
			return true
		}
	}
	return false
}

// QueryNetworks returns the networks allowed to use mode 6, for the control
// handler.
func (p *Policy) QueryNetworks() []netip.Prefix {
	return append([]netip.Prefix(nil), p.c.query...)
}

// Counters returns the counters without scanning the client table; cheap
// enough for every metrics scrape.
func (p *Policy) Counters() Counters {
	c := p.count
	return Counters{
		Served:         c.servedTotal(),
		Limited:        c.limited.Load(),
		KissRate:       c.kissRate.Load(),
		KissDeny:       c.kissDeny.Load(),
		Ignored:        c.ignored.Load(),
		ModeDropped:    c.mode.Load(),
		ControlRefused: c.control.Load(),
		Evicted:        c.evicted.Load(),
		TableCapacity:  p.tab.capacity(),
		TableBytes:     p.tab.bytes(),
	}
}

// Stats returns the counters and the table's occupancy at now. It walks the
// whole table (a few MB), so call it on demand, not per packet.
func (p *Policy) Stats(now time.Time) Counters {
	c := p.Counters()
	c.Clients, c.ActiveClients = p.tab.occupancy(now.UnixNano())
	return c
}

// Reloadable holds the current Policy and lets a reload swap it atomically
// while workers call Check. The zero value serves everyone.
type Reloadable struct {
	p atomic.Pointer[Policy]
}

var _ server.Policy = (*Reloadable)(nil)

// Store makes p the current policy.
func (r *Reloadable) Store(p *Policy) { r.p.Store(p) }

// Load returns the current policy, or nil.
func (r *Reloadable) Load() *Policy { return r.p.Load() }

// Check applies the current policy. Without one it serves time and refuses
// control and private modes.
func (r *Reloadable) Check(src netip.Addr, mode ntp.Mode, now time.Time) server.Verdict {
	if p := r.p.Load(); p != nil {
		return p.Check(src, mode, now)
	}
	switch mode {
	case ntp.ModeClient, ntp.ModeSymmetricActive:
		return server.Serve
	}
	return server.Ignore
}
