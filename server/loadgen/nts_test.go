package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/ntp"
	"stratum1/nts"
	"stratum1/server"
)

// TestRunNTS loads the responder with NTS-protected requests on one
// cookie: every one is answered with an authenticated reply no longer than
// the request, and the sampled authenticators check.
func TestRunNTS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := nts.SelfSigned(nil, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := nts.DefaultConfig()
	cfg.Listen, cfg.Cert, cfg.Key = "127.0.0.1:0", filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(cfg.Cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.Key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ns, err := nts.New(cfg, 0, nts.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	var state atomic.Pointer[ntp.ServerState]
	state.Store(&ntp.ServerState{Stratum: 1, RefID: ntp.RefGPS, RefTime: time.Now()})
	r, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, &state,
		server.WithLogger(log), server.WithExtensions(ns))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := ns.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	go ns.Run(ctx)

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	kctx, kcancel := context.WithTimeout(ctx, 10*time.Second)
	defer kcancel()
	sess, err := nts.KeyExchange(kctx, ns.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, Config{Target: r.Addrs()[0], Rate: 1000, Duration: 300 * time.Millisecond, Sockets: 2, NTS: sess}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 200 || rep.Loss() > 0.02 || rep.Bogus != 0 || rep.Oversized != 0 || len(rep.KoD) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.NTSChecked < rep.Answered/20 {
		t.Fatalf("%d of %d authenticators checked", rep.NTSChecked, rep.Answered)
	}
	if c := ns.Counters(); c.Requests < rep.Answered || c.NAKs != 0 || c.KESessions != 1 {
		t.Fatalf("NTS counters %+v, client answered %d", c, rep.Answered)
	}
}
