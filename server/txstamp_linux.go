package server

import (
	"encoding/binary"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
	"stratum1/server/internal/mmsg"
)

// Kernel transmit timestamps for interleaved clients.
//
// A reply to a client that asks for interleaved mode (outReplyStamp,
// outReplyXleave) goes out with a per-message SO_TIMESTAMPING control
// message asking for a software transmit timestamp: the kernel takes it as
// the driver hands the frame to the device (on loopback, as it is looped
// back) and queues it, with a copy of the frame, on the socket's error
// queue. Only these replies pay for it; every other reply is sent exactly
// as before, and the socket options of the hot path are unchanged (the
// timestamp comes back as SCM_TIMESTAMPNS, which SO_TIMESTAMPNS, already on
// for receive times, reports).
//
// The worker reads the error queue with recvmmsg(MSG_ERRQUEUE) right after
// each send batch that asked for one (software timestamps are queued before
// sendmsg returns) and, while any are outstanding, before each batch and on
// idle wakeups. Each timestamp is matched to its reply by the receive
// timestamp in the copy of the frame (the reply is its last bytes: nothing
// pads a frame of 90 bytes or more), which is unique per exchange, so a
// lost or reordered timestamp cannot be attributed to the wrong reply
// (SOF_TIMESTAMPING_OPT_ID's counter would drift whenever a send failed
// after the kernel had numbered it). The kernel's time then replaces the
// provisional transmit time in the interleaved table.
//
// With server.hwtimestamp, a card that stamps in hardware reports the
// reply's departure from the wire instead (hwstamp_linux.go), converted
// from the card's clock to the system clock.

const (
	errBatch  = 16   // error-queue messages per recvmmsg
	errBufLen = 2048 // a frame's headers and the whole reply
	// errCtlLen holds both timestamp messages, the extended error with
	// its IPv6 address, and the packet info.
	errCtlLen  = 512
	pendingLen = 128 // replies awaiting their timestamp, per worker
	// errDrains bounds the recvmmsg calls of one drain.
	errDrains = 8
)

// pendingTx is a reply sent with a timestamp request.
type pendingTx struct {
	rx     ntp.Time // its receive timestamp, which identifies it
	n      uint16   // its length
	sentNs int64    // wall-clock time of the send, to expire it
}

// txStamps is a worker's state for reading transmit timestamps.
type txStamps struct {
	errq    *mmsg.Batch // allocated on first use
	pending [pendingLen]pendingTx
	head, n int
	busy    bool // the error queue may hold timestamps
}

// putTxStampRequest writes the control message that asks for a software
// (and with hw, hardware) transmit timestamp of one datagram into b and
// returns its length.
func putTxStampRequest(b []byte, hw bool) int {
	d, n := mmsg.PutCmsg(b, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, 4)
	flags := uint32(unix.SOF_TIMESTAMPING_TX_SOFTWARE)
	if hw {
		flags |= unix.SOF_TIMESTAMPING_TX_HARDWARE
	}
	mmsg.PutUint32(d, flags)
	return n
}

// scmTimestamping reads the software (first) and raw hardware (third)
// timestamps of an SCM_TIMESTAMPING message; a zero one is absent.
func scmTimestamping(d []byte) (sw, hwRaw time.Time) {
	const size = int(unsafe.Sizeof(unix.Timespec{}))
	if sec, nsec, ok := mmsg.Timespec(d); ok && (sec != 0 || nsec != 0) {
		sw = time.Unix(sec, nsec)
	}
	if len(d) >= 3*size {
		if sec, nsec, ok := mmsg.Timespec(d[2*size:]); ok && (sec != 0 || nsec != 0) {
			hwRaw = time.Unix(sec, nsec)
		}
	}
	return sw, hwRaw
}

// sentStamped records reply j, about to be sent with a timestamp request
// and a provisional transmit time tx, in the interleaved table and among
// the replies awaiting their kernel timestamp.
func (w *worker) sentStamped(j int, tx ntp.Time, nowNs int64) {
	w.recordStamped(w.tx.Buf(j), w.tx.Addr(j).Addr(), w.tx.DataLen(j), tx, nowNs)
}

// recordStamped is sentStamped for the reply b (of n bytes) to client.
func (w *worker) recordStamped(b []byte, client netip.Addr, n int, tx ntp.Time, nowNs int64) {
	rx := ntp.Time(binary.BigEndian.Uint64(b[recvOffset:]))
	w.h.xleave.save(client, rx, tx&^rxFlag)
	s := &w.ts
	if s.n == pendingLen { // the oldest never got one: forget it
		s.head = (s.head + 1) % pendingLen
		s.n--
	}
	s.pending[(s.head+s.n)%pendingLen] = pendingTx{rx: rx, n: uint16(n), sentNs: nowNs}
	s.n++
	s.busy = true
}

