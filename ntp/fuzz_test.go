package ntp

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary datagrams to the decoder and the extension
// walker: neither may panic or read past the end, and a decoded header
// re-encodes to the bytes it came from.
func FuzzDecode(f *testing.F) {
	for _, c := range loadCaptures(f) {
		f.Add(mustHex(f, c.Request))
		f.Add(mustHex(f, c.Response))
	}
	f.Add(make([]byte, 47))
	f.Add(append(make([]byte, HeaderLen), 0, 1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		err := h.Decode(b)
		if (err != nil) != (len(b) < HeaderLen) {
			t.Fatalf("len %d: err %v", len(b), err)
		}
		if err != nil {
			return
		}
		var out [HeaderLen]byte
		h.Encode(out[:])
		if !bytes.Equal(out[:], b[:HeaderLen]) {
			t.Fatalf("re-encoded %x, want %x", out, b[:HeaderLen])
		}
		total := 0
		mac, err := ParseExtensions(b, func(typ uint16, v []byte) {
			if len(v)+extHeaderLen < extMinLen {
				t.Fatalf("field of %d bytes", len(v))
			}
			total += len(v) + extHeaderLen
		})
		if err == nil && HeaderLen+total+mac != len(b) {
			t.Fatalf("fields %d + mac %d do not cover %d bytes", total, mac, len(b)-HeaderLen)
		}
		_, _, _ = PeekMode(b)
		_ = h.String()
	})
}
