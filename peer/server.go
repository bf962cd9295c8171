package peer

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// runServer resolves a server entry, retrying with backoff, and polls it.
// A server given by name is looked up again while its association stays
// unreachable, as ntpd and chrony do, so that a server that moved to a new
// address is followed without a restart.
func (s *Set) runServer(ctx context.Context, e *entry) {
	src := e.src
	host, port, _ := SplitHostPort(src.Address)
	if ip, err := netip.ParseAddr(host); err == nil {
		s.poll(ctx, s.addServer(netip.AddrPortFrom(ip.Unmap(), port), e))
		return
	}

	var (
		cur   *assoc
		stop  func() // cancels cur's polling and waits for it to end
		retry = s.opts.DNSRetry
		next  time.Time // no lookup before this
	)
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	start := func(a *assoc) {
		actx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.poll(actx, a)
		}()
		cur, stop = a, func() { cancel(); <-done }
	}

	for {
		now := s.opts.Now()
		want := cur == nil
		if cur != nil {
			s.mu.Lock()
			reachable, stale := cur.reach != 0, cur.stale(now, s.cfg.PoolReplaceAfter)
			s.mu.Unlock()
			if reachable {
				// A new outage starts the backoff afresh.
				retry, next = s.opts.DNSRetry, time.Time{}
			}
			want = stale
		}
		if want && !now.Before(next) {
			addrs, err := s.opts.Resolver.LookupNetIP(ctx, "ip", host)
			if ctx.Err() != nil {
				return
			}
			if err == nil && len(addrs) == 0 {
				err = errors.New("no addresses")
			}
			now = s.opts.Now()
			first := cur == nil
			switch {
			case err != nil:
				s.dnsLog(retry)("cannot resolve server", "server", src.Address, "err", err, "retry", retry)
			case cur == nil:
				start(s.addServer(netip.AddrPortFrom(addrs[0].Unmap(), port), e))
			default:
				if ap, ok := s.freshAddr(addrs, port, cur); ok {
					old := cur.name
					stop()
					s.mu.Lock()
					s.removeLocked(cur)
					s.mu.Unlock()
					start(s.addServer(ap, e))
					s.log.Info("server moved to a new address", "server", src.Address,
						"from", old, "to", cur.name, "reason", "unreachable")
				} else {
					s.log.Debug("server unreachable, no other address", "server", src.Address, "retry", retry)
				}
			}
			// Whatever the outcome, the next lookup waits (a first
			// success aside): a dead server must not turn into a stream
			// of DNS queries, nor of fresh associations with their iburst.
			if err == nil && first {
				retry, next = s.opts.DNSRetry, time.Time{}
			} else {
				next = now.Add(retry)
				retry = min(retry*2, dnsMax)
			}
		}
		wait := time.Second
		if want {
			wait = min(wait, max(next.Sub(now), time.Millisecond))
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// freshAddr picks the first address that neither cur nor another
// association uses.
func (s *Set) freshAddr(addrs []netip.Addr, port uint16, cur *assoc) (netip.AddrPort, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ip := range addrs {
		ap := netip.AddrPortFrom(ip.Unmap(), port)
		if ap != cur.addr && !s.hasAddrLocked(ap.Addr(), port) {
			return ap, true
		}
	}
	return netip.AddrPort{}, false
}

// addServer adds a server association at ap.
func (s *Set) addServer(ap netip.AddrPort, e *entry) *assoc {
	a := newAssoc(ap, 'u', e.src, s.opts.ReplyTimeout, log2D(s.opts.Precision))
	a.owner = e
	s.mu.Lock()
	defer s.mu.Unlock()
	a.setFloor(s.floor)
	s.assocs = append(s.assocs, a)
	return a
}
