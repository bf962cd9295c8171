package sim

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"stratum1/ntp"
	"stratum1/peer"
)

// Simulated upstream peers, for the virtual mode: each measures the clock
// against true time with a few hundred microseconds of noise (paths and
// their asymmetry), polled in a burst at the start and every peerPoll
// after it, as peer.Set's selection reports them.
const (
	peerNoise = 500 * time.Microsecond // standard deviation of one peer's offset
	peerPoll  = 64 * time.Second
	peerBurst = 8 // polls 2 s apart at the start
)

// simPeers is the selection of n simulated peers.
type simPeers struct {
	n       int
	rng     *rand.Rand
	sel     peer.Selection
	next    time.Duration // run time of the next poll
	polls   int
	wasDown bool
}

func newSimPeers(n int, seed int64) *simPeers {
	return &simPeers{n: n, rng: rand.New(rand.NewPCG(uint64(seed), 0x9ee5))}
}

// at returns the selection at run time t, with the clock errClock (clock
// minus true time) and clock reading now; down means unreachable.
func (p *simPeers) at(t time.Duration, errClock time.Duration, now time.Time, down bool) peer.Selection {
	if down {
		p.sel, p.wasDown = peer.Selection{}, true
		return p.sel
	}
	if p.wasDown {
		p.wasDown, p.polls, p.next = false, 0, t
	}
	if t < p.next {
		return p.sel
	}
	p.polls++
	p.next = t + peerPoll
	if p.polls < peerBurst {
		p.next = t + 2*time.Second
	}
	offs := make([]time.Duration, p.n)
	var sum time.Duration
	for i := range offs {
		offs[i] = errClock + time.Duration(p.rng.NormFloat64()*float64(peerNoise))
		sum += offs[i]
	}
	addr := netip.AddrFrom4([4]byte{192, 0, 2, 1})
	p.sel = peer.Selection{
		OK: true, Offset: sum / time.Duration(p.n), Jitter: peerNoise, Peer: addr.String(), Addr: addr,
		Stratum: 1, RefID: ntp.RefIDFromAddr(addr), Leap: ntp.LeapNone,
		RootDelay: 2 * time.Millisecond, RootDispersion: time.Millisecond,
		TrueChimers: offs, Survivors: p.n, Updated: now,
	}
	return p.sel
}

// stepped moves the offsets measured before a step of the clock by d, as
// peer.Set.ClockStepped does.
func (p *simPeers) stepped(d time.Duration) {
	if !p.sel.OK {
		return
	}
	p.sel.Offset += d
	offs := make([]time.Duration, len(p.sel.TrueChimers))
	for i, o := range p.sel.TrueChimers {
		offs[i] = o + d
	}
	p.sel.TrueChimers = offs
}
