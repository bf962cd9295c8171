package server

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
	"stratum1/server/internal/mmsg"
)

const (
	batchLen = 64   // datagrams per recvmmsg/sendmmsg
	rxBufLen = 2048 // larger requests (NTS) arrive truncated and are dropped
	ctlLen   = 192  // pktinfo and SCM_TIMESTAMPNS (or SCM_TIMESTAMPING) fit
	rcvBuf   = 1 << 20
	// yieldEvery is how often a busy worker passes through the scheduler.
	yieldEvery = 5 * time.Millisecond
)

// worker owns one socket and serves it from one goroutine that keeps its
// OS thread (see serve): block in recvmmsg until a batch arrives, build the
// replies, stamp and send them. The socket is blocking and private to the worker (see
// openSocket), so a request wakes the worker's thread directly: no poller,
// no goroutine hand-off, and two system calls per batch.
type worker struct {
	h      *handler
	log    *slog.Logger
	fd     int
	local  netip.AddrPort
	v6     bool
	pinfo  bool // reply from the address each request came to
	shared *sharedCounters

	mu      sync.Mutex // guards closed, serving and closing fd
	closed  bool
	serving bool
	stop    atomic.Bool

	rx, tx *mmsg.Batch
	nrx    int
	ntx    int
	userRx time.Time // fallback receive time when the kernel gives none
	out    [batchLen]outcome
	ctlIdx [batchLen]uint8 // rx indices of mode 6 requests in this batch
	nctl   int
	c      Counters
	kernRx bool // the kernel stamps every datagram's arrival
	gather coalescer
	// precise: the thread's timer slack is lowered (preciseTimers) and
	// the goroutine has not been through the scheduler since.
	precise bool
	ts      txStamps // transmit timestamps of replies to interleaved clients
	hwOn    bool     // the socket reports hardware timestamps (h.hw)

	// ext holds one reply with extension fields (NTS), made on first use;
	// lead learns how long such a reply takes from its transmit
	// timestamp to its send, and stampExt is lead.stamp, bound once.
	ext      *mmsg.Batch
	lead     sealLead
	stampExt func() time.Time
}

// skippable reports whether failing to listen on ap should only be logged:
// the IPv6 wildcard of the default config on a host without IPv6.
func skippable(ap netip.AddrPort, err error) bool {
	return ap.Addr().Is6() && ap.Addr().IsUnspecified() &&
		(errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EADDRNOTAVAIL))
}

func listen(ap netip.AddrPort, h *handler, log *slog.Logger, coalesce time.Duration) (*worker, error) {
	fd, local, v6, err := openSocket(ap)
	if err != nil {
		return nil, err
	}
	w := &worker{
		h:     h,
		log:   log,
		fd:    fd,
		local: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		v6:    v6,
		pinfo: ap.Addr().IsUnspecified(),
		rx:    mmsg.NewBatch(batchLen, rxBufLen, ctlLen),
		tx:    mmsg.NewBatch(batchLen, replyLen, ctlLen),
	}
	if err := w.setOptions(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if w.kernRx {
		// Without the kernel's arrival stamps a request's receive time
		// is when the worker reads it, and waiting would make it late.
		w.gather.max = coalesce
	}
	return w, nil
}

func (w *worker) setOptions() error {
	s := w.fd
	_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf) // best effort: capped by rmem_max
	w.kernRx = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil
	if !w.kernRx {
		w.log.Warn("no kernel receive timestamps; using user-space time", "addr", w.local)
	}
	if hw := w.h.hw; hw != nil {
		// Only with server.hwtimestamp: the plain path's socket
		// options are otherwise those it always had.
		if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, hw.socketFlags()); err != nil {
			w.log.Warn("no hardware timestamps on this socket", "addr", w.local, "err", err)
		} else {
			w.hwOn = true
		}
	}
	if !w.pinfo {
		return nil
	}
	if w.v6 {
		return os.NewSyscallError("setsockopt IPV6_RECVPKTINFO", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1))
	}
	return os.NewSyscallError("setsockopt IP_PKTINFO", unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_PKTINFO, 1))
}

// close stops the worker. A worker blocked in recvmmsg is woken by shutting
// the socket down (closing a descriptor another thread is blocked on wakes
// nobody on Linux, and would let the number be reused under it); serve
// closes the socket on its way out.
func (w *worker) close() { w.shutdown(unix.SHUT_RDWR) }

// retire stops the worker gently, for an address no longer served: the
// batch in hand is answered and sent, then serve closes the socket. Only
// the receiving side is shut down (to wake a worker blocked in recvmmsg),
// so that the replies of that batch still go out.
func (w *worker) retire() { w.shutdown(unix.SHUT_RD) }