// readTxStamps drains the error queue without blocking and applies the
// timestamps found in it.
func (w *worker) readTxStamps() {
	s := &w.ts
	if s.errq == nil {
		s.errq = mmsg.NewBatch(errBatch, errBufLen, errCtlLen)
	}
	drained := false
	for range errDrains {
		n, errno := mmsg.Recv(uintptr(w.fd), s.errq, errBatch, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 || n <= 0 {
			s.errq.ResetRecv(errBatch)
			drained = true
			break
		}
		for i := range n {
			w.applyTxStamp(s.errq.Data(i), s.errq.Control(i), s.errq.Hdrs[i].Msg.Flags)
		}
		s.errq.ResetRecv(n)
	}
	s.expire(time.Now().UnixNano())
	if drained && s.n == 0 {
		s.busy = false
	}
}

// applyTxStamp matches one error-queue message to a pending reply and sets
// that exchange's transmit time to the kernel's.
func (w *worker) applyTxStamp(frame, ctl []byte, flags int32) {
	tx, ok := txStampOf(ctl, w.h.hw)
	if !ok || flags&unix.MSG_TRUNC != 0 {
		return
	}
	s := &w.ts
	for k := 0; k < s.n; k++ {
		p := &s.pending[(s.head+k)%pendingLen]
		if p.rx == 0 || len(frame) < int(p.n) {
			continue
		}
		reply := frame[len(frame)-int(p.n):]
		if ntp.Time(binary.BigEndian.Uint64(reply[recvOffset:])) != p.rx {
			continue
		}
		if w.h.xleave.setKernelTx(p.rx, ntp.TimeFrom(w.h.served(tx))&^rxFlag) {
			w.c.TxStamps++
		}
		p.rx = 0
		s.trim()
		return
	}
}

// trim drops matched replies from the head of the ring.
func (s *txStamps) trim() {
	for s.n > 0 && s.pending[s.head].rx == 0 {
		s.head = (s.head + 1) % pendingLen
		s.n--
	}
}

// expire forgets replies whose timestamp is overdue: their exchange keeps
// the provisional transmit time.
func (s *txStamps) expire(nowNs int64) {
	for s.n > 0 {
		p := &s.pending[s.head]
		if p.rx != 0 && nowNs-p.sentNs < int64(maxTxDelay) {
			return
		}
		s.head = (s.head + 1) % pendingLen
		s.n--
	}
}

// txStampOf finds the transmit timestamp in the control messages of an
// error-queue message: an extended error of timestamping origin for a
// send, and the time itself. A card's timestamp is converted through hw
// (by the interface in the message's packet info) or, failing that, not
// used at all: the SCM_TIMESTAMPNS beside it is then the time the message
// was read, not sent.
func txStampOf(ctl []byte, hw *hwStamps) (time.Time, bool) {
	var ns, sw, hwRaw time.Time
	var ifindex int32
	isStamp := false
	for {
		c, rest, more := mmsg.NextCmsg(ctl)
		if !more {
			break
		}
		ctl = rest
		switch {
		case c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPNS:
			if sec, nsec, good := mmsg.Timespec(c.Data); good && sec != 0 {
				ns = time.Unix(sec, nsec)
			}
		case c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPING:
			sw, hwRaw = scmTimestamping(c.Data)
		case (c.Level == unix.IPPROTO_IP && c.Type == unix.IP_RECVERR) ||
			(c.Level == unix.IPPROTO_IPV6 && c.Type == unix.IPV6_RECVERR):
			if len(c.Data) >= int(unsafe.Sizeof(unix.SockExtendedErr{})) {
				ee := (*unix.SockExtendedErr)(unsafe.Pointer(&c.Data[0]))
				isStamp = ee.Errno == uint32(unix.ENOMSG) &&
					ee.Origin == unix.SO_EE_ORIGIN_TIMESTAMPING && ee.Info == unix.SCM_TSTAMP_SND
			}
		case c.Level == unix.IPPROTO_IP && c.Type == unix.IP_PKTINFO && len(c.Data) >= unix.SizeofInet4Pktinfo:
			ifindex = (*unix.Inet4Pktinfo)(unsafe.Pointer(&c.Data[0])).Ifindex
		case c.Level == unix.IPPROTO_IPV6 && c.Type == unix.IPV6_PKTINFO && len(c.Data) >= unix.SizeofInet6Pktinfo:
			ifindex = int32((*unix.Inet6Pktinfo)(unsafe.Pointer(&c.Data[0])).Ifindex)
		}
	}
	switch {
	case !isStamp:
		return time.Time{}, false
	case !hwRaw.IsZero():
		if hw == nil {
			return time.Time{}, false
		}
		return hw.toSys(ifindex, hwRaw)
	case !sw.IsZero():
		return sw, true
	}
	return ns, !ns.IsZero()
}
