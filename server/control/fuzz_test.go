package control

import (
	"encoding/binary"
	"testing"
)

// FuzzHandleControl feeds arbitrary datagrams from a trusted and an
// untrusted source: never a panic, nothing to the untrusted one, and only
// well-formed, bounded responses to the trusted one.
func FuzzHandleControl(f *testing.F) {
	for _, pkt := range hostile() {
		f.Add(pkt)
	}
	h := New(fakeSnapshot, loopback...)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if out := h.HandleControl(pkt, foreign); out != nil {
			t.Fatalf("answered an untrusted source with %d datagrams", len(out))
		}
		out := h.HandleControl(pkt, local)
		_, err := parseRequest(pkt)
		if err == errDrop && out != nil {
			t.Fatalf("answered a datagram that is not a request")
		}
		total := 0
		for i, b := range out {
			if len(b) < headerLen || len(b)%4 != 0 || len(b) > headerLen+maxFragData {
				t.Fatalf("fragment of %d octets", len(b))
			}
			if b[0]&7 != modeControl || b[1]&flagResponse == 0 {
				t.Fatalf("not a mode 6 response: % x", b[:2])
			}
			if more := b[1]&flagMore != 0; more != (i < len(out)-1) {
				t.Fatalf("more bit wrong on fragment %d of %d", i+1, len(out))
			}
			if binary.BigEndian.Uint16(b[2:]) != binary.BigEndian.Uint16(pkt[2:]) {
				t.Fatalf("sequence not echoed")
			}
			count := int(binary.BigEndian.Uint16(b[10:]))
			if headerLen+count > len(b) || int(binary.BigEndian.Uint16(b[8:])) != total {
				t.Fatalf("fragment %d: count %d offset %d", i+1, count, binary.BigEndian.Uint16(b[8:]))
			}
			total += count
		}
		if total > maxResponse {
			t.Fatalf("response of %d octets", total)
		}
	})
}
