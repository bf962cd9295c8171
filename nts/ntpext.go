package nts

import (
	"crypto/rand"
	"encoding/binary"

	"stratum1/ntp"
	"stratum1/nts/siv"
)

// NTP extension field types of NTS (RFC 8915 section 5.7).
const (
	ExtUniqueID    uint16 = 0x0104
	ExtCookie      uint16 = 0x0204
	ExtPlaceholder uint16 = 0x0304
	ExtAuth        uint16 = 0x0404

	extHeaderLen = 4
	minUniqueID  = 32
	nonceLen     = 16
	maxCookies   = 8
)

// kissNTSN is the NTS NAK kiss code.
var kissNTSN = ntp.RefIDFromString("NTSN")

// ntsRequest is what HandleExtensions found in a request.
type ntsRequest struct {
	uid         []byte // the whole Unique Identifier field, header included
	cookie      []byte
	authOff     int // offset of the authenticator field
	nonce, ct   []byte
	placeholder int
	nts         bool // any NTS field at all
}

// walk parses the extension fields of an NTS request; ok is false for one
// that is malformed as NTS (not merely not NTS).
func walk(req []byte) (r ntsRequest, ok bool) {
	off := ntp.HeaderLen
	for len(req)-off >= extHeaderLen {
		typ := binary.BigEndian.Uint16(req[off:])
		n := int(binary.BigEndian.Uint16(req[off+2:]))
		if n < extHeaderLen || n%4 != 0 || off+n > len(req) {
			// Not a field: a legacy MAC, which the responder has
			// checked the length of. It is no NTS request's.
			return r, !r.nts
		}
		body := req[off+extHeaderLen : off+n]
		switch typ {
		case ExtUniqueID:
			r.nts = true
			if r.uid != nil || len(body) < minUniqueID {
				return r, false
			}
			r.uid = req[off : off+n]
		case ExtCookie:
			r.nts = true
			if r.cookie != nil {
				return r, false
			}
			r.cookie = body
		case ExtPlaceholder:
			r.nts = true
			if len(body) >= CookieLen {
				r.placeholder++
			}
		case ExtAuth:
			r.nts = true
			if len(body) < 4 {
				return r, false
			}
			nl := int(binary.BigEndian.Uint16(body))
			cl := int(binary.BigEndian.Uint16(body[2:]))
			pn, pc := pad4(nl), pad4(cl)
			if nl < nonceLen || cl < siv.Overhead || 4+pn+pc > len(body) {
				return r, false
			}
			r.authOff = off
			r.nonce = body[4 : 4+nl]
			r.ct = body[4+pn : 4+pn+cl]
			// Fields after the authenticator are not authenticated:
			// ignore them.
			return r, r.uid != nil && r.cookie != nil
		}
		off += n
	}
	return r, !r.nts
}

func pad4(n int) int { return (n + 3) &^ 3 }

// HandleExtensions implements server.Extensions. out holds the plain reply
// header, transmit timestamp included, and has room for len(req) bytes. It
// returns the reply's length: ntp.HeaderLen for a request with no NTS field,
// a longer authenticated reply, an NTS NAK, or 0 to drop.
func (s *Server) HandleExtensions(req, out []byte) int {
	r, ok := walk(req)
	if !ok {
		s.c.dropped.Add(1)
		return 0
	}
	if !r.nts {
		return ntp.HeaderLen
	}
	var c2s, s2c [keyLen]byte
	if !s.keys.openCookie(r.cookie, c2s[:], s2c[:]) {
		return s.nak(r, out)
	}
	keys, err := s.aeads.get(c2s[:], s2c[:])
	if err != nil {
		return s.nak(r, out)
	}
	// Encrypted extension fields may carry more placeholders. Decrypt
	// into out after the header, which the reply overwrites later: the
	// request buffer belongs to the caller.
	if len(out) < len(req) {
		s.c.dropped.Add(1)
		return 0
	}
	plain, err := keys.open.Open(out[ntp.HeaderLen:ntp.HeaderLen], r.nonce, r.ct, req[:r.authOff])
	if err != nil {
		return s.nak(r, out)
	}
	for off := 0; len(plain)-off >= extHeaderLen; {
		typ := binary.BigEndian.Uint16(plain[off:])
		n := int(binary.BigEndian.Uint16(plain[off+2:]))
		if n < extHeaderLen || off+n > len(plain) {
			break
		}
		if typ == ExtPlaceholder && n-extHeaderLen >= CookieLen {
			r.placeholder++
		}
		off += n
	}
	return s.reply(r, req, out, keys)
}

// reply builds the authenticated reply: the unique identifier echoed, then
// the authenticator sealing fresh cookies, one per cookie and placeholder
// sent, as many as fit in the request's length.
func (s *Server) reply(r ntsRequest, req, out []byte, keys *aeadPair) int {
	const cookieField = extHeaderLen + CookieLen // 104, a multiple of 4
	const authFixed = extHeaderLen + 4 + nonceLen + siv.Overhead
	off := ntp.HeaderLen + copy(out[ntp.HeaderLen:], r.uid)
	k := min(1+r.placeholder, maxCookies)
	for k > 0 && off+authFixed+k*cookieField > len(req) {
		k--
	}
	if off+authFixed+k*cookieField > len(req) || off+authFixed+k*cookieField > len(out) {
		s.c.dropped.Add(1)
		return 0
	}
	authOff := off
	total := authFixed + k*cookieField
	binary.BigEndian.PutUint16(out[off:], ExtAuth)
	binary.BigEndian.PutUint16(out[off+2:], uint16(total))
	binary.BigEndian.PutUint16(out[off+4:], nonceLen)
	binary.BigEndian.PutUint16(out[off+6:], uint16(siv.Overhead+k*cookieField))
	ctOff := off + 8 + nonceLen
	end := ctOff + siv.Overhead + k*cookieField
	// One random read for the reply's nonce and every cookie's, into the
	// reply's last bytes (a local array would escape to the heap under
	// -race). Taken in order, each nonce is copied out before the cookie
	// written before it can reach it: cookie i ends 104(k-1-i) bytes
	// before end, nonce i+1 starts 16(k-1-i) before it.
	rnd := out[end-(1+k)*nonceLen : end]
	_, _ = rand.Read(rnd)
	nonce := out[off+8 : off+8+nonceLen]
	copy(nonce, rnd[:nonceLen])
	p := ctOff + siv.Overhead
	for i := 0; i < k; i++ {
		cookie := out[p+extHeaderLen : p+cookieField]
		copy(cookie[cookieIDLen:cookieIDLen+cookieNonce], rnd[(1+i)*nonceLen:])
		binary.BigEndian.PutUint16(out[p:], ExtCookie)
		binary.BigEndian.PutUint16(out[p+2:], cookieField)
		s.keys.sealCookieNonce(cookie, keys.c2s[:], keys.s2c[:])
		p += cookieField
	}
	keys.seal.Seal(out[ctOff:ctOff], nonce, out[ctOff+siv.Overhead:p], out[:authOff])
	s.c.cookies.Add(uint64(k))
	s.c.requests.Add(1)
	return p
}

// nak turns the reply into an NTS NAK: a kiss-o'-death NTSN carrying the
// request's unique identifier and nothing else.
func (s *Server) nak(r ntsRequest, out []byte) int {
	out[0] = byte(ntp.LeapNotInSync)<<6 | out[0]&0x3f
	out[1] = ntp.StratumKiss
	binary.BigEndian.PutUint32(out[12:], uint32(kissNTSN))
	n := ntp.HeaderLen + copy(out[ntp.HeaderLen:], r.uid)
	s.c.naks.Add(1)
	return n
}
