package server

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"stratum1/ntp"
)

var (
	xlA = netip.MustParseAddr("192.0.2.1")
	xlB = netip.MustParseAddr("2001:db8::2")
)

func TestXleaveTableTakeOnce(t *testing.T) {
	tab := newXleaveTable(4)
	rx := ntp.TimeFrom(testNow) | rxFlag
	tx := ntp.TimeFrom(testNow.Add(30 * time.Microsecond))
	tab.save(xlA, rx, tx)
	if _, _, ok := tab.take(xlB, rx); ok {
		t.Fatal("another address took the exchange")
	}
	if _, _, ok := tab.take(xlA, rx+2); ok {
		t.Fatal("another receive timestamp took the exchange")
	}
	got, kernel, ok := tab.take(xlA, rx)
	if !ok || got != tx || kernel {
		t.Fatalf("take = %v, %v, %v; want %v, provisional", got, kernel, ok, tx)
	}
	if _, _, ok := tab.take(xlA, rx); ok {
		t.Fatal("an exchange was taken twice (a replayed request)")
	}
	if n := tab.live(); n != 0 {
		t.Fatalf("%d entries left", n)
	}
}

func TestXleaveTableKernelTx(t *testing.T) {
	rx := ntp.TimeFrom(testNow) | rxFlag
	prov := ntp.TimeFrom(testNow.Add(20 * time.Microsecond))
	for _, tc := range []struct {
		name  string
		rx    ntp.Time
		delay time.Duration
		want  bool
	}{
		{"after the provisional time", rx, 3 * time.Microsecond, true},
		{"at it", rx, 0, true},
		{"before it", rx, -time.Microsecond, false},
		{"more than a second later", rx, maxTxDelay + time.Millisecond, false},
		{"unknown exchange", rx + 2, time.Microsecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newXleaveTable(4)
			tab.save(xlA, rx, prov)
			kern := ntp.TimeFrom(prov.Time().Add(tc.delay))
			if got := tab.setKernelTx(tc.rx, kern); got != tc.want {
				t.Fatalf("setKernelTx = %v, want %v", got, tc.want)
			}
			tx, kernel, _ := tab.take(xlA, rx)
			if tc.want && (tx != kern || !kernel) {
				t.Fatalf("tx %v kernel %v, want the kernel's %v", tx, kernel, kern)
			}
			if !tc.want && (tx != prov || kernel) {
				t.Fatalf("tx %v kernel %v, want the provisional %v", tx, kernel, prov)
			}
		})
	}
}

// TestXleaveTableBounded fills the table with far more clients than it
// holds: it never holds more than its size, the newest exchange of each
// bucket survives, and the oldest goes first.
func TestXleaveTableBounded(t *testing.T) {
	const buckets = 8
	tab := newXleaveTable(buckets)
	base := ntp.TimeFrom(testNow)
	var last ntp.Time
	for i := range 10000 {
		rx := base + ntp.Time(i)<<12 | rxFlag
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		tab.save(a, rx, rx+1000)
		last = rx
		if n := tab.live(); n > buckets*xleaveWays {
			t.Fatalf("after %d saves %d entries, more than %d", i+1, n, buckets*xleaveWays)
		}
	}
	if n := tab.live(); n != buckets*xleaveWays {
		t.Fatalf("%d entries, want the table full (%d)", n, buckets*xleaveWays)
	}
	if _, _, ok := tab.take(netip.AddrFrom4([4]byte{10, 0, 9999 >> 8, 9999 & 0xff}), last); !ok {
		t.Fatal("the newest exchange was evicted")
	}
	if _, _, ok := tab.take(netip.AddrFrom4([4]byte{10, 0, 0, 0}), base|rxFlag); ok {
		t.Fatal("the oldest exchange survived 10000 newer ones")
	}
	// In one bucket, the oldest way goes first.
	one := newXleaveTable(1)
	for i := range xleaveWays + 1 {
		one.save(xlA, base+ntp.Time(i)<<8|rxFlag, 1)
	}
	if _, _, ok := one.take(xlA, base|rxFlag); ok {
		t.Fatal("oldest way not evicted")
	}
	for i := 1; i <= xleaveWays; i++ {
		if _, _, ok := one.take(xlA, base+ntp.Time(i)<<8|rxFlag); !ok {
			t.Fatalf("way %d evicted instead of the oldest", i)
		}
	}
}

