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
	noise2  float64 // variance of the phase measurement, s^2
	started bool
	recent  []point // oscillator phase every recentEvery, for holdover
}

// point is the oscillator's reconstructed phase at a clock reading.
type point struct {
	t     time.Time
	phase float64
}

// The recent phase record: long enough to average the loop's noise out of
// the frequency, short enough to follow the wander.
const (
	recentEvery = 8 * time.Second
	recentLen   = 128
)

// integral returns the frequency correction integrated up to now.
func (s *stability) integral(now time.Time) float64 {
	if s.uT.IsZero() {
		return 0
	}
	return s.uInt + s.uPPM*1e-6*now.Sub(s.uT).Seconds()
}

// holdoverFrequency returns the oscillator's own frequency (fractional)
// from the recent phase record over a window that balances the loop's
// phase noise sx against the wander w, and whether there was enough record.
func (s *stability) holdoverFrequency(sx, w float64) (float64, bool) {
	n := len(s.recent)
	if n < 4 {
		return 0, false
	}
	// For white phase noise and random-walk frequency, the error of a
	// frequency over a window T is about sx/T + w*sqrt(T); minimal at
	// T = (2 sx/w)^(2/3).
	win := 600.0
	if w > 0 {
		win = math.Pow(2*sx/w, 2.0/3)
	}
	// A wander measured across a temperature transient is too high; never
	// trust the last few minutes alone.
	win = max(win, 300)
	last := s.recent[n-1]
	i := n - 1
	for i > 0 && last.t.Sub(s.recent[i].t).Seconds() < win {
		i--
	}
	// Least-squares slope over the window.
	var st, sp, stt, stp float64
	m := float64(n - i)
	for _, p := range s.recent[i:] {
		x := p.t.Sub(last.t).Seconds()
		st += x
		sp += p.phase
		stt += x * x
		stp += x * p.phase
	}
	den := m*stt - st*st
	if m < 3 || den <= 0 {
		return 0, false
	}
	return (m*stp - st*sp) / den, true
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
	if k := len(s.recent); k == 0 || now.Sub(s.recent[k-1].t) >= recentEvery {
		if k > 0 && now.Sub(s.recent[k-1].t) > 2*recentEvery {
			s.recent = s.recent[:0]
		}
		if len(s.recent) == recentLen {
			s.recent = append(s.recent[:0], s.recent[1:]...)
		}
		s.recent = append(s.recent, point{now, x - s.integral(now)})
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
	s.phase = append(s.phase, point{now, x - u})
	s.noise2 += (sx*sx - s.noise2) / 8
}

// reset forgets the history (after a step, which breaks the phase record).
func (s *stability) reset() {
	s.phase = s.phase[:0]
	s.recent = s.recent[:0]
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
	ms := median(d2)/0.4549 - 6*s.noise2/(tau*tau)
	// For random-walk FM, E[(y[k+1]-y[k])^2] = 2/3 sigma^2 tau.
	w2 := ms * 3 / (2 * tau)
	return math.Sqrt(max(w2, 1e-26)), true
}
