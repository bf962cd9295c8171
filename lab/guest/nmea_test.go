package main

import (
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

func TestSentencesParse(t *testing.T) {
	sec := time.Date(2026, 12, 4, 23, 59, 58, 0, time.UTC)
	lines := strings.Split(strings.TrimSuffix(sentences(sec), "\r\n"), "\r\n")
	if len(lines) != 6 {
		t.Fatalf("%d sentences, want RMC, GGA, GSA and 3 GSV", len(lines))
	}
	var n int
	for _, l := range lines {
		s, err := nmea.Parse(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if rmc, ok := s.(nmea.RMC); ok {
			n++
			if rmc.Validity != "A" || rmc.Time.Hour != 23 || rmc.Time.Minute != 59 || rmc.Time.Second != 58 ||
				rmc.Date.DD != 4 || rmc.Date.MM != 12 || rmc.Date.YY != 26 {
				t.Errorf("RMC %+v does not name %v with a fix", rmc, sec)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d RMC sentences, want 1", n)
	}
	// 9600 baud carries 960 bytes a second: one second's sentences must
	// leave the line idle before the next edge.
	if b := len(sentences(sec)); b > 600 {
		t.Errorf("%d bytes a second, more than 600", b)
	}
}