// shutdown marks the worker stopped and wakes a serving one by shutting
// down how much of its socket (ENOTCONN on UDP, but it wakes the reader);
// a worker that never served has its socket closed here.
func (w *worker) shutdown(how int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.stop.Store(true)
	if w.serving {
		_ = unix.Shutdown(w.fd, how)
		return
	}
	unix.Close(w.fd)
}

// serve runs the batch loop until close.
func (w *worker) serve() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.serving = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		unix.Close(w.fd)
		w.serving = false
		w.mu.Unlock()
	}()
	// The goroutine is not locked to its thread. It keeps the thread
	// through its raw system calls anyway (no scheduler hand-off between
	// a datagram and its reply), and only a yield can move it; a locked
	// goroutine's yield hands its P to another thread and back, two futex
	// wakeups and context switches (about 50 us on a KVM guest, 1 us a
	// request at 10k/s). The timer slack is the thread's: lowered again
	// before the first wait after any point the goroutine may have moved.
	yielded := time.Now()
	held := false
	for !w.stop.Load() {
		if !w.recv(held) {
			if w.ts.busy {
				w.readTxStamps()
				w.shared.publish(&w.c)
			}
			continue
		}
		if w.ts.busy {
			// Timestamps that came after the last send (hardware,
			// or a queueing device): before this batch needs them.
			w.readTxStamps()
		}
		if w.userRx.Sub(yielded) > yieldEvery {
			// The runtime preempts a goroutine that has not been
			// through the scheduler for 10 ms by taking its P, which
			// costs far more than passing through it now and then.
			runtime.Gosched()
			yielded = w.userRx
			w.precise = false
		}
		w.process()
		if w.ntx > 0 {
			w.send()
		}
		if w.nctl > 0 {
			w.serveControl()
		}
		w.rx.ResetRecv(w.nrx) // the kernel shrank only the fields it filled
		w.shared.publish(&w.c)
		held = false
		if d := w.gather.hold(w.userRx, w.nrx); d > 0 {
			if !w.precise {
				preciseTimers()
				w.precise = true
			}
			sleep(d)
			held = true
		}
	}
	return nil
}

// recv receives a batch, blocking until the first datagram, and reports
// whether there is one to process. After a coalescing wait (held) the
// requests are most likely queued already: a raw non-blocking recvmmsg
// takes them without the runtime's bookkeeping for a blocking call, and
// only an empty queue falls back to blocking.
//
// A busy worker (busyRate) blocks in a raw recvmmsg too. Through the
// runtime's blocking-call path, sysmon takes the P of a worker blocked
// for more than 20 us and wakes another thread to look for work, which
// runs on the worker's CPU while the next request arrives (at normal
// priority it can be scheduled between a reply's clock reading and its
// send) and costs about 500 instructions and a futex wakeup per request.
// The raw call holds the P (Run gives each worker its own): the runtime's
// preemption signal, sent when a garbage collection needs every P, ends
// the call with EINTR (always, for a socket with SO_RCVTIMEO), and so
// does the receive timeout. A receive that finds nothing marks the worker
// idle, so that a worker whose load stopped blocks the ordinary way.
func (w *worker) recv(held bool) bool {
	n, errno := 0, unix.EAGAIN
	if held {
		n, errno = mmsg.RecvNow(uintptr(w.fd), w.rx, batchLen, 0)
	}
	if errno == unix.EAGAIN {
		if w.gather.busy() {
			n, errno = mmsg.RecvRaw(uintptr(w.fd), w.rx, batchLen, unix.MSG_WAITFORONE)
			if errno != 0 || n <= 0 {
				w.gather.idle()
			}
		} else {
			n, errno = mmsg.Recv(uintptr(w.fd), w.rx, batchLen, unix.MSG_WAITFORONE)
			w.precise = false // the runtime may resume it on another thread
		}
	}
	w.userRx = time.Now()
	if errno != 0 || n <= 0 {
		// EAGAIN after SO_RCVTIMEO, EINTR, ENOMEM, a pending ICMP
		// error, or nothing after a shutdown: count nothing, go on.
		w.rx.ResetRecv(batchLen)
		return false
	}
	w.nrx = n
	return true
}

// process runs the handler over a received batch and queues the replies.
func (w *worker) process() {
	w.ntx, w.nctl = 0, 0
	for i := 0; i < w.nrx; i++ {
		hdr := &w.rx.Hdrs[i]
		if hdr.Msg.Flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			w.c.Received++
			w.c.Dropped[DropMalformed]++
			continue
		}
		rxTime, dst, ifindex, ok := w.parseControl(w.rx.Control(i))
		if !ok {
			rxTime = w.userRx
		}
		rxTime = w.h.served(rxTime)
		j := w.ntx
		o := w.h.handle(w.rx.Data(i), w.rx.Addr(i), rxTime, w.tx.Buf(j), &w.c)
		switch o {
		case outReply:
			w.tx.CopyAddr(j, w.rx, i)
			w.tx.SetData(j, replyLen)
			w.tx.SetControl(j, w.buildControl(j, dst, ifindex, false))
			w.out[j] = o
			w.ntx++
		case outReplyStamp, outReplyXleave, outReplySealed, outReplySealedStamp:
			w.tx.CopyAddr(j, w.rx, i)
			w.tx.SetData(j, replyLen)
			w.tx.SetControl(j, w.buildControl(j, dst, ifindex, o.recorded()))
			w.out[j] = o
			w.ntx++
		case outControl:
			w.ctlIdx[w.nctl] = uint8(i)
			w.nctl++
		case outExt:
			w.serveExt(i, rxTime, dst, ifindex)
		}
	}
}

