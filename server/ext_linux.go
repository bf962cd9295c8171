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
// 48-byte slots. Like every reply it goes out with its own sendmsg, and
// the slot's address and control buffers make that call allocation-free.
// A reply to an interleaved client asks for the kernel's transmit
// timestamp and is recorded as the plain path's are (txstamp_linux.go);
// its transmit timestamp is the one sealed into it, never rewritten.
func (w *worker) serveExt(i int, rx time.Time, dst netip.Addr, ifindex int32) {
	if w.ext == nil {
		w.ext = mmsg.NewBatch(1, rxBufLen, ctlLen)
	}
	src := w.rx.Addr(i)
	n, o := w.h.serveExt(w.rx.Data(i), src, rx, time.Now, w.ext.Buf(0), &w.c)
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
	for {
		errno := mmsg.SendOne(uintptr(w.fd), w.ext, 0, unix.MSG_NOSIGNAL)
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
