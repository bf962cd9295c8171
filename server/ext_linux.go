package server

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// serveExt answers request i of the received batch through the extensions
// hook, at once and with its own sendmsg: such replies are longer than the
// batch's buffers, and are rare enough that batching them buys nothing.
func (w *worker) serveExt(i int, rx time.Time, dst netip.Addr, ifindex int32) {
	if w.extBuf == nil {
		w.extBuf = make([]byte, rxBufLen)
	}
	req := w.rx.Data(i)
	n := w.h.serveExt(req, rx, time.Now, w.extBuf, &w.c)
	if n == 0 {
		return
	}
	// The control buffer of the next free reply slot is scratch here.
	j := w.ntx
	oob := w.tx.CtlBuf(j)[:w.buildControl(j, dst, ifindex, false)]
	for {
		_, err := unix.SendmsgN(w.fd, w.extBuf[:n], oob, sockaddrOf(w.rx.Addr(i)), unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			w.c.Answered--
			w.c.Dropped[DropSend]++
		}
		return
	}
}
