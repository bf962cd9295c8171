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
	outReply                  // send the 48-byte reply built in out, stamped as it goes
	outControl                // hand the request to the control handler
	// outReplyStamp is outReply to a client that asks for interleaved
	// mode: the exchange is recorded and the kernel's transmit timestamp
	// of the reply requested, for the client's next request.
	outReplyStamp
	// outReplyXleave is an interleaved reply: its transmit timestamp is
	// already set (the previous reply's departure) and must not be
	// overwritten; otherwise as outReplyStamp.
	outReplyXleave
	// outReplySealed is a reply whose header is authenticated (NTS): its
	// transmit timestamp was set before the authenticator was computed
	// and must not be overwritten. outReplySealedStamp is the same to a
	// client that asks for interleaved mode, recorded as outReplyStamp.
	// See sealXmit.
	outReplySealed
	outReplySealedStamp
	outExt // serve it through the extensions hook (serveExt)
)

// presetXmit reports whether a reply with outcome o carries its transmit
// timestamp already, so that the sender must not stamp it.
func (o outcome) presetXmit() bool {
	return o == outReplyXleave || o == outReplySealed || o == outReplySealedStamp
}

// recorded reports whether a reply with outcome o goes to an interleaved
// client: the exchange is recorded and the kernel's transmit timestamp of
// the reply requested.
func (o outcome) recorded() bool {
	return o == outReplyStamp || o == outReplyXleave || o == outReplySealedStamp
}

// replyLen is the length of every NTP reply: a bare header. Extension fields
// of a request are not echoed, so a reply is never longer than its request.
const replyLen = ntp.HeaderLen

// xmitOffset is where the transmit timestamp sits in a header; the sender
// writes it just before the datagram leaves.
const xmitOffset = 40

type policyBox struct{ p Policy }
type controlBox struct{ c Control }
type extBox struct{ e Extensions }

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
	// xleave holds the exchanges of interleaved clients; nil serves
	// everyone in basic mode.
	xleave *xleaveTable
	// hw converts the hardware timestamps of the interfaces that have
	// them on; nil without any (the I/O side's, kept here beside the
	// clock mapping that every worker shares).
	hw  *hwStamps
	ext atomic.Pointer[extBox]
}

// served maps a system-clock reading to the served clock.
func (h *handler) served(sys time.Time) time.Time {
	if h.serveTime == nil {
		return sys
	}
	return h.serveTime(sys)
}

