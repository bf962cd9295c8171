package server

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/ntp"
)

// ask sends one client request to addr and reports whether a reply came
// within wait.
func ask(t testing.TB, addr netip.AddrPort, wait time.Duration) bool {
	t.Helper()
	req := request(4, ntp.ModeClient, 48)
	binary.BigEndian.PutUint64(req[40:], uint64(ntp.TimeFrom(time.Now())))
	return exchange(t, addr, req, wait) != nil
}

// TestSetListen moves one of two addresses while a client asks the other
// throughout: every request to the kept address is answered, the new
// address answers before the old one stops, and the old one then stops.
func TestSetListen(t *testing.T) {
	r := startResponder(t, syncedState(), 2, []string{"127.0.0.1:0", "127.0.0.2:0"})
	addrs := r.Addrs()
	kept, old := addrs[0], addrs[1]
	if !ask(t, old, 2*time.Second) {
		t.Fatalf("%v does not answer before the change", old)
	}

	var asked, answered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5000; i++ { // bounded: about 10 s at most on a loaded machine
			select {
			case <-stop:
				return
			default:
			}
			asked.Add(1)
			if ask(t, kept, 2*time.Second) {
				answered.Add(1)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Let the client get going.
	for asked.Load() < 20 {
		time.Sleep(5 * time.Millisecond)
	}

	var bothAnswered, hookRan bool
	r.beforeRetire = func(added []netip.AddrPort) {
		hookRan = true
		bothAnswered = len(added) == 1 && ask(t, added[0], 2*time.Second) && ask(t, old, 2*time.Second)
	}
	added, removed, err := r.SetListen([]string{"127.0.0.1:0", "127.0.0.3:0"})
	if err != nil {
		t.Fatal(err)
	}
	if !hookRan || !bothAnswered {
		t.Errorf("the new address did not answer while the old one still did (hook ran: %v)", hookRan)
	}
	if len(added) != 1 || added[0].Addr() != netip.MustParseAddr("127.0.0.3") || !slices.Equal(removed, []netip.AddrPort{old}) {
		t.Fatalf("added %v, removed %v; want 127.0.0.3 added and %v removed", added, removed, old)
	}
	if got := r.Addrs(); !slices.Equal(got, []netip.AddrPort{kept, added[0]}) {
		t.Errorf("Addrs = %v, want %v", got, []netip.AddrPort{kept, added[0]})
	}
	if !ask(t, added[0], 2*time.Second) {
		t.Errorf("%v does not answer after the change", added[0])
	}
	deadline := time.Now().Add(5 * time.Second)
	for ask(t, old, 200*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v still answers 5 s after it was removed", old)
		}
	}

	// Keep the client going a little past the change, then stop it.
	n := asked.Load()
	for asked.Load() < n+20 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if answered.Load() != asked.Load() {
		t.Errorf("%d of %d requests to the kept address answered across the change, want all", answered.Load(), asked.Load())
	}

	// The totals keep the removed sockets' counts.
	want := uint64(asked.Load() + 4)
	deadline = time.Now().Add(2 * time.Second)
	for r.Counters().Answered < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := r.Counters(); c.Answered < want {
		t.Errorf("Counters().Answered = %d after the change, want at least %d", c.Answered, want)
	}
}

// TestSetListenFailureKeepsAddresses: a new address that cannot be bound
// leaves every running address as it was.
func TestSetListenFailureKeepsAddresses(t *testing.T) {
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	before := r.Addrs()
	for _, listen := range [][]string{
		{"192.0.2.1:0"}, // not an address of this machine
		{"127.0.0.1:0", "192.0.2.1:0"},
		{"not an address"},
		nil,
	} {
		if _, _, err := r.SetListen(listen); err == nil {
			t.Errorf("SetListen(%q) succeeded", listen)
		}
		if got := r.Addrs(); !slices.Equal(got, before) {
			t.Errorf("after SetListen(%q) failed: Addrs = %v, want %v", listen, got, before)
		}
		if !ask(t, before[0], 2*time.Second) {
			t.Errorf("after SetListen(%q) failed: %v does not answer", listen, before[0])
		}
	}
}

// TestSetListenBeforeRun: before Listen the new set is simply what Listen
// will open; between Listen and Run the sockets change at once.
func TestSetListenBeforeRun(t *testing.T) {
	r, err := New(Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, syncedState())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.SetListen([]string{"127.0.0.2:0"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	if a := r.Addrs(); len(a) != 1 || a[0].Addr() != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("Addrs = %v, want 127.0.0.2", a)
	}
	added, removed, err := r.SetListen([]string{"127.0.0.3:0"})
	if err != nil || len(added) != 1 || len(removed) != 1 {
		t.Fatalf("SetListen: added %v removed %v err %v", added, removed, err)
	}
	r.mu.Lock()
	for _, l := range r.listeners {
		for _, w := range l.workers {
			w.close()
		}
	}
	r.mu.Unlock()
}