func TestXleaveTableConcurrent(t *testing.T) {
	tab := newXleaveTable(16)
	base := ntp.TimeFrom(testNow)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(g)})
			for i := range 2000 {
				rx := base + ntp.Time(g<<20|i)<<8 | rxFlag
				tab.save(a, rx, rx+10)
				tab.setKernelTx(rx, rx+20)
				if i%2 == 0 {
					tab.take(a, rx)
				}
			}
		})
	}
	wg.Wait()
	if n := tab.live(); n > 16*xleaveWays {
		t.Fatalf("%d entries", n)
	}
}

// xleaveClient is an interleaved client as chronyd's xleave forms its
// requests, driven against a handler with a fake clock.
type xleaveClient struct {
	src        netip.AddrPort
	remoteRx   ntp.Time // T2 of the last reply
	localRx    ntp.Time // T4 of the last reply
	localTx    ntp.Time // T1 of the last request
	interleave bool
}

func (c *xleaveClient) request(now time.Time) []byte {
	req := request(4, ntp.ModeClient, 48)
	tx := ntp.TimeFrom(now)
	if c.interleave && c.remoteRx != 0 {
		binary.BigEndian.PutUint64(req[origOffset:], uint64(c.remoteRx))
		binary.BigEndian.PutUint64(req[recvOffset:], uint64(c.localRx))
	}
	binary.BigEndian.PutUint64(req[xmitOffset:], uint64(tx))
	c.localTx = tx
	return req
}

func (c *xleaveClient) received(reply []byte, now time.Time) ntp.Header {
	var h ntp.Header
	_ = h.Decode(reply)
	c.remoteRx, c.localRx = h.RecvTime, ntp.TimeFrom(now)
	return h
}

