package nts

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"stratum1/ntp"
)

// serve runs req through HandleExtensions as the responder would: out
// starts as a plain reply header.
func serve(s *Server, req []byte) []byte {
	out := make([]byte, len(req))
	h := ntp.Header{Version: 4, Mode: ntp.ModeServer, Stratum: 1, RefID: ntp.RefGPS, XmitTime: 77}
	h.Encode(out)
	n := s.HandleExtensions(req, out)
	return out[:n]
}

func newUID(t testing.TB) []byte {
	uid := make([]byte, 32)
	_, _ = rand.Read(uid)
	return uid
}

func TestNTSRequest(t *testing.T) {
	cfg, roots := testConfig(t)
	s := startServer(t, cfg, 123)
	for _, want := range []int{1, 2, 8, 12} {
		sess := keyExchange(t, s, roots)
		sess.Cookies = sess.Cookies[:1]
		uid := newUID(t)
		req, ok := sess.Request(nil, 12345, uid, want)
		if !ok {
			t.Fatal("no cookie")
		}
		reply := serve(s, req)
		if len(reply) == 0 || len(reply) > len(req) {
			t.Fatalf("want %d: reply of %d bytes to a request of %d", want, len(reply), len(req))
		}
		h, err := sess.ParseReply(reply, uid)
		if err != nil {
			t.Fatalf("want %d: %v", want, err)
		}
		if h.Stratum != 1 || h.XmitTime != 77 {
			t.Errorf("header changed: %+v", h)
		}
		if got := len(sess.Cookies); got != min(want, maxCookies) {
			t.Errorf("asked for %d cookies, got %d", want, got)
		}
		// The new cookies work.
		uid2 := newUID(t)
		req2, _ := sess.Request(nil, 1, uid2, 0)
		if _, err := sess.ParseReply(serve(s, req2), uid2); err != nil {
			t.Fatalf("fresh cookie: %v", err)
		}
	}
}

func TestNTSBadRequests(t *testing.T) {
	cfg, roots := testConfig(t)
	s := startServer(t, cfg, 123)
	sess := keyExchange(t, s, roots)
	uid := newUID(t)
	good, _ := sess.Request(nil, 5, uid, 1)

	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	// Offsets: header 48, uid field 36, cookie field 4+100, auth field.
	const cookieOff = ntp.HeaderLen + 36 + 4
	authOff := ntp.HeaderLen + 36 + 104
	tests := []struct {
		name string
		req  []byte
		want string // "nak", "drop", "reply", "plain"
	}{
		{"good", good, "reply"},
		{"replayed", good, "reply"}, // stateless: the client rejects a stale reply
		{"forged cookie", mutate(func(b []byte) { b[cookieOff+30] ^= 1 }), "nak"},
		{"unknown key id", mutate(func(b []byte) { b[cookieOff] ^= 0xff }), "nak"},
		{"tampered header", mutate(func(b []byte) { b[40] ^= 1 }), "nak"},
		{"tampered authenticator", mutate(func(b []byte) { b[len(b)-1] ^= 1 }), "nak"},
		{"no authenticator", good[:authOff], "drop"},
		{"no cookie", append(bytes.Clone(good[:ntp.HeaderLen+36]), good[authOff:]...), "drop"},
		{"short uid", append(bytes.Clone(good[:ntp.HeaderLen]), AppendField(nil, ExtUniqueID, make([]byte, 16))...), "drop"},
		{"bad nonce length", mutate(func(b []byte) { b[authOff+5] = 4 }), "drop"},
		{"huge ciphertext length", mutate(func(b []byte) { b[authOff+6] = 0xff }), "drop"},
		{"truncated field", good[:len(good)-2], "drop"},
		{"not NTS", append(bytes.Clone(good[:ntp.HeaderLen]), AppendField(nil, 0x2005, make([]byte, 28))...), "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Counters()
			reply := serve(s, tt.req)
			var got string
			switch {
			case len(reply) == 0:
				got = "drop"
			case len(reply) == ntp.HeaderLen:
				got = "plain"
			default:
				_, err := sess.ParseReply(reply, uid)
				switch {
				case errors.Is(err, ErrNAK):
					got = "nak"
				case err == nil:
					got = "reply"
				default:
					t.Fatalf("reply does not parse: %v", err)
				}
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if len(reply) > len(tt.req) {
				t.Fatalf("reply of %d bytes to %d", len(reply), len(tt.req))
			}
			after := s.Counters()
			if got == "nak" && after.NAKs != before.NAKs+1 {
				t.Errorf("NAK not counted")
			}
			if got == "nak" && (reply[1] != 0 || string(reply[12:16]) != "NTSN") {
				t.Errorf("NAK header %x", reply[:16])
			}
		})
	}
}

