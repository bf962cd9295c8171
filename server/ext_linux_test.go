package server

import (
	"testing"

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
