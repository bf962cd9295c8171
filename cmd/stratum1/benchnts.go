package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"stratum1/nts"
)

// ntsBenchFlags are bench's NTS flags: NTS-KE once, then a cookie per
// request; or, with --ke-only, NTS-KE handshakes as fast as they go.
type ntsBenchFlags struct {
	ke, ca, name string
	keOnly       bool
}

func (f *ntsBenchFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.ke, "nts-ke", "", "NTS-KE server `HOST:PORT`: send NTS-protected requests (NTS-KE once, then its cookie on each)")
	fs.StringVar(&f.ca, "nts-ca", "", "PEM `file` of the certificate to trust for NTS-KE (default: the system's roots)")
	fs.StringVar(&f.name, "nts-name", "", "name to verify the NTS-KE certificate against (default: the --nts-ke host)")
	fs.BoolVar(&f.keOnly, "ke-only", false, "with --nts-ke: measure NTS-KE handshakes per second instead (--sockets in parallel, for --duration)")
}

func (f *ntsBenchFlags) tlsConfig() (*tls.Config, error) {
	host, _, err := net.SplitHostPort(f.ke)
	if err != nil {
		return nil, fmt.Errorf("--nts-ke %q: %w", f.ke, err)
	}
	cfg := &tls.Config{ServerName: host}
	if f.name != "" {
		cfg.ServerName = f.name
	}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--nts-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--nts-ca %s: no certificate in it", f.ca)
		}
	}
	return cfg, nil
}

// session runs NTS-KE once.
func (f *ntsBenchFlags) session(ctx context.Context) (*nts.Session, error) {
	cfg, err := f.tlsConfig()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return nts.KeyExchange(ctx, f.ke, cfg)
}

// keRate runs complete NTS-KE exchanges from parallel clients for dur and
// prints how many finished per second.
func (f *ntsBenchFlags) keRate(ctx context.Context, parallel int, dur time.Duration, stdout io.Writer) error {
	cfg, err := f.tlsConfig()
	if err != nil {
		return err
	}
	if dur <= 0 || dur > 10*time.Minute || parallel < 1 || parallel > 1024 {
		return errors.New("--ke-only: duration (0, 10m] and sockets 1 to 1024")
	}
	end := time.Now().Add(dur)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var ok, failed atomic.Uint64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				kctx, kcancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := nts.KeyExchange(kctx, f.ke, cfg)
				kcancel()
				switch {
				case err == nil:
					ok.Add(1)
				case ctx.Err() == nil && time.Now().Before(end):
					// (One cut short by the end of the run is no failure.)
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Fprintf(stdout, "NTS-KE %s: %d exchanges in %v (%.0f/s) from %d parallel clients, %d failed",
		f.ke, ok.Load(), el.Round(time.Millisecond), float64(ok.Load())/el.Seconds(), parallel, failed.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(stdout, " (first: %s)", e)
	}
	fmt.Fprintln(stdout)
	return nil
}
