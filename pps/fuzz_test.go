package pps

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzPairer feeds arbitrary edges and epochs: the pairer must not panic,
// must emit only samples whose UTC increases, and its state stays bounded,
// whatever clock steps it is told of.
func FuzzPairer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 10, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		if len(data) > 0 && data[0]&1 == 1 {
			cfg.Polarity = PolarityAuto
		}
		p := NewPairer(cfg, nil)
		p.SetSource("fuzz", BackendSimulated, time.Microsecond)
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var last time.Time
		for len(data) >= 9 {
			kind := data[0]
			v := int64(binary.LittleEndian.Uint64(data[1:9]) % (1 << 45)) // up to ~9.7 h in ns
			data = data[9:]
			at := base.Add(time.Duration(v))
			var s Sample
			var ok bool
			switch kind % 4 {
			case 0, 1:
				s, ok = p.Edge(Edge{Local: at, Falling: kind&4 != 0})
			case 2:
				p.SetClockError(time.Duration(kind) * time.Millisecond)
				fallthrough
			default:
				if kind&0xc0 == 0xc0 {
					p.ClockStepped(time.Duration(int64(v)-(1<<44)) / 1024)
				}
				s, ok = p.Second(Second{UTC: at.Add(time.Duration(kind>>4) * time.Second).Truncate(time.Second), Arrival: at.Add(time.Duration(kind) * time.Millisecond), Fix: kind&8 != 0})
			}
			if ok {
				if !last.IsZero() && !s.UTC.After(last) {
					t.Fatalf("sample UTC %v not after %v", s.UTC, last)
				}
				last = s.UTC
			}
		}
		if p.ringN > len(p.ring) || p.phase.n > len(p.phase.obs) {
			t.Fatal("unbounded state")
		}
		p.Counters()
		p.State(base)
	})
}