// parseControl finds the kernel receive timestamp and, with pktinfo, the
// local address and interface the request arrived on.
func (w *worker) parseControl(b []byte) (rx time.Time, dst netip.Addr, ifindex int32, ok bool) {
	var hwRx time.Time
	for {
		c, rest, more := mmsg.NextCmsg(b)
		if !more {
			if !hwRx.IsZero() && w.h.hw != nil {
				if t, good := w.h.hw.toSys(ifindex, hwRx); good {
					rx, ok = t, true
				}
			}
			return rx, dst, ifindex, ok
		}
		b = rest
		switch {
		case c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPNS:
			if sec, nsec, good := mmsg.Timespec(c.Data); good && sec != 0 {
				rx, ok = time.Unix(sec, nsec), true
			}
		case c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPING:
			// Only with hardware timestamps on: three timespecs, the
			// software one first and the card's raw one third.
			sw, hwRaw := scmTimestamping(c.Data)
			if !sw.IsZero() && !ok {
				rx, ok = sw, true
			}
			if !hwRaw.IsZero() {
				hwRx = hwRaw
			}
		case c.Level == unix.IPPROTO_IP && c.Type == unix.IP_PKTINFO && len(c.Data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&c.Data[0]))
			dst, ifindex = netip.AddrFrom4(pi.Addr), pi.Ifindex
		case c.Level == unix.IPPROTO_IPV6 && c.Type == unix.IPV6_PKTINFO && len(c.Data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&c.Data[0]))
			dst, ifindex = netip.AddrFrom16(pi.Addr), int32(pi.Ifindex)
		}
	}
}

// buildControl writes the control messages of reply j (see putControl)
// and returns their length.
func (w *worker) buildControl(j int, dst netip.Addr, ifindex int32, stamp bool) int {
	return w.putControl(w.tx.CtlBuf(j), dst, ifindex, stamp)
}

// unanswer moves reply j from the answered counters to the send drops.
func (w *worker) unanswer(j int) {
	b := w.tx.Buf(j)
	if b[1] == ntp.StratumKiss && b[0]>>6 == byte(ntp.LeapNotInSync) {
		switch ntp.RefID(uint32(b[12])<<24 | uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15])) {
		case ntp.KissDENY:
			w.c.KoD[kodDeny]--
		case ntp.KissRATE:
			w.c.KoD[kodRate]--
		case ntp.KissRSTR:
			w.c.KoD[kodRstr]--
		default:
			w.c.Answered-- // an unsynchronised reply
		}
	} else {
		w.c.Answered--
		if w.out[j] == outReplyXleave {
			w.c.Interleaved--
		}
	}
	w.c.Dropped[DropSend]++
}

// serveControl hands this batch's mode 6 requests to the control handler,
// off the fast path: it may allocate and its replies go out one by one.
func (w *worker) serveControl() {
	cb := w.h.control.Load()
	if cb == nil || cb.c == nil {
		return
	}
	for _, i := range w.ctlIdx[:w.nctl] {
		req := w.rx.Data(int(i))
		src := w.rx.Addr(int(i))
		for _, resp := range cb.c.HandleControl(req, src) {
			if err := unix.Sendto(w.fd, resp, 0, sockaddrOf(src)); err != nil {
				w.c.Dropped[DropSend]++
			}
		}
	}
}

// preciseTimers lowers the timer slack of the calling thread (50 us by
// default, as long as the waits of the coalescer) to the least the kernel
// allows, 1 ns. A realtime thread has no slack; the shipped unit runs the
// daemon at normal priority, where the slack is all that stretches a wait
// beyond what the scheduler's other work does. The thread keeps it when
// the goroutine leaves: its timers only become exact.
func preciseTimers() { _ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) }

// sleep waits d on the calling thread as a raw system call: the runtime's bookkeeping for a blocking call would let
// sysmon take the worker's P after 20 us and wake another thread to look
// for work (two context switches per wait, on the worker's CPU). Holding
// the P for at most the coalescing limit (1 ms) is harmless: Run gives
// every worker a P of its own (reserveProcs). A signal ends the wait
// early (the runtime's preemption request, when a garbage collection
// needs every P stopped), which only makes the batch smaller.
func sleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_, _, _ = unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}
