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
	phase   []point // oscillator phase about every stabilityTau
	started bool
	// track follows the oscillator's phase at every sample, under several
	// wanders, for the frequency holdover keeps; t0 is its time origin.
	track trackerBank
	t0    time.Time
}

// point is the oscillator's reconstructed phase at a clock reading.
type point struct {
	t      time.Time
	phase  float64
	noise2 float64 // variance of the phase, s^2
}

// integral returns the frequency correction integrated up to now.
func (s *stability) integral(now time.Time) float64 {
	if s.uT.IsZero() {
		return 0
	}
	return s.uInt + s.uPPM*1e-6*now.Sub(s.uT).Seconds()
}

// measure feeds the tracker the offset z (variance r) a sample measured at
// now, under random-walk frequency noise w (per square root of a second).
func (s *stability) measure(now time.Time, z, r, w float64) {
	if s.t0.IsZero() {
		s.t0 = now
		s.track = trackerBank{}
	}
	s.track.add(now.Sub(s.t0).Seconds(), z-s.integral(now), r, w*w)
}

// holdoverFrequency returns the oscillator's own frequency (fractional) at
// the last sample, its standard deviation, and whether the tracker has
// seen enough samples to be trusted over the loop's filter. The frequency
// is the tracker bank's choice; its deviation is never stated below the
// one under the assumed wander, because a short record that found no
// wander has not shown that there is none.
func (s *stability) holdoverFrequency() (y, sy float64, ok bool) {
	k := s.track.best()
	y, sy = k.frequency()
	_, sy0 := s.track.assumed().frequency()
	return y, max(sy, sy0), k.n >= trackerMin
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
	if now.Sub(s.next) > stabilityTau/2 {
		// A gap (holdover, lost lock) breaks the evenly spaced record.
		s.phase = s.phase[:0]
		s.next = now
	}
	s.next = s.next.Add(stabilityTau)
	u := s.integral(now)
	if len(s.phase) == stabilityLen {
		s.phase = append(s.phase[:0], s.phase[1:]...)
	}
	s.phase = append(s.phase, point{now, x - u, sx * sx})
}

// reset forgets the history (after a step, which breaks the phase record).
func (s *stability) reset() {
	s.phase = s.phase[:0]
	s.started = false
	s.t0 = time.Time{}
}

// wander returns the random-walk frequency noise (per square root of a
// second) and whether enough history exists to know it.
func (s *stability) wander() (float64, bool) {
	n := len(s.phase)
	if n < stabilityMin {
		return 0, false
	}
	tau := stabilityTau.Seconds()
	// The median of the squared differences of consecutive frequencies,
	// scaled to the mean for a normal distribution, so that one
	// temperature transient in the history does not count as wander. The
	// points fall on whole seconds of samples, not exactly every tau, and
	// at tens of ppm a second's slip matters: the slopes use their times.
	slope := func(a, b point) float64 { return (b.phase - a.phase) / b.t.Sub(a.t).Seconds() }
	d2 := make([]float64, 0, n-2)
	for i := 2; i < n; i++ {
		d := slope(s.phase[i-1], s.phase[i]) - slope(s.phase[i-2], s.phase[i-1])
		d2 = append(d2, d*d)
	}
	// The phase noise is subtracted as robustly as the differences are
	// taken: the loop's uncertainty is high for minutes after a
	// disturbance, and a mean over the history then exceeded the whole
	// signal, measuring no wander at all (1e-13) after a temperature step.
	n2 := make([]float64, n)
	for i, p := range s.phase {
		n2[i] = p.noise2
	}
	ms := median(d2)/0.4549 - 6*median(n2)/(tau*tau)
	// For random-walk FM, E[(y[k+1]-y[k])^2] = 2/3 sigma^2 tau.
	w2 := ms * 3 / (2 * tau)
	return math.Sqrt(max(w2, 1e-26)), true
}
