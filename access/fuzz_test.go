package access

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"stratum1/ntp"
	"stratum1/server"
)

// FuzzCheck drives the policy with arbitrary request sequences (source
// address, mode, time step) and checks what must hold whatever the input:
// no panic, mode 7 and foreign mode 6 never get through, and no client is
// answered more often than its bucket allows.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{0, 3, 127, 0, 0, 1, 0, 0, 0, 1})
	f.Add([]byte{1, 6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff})
	f.Add([]byte{0, 7, 10, 0, 0, 1, 0, 3, 192, 0, 2, 1, 0, 6, 8, 8, 8, 8})
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Network: "192.0.2.0/24", Action: ActionDeny}, {Network: "10.0.0.0/8", Action: ActionUnlimited}}
	cfg.RateLimit.Table = "64KiB" // New runs per input: keep it cheap
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		start := now
		replies := map[netip.Addr]int{}
		for len(data) >= 2 {
			v6, mode := data[0]&1 == 1, ntp.Mode(data[1]&7)
			step := time.Duration(data[0]>>1) * 50 * time.Millisecond
			data = data[2:]
			var src netip.Addr
			if v6 && len(data) >= 16 {
				src = netip.AddrFrom16([16]byte(data[:16]))
				data = data[16:]
			} else if len(data) >= 4 {
				src = netip.AddrFrom4([4]byte(data[:4]))
				data = data[4:]
			} else {
				src = netip.AddrFrom4([4]byte{198, 51, 100, byte(binary.BigEndian.Uint16(append(data, 0, 0)))})
				data = nil
			}
			now = now.Add(step)
			v := p.Check(src, mode, now)
			if v > server.KissRstr {
				t.Fatalf("verdict %d out of range", v)
			}
			switch {
			case mode == ntp.ModePrivate && v != server.Ignore:
				t.Fatalf("mode 7 from %s got %v", src, v)
			case mode == ntp.ModeControl && v != server.Ignore && !p.QueryAllowed(src):
				t.Fatalf("mode 6 from %s got %v", src, v)
			case mode == ntp.ModeControl && v == server.Serve && !src.Unmap().IsLoopback():
				t.Fatalf("mode 6 from non-loopback %s served with default query networks", src)
			}
			if v != server.Ignore && mode != ntp.ModeControl {
				u := src.Unmap()
				if !u.Is4() || u.As4()[0] != 10 {
					hi, lo := key(u, 32, 64)
					var k [16]byte
					binary.BigEndian.PutUint64(k[:8], hi)
					binary.BigEndian.PutUint64(k[8:], lo)
					replies[netip.AddrFrom16(k)]++
				}
			}
		}
		// Each client: its burst, one per interval, one kiss per kiss
		// interval (plus the first).
		elapsed := now.Sub(start)
		bound := cfg.RateLimit.Burst + int(elapsed/cfg.RateLimit.Interval) + 1 + int(elapsed/cfg.RateLimit.KissInterval) + 1
		for k, n := range replies {
			if n > bound {
				t.Fatalf("client %s answered %d times in %v, bound %d", k, n, elapsed, bound)
			}
		}
	})
}
