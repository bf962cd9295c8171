package server

import (
	"encoding/binary"
	"testing"

	"stratum1/ntp"
)

// FuzzHandle feeds arbitrary datagrams to the request handler: it must
// never panic, and whatever it answers is a 48-byte mode 4 reply, no longer
// than the request, with the request's version and transmit timestamp (or,
// in interleaved mode, its receive timestamp and the recorded transmit
// time).
func FuzzHandle(f *testing.F) {
	// One recorded exchange with testSrc, which a request can name.
	const savedRx, savedTx = ntp.Time(0xec00000012345679), ntp.Time(0xec00000012355554)
	xl := request(4, ntp.ModeClient, 48)
	binary.BigEndian.PutUint64(xl[origOffset:], uint64(savedRx))
	binary.BigEndian.PutUint64(xl[recvOffset:], 0xec00000012400000)
	f.Add(xl, uint8(0))
	f.Add(request(4, ntp.ModeClient, 48), uint8(0))
	f.Add(append(request(4, ntp.ModeClient, 48), extField(0x1234, 16)...), uint8(1))
	f.Add(append(request(3, ntp.ModeClient, 48), make([]byte, 20)...), uint8(2))
	f.Add(request(2, ntp.ModeControl, 12), uint8(3))
	f.Add(request(4, ntp.ModeClient, 47), uint8(4))
	f.Fuzz(func(t *testing.T, req []byte, verdict uint8) {
		h := newTestHandler(testState)
		h.xleave = newXleaveTable(2)
		h.xleave.save(testSrc.Addr(), savedRx, savedTx)
		h.policy.Store(&policyBox{&fixedPolicy{v: Verdict(verdict % 6)}})
		if verdict&0x80 != 0 {
			h.control.Store(&controlBox{nopControl{}})
		}
		var c Counters
		out := make([]byte, replyLen)
		o := h.handle(req, testSrc, testNow, out, &c)
		if c.Received != 1 || c.Answered+c.KoDTotal()+c.DroppedTotal()+c.Control != 1 {
			t.Fatalf("counted %+v", c)
		}
		if n := h.xleave.live(); n > 1 {
			t.Fatalf("%d exchanges recorded by handle alone", n)
		}
		switch o {
		case outReply, outReplyStamp, outReplyXleave:
			if len(req) < replyLen {
				t.Fatalf("answered a %d-byte request with %d bytes", len(req), replyLen)
			}
			v, m, _ := ntp.PeekMode(req)
			var r ntp.Header
			_ = r.Decode(out)
			if m != ntp.ModeClient || r.Mode != ntp.ModeServer || r.Version != v {
				t.Fatalf("request v%d mode %d answered with %v", v, m, &r)
			}
			if r.RecvTime&rxFlag == 0 {
				t.Fatal("receive timestamp without its flag bit")
			}
			if o == outReplyXleave {
				if uint64(r.OrigTime) != binary.BigEndian.Uint64(req[recvOffset:]) || r.XmitTime != savedTx {
					t.Fatalf("interleaved reply %v to %x", &r, req[:48])
				}
				break
			}
			if uint64(r.OrigTime) != binary.BigEndian.Uint64(req[40:]) {
				t.Fatal("origin does not echo transmit")
			}
		case outControl:
			if _, m, _ := ntp.PeekMode(req); m != ntp.ModeControl {
				t.Fatalf("mode %d sent to control", m)
			}
		}
	})
}
