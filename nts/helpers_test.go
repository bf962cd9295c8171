package nts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCert writes a self-signed certificate for 127.0.0.1 and returns the
// file paths and a pool trusting it.
func testCert(t testing.TB, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM, err := SelfSigned([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, roots
}

func testConfig(t testing.TB) (Config, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	cf, kf, roots := testCert(t, dir)
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Cert, cfg.Key = cf, kf
	cfg.StateDir = filepath.Join(dir, "state")
	return cfg, roots
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer runs a server for cfg until the test ends.
func startServer(t testing.TB, cfg Config, ntpPort int) *Server {
	t.Helper()
	s, err := New(cfg, ntpPort, WithLogger(quietLog()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

func clientTLS(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

func keyExchange(t testing.TB, s *Server, roots *x509.CertPool) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := KeyExchange(ctx, s.Addr().String(), clientTLS(roots))
	if err != nil {
		t.Fatal(err)
	}
	return sess
}
