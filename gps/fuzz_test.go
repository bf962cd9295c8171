package gps

import (
	"bytes"
	"testing"
	"time"
)

func fuzzSeeds(f *testing.F) {
	start := time.Date(2024, 6, 1, 23, 59, 58, 0, time.UTC)
	var b bytes.Buffer
	for _, l := range seconds(start, 3, true) {
		b.WriteString(l + "\r\n")
	}
	f.Add(b.Bytes(), uint8(7))
	f.Add([]byte("$GPGSA,A,1,,,,,,,,,,,,,,,*1E$GPRMC,235949.00,V,0000.0000,N,00000.0000,E,,,161206,,,N*44\n"), uint8(3))
	f.Add([]byte("\xb5\x62\x01\x07\x5c\x00$GPZDA,183531.00,23,12,2007,00,00*6C\r\n$GPRMC,235960.00,A,1,N,2,E,,,311216,,,A*55\n"), uint8(1))
	f.Add(bytes.Repeat([]byte{0xA0, 0x24, 0x0A}, 50), uint8(0))
	f.Add([]byte(sentence("PQGSV,1,1,02,02,20,116,30,05,34,137,,0,4")+"\n"+sentence("GPZDA,000000.00,01,01,2017,00,00")+"\n"), uint8(9))
}

// FuzzSplitter: whatever the bytes and however they are chunked, lines
// come out bounded, single, and text only.
func FuzzSplitter(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		s := NewSplitter(64)
		n := int(chunk%32) + 1
		lines := 0
		emit := func(line []byte, _ time.Time) {
			lines++
			if len(line) == 0 || len(line) > 64 {
				t.Fatalf("line of %d bytes", len(line))
			}
			for i, c := range line {
				if c < 0x20 && c != '\t' || c >= 0x7f || c == '\r' || c == '\n' {
					t.Fatalf("byte %#x in line %q", c, line)
				}
				if i > 0 && (c == '$' || c == '!') {
					t.Fatalf("sentence start inside line %q", line)
				}
			}
		}
		for len(data) > 0 {
			k := min(n, len(data))
			s.Write(data[:k], time.Time{}, emit)
			data = data[k:]
		}
		s.Flush(emit)
		if c := s.Counters(); c.Lines != uint64(lines) {
			t.Fatalf("counted %d lines, emitted %d", c.Lines, lines)
		}
	})
}

// FuzzAssembler: arbitrary input never panics, never claims a fix with
// mode 1, and epochs carry sane times.
func FuzzAssembler(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		a := NewAssembler(AssemblerConfig{RefDate: time.Date(2019, 4, 7, 0, 0, 0, 0, time.UTC)})
		s := NewSplitter(0)
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var es []Epoch
		emit := func(line []byte, arrival time.Time) { es = append(es, a.Feed(line, arrival)...) }
		n := int(chunk%32) + 1
		for len(data) > 0 {
			k := min(n, len(data))
			s.Write(data[:k], at, emit)
			data = data[k:]
			at = at.Add(time.Duration(chunk) * time.Millisecond)
		}
		s.Flush(emit)
		es = append(es, a.Flush()...)
		c := a.Counters()
		if c.Epochs != uint64(len(es)) {
			t.Fatalf("counted %d epochs, emitted %d", c.Epochs, len(es))
		}
		if c.Sentences+c.BadChecksum+c.Malformed+c.Garbage > c.Lines {
			t.Fatalf("counters add up to more than the lines: %+v", c)
		}
		for _, e := range es {
			if e.Valid != (e.Mode >= 2) || e.Mode < 1 || e.Mode > 3 {
				t.Fatalf("valid %v mode %d", e.Valid, e.Mode)
			}
			if e.HasTime() && (e.Time.Year() < 1969 || e.Time.Year() > 10000) {
				t.Fatalf("time %v", e.Time)
			}
			if e.RolloverWeeks%EraWeeks != 0 || e.RolloverWeeks < 0 {
				t.Fatalf("rollover %d weeks", e.RolloverWeeks)
			}
			if e.Sentences == 0 || len(e.Satellites) > 1000 {
				t.Fatalf("epoch %+v", e)
			}
		}
	})
}
