package peer

import (
	"net/netip"
	"time"

	"stratum1/ntp"
)

// recvResult says what became of a received packet.
type recvResult int

const (
	recvSample    recvResult = iota // a valid sample entered the filter
	recvNoSample                    // valid reply from an unsynchronised server
	recvKoD                         // kiss-o'-death acted upon
	recvDuplicate                   // same origin as a reply already taken
	recvLate                        // answers an earlier request, or too late
	recvBogus                       // origin matches nothing we sent, or malformed
)

// assoc is the state of one association: what to send when, and what to make
// of the replies. It does no I/O and reads no clock: the socket adapter
// hands it the times, so tests drive it through hours of polls instantly.
type assoc struct {
	addr    netip.AddrPort
	name    string // as shown: the address, with :port when not 123
	typ     byte   // 'u' server, 'p' pool
	owner   *entry // the configuration entry that made it
	iburst  bool
	minPoll time.Duration
	maxPoll time.Duration
	timeout time.Duration // wait for a reply
	prec    time.Duration // our clock's precision

	poll      time.Duration // current poll interval
	kodFloor  time.Duration // raised by KoD RATE
	roleFloor time.Duration // raised while the peers are only a cross-check
	next      time.Time     // next transmission
	lastSent  time.Time
	started   bool

	burstLeft int // iburst packets still to send after this one
	burstGot  int // valid replies during the current burst
	stable    int // good polls in a row
	unreach   int // silent polls in a row
	gotReply  bool

	// Transmissions since the last reply, and when the first of them went
	// out: how long the address has been silent, to decide when a server
	// name is worth looking up again.
	silent      int
	silentSince time.Time

	reach   uint8
	pending struct {
		xmt    ntp.Time
		sent   time.Time
		active bool
	}
	sentXmt  [burstN]ntp.Time // recent transmit timestamps, to tell late from bogus
	sentIdx  int
	accepted ntp.Time // origin of the last accepted reply

	filter clockFilter

	// The server's state from its last valid reply.
	leap      ntp.Leap
	stratum   uint8
	refID     ntp.RefID
	rootDelay time.Duration
	rootDisp  time.Duration
	lastRecv  time.Time
	kiss      ntp.RefID // last KoD acted upon, 0 if none
	denied    bool      // DENY or RSTR: stop

	localRefID ntp.RefID // the refid the server would give us, for loops

	// From the last selection.
	tally    byte
	note     string
	badSince time.Time // unreachable or falseticker since, zero if fine

	counts struct{ duplicate, late, bogus, kodIgnored uint64 }
}

func newAssoc(addr netip.AddrPort, typ byte, src Source, timeout, prec time.Duration) *assoc {
	minPoll, maxPoll := src.Polls()
	a := &assoc{
		addr: addr, name: formatAddr(addr), typ: typ, iburst: src.IBurst,
		minPoll: minPoll, maxPoll: maxPoll, timeout: timeout, prec: prec,
		poll: minPoll, filter: newClockFilter(), stratum: ntp.StratumUnsynchronised,
		leap: ntp.LeapNotInSync, tally: tallyUnusable,
	}
	return a
}

func formatAddr(ap netip.AddrPort) string {
	if ap.Port() == 123 {
		return ap.Addr().String()
	}
	return ap.String()
}

// pollInterval is the current interval between regular polls.
func (a *assoc) pollInterval() time.Duration { return max(a.poll, a.kodFloor, a.roleFloor) }

// setFloor sets the poll floor that the Set's role imposes and reschedules.
func (a *assoc) setFloor(d time.Duration) {
	a.roleFloor = d
	if a.started {
		a.schedule()
	}
}

// due returns when the next packet should go out; zero means now.
func (a *assoc) due() time.Time { return a.next }

// transmit records a request sent at now with transmit timestamp xmt and
// schedules the next one.
func (a *assoc) transmit(now time.Time, xmt ntp.Time) {
	if a.burstLeft > 0 {
		a.burstLeft--
	} else {
		// A regular poll.
		if a.started && !a.gotReply {
			a.stable = 0
			a.unreach++
			if a.unreach >= unreachN {
				a.poll = min(a.poll*2, a.maxPoll)
			}
		}
		if a.reach == 0 && a.iburst {
			a.burstLeft, a.burstGot = burstN-1, 0
		}
		a.gotReply = false
	}
	if a.started && a.reach&0x7 == 0 {
		a.filter.miss(now)
	}
	a.started = true
	a.reach <<= 1
	if a.silent == 0 {
		a.silentSince = now
	}
	a.silent++
	a.pending.xmt, a.pending.sent, a.pending.active = xmt, now, true
	a.sentXmt[a.sentIdx] = xmt
	a.sentIdx = (a.sentIdx + 1) % len(a.sentXmt)
	a.lastSent = now
	a.schedule()
}

func (a *assoc) schedule() {
	if a.burstLeft > 0 {
		a.next = a.lastSent.Add(min(iburstT, a.pollInterval()))
		return
	}
	a.next = a.lastSent.Add(a.pollInterval())
}

