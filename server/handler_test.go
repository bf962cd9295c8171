package server

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/ntp"
)

var (
	testNow   = time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	testSrc   = netip.MustParseAddrPort("192.0.2.10:40123")
	testState = &ntp.ServerState{
		Leap: ntp.LeapNone, Stratum: 1, Precision: -23, RefID: ntp.RefPPS,
		RootDelay: 0, RootDispersion: 10 * time.Microsecond, RefTime: testNow.Add(-100 * time.Second),
	}
)

func newTestHandler(st *ntp.ServerState) *handler {
	var p atomic.Pointer[ntp.ServerState]
	p.Store(st)
	return &handler{state: &p}
}

// request builds a client request of the given version, mode and length,
// with a recognisable transmit timestamp.
func request(version uint8, mode ntp.Mode, n int) []byte {
	b := make([]byte, n)
	if n > 0 {
		b[0] = version<<3 | byte(mode)
	}
	if n >= ntp.HeaderLen {
		b[2] = 6
		binary.BigEndian.PutUint64(b[40:], 0x0123456789abcdef)
	}
	return b
}

func extField(typ uint16, n int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b, typ)
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	return b
}

func TestHandleReply(t *testing.T) {
	for v := uint8(1); v <= 4; v++ {
		h := newTestHandler(testState)
		var c Counters
		out := make([]byte, replyLen)
		if o := h.handle(request(v, ntp.ModeClient, 48), testSrc, testNow, out, &c); o != outReply {
			t.Fatalf("v%d: outcome %d, want reply", v, o)
		}
		var r ntp.Header
		if err := r.Decode(out); err != nil {
			t.Fatal(err)
		}
		want := ntp.Header{
			Leap: ntp.LeapNone, Version: v, Mode: ntp.ModeServer, Stratum: 1, Poll: 6, Precision: -23,
			RootDelay: 0, RootDispersion: ntp.ShortCeil(10*time.Microsecond + 1500*time.Microsecond),
			RefID: ntp.RefPPS, RefTime: ntp.TimeFrom(testState.RefTime),
			OrigTime: 0x0123456789abcdef, RecvTime: ntp.TimeFrom(testNow),
		}
		if r != want {
			t.Errorf("v%d reply\n got %v\nwant %v", v, &r, &want)
		}
		if c.Received != 1 || c.Answered != 1 || c.DroppedTotal() != 0 {
			t.Errorf("counters %+v", c)
		}
	}
}

// TestHandleModes: chronyd answers a symmetric active request with a
// symmetric passive reply and keeps no association, and answers an NTPv1
// request (no mode field: mode 0) as a client's.
func TestHandleModes(t *testing.T) {
	tests := []struct {
		name     string
		req      []byte
		wantMode ntp.Mode
	}{
		{"v4 client", request(4, ntp.ModeClient, 48), ntp.ModeServer},
		{"v4 symmetric active", request(4, ntp.ModeSymmetricActive, 48), ntp.ModeSymmetricPassive},
		{"v3 symmetric active", request(3, ntp.ModeSymmetricActive, 48), ntp.ModeSymmetricPassive},
		{"v1 no mode", request(1, ntp.ModeReserved, 48), ntp.ModeServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(testState)
			pol := &fixedPolicy{v: Serve}
			h.policy.Store(&policyBox{pol})
			var c Counters
			out := make([]byte, replyLen)
			if o := h.handle(tt.req, testSrc, testNow, out, &c); o != outReply {
				t.Fatalf("outcome %d, want a reply", o)
			}
			var r ntp.Header
			if err := r.Decode(out); err != nil {
				t.Fatal(err)
			}
			v := tt.req[0] >> 3
			if r.Mode != tt.wantMode || r.Version != v || r.Stratum != 1 || r.OrigTime != 0x0123456789abcdef {
				t.Errorf("reply %v: want mode %d, version %d, stratum 1, the request's transmit time", &r, tt.wantMode, v)
			}
			if pol.calls.Load() != 1 || c.Answered != 1 {
				t.Errorf("policy calls %d, counters %+v: want one checked and answered", pol.calls.Load(), c)
			}
		})
	}
}

