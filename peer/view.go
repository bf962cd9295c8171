package peer

import (
	"math"
	"time"

	"stratum1/ntp"
	"stratum1/status"
)

// reselectLocked runs selection over every association at now and caches
// the outcome for Selection and Peers.
func (s *Set) reselectLocked(now time.Time) {
	var cands []candidate
	var idx []*assoc
	prev := -1
	for _, a := range s.assocs {
		if note := a.usable(now, s.cfg.MaxDistance, s.own); note != "" {
			a.tally, a.note = tallyUnusable, note
			continue
		}
		if a == s.sysPeer {
			prev = len(idx)
		}
		idx = append(idx, a)
		cands = append(cands, candidate{offset: a.filter.offset, rootDist: a.rootDist(now),
			jitter: a.filter.jitter, stratum: a.stratum})
	}
	r := selectPeers(cands, prev)
	for i, a := range idx {
		a.tally, a.note = r.tally[i], ""
		switch a.tally {
		case tallyFalse:
			a.note = "falseticker"
		case tallyOutlier:
			a.note = "outlier"
		}
	}
	for _, a := range s.assocs {
		if a.note == "" && a.kodFloor > 0 {
			a.note = "KoD RATE"
		}
		bad := a.denied || a.reach == 0 || a.tally == tallyFalse
		switch {
		case !bad:
			a.badSince = time.Time{}
		case a.badSince.IsZero():
			a.badSince = now
		}
	}
	if !r.ok {
		s.sel, s.sysPeer = Selection{}, nil
		return
	}
	sys := idx[r.sys]
	s.sysPeer = sys
	sel := Selection{
		OK:        true,
		Offset:    -r.offset,
		Jitter:    r.jitter,
		Peer:      sys.name,
		Addr:      sys.addr.Addr(),
		Stratum:   sys.stratum,
		RefID:     ntp.RefIDFromAddr(sys.addr.Addr()),
		RootDelay: sys.rootDelay + sys.filter.delay,
	}
	pj, sj := sys.filter.jitter.Seconds(), r.jitter.Seconds()
	sel.RootDispersion = sys.rootDisp + sys.filter.disp + time.Duration(phi*float64(max(now.Sub(sys.filter.used), 0))) +
		seconds(math.Sqrt(pj*pj+sj*sj))
	var leaps [4]int
	for i, a := range idx {
		switch r.tally[i] {
		case tallySys, tallyCand:
			sel.Survivors++
			leaps[a.leap]++
			if a.filter.used.After(sel.Updated) {
				sel.Updated = a.filter.used
			}
			fallthrough
		case tallyOutlier:
			sel.TrueChimers = append(sel.TrueChimers, -a.filter.offset)
		}
	}
	for l, n := range leaps {
		if 2*n > sel.Survivors {
			sel.Leap = ntp.Leap(l)
		}
	}
	s.sel = sel
}

// Selection returns the current verdict, recomputed at the present time so
// that silent peers age out even between samples.
func (s *Set) Selection() Selection {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reselectLocked(s.opts.Now())
	sel := s.sel
	sel.TrueChimers = append([]time.Duration(nil), sel.TrueChimers...)
	return sel
}

// Peers appends one row per association, and one per pool entry, to dst.
// Offsets follow ntpq: the peer's clock minus ours.
func (s *Set) Peers(dst []status.Peer) []status.Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.reselectLocked(now)
	for _, p := range s.pools {
		note := p.dnsErr
		if note == "" && p.resolved == 0 {
			note = "resolving"
		}
		dst = append(dst, status.Peer{Name: p.src.Address, Tally: string(tallyUnusable), RefID: ".POOL.",
			Stratum: ntp.StratumUnsynchronised, Type: "p", Leap: ntp.LeapNotInSync.String(), Note: note})
	}
	for _, a := range s.assocs {
		row := status.Peer{
			Name:    a.name,
			Tally:   string(a.tally),
			RefID:   a.refID.Format(a.stratum),
			Stratum: a.stratum,
			Type:    string(a.typ),
			Poll:    a.pollInterval(),
			Reach:   a.reach,
			Leap:    a.leap.String(),
			Note:    a.note,
		}
		if a.lastRecv.IsZero() {
			row.RefID = ".INIT."
		} else {
			row.When = max(now.Sub(a.lastRecv), 0)
		}
		if a.denied {
			row.RefID = "." + kissName(a.kiss) + "."
		}
		if a.filter.valid {
			row.Delay, row.Offset, row.Jitter = a.filter.delay, a.filter.offset, a.filter.jitter
			row.RootDist = a.rootDist(now)
		}
		dst = append(dst, row)
	}
	return dst
}
