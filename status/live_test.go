package status_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"stratum1/status"
	"stratum1/status/statustest"
)

// TestLiveServerReconfigure: a new listen address serves before the old
// one closes; hosts apply at once; a bad address keeps the old one.
func TestLiveServerReconfigure(t *testing.T) {
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), nil)
	cfg := status.DefaultHTTPConfig()
	cfg.Listen = "127.0.0.1:0"
	ln, err := status.Listen(cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	s := status.NewLiveServer(ln, cfg, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()
	old := s.Addr().String()
	if code, _ := getHost(t, old, "localhost"); code != 200 {
		t.Fatalf("before: status %d", code)
	}

	// A name the box does not know is refused until [http] hosts has it.
	if code, _ := getHost(t, old, "ntp.home.arpa"); code == 200 {
		t.Fatal("an unknown Host was served")
	}
	cfg.Hosts = []string{"ntp.home.arpa"}
	if moved, err := s.Reconfigure(cfg); err != nil || moved {
		t.Fatalf("hosts only: moved %v, err %v", moved, err)
	}
	if code, _ := getHost(t, old, "ntp.home.arpa"); code != 200 {
		t.Errorf("after adding the host name: status %d, want 200", code)
	}

	// Taken address: the old one stays.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := cfg
	bad.Listen = busy.Addr().String()
	if _, err := s.Reconfigure(bad); err == nil {
		t.Error("Reconfigure onto a taken port succeeded")
	}
	if code, _ := getHost(t, old, "localhost"); code != 200 || s.Addr().String() != old {
		t.Errorf("after a failed move: status %d on %s, server on %s", code, old, s.Addr())
	}

	cfg.Listen = "127.0.0.2:0"
	if moved, err := s.Reconfigure(cfg); err != nil || !moved {
		t.Fatalf("move: moved %v, err %v", moved, err)
	}
	now := s.Addr().String()
	if code, _ := getHost(t, now, "localhost"); code != 200 {
		t.Errorf("new address %s: status %d", now, code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", old, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("old address %s still accepts 5 s after the move", old)
		}
		time.Sleep(20 * time.Millisecond)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if resp, err := client.Get("http://" + now + "/api/status"); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
	}
}