// TestInterleavedExchanges runs the state machine with a fake clock: a
// handler, a simulated send (provisional time, then a kernel time 7 us
// later) and an xleave client; basic clients alongside leave no state.
func TestInterleavedExchanges(t *testing.T) {
	h := newTestHandler(testState)
	h.xleave = newXleaveTable(16)
	now := testNow
	tick := func(d time.Duration) time.Time { now = now.Add(d); return now }
	var c Counters
	out := make([]byte, replyLen)
	// send does what the worker does with a reply, and returns the
	// kernel transmit time it recorded.
	send := func(o outcome, src netip.AddrPort) ntp.Time {
		prov := ntp.TimeFrom(tick(2 * time.Microsecond))
		if o != outReplyXleave {
			stampXmit(out, prov)
		}
		if o == outReply {
			return 0
		}
		rx := ntp.Time(binary.BigEndian.Uint64(out[recvOffset:]))
		h.xleave.save(src.Addr(), rx, prov&^rxFlag)
		kern := ntp.TimeFrom(now.Add(7*time.Microsecond)) &^ rxFlag
		if !h.xleave.setKernelTx(rx, kern) {
			t.Fatal("kernel timestamp refused")
		}
		return kern
	}

	cl := &xleaveClient{src: testSrc, interleave: true}
	steps := []struct {
		want        outcome
		interleaved bool
	}{
		{outReply, false},      // origin zero: nothing known
		{outReplyStamp, false}, // echoes T2: recorded
		{outReplyXleave, true}, // answered with the previous reply's kernel time
		{outReplyXleave, true},
		{outReplyXleave, true},
	}
	var prevKern ntp.Time
	for i, s := range steps {
		req := cl.request(tick(time.Second))
		o := h.handle(req, cl.src, tick(20*time.Microsecond), out, &c)
		if o != s.want {
			t.Fatalf("request %d: outcome %d, want %d", i+1, o, s.want)
		}
		kern := send(o, cl.src)
		r := cl.received(out, tick(20*time.Microsecond))
		if r.RecvTime&rxFlag == 0 || r.XmitTime&rxFlag != 0 {
			t.Fatalf("request %d: receive %v must have the low bit set, transmit %v clear", i+1, r.RecvTime, r.XmitTime)
		}
		if s.interleaved {
			if r.OrigTime != ntp.Time(binary.BigEndian.Uint64(req[recvOffset:])) {
				t.Fatalf("request %d: interleaved origin %v is not the request's receive timestamp", i+1, r.OrigTime)
			}
			if r.XmitTime != prevKern {
				t.Fatalf("request %d: transmit %v, want the previous reply's kernel time %v", i+1, r.XmitTime, prevKern)
			}
		} else if r.OrigTime != cl.localTx {
			t.Fatalf("request %d: basic origin %v, want the request's transmit %v", i+1, r.OrigTime, cl.localTx)
		}
		prevKern = kern
	}
	if c.Interleaved != 3 || c.Answered != uint64(len(steps)) {
		t.Fatalf("counters %+v", c)
	}
	if n := h.xleave.live(); n != 1 {
		t.Fatalf("%d exchanges held for one client", n)
	}

	// The last request again, from the same client (a replay), and the
	// client's next one from another address: basic mode.
	replay := cl.request(tick(time.Second))
	other := append([]byte(nil), replay...)
	if o := h.handle(other, netip.MustParseAddrPort("198.51.100.7:123"), tick(time.Microsecond), out, &c); o != outReplyStamp {
		t.Fatalf("another address using the client's origin: outcome %d", o)
	}
	if o := h.handle(replay, cl.src, tick(time.Microsecond), out, &c); o != outReplyXleave {
		t.Fatalf("client's own request: outcome %d", o)
	}
	if o := h.handle(replay, cl.src, tick(time.Microsecond), out, &c); o != outReplyStamp {
		t.Fatalf("replayed request: outcome %d, want basic", o)
	}

	// Basic clients: zero origin (chronyd, SNTP), the server's transmit
	// timestamp echoed (ntpd), NTPv3, a symmetric-style request whose
	// receive equals its transmit: served in basic mode, nothing stored.
	h.xleave = newXleaveTable(16)
	var r ntp.Header
	_ = r.Decode(out)
	echoTx := request(4, ntp.ModeClient, 48)
	binary.BigEndian.PutUint64(echoTx[origOffset:], uint64(r.XmitTime))
	v3 := request(3, ntp.ModeClient, 48)
	binary.BigEndian.PutUint64(v3[origOffset:], uint64(r.RecvTime))
	binary.BigEndian.PutUint64(v3[recvOffset:], 5)
	same := request(4, ntp.ModeClient, 48)
	binary.BigEndian.PutUint64(same[origOffset:], uint64(r.RecvTime))
	binary.BigEndian.PutUint64(same[recvOffset:], 0x0123456789abcdef)
	future := request(4, ntp.ModeClient, 48)
	binary.BigEndian.PutUint64(future[origOffset:], uint64(ntp.TimeFrom(now.Add(time.Hour))|rxFlag))
	binary.BigEndian.PutUint64(future[recvOffset:], 5)
	for name, req := range map[string][]byte{
		"zero origin": request(4, ntp.ModeClient, 48), "transmit echoed": echoTx,
		"NTPv3": v3, "receive equals transmit": same, "origin from the future": future,
	} {
		if o := h.handle(req, testSrc, tick(time.Second), out, &c); o != outReply {
			t.Errorf("%s: outcome %d, want basic without state", name, o)
		}
	}
	if n := h.xleave.live(); n != 0 {
		t.Fatalf("basic clients left %d entries", n)
	}
}

func TestInterleavedHandleDoesNotAllocate(t *testing.T) {
	h := newTestHandler(testState)
	h.xleave = newXleaveTable(16)
	out := make([]byte, replyLen)
	var c Counters
	cl := &xleaveClient{src: testSrc, interleave: true}
	now := testNow
	allocs := testing.AllocsPerRun(200, func() {
		now = now.Add(time.Second)
		o := h.handle(cl.request(now), cl.src, now.Add(10*time.Microsecond), out, &c)
		if o != outReply {
			h.xleave.save(cl.src.Addr(), ntp.Time(binary.BigEndian.Uint64(out[recvOffset:])), ntp.TimeFrom(now.Add(20*time.Microsecond)))
		}
		cl.received(out, now.Add(30*time.Microsecond))
	})
	// request() allocates the request itself: one slice.
	if allocs > 1 {
		t.Fatalf("%v allocations per interleaved exchange", allocs)
	}
	if c.Interleaved == 0 {
		t.Fatal("no interleaved reply")
	}
}

