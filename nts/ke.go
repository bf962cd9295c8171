package nts

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"
)

const (
	alpn = "ntske/1"
	// ExporterLabel and the context below derive the NTP keys (RFC 8915
	// section 5.1).
	ExporterLabel = "EXPORTER-network-time-security"
	// cookiesPerKE is how many cookies one exchange hands out.
	cookiesPerKE = 8
	// maxRequest bounds what a client may send before End of Message.
	maxRequest = 4096
)

// exporterContext is the key-export context for protocol NTPv4, the AEAD
// and direction: 0 client-to-server, 1 server-to-client.
func exporterContext(aead uint16, dir byte) []byte {
	var b [5]byte
	binary.BigEndian.PutUint16(b[0:], protoNTPv4)
	binary.BigEndian.PutUint16(b[2:], aead)
	b[4] = dir
	return b[:]
}

// ExportKeys derives the client-to-server and server-to-client keys of
// AEAD_AES_SIV_CMAC_256 from a finished NTS-KE TLS session.
func ExportKeys(cs tls.ConnectionState) (c2s, s2c []byte, err error) {
	c2s, err = cs.ExportKeyingMaterial(ExporterLabel, exporterContext(aeadSIVCMAC256, 0), keyLen)
	if err != nil {
		return nil, nil, fmt.Errorf("nts: export c2s key: %w", err)
	}
	s2c, err = cs.ExportKeyingMaterial(ExporterLabel, exporterContext(aeadSIVCMAC256, 1), keyLen)
	if err != nil {
		return nil, nil, fmt.Errorf("nts: export s2c key: %w", err)
	}
	return c2s, s2c, nil
}

// serveKE runs one NTS-KE exchange on conn, within SessionTimeout for the
// whole of it, and closes conn.
func (s *Server) serveKE(ctx context.Context, raw net.Conn) {
	defer raw.Close()
	deadline := time.Now().Add(s.cfg.SessionTimeout)
	_ = raw.SetDeadline(deadline)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn := tls.Server(raw, s.tls)
	if err := conn.HandshakeContext(ctx); err != nil {
		s.c.keErrors.Add(1)
		s.log.Debug("nts-ke handshake", "peer", raw.RemoteAddr(), "err", err)
		return
	}
	cs := conn.ConnectionState()
	if cs.NegotiatedProtocol != alpn {
		// A client that offered no ALPN at all: this is not NTS-KE.
		s.c.keErrors.Add(1)
		return
	}
	resp, err := s.exchange(conn, cs)
	if err != nil {
		s.c.keErrors.Add(1)
		s.log.Debug("nts-ke request", "peer", raw.RemoteAddr(), "err", err)
	}
	if resp != nil {
		if _, err := conn.Write(resp); err != nil {
			return
		}
	}
	_ = conn.CloseWrite()
}

// exchange reads the client's message and returns the response to send:
// cookies, or an Error record (with a non-nil error).
func (s *Server) exchange(conn io.Reader, cs tls.ConnectionState) ([]byte, error) {
	msg, err := readMessage(conn)
	if err != nil {
		var ec *errorCode
		if errors.As(err, &ec) {
			return errorResponse(ec.code), err
		}
		return nil, err
	}
	req, err := parseRequest(msg)
	if err != nil {
		var ec *errorCode
		if errors.As(err, &ec) {
			return errorResponse(ec.code), err
		}
		return errorResponse(errBadRequest), err
	}
	if !slices.Contains(req.protocols, protoNTPv4) {
		// RFC 8915 4.1.2: an empty Next Protocol record says none is
		// supported.
		out := AppendRecord(nil, Record{Critical: true, Type: recNextProto})
		return AppendRecord(out, Record{Critical: true, Type: recEnd}), errors.New("nts-ke: client does not speak NTPv4")
	}
	if !slices.Contains(req.aeads, aeadSIVCMAC256) {
		return errorResponse(errBadRequest), fmt.Errorf("nts-ke: no supported AEAD in %v", req.aeads)
	}
	c2s, s2c, err := ExportKeys(cs)
	if err != nil {
		return errorResponse(errInternal), err
	}
	return s.response(c2s, s2c), nil
}

// response builds the successful answer: NTPv4, the AEAD, where to send
// NTP when it is not the KE server's port 123, eight cookies.
func (s *Server) response(c2s, s2c []byte) []byte {
	out := make([]byte, 0, 64+cookiesPerKE*(recHeaderLen+CookieLen))
	out = AppendRecord(out, Record{Critical: true, Type: recNextProto, Body: u16s(protoNTPv4)})
	out = AppendRecord(out, Record{Critical: true, Type: recAEAD, Body: u16s(aeadSIVCMAC256)})
	if s.cfg.NTPServer != "" {
		out = AppendRecord(out, Record{Critical: true, Type: recServer, Body: []byte(s.cfg.NTPServer)})
	}
	if port := s.ntpPort.Load(); port != 0 && port != 123 {
		out = AppendRecord(out, Record{Critical: true, Type: recPort, Body: u16s(uint16(port))})
	}
	var cookie [CookieLen]byte
	for range cookiesPerKE {
		s.keys.sealCookie(cookie[:], c2s, s2c)
		out = AppendRecord(out, Record{Type: recCookie, Body: cookie[:]})
	}
	s.c.cookies.Add(cookiesPerKE)
	s.c.keSessions.Add(1)
	return AppendRecord(out, Record{Critical: true, Type: recEnd})
}

func errorResponse(code uint16) []byte {
	out := AppendRecord(nil, Record{Critical: true, Type: recError, Body: u16s(code)})
	return AppendRecord(out, Record{Critical: true, Type: recEnd})
}

// readMessage reads records up to End of Message, at most maxRequest bytes.
func readMessage(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 512)
	for {
		n, err := messageEnd(buf)
		if err != nil {
			return nil, &errorCode{errBadRequest, err.Error()}
		}
		if n > 0 {
			if n != len(buf) {
				return nil, &errorCode{errBadRequest, "data after End of Message"}
			}
			return buf, nil
		}
		if len(buf) >= maxRequest {
			return nil, &errorCode{errBadRequest, fmt.Sprintf("request longer than %d bytes", maxRequest)}
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), maxRequest-len(buf)))
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), maxRequest)])
		buf = buf[:len(buf)+m]
		if err != nil && m == 0 {
			if err == io.EOF {
				return nil, &errorCode{errBadRequest, "connection closed before End of Message"}
			}
			return nil, fmt.Errorf("nts-ke: read: %w", err)
		}
	}
}