// TestHandleRootDispersionRoundsUp: an error bound goes out rounded up, so
// a few microseconds are never 0 on the wire.
func TestHandleRootDispersionRoundsUp(t *testing.T) {
	for _, disp := range []time.Duration{300 * time.Nanosecond, 5800 * time.Nanosecond, 15259 * time.Nanosecond} {
		st := *testState
		st.RootDispersion = disp
		st.Updated, st.DispersionRate = testNow, 1e-6
		h := newTestHandler(&st)
		var c Counters
		out := make([]byte, replyLen)
		h.handle(request(4, ntp.ModeClient, 48), testSrc, testNow, out, &c)
		var r ntp.Header
		_ = r.Decode(out)
		if got := r.RootDispersion.Duration(); got < disp || got > disp+16*time.Microsecond {
			t.Errorf("root dispersion %v went out as %v: want the next 2^-16 s at or above it", disp, got)
		}
	}
}

func TestHandleUnsynchronised(t *testing.T) {
	for _, st := range []*ntp.ServerState{nil, ntp.Unsynchronised(-20), {Leap: ntp.LeapNotInSync, Stratum: 1, RefID: ntp.RefGPS}} {
		var h *handler
		if st == nil {
			h = &handler{state: new(atomic.Pointer[ntp.ServerState])}
		} else {
			h = newTestHandler(st)
		}
		var c Counters
		out := make([]byte, replyLen)
		if o := h.handle(request(4, ntp.ModeClient, 48), testSrc, testNow, out, &c); o != outReply {
			t.Fatalf("outcome %d", o)
		}
		var r ntp.Header
		_ = r.Decode(out)
		if r.Leap != ntp.LeapNotInSync || r.Stratum != 0 || r.RefID == 0 {
			t.Errorf("state %v: reply %v: want leap 3, stratum 0 and a refid", st, &r)
		}
	}
}

type fixedPolicy struct {
	v     Verdict
	calls atomic.Int64
}

func (p *fixedPolicy) Check(netip.Addr, ntp.Mode, time.Time) Verdict { p.calls.Add(1); return p.v }

type nopControl struct{}

func (nopControl) HandleControl([]byte, netip.AddrPort) [][]byte { return nil }

func TestHandleDrops(t *testing.T) {
	badLen := append(request(4, ntp.ModeClient, 48), extField(0x1234, 16)...)
	binary.BigEndian.PutUint16(badLen[50:], 20) // field says 20 bytes, 16 remain
	tests := []struct {
		name   string
		req    []byte
		src    netip.AddrPort
		reason DropReason
	}{
		{"empty", nil, testSrc, DropShort},
		{"short client", request(4, ntp.ModeClient, 47), testSrc, DropShort},
		{"version 0", request(0, ntp.ModeClient, 48), testSrc, DropVersion},
		{"version 5", request(5, ntp.ModeClient, 48), testSrc, DropVersion},
		{"version 7", request(7, ntp.ModeClient, 48), testSrc, DropVersion},
		{"mode 0", request(4, ntp.ModeReserved, 48), testSrc, DropMode},
		{"v1 mode 0 from port 123", request(1, ntp.ModeReserved, 48), netip.MustParseAddrPort("192.0.2.10:123"), DropMode},
		{"mode 2", request(4, ntp.ModeSymmetricPassive, 48), testSrc, DropMode},
		{"mode 4", request(4, ntp.ModeServer, 48), testSrc, DropMode},
		{"mode 5", request(4, ntp.ModeBroadcast, 48), testSrc, DropMode},
		{"mode 6 without handler", request(2, ntp.ModeControl, 12), testSrc, DropControl},
		{"mode 7", request(2, ntp.ModePrivate, 48), testSrc, DropMode},
		{"bad extension length", badLen, testSrc, DropMalformed},
		{"odd trailer", request(4, ntp.ModeClient, 51), testSrc, DropMalformed},
		{"source port 0", request(4, ntp.ModeClient, 48), netip.MustParseAddrPort("192.0.2.1:0"), DropSource},
		{"multicast source", request(4, ntp.ModeClient, 48), netip.MustParseAddrPort("224.0.1.1:123"), DropSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(testState)
			var c Counters
			if o := h.handle(tt.req, tt.src, testNow, make([]byte, replyLen), &c); o != outDrop {
				t.Fatalf("outcome %d, want drop", o)
			}
			if c.Received != 1 || c.DroppedBy(tt.reason) != 1 || c.DroppedTotal() != 1 {
				t.Fatalf("counters %+v, want one drop for %v", c, tt.reason)
			}
		})
	}
}

