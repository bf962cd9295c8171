package peer

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"stratum1/ntp"
)

func TestAssocPollFloor(t *testing.T) {
	a := testAssoc(false, 64*time.Second, 1024*time.Second)
	exchange(a, t0, 1, 0)
	a.setFloor(1024 * time.Second)
	if got := a.due().Sub(t0); got != 1024*time.Second {
		t.Errorf("next poll in %v with a 1024 s floor", got)
	}
	a.setFloor(0)
	if got := a.due().Sub(t0); got != 64*time.Second {
		t.Errorf("next poll in %v after the floor is lifted", got)
	}
}

// failingResolver fails every lookup and records when it was asked.
type failingResolver struct {
	mu    sync.Mutex
	calls []time.Time
}

func (r *failingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, time.Now())
	return nil, errors.New("SERVFAIL")
}

func (r *failingResolver) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.calls...)
}

func TestDNSRetryBacksOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Servers = []Source{{Address: "ntp.invalid"}}
	cfg.Pools = []Source{{Address: "pool.invalid"}}
	res := &failingResolver{}
	s, err := New(cfg, Options{Resolver: res, DNSRetry: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	s.Run(ctx)
	calls := res.times()
	// The server retries after 40, 80, 160, 320, 640 ms: 6 lookups in
	// 1.5 s; the pool, checking each second, at most 2 more. A fixed
	// retry would have made about 37 each.
	if len(calls) < 5 || len(calls) > 9 {
		t.Errorf("%d lookups in 1.5 s, want about 6 with a doubling backoff", len(calls))
	}
	rows := s.Peers(nil)
	if len(rows) != 1 || rows[0].RefID != ".POOL." || rows[0].Note != "SERVFAIL" {
		t.Errorf("rows %+v, want the pool row with the DNS error", rows)
	}
	if sel := s.Selection(); sel.OK {
		t.Errorf("selection OK with no peers: %+v", sel)
	}
}

func TestSelectionFromAssocs(t *testing.T) {
	// Drive three associations by hand and check what the Set publishes.
	s, err := New(DefaultConfig(), Options{Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	offsets := map[string]time.Duration{"192.0.2.1:123": 2 * ms, "192.0.2.2:123": 3 * ms, "192.0.2.3:1123": 2 * time.Second}
	for addr, off := range offsets {
		a := newAssoc(netip.MustParseAddrPort(addr), 'u', Source{MinPoll: 64 * time.Second}, 2*time.Second, time.Microsecond)
		now := t0.Add(time.Hour - 10*time.Minute)
		for i := range 8 {
			exchange(a, now, ntp.Time(i+1), off)
			now = a.due()
		}
		s.assocs = append(s.assocs, a)
	}
	sel := s.Selection()
	if !sel.OK || sel.Survivors != 2 || len(sel.TrueChimers) != 2 {
		t.Fatalf("selection %+v", sel)
	}
	if sel.Offset > -2*ms || sel.Offset < -3*ms {
		t.Errorf("offset %v, want between -3 and -2 ms (system clock minus peers)", sel.Offset)
	}
	if sel.Stratum != 2 || sel.RefID != ntp.RefIDFromAddr(sel.Addr) || sel.Leap != ntp.LeapNone {
		t.Errorf("stratum %d refid %v leap %v", sel.Stratum, sel.RefID, sel.Leap)
	}
	rows := map[string]string{}
	for _, r := range s.Peers(nil) {
		rows[r.Name] = r.Tally + r.Note
	}
	if rows["192.0.2.3:1123"] != "xfalseticker" || rows["192.0.2.1"] == "" || rows["192.0.2.1"][0] == 'x' {
		t.Errorf("rows %v", rows)
	}

	// A loop: the own refid excludes the peer that reports it.
	for _, a := range s.assocs {
		a.refID = ntp.RefIDFromAddr(netip.MustParseAddr("198.51.100.1"))
	}
	s.SetOwnRefIDs(ntp.RefIDFromAddr(netip.MustParseAddr("198.51.100.1")))
	if sel := s.Selection(); sel.OK {
		t.Errorf("selected peers that are synchronised to us: %+v", sel)
	}
}
