package discipline

import (
	"math"
	"time"
)

// stabilityTau is the averaging time at which the oscillator's wander is
// measured: long enough that the loop's phase noise is small beside it.
const (
	stabilityTau = 256 * time.Second
	stabilityLen = 48 // about 3.4 h of history
	stabilityMin = 8  // points needed before the measurement is trusted
)

// stability measures the free-running oscillator's random-walk frequency
// noise from its reconstructed phase: the clock's offset minus everything
// the loop did to it.
type stability struct {
	uInt    float64 // integral of the frequency correction, s
	uT      time.Time
	uPPM    float64
	next    time.Time
	phase   []float64 // oscillator phase every stabilityTau, s
	noise2  float64   // variance of the phase measurement, s^2
	started bool
}

// correct records a change of the frequency correction at now.
func (s *stability) correct(now time.Time, ppm float64) {
	if !s.uT.IsZero() {
		s.uInt += s.uPPM * 1e-6 * now.Sub(s.uT).Seconds()
	}
	s.uT, s.uPPM = now, ppm
}

// add records the estimated offset x (with standard deviation sx) at now.
func (s *stability) add(now time.Time, x, sx float64) {
	if s.uT.IsZero() {
		s.uT = now
	}
	if !s.started {
		s.started, s.next = true, now
	}
	if now.Before(s.next) {
		return
	}
	s.next = s.next.Add(stabilityTau)
	u := s.uInt + s.uPPM*1e-6*now.Sub(s.uT).Seconds()
	if len(s.phase) == stabilityLen {
		s.phase = append(s.phase[:0], s.phase[1:]...)
	}
	s.phase = append(s.phase, x-u)
	s.noise2 += (sx*sx - s.noise2) / 8
}

// reset forgets the history (after a step, which breaks the phase record).
func (s *stability) reset() {
	s.phase = s.phase[:0]
	s.started = false
}

// wander returns the random-walk frequency noise (per square root of a
// second) and whether enough history exists to know it.
func (s *stability) wander() (float64, bool) {
	n := len(s.phase)
	if n < stabilityMin {
		return 0, false
	}
	tau := stabilityTau.Seconds()
	var sum float64
	for i := 2; i < n; i++ {
		d := (s.phase[i] - 2*s.phase[i-1] + s.phase[i-2]) / tau
		sum += d * d
	}
	ms := sum/float64(n-2) - 6*s.noise2/(tau*tau)
	// For random-walk FM, E[(y[k+1]-y[k])^2] = 2/3 sigma^2 tau.
	w2 := ms * 3 / (2 * tau)
	return math.Sqrt(max(w2, 1e-26)), true
}
