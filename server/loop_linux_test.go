package server

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

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
		if n, err := readRetry(fd, resp); err != nil || n != replyLen {
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
		if n, err := readRetry(fd, resp); err != nil || n != replyLen {
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
	w, err := listen(netipLoopback(), &handler{state: syncedState()}, slog.Default(), 0)
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
	if !w.recv(false) || w.nrx != 1 {
		t.Fatalf("read: %d messages", w.nrx)
	}
	rx, _, _, ok := w.parseControl(w.rx.Control(0))
	if !ok {
		t.Fatal("no kernel receive timestamp")
	}
	if rx.Before(before) || rx.After(w.userRx) {
		t.Fatalf("kernel time %v not between send %v and user-space read %v", rx, before, w.userRx)
	}
}

// readRetry reads from a blocking socket, retrying when a signal (the Go
// runtime preempts goroutines with SIGURG) interrupts the read.
func readRetry(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// recvmsgRetry is unix.Recvmsg, retried when a signal interrupts it.
func recvmsgRetry(fd int, b, oob []byte) (n, oobn, flags int, from unix.Sockaddr, err error) {
	for {
		n, oobn, flags, from, err = unix.Recvmsg(fd, b, oob, 0)
		if err != unix.EINTR {
			return n, oobn, flags, from, err
		}
	}
}

func netipLoopback() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:0") }

// TestStampsPrecedeArrival checks the order every reply's timestamps must
// keep on one machine's clock: the client's kernel transmit time T1 <= T2
// <= T3 <= T4, the client's kernel receive time. A transmit stamp that
// overshoots the reply's departure (a send-delay correction gone wrong)
// fails it.
func TestStampsPrecedeArrival(t *testing.T) {
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	fd := dialRaw(t, r)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	req := request(4, ntp.ModeClient, 48)
	resp := make([]byte, 128)
	oob := make([]byte, 128)
	for i := range 200 {
		t1 := time.Now()
		binary.BigEndian.PutUint64(req[40:], uint64(ntp.TimeFrom(t1)))
		h, t4 := exchangeStamped(t, fd, req, resp, oob, i)
		t2, t3 := h.RecvTime.Near(t4), h.XmitTime.Near(t4)
		if t2.Before(t1) || t3.Before(t2) || t4.Before(t3) {
			t.Fatalf("reply %d: T1 %v T2 %v T3 %v T4 %v out of order", i, t1, t2, t3, t4)
		}
	}
}

// TestRunRestoresProcs checks that the P a responder reserves for each
// worker is given back, and that stopping wakes a worker blocked in
// recvmmsg at once rather than at its receive timeout.
func TestRunRestoresProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	r, err := New(Config{Listen: []string{"127.0.0.1:0"}, Workers: 2}, syncedState(), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.GOMAXPROCS(0) != before+2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := runtime.GOMAXPROCS(0); got != before+2 {
		t.Fatalf("GOMAXPROCS %d while serving with 2 workers, want %d", got, before+2)
	}
	time.Sleep(20 * time.Millisecond) // let both workers block
	start := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= stopPoll {
		t.Errorf("Run took %v to stop: the workers were not woken", took)
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS %d after Run, want %d", got, before)
	}
}

// TestHeldRequestKeepsItsArrivalTime checks what makes coalescing safe: a
// request that waits while the worker gathers a batch is stamped with its
// arrival, not with the moment the worker reads it, so its T2 stays next
// to the client's T1 while T3 follows the wait.
func TestHeldRequestKeepsItsArrivalTime(t *testing.T) {
	const hold = time.Millisecond
	// The worker holds its P while it waits (see sleep), as Run gives it
	// one of its own; served directly, it needs the same, or with
	// GOMAXPROCS=1 the client could not send while it waits.
	defer reserveProcs(1)()
	for try := 0; try < 5; try++ {
		w, err := listen(netipLoopback(), &handler{state: syncedState()}, slog.Default(), hold)
		if err != nil {
			t.Fatal(err)
		}
		if w.gather.max != hold {
			t.Fatal("kernel receive timestamps unavailable: requests are not held")
		}
		// As if the worker had measured 5000 requests/s: after each batch
		// it then waits the whole hold for more.
		w.gather.perSecond, w.gather.windowStart = 5000, time.Now()
		w.shared = new(sharedCounters)
		done := make(chan error, 1)
		go func() { done <- w.serve() }()

		c, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		to := &unix.SockaddrInet4{Port: int(w.local.Port()), Addr: w.local.Addr().As4()}
		tv := unix.NsecToTimeval(int64(2 * time.Second))
		_ = unix.SetsockoptTimeval(c, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		exchange := func() (t1 time.Time, h ntp.Header) {
			t1 = time.Now()
			if err := unix.Sendto(c, request(4, ntp.ModeClient, 48), 0, to); err != nil {
				t.Fatal(err)
			}
			resp := make([]byte, 128)
			n, _, err := unix.Recvfrom(c, resp, 0)
			if err != nil {
				t.Fatalf("no reply: %v", err)
			}
			if err := h.Decode(resp[:n]); err != nil {
				t.Fatal(err)
			}
			return t1, h
		}
		exchange() // the worker waits after this one
		t1, h := exchange()
		unix.Close(c)
		w.close()
		<-done

		t2, t3 := h.RecvTime.Near(t1), h.XmitTime.Near(t1)
		if t3.Sub(t2) < hold/3 {
			continue // the second request came after the wait: try again
		}
		if d := t2.Sub(t1); d < 0 || d > hold/5 {
			t.Fatalf("held %v, but T2 is %v after T1: stamped when read, not on arrival", t3.Sub(t2), d)
		}
		return
	}
	t.Fatal("in 5 tries no request arrived while the worker waited")
}

// TestGCDoesNotWaitForABusyWorker checks that a worker waiting in its raw
// receive (after a load of a few thousand requests/s, see worker.recv) keeps no
// garbage collection waiting: the runtime's preemption signal ends the
// wait with EINTR, long before the socket's receive timeout (250 ms)
// would.
func TestGCDoesNotWaitForABusyWorker(t *testing.T) {
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c)
	a := r.Addrs()[0]
	to := &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	req := request(4, ntp.ModeClient, 48)
	for try := 0; try < 5; try++ {
		// Five requests a millisecond for 40 ms, four rate windows: a
		// sleep of the test lasts about a millisecond on a loaded machine.
		for deadline := time.Now().Add(40 * time.Millisecond); time.Now().Before(deadline); {
			for i := 0; i < 5; i++ {
				if err := unix.Sendto(c, req, 0, to); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(2 * time.Millisecond) // the worker now waits for the next
		start := time.Now()
		runtime.GC()
		if el := time.Since(start); el < 150*time.Millisecond {
			return
		}
	}
	t.Fatal("in 5 tries every garbage collection took 150 ms or more: held up by the worker's receive")
}

// exchangeStamped sends request i on fd and returns the decoded reply with
// the kernel's receive timestamp of it (SO_TIMESTAMPNS on fd).
func exchangeStamped(t *testing.T, fd int, req, resp, oob []byte, i int) (ntp.Header, time.Time) {
	t.Helper()
	if _, err := unix.Write(fd, req); err != nil {
		t.Fatal(err)
	}
	n, oobn, _, _, err := recvmsgRetry(fd, resp, oob)
	if err != nil || n != replyLen {
		t.Fatalf("reply %d: %d bytes, %v", i, n, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 || msgs[0].Header.Type != unix.SCM_TIMESTAMPNS {
		t.Fatalf("reply %d: no kernel receive timestamp (%v)", i, err)
	}
	ts := (*unix.Timespec)(unsafe.Pointer(&msgs[0].Data[0]))
	var h ntp.Header
	if err := h.Decode(resp[:n]); err != nil {
		t.Fatal(err)
	}
	return h, time.Unix(ts.Unix())
}
