package server

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"stratum1/ntp"
)

// TestMalformedInput sends the responder everything a hostile network might:
// short datagrams, every version and mode, extension fields with bad lengths
// and 1000 random datagrams. Only well-formed client requests may be
// answered, no reply may be longer than its request, and the responder must
// keep serving.
func TestMalformedInput(t *testing.T) {
	r := startResponder(t, syncedState(), 2, []string{"127.0.0.1:0"})
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type sent struct {
		n        int
		answered bool // whether a reply is required
		mode     ntp.Mode
	}
	byXmit := map[uint64]sent{}
	var reqs [][]byte
	add := func(b []byte, answer bool) {
		if len(b) >= ntp.HeaderLen {
			x := uint64(len(reqs))<<32 | 0xfeed // distinct, recognisable
			binary.BigEndian.PutUint64(b[40:], x)
			mode := ntp.ModeServer
			if ntp.Mode(b[0]&7) == ntp.ModeSymmetricActive {
				mode = ntp.ModeSymmetricPassive // chronyd's answer, no association kept
			}
			byXmit[x] = sent{len(b), answer, mode}
		}
		reqs = append(reqs, b)
	}
	for n := 0; n < ntp.HeaderLen; n++ {
		add(request(4, ntp.ModeClient, n), false)
	}
	for v := uint8(0); v < 8; v++ {
		for m := ntp.Mode(0); m < 8; m++ {
			// Clients, symmetric active peers and NTPv1 (no mode field)
			// are answered.
			req := m == ntp.ModeClient || m == ntp.ModeSymmetricActive || v == 1 && m == ntp.ModeReserved
			add(request(v, m, ntp.HeaderLen), req && v >= 1 && v <= 4)
		}
	}
	for _, n := range []int{0, 4, 12, 15, 17, 30, 1000} {
		f := append(request(4, ntp.ModeClient, ntp.HeaderLen), extField(0x0104, 16)...)
		binary.BigEndian.PutUint16(f[50:], uint16(n))
		add(f, n == 16)
	}
	add(append(request(4, ntp.ModeClient, ntp.HeaderLen), extField(0xfeed, 64)...), true)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		b := make([]byte, rng.IntN(200))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(b) > 0 { // half of them look like client requests
			b[0] = b[0]&^7 | byte(ntp.ModeClient)
		}
		add(b, false)
	}
	for i, b := range reqs {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		if i%64 == 63 {
			time.Sleep(time.Millisecond) // stay within the socket buffers
		}
	}

	got := map[uint64]bool{}
	buf := make([]byte, 4096)
	for {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			break
		}
		if n < ntp.HeaderLen {
			t.Fatalf("reply of %d bytes", n)
		}
		var h ntp.Header
		_ = h.Decode(buf[:n])
		s, ok := byXmit[uint64(h.OrigTime)]
		if !ok {
			t.Fatalf("reply to no request: %v", &h)
		}
		if n > s.n {
			t.Fatalf("reply of %d bytes to a %d-byte request", n, s.n)
		}
		if h.Mode != s.mode {
			t.Fatalf("reply in mode %d, want %d", h.Mode, s.mode)
		}
		got[uint64(h.OrigTime)] = true
	}
	for x, s := range byXmit {
		if s.answered && !got[x] {
			t.Errorf("well-formed %d-byte request %#x not answered", s.n, x)
		}
	}
	// Still serving.
	if resp := exchange(t, r.Addrs()[0], request(4, ntp.ModeClient, 48), 2*time.Second); len(resp) != replyLen {
		t.Fatalf("after the garbage: reply %x", resp)
	}
	deadline := time.Now().Add(2 * time.Second)
	for r.Counters().Received < uint64(len(reqs)+1) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cnt := r.Counters()
	if cnt.Received != uint64(len(reqs)+1) || cnt.Received != cnt.Answered+cnt.DroppedTotal()+cnt.KoDTotal()+cnt.Control {
		t.Fatalf("counted %+v for %d datagrams", cnt, len(reqs)+1)
	}
	t.Logf("%d datagrams: %d answered, dropped %v (short, version, mode, malformed, policy, control, source, send)",
		cnt.Received, cnt.Answered, cnt.Dropped)
}
