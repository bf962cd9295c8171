package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"stratum1/ntp"
	"stratum1/status"
)

// Responder answers NTP client requests on the configured addresses with the
// state published by the discipline.
type Responder struct {
	cfg Config
	log *slog.Logger
	h   handler

	mu        sync.Mutex // guards the fields below and r.cfg.Listen
	listeners []*listener
	draining  []*worker // removed by SetListen, finishing their batch
	retired   Counters  // totals of the workers that have finished
	run       *runState // set while Run runs
	ran       bool
	// beforeRetire, set by tests, runs in SetListen between starting the
	// new addresses' workers and retiring the removed ones.
	beforeRetire func(added []netip.AddrPort)
}

// Option configures a Responder.
type Option func(*Responder)

// WithPolicy sets the access policy (nil serves everyone).
func WithPolicy(p Policy) Option { return func(r *Responder) { r.SetPolicy(p) } }

// WithControl sets the mode 6 handler (nil drops mode 6).
func WithControl(c Control) Option { return func(r *Responder) { r.SetControl(c) } }

// WithExtensions sets the handler of requests with extension fields (NTS).
func WithExtensions(e Extensions) Option { return func(r *Responder) { r.SetExtensions(e) } }

// WithClock serves the clock that f maps system-clock readings to, instead
// of the system clock: receive and transmit timestamps are taken from the
// kernel and by the system clock as usual, then mapped. The simulator uses it.
func WithClock(f func(sys time.Time) time.Time) Option {
	return func(r *Responder) { r.h.serveTime = f }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Responder) { r.log = l } }

// New returns a responder for cfg that reads what it serves from state per
// packet. It opens no socket until Listen or Run.
func New(cfg Config, state ntp.StateSource, opts ...Option) (*Responder, error) {
	if state == nil {
		return nil, errors.New("server: nil state source")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Responder{cfg: cfg, log: slog.Default()}
	r.h.state = state
	r.h.xleave = newXleaveTable(xleaveBuckets)
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// SetPolicy replaces the access policy; workers pick it up with their next
// packet. It is safe to call while the responder runs (config reload).
func (r *Responder) SetPolicy(p Policy) { r.h.policy.Store(&policyBox{p}) }

// SetControl replaces the mode 6 handler, safely while running.
func (r *Responder) SetControl(c Control) { r.h.control.Store(&controlBox{c}) }

// SetExtensions replaces the handler of requests with extension fields, nil
// to answer them with a plain reply as before; safe while running.
func (r *Responder) SetExtensions(e Extensions) {
	if e == nil {
		r.h.ext.Store(nil)
		return
	}
	r.h.ext.Store(&extBox{e})
}

// Listen opens every socket: Workers per configured address, sharing the
// port with SO_REUSEPORT. A port of 0 picks a free one, the same for all
// workers of that address. Run calls Listen when it has not been called.
func (r *Responder) Listen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listeners != nil {
		return nil
	}
	addrs, err := r.cfg.addrs()
	if err != nil {
		return err
	}
	r.h.hw = openHW(r.cfg.HWTimestamp, r.log)
	ls, err := r.openLocked(addrs)
	if err != nil {
		r.closeHW()
		return err
	}
	if len(ls) == 0 {
		r.closeHW()
		return errors.New("server: no address could be listened on")
	}
	r.listeners = ls
	return nil
}

// openLocked binds Workers sockets on each of addrs. An address that
// cannot be listened on fails the whole call, its sockets closed, except
// the IPv6 wildcard on a host without IPv6, which is logged and skipped.
func (r *Responder) openLocked(addrs []netip.AddrPort) ([]*listener, error) {
	n := r.cfg.Workers
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	var ls []*listener
	fail := func(err error) ([]*listener, error) {
		for _, l := range ls {
			for _, w := range l.workers {
				w.close()
			}
		}
		return nil, err
	}
	for _, want := range addrs {
		l := &listener{want: want, addr: want}
		for i := 0; i < n; i++ {
			w, err := listen(l.addr, &r.h, r.log, r.cfg.Coalesce)
			if err != nil {
				if i == 0 && skippable(want, err) {
					r.log.Warn("not serving on address", "addr", want, "err", err)
					break
				}
				ls = append(ls, l) // so that fail closes its sockets
				return fail(fmt.Errorf("listen on %v: %w", want, err))
			}
			if i == 0 {
				l.addr = w.local // the port the kernel picked, for the others
			}
			w.shared = new(sharedCounters)
			l.workers = append(l.workers, w)
		}
		if len(l.workers) > 0 {
			ls = append(ls, l)
		}
	}
	return ls, nil
}

// closeHW releases the hardware timestamping set up by a Listen that
// failed.
func (r *Responder) closeHW() {
	if r.h.hw != nil {
		r.h.hw.close()
		r.h.hw = nil
	}
}

// Addrs returns the addresses listened on, with the ports actually bound.
func (r *Responder) Addrs() []netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]netip.AddrPort, 0, len(r.listeners))
	for _, l := range r.listeners {
		out = append(out, l.addr)
	}
	return out
}

// Run serves until ctx is done, then closes every socket. It returns nil
// after a cancellation and the first socket error otherwise. On Linux each
// worker is a goroutine blocked in the kernel between batches, in raw
// system calls that keep its thread and its P; Run raises GOMAXPROCS by the number of workers while it
// runs, so that they do not hold the Ps the rest of the program runs on.
// SetListen may add and remove workers while Run runs.
func (r *Responder) Run(ctx context.Context) error {
	if err := r.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs := &runState{}
	rs.fail = func(err error) {
		if err != nil && ctx.Err() == nil {
			rs.once.Do(func() { rs.first = err })
			cancel()
		}
	}
	r.mu.Lock()
	if r.run != nil || r.ran {
		r.mu.Unlock()
		return errors.New("server: already running")
	}
	r.run, r.ran = rs, true
	var ws []*worker
	for _, l := range r.listeners {
		ws = append(ws, l.workers...)
	}
	r.startLocked(ws)
	r.mu.Unlock()

	r.log.Info("serving NTP", "addrs", r.Addrs(), "sockets", len(ws))
	if hw := r.h.hw; hw != nil {
		hwDone := make(chan struct{})
		go func() { hw.run(ctx); close(hwDone) }()
		defer func() { cancel(); <-hwDone }()
	}
	<-ctx.Done()
	r.mu.Lock()
	r.run = nil
	for _, l := range r.listeners {
		for _, w := range l.workers {
			w.close()
		}
	}
	for _, w := range r.draining {
		w.close()
	}
	r.mu.Unlock()
	rs.wg.Wait()
	return rs.first
}

// Counters returns the totals over every socket, those closed by SetListen
// included.
func (r *Responder) Counters() Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.retired
	add := func(w *worker) {
		l := w.shared.load()
		c.add(&l)
	}
	for _, l := range r.listeners {
		for _, w := range l.workers {
			add(w)
		}
	}
	for _, w := range r.draining {
		add(w)
	}
	return c
}

// FillStatus writes the responder's counters into the status model.
func (r *Responder) FillStatus(s *status.Server) { r.Counters().Fill(s) }