func TestMasterKeysPersistAndRotate(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1_800_000_000, 0)
	k, err := openKeyring(dir, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, keysFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	c2s, s2c := bytes.Repeat([]byte{1}, keyLen), bytes.Repeat([]byte{2}, keyLen)
	cookie := make([]byte, CookieLen)
	k.sealCookie(cookie, c2s, s2c)

	// A restart reads the same keys: the cookie still opens.
	k2, err := openKeyring(dir, 3, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]byte, keyLen), make([]byte, keyLen)
	if !k2.openCookie(cookie, a, b) || !bytes.Equal(a, c2s) || !bytes.Equal(b, s2c) {
		t.Fatal("cookie lost across restart")
	}
	// Two rotations keep it (three keys kept); the third retires it.
	for i := 1; i <= 3; i++ {
		if err := k2.rotate(now.Add(time.Duration(i) * 24 * time.Hour)); err != nil {
			t.Fatal(err)
		}
		opens := k2.openCookie(cookie, a, b)
		if opens != (i < 3) {
			t.Fatalf("after %d rotations cookie opens = %v", i, opens)
		}
		if n := len(*k2.keys.Load()); n != min(i+1, 3) {
			t.Fatalf("%d keys after %d rotations", n, i)
		}
	}
	k3, err := openKeyring(dir, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	if k3.current().id != k2.current().id {
		t.Error("restart does not resume the newest key")
	}
	// A corrupt file is an error, not silently replaced keys.
	if err := os.WriteFile(filepath.Join(dir, keysFileName), []byte("zz 1 00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openKeyring(dir, 3, now); err == nil {
		t.Error("corrupt key file accepted")
	}
}

func BenchmarkNTSRequest(b *testing.B) {
	cfg, roots := testConfig(b)
	s := startServer(b, cfg, 123)
	sess := keyExchange(b, s, roots)
	uid := newUID(b)
	req, _ := sess.Request(nil, 5, uid, 1)
	out := make([]byte, len(req))
	b.ReportAllocs()
	for b.Loop() {
		if s.HandleExtensions(req, out) <= ntp.HeaderLen {
			b.Fatal("no reply")
		}
	}
}

func TestTemplateSealer(t *testing.T) {
	cfg, roots := testConfig(t)
	s := startServer(t, cfg, 123)
	sess := keyExchange(t, s, roots)
	uid := newUID(t)
	tmpl, sealer, ok := sess.Template(uid)
	if !ok || len(sess.Cookies) != cookiesPerKE {
		t.Fatalf("template: ok %v, %d cookies left", ok, len(sess.Cookies))
	}
	for i := 0; i < 3; i++ {
		b := bytes.Clone(tmpl)
		b[47] = byte(i + 1) // a new transmit timestamp
		if got := serve(s, b); !errors.Is(sess.Verify(got, uid), ErrNAK) {
			t.Fatalf("unsealed change not refused")
		}
		sealer.Seal(b)
		reply := serve(s, b)
		if err := sess.Verify(reply, uid); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if len(reply) != len(b) {
			t.Errorf("reply %d bytes, request %d", len(reply), len(b))
		}
	}
	if len(sess.Cookies) != cookiesPerKE {
		t.Error("Verify kept cookies")
	}
	b := bytes.Clone(tmpl)
	if n := testing.AllocsPerRun(100, func() { sealer.Seal(b) }); n != 0 {
		t.Errorf("%v allocations per seal", n)
	}
}

// A reply carries one fresh cookie per cookie and placeholder sent, up to
// 8; each opens under the server's key to the session's keys, and no two
// share a nonce (they are drawn in one random read).
func TestReplyCookies(t *testing.T) {
	cfg, roots := testConfig(t)
	s := startServer(t, cfg, 123)
	for _, k := range []int{1, 2, 5, 7, 8} {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			sess := keyExchange(t, s, roots)
			sess.Cookies = sess.Cookies[:1]
			uid := newUID(t)
			req, ok := sess.Request(nil, 5, uid, k)
			if !ok {
				t.Fatal("no request")
			}
			if _, err := sess.ParseReply(serve(s, req), uid); err != nil {
				t.Fatal(err)
			}
			if len(sess.Cookies) != k {
				t.Fatalf("%d cookies, want %d", len(sess.Cookies), k)
			}
			nonces := map[string]bool{}
			for _, c := range sess.Cookies {
				var c2s, s2c [keyLen]byte
				if !s.keys.openCookie(c, c2s[:], s2c[:]) {
					t.Fatal("cookie does not open")
				}
				nonces[string(c[cookieIDLen:cookieIDLen+cookieNonce])] = true
			}
			if len(nonces) != k {
				t.Fatalf("%d distinct nonces among %d cookies", len(nonces), k)
			}
		})
	}
}
