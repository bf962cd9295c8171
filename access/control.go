package access

import (
	"net/netip"
	"time"
)

// ControlUnitBytes is how many bytes of mode 6 (ntpq) answer cost as much
// of a client's rate-limit budget as one time request. A mode 6 answer is
// many times its request (a 12-byte READVAR fetches some 360 bytes), so it
// is charged by size: 360 bytes cost 1.2 time requests, a full 11 KiB
// answer 37. A time reply is 48 bytes, but charging mode 6 at that rate
// would put one `ntpq -p` (about 350 bytes per association) far beyond the
// default burst of eight; at 300 bytes, ntpq -p on a box with GPS, PPS and
// four servers fits that burst, while a client repeating READVARs back to
// back is answered about six times and then once per ten seconds.
const ControlUnitBytes = 300

// controlOverLimit reports whether src, allowed to query, is over its rate
// limit: its mode 6 request is dropped before anything is rendered. It
// charges nothing; AdmitControl charges the answer once its size is known.
func (p *Policy) controlOverLimit(src netip.Addr, now int64) bool {
	if !p.controlLimited(src) {
		return false
	}
	hi, lo := key(src, p.c.v4Bits, p.c.v6Bits)
	s, e, evicted := p.tab.lookup(hi, lo, now)
	if evicted {
		p.count.evicted.Add(1)
	}
	over := e.tat-now > int64(p.c.tolerance)
	s.mu.Unlock()
	return over
}

// controlLimited reports whether mode 6 from src is rate limited: wherever
// its time requests are, that is unless limiting is off or a rule makes the
// client unlimited.
func (p *Policy) controlLimited(src netip.Addr) bool {
	return p.c.limit && p.action(src) != actUnlimited
}

// AdmitControl charges src's bucket for a mode 6 answer of replyBytes (all
// its fragments) and reports whether it may be sent: false when the bucket
// is already over the limit, as after earlier large answers. Clients the
// rate limit does not apply to are always admitted. It makes the control
// handler share the time requests' rate limiter (control.Limiter).
func (p *Policy) AdmitControl(src netip.Addr, replyBytes int, now time.Time) bool {
	src = src.Unmap()
	if !p.controlLimited(src) {
		return true
	}
	t := now.UnixNano()
	hi, lo := key(src, p.c.v4Bits, p.c.v6Bits)
	s, e, evicted := p.tab.lookup(hi, lo, t)
	if evicted {
		p.count.evicted.Add(1)
	}
	tat := max(e.tat, t)
	if tat-t > int64(p.c.tolerance) {
		s.mu.Unlock()
		p.count.limited.Add(1)
		return false
	}
	e.tat = tat + controlCost(p.c.interval, replyBytes)
	s.mu.Unlock()
	return true
}

// controlCost is the bucket time an answer of replyBytes takes: interval
// per ControlUnitBytes, and at least what a 48-byte time reply costs at
// that rate.
func controlCost(interval time.Duration, replyBytes int) int64 {
	return int64(interval) * int64(max(replyBytes, 48)) / ControlUnitBytes
}

// AdmitControl applies the current policy; without one, every answer may
// be sent.
func (r *Reloadable) AdmitControl(src netip.Addr, replyBytes int, now time.Time) bool {
	if p := r.p.Load(); p != nil {
		return p.AdmitControl(src, replyBytes, now)
	}
	return true
}
