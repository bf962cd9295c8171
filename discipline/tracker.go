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

// restart begins again from the phase z (variance r) at t.
func (k *freqTracker) restart(t, z, r float64) {
	*k = freqTracker{n: 1, t: t, x: [2]float64{z, 0}, p: [2][2]float64{{r, 0}, {0, trackerSkew * trackerSkew}}}
}

// predict advances the state to t under the wander q.
func (k *freqTracker) predict(t, q float64) {
	dt, p := t-k.t, k.p
	k.x[0] += dt * k.x[1]
	p01 := p[0][1] + dt*p[1][1] + q*dt*dt/2
	k.p = [2][2]float64{
		{p[0][0] + 2*dt*p[0][1] + dt*dt*p[1][1] + q*dt*dt*dt/3, p01},
		{p01, p[1][1] + q*dt},
	}
	k.t = t
}

// innovation returns the predicted state's miss of the phase z (variance
// r) and the miss's expected variance.
func (k *freqTracker) innovation(z, r float64) (nu, s float64) {
	return z - k.x[0], k.p[0][0] + r
}

// correct takes in the innovation nu of variance s.
func (k *freqTracker) correct(nu, s float64) {
	p := k.p
	g0, g1 := p[0][0]/s, p[0][1]/s
	k.n++
	k.x = [2]float64{k.x[0] + g0*nu, k.x[1] + g1*nu}
	k.p = [2][2]float64{
		{(1 - g0) * p[0][0], (1 - g0) * p[0][1]},
		{(1 - g0) * p[0][1], p[1][1] - g1*p[0][1]},
	}
}

// frequency returns the estimated frequency and its standard deviation.
func (k *freqTracker) frequency() (y, sy float64) {
	return k.x[1], math.Sqrt(max(k.p[1][1], 0))
}

// trackerBank runs freqTrackers under wanders from the one assumed down to
// bankStep^-(bankSize-1) of it, and scores each by the likelihood of its
// own innovations, forgotten over bankMemory. The data so choose how long
// a history the frequency rests on, as chrony's runs test chooses its
// regression's window: a crystal that wanders as assumed keeps the first
// tracker (the Kalman bound), a quiet one (an oven's, a lab's, a Pi's in a
// steady room) lets the longer histories in, which know its frequency
// many times better than the assumed wander allows.
type trackerBank struct {
	k     [bankSize]freqTracker
	score [bankSize]float64
}

const (
	bankSize   = 5
	bankStep   = 10.0  // ratio of consecutive trackers' wander variances
	bankMemory = 600.0 // time constant of the scores' forgetting, s
	bankSlack  = 3.0   // log-likelihood a quieter tracker may trail by
)

// add incorporates the phase z (s, variance r) at t seconds; q is the
// largest wander variance per second, the one assumed, under which the
// first tracker is the single tracker's Kalman filter. An innovation over
// trackerJump of its standard deviations (a phase jump the loop accepted)
// restarts every tracker: a break in the reconstructed phase, not
// frequency.
func (b *trackerBank) add(t, z, r, q float64) {
	first := b.assumed()
	if first.n > 0 && t <= first.t {
		return
	}
	dt := t - first.t
	for i := range b.k {
		if first.n > 0 {
			b.k[i].predict(t, q)
		}
		q /= bankStep
	}
	if nu, s := first.innovation(z, r); first.n == 0 || nu*nu > trackerJump*trackerJump*s {
		for i := range b.k {
			b.k[i].restart(t, z, r)
			b.score[i] = 0
		}
		return
	}
	forget := math.Exp(-dt / bankMemory)
	for i := range b.k {
		nu, s := b.k[i].innovation(z, r)
		b.score[i] = b.score[i]*forget - 0.5*(math.Log(s)+nu*nu/s)
		b.k[i].correct(nu, s)
	}
}

// assumed returns the tracker under the assumed wander: the single
// tracker's Kalman filter, whose deviation the bank states.
func (b *trackerBank) assumed() *freqTracker { return &b.k[0] }

// best returns the quietest tracker whose innovations the data liked
// within bankSlack of the best. A short record cannot tell the wanders
// apart, and there the quiet tracker, whose history is longer, costs
// nothing when the crystal does wander: its frequency's error is the
// short record's either way.
func (b *trackerBank) best() *freqTracker {
	top := b.score[0]
	for _, s := range b.score {
		top = max(top, s)
	}
	for i := len(b.score) - 1; i > 0; i-- {
		if b.score[i] >= top-bankSlack {
			return &b.k[i]
		}
	}
	return &b.k[0]
}
