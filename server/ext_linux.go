package server

import (
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
	"stratum1/server/internal/mmsg"
)

// serveExt answers request i of the received batch through the extensions
// hook, at once, from a one-slot batch of its own whose buffer holds any
// request's length: such replies (NTS) are longer than the reply batch's
// 48-byte slots. Like every reply it goes out with its own sendmsg, raw
// and non-blocking as the plain replies' (mmsg.SendOneNow), and the
// slot's address and control buffers make that call allocation-free.
// A reply to an interleaved client asks for the kernel's transmit
// timestamp and is recorded as the plain path's are (txstamp_linux.go);
// its transmit timestamp is the one sealed into it, never rewritten.
func (w *worker) serveExt(i int, rx time.Time, dst netip.Addr, ifindex int32) {
	if w.ext == nil {
		w.ext = mmsg.NewBatch(1, rxBufLen, ctlLen)
		w.stampExt = w.lead.stamp
	}
	src := w.rx.Addr(i)
	w.lead.read = time.Time{}
	n, o := w.h.serveExt(w.rx.Data(i), src, rx, w.stampExt, w.ext.Buf(0), &w.c)
	if n == 0 {
		return
	}
	w.ext.CopyAddr(0, w.rx, i)
	w.ext.SetData(0, n)
	w.ext.SetControl(0, w.putControl(w.ext.CtlBuf(0), dst, ifindex, o.recorded()))
	if o.recorded() {
		now := time.Now()
		w.recordStamped(w.ext.Buf(0), src.Addr(), n, ntp.TimeFrom(w.h.served(now)), now.UnixNano())
	}
	if !w.lead.read.IsZero() {
		w.lead.learn(time.Since(w.lead.read))
	}
	for {
		errno := mmsg.SendOneNow(uintptr(w.fd), w.ext, 0, unix.MSG_NOSIGNAL)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			w.c.Answered--
			if o == outReplyXleave {
				w.c.Interleaved--
			}
			w.c.Dropped[DropSend]++
		}
		break
	}
	if o.recorded() {
		// Software timestamps are queued before sendmsg returns.
		w.readTxStamps()
	}
}

// putControl writes the control messages of a reply into b: the source
// address that the request was sent to (so that a multi-homed server
// answers from the address the client asked) and, with stamp, the request
// for a kernel transmit timestamp. It returns their length.
func (w *worker) putControl(b []byte, dst netip.Addr, ifindex int32, stamp bool) int {
	n := 0
	if stamp {
		n += putTxStampRequest(b, w.hwOn)
	}
	if w.pinfo && dst.IsValid() && !dst.IsMulticast() {
		if w.v6 {
			d, sp := mmsg.PutCmsg(b[n:], unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&d[0]))
			pi.Addr, pi.Ifindex = dst.As16(), uint32(ifindex)
			n += sp
		} else {
			d, sp := mmsg.PutCmsg(b[n:], unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&d[0]))
			*pi = unix.Inet4Pktinfo{Ifindex: ifindex, Spec_dst: dst.As4()}
			n += sp
		}
	}
	return n
}

// sealLead estimates how long an authenticated reply takes from the reading
// of its transmit timestamp to its send. The authenticator covers that
// timestamp, so it is read before the sealing (the cookies, the AEAD), which
// costs a microsecond here and several on a Pi without AES instructions: a
// reply stamped at the reading would tell every basic-mode NTS client that
// it left that much earlier than it did, a bias in their offset of half of
// it. The reply is stamped at the reading plus the lead, as ntpd once
// added its authentication delay, so that its timestamp trails its
// departure as a plain reply's does (by the kernel's send path alone).
// Interleaved clients get the kernel's own transmit timestamp anyway.
type sealLead struct {
	lead time.Duration // the estimate in force
	read time.Time     // the last reading stamped; zero when none since reset
}

// stamp reads the clock for a reply's transmit timestamp and returns the
// time the reply is expected to leave.
func (l *sealLead) stamp() time.Time {
	l.read = time.Now()
	return l.read.Add(l.lead)
}

// learn takes one measured reading-to-send time d. The estimate moves an
// eighth of the way to each measurement, and a measurement more than twice
// the estimate (a preemption, a page fault) counts as twice it: the lead
// follows the typical sealing time, not its tail.
func (l *sealLead) learn(d time.Duration) {
	switch {
	case d <= 0:
		return
	case l.lead == 0:
		l.lead = d
		return
	}
	d = min(d, 2*l.lead)
	l.lead += (d - l.lead) / 8
}
