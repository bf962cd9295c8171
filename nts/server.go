package nts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Counters are the NTS totals since the server started.
type Counters struct {
	KESessions    uint64 // NTS-KE exchanges that got cookies
	KEErrors      uint64 // NTS-KE connections that failed or got an Error record
	KERefused     uint64 // connections closed at once: too many sessions
	CookiesIssued uint64 // cookies sent, by NTS-KE and in NTP replies
	Requests      uint64 // NTS-protected NTP requests answered
	NAKs          uint64 // NTS NAKs sent (cookie or authenticator rejected)
	Dropped       uint64 // NTS requests dropped as malformed
}

type counters struct {
	keSessions, keErrors, keRefused, cookies, requests, naks, dropped atomic.Uint64
}

// Server is an NTS-KE server and the NTS extension-field processor of the
// NTP responder.
type Server struct {
	cfg     Config
	log     *slog.Logger
	keys    *keyring
	aeads   *aeadCache
	certs   certStore
	tls     *tls.Config
	ntpPort atomic.Int32
	sem     chan struct{}
	c       counters

	mu sync.Mutex
	ln net.Listener
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// New loads the certificate and the master keys of cfg. ntpPort is the port
// the NTP responder serves on, announced to clients when cfg.NTPPort is 0.
func New(cfg Config, ntpPort int, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("nts: %w", err)
	}
	if !cfg.Enabled() {
		return nil, errors.New("nts: no listen address")
	}
	s := &Server{cfg: cfg, log: slog.Default(), sem: make(chan struct{}, cfg.MaxSessions)}
	s.SetNTPPort(ntpPort)
	for _, o := range opts {
		o(s)
	}
	s.certs = certStore{certFile: cfg.Cert, keyFile: cfg.Key}
	if err := s.certs.load(); err != nil {
		return nil, err
	}
	keys, err := openKeyring(cfg.StateDir, cfg.KeepKeys, time.Now())
	if err != nil {
		return nil, err
	}
	s.keys = keys
	s.aeads = newAEADCache()
	s.tls = &tls.Config{
		MinVersion:     tls.VersionTLS13,
		NextProtos:     []string{alpn},
		GetCertificate: s.certs.get,
	}
	return s, nil
}

// SetNTPPort sets the port announced to clients (when the configuration
// names none): the one the responder actually bound.
func (s *Server) SetNTPPort(port int) {
	if s.cfg.NTPPort != 0 {
		port = s.cfg.NTPPort
	}
	s.ntpPort.Store(int32(port))
}

// ReloadCertificate re-reads the certificate and key files; on error the
// one in use stays. Sessions in progress keep theirs.
func (s *Server) ReloadCertificate() error { return s.certs.load() }

// FillStatus writes the counters into m (the status model's NTS map).
func (s *Server) FillStatus(m map[string]uint64) {
	c := s.Counters()
	m["ke_sessions"], m["ke_errors"], m["ke_refused"] = c.KESessions, c.KEErrors, c.KERefused
	m["cookies_issued"], m["requests"], m["naks"], m["dropped"] = c.CookiesIssued, c.Requests, c.NAKs, c.Dropped
}

// Counters returns the totals.
func (s *Server) Counters() Counters {
	return Counters{
		KESessions:    s.c.keSessions.Load(),
		KEErrors:      s.c.keErrors.Load(),
		KERefused:     s.c.keRefused.Load(),
		CookiesIssued: s.c.cookies.Load(),
		Requests:      s.c.requests.Load(),
		NAKs:          s.c.naks.Load(),
		Dropped:       s.c.dropped.Load(),
	}
}

// Listen opens the NTS-KE socket; Run calls it when it has not been.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("nts: listen: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr returns the NTS-KE address listened on, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves NTS-KE and rotates the master keys until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	s.log.Info("serving NTS-KE", "addr", ln.Addr(), "ntp_port", s.ntpPort.Load())
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { s.rotateLoop(ctx) })
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// EMFILE and the like: back off rather than spin.
			s.log.Warn("nts-ke accept", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.c.keRefused.Add(1)
			conn.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-s.sem }()
			s.serveKE(ctx, conn)
		})
	}
}

// rotateLoop makes a new master key every KeyRotation, counted from the
// newest key's creation, so that restarts do not postpone rotation.
func (s *Server) rotateLoop(ctx context.Context) {
	for {
		next := time.Until(s.keys.current().created.Add(s.cfg.KeyRotation))
		if next <= 0 {
			if err := s.keys.rotate(time.Now()); err != nil {
				s.log.Error("nts master key rotation", "err", err)
				next = time.Minute
			} else {
				s.log.Info("nts master key rotated", "id", fmt.Sprintf("%08x", s.keys.current().id))
				continue
			}
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
