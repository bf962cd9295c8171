package peer

import (
	"slices"
	"testing"
	"time"

	"stratum1/internal/proctest"
)

// assocOf returns the association polling addr, or nil.
func assocOf(s *Set, name string) *assoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.assocs {
		if a.name == name {
			return a
		}
	}
	return nil
}

func reachOf(s *Set, name string) uint8 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.assocs {
		if a.name == name {
			return a.reach
		}
	}
	return 0
}

// TestReconfigure: a server kept across a reconfiguration keeps its
// association and its filter's samples; a removed server and pool go, with
// their rows; a new server starts polling; a bad configuration changes
// nothing.
func TestReconfigure(t *testing.T) {
	t.Parallel()
	keptAP, _ := kodServer(t, "127.0.0.21", 0)
	goneAP, _ := kodServer(t, "127.0.0.22", 0)
	newAP, _ := kodServer(t, "127.0.0.23", 0)
	kept, gone, added := fastSource(keptAP.String()), fastSource(goneAP.String()), fastSource(newAP.String())

	cfg := DefaultConfig()
	cfg.Servers = []Source{kept, gone}
	cfg.Pools = []Source{{Address: "pool.invalid"}}
	s := startSet(t, cfg, Options{Resolver: &failingResolver{}, DNSRetry: time.Hour})
	proctest.Eventually(t, 10*time.Second, 50*time.Millisecond, "both servers reached", func() bool {
		return reachOf(s, keptAP.String()) != 0 && reachOf(s, goneAP.String()) != 0
	})
	before := assocOf(s, keptAP.String())

	// A bad configuration is refused whole.
	bad := cfg
	bad.Servers = []Source{added, {Address: ""}}
	if _, _, err := s.Reconfigure(bad); err == nil {
		t.Fatal("Reconfigure accepted a server without an address")
	}
	if assocOf(s, newAP.String()) != nil || assocOf(s, goneAP.String()) == nil {
		t.Fatal("a refused configuration changed the associations")
	}

	next := cfg
	next.Servers = []Source{added, kept}
	next.Pools = nil
	next.MaxDistance = 2 * time.Second
	a, r, err := s.Reconfigure(next)
	if err != nil {
		t.Fatal(err)
	}
	wantAdded := []string{"server " + newAP.String()}
	wantRemoved := []string{"server " + goneAP.String(), "pool pool.invalid"}
	if !slices.Equal(a, wantAdded) || !slices.Equal(r, wantRemoved) {
		t.Errorf("added %q removed %q, want %q and %q", a, r, wantAdded, wantRemoved)
	}
	if after := assocOf(s, keptAP.String()); after != before {
		t.Error("the kept server's association was replaced")
	} else if reachOf(s, keptAP.String()) == 0 {
		t.Error("the kept server's reach was reset")
	}
	rows := rowsByName(s)
	if _, ok := rows[goneAP.String()]; ok {
		t.Errorf("the removed server is still listed: %v", rows)
	}
	if _, ok := rows["pool.invalid"]; ok {
		t.Errorf("the removed pool is still listed: %v", rows)
	}
	proctest.Eventually(t, 10*time.Second, 50*time.Millisecond, "new server reached", func() bool {
		return reachOf(s, newAP.String()) != 0
	})
	s.mu.Lock()
	maxDist := s.cfg.MaxDistance
	s.mu.Unlock()
	if maxDist != 2*time.Second {
		t.Errorf("max_distance %v after the reconfiguration, want 2s", maxDist)
	}

	// The removed server is no longer polled: its association is gone for
	// good.
	time.Sleep(2500 * time.Millisecond)
	if assocOf(s, goneAP.String()) != nil {
		t.Error("the removed server came back")
	}
}
