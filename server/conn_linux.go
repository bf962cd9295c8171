package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
	"stratum1/server/internal/mmsg"
)

const (
	batchLen = 64   // datagrams per recvmmsg/sendmmsg
	rxBufLen = 2048 // larger requests (NTS) arrive truncated and are dropped
	ctlLen   = 192  // pktinfo, SCM_TIMESTAMPNS and SCM_TIMESTAMPING fit
	rcvBuf   = 1 << 20
)

// worker owns one socket and serves it from one goroutine: receive a batch,
// build the replies, stamp them and send them as one batch.
type worker struct {
	h      *handler
	log    *slog.Logger
	conn   *net.UDPConn
	raw    syscall.RawConn
	local  netip.AddrPort
	v6     bool
	pinfo  bool // reply from the address each request came to
	shared *sharedCounters

	rx, tx   *mmsg.Batch
	nrx      int
	ntx      int
	sent     int
	errno    syscall.Errno
	userRx   time.Time // fallback receive time when the kernel gives none
	out      [batchLen]outcome
	ctlIdx   [batchLen]uint8 // rx indices of mode 6 requests in this batch
	nctl     int
	c        Counters
	txs      txStamper
	readFn   func(uintptr) bool
	writeFn  func(uintptr) bool
	closeErr error
}

// skippable reports whether failing to listen on ap should only be logged:
// the IPv6 wildcard of the default config on a host without IPv6.
func skippable(ap netip.AddrPort, err error) bool {
	return ap.Addr().Is6() && ap.Addr().IsUnspecified() &&
		(errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EADDRNOTAVAIL))
}

func listen(ap netip.AddrPort, h *handler, log *slog.Logger) (*worker, error) {
	network := "udp4"
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		network = "udp6"
	}
	var sockErr error
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		err := c.Control(func(fd uintptr) {
			sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return sockErr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, ap.String())
	if err != nil {
		return nil, err
	}
	conn := pc.(*net.UDPConn)
	w := &worker{
		h:     h,
		log:   log,
		conn:  conn,
		local: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		v6:    network == "udp6",
		pinfo: ap.Addr().IsUnspecified(),
		rx:    mmsg.NewBatch(batchLen, rxBufLen, ctlLen),
		tx:    mmsg.NewBatch(batchLen, replyLen, ctlLen),
	}
	w.local = netip.AddrPortFrom(w.local.Addr().Unmap(), w.local.Port())
	if w.raw, err = conn.SyscallConn(); err != nil {
		conn.Close()
		return nil, err
	}
	if err := w.setOptions(); err != nil {
		conn.Close()
		return nil, err
	}
	w.readFn = w.read
	w.writeFn = w.write
	return w, nil
}

func (w *worker) setOptions() error {
	var err error
	cerr := w.raw.Control(func(fd uintptr) {
		s := int(fd)
		_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf) // best effort: capped by rmem_max
		w.txs.enable(s)
		if !w.txs.on && unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) != nil {
			w.log.Warn("no kernel receive timestamps; using user-space time", "addr", w.local)
		}
		if w.pinfo {
			if w.v6 {
				err = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
			} else {
				err = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}

func (w *worker) close() { w.conn.Close() }

// serve runs the batch loop until the socket is closed.
func (w *worker) serve() error {
	for {
		w.rx.ResetRecv(batchLen)
		if err := w.raw.Read(w.readFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if w.errno != 0 {
			// Transient (ENOMEM, a pending ICMP error): count nothing, go on.
			w.errno = 0
			continue
		}
		w.process()
		if w.ntx > 0 {
			w.txs.arm(w.tx, w.ntx, w.userRx)
			if err := w.raw.Write(w.writeFn); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return nil
				}
				return err
			}
		}
		if w.nctl > 0 {
			w.serveControl()
		}
		w.txs.collect(w.raw)
		w.shared.publish(&w.c)
	}
}

func (w *worker) read(fd uintptr) bool {
	for {
		n, errno := mmsg.Recv(fd, w.rx, batchLen, unix.MSG_DONTWAIT)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		w.nrx, w.errno = n, errno
		w.userRx = time.Now()
		return true
	}
}

// process runs the handler over a received batch and queues the replies.
func (w *worker) process() {
	w.ntx, w.sent, w.nctl = 0, 0, 0
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
			w.tx.SetControl(j, w.buildControl(j, dst, ifindex))
			w.out[j] = o
			w.ntx++
		case outControl:
			w.ctlIdx[w.nctl] = uint8(i)
			w.nctl++
		}
	}
}

// parseControl finds the kernel receive timestamp and, with pktinfo, the
// local address and interface the request arrived on.
func (w *worker) parseControl(b []byte) (rx time.Time, dst netip.Addr, ifindex int32, ok bool) {
	for {
		c, rest, more := mmsg.NextCmsg(b)
		if !more {
			return rx, dst, ifindex, ok
		}
		b = rest
		switch {
		case c.Level == unix.SOL_SOCKET && (c.Type == unix.SCM_TIMESTAMPNS || c.Type == unix.SCM_TIMESTAMPING):
			// SCM_TIMESTAMPING carries three timespecs; the first is the
			// software one, which is all this socket asks for.
			if sec, nsec, good := mmsg.Timespec(c.Data); good && sec != 0 {
				rx, ok = time.Unix(sec, nsec), true
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

// buildControl writes the control messages of reply j: the source address
// that the request was sent to (so that a multi-homed server answers from
// the address the client asked). It returns their length.
func (w *worker) buildControl(j int, dst netip.Addr, ifindex int32) int {
	b := w.tx.CtlBuf(j)
	n := 0
	if w.pinfo && dst.IsValid() && !dst.IsMulticast() {
		if w.v6 {
			d, sp := mmsg.PutCmsg(b, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&d[0]))
			pi.Addr, pi.Ifindex = dst.As16(), uint32(ifindex)
			n += sp
		} else {
			d, sp := mmsg.PutCmsg(b, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&d[0]))
			*pi = unix.Inet4Pktinfo{Ifindex: ifindex, Spec_dst: dst.As4()}
			n += sp
		}
	}
	return n
}

// write stamps every queued reply with the transmit time and sends them. It
// runs inside RawConn.Write: returning false waits for the socket to drain.
func (w *worker) write(fd uintptr) bool {
	for w.sent < w.ntx {
		now := time.Now()
		stamp := w.h.served(now)
		for j := w.sent; j < w.ntx; j++ {
			stampXmit(w.tx.Buf(j), ntp.TimeFrom(stamp.Add(w.txs.correction(j-w.sent))))
		}
		w.txs.sent(now, w.sent)
		n, errno := mmsg.Send(fd, w.tx, w.sent, w.ntx, unix.MSG_DONTWAIT)
		switch errno {
		case 0:
			w.sent += n
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			// The first message was refused (EPERM from a firewall, no
			// route): count it and send the rest.
			w.unanswer(w.sent)
			w.sent++
		}
	}
	return true
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
			if _, err := w.conn.WriteToUDPAddrPort(resp, src); err != nil {
				w.c.Dropped[DropSend]++
			}
		}
	}
}
