package server

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// listener is one configured listen address and its workers' sockets.
type listener struct {
	want    netip.AddrPort // as configured
	addr    netip.AddrPort // as bound: the port the kernel picked for port 0
	workers []*worker
}

// runState is what Run shares with SetListen while it runs.
type runState struct {
	wg    sync.WaitGroup
	once  sync.Once
	first error
	fail  func(error) // records a worker's error and stops Run
}

// startLocked starts a goroutine per worker, with GOMAXPROCS raised by
// their number until the last of them returns.
func (r *Responder) startLocked(ws []*worker) {
	if len(ws) == 0 {
		return
	}
	rs := r.run
	release := reserveProcs(len(ws))
	var left atomic.Int32
	left.Store(int32(len(ws)))
	for _, w := range ws {
		rs.wg.Add(1)
		go func() {
			defer rs.wg.Done()
			err := w.serve()
			r.finished(w)
			if left.Add(-1) == 0 {
				release()
			}
			rs.fail(err)
		}()
	}
}

// finished folds a removed worker's counters into the totals once it has
// sent its last reply.
func (r *Responder) finished(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.Index(r.draining, w); i >= 0 {
		l := w.shared.load()
		r.retired.add(&l)
		r.draining = slices.Delete(r.draining, i, i+1)
	}
}

// SetListen changes the addresses served, safely while Run runs (a
// configuration reload). Addresses that stay keep their sockets and
// workers untouched. New addresses are bound, and their workers started,
// before the sockets of removed ones are closed; a removed address's
// workers finish the batch in hand. When a new address cannot be bound,
// nothing changes and the error says why. It returns the addresses added
// (as bound) and removed.
func (r *Responder) SetListen(listen []string) (added, removed []netip.AddrPort, err error) {
	cfg := r.cfg
	cfg.Listen = listen
	want, err := cfg.addrs()
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listeners == nil {
		// Not listening yet: Listen will open the new set.
		r.cfg.Listen = slices.Clone(listen)
		return nil, nil, nil
	}
	have := make(map[netip.AddrPort]*listener, len(r.listeners))
	for _, l := range r.listeners {
		have[l.want] = l
	}
	var fresh []netip.AddrPort
	for _, ap := range want {
		if have[ap] == nil {
			fresh = append(fresh, ap)
		}
	}
	opened, err := r.openLocked(fresh)
	if err != nil {
		return nil, nil, err
	}
	byWant := make(map[netip.AddrPort]*listener, len(opened))
	for _, l := range opened {
		byWant[l.want] = l
	}
	var next []*listener
	for _, ap := range want {
		if l := have[ap]; l != nil {
			next = append(next, l)
			delete(have, ap)
		} else if l := byWant[ap]; l != nil {
			next = append(next, l)
		}
	}
	if len(next) == 0 {
		for _, l := range opened {
			for _, w := range l.workers {
				w.close()
			}
		}
		return nil, nil, errors.New("server: no address could be listened on")
	}
	var ws []*worker
	for _, l := range opened {
		ws = append(ws, l.workers...)
		added = append(added, l.addr)
	}
	if r.run != nil {
		r.startLocked(ws)
	}
	// The new sockets are bound and queue requests from here on: only
	// now may the old ones go.
	if r.beforeRetire != nil {
		r.beforeRetire(added)
	}
	for _, l := range r.listeners {
		if have[l.want] != l {
			continue
		}
		removed = append(removed, l.addr)
		for _, w := range l.workers {
			if r.run != nil {
				r.draining = append(r.draining, w)
				w.retire()
			} else {
				w.close()
				c := w.shared.load()
				r.retired.add(&c)
			}
		}
	}
	r.listeners = next
	r.cfg.Listen = slices.Clone(listen)
	if len(added)+len(removed) > 0 {
		r.log.Info("listen addresses changed", "added", added, "removed", removed, "addrs", addrsOf(next))
	}
	return added, removed, nil
}

func addrsOf(ls []*listener) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.addr.String()
	}
	return out
}
