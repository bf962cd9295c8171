package nts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"stratum1/ntp"
	"stratum1/nts/siv"
)

// Session is what a client holds after NTS-KE: the keys and cookies, and
// where to send NTP. The load generator and the tests use it.
type Session struct {
	C2S, S2C []byte
	Cookies  [][]byte
	Server   string // from the Server Negotiation record, "" for none
	Port     int    // from the Port Negotiation record, 0 for none

	c2s, s2c *siv.SIV
}

// KeyExchange runs NTS-KE with the server at addr and returns the session.
// cfg supplies the roots and server name; its ALPN and version are set here.
func KeyExchange(ctx context.Context, addr string, cfg *tls.Config) (*Session, error) {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{alpn}
	cfg.MinVersion = tls.VersionTLS13
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("nts-ke: %w", err)
	}
	conn := c.(*tls.Conn)
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var req []byte
	req = AppendRecord(req, Record{Critical: true, Type: recNextProto, Body: u16s(protoNTPv4)})
	req = AppendRecord(req, Record{Critical: true, Type: recAEAD, Body: u16s(aeadSIVCMAC256)})
	req = AppendRecord(req, Record{Critical: true, Type: recEnd})
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("nts-ke: write: %w", err)
	}
	resp, err := io.ReadAll(io.LimitReader(conn, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("nts-ke: read: %w", err)
	}
	s := &Session{}
	for len(resp) > 0 {
		r, rest, err := ParseRecord(resp)
		if err != nil {
			return nil, err
		}
		resp = rest
		switch r.Type {
		case recError:
			return nil, fmt.Errorf("nts-ke: server sent error %x", r.Body)
		case recCookie:
			s.Cookies = append(s.Cookies, bytes.Clone(r.Body))
		case recServer:
			s.Server = string(r.Body)
		case recPort:
			if len(r.Body) == 2 {
				s.Port = int(binary.BigEndian.Uint16(r.Body))
			}
		case recEnd:
			resp = nil
		}
	}
	if len(s.Cookies) == 0 {
		return nil, errors.New("nts-ke: no cookies")
	}
	if s.C2S, s.S2C, err = ExportKeys(conn.ConnectionState()); err != nil {
		return nil, err
	}
	if err := s.init(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Session) init() (err error) {
	if s.c2s, err = siv.New(s.C2S); err != nil {
		return err
	}
	s.s2c, err = siv.New(s.S2C)
	return err
}

// NTPAddr returns where to send NTS-protected NTP, given the KE host.
func (s *Session) NTPAddr(keHost string) string {
	host, port := keHost, 123
	if s.Server != "" {
		host = s.Server
	}
	if s.Port != 0 {
		port = s.Port
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// AppendField appends an NTP extension field, padded to a multiple of 4.
func AppendField(b []byte, typ uint16, body []byte) []byte {
	n := extHeaderLen + pad4(len(body))
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, body...)
	for range pad4(len(body)) - len(body) {
		b = append(b, 0)
	}
	return b
}

// Request builds into b[:0] an NTS-protected client request with transmit
// timestamp xmit and the unique identifier uid (32 bytes or more), using
// (and consuming) one cookie and asking with placeholders for enough new
// ones to hold want. It reports false when no cookie is left.
func (s *Session) Request(b []byte, xmit ntp.Time, uid []byte, want int) ([]byte, bool) {
	if len(s.Cookies) == 0 {
		return b[:0], false
	}
	cookie := s.Cookies[len(s.Cookies)-1]
	s.Cookies = s.Cookies[:len(s.Cookies)-1]
	h := ntp.Header{Version: 4, Mode: ntp.ModeClient, XmitTime: xmit}
	b = append(b[:0], make([]byte, ntp.HeaderLen)...)
	h.Encode(b)
	b = AppendField(b, ExtUniqueID, uid)
	b = AppendField(b, ExtCookie, cookie)
	for i := len(s.Cookies) + 1; i < want; i++ {
		b = AppendField(b, ExtPlaceholder, make([]byte, len(cookie)))
	}
	authOff := len(b)
	var nonce [nonceLen]byte
	_, _ = rand.Read(nonce[:])
	b = binary.BigEndian.AppendUint16(b, ExtAuth)
	b = binary.BigEndian.AppendUint16(b, uint16(extHeaderLen+4+nonceLen+siv.Overhead))
	b = binary.BigEndian.AppendUint16(b, nonceLen)
	b = binary.BigEndian.AppendUint16(b, siv.Overhead)
	b = append(b, nonce[:]...)
	b = s.c2s.Seal(b, nonce[:], nil, b[:authOff])
	return b, true
}

// Errors of ParseReply.
var (
	ErrNAK     = errors.New("nts: NTS NAK")
	ErrNotNTS  = errors.New("nts: reply is not authenticated")
	ErrBadAuth = errors.New("nts: reply does not authenticate")
)

// ParseReply checks a reply to a request with unique identifier uid,
// stores the cookies it carries, and returns its header.
func (s *Session) ParseReply(b, uid []byte) (ntp.Header, error) { return s.parseReply(b, uid, true) }

// Verify checks a reply like ParseReply but keeps none of its cookies.
func (s *Session) Verify(b, uid []byte) error {
	_, err := s.parseReply(b, uid, false)
	return err
}

func (s *Session) parseReply(b, uid []byte, keep bool) (ntp.Header, error) {
	var h ntp.Header
	if err := h.Decode(b); err != nil {
		return h, err
	}
	r, _ := walk(b) // a reply has no cookie outside the authenticator
	if r.uid == nil || len(r.uid)-extHeaderLen < len(uid) || !bytes.Equal(r.uid[extHeaderLen:extHeaderLen+len(uid)], uid) {
		return h, ErrNotNTS
	}
	if code, kiss := h.IsKiss(); kiss && code == kissNTSN {
		return h, ErrNAK
	}
	if r.authOff == 0 {
		return h, ErrNotNTS
	}
	plain, err := s.s2c.Open(nil, r.nonce, r.ct, b[:r.authOff])
	if err != nil {
		return h, ErrBadAuth
	}
	for len(plain) >= extHeaderLen {
		typ := binary.BigEndian.Uint16(plain)
		n := int(binary.BigEndian.Uint16(plain[2:]))
		if n < extHeaderLen || n > len(plain) {
			break
		}
		if typ == ExtCookie && keep {
			s.Cookies = append(s.Cookies, bytes.Clone(plain[extHeaderLen:n]))
		}
		plain = plain[n:]
	}
	return h, nil
}

// Sealer re-authenticates copies of a request template after their header
// changed: how the load generator sends many requests on one cookie, as a
// client that reuses its cookie would (the server keeps no state to notice).
type Sealer struct {
	aead                      *siv.SIV
	authOff, nonceOff, tagOff int
}

// Template builds a request with unique identifier uid on the session's
// newest cookie, without using the cookie up, asking for one cookie back.
func (s *Session) Template(uid []byte) ([]byte, Sealer, bool) {
	keep := s.Cookies
	b, ok := s.Request(nil, 0, uid, 0)
	s.Cookies = keep
	if !ok {
		return nil, Sealer{}, false
	}
	authOff := len(b) - (extHeaderLen + 4 + nonceLen + siv.Overhead)
	return b, Sealer{aead: s.c2s, authOff: authOff, nonceOff: authOff + 8, tagOff: authOff + 8 + nonceLen}, true
}

// Seal recomputes the authenticator of b, a copy of the template whose
// header has changed. It does not allocate.
func (r Sealer) Seal(b []byte) {
	r.aead.Seal(b[r.tagOff:r.tagOff], b[r.nonceOff:r.tagOff], nil, b[:r.authOff])
}
