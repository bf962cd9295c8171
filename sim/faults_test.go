package sim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

func TestSentencesParse(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	lines := Sentences(at)
	if len(lines) != 2 {
		t.Fatalf("%d sentences", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "\r\n") {
			t.Errorf("%q: no CRLF", l)
		}
		s, err := nmea.Parse(strings.TrimSpace(l))
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if rmc, ok := s.(nmea.RMC); ok && (rmc.Time.Second != 6 || rmc.Date.DD != 3 || rmc.Validity != "A") {
			t.Errorf("RMC %+v", rmc)
		}
	}
}

// Faults from issue 6: the box rides through an unplugged serial line on
// counted pulses, refuses a receiver that names the wrong second, and
// falls back to NMEA alone without pulses.
func TestFaults(t *testing.T) {
	s := DefaultSettings()
	s.Duration = 30 * time.Minute
	s.Unplugged = []Window{{At: 8 * time.Minute, Length: 5 * time.Minute}}
	s.WrongSecond = []Window{{At: 18 * time.Minute, Length: 2 * time.Minute}}
	sum := run(t, s)
	if sum.LockS < 0 || sum.LockS > 60 || sum.MaxNs > 5000 || sum.Steps != 1 || sum.FinalState != "LOCKED" {
		t.Errorf("through unplug and wrong second: %v, final %s", sum, sum.FinalState)
	}
	if sum.WholeSecond == 0 {
		t.Error("wrong-second samples were not refused")
	}

	s = DefaultSettings()
	s.Duration = 20 * time.Minute
	s.NoPPS = true
	s.NMEALatency = 400 * time.Millisecond
	sum, tr, err := RunVirtual(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := math.Abs(tr.ErrNs[len(tr.ErrNs)-1]); e > 10e6 || sum.Steps != 1 || sum.FinalState != "LOCKED" {
		t.Errorf("NMEA only: final error %.0f ns, %d steps, state %s", e, sum.Steps, sum.FinalState)
	}
}

// Temperature step and holdover. The targets are not all met yet
// (see docs/discipline.md); these bounds are the measured performance
// with a margin, so that a change that makes it worse fails.
func TestTemperatureAndHoldoverRegression(t *testing.T) {
	for _, seed := range seeds {
		s := DefaultSettings()
		s.Seed = seed
		s.Duration = time.Hour
		s.TempSteps = []Step{{SizePPM: 2, At: 20 * time.Minute}}
		s.Outages = []Window{{At: 40 * time.Minute, Length: 15 * time.Minute}}
		s.WanderPPM = 0.0005
		sum := run(t, s)
		if sum.RMSNs > 650 || sum.MaxNs > 6000 {
			t.Errorf("seed %d temperature step: rms %.0f ns max %.0f ns, want <= 650 and 6000", seed, sum.RMSNs, sum.MaxNs)
		}
		if sum.HoldoverMaxNs > 3*sum.OracleHoldoverMaxNs+2000 {
			t.Errorf("seed %d holdover: %.0f ns vs oracle %.0f ns", seed, sum.HoldoverMaxNs, sum.OracleHoldoverMaxNs)
		}
		t.Logf("seed %d: %v", seed, sum)
	}
}
