package server

import (
	"testing"
	"time"

	"log/slog"
	"net/netip"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
)

// dialRaw returns a connected, blocking UDP socket that sends and receives
// without allocating, so that allocation counts measure the server alone.
func dialRaw(tb testing.TB, r *Responder) int {
	tb.Helper()
	a := r.Addrs()[0]
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}); err != nil {
		tb.Fatal(err)
	}
	tv := unix.NsecToTimeval(int64(2 * time.Second))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return fd
}

// BenchmarkRoundTrip measures one request through the whole batch loop:
// receive with its kernel timestamp, handle, stamp and send.
func BenchmarkRoundTrip(b *testing.B) {
	r := startResponder(b, syncedState(), 1, []string{"127.0.0.1:0"})
	fd := dialRaw(b, r)
	req := request(4, ntp.ModeClient, 48)
	resp := make([]byte, 128)
	roundTrip := func() {
		if _, err := unix.Write(fd, req); err != nil {
			b.Fatal(err)
		}
		if n, err := unix.Read(fd, resp); err != nil || n != replyLen {
			b.Fatalf("read %d: %v", n, err)
		}
	}
	for range 100 { // let lazily-built runtime state settle
		roundTrip()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}

func TestRoundTripDoesNotAllocate(t *testing.T) {
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	fd := dialRaw(t, r)
	req := request(4, ntp.ModeClient, 48)
	resp := make([]byte, 128)
	allocs := testing.AllocsPerRun(500, func() {
		_, _ = unix.Write(fd, req)
		if n, err := unix.Read(fd, resp); err != nil || n != replyLen {
			t.Fatalf("read %d: %v", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request through the batch loop", allocs)
	}
}

// TestKernelTimestamps checks that receive times come from the kernel: the
// worker finds a timestamp control message in every request.
func TestKernelTimestamps(t *testing.T) {
	w, err := listen(netipLoopback(), &handler{state: syncedState()}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c)
	to := &unix.SockaddrInet4{Port: int(w.local.Port()), Addr: w.local.Addr().As4()}
	before := time.Now()
	if err := unix.Sendto(c, request(4, ntp.ModeClient, 48), 0, to); err != nil {
		t.Fatal(err)
	}
	w.rx.ResetRecv(batchLen)
	if err := w.raw.Read(w.readFn); err != nil || w.nrx != 1 {
		t.Fatalf("read: %v, %d messages", err, w.nrx)
	}
	rx, _, _, ok := w.parseControl(w.rx.Control(0))
	if !ok {
		t.Fatal("no kernel receive timestamp")
	}
	if rx.Before(before) || rx.After(w.userRx) {
		t.Fatalf("kernel time %v not between send %v and user-space read %v", rx, before, w.userRx)
	}
	if !w.txs.on {
		t.Log("SO_TIMESTAMPING refused: no transmit-delay correction")
	}
}

func netipLoopback() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:0") }
