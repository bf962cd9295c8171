package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"

	"stratum1/pps"
)

// The hand-built sentences match what fmt makes of the same fields.
func TestSentencesFormat(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC),
		time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)),
	} {
		u := at.UTC()
		hms := fmt.Sprintf("%02d%02d%02d.00", u.Hour(), u.Minute(), u.Second())
		date := fmt.Sprintf("%02d%02d%02d", u.Day(), int(u.Month()), u.Year()%100)
		for i, body := range []string{
			"GPRMC," + hms + ",A,5230.0000,N,01322.0000,E,0.00,0.00," + date + ",,,A",
			"GPGGA," + hms + ",5230.0000,N,01322.0000,E,1,09,0.90,34.0,M,39.0,M,,",
		} {
			var cs byte
			for j := 0; j < len(body); j++ {
				cs ^= body[j]
			}
			want := fmt.Sprintf("$%s*%02X\r\n", body, cs)
			if got := Sentences(at)[i]; got != want {
				t.Errorf("%v: %q, want %q", at, got, want)
			}
		}
	}
}

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
	sum, tr, err := RunVirtual(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.LockS < 0 || sum.LockS > 60 || sum.MaxNs > 5000 || sum.Steps != 1 || sum.FinalState != "LOCKED" {
		t.Errorf("through unplug and wrong second: %v, final %s", sum, sum.FinalState)
	}
	// The pulses were named by counting through most of the unplugged
	// five minutes.
	if sum.PPSFlywheeled < 280 {
		t.Errorf("%d pulses counted on while unplugged, want about 300", sum.PPSFlywheeled)
	}
	// The pairer, whose clock is known within a fraction of a second,
	// catches the wrong second: the pulses keep their nearest second, and
	// none labelled by the receiver's wrong epochs reaches the clock (a
	// one-second sample that got through would be refused by the
	// discipline or would step the clock).
	if sum.PPSRejected[pps.ReasonWrongSecond] == 0 {
		t.Errorf("the pairer rejected no wrong-second pulses: %v", sum.PPSRejected)
	}
	if sum.WholeSecond != 0 {
		t.Errorf("%d whole-second samples reached the discipline", sum.WholeSecond)
	}
	for k := 18 * 60; k < 21*60; k++ {
		if e := math.Abs(tr.ErrNs[k]); e > 5000 {
			t.Fatalf("clock off by %.0f ns at %d s, during or after the wrong second", e, k)
		}
	}

	s = DefaultSettings()
	s.Duration = 20 * time.Minute
	s.NoPPS = true
	s.NMEALatency = 400 * time.Millisecond
	sum, tr, err = RunVirtual(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := math.Abs(tr.ErrNs[len(tr.ErrNs)-1]); e > 10e6 || sum.Steps != 1 || sum.FinalState != "LOCKED" {
		t.Errorf("NMEA only: final error %.0f ns, %d steps, state %s", e, sum.Steps, sum.FinalState)
	}
}

// The temperature target: a 2 ppm step through the default 3 min
// thermal lag, with 1 µs of jitter, neither breaks lock (the 60 s RMS stays
// under 1 µs, so lock_s stays at the start) nor costs the RMS and maximum
// targets.
func TestTargetsTemperatureStep(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 6} {
		s := DefaultSettings()
		s.Seed = seed
		s.Duration = 4 * time.Hour
		s.TempSteps = []Step{{SizePPM: 2, At: 2 * time.Hour}}
		sum := run(t, s)
		jit := float64(s.PPSJitter.Nanoseconds())
		if sum.LockS < 0 || sum.LockS > 60 || sum.RMSNs > 0.35*jit || sum.MaxNs > 5*jit || sum.Disturbances == 0 {
			t.Errorf("seed %d temperature step: %v; want lock within 60 s, rms <= %.0f ns, max <= %.0f ns, the step detected",
				seed, sum, 0.35*jit, 5*jit)
		}
	}
}

