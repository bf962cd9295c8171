package appliance

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"stratum1/config"
	"stratum1/discipline"
	"stratum1/internal/loglevel"
	"stratum1/peer"
)

// TestReload: a reload applies what it can, names what needs a restart,
// says nothing when nothing changed, and refuses a bad section whole.
func TestReload(t *testing.T) {
	cfg := config.Default()
	cfg.Server.Listen = []string{"127.0.0.1:0"}
	cfg.Server.Workers = 1
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.GPS.Device, cfg.PPS.Device, cfg.PPS.Pin = "", "", ""
	cfg.Discipline.DriftFile, cfg.Discipline.LeapFile = "", ""
	log, level := loglevel.NewLogger(io.Discard, "info")
	a, err := New(Options{
		Config: cfg, Logger: log, LogLevel: level,
		Hardware: Hardware{Clock: &discipline.SystemClock{NoAdjust: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return")
		}
	}()
	for a.HTTPURL() == "" || !a.serving() {
		time.Sleep(10 * time.Millisecond)
	}
	addrs := a.resp.Addrs()

	bad := cfg
	bad.Access.Default = "bogus"
	bad.Server.Listen = []string{"127.0.0.2:0"}
	if _, _, err := a.Reload(bad); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("Reload of a bad [access]: %v, want an error naming the value", err)
	}
	if got := a.resp.Addrs(); !slices.Equal(got, addrs) {
		t.Errorf("a refused reload moved the listen addresses from %v to %v", addrs, got)
	}

	if applied, restart, err := a.Reload(cfg); err != nil || len(applied)+len(restart) > 0 {
		t.Errorf("the same configuration again: applied %q, restart %q, err %v", applied, restart, err)
	}

	next := cfg
	next.Server.Listen = []string{"127.0.0.2:0"}
	next.Server.Workers = 2
	next.Log.Level = "debug"
	next.Discipline.DriftFile = "/nonexistent/drift"
	next.Discipline.HoldoverLimit = time.Hour
	next.Peers.Servers = []peer.Source{{Address: "192.0.2.1"}}
	next.HTTP.Listen = "127.0.0.3:0"
	applied, restart, err := a.Reload(next)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(applied, "\n")
	for _, want := range []string{"server.listen", "log.level debug", "discipline", "http.listen http://127.0.0.3:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("applied %q, want it to name %q", applied, want)
		}
	}
	joined = strings.Join(restart, "\n")
	for _, want := range []string{"server.workers", "discipline.drift_file", "peers"} {
		if !strings.Contains(joined, want) {
			t.Errorf("restart %q, want it to name %q", restart, want)
		}
	}
	if got := a.resp.Addrs(); len(got) != 1 || got[0].Addr() != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("listening on %v, want 127.0.0.2", got)
	}
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("the log level is not debug after the reload")
	}
	if !strings.HasPrefix(a.HTTPURL(), "http://127.0.0.3:") {
		t.Errorf("status URL %s, want 127.0.0.3", a.HTTPURL())
	}
}

// serving reports whether Run has started the status server.
func (a *Appliance) serving() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.httpSrv != nil
}