// TestSealXmit checks the outcomes an authenticated (NTS) reply path gets:
// its transmit timestamp is set before sealing, and never overwritten by
// the sender; interleaved clients are still recorded.
func TestSealXmit(t *testing.T) {
	h := newTestHandler(testState)
	const preset = 12344
	for _, tc := range []struct {
		in, want         outcome
		setsXmit, record bool
	}{
		{outReply, outReplySealed, true, false},
		{outReplyStamp, outReplySealedStamp, true, true},
		{outReplyXleave, outReplyXleave, false, true},
	} {
		out := make([]byte, replyLen)
		stampXmit(out, preset)
		got := h.sealXmit(tc.in, out, testNow)
		if got != tc.want || !got.presetXmit() || got.recorded() != tc.record {
			t.Errorf("sealXmit(%d) = %d (preset %v, recorded %v)", tc.in, got, got.presetXmit(), got.recorded())
		}
		want := ntp.Time(preset)
		if tc.setsXmit {
			want = ntp.TimeFrom(testNow) &^ rxFlag
		}
		if x := ntp.Time(binary.BigEndian.Uint64(out[xmitOffset:])); x != want {
			t.Errorf("sealXmit(%d): transmit %v, want %v", tc.in, x, want)
		}
	}
	for _, o := range []outcome{outReply, outReplyStamp} {
		if o.presetXmit() {
			t.Errorf("outcome %d: the sender would not stamp it", o)
		}
	}
}

// TestXleaveTableResave checks that recording one exchange twice (a send
// retried after EINTR) holds it once.
func TestXleaveTableResave(t *testing.T) {
	tab := newXleaveTable(1)
	rx := ntp.TimeFrom(testNow) | rxFlag
	tab.save(xlB, rx+2, 1)
	tab.save(xlA, rx, 5)
	tab.save(xlA, rx, 7)
	if n := tab.live(); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	if tx, _, ok := tab.take(xlA, rx); !ok || tx != 7 {
		t.Fatalf("take = %v, %v; want the later record", tx, ok)
	}
}

// TestBuildReplyIsHandle checks that buildReply, which an NTS path calls,
// answers as handle does, in basic and interleaved mode alike.
func TestBuildReplyIsHandle(t *testing.T) {
	hs := [2]*handler{newTestHandler(testState), newTestHandler(testState)}
	for _, h := range hs {
		h.xleave = newXleaveTable(4)
	}
	cl := &xleaveClient{src: testSrc, interleave: true}
	now := testNow
	var modes []outcome
	for range 5 {
		now = now.Add(time.Second)
		req := cl.request(now)
		rx := now.Add(10 * time.Microsecond)
		var outs [2][]byte
		var os [2]outcome
		for i, h := range hs {
			outs[i] = make([]byte, replyLen)
			if i == 0 {
				var c Counters
				os[i] = h.handle(req, cl.src, rx, outs[i], &c)
			} else {
				os[i] = h.buildReply(req, 4, cl.src, rx, outs[i])
			}
			if os[i].recorded() {
				h.xleave.save(cl.src.Addr(), ntp.Time(binary.BigEndian.Uint64(outs[i][recvOffset:])), ntp.TimeFrom(rx.Add(time.Microsecond)))
			}
		}
		if os[0] != os[1] || !bytes.Equal(outs[0], outs[1]) {
			t.Fatalf("handle: %d %x\nbuildReply: %d %x", os[0], outs[0], os[1], outs[1])
		}
		modes = append(modes, os[0])
		cl.received(outs[0], now.Add(30*time.Microsecond))
	}
	if modes[len(modes)-1] != outReplyXleave {
		t.Fatalf("outcomes %v: never interleaved", modes)
	}
}
