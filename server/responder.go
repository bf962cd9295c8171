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

	mu      sync.Mutex
	workers []*worker
	addrs   []netip.AddrPort
	shared  []sharedCounters
	running bool
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
	if r.workers != nil {
		return nil
	}
	addrs, err := r.cfg.addrs()
	if err != nil {
		return err
	}
	n := r.cfg.Workers
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	r.h.hw = openHW(r.cfg.HWTimestamp, r.log)
	var ws []*worker
	var bound []netip.AddrPort
	for _, ap := range addrs {
		for i := 0; i < n; i++ {
			w, err := listen(ap, &r.h, r.log, r.cfg.Coalesce)
			if err != nil {
				if i == 0 && skippable(ap, err) {
					r.log.Warn("not serving on address", "addr", ap, "err", err)
					break
				}
				for _, w := range ws {
					w.close()
				}
				r.closeHW()
				return fmt.Errorf("listen on %v: %w", ap, err)
			}
			if i == 0 {
				ap = w.local // the port the kernel picked, for the others
				bound = append(bound, ap)
			}
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		r.closeHW()
		return errors.New("server: no address could be listened on")
	}
	r.shared = make([]sharedCounters, len(ws))
	for i, w := range ws {
		w.shared = &r.shared[i]
	}
	r.workers, r.addrs = ws, bound
	return nil
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
	return append([]netip.AddrPort(nil), r.addrs...)
}

// Run serves until ctx is done, then closes every socket. It returns nil
// after a cancellation and the first socket error otherwise. On Linux each
// worker is a goroutine locked to its thread and blocked in the kernel
// between batches; Run raises GOMAXPROCS by the number of workers while it
// runs, so that they do not hold the Ps the rest of the program runs on.
func (r *Responder) Run(ctx context.Context) error {
	if err := r.Listen(); err != nil {
		return err
	}
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("server: already running")
	}
	r.running = true
	ws := r.workers
	r.mu.Unlock()

	r.log.Info("serving NTP", "addrs", r.Addrs(), "sockets", len(ws))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer reserveProcs(len(ws))()
	if hw := r.h.hw; hw != nil {
		hwDone := make(chan struct{})
		go func() { hw.run(ctx); close(hwDone) }()
		defer func() { cancel(); <-hwDone }()
	}
	errc := make(chan error, len(ws))
	for _, w := range ws {
		go func() { errc <- w.serve() }()
	}
	var first error
	stop := func() {
		cancel()
		for _, w := range ws {
			w.close()
		}
	}
	done := ctx.Done()
	for remaining := len(ws); remaining > 0; {
		select {
		case <-done:
			stop()
			done = nil
		case err := <-errc:
			remaining--
			if err != nil && first == nil && ctx.Err() == nil {
				first = err
				stop()
				done = nil
			}
		}
	}
	return first
}

// Counters returns the totals over every socket.
func (r *Responder) Counters() Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	var c Counters
	for i := range r.shared {
		l := r.shared[i].load()
		c.add(&l)
	}
	return c
}

// FillStatus writes the responder's counters into the status model.
func (r *Responder) FillStatus(s *status.Server) { r.Counters().Fill(s) }
