package peer

import (
	"net/netip"
	"testing"
	"time"

	"stratum1/ntp"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testAssoc(iburst bool, minPoll, maxPoll time.Duration) *assoc {
	return newAssoc(netip.MustParseAddrPort("192.0.2.1:123"), 'u',
		Source{IBurst: iburst, MinPoll: minPoll, MaxPoll: maxPoll}, 2*time.Second, time.Microsecond)
}

// reply is what a stratum-2 server whose clock is serverOffset ahead of ours
// answers to a request carrying xmt, sent at our time sent, with a one-way
// delay of oneWay.
func reply(xmt ntp.Time, sent time.Time, serverOffset, oneWay time.Duration) ntp.Header {
	return ntp.Header{
		Version: 4, Mode: ntp.ModeServer, Stratum: 2, Precision: -20,
		RefID:     ntp.RefIDFromString("LOCL"),
		RootDelay: ntp.ShortFrom(time.Millisecond), RootDispersion: ntp.ShortFrom(time.Millisecond),
		OrigTime: xmt,
		RecvTime: ntp.TimeFrom(sent.Add(oneWay + serverOffset)),
		XmitTime: ntp.TimeFrom(sent.Add(oneWay + 10*time.Microsecond + serverOffset)),
	}
}

// exchange sends one request at now and answers it with the given server.
func exchange(a *assoc, now time.Time, xmt ntp.Time, off time.Duration) recvResult {
	a.transmit(now, xmt)
	h := reply(xmt, now, off, 5*time.Millisecond)
	return a.receive(now.Add(10*time.Millisecond+10*time.Microsecond), &h)
}

func TestAssocOffsetAndDelay(t *testing.T) {
	a := testAssoc(false, 64*time.Second, 1024*time.Second)
	if r := exchange(a, t0, 0x1234, 5*time.Second); r != recvSample {
		t.Fatalf("result %v", r)
	}
	if d := a.filter.offset - 5*time.Second; d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("offset %v, want 5s", a.filter.offset)
	}
	if d := a.filter.delay - 10*time.Millisecond; d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("delay %v, want 10ms", a.filter.delay)
	}
	if a.reach != 1 || a.stratum != 2 {
		t.Errorf("reach %o stratum %d", a.reach, a.stratum)
	}
}

func TestAssocAntiSpoofing(t *testing.T) {
	a := testAssoc(false, 64*time.Second, 1024*time.Second)
	a.transmit(t0, 0xabc)
	forged := reply(0xdef, t0, 0, time.Millisecond)
	if r := a.receive(t0.Add(time.Millisecond), &forged); r != recvBogus {
		t.Errorf("wrong origin: %v, want bogus", r)
	}
	kod := ntp.Header{Version: 4, Mode: ntp.ModeServer, Stratum: 0, RefID: ntp.KissDENY, OrigTime: 0xdef}
	if r := a.receive(t0.Add(time.Millisecond), &kod); r != recvBogus || a.denied || a.counts.kodIgnored != 1 {
		t.Errorf("spoofed KoD: %v denied=%v ignored=%d", r, a.denied, a.counts.kodIgnored)
	}
	client := reply(0xabc, t0, 0, time.Millisecond)
	client.Mode = ntp.ModeClient
	if r := a.receive(t0.Add(time.Millisecond), &client); r != recvBogus {
		t.Errorf("mode 3 reply: %v", r)
	}
	good := reply(0xabc, t0, 0, time.Millisecond)
	if r := a.receive(t0.Add(2*time.Millisecond), &good); r != recvSample {
		t.Fatalf("good reply: %v", r)
	}
	if r := a.receive(t0.Add(3*time.Millisecond), &good); r != recvDuplicate {
		t.Errorf("second copy: %v, want duplicate", r)
	}
	if a.reach != 1 || a.filter.n != 1 {
		t.Errorf("reach %o samples %d, want one sample", a.reach, a.filter.n)
	}
}