// Holdover through the one-hour outage. Our error is the oracle's
// plus δy·t, δy being the error of the frequency known at the loss (the
// clock's frequency error in holdover, against the oscillator's at the
// loss). No estimator knows the frequency better than the Kalman bound
// √(√2·q^¾·R^¼) for random-walk frequency noise q and white phase noise R
// (2 ppb for 1 µs of jitter and 2e-10/√s of wander), 7 µs after an hour,
// so a seed whose oracle happens to drift little exceeds 1.5x whatever the
// estimator (see docs/discipline.md). Over 20 seeds the RMS δy must stay
// within that bound (1.57 ppb measured with the tracker bank, 1.42 with
// its single tracker, which a wander-free crystal's holdover paid for; the
// earlier windowed fit had 2.30), the median ratio within 1.25 (1.05), at
// most 4 seeds over 1.5x (3) and none over 3x (2.36). After a 2 ppm temperature step 20 min
// before the loss, whose transient is then 2.5 ppb from its end (a lag of
// about 1.4 ppb), the RMS δy over 10 seeds must stay within 1.5x the bound
// (2.37 ppb measured; the fit had 6.8 over 20 seeds, and 258 ppb 15 min
// after a step, when the wander measurement still failed after one).
//
// The served error bound covers at least 99% of the seconds of the same 20
// outages (all of them measured), and is what chrony would say: the
// estimate at the loss grown by the skew and max_clock_error_ppm, no more
// than 1.05 ppm times the outage. In a quiet room that is hundreds of
// times the real error; it is what allows for a temperature change during
// the outage (TestHoldoverBoundCovers).
func TestTargetsHoldover(t *testing.T) {
	const seeds, stepSeeds = 20, 10
	var ratios, estMax []float64
	var ss, ssStep, covered float64
	for seed := int64(1); seed <= seeds; seed++ {
		s := DefaultSettings()
		s.Seed = seed
		s.Duration = 4*time.Hour + 5*time.Minute
		s.Outages = []Window{{At: 3 * time.Hour, Length: time.Hour}}
		sum, tr, err := RunVirtual(context.Background(), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		dy := holdoverFrequencyError(tr, s.Outages[0])
		ss += dy * dy
		r := sum.HoldoverMaxNs / sum.OracleHoldoverMaxNs
		ratios = append(ratios, r)
		covered += sum.HoldoverCovered / seeds
		estMax = append(estMax, sum.HoldoverEstMaxNs)
		t.Logf("seed %d: δy %+.2f ppb, holdover %.1f µs, oracle %.1f µs, ratio %.2f; estimate %.1f µs, covering %.3f",
			seed, dy*1e9, sum.HoldoverMaxNs/1e3, sum.OracleHoldoverMaxNs/1e3, r, sum.HoldoverEstMaxNs/1e3, sum.HoldoverCovered)
		if len(sum.RelockS) != 1 || sum.RelockS[0] < 0 || sum.RelockS[0] > 60 {
			t.Errorf("seed %d: %v, relock %v; want relock within 60 s", seed, sum, sum.RelockS)
		}
		if seed > stepSeeds {
			continue
		}
		// The frequency error shows within minutes of the loss.
		s.Duration = 3*time.Hour + 10*time.Minute
		s.Outages = []Window{{At: 3 * time.Hour, Length: 10 * time.Minute}}
		s.TempSteps = []Step{{SizePPM: 2, At: s.Outages[0].At - 20*time.Minute}}
		_, tr, err = RunVirtual(context.Background(), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		dy = holdoverFrequencyError(tr, s.Outages[0])
		ssStep += dy * dy
		t.Logf("seed %d after a temperature step: δy %+.2f ppb", seed, dy*1e9)
	}
	s := DefaultSettings()
	q, r := math.Pow(s.WanderPPM*1e-6, 2), math.Pow(s.PPSJitter.Seconds(), 2)
	bound := math.Sqrt(math.Sqrt2 * math.Pow(q, 0.75) * math.Pow(r, 0.25))
	if rms := math.Sqrt(ss / seeds); rms > bound {
		t.Errorf("RMS frequency error at the loss %.2f ppb, want <= %.2f (the Kalman bound)", rms*1e9, bound*1e9)
	}
	if rms := math.Sqrt(ssStep / stepSeeds); rms > 1.5*bound {
		t.Errorf("after a temperature step 20 min before the loss: RMS frequency error %.2f ppb, want <= %.2f", rms*1e9, 1.5*bound*1e9)
	}
	slices.Sort(estMax)
	if lim := 1.05e-6*time.Hour.Seconds()*1e9 + 10e3; covered < 0.99 || estMax[seeds-1] > lim {
		t.Errorf("holdover error bound: covers %.3f of the outage seconds, largest %.0f µs; want >= 0.99 and <= %.0f µs",
			covered, estMax[seeds-1]/1e3, lim/1e3)
	}
	slices.Sort(ratios)
	over := len(ratios) - sort.SearchFloat64s(ratios, 1.5)
	if m := (ratios[seeds/2-1] + ratios[seeds/2]) / 2; m > 1.25 || over > 4 || ratios[seeds-1] > 3 {
		t.Errorf("holdover / oracle: median %.2f, %d over 1.5, largest %.2f (%.2f); want <= 1.25, <= 4, <= 3", m, over, ratios[seeds-1], ratios)
	}
}

// holdoverFrequencyError returns the clock's frequency error in the outage
// w against the oracle, which keeps the oscillator's frequency at the
// loss: the slope of our error minus the oracle's, from a minute in (the
// loop slews its phase estimate out in seconds) to the outage's end.
func holdoverFrequencyError(tr *Trace, w Window) float64 {
	k0 := int(w.At / time.Second)
	var sx, sy, sxx, sxy, n float64
	for k := k0 + 60; k < k0+int(w.Length/time.Second) && k < len(tr.ErrNs); k++ {
		x, y := float64(k-k0), (tr.ErrNs[k]-tr.OracleNs[k])*1e-9
		sx, sy, sxx, sxy, n = sx+x, sy+y, sxx+x*x, sxy+x*y, n+1
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// A crystal that does not wander (an oven's, the lab's) lets the holdover
// rest on the whole record, not on the 70 s the assumed wander would
// allow: ten 10-minute outages after 15 minutes of lock, with late and
// lost pulses, hold the frequency to an RMS 0.4 ppb (0.11 measured; the
// single tracker under the assumed wander had about 1), and the median
// outage's largest error under 300 ns (150 measured, 325 before; the
// largest errors are now the phase at the loss, not the frequency).
func TestHoldoverQuietCrystal(t *testing.T) {
	const seeds = 10
	var ss float64
	var worst []float64
	for seed := int64(1); seed <= seeds; seed++ {
		s := DefaultSettings()
		s.Seed = seed
		s.WanderPPM, s.AgeingPPMDay, s.FreqOffsetPPM = 0, 0, 25
		s.PPSOutliers = Outliers{Rate: 0.01, Size: 100 * time.Microsecond}
		s.Duration = 26 * time.Minute
		s.Outages = []Window{{At: 15 * time.Minute, Length: 10 * time.Minute}}
		sum, tr, err := RunVirtual(context.Background(), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		dy := holdoverFrequencyError(tr, s.Outages[0])
		ss += dy * dy
		worst = append(worst, sum.HoldoverMaxNs)
		t.Logf("seed %d: δy %+.3f ppb, holdover max %.0f ns, covering %.3f", seed, dy*1e9, sum.HoldoverMaxNs, sum.HoldoverCovered)
		if sum.HoldoverCovered < 1 {
			t.Errorf("seed %d: the served bound covered %.3f of the outage", seed, sum.HoldoverCovered)
		}
	}
	slices.Sort(worst)
	if rms, med := math.Sqrt(ss/seeds), (worst[seeds/2-1]+worst[seeds/2])/2; rms > 0.4e-9 || med > 300 {
		t.Errorf("quiet crystal: RMS frequency error %.2f ppb, median largest error %.0f ns; want <= 0.4 ppb and <= 300 ns", rms*1e9, med)
	}
}