// receive processes a reply h that arrived at now.
func (a *assoc) receive(now time.Time, h *ntp.Header) recvResult {
	if h.Mode != ntp.ModeServer || h.Version < 1 || h.Version > 4 {
		a.counts.bogus++
		return recvBogus
	}
	if !a.pending.active || h.OrigTime != a.pending.xmt {
		switch {
		case h.OrigTime == a.accepted && !a.accepted.IsZero():
			a.counts.duplicate++
			return recvDuplicate
		case a.sentEarlier(h.OrigTime):
			a.counts.late++
			return recvLate
		}
		// Includes a KoD with an origin we never sent: spoofed, ignored.
		if _, kiss := h.IsKiss(); kiss {
			a.counts.kodIgnored++
		}
		a.counts.bogus++
		return recvBogus
	}
	if now.Sub(a.pending.sent) > a.timeout {
		a.pending.active = false
		a.counts.late++
		return recvLate
	}
	a.pending.active = false
	a.accepted = h.OrigTime
	sent := a.pending.sent

	if code, kiss := h.IsKiss(); kiss {
		switch code {
		case ntp.KissRATE:
			a.kiss = code
			a.kodFloor = min(a.pollInterval()*2, MaxPollLimit)
			a.burstLeft = 0
			a.schedule()
			return recvKoD
		case ntp.KissDENY, ntp.KissRSTR:
			a.kiss = code
			a.denied = true
			a.burstLeft = 0
			return recvKoD
		}
		// Other kiss codes are advisory; the packet carries no time.
		return recvNoSample
	}

	a.reach |= 1
	a.gotReply = true
	a.unreach = 0
	a.silent = 0
	a.leap, a.stratum, a.refID = h.Leap, h.Stratum, h.RefID
	a.rootDelay, a.rootDisp = h.RootDelay.Duration(), h.RootDispersion.Duration()
	a.lastRecv = now
	if h.Leap == ntp.LeapNotInSync || h.Stratum >= ntp.StratumUnsynchronised ||
		h.RecvTime.IsZero() || h.XmitTime.IsZero() ||
		a.rootDelay/2+a.rootDisp >= maxDisp {
		return recvNoSample
	}

	// RFC 5905 on-wire: T1 is when we sent (not the random timestamp that
	// went on the wire), T4 when the reply arrived.
	t1, t4 := ntp.TimeFrom(sent), ntp.TimeFrom(now)
	offset := (h.RecvTime.Sub(t1) + h.XmitTime.Sub(t4)) / 2
	delay := max(now.Sub(sent)-h.XmitTime.Sub(h.RecvTime), a.prec)
	disp := log2D(h.Precision) + a.prec + time.Duration(phi*float64(delay))
	a.filter.add(sample{offset: offset, delay: delay, disp: disp, t: now}, a.prec)

	if a.burstLeft > 0 {
		a.burstGot++
		if a.burstGot >= burstOK {
			a.burstLeft = 0
			a.schedule()
		}
	} else {
		a.stable++
		if a.stable >= stableN && a.poll < a.maxPoll {
			a.poll = min(a.poll*2, a.maxPoll)
			a.stable = 0
			a.schedule()
		}
	}
	return recvSample
}

func (a *assoc) sentEarlier(t ntp.Time) bool {
	if t.IsZero() {
		return false
	}
	for _, x := range a.sentXmt {
		if x == t {
			return true
		}
	}
	return false
}

// stale reports whether the association has gone unanswered long enough
// that its address may be out of date: its reach register has been empty
// for a full eight polls (the request in flight not counted), or its first
// unanswered request went out at least after ago.
func (a *assoc) stale(now time.Time, after time.Duration) bool {
	if a.reach != 0 || a.silent == 0 {
		return false
	}
	return a.silent > 8 || now.Sub(a.silentSince) >= after
}

// rootDist is RFC 5905's root distance at now: half the round trip to the
// primary source plus every dispersion and the jitter.
func (a *assoc) rootDist(now time.Time) time.Duration {
	age := max(now.Sub(a.filter.used), 0)
	return max(minDisp, a.rootDelay+a.filter.delay)/2 + a.rootDisp + a.filter.disp +
		time.Duration(phi*float64(age)) + a.filter.jitter
}

// usable says why the association cannot be a candidate, or "" if it can.
func (a *assoc) usable(now time.Time, maxDist time.Duration, own map[ntp.RefID]bool) string {
	switch {
	case a.denied:
		return "KoD " + kissName(a.kiss)
	case a.reach == 0:
		return "unreachable"
	case !a.filter.valid:
		if a.stratum >= ntp.StratumUnsynchronised || a.leap == ntp.LeapNotInSync {
			return "unsynchronised"
		}
		return "no sample"
	case a.stratum >= ntp.StratumUnsynchronised || a.leap == ntp.LeapNotInSync:
		return "unsynchronised"
	case a.stratum > 1 && (own[a.refID] || (a.localRefID != 0 && a.refID == a.localRefID)):
		return "loop"
	case a.rootDist(now) > maxDist:
		return "distance"
	}
	return ""
}

func kissName(r ntp.RefID) string {
	s, _ := r.ASCII()
	return s
}
