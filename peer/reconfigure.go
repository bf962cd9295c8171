package peer

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// entry is one configured server or pool and the goroutine that runs it.
type entry struct {
	typ    byte // 'u' server, 'p' pool
	src    Source
	pool   *poolState         // for a pool
	cancel context.CancelFunc // set once started
	done   chan struct{}      // closed when its goroutine has ended
}

func (e *entry) String() string {
	if e.typ == 'p' {
		return "pool " + e.src.Address
	}
	return "server " + e.src.Address
}

// entriesOf lists cfg's servers, then its pools, as entries not yet made.
func entriesOf(cfg Config) []entry {
	var es []entry
	for _, src := range cfg.Servers {
		es = append(es, entry{typ: 'u', src: src})
	}
	for _, src := range cfg.Pools {
		es = append(es, entry{typ: 'p', src: src})
	}
	return es
}

// newEntries makes the entries, with their pools' DNS state.
func (s *Set) newEntries(es []entry) []*entry {
	out := make([]*entry, 0, len(es))
	for _, e := range es {
		e := &entry{typ: e.typ, src: e.src}
		if e.typ == 'p' {
			host, port, _ := SplitHostPort(e.src.Address)
			e.pool = &poolState{src: e.src, host: host, port: port,
				dropped: map[netip.Addr]time.Time{}, retry: s.opts.DNSRetry}
		}
		out = append(out, e)
	}
	return out
}

// startLocked starts e's goroutine under Run's context.
func (s *Set) startLocked(e *entry) {
	ctx, cancel := context.WithCancel(s.run)
	e.cancel, e.done = cancel, make(chan struct{})
	s.wg.Go(func() {
		defer close(e.done)
		if e.typ == 'p' {
			s.runPool(ctx, e)
		} else {
			s.runServer(ctx, e)
		}
	})
}

// Reconfigure applies a new [peers] section, safely while Run runs (a
// configuration reload). Servers and pools that are in both the old and the
// new configuration, with the same settings, keep their associations and
// the samples in their clock filters; the others are stopped and their
// associations removed, and new ones start polling. The plain parameters
// (max_distance, pool_replace_after, ...) apply from the next decision that
// reads them. It returns the entries added and removed, as "server ADDR" or
// "pool NAME".
func (s *Set) Reconfigure(cfg Config) (added, removed []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("peers: %w", err)
	}
	s.mu.Lock()
	old := s.entries
	var next, gone []*entry
	for _, want := range entriesOf(cfg) {
		i := slices.IndexFunc(old, func(e *entry) bool { return e.typ == want.typ && e.src == want.src })
		if i >= 0 {
			next = append(next, old[i])
			old = slices.Delete(slices.Clone(old), i, i+1)
			continue
		}
		e := s.newEntries([]entry{want})[0]
		next = append(next, e)
		added = append(added, e.String())
		if s.run != nil {
			s.startLocked(e)
		}
	}
	gone = old
	for _, e := range gone {
		removed = append(removed, e.String())
	}
	s.entries = next
	s.pools = s.pools[:0:0]
	for _, e := range next {
		if e.pool != nil {
			s.pools = append(s.pools, e.pool)
		}
	}
	s.cfg = cfg
	s.mu.Unlock()

	// Stop the removed entries outside the lock (their goroutines take
	// it), then drop what they were polling.
	for _, e := range gone {
		if e.cancel != nil {
			e.cancel()
			<-e.done
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(gone) > 0 {
		s.assocs = slices.DeleteFunc(s.assocs, func(a *assoc) bool { return slices.Contains(gone, a.owner) })
		if s.sysPeer != nil && slices.Contains(gone, s.sysPeer.owner) {
			s.sysPeer = nil
		}
	}
	s.reselectLocked(s.opts.Now())
	if len(added)+len(removed) > 0 {
		s.log.Info("peers reconfigured", "added", added, "removed", removed)
	}
	return added, removed, nil
}
