package server

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/ntp"
	"stratum1/status"
)

// syncedState is a stratum-1 state that vouches for the system clock.
func syncedState() *atomic.Pointer[ntp.ServerState] {
	var p atomic.Pointer[ntp.ServerState]
	p.Store(&ntp.ServerState{
		Leap: ntp.LeapNone, Stratum: 1, Precision: -20, RefID: ntp.RefGPS,
		RootDispersion: 5 * time.Microsecond, RefTime: time.Now(),
	})
	return &p
}

// startResponder runs a responder on loopback ports until the test ends.
func startResponder(t testing.TB, state ntp.StateSource, workers int, listen []string, opts ...Option) *Responder {
	t.Helper()
	opts = append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	r, err := New(Config{Listen: listen, Workers: workers}, state, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

// exchange sends req to addr and returns the reply (nil on timeout).
func exchange(t testing.TB, addr netip.AddrPort, req []byte, wait time.Duration) []byte {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func TestResponderServesV4AndV6(t *testing.T) {
	state := syncedState()
	r := startResponder(t, state, 2, []string{"127.0.0.1:0", "[::1]:0"})
	addrs := r.Addrs()
	if len(addrs) != 2 || addrs[0].Port() == 0 || addrs[1].Port() == 0 {
		t.Fatalf("Addrs = %v", addrs)
	}
	const rounds = 20
	for _, a := range addrs {
		for i := 0; i < rounds; i++ {
			req := request(4, ntp.ModeClient, 48)
			t1 := time.Now()
			binary.BigEndian.PutUint64(req[40:], uint64(ntp.TimeFrom(t1))+uint64(i))
			resp := exchange(t, a, req, 2*time.Second)
			t4 := time.Now()
			if resp == nil {
				t.Fatalf("%v: no reply", a)
			}
			if len(resp) != replyLen {
				t.Fatalf("%v: reply of %d bytes", a, len(resp))
			}
			var h ntp.Header
			_ = h.Decode(resp)
			if h.Mode != ntp.ModeServer || h.Version != 4 || h.Stratum != 1 || h.RefID != ntp.RefGPS || h.Leap != ntp.LeapNone {
				t.Fatalf("%v: reply %v", a, &h)
			}
			if h.OrigTime != ntp.Time(binary.BigEndian.Uint64(req[40:])) {
				t.Fatalf("origin %#x does not echo transmit %#x", h.OrigTime, binary.BigEndian.Uint64(req[40:]))
			}
			t2, t3 := h.RecvTime.Near(t1), h.XmitTime.Near(t1)
			// The kernel stamps the request after t1 and the reply leaves
			// before t4: the server's times lie inside the client's.
			slack := time.Microsecond // NTP fraction rounding
			if t2.Before(t1.Add(-slack)) || t3.Before(t2) || t3.After(t4.Add(slack)) {
				t.Fatalf("%v: times out of order: t1 %v t2 %v t3 %v t4 %v", a, t1, t2, t3, t4)
			}
		}
	}
	// Counters are published per batch, after the send.
	deadline := time.Now().Add(2 * time.Second)
	for r.Counters().Answered < 2*rounds && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c := r.Counters()
	if c.Received != 2*rounds || c.Answered != 2*rounds || c.DroppedTotal() != 0 {
		t.Fatalf("counters %+v", c)
	}
	var s status.Server
	r.FillStatus(&s)
	if s.Received != 2*rounds || s.Dropped["mode"] != 0 || len(s.KoD) != 3 {
		t.Fatalf("status %+v", s)
	}
}

func TestResponderUnsynchronised(t *testing.T) {
	var state atomic.Pointer[ntp.ServerState]
	state.Store(ntp.Unsynchronised(-20))
	r := startResponder(t, &state, 1, []string{"127.0.0.1:0"})
	resp := exchange(t, r.Addrs()[0], request(4, ntp.ModeClient, 48), 2*time.Second)
	var h ntp.Header
	if err := h.Decode(resp); err != nil {
		t.Fatal(err)
	}
	if h.Leap != ntp.LeapNotInSync || h.Stratum != 0 {
		t.Fatalf("unsynchronised reply %v", &h)
	}
	// Publishing a synchronised state takes effect with the next packet.
	state.Store(&ntp.ServerState{Stratum: 1, RefID: ntp.RefPPS, RefTime: time.Now()})
	_ = h.Decode(exchange(t, r.Addrs()[0], request(4, ntp.ModeClient, 48), 2*time.Second))
	if h.Leap != ntp.LeapNone || h.Stratum != 1 || h.RefID != ntp.RefPPS {
		t.Fatalf("after sync: %v", &h)
	}
}

type echoControl struct{ calls atomic.Int64 }

func (e *echoControl) HandleControl(req []byte, src netip.AddrPort) [][]byte {
	e.calls.Add(1)
	return [][]byte{append([]byte(nil), req...)}
}

func TestResponderSwapHooks(t *testing.T) {
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	a := r.Addrs()[0]
	ctl := request(2, ntp.ModeControl, 12)
	if resp := exchange(t, a, ctl, 200*time.Millisecond); resp != nil {
		t.Fatalf("mode 6 answered without a control handler: %x", resp)
	}
	e := &echoControl{}
	r.SetControl(e)
	if resp := exchange(t, a, ctl, 2*time.Second); len(resp) != len(ctl) || e.calls.Load() != 1 {
		t.Fatalf("control handler: reply %x, calls %d", resp, e.calls.Load())
	}
	r.SetPolicy(&fixedPolicy{v: KissRate})
	var h ntp.Header
	if err := h.Decode(exchange(t, a, request(4, ntp.ModeClient, 48), 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if code, ok := h.IsKiss(); !ok || code != ntp.KissRATE {
		t.Fatalf("after SetPolicy(RATE): %v", &h)
	}
	r.SetPolicy(nil)
	_ = h.Decode(exchange(t, a, request(4, ntp.ModeClient, 48), 2*time.Second))
	if h.Stratum != 1 {
		t.Fatalf("after SetPolicy(nil): %v", &h)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if err := (Config{Listen: []string{"0.0.0.0:123"}, HWTimestamp: []string{"eth0", "*"}}).Validate(); err != nil {
		t.Fatalf("hwtimestamp: %v", err)
	}
	bad := []Config{
		{},
		{Listen: []string{"localhost:123"}},
		{Listen: []string{"0.0.0.0"}},
		{Listen: []string{"0.0.0.0:123", "0.0.0.0:123"}},
		{Listen: []string{"[fe80::1%eth0]:123"}},
		{Listen: []string{"0.0.0.0:123"}, Workers: -1},
		{Listen: []string{"0.0.0.0:123"}, Coalesce: -time.Microsecond},
		{Listen: []string{"0.0.0.0:123"}, Coalesce: 2 * time.Millisecond},
		{Listen: []string{"0.0.0.0:123"}, HWTimestamp: []string{""}},
		{Listen: []string{"0.0.0.0:123"}, HWTimestamp: []string{"an-interface-name-too-long"}},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
