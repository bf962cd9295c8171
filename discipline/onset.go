package discipline

import "math"

// onsetLen is how many updates back the drift detector looks for the start
// of a disturbance: a thermal drift shows within a few tens of seconds.
const onsetLen = 48

// onsetMin is the fewest updates over which a drift step is told apart
// from an outlier or a phase jump; onsetMaxDrift bounds the size of a step
// worth believing (1/s): a crystal heats in minutes, not seconds.
const (
	onsetMin      = 8
	onsetMaxDrift = 1e-7
)

// onsetClip bounds each innovation's part in the evidence, in its
// standard deviations (Huber's bounded influence). A drift step builds up
// over many updates, each innovation within a few sigma when it is
// detected; a single late pulse inside the outlier gate (up to 5 sigma: a
// busy SoC's interrupt latency) is improbable under the Gaussian noise
// the test assumes, and unclipped it carried a detection by itself. At 3
// sigma a Gaussian innovation is clipped 0.3% of the time, and one sample
// supplies at most 4.5 of the evidence onsetLimit asks for.
const onsetClip = 3.0

// The innovations' spread is averaged over about onsetSpreadLen updates,
// and the detectors are armed once onsetArm of them have left the window:
// until then the loop's own settling after acquisition looks like a
// disturbance.
const (
	onsetSpreadLen = 128
	onsetArm       = 32
)

// onsetDetector is a generalised likelihood ratio test for a step in the
// frequency drift (a crystal whose temperature starts to change: the phase
// error grows as the square of the time since). For each possible start
// within onsetLen updates it correlates the quiet model's innovations with
// the signature such a step leaves in them (the matched filter) and returns
// the evidence for the most likely start. It complements the comparison of
// the quiet and the fast model, which sees any kind of disturbance but
// needs more evidence for this one.
type onsetDetector struct {
	nu, s [onsetLen]float64 // innovations and their variances, newest last
	h     [onsetLen]float64 // the innovations bounded at onsetClip sigma
	n     int
	// spread is the mean square of the normalised innovations that have
	// left the window (so a disturbance under test does not raise it), and
	// spreadN how many went into it. Evidence is scaled down by it when the
	// innovations are wider than their assumed variance: while the loop
	// still settles after acquisition, or when the source's error estimate
	// is too low.
	spread  float64
	spreadN int
	sig     [onsetLen]float64 // innovation j updates after a unit drift step
	fresh   int               // updates since the signature was computed
}

// signature computes the innovations a unit step in drift leaves in the
// filter f (its covariance is what matters; steady state is assumed),
// predicting with process noise qy, qd and measurement variance r.
func (o *onsetDetector) signature(f filter, qy, qd, r float64) {
	f.x = [3]float64{}
	for j := range onsetLen {
		t := float64(j + 1)
		phase := 0.5 * t * t
		f.predict(1, qy, qd)
		o.sig[j] = phase - f.x[0]
		f.update(phase, r)
	}
	o.fresh = 0
}

// add records an innovation nu of variance s and returns the log-likelihood
// ratio of the best drift step hypothesis against none, the step's size
// (1/s), and how many updates ago it began (0: just before this one).
func (o *onsetDetector) add(nu, s float64) (llr, size float64, back int) {
	if o.n == onsetLen {
		v := o.nu[0] * o.nu[0] / o.s[0]
		o.spreadN++
		o.spread += (v - o.spread) / float64(min(o.spreadN, onsetSpreadLen))
	}
	copy(o.nu[:], o.nu[1:])
	copy(o.s[:], o.s[1:])
	copy(o.h[:], o.h[1:])
	c := onsetClip * math.Sqrt(s)
	o.nu[onsetLen-1], o.s[onsetLen-1], o.h[onsetLen-1] = nu, s, max(-c, min(nu, c))
	o.n = min(o.n+1, onsetLen)
	o.fresh++
	for m := onsetMin; m <= o.n; m++ {
		// A step m updates ago: the newest m innovations against the
		// signature's first m.
		var num, den float64
		for j := range m {
			k := onsetLen - m + j
			num += o.h[k] * o.sig[j] / o.s[k]
			den += o.sig[j] * o.sig[j] / o.s[k]
		}
		if l := num * num / (2 * den); l > llr && math.Abs(num/den) < onsetMaxDrift {
			llr, size, back = l, num/den, m-1
		}
	}
	return llr / max(1, o.spread), size, back
}

// armed reports whether enough innovations have been seen, after the
// loop locked, to know their spread.
func (o *onsetDetector) armed() bool { return o.spreadN >= onsetArm }

// reset forgets the innovations (after a detection, a step or holdover);
// their spread is the source's and is kept.
func (o *onsetDetector) reset() { o.n = 0 }

// clear forgets everything, for a filter started afresh.
func (o *onsetDetector) clear() { *o = onsetDetector{} }
