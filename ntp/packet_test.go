package ntp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestHeaderRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h := Header{
		Leap: LeapInsert, Version: 4, Mode: ModeServer, Stratum: 1, Poll: 6, Precision: -20,
		RootDelay: ShortFrom(time.Millisecond), RootDispersion: ShortFrom(2 * time.Millisecond),
		RefID: RefPPS, RefTime: TimeFrom(now), OrigTime: TimeFrom(now.Add(time.Second)),
		RecvTime: TimeFrom(now.Add(2 * time.Second)), XmitTime: TimeFrom(now.Add(3 * time.Second)),
	}
	var b [HeaderLen]byte
	h.Encode(b[:])
	if b[0] != 0x64 {
		t.Fatalf("first byte %#x, want 0x64 (LI=1 VN=4 mode=4)", b[0])
	}
	var got Header
	if err := got.Decode(b[:]); err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("round trip:\n got %v\nwant %v", &got, &h)
	}
	if err := got.Decode(b[:47]); !errors.Is(err, ErrShort) {
		t.Fatalf("short packet: err = %v", err)
	}
}

func TestHeaderEncodeDoesNotAllocate(t *testing.T) {
	var h Header
	var b [HeaderLen]byte
	allocs := testing.AllocsPerRun(100, func() {
		h.Encode(b[:])
		_ = h.Decode(b[:])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per encode+decode", allocs)
	}
}

func TestRefID(t *testing.T) {
	tests := []struct {
		id      RefID
		stratum uint8
		want    string
	}{
		{RefGPS, 1, "GPS"},
		{RefPPS, 1, "PPS"},
		{KissRATE, 0, "RATE"},
		{RefINIT, StratumUnsynchronised, "INIT"},
		{RefIDFromAddr(netip.MustParseAddr("192.0.2.7")), 2, "192.0.2.7"},
		{RefIDFromAddr(netip.MustParseAddr("::ffff:192.0.2.7")), 2, "192.0.2.7"},
	}
	for _, tt := range tests {
		if got := tt.id.Format(tt.stratum); got != tt.want {
			t.Errorf("Format = %q, want %q", got, tt.want)
		}
	}
	// IPv6: first four bytes of the MD5 of the address.
	// md5(2001:db8::1 as 16 bytes) begins with these octets.
	v6 := RefIDFromAddr(netip.MustParseAddr("2001:db8::1"))
	if v6 == 0 || v6 == RefIDFromAddr(netip.MustParseAddr("2001:db8::2")) {
		t.Fatalf("IPv6 refids not distinct: %#x", uint32(v6))
	}
}

func TestParseExtensions(t *testing.T) {
	field := func(typ uint16, n int) []byte {
		b := make([]byte, n)
		b[0], b[1] = byte(typ>>8), byte(typ)
		b[2], b[3] = byte(n>>8), byte(n)
		return b
	}
	hdr := make([]byte, HeaderLen)
	cat := func(parts ...[]byte) []byte {
		out := append([]byte{}, hdr...)
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		pkt     []byte
		fields  int
		macLen  int
		wantErr error
	}{
		{"bare header", cat(), 0, 0, nil},
		{"md5 mac", cat(make([]byte, 20)), 0, 20, nil},
		{"sha1 mac", cat(make([]byte, 24)), 0, 24, nil},
		{"crypto nak", cat(make([]byte, 4)), 0, 4, nil},
		{"one unknown field", cat(field(0x1234, 28)), 1, 0, nil},
		{"two fields and mac", cat(field(0x0104, 36), field(0x0204, 16), make([]byte, 20)), 2, 20, nil},
		{"length zero", cat(field(1, 16)[:2], []byte{0, 0}, make([]byte, 24)), 0, 0, ErrExtLength},
		{"length not multiple of 4", cat(field(1, 30)), 0, 0, ErrExtLength},
		{"length past end", cat(field(1, 32)[:4], make([]byte, 24)), 0, 0, ErrExtLength},
		{"odd trailer", cat(make([]byte, 7)), 0, 0, ErrTrailer},
		{"short", make([]byte, 12), 0, 0, ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			mac, err := ParseExtensions(tt.pkt, func(uint16, []byte) { n++ })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (n != tt.fields || mac != tt.macLen) {
				t.Fatalf("fields=%d mac=%d, want %d and %d", n, mac, tt.fields, tt.macLen)
			}
		})
	}
}

func TestDispersionGrowth(t *testing.T) {
	ref := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		state ServerState
		at    time.Time
		want  time.Duration
	}{
		{"RFC 5905's 15 ppm from the reference time", ServerState{RootDispersion: time.Millisecond, RefTime: ref},
			ref.Add(1000 * time.Second), 16 * time.Millisecond},
		{"the publisher's rate", ServerState{RootDispersion: time.Millisecond, RefTime: ref, DispersionRate: 1e-6},
			ref.Add(1000 * time.Second), 2 * time.Millisecond},
		{"from when it was evaluated", ServerState{RootDispersion: 50 * time.Microsecond, RefTime: ref,
			Updated: ref.Add(3600 * time.Second), DispersionRate: 1e-6}, ref.Add(3601 * time.Second), 51 * time.Microsecond},
		{"not before it", ServerState{RootDispersion: time.Millisecond, RefTime: ref}, ref.Add(-time.Second), time.Millisecond},
		{"no reference time", ServerState{RootDispersion: time.Millisecond}, ref, time.Millisecond},
	}
	for _, tt := range tests {
		if got := tt.state.DispersionAt(tt.at); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	s := &ServerState{Stratum: 1}
	if !s.Synchronised() || Unsynchronised(-20).Synchronised() {
		t.Fatal("Synchronised wrong")
	}
}
