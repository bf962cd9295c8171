package server

import (
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
)

// TestInterleavedKernelTx runs interleaved exchanges through the batch loop
// as chronyd's xleave forms them, and checks every interleaved reply's
// transmit time against the client's kernel clock: the previous reply left
// after the server received its request (T2) and before the client's
// kernel received it (T4). The worker must have read the kernel's
// transmit timestamp of every stamped reply.
func TestInterleavedKernelTx(t *testing.T) {
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	fd := dialRaw(t, r)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	req := request(4, ntp.ModeClient, 48)
	resp := make([]byte, 128)
	oob := make([]byte, 128)
	var prevT2, prevT4 time.Time
	var remoteRx, localRx ntp.Time
	const exchanges = 50
	interleaved := 0
	for i := range exchanges {
		binary.BigEndian.PutUint64(req[origOffset:], uint64(remoteRx))
		binary.BigEndian.PutUint64(req[recvOffset:], uint64(localRx))
		binary.BigEndian.PutUint64(req[xmitOffset:], uint64(ntp.TimeFrom(time.Now())))
		h, t4 := exchangeStamped(t, fd, req, resp, oob, i)
		if h.OrigTime == localRx && localRx != 0 {
			interleaved++
			t3 := h.XmitTime.Near(t4)
			if t3.Before(prevT2) || t3.After(prevT4) {
				t.Fatalf("reply %d: previous reply's transmit %v outside its T2 %v .. T4 %v", i, t3, prevT2, prevT4)
			}
		} else if i >= 2 {
			t.Fatalf("reply %d in basic mode (origin %v, sent receive %v)", i, h.OrigTime, localRx)
		}
		remoteRx, localRx = h.RecvTime, ntp.TimeFrom(t4)
		prevT2, prevT4 = h.RecvTime.Near(t4), t4
	}
	if interleaved != exchanges-2 {
		t.Fatalf("%d interleaved replies of %d, want all but the first two", interleaved, exchanges)
	}
	// A worker publishes its counters after each batch's replies are out.
	c := r.Counters()
	for deadline := time.Now().Add(2 * time.Second); c.TxStamps < exchanges-1 && time.Now().Before(deadline); c = r.Counters() {
		time.Sleep(time.Millisecond)
	}
	if c.Interleaved != exchanges-2 || c.TxStamps != exchanges-1 {
		t.Fatalf("counted %d interleaved replies and %d kernel transmit timestamps; want %d and %d",
			c.Interleaved, c.TxStamps, exchanges-2, exchanges-1)
	}
}
