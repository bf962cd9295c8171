package nts

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	rec := func(crit bool, typ uint16, body ...byte) []byte {
		return AppendRecord(nil, Record{Critical: crit, Type: typ, Body: body})
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	proto := rec(true, recNextProto, 0, 0)
	aead := rec(false, recAEAD, 0, 15)
	end := rec(true, recEnd)
	tests := []struct {
		name    string
		msg     []byte
		code    uint16 // error code, or 0xffff for success
		wantErr bool
	}{
		{"minimal", cat(proto, aead, end), 0, false},
		{"with server and port", cat(proto, aead, rec(false, recServer, 'a'), rec(false, recPort, 0, 123), end), 0, false},
		{"unknown non-critical ignored", cat(proto, rec(false, 0x4000, 1, 2, 3), aead, end), 0, false},
		{"unknown critical", cat(proto, rec(true, 0x4000, 1), aead, end), errUnrecognizedCritical, true},
		{"no protocol", cat(aead, end), errBadRequest, true},
		{"no aead", cat(proto, end), errBadRequest, true},
		{"protocol not critical", cat(rec(false, recNextProto, 0, 0), aead, end), errBadRequest, true},
		{"odd protocol list", cat(rec(true, recNextProto, 0), aead, end), errBadRequest, true},
		{"twice", cat(proto, proto, aead, end), errBadRequest, true},
		{"cookie from client", cat(proto, aead, rec(false, recCookie, 1, 2), end), errBadRequest, true},
		{"error from client", cat(proto, aead, rec(true, recError, 0, 1), end), errBadRequest, true},
		{"truncated", cat(proto, aead, end)[:9], errBadRequest, true},
		{"trailing", cat(proto, aead, end, []byte{1}), errBadRequest, true},
		{"oversized", cat(proto, []byte{0, 9, 0xff, 0xff}), errBadRequest, true},
		{"bad port", cat(proto, aead, rec(false, recPort, 1), end), errBadRequest, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRequest(tt.msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var ec *errorCode
			if tt.wantErr && (!errors.As(err, &ec) || ec.code != tt.code) {
				t.Fatalf("err = %v, want code %d", err, tt.code)
			}
		})
	}
}

func TestKeyExchange(t *testing.T) {
	cfg, roots := testConfig(t)
	cfg.NTPServer = "ntp.example"
	s := startServer(t, cfg, 12345)
	sess := keyExchange(t, s, roots)
	if len(sess.Cookies) != cookiesPerKE {
		t.Errorf("%d cookies, want %d", len(sess.Cookies), cookiesPerKE)
	}
	if sess.Port != 12345 || sess.Server != "ntp.example" {
		t.Errorf("negotiated %s port %d, want ntp.example port 12345", sess.Server, sess.Port)
	}
	// Each cookie holds the keys both sides exported.
	for _, c := range sess.Cookies {
		if len(c) != CookieLen {
			t.Fatalf("cookie of %d bytes", len(c))
		}
		var c2s, s2c [keyLen]byte
		if !s.keys.openCookie(c, c2s[:], s2c[:]) {
			t.Fatal("server cannot open its own cookie")
		}
		if !bytes.Equal(c2s[:], sess.C2S) || !bytes.Equal(s2c[:], sess.S2C) || bytes.Equal(sess.C2S, sess.S2C) {
			t.Fatal("cookie keys differ from the exported ones")
		}
	}
	if c := s.Counters(); c.KESessions != 1 || c.CookiesIssued != cookiesPerKE {
		t.Errorf("counters %+v", c)
	}
}

// rawKE sends msg over a finished NTS-KE TLS session and returns the reply.
func rawKE(t *testing.T, s *Server, cfg *tls.Config, msg []byte) ([]byte, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", s.Addr().String(), cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	return io.ReadAll(conn)
}

