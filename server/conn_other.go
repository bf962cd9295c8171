//go:build !linux

package server

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"stratum1/ntp"
)

// worker is the portable fallback: one datagram per system call and
// user-space receive timestamps. The appliance runs on Linux, where
// conn_linux.go batches and takes kernel timestamps.
type worker struct {
	h      *handler
	conn   *net.UDPConn
	local  netip.AddrPort
	shared *sharedCounters
}

func skippable(netip.AddrPort, error) bool { return false }

// reserveProcs is needed only where workers block in system calls.
func reserveProcs(int) (release func()) { return func() {} }

func listen(ap netip.AddrPort, h *handler, _ *slog.Logger, _ time.Duration) (*worker, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	return &worker{h: h, conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort()}, nil
}

func (w *worker) close() { w.conn.Close() }

// retire closes the socket; a reply being built is sent or dropped.
func (w *worker) retire() { w.conn.Close() }

func (w *worker) serve() error {
	buf := make([]byte, 2048)
	out := make([]byte, replyLen)
	var c Counters
	for {
		n, src, err := w.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		rx := w.h.served(time.Now())
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		switch o := w.h.handle(buf[:n], src, rx, out, &c); o {
		case outReply, outReplyStamp, outReplyXleave, outReplySealed, outReplySealedStamp:
			// No kernel transmit timestamps here: an interleaved
			// client gets the user-space time taken before sending.
			tx := ntp.TimeFrom(w.h.served(time.Now()))
			if !o.presetXmit() {
				stampXmit(out, tx)
			}
			if o.recorded() {
				w.h.xleave.save(src.Addr(), ntp.Time(binary.BigEndian.Uint64(out[recvOffset:])), tx&^rxFlag)
			}
			if _, err := w.conn.WriteToUDPAddrPort(out, src); err != nil {
				c.Dropped[DropSend]++
			}
		case outExt:
			ext := make([]byte, len(buf))
			if m, _ := w.h.serveExt(buf[:n], src, rx, time.Now, ext, &c); m > 0 {
				if _, err := w.conn.WriteToUDPAddrPort(ext[:m], src); err != nil {
					c.Answered--
					c.Dropped[DropSend]++
				}
			}
		case outControl:
			if cb := w.h.control.Load(); cb != nil && cb.c != nil {
				for _, resp := range cb.c.HandleControl(buf[:n], src) {
					_, _ = w.conn.WriteToUDPAddrPort(resp, src)
				}
			}
		}
		w.shared.publish(&c)
	}
}