func TestAssocLateReplies(t *testing.T) {
	a := testAssoc(false, 64*time.Second, 1024*time.Second)
	a.transmit(t0, 0x100)
	h := reply(0x100, t0, 0, time.Millisecond)
	if r := a.receive(t0.Add(3*time.Second), &h); r != recvLate {
		t.Errorf("after the timeout: %v, want late", r)
	}
	t1 := t0.Add(64 * time.Second)
	a.transmit(t1, 0x200)
	if r := a.receive(t1.Add(time.Millisecond), &h); r != recvLate {
		t.Errorf("answer to the previous request: %v, want late", r)
	}
	if a.reach != 0 {
		t.Errorf("reach %b, want 0: neither late reply counts", a.reach)
	}
}

func TestAssocIBurst(t *testing.T) {
	a := testAssoc(true, 64*time.Second, 1024*time.Second)
	now := t0
	// Unreachable server: 8 packets 2 s apart, then the poll interval.
	var gaps []time.Duration
	for range 10 {
		a.transmit(now, ntp.Time(now.UnixNano()))
		gaps = append(gaps, a.due().Sub(now))
		now = a.due()
	}
	want := []time.Duration{2, 2, 2, 2, 2, 2, 2, 64, 2, 2}
	for i := range want {
		if gaps[i] != want[i]*time.Second {
			t.Fatalf("gaps %v, want %v seconds", gaps, want)
		}
	}

	// A reachable one: the burst ends after four replies, and a later poll
	// while reachable sends one packet.
	b := testAssoc(true, 64*time.Second, 1024*time.Second)
	now, sent := t0, 0
	for sent < 10 {
		exchange(b, now, ntp.Time(sent+1), 0)
		sent++
		if b.due().Sub(now) == 64*time.Second {
			break
		}
		now = b.due()
	}
	if sent != burstOK {
		t.Errorf("burst sent %d packets to a live server, want %d", sent, burstOK)
	}
	now = b.due()
	exchange(b, now, 0x999, 0)
	if b.due().Sub(now) != 64*time.Second {
		t.Errorf("reachable server burst again: next in %v", b.due().Sub(now))
	}

	// Without iburst: one packet per poll.
	c := testAssoc(false, 64*time.Second, 1024*time.Second)
	c.transmit(t0, 1)
	if c.due().Sub(t0) != 64*time.Second {
		t.Errorf("no iburst: next in %v", c.due().Sub(t0))
	}
}

func TestAssocReachDecaysAndPollBacksOff(t *testing.T) {
	a := testAssoc(false, 64*time.Second, 256*time.Second)
	now := t0
	for i := range 8 {
		exchange(a, now, ntp.Time(i+1), 0)
		now = a.due()
	}
	if a.reach != 0xff {
		t.Fatalf("reach %o after eight replies", a.reach)
	}
	if a.pollInterval() != 128*time.Second {
		t.Errorf("poll %v after eight good polls, want it doubled to 128s", a.pollInterval())
	}
	var reaches []uint8
	for i := range 10 {
		a.transmit(now, ntp.Time(100+i))
		reaches = append(reaches, a.reach)
		now = a.due()
	}
	if reaches[0] != 0xfe || reaches[3] != 0xf0 || reaches[7] != 0 {
		t.Errorf("reach did not decay: %o", reaches)
	}
	if a.pollInterval() != 256*time.Second {
		t.Errorf("poll %v while unreachable, want maxpoll", a.pollInterval())
	}
	if note := a.usable(now, 1500*time.Millisecond, nil); note != "unreachable" {
		t.Errorf("usable: %q", note)
	}
}