// handle decides what to do with req, received from src at rx, and for a
// reply (outReply, outReplyStamp, outReplyXleave; see reply) builds it
// into out (at least replyLen bytes), with a zero transmit timestamp
// unless interleaved. It counts the datagram in c.
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
	replyMode, ok := replyModeFor(version, mode, src)
	if !ok {
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
		if mode == ntp.ModeReserved {
			mode = ntp.ModeClient // NTPv1: a client, as replyModeFor decided
		}
		verdict = pb.p.Check(src.Addr(), mode, rx)
	}
	switch verdict {
	case Serve:
		if len(req) > ntp.HeaderLen && h.ext.Load() != nil {
			return outExt
		}
		// buildReply, spelt out: the plain path makes one call, as
		// before interleaved mode.
		h.reply(req, version, replyMode, rx, out)
		c.Answered++
		if h.xleave != nil && req[origOffset+7]&rxFlag != 0 {
			o := h.interleave(req, version, src, out)
			if o == outReplyXleave {
				c.Interleaved++
			}
			return o
		}
	case KissDeny:
		kiss(req, version, replyMode, rx, ntp.KissDENY, out)
		c.KoD[kodDeny]++
	case KissRate:
		kiss(req, version, replyMode, rx, ntp.KissRATE, out)
		c.KoD[kodRate]++
	case KissRstr:
		kiss(req, version, replyMode, rx, ntp.KissRSTR, out)
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

// replyModeFor returns the mode of the reply to a request, as chronyd
// answers: a client (mode 3) gets a server reply (mode 4); a symmetric
// active peer (mode 1) gets a symmetric passive reply (mode 2) and no
// association is kept, so it is served like a client; an NTPv1 request,
// whose first byte had no mode field (mode 0), is a client's unless it
// comes from port 123, where it would be a peer's. Everything else is not
// a request.
func replyModeFor(version uint8, mode ntp.Mode, src netip.AddrPort) (ntp.Mode, bool) {
	switch {
	case mode == ntp.ModeClient:
		return ntp.ModeServer, true
	case mode == ntp.ModeSymmetricActive:
		return ntp.ModeSymmetricPassive, true
	case mode == ntp.ModeReserved && version == 1 && src.Port() != ntpPort:
		return ntp.ModeServer, true
	}
	return 0, false
}

// ntpPort is NTP's well-known port.
const ntpPort = 123

// answerable rejects sources no reply can or should go to.
func answerable(src netip.AddrPort) bool {
	a := src.Addr()
	return src.Port() != 0 && a.IsValid() && !a.IsUnspecified() && !a.IsMulticast()
}

// buildReply builds the reply to req, received from src at rx, into out,
// in interleaved mode when the client asks and its previous exchange is
// known, and returns the outcome to send it with (see interleave). It is
// what handle does for a request it serves (there inline). An
// authenticated (NTS) reply path calls it too, appends its extension
// fields, and passes the outcome through sealXmit before computing its
// authenticator.
func (h *handler) buildReply(req []byte, version uint8, src netip.AddrPort, rx time.Time, out []byte) outcome {
	h.reply(req, version, ntp.ModeServer, rx, out)
	// Off the plain path only when the origin may be one of ours.
	if h.xleave != nil && req[origOffset+7]&rxFlag != 0 {
		return h.interleave(req, version, src, out)
	}
	return outReply
}

// reply builds a basic-mode reply (mode 4, or 2 to symmetric active) from
// the published state; its
// receive timestamp has the low bit set that marks it as one (see
// xleave.go).
func (h *handler) reply(req []byte, version uint8, mode ntp.Mode, rx time.Time, out []byte) {
	st := h.state.Load()
	hdr := ntp.Header{
		Version:  version,
		Mode:     mode,
		Poll:     int8(req[2]),
		RecvTime: ntp.TimeFrom(rx) | rxFlag,
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
		// Error bounds round up: a locked box's few hundred nanoseconds
		// are one unit on the wire, not 0 (and root distance includes
		// half the root delay).
		hdr.RootDelay = ntp.ShortCeil(st.RootDelay)
		hdr.RootDispersion = ntp.ShortCeil(st.DispersionAt(rx))
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

// interleave turns out, reply's answer to req from src, into an
// interleaved one when the client asks and its previous exchange is
// known, and says how the reply must be sent: outReply (stamp it as it
// leaves), outReplyStamp (the same, and record the exchange for the
// client's next, interleaved, request) or outReplyXleave (the transmit
// timestamp is the previous reply's departure; record this exchange too).
func (h *handler) interleave(req []byte, version uint8, src netip.AddrPort, out []byte) outcome {
	rx := ntp.Time(binary.BigEndian.Uint64(out[recvOffset:]))
	origin, asks := asksInterleaved(req, version, rx)
	if !asks {
		return outReply
	}
	tx, _, ok := h.xleave.take(src.Addr(), origin)
	if !ok {
		return outReplyStamp
	}
	// RFC 9769: the origin timestamp of an interleaved reply is the
	// request's receive timestamp, which tells the client that the
	// transmit timestamp is that of the previous reply.
	copy(out[origOffset:origOffset+8], req[recvOffset:recvOffset+8])
	binary.BigEndian.PutUint64(out[xmitOffset:], uint64(tx&^rxFlag))
	return outReplyXleave
}

// sealXmit is for a reply path whose header is authenticated, as NTS's
// is (RFC 8915): the transmit timestamp must be in place before the
// authenticator is computed, so it cannot be written as the reply leaves.
// Given out, a header built by buildReply, and its outcome, it stamps the
// transmit timestamp now when reply left that to the sender, and returns
// the outcome to send the sealed reply with. In interleaved mode the
// header already carries the previous reply's kernel transmit time, which
// stays exact however long the authenticator takes: the reason interleaved
// mode matters most with NTS.
func (h *handler) sealXmit(o outcome, out []byte, now time.Time) outcome {
	switch o {
	case outReply:
		stampXmit(out, ntp.TimeFrom(h.served(now)))
		return outReplySealed
	case outReplyStamp:
		stampXmit(out, ntp.TimeFrom(h.served(now)))
		return outReplySealedStamp
	}
	return o
}

// kiss builds a kiss-o'-death reply carrying code. It echoes the request's
// transmit timestamp so that the client can tell it is genuine.
func kiss(req []byte, version uint8, mode ntp.Mode, rx time.Time, code ntp.RefID, out []byte) {
	hdr := ntp.Header{
		Leap:     ntp.LeapNotInSync,
		Version:  version,
		Mode:     mode,
		Stratum:  ntp.StratumKiss,
		Poll:     int8(req[2]),
		RefID:    code,
		OrigTime: ntp.Time(binary.BigEndian.Uint64(req[xmitOffset:])),
		RecvTime: ntp.TimeFrom(rx),
	}
	hdr.Encode(out)
}

// stampXmit writes the transmit timestamp t into a reply built by handle,
// with the low bit clear that marks receive timestamps (see xleave.go).
func stampXmit(out []byte, t ntp.Time) {
	binary.BigEndian.PutUint64(out[xmitOffset:], uint64(t&^rxFlag))
}

// serveExt builds the reply to a request from src that handle passed on
// as outExt into out (at least len(req) bytes) and returns its length (0 to
// drop) and the outcome to send it with: the header is buildReply's,
// interleaved when the client asks, its transmit timestamp set through
// sealXmit at now() before the extensions hook appends its fields and
// authenticator. A reply the hook turns into a kiss-o'-death (an NTS NAK)
// is never recorded. Off the plain path: it may allocate.
func (h *handler) serveExt(req []byte, src netip.AddrPort, rx time.Time, now func() time.Time, out []byte, c *Counters) (int, outcome) {
	version, _, _ := ntp.PeekMode(req)
	o := h.sealXmit(h.buildReply(req, version, src, rx, out), out, now())
	n := replyLen
	if eb := h.ext.Load(); eb != nil {
		n = eb.e.HandleExtensions(req, out)
	}
	if n < replyLen || n > len(req) || n > len(out) {
		c.Dropped[DropMalformed]++
		return 0, outDrop
	}
	if out[1] == ntp.StratumKiss {
		o = outReplySealed
	}
	c.Answered++
	if o == outReplyXleave {
		c.Interleaved++
	}
	return n, o
}
