package server

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
	"time"

	"stratum1/ntp"
)

// outcome is what to do with one datagram.
type outcome uint8

const (
	outDrop    outcome = iota // no reply
	outReply                  // send the 48-byte reply built in out
	outControl                // hand the request to the control handler
)

// replyLen is the length of every NTP reply: a bare header. Extension fields
// of a request are not echoed, so a reply is never longer than its request.
const replyLen = ntp.HeaderLen

// xmitOffset is where the transmit timestamp sits in a header; the sender
// writes it just before the datagram leaves.
const xmitOffset = 40

type policyBox struct{ p Policy }
type controlBox struct{ c Control }

// handler is the sans-IO core of the responder: it turns one request, its
// source and its receive time into a reply. It does not allocate.
type handler struct {
	state ntp.StateSource
	// serveTime maps a system-clock reading to the served clock; nil when
	// they are the same (the daemon). The simulator serves a simulated
	// oscillator's time from kernel timestamps through it.
	serveTime func(time.Time) time.Time
	policy    atomic.Pointer[policyBox]
	control   atomic.Pointer[controlBox]
}

// served maps a system-clock reading to the served clock.
func (h *handler) served(sys time.Time) time.Time {
	if h.serveTime == nil {
		return sys
	}
	return h.serveTime(sys)
}

// handle decides what to do with req, received from src at rx, and for
// outReply builds the reply into out (at least replyLen bytes) with a zero
// transmit timestamp. It counts the datagram in c.
func (h *handler) handle(req []byte, src netip.AddrPort, rx time.Time, out []byte, c *Counters) outcome {
	c.Received++
	version, mode, err := ntp.PeekMode(req)
	if err != nil {
		c.Dropped[DropShort]++
		return outDrop
	}
	if version < 1 || version > 4 {
		c.Dropped[DropVersion]++
		return outDrop
	}
	if mode == ntp.ModeControl {
		return h.controlVerdict(src, rx, c)
	}
	if mode != ntp.ModeClient {
		c.Dropped[DropMode]++
		return outDrop
	}
	if len(req) < ntp.HeaderLen {
		c.Dropped[DropShort]++
		return outDrop
	}
	if len(req) > ntp.HeaderLen {
		// RFC 7822: unknown fields are ignored, but a length that does not
		// add up means the packet is not NTP.
		if _, err := ntp.ParseExtensions(req, nil); err != nil {
			c.Dropped[DropMalformed]++
			return outDrop
		}
	}
	if !answerable(src) {
		c.Dropped[DropSource]++
		return outDrop
	}
	verdict := Serve
	if pb := h.policy.Load(); pb != nil && pb.p != nil {
		verdict = pb.p.Check(src.Addr(), mode, rx)
	}
	switch verdict {
	case Serve:
		h.reply(req, version, rx, out)
		c.Answered++
	case KissDeny:
		kiss(req, version, rx, ntp.KissDENY, out)
		c.KoD[kodDeny]++
	case KissRate:
		kiss(req, version, rx, ntp.KissRATE, out)
		c.KoD[kodRate]++
	case KissRstr:
		kiss(req, version, rx, ntp.KissRSTR, out)
		c.KoD[kodRstr]++
	default:
		c.Dropped[DropPolicy]++
		return outDrop
	}
	return outReply
}

func (h *handler) controlVerdict(src netip.AddrPort, rx time.Time, c *Counters) outcome {
	cb := h.control.Load()
	if cb == nil || cb.c == nil || !answerable(src) {
		c.Dropped[DropControl]++
		return outDrop
	}
	if pb := h.policy.Load(); pb != nil && pb.p != nil {
		if pb.p.Check(src.Addr(), ntp.ModeControl, rx) != Serve {
			c.Dropped[DropControl]++
			return outDrop
		}
	}
	c.Control++
	return outControl
}

// answerable rejects sources no reply can or should go to.
func answerable(src netip.AddrPort) bool {
	a := src.Addr()
	return src.Port() != 0 && a.IsValid() && !a.IsUnspecified() && !a.IsMulticast()
}

// reply builds a server reply from the published state.
func (h *handler) reply(req []byte, version uint8, rx time.Time, out []byte) {
	st := h.state.Load()
	hdr := ntp.Header{
		Version:  version,
		Mode:     ntp.ModeServer,
		Poll:     int8(req[2]),
		RecvTime: ntp.TimeFrom(rx),
		OrigTime: ntp.Time(binary.BigEndian.Uint64(req[xmitOffset:])),
	}
	if st == nil {
		hdr.Leap = ntp.LeapNotInSync
		hdr.RefID = ntp.RefINIT
		hdr.Precision = -20
	} else {
		hdr.Leap = st.Leap
		hdr.Stratum = st.Stratum
		hdr.Precision = st.Precision
		hdr.RefID = st.RefID
		// Rounded up: they bound the error, and a few µs must not read as 0.
		hdr.RootDelay = ntp.ShortUp(st.RootDelay)
		hdr.RootDispersion = ntp.ShortUp(st.DispersionAt(rx))
		if !st.RefTime.IsZero() {
			hdr.RefTime = ntp.TimeFrom(st.RefTime)
		}
		if !st.Synchronised() {
			// RFC 5905 7.3: stratum 16 and above go out as 0, which with
			// leap 3 tells every client not to use this time.
			hdr.Leap = ntp.LeapNotInSync
			hdr.Stratum = 0
			if hdr.RefID == 0 {
				hdr.RefID = ntp.RefINIT
			}
		}
	}
	hdr.Encode(out)
}

// kiss builds a kiss-o'-death reply carrying code. It echoes the request's
// transmit timestamp so that the client can tell it is genuine.
func kiss(req []byte, version uint8, rx time.Time, code ntp.RefID, out []byte) {
	hdr := ntp.Header{
		Leap:     ntp.LeapNotInSync,
		Version:  version,
		Mode:     ntp.ModeServer,
		Stratum:  ntp.StratumKiss,
		Poll:     int8(req[2]),
		RefID:    code,
		OrigTime: ntp.Time(binary.BigEndian.Uint64(req[xmitOffset:])),
		RecvTime: ntp.TimeFrom(rx),
	}
	hdr.Encode(out)
}

// stampXmit writes the transmit timestamp t into a reply built by handle.
func stampXmit(out []byte, t ntp.Time) {
	binary.BigEndian.PutUint64(out[xmitOffset:], uint64(t))
}
