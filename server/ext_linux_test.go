package server

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
)

// extRoundTrip returns a function sending one request with an extension
// field through the batch loop and the extensions hook (an echo, which
// allocates nothing) and reading the reply.
func extRoundTrip(tb testing.TB) func() {
	r := startResponder(tb, syncedState(), 1, []string{"127.0.0.1:0"}, WithExtensions(&echoExt{}))
	fd := dialRaw(tb, r)
	req := append(request(4, ntp.ModeClient, 48), extField(0x0104, 180)...)
	resp := make([]byte, 512)
	return func() {
		if _, err := unix.Write(fd, req); err != nil {
			tb.Fatal(err)
		}
		if n, err := readRetry(fd, resp); err != nil || n != len(req) {
			tb.Fatalf("read %d: %v", n, err)
		}
	}
}

// An extension (NTS) reply goes out from the worker's own slot: no
// allocation per request beyond what the hook does.
func TestExtRoundTripDoesNotAllocate(t *testing.T) {
	rt := extRoundTrip(t)
	for range 10 {
		rt()
	}
	if n := testing.AllocsPerRun(300, rt); n != 0 {
		t.Fatalf("%v allocations per extension request through the batch loop", n)
	}
}

// BenchmarkRoundTripExt is BenchmarkRoundTrip for a request with extension
// fields, through the hook.
func BenchmarkRoundTripExt(b *testing.B) {
	rt := extRoundTrip(b)
	for range 100 {
		rt()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rt()
	}
}

// slowExt is an extensions hook that takes d to seal each reply, as NTS on
// a Pi without AES instructions does.
type slowExt struct{ d time.Duration }

func (e slowExt) HandleExtensions(req, out []byte) int {
	for start := time.Now(); time.Since(start) < e.d; {
	}
	return ntp.HeaderLen + copy(out[ntp.HeaderLen:], req[ntp.HeaderLen:])
}

// A sealed reply's transmit timestamp is read before the sealing, which
// the authenticator covers: the worker learns how long the sealing takes
// and stamps the reply that much later, so that the timestamp trails the
// departure as a plain reply's does instead of leading it by the sealing
// time (a 1 ms seal read at the start would put every reply's T3 at least
// 1 ms before the client receives it).
func TestSealedReplyStampedForItsDeparture(t *testing.T) {
	const seal = time.Millisecond
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"}, WithExtensions(slowExt{seal}))
	fd := dialRaw(t, r)
	req := append(request(4, ntp.ModeClient, 48), extField(0x0104, 36)...)
	resp := make([]byte, 512)
	var ahead []time.Duration // receive time minus the reply's T3
	for k := range 40 {
		if _, err := unix.Write(fd, req); err != nil {
			t.Fatal(err)
		}
		if n, err := readRetry(fd, resp); err != nil || n != len(req) {
			t.Fatalf("read %d: %v", n, err)
		}
		got := time.Now()
		if k >= 20 { // learnt
			ahead = append(ahead, got.Sub(ntp.Time(binary.BigEndian.Uint64(resp[xmitOffset:])).Time()))
		}
	}
	slices.Sort(ahead)
	med := ahead[len(ahead)/2]
	if med > seal/2 || med < -seal/4 {
		t.Errorf("median reception minus transmit timestamp %v with a %v seal; want near 0 (the seal's time compensated)", med, seal)
	}
}

func TestSealLeadLearns(t *testing.T) {
	var l sealLead
	l.learn(0) // nothing measured
	if l.lead != 0 {
		t.Fatalf("lead %v from nothing", l.lead)
	}
	l.learn(20 * time.Microsecond) // a cold first seal
	for range 60 {
		l.learn(2 * time.Microsecond)
	}
	if l.lead < 2*time.Microsecond || l.lead > 2100*time.Nanosecond {
		t.Fatalf("lead %v after 60 seals of 2µs", l.lead)
	}
	l.learn(5 * time.Millisecond) // a preemption counts as twice the lead
	if l.lead > 2300*time.Nanosecond {
		t.Errorf("one preempted seal moved the lead to %v", l.lead)
	}
}
