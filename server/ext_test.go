package server

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/ntp"
)

// echoExt appends the request's extension fields to the reply, or returns
// a fixed length when n is set; it counts its calls.
type echoExt struct {
	n     int
	calls atomic.Int64
}

func (e *echoExt) HandleExtensions(req, out []byte) int {
	e.calls.Add(1)
	if e.n != 0 {
		return e.n
	}
	return ntp.HeaderLen + copy(out[ntp.HeaderLen:], req[ntp.HeaderLen:])
}

func TestHandleExtensionsHook(t *testing.T) {
	withExt := append(request(4, ntp.ModeClient, 48), extField(0x0104, 36)...)
	tests := []struct {
		name    string
		req     []byte
		hookLen int // 0: echo
		want    outcome
		wantLen int // serveExt's result for outExt
	}{
		{"plain request skips the hook", request(4, ntp.ModeClient, 48), 0, outReply, 0},
		{"extension fields go to the hook", withExt, 0, outExt, len(withExt)},
		{"hook answers plain", withExt, replyLen, outExt, replyLen},
		{"hook longer than the request is dropped", withExt, len(withExt) + 4, outExt, 0},
		{"hook shorter than a header is dropped", withExt, 20, outExt, 0},
		{"malformed fields never reach it", append(request(4, ntp.ModeClient, 48), 1, 2, 3), 0, outDrop, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(testState)
			e := &echoExt{n: tt.hookLen}
			h.ext.Store(&extBox{e})
			var c Counters
			out := make([]byte, 2048)
			if o := h.handle(tt.req, testSrc, testNow, out, &c); o != tt.want {
				t.Fatalf("outcome %d, want %d", o, tt.want)
			}
			if tt.want != outExt {
				if e.calls.Load() != 0 {
					t.Fatal("hook called")
				}
				return
			}
			xmit := testNow.Add(time.Millisecond)
			n, _ := h.serveExt(tt.req, testSrc, testNow, func() time.Time { return xmit }, out, &c)
			if n != tt.wantLen {
				t.Fatalf("length %d, want %d", n, tt.wantLen)
			}
			if n == 0 {
				if c.Dropped[DropMalformed] != 1 || c.Answered != 0 {
					t.Errorf("counters %+v", c)
				}
				return
			}
			var r ntp.Header
			if err := r.Decode(out[:n]); err != nil {
				t.Fatal(err)
			}
			if r.Mode != ntp.ModeServer || r.RecvTime != ntp.TimeFrom(testNow)|rxFlag || r.XmitTime != ntp.TimeFrom(xmit)&^rxFlag || r.OrigTime != 0x0123456789abcdef {
				t.Errorf("reply header %v", &r)
			}
			if n > replyLen && !bytes.Equal(out[replyLen:n], tt.req[replyLen:]) {
				t.Error("hook's fields lost")
			}
			if c.Answered != 1 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

// The plain path stays allocation-free with a hook installed.
func TestHandleWithHookDoesNotAllocate(t *testing.T) {
	h := newTestHandler(testState)
	h.ext.Store(&extBox{&echoExt{}})
	req := request(4, ntp.ModeClient, 48)
	out := make([]byte, replyLen)
	var c Counters
	if n := testing.AllocsPerRun(1000, func() { h.handle(req, testSrc, testNow, out, &c) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

// Over a socket: an extension request is answered with the hook's longer
// reply, a plain one with 48 bytes.
func TestResponderExtensions(t *testing.T) {
	e := &echoExt{}
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"}, WithExtensions(e))
	addr := r.Addrs()[0]
	req := append(request(4, ntp.ModeClient, 48), extField(0x0104, 200)...)
	got := exchange(t, addr, req, 2*time.Second)
	if len(got) != len(req) || !bytes.Equal(got[replyLen:], req[replyLen:]) {
		t.Fatalf("reply of %d bytes, want the %d-byte echo", len(got), len(req))
	}
	if got := exchange(t, addr, request(4, ntp.ModeClient, 48), 2*time.Second); len(got) != replyLen {
		t.Fatalf("plain reply of %d bytes", len(got))
	}
	if e.calls.Load() != 1 {
		t.Errorf("hook called %d times, want 1", e.calls.Load())
	}
	r.SetExtensions(nil)
	if got := exchange(t, addr, req, 2*time.Second); len(got) != replyLen {
		t.Fatalf("without the hook: reply of %d bytes", len(got))
	}
}

// sealHook stands for NTS: it records the transmit timestamp it found in
// the header (which its authenticator would cover) and, with nak, turns
// the reply into a kiss-o'-death as an NTS NAK does.
type sealHook struct {
	nak  bool
	xmit ntp.Time
}

func (s *sealHook) HandleExtensions(req, out []byte) int {
	s.xmit = ntp.Time(binary.BigEndian.Uint64(out[xmitOffset:]))
	if s.nak {
		out[1] = ntp.StratumKiss
	}
	return len(req)
}

// An xleave client's requests with extension fields (chronyd's "nts
// xleave") get sealed basic replies, then interleaved ones carrying the
// previous reply's kernel transmit time, already in place when the hook
// (the authenticator) runs; a NAK is never recorded.
func TestServeExtInterleaved(t *testing.T) {
	h := newTestHandler(testState)
	h.xleave = newXleaveTable(16)
	hook := &sealHook{}
	h.ext.Store(&extBox{hook})
	now := testNow
	tick := func(d time.Duration) time.Time { now = now.Add(d); return now }
	var c Counters
	out := make([]byte, 512)
	cl := &xleaveClient{src: testSrc, interleave: true}
	var prevKern ntp.Time
	for i, want := range []outcome{outReplySealed, outReplySealedStamp, outReplyXleave, outReplyXleave} {
		req := append(cl.request(tick(time.Second)), extField(0x0104, 36)...)
		if o := h.handle(req, cl.src, tick(20*time.Microsecond), out, &c); o != outExt {
			t.Fatalf("request %d: handle says %d", i+1, o)
		}
		xmit := tick(5 * time.Microsecond)
		n, o := h.serveExt(req, cl.src, now.Add(-5*time.Microsecond), func() time.Time { return xmit }, out, &c)
		if n != len(req) || o != want {
			t.Fatalf("request %d: %d bytes, outcome %d; want %d, %d", i+1, n, o, len(req), want)
		}
		r := cl.received(out, tick(20*time.Microsecond))
		if hook.xmit != r.XmitTime || r.XmitTime == 0 {
			t.Fatalf("request %d: hook saw transmit %v, reply has %v", i+1, hook.xmit, r.XmitTime)
		}
		if o == outReplyXleave && r.XmitTime != prevKern {
			t.Fatalf("request %d: transmit %v, want the previous kernel time %v", i+1, r.XmitTime, prevKern)
		}
		if o == outReplySealed && r.XmitTime != ntp.TimeFrom(xmit)&^rxFlag {
			t.Fatalf("request %d: transmit %v, want the sealing time", i+1, r.XmitTime)
		}
		if o.recorded() { // what the worker does as it sends
			h.xleave.save(cl.src.Addr(), r.RecvTime, ntp.TimeFrom(now)&^rxFlag)
			prevKern = ntp.TimeFrom(now.Add(3*time.Microsecond)) &^ rxFlag
			h.xleave.setKernelTx(r.RecvTime, prevKern)
		}
	}
	if c.Interleaved != 2 || c.Answered != 4 {
		t.Fatalf("counters %+v", c)
	}
	hook.nak = true
	req := append(cl.request(tick(time.Second)), extField(0x0104, 36)...)
	if _, o := h.serveExt(req, cl.src, tick(20*time.Microsecond), time.Now, out, &c); o != outReplySealed {
		t.Fatalf("NAK sent with outcome %d, want outReplySealed", o)
	}
}
