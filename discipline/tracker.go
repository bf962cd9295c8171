package discipline

import "math"

// freqTracker is a two-state Kalman filter (phase, frequency) over the
// free-running oscillator's phase, reconstructed from each raw sample. Its
// frequency is the minimum-variance estimate at the last sample under
// random-walk frequency noise and white phase noise, the model holdover
// extrapolates: for 1 µs of jitter and 2e-10/√s of wander its error is
// about 2e-9 (√(√2·q^¾·R^¼)). It sees the samples, not the loop's
// filtered offset, so its errors are the samples' own, independent ones,
// and none of the loop's drift state or control transients.
type freqTracker struct {
	n int
	t float64 // time of the last sample, s
	x [2]float64
	p [2][2]float64
}

const (
	// trackerSkew is the frequency uncertainty the tracker starts with:
	// any crystal's.
	trackerSkew = 1e-3
	// trackerMin is the number of samples after which the tracker's
	// frequency is trusted over the loop's.
	trackerMin = 64
	// trackerJump is the innovation, in its standard deviations, that
	// restarts the tracker: a phase jump the loop accepted is a break in
	// the reconstructed phase, not frequency.
	trackerJump = 10.0
)

// add incorporates the phase z (s, noise variance r) at t seconds, under
// random-walk frequency noise of variance q per second.
func (k *freqTracker) add(t, z, r, q float64) {
	dt := t - k.t
	if k.n > 0 && dt <= 0 {
		return
	}
	p := k.p
	x0 := k.x[0] + dt*k.x[1]
	p00 := p[0][0] + 2*dt*p[0][1] + dt*dt*p[1][1] + q*dt*dt*dt/3
	p01 := p[0][1] + dt*p[1][1] + q*dt*dt/2
	p11 := p[1][1] + q*dt
	s := p00 + r
	nu := z - x0
	if k.n == 0 || nu*nu > trackerJump*trackerJump*s {
		*k = freqTracker{n: 1, t: t, x: [2]float64{z, 0}, p: [2][2]float64{{r, 0}, {0, trackerSkew * trackerSkew}}}
		return
	}
	k.n++
	k.t = t
	g0, g1 := p00/s, p01/s
	k.x = [2]float64{x0 + g0*nu, k.x[1] + g1*nu}
	k.p = [2][2]float64{
		{(1 - g0) * p00, (1 - g0) * p01},
		{(1 - g0) * p01, p11 - g1*p01},
	}
}

// frequency returns the estimated frequency and its standard deviation.
func (k *freqTracker) frequency() (y, sy float64) {
	return k.x[1], math.Sqrt(max(k.p[1][1], 0))
}