func TestKeyExchangeErrors(t *testing.T) {
	cfg, roots := testConfig(t)
	s := startServer(t, cfg, 123)
	tcfg := clientTLS(roots)
	tcfg.NextProtos = []string{alpn}
	rec := func(crit bool, typ uint16, body ...byte) []byte {
		return AppendRecord(nil, Record{Critical: crit, Type: typ, Body: body})
	}
	proto := rec(true, recNextProto, 0, 0)
	end := rec(true, recEnd)
	errorRec := func(code uint16) []byte { return errorResponse(code) }
	tests := []struct {
		name string
		msg  []byte
		want []byte
	}{
		{"unknown AEAD", bytes.Join([][]byte{proto, rec(true, recAEAD, 0, 99), end}, nil), errorRec(errBadRequest)},
		{"unknown critical", bytes.Join([][]byte{proto, rec(true, 0x1234), rec(true, recAEAD, 0, 15), end}, nil), errorRec(errUnrecognizedCritical)},
		{"no NTPv4", bytes.Join([][]byte{rec(true, recNextProto, 0, 7), rec(true, recAEAD, 0, 15), end}, nil),
			append(rec(true, recNextProto), end...)},
		{"oversized record", []byte{0x80, 1, 0xff, 0xff}, errorRec(errBadRequest)},
		{"endless request", bytes.Repeat(rec(false, 0x2000, make([]byte, 1000)...), 5), errorRec(errBadRequest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rawKE(t, s, tcfg, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("reply %x, want %x", got, tt.want)
			}
		})
	}
	// No ALPN: no NTS-KE, the handshake itself fails.
	plain := clientTLS(roots)
	plain.NextProtos = []string{"http/1.1"}
	if _, err := rawKE(t, s, plain, []byte{0}); err == nil {
		t.Error("handshake without ntske/1 succeeded")
	}
	// TLS 1.2 is refused.
	old := clientTLS(roots)
	old.MaxVersion = tls.VersionTLS12
	old.NextProtos = []string{alpn}
	if _, err := rawKE(t, s, old, []byte{0}); err == nil {
		t.Error("TLS 1.2 accepted")
	}
	if c := s.Counters(); c.KESessions != 0 || c.KEErrors < uint64(len(tests)) {
		t.Errorf("counters %+v", c)
	}
}

// A thousand connections that never finish their handshake: the server
// refuses those beyond its cap at once, times the others out, and then
// serves a real client.
func TestStalledHandshakes(t *testing.T) {
	cfg, roots := testConfig(t)
	cfg.MaxSessions = 50
	cfg.SessionTimeout = 300 * time.Millisecond
	s := startServer(t, cfg, 123)
	before := runtime.NumGoroutine()
	const n = 1000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		if i%2 == 0 {
			_, _ = c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00}) // a ClientHello that never comes
		}
		conns = append(conns, c)
	}
	// Every one of them is closed by the server within its timeout.
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 64)
	for i, c := range conns {
		_ = c.SetReadDeadline(deadline)
		for {
			if _, err := c.Read(buf); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("connection %d still open after 30 s", i)
				}
				break
			}
		}
	}
	c := s.Counters()
	if c.KERefused == 0 || c.KERefused+c.KEErrors < n {
		t.Errorf("counters %+v: want all %d refused or failed", c, n)
	}
	waitFor(t, 10*time.Second, func() bool { return runtime.NumGoroutine() <= before+5 })
	keyExchange(t, s, roots)
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCertificateReload(t *testing.T) {
	cfg, roots := testConfig(t)
	s := startServer(t, cfg, 123)
	keyExchange(t, s, roots)
	// A new certificate in place of the old: new handshakes get it.
	_, _, roots2 := testCert(t, filepath.Dir(cfg.Cert))
	if err := s.ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	keyExchange(t, s, roots2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := KeyExchange(ctx, s.Addr().String(), clientTLS(roots)); err == nil {
		t.Error("old certificate still served after reload")
	}
	// A broken file keeps the one in use.
	if err := os.WriteFile(cfg.Cert, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadCertificate(); err == nil {
		t.Error("garbage certificate accepted")
	}
	keyExchange(t, s, roots2)
}

func TestExporterContext(t *testing.T) {
	if got := exporterContext(15, 1); !bytes.Equal(got, []byte{0, 0, 0, 15, 1}) {
		t.Errorf("context %x", got)
	}
	if binary.BigEndian.Uint16(exporterContext(15, 0)[2:]) != aeadSIVCMAC256 {
		t.Error("AEAD id")
	}
}
