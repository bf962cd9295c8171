package peer

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/internal/proctest"
	"stratum1/ntp"
)

func TestAssocStale(t *testing.T) {
	a := testAssoc(false, 64*time.Second, 1024*time.Second)
	const after = time.Hour
	now := t0
	if a.stale(now, after) {
		t.Fatal("stale before the first poll")
	}
	exchange(a, now, 1, 0)
	// Eight silent polls empty the register; the ninth request is the
	// first one sent with eight unanswered behind it.
	for i := range 9 {
		now = a.due()
		a.transmit(now, ntp.Time(100+i))
		if got, want := a.stale(now, after), i == 9-1; got != want {
			t.Errorf("after %d silent polls (reach %08b): stale %v, want %v", i+1, a.reach, got, want)
		}
	}
	// One reply makes it fresh again.
	exchange(a, a.due(), 2, 0)
	if a.stale(a.due(), after) {
		t.Error("stale after a reply")
	}

	// A server that never answers and polls slowly is stale after `after`.
	b := testAssoc(false, 1024*time.Second, 1024*time.Second)
	b.transmit(t0, 1)
	b.transmit(b.due(), 2)
	if b.stale(t0.Add(after-time.Second), after) || !b.stale(t0.Add(after), after) {
		t.Errorf("silent since %v: stale at the wrong time", b.silentSince)
	}
}

// TestServerFollowsNewAddress: a server name first resolves to an address
// where nothing answers; once its DNS record points at a live server, the
// association moves there and becomes reachable, with one lookup for the
// move and no stream of queries.
func TestServerFollowsNewAddress(t *testing.T) {
	t.Parallel()
	live, _ := kodServer(t, "127.0.0.12", 0)
	port := live.Port()
	var moved atomic.Bool
	var queries atomic.Int32
	dnsAddr := dnsServer(t, "moving.test.", func() []string {
		queries.Add(1)
		if moved.Load() {
			return []string{"127.0.0.12"}
		}
		return []string{"127.0.0.11"}
	})
	cfg := DefaultConfig()
	cfg.Servers = []Source{fastSource(fmt.Sprintf("moving.test.:%d", port))}
	cfg.PoolReplaceAfter = 3 * time.Second
	s := startSet(t, cfg, Options{Resolver: testResolver(dnsAddr), DNSRetry: 500 * time.Millisecond,
		ReplyTimeout: 500 * time.Millisecond})

	dead, alive := fmt.Sprintf("127.0.0.11:%d", port), live.String()
	proctest.Eventually(t, 10*time.Second, 200*time.Millisecond, "the association with the dead address", func() bool {
		_, ok := rowsByName(s)[dead]
		return ok
	})
	moved.Store(true)
	proctest.Eventually(t, 20*time.Second, 200*time.Millisecond, "the association moved and reachable", func() bool {
		rows := rowsByName(s)
		_, old := rows[dead]
		r, ok := rows[alive]
		return !old && ok && r.Reach != 0 && r.Type == "u" && r.Stratum == 1
	})
	if rows := s.Peers(nil); len(rows) != 1 {
		t.Errorf("rows %+v, want the one server", rows)
	}
	// The go resolver asks for A and AAAA: two queries per lookup. The
	// first lookup, one or two that found only the dead address, one that
	// found the new one.
	if n := queries.Load(); n > 2*4 {
		t.Errorf("%d DNS queries, want at most 4 lookups", n)
	}
	// Reachable now: no more lookups.
	n := queries.Load()
	time.Sleep(2 * time.Second)
	if m := queries.Load(); m != n {
		t.Errorf("%d more DNS queries while the server answers", m-n)
	}
}

// stuckResolver always answers with the same address.
type stuckResolver struct {
	addr  netip.Addr
	mu    sync.Mutex
	calls []time.Time
}

func (r *stuckResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, time.Now())
	return []netip.Addr{r.addr}, nil
}

// TestServerReresolveBacksOff: a name that keeps pointing at a dead address
// is looked up again with a doubling interval, and the association is kept
// (no fresh association, no fresh iburst, for the same address).
func TestServerReresolveBacksOff(t *testing.T) {
	t.Parallel()
	res := &stuckResolver{addr: netip.MustParseAddr("127.0.0.13")}
	cfg := DefaultConfig()
	cfg.Servers = []Source{fastSource("stuck.test:" + fmt.Sprint(proctest.FreePort(t, "127.0.0.1")))}
	cfg.PoolReplaceAfter = time.Second
	s, err := New(cfg, Options{Resolver: res, DNSRetry: 250 * time.Millisecond, ReplyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	var first *assoc
	go func() {
		time.Sleep(500 * time.Millisecond)
		s.mu.Lock()
		if len(s.assocs) == 1 {
			first = s.assocs[0]
		}
		s.mu.Unlock()
	}()
	s.Run(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.assocs) != 1 || s.assocs[0] != first || first == nil {
		t.Errorf("associations %v, want the first one kept", s.assocs)
	}
	res.mu.Lock()
	calls := res.calls
	res.mu.Unlock()
	// The first lookup at 0, stale at about 1 s, then retries after 250,
	// 500, 1000, 2000 ms: about 6 in 6 s. A fixed retry would be 20.
	if len(calls) < 4 || len(calls) > 8 {
		t.Errorf("%d lookups in 6 s, want about 6 with a doubling backoff", len(calls))
	}
	for i := 2; i+1 < len(calls); i++ {
		if d1, d2 := calls[i].Sub(calls[i-1]), calls[i+1].Sub(calls[i]); d2 < d1*3/2 {
			t.Errorf("lookup gaps %v then %v: not backing off", d1, d2)
		}
	}
}