func TestAssocKoD(t *testing.T) {
	a := testAssoc(true, 2*time.Second, 1024*time.Second)
	a.transmit(t0, 0x10)
	rate := ntp.Header{Version: 4, Mode: ntp.ModeServer, Stratum: 0, RefID: ntp.KissRATE, OrigTime: 0x10}
	if r := a.receive(t0.Add(time.Millisecond), &rate); r != recvKoD {
		t.Fatalf("RATE: %v", r)
	}
	if a.pollInterval() != 4*time.Second || a.due() != t0.Add(4*time.Second) || a.burstLeft != 0 {
		t.Errorf("after RATE: poll %v next %v burst %d; want 4s, no burst", a.pollInterval(), a.due().Sub(t0), a.burstLeft)
	}
	if a.reach != 0 {
		t.Errorf("a KoD set reach %o", a.reach)
	}
	now := a.due()
	a.transmit(now, 0x11)
	rate.OrigTime = 0x11
	a.receive(now, &rate)
	if a.pollInterval() != 8*time.Second {
		t.Errorf("second RATE: poll %v, want 8s", a.pollInterval())
	}

	for _, code := range []ntp.RefID{ntp.KissDENY, ntp.KissRSTR} {
		b := testAssoc(false, 64*time.Second, 1024*time.Second)
		b.transmit(t0, 0x20)
		k := ntp.Header{Version: 4, Mode: ntp.ModeServer, Stratum: 0, RefID: code, OrigTime: 0x20}
		if r := b.receive(t0, &k); r != recvKoD || !b.denied {
			t.Errorf("%s: %v denied=%v", kissName(code), r, b.denied)
		}
		if note := b.usable(t0, time.Second, nil); note != "KoD "+kissName(code) {
			t.Errorf("note %q", note)
		}
	}
}

func TestAssocNotSelectable(t *testing.T) {
	own := map[ntp.RefID]bool{ntp.RefIDFromAddr(netip.MustParseAddr("198.51.100.7")): true}
	tests := []struct {
		name string
		mod  func(*ntp.Header)
		want string
	}{
		{"good", func(h *ntp.Header) {}, ""},
		{"stratum 16", func(h *ntp.Header) { h.Stratum = 16 }, "unsynchronised"},
		{"leap 3", func(h *ntp.Header) { h.Leap = ntp.LeapNotInSync }, "unsynchronised"},
		{"loop", func(h *ntp.Header) { h.Stratum = 3; h.RefID = ntp.RefIDFromAddr(netip.MustParseAddr("198.51.100.7")) }, "loop"},
		{"far", func(h *ntp.Header) { h.RootDispersion = ntp.ShortFrom(2 * time.Second) }, "distance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Four samples: with fewer, the empty filter stages alone
			// put the root distance above 1.5 s (RFC 5905).
			a := testAssoc(false, 64*time.Second, 1024*time.Second)
			now := t0
			for i := range 4 {
				a.transmit(now, ntp.Time(0x42+i))
				h := reply(ntp.Time(0x42+i), now, 0, time.Millisecond)
				tt.mod(&h)
				a.receive(now.Add(2*time.Millisecond), &h)
				now = a.due()
			}
			if got := a.usable(now, 1500*time.Millisecond, own); got != tt.want {
				t.Errorf("usable = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzAssocReceive feeds arbitrary replies: none may panic, and only one
// whose origin matches the request may change the reach register.
func FuzzAssocReceive(f *testing.F) {
	h := reply(0x77, t0, time.Second, time.Millisecond)
	var b [ntp.HeaderLen]byte
	h.Encode(b[:])
	f.Add(b[:], int64(time.Millisecond))
	kod := ntp.Header{Version: 4, Mode: ntp.ModeServer, RefID: ntp.KissRATE, OrigTime: 0x77}
	kod.Encode(b[:])
	f.Add(b[:], int64(time.Millisecond))
	f.Fuzz(func(t *testing.T, pkt []byte, after int64) {
		var h ntp.Header
		if h.Decode(pkt) != nil {
			return
		}
		a := testAssoc(true, time.Second, 1024*time.Second)
		for i := range 3 {
			exchange(a, t0.Add(time.Duration(i)*time.Second), ntp.Time(i+1), 0)
		}
		now := t0.Add(10 * time.Second)
		a.transmit(now, 0x77)
		before := a.reach
		a.receive(now.Add(time.Duration(after)), &h)
		if a.reach != before && h.OrigTime != 0x77 {
			t.Errorf("reach changed by a reply with origin %#x", h.OrigTime)
		}
		a.rootDist(now)
		a.usable(now, time.Second, nil)
	})
}