func TestHandleExtensions(t *testing.T) {
	tests := []struct {
		name string
		req  []byte
	}{
		{"unknown field", append(request(4, ntp.ModeClient, 48), extField(0xabcd, 28)...)},
		{"field and mac", append(append(request(4, ntp.ModeClient, 48), extField(0x0104, 16)...), make([]byte, 20)...)},
		{"v3 md5 mac", append(request(3, ntp.ModeClient, 48), make([]byte, 20)...)},
	}
	for _, tt := range tests {
		h := newTestHandler(testState)
		var c Counters
		if o := h.handle(tt.req, testSrc, testNow, make([]byte, replyLen), &c); o != outReply {
			t.Errorf("%s: outcome %d, want reply (unknown fields are ignored)", tt.name, o)
		}
	}
}

func TestHandlePolicy(t *testing.T) {
	tests := []struct {
		v    Verdict
		out  outcome
		code ntp.RefID
	}{
		{Serve, outReply, ntp.RefPPS},
		{Ignore, outDrop, 0},
		{KissDeny, outReply, ntp.KissDENY},
		{KissRate, outReply, ntp.KissRATE},
		{KissRstr, outReply, ntp.KissRSTR},
	}
	for _, tt := range tests {
		h := newTestHandler(testState)
		h.policy.Store(&policyBox{&fixedPolicy{v: tt.v}})
		var c Counters
		out := make([]byte, replyLen)
		if o := h.handle(request(4, ntp.ModeClient, 48), testSrc, testNow, out, &c); o != tt.out {
			t.Fatalf("verdict %d: outcome %d, want %d", tt.v, o, tt.out)
		}
		if tt.out == outDrop {
			if c.DroppedBy(DropPolicy) != 1 {
				t.Errorf("ignore not counted: %+v", c)
			}
			continue
		}
		var r ntp.Header
		_ = r.Decode(out)
		if r.RefID != tt.code {
			t.Errorf("verdict %d: refid %s, want %s", tt.v, r.RefID.Format(0), tt.code.Format(0))
		}
		if tt.v != Serve {
			if code, ok := r.IsKiss(); !ok || code != tt.code || r.OrigTime != 0x0123456789abcdef {
				t.Errorf("verdict %d: not a KoD echoing the request: %v", tt.v, &r)
			}
			if c.KoDTotal() != 1 || c.Answered != 0 {
				t.Errorf("KoD counters %+v", c)
			}
		}
	}
}

func TestHandleControl(t *testing.T) {
	h := newTestHandler(testState)
	h.control.Store(&controlBox{nopControl{}})
	var c Counters
	if o := h.handle(request(2, ntp.ModeControl, 12), testSrc, testNow, make([]byte, replyLen), &c); o != outControl {
		t.Fatalf("mode 6 with handler: outcome %d", o)
	}
	h.policy.Store(&policyBox{&fixedPolicy{v: KissDeny}})
	if o := h.handle(request(2, ntp.ModeControl, 12), testSrc, testNow, make([]byte, replyLen), &c); o != outDrop {
		t.Fatalf("mode 6 refused by policy: outcome %d", o)
	}
	if c.Control != 1 || c.DroppedBy(DropControl) != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestHandleDoesNotAllocate(t *testing.T) {
	h := newTestHandler(testState)
	h.policy.Store(&policyBox{&fixedPolicy{v: Serve}})
	req := append(request(4, ntp.ModeClient, 48), extField(0xabcd, 28)...)
	out := make([]byte, replyLen)
	var c Counters
	if n := testing.AllocsPerRun(1000, func() { h.handle(req, testSrc, testNow, out, &c) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

func BenchmarkHandle(b *testing.B) {
	h := newTestHandler(testState)
	req := request(4, ntp.ModeClient, 48)
	out := make([]byte, replyLen)
	var c Counters
	b.ReportAllocs()
	for b.Loop() {
		h.handle(req, testSrc, testNow, out, &c)
		stampXmit(out, ntp.TimeFrom(testNow))
	}
}
