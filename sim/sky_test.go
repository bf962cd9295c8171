package sim

import (
	"strings"
	"testing"
	"time"

	"stratum1/gps"
)

// TestSkySentencesDecode checks the simulated sky through the real decoder:
// the satellites a dashboard shows come out of the same parser as a real
// receiver's.
func TestSkySentencesDecode(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var lines []string
	for i := range 3 {
		sec := at.Add(time.Duration(i) * time.Second)
		lines = append(lines, Sentences(sec)...)
		lines = append(lines, SkySentences(sec)...)
	}
	var epochs []gps.Epoch
	_, err := gps.Decode(strings.NewReader(strings.Join(lines, "")), gps.AssemblerConfig{RefDate: at}, func(e gps.Epoch) {
		epochs = append(epochs, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(epochs) < 2 {
		t.Fatalf("%d epochs", len(epochs))
	}
	e := epochs[1]
	if e.SatsInView < 6 || len(e.Satellites) != e.SatsInView {
		t.Fatalf("in view %d, satellites %d", e.SatsInView, len(e.Satellites))
	}
	used := 0
	for _, s := range e.Satellites {
		if s.Elevation < 0 || s.Elevation > 90 || s.Azimuth < 0 || s.Azimuth >= 360 || s.SNR <= 0 {
			t.Errorf("implausible satellite %+v", s)
		}
		if s.Used {
			used++
		}
	}
	if used == 0 {
		t.Fatal("no satellite marked used")
	}
}
