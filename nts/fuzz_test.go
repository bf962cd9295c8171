package nts

import (
	"bytes"
	"testing"

	"stratum1/ntp"
)

// FuzzParseRequest: any byte string is a request or an Error record,
// never a panic, and messageEnd agrees with the parser on where a message
// ends.
func FuzzParseRequest(f *testing.F) {
	rec := func(crit bool, typ uint16, body ...byte) []byte {
		return AppendRecord(nil, Record{Critical: crit, Type: typ, Body: body})
	}
	f.Add(bytes.Join([][]byte{rec(true, recNextProto, 0, 0), rec(true, recAEAD, 0, 15), rec(true, recEnd)}, nil))
	f.Add(bytes.Join([][]byte{rec(true, recNextProto, 0, 0), rec(true, 0x777), rec(true, recEnd)}, nil))
	f.Add([]byte{0x80, 1, 0xff, 0xff})
	f.Add([]byte{0x80, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		req, perr := parseRequest(msg)
		n, err := messageEnd(msg)
		if err == nil && n > len(msg) {
			t.Fatalf("message end %d beyond %d bytes", n, len(msg))
		}
		if perr == nil {
			// Accepted: one whole message ending in End of Message,
			// offering at least one protocol record and an AEAD record.
			if err != nil || n != len(msg) {
				t.Fatalf("accepted %x, which messageEnd ends at %d (%v)", msg, n, err)
			}
			_ = req
		}
	})
}

// FuzzHandleExtensions: whatever follows a header, the reply is dropped,
// plain, a NAK or an authenticated reply, never longer than the request.
func FuzzHandleExtensions(f *testing.F) {
	cfg, roots := testConfig(f)
	s := startServer(f, cfg, 123)
	sess := keyExchange(f, s, roots)
	uid := bytes.Repeat([]byte{9}, 32)
	for want := 1; want <= 3; want++ {
		req, _ := sess.Request(nil, 1, uid, want)
		f.Add(req[ntp.HeaderLen:])
	}
	f.Add(AppendField(nil, ExtUniqueID, uid))
	f.Add(AppendField(AppendField(nil, ExtUniqueID, uid), ExtCookie, make([]byte, CookieLen)))
	hdr := make([]byte, ntp.HeaderLen)
	(&ntp.Header{Version: 4, Mode: ntp.ModeClient, XmitTime: 3}).Encode(hdr)
	f.Fuzz(func(t *testing.T, ext []byte) {
		req := append(bytes.Clone(hdr), ext...)
		if len(req) > 2048 {
			return // the responder receives at most 2048 bytes
		}
		if _, err := ntp.ParseExtensions(req, nil); err != nil {
			return // the responder drops these before the hook
		}
		out := make([]byte, len(req))
		(&ntp.Header{Version: 4, Mode: ntp.ModeServer, Stratum: 1}).Encode(out)
		n := s.HandleExtensions(req, out)
		if n != 0 && (n < ntp.HeaderLen || n > len(req)) {
			t.Fatalf("reply of %d bytes to a request of %d", n, len(req))
		}
	})
}
