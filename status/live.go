package status

import (
	"context"
	"errors"
	"net"
	"sync"
)

// LiveServer is the status server of a running daemon: its [http] settings
// change at run time, a new listen address included (the new socket serves
// before the old one closes, and the old one's requests in flight finish).
type LiveServer struct {
	h *Handler

	mu     sync.Mutex
	listen string // as configured
	cur    *serving
	ctx    context.Context // Run's, once it runs
	failed chan error      // the first serving error
	wg     sync.WaitGroup  // every Serve, old addresses' included
}

type serving struct {
	ln     *limitListener
	cancel context.CancelFunc
}

// NewLiveServer serves h on ln (bound for cfg.Listen) once Run runs, with
// cfg's connection cap, host names and position precision.
func NewLiveServer(ln net.Listener, cfg HTTPConfig, h *Handler) *LiveServer {
	h.Configure(cfg)
	return &LiveServer{
		h: h, listen: cfg.Listen, failed: make(chan error, 1),
		cur: &serving{ln: LimitListener(ln, cfg.MaxConnections).(*limitListener)},
	}
}

// Run serves until ctx is done or the listener fails.
func (s *LiveServer) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ctx != nil {
		s.mu.Unlock()
		return errors.New("status server: Run called twice")
	}
	s.ctx = ctx
	s.startLocked(s.cur)
	s.mu.Unlock()
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.failed:
	}
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	cur.cancel()
	s.wg.Wait()
	return err
}

func (s *LiveServer) startLocked(sv *serving) {
	ctx, cancel := context.WithCancel(s.ctx)
	sv.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := Serve(ctx, sv.ln, s.h); err != nil && ctx.Err() == nil {
			select {
			case s.failed <- err:
			default:
			}
		}
	}()
}

// Addr is the address served on.
func (s *LiveServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.ln.Addr()
}

// Reconfigure applies a new [http] section: host names, position precision
// and the connection cap at once; a new listen address is bound, served,
// and only then the old socket closed. When the new address cannot be
// bound, the old one stays and the error says why; the other settings are
// applied all the same. It reports whether the address changed. A
// section without a listen address (the server off) is not for
// Reconfigure: it takes a restart.
func (s *LiveServer) Reconfigure(cfg HTTPConfig) (moved bool, err error) {
	if err := cfg.Validate(); err != nil {
		return false, err
	}
	if cfg.Listen == "" {
		return false, errors.New("status server: cannot be switched off without a restart")
	}
	s.h.Configure(cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.ln.setMax(cfg.MaxConnections)
	if cfg.Listen == s.listen {
		return false, nil
	}
	ln, err := Listen(cfg.Listen)
	if err != nil {
		return false, err
	}
	next := &serving{ln: LimitListener(ln, cfg.MaxConnections).(*limitListener)}
	old := s.cur
	s.cur, s.listen = next, cfg.Listen
	if s.ctx == nil {
		old.ln.Close()
		return true, nil
	}
	s.startLocked(next)
	// The new socket accepts from here on; the old one finishes what it
	// has in flight (Serve's shutdown) and closes.
	old.cancel()
	return true, nil
}
