package discipline

import (
	"log/slog"
	"math"
	"slices"
	"time"
)

// estimator is what the loop knows of its clock: the quiet Kalman model
// it steers by and the fast (disturbed) model beside it, the detectors
// that switch between them, the measured jitter and stability (wander,
// holdover frequency), and the run of outliers that may be a phase jump.
// It measures; it sets no frequency and steps nothing. The controller
// (Discipline) tells it of every correction it makes (corrected,
// stepped), so that its state always describes the clock as corrected.
//
// Times passed in are clock readings of the model's time (the
// controller's lastLocal).
type estimator struct {
	log *slog.Logger
	// defaultWander is the random-walk frequency noise assumed until the
	// stability measurement knows it (s^-1/2).
	defaultWander float64

	f          filter // the quiet model: the estimate the loop steers by
	fast       filter // the same data under the fast (disturbed) model
	cusum      float64
	onset      onsetDetector
	disturbed  uint64
	boostUntil time.Time
	gain       float64
	jitter2    float64   // EWMA of squared innovations, s^2
	rejects    []float64 // the current run of outliers' offsets, s
	stab       stability
}

// Phase returns the estimated offset of the clock from true time (s).
func (e *estimator) Phase() float64 { return e.f.x[0] }

// PhaseSigma returns the standard deviation of the estimated offset (s).
func (e *estimator) PhaseSigma() float64 { return e.f.sigma(0) }

// Frequency returns the clock's estimated fractional frequency error
// against its source (positive: running fast).
func (e *estimator) Frequency() float64 { return e.f.x[1] }

// FrequencySigma returns the standard deviation of Frequency.
func (e *estimator) FrequencySigma() float64 { return e.f.sigma(1) }

// FrequencyPPM is Frequency in ppm.
func (e *estimator) FrequencyPPM() float64 { return e.f.x[1] * 1e6 }

// SkewPPM is FrequencySigma in ppm.
func (e *estimator) SkewPPM() float64 { return e.f.sigma(1) * 1e6 }

// TimeConstant is the loop's time constant from the last phase gain.
func (e *estimator) TimeConstant() time.Duration {
	if e.gain > 0 {
		return time.Duration(float64(time.Second) / e.gain)
	}
	return 0
}

// Residual is the RMS of recent innovations.
func (e *estimator) Residual() time.Duration { return time.Duration(math.Sqrt(e.jitter2) * 1e9) }

// Disturbances counts the oscillator disturbances detected.
func (e *estimator) Disturbances() uint64 { return e.disturbed }

// start starts both models at offset z (standard deviation sigma) with a
// frequency y0 known to sy.
func (e *estimator) start(z, sigma, y0, sy float64) {
	e.f.reset(z, sigma, y0, sy, initDriftSigma)
	e.fast = e.f
	e.onset.clear()
}

// gated reports whether the offset z (variance r) is an outlier: one under
// either model. The fast model follows a real disturbance, so the quiet
// model's lag does not reject it.
func (e *estimator) gated(z, r float64) bool {
	nu, sv := e.f.innovation(z, r)
	nf, sf := e.fast.innovation(z, r)
	return math.Abs(nu) > gateSigma*math.Sqrt(sv) && math.Abs(nf) > gateSigma*math.Sqrt(sf)
}

// update incorporates the offset z (variance r) measured at now. detect
// runs the disturbance detectors (tuned to a sample a second); locked and
// lockedPPS say whether the loop is locked, and to PPS.
func (e *estimator) update(now time.Time, z, r float64, detect, locked, lockedPPS bool) {
	e.rejects = e.rejects[:0]
	if detect {
		e.detectDisturbance(now, z, r, locked, lockedPPS)
	}
	nu, _ := e.f.innovation(z, r)
	e.gain = e.f.update(z, r)
	e.fast.update(z, r)
	e.jitter2 += (nu*nu - e.jitter2) / 32
}

// Outcomes of an outlier for the run of outliers.
const (
	outlierPending      = iota // too few in a row to say
	outlierInconsistent        // the run is not one offset: the oldest is dropped
	outlierJump                // n consistent outliers: a phase jump to their median
)

// outlier adds the offset z (variance r) to the run of outliers and says
// whether the run of n is a consistent phase jump, and its size. The run
// is consistent when its spread is within 20 σ of the samples' noise and
// drift (s per sample) of the phase over the run: the frequency error
// the loop may still have.
func (e *estimator) outlier(z, r float64, n int, drift float64) (verdict int, jump float64) {
	e.rejects = append(e.rejects, z)
	if len(e.rejects) < n {
		return outlierPending, 0
	}
	med := median(e.rejects)
	lo, hi := slices.Min(e.rejects), slices.Max(e.rejects)
	consistent := hi-lo < 20*math.Sqrt(r)+float64(n)*drift
	jump = med - e.f.x[0]
	if !consistent {
		e.rejects = e.rejects[1:]
		return outlierInconsistent, jump
	}
	return outlierJump, jump
}

// dropOldestOutlier forgets the oldest outlier of the run.
func (e *estimator) dropOldestOutlier() { e.rejects = e.rejects[1:] }

// jumped accepts a phase jump to z (variance r): the phase is re-anchored
// and decoupled, and the frequency uncertainty widened by dy.
func (e *estimator) jumped(z, r, dy float64) {
	e.rejects = e.rejects[:0]
	e.f.x[0] = z
	e.f.p[0][0] = r
	e.f.p[0][1], e.f.p[1][0], e.f.p[0][2], e.f.p[2][0] = 0, 0, 0, 0
	e.f.p[1][1] += dy * dy
	e.fast = e.f
	e.onset.reset()
}

// anchor re-anchors the phase to z (variance r), keeping the frequency.
func (e *estimator) anchor(z, r float64) {
	e.f.x[0] = z
	e.f.p[0][0] = r
	e.decorrelate()
}

// widenPhase adds the variance v to the phase's and decouples it.
func (e *estimator) widenPhase(v float64) {
	e.f.p[0][0] += v
	e.decorrelate()
}

// decorrelate forgets the covariance of the phase with the frequency and
// its drift, and restarts the detectors, when the phase's reference
// changes.
func (e *estimator) decorrelate() {
	e.f.p[0][1], e.f.p[1][0], e.f.p[0][2], e.f.p[2][0] = 0, 0, 0, 0
	e.fast = e.f
	e.onset.reset()
	e.cusum = 0
	e.boostUntil = time.Time{}
	e.rejects = e.rejects[:0]
}

// corrected tells the models of a frequency change of dy (fractional)
// made late seconds after their time, to ppm from at.
func (e *estimator) corrected(at time.Time, ppm, dy, late float64) {
	e.stab.correct(at, ppm)
	e.f.x[1] += dy
	e.f.x[0] -= dy * late
	e.fast.x[1] += dy
	e.fast.x[0] -= dy * late
}

// stepped tells the models that offset (s) was stepped out of the clock.
func (e *estimator) stepped(offset float64) {
	e.f.x[0] -= offset
	e.fast.x[0] -= offset
	e.onset.reset()
	e.stab.reset()
}

// restoreDrift gives the drift back at least the variance v, when the
// source returns after holdover.
func (e *estimator) restoreDrift(v float64) {
	e.f.p[2][2] = max(e.f.p[2][2], v)
	e.fast = e.f
}

// observeLocked feeds the stability measurement a PPS sample z (variance r)
// read at now while locked; the model stands at modelNow.
func (e *estimator) observeLocked(now time.Time, z, r float64, modelNow time.Time) {
	e.stab.add(now, e.f.x[0], e.f.sigma(0))
	e.stab.measure(now, z, r, e.trackWander(modelNow))
}

// holdover switches the quiet model to holdover's: the drift dropped and,
// from the tracker when it is trusted and usePPS, the oscillator's own
// frequency given the correction ppm in force. It returns the drift
// variance to restore when the source returns.
func (e *estimator) holdover(ppm float64, usePPS bool) (drift2 float64) {
	drift2 = max(e.f.p[2][2], initDriftSigma*initDriftSigma)
	e.f.x[2] = 0
	e.f.p[0][2], e.f.p[2][0], e.f.p[1][2], e.f.p[2][1], e.f.p[2][2] = 0, 0, 0, 0, 0
	if y, sy, ok := e.stab.holdoverFrequency(); ok && usePPS {
		// The tracker's uncertainty is independent of the filter's
		// phase.
		e.f.x[1] = y + ppm*1e-6
		e.f.p[1][1] = sy * sy
		e.f.p[0][1], e.f.p[1][0] = 0, 0
	}
	return drift2
}

// forget ends the fast model's own history: without data it only grows
// its variance, and it starts again from the quiet one when samples
// return.
func (e *estimator) forget() {
	e.fast = e.f
	e.onset.reset()
}

// predict advances both models by dt seconds from now; the quiet one
// takes the fast model's process noise while a disturbance lasts.
// Steering to peers, both take the same noise, at least peerWanderMin;
// holding, holdover's model: the frequency and the wander (at least
// holdQ) alone.
func (e *estimator) predict(now time.Time, dt float64, k Kind, holding bool, holdQ float64) {
	w2 := e.wander() * e.wander()
	if k == Peer {
		w2 = max(w2, peerWanderMin*peerWanderMin)
	}
	if holding {
		// The first sample after holdover finds the drift unknown again.
		e.f.predict(dt, max(w2, holdQ), 0)
		e.fast = e.f
		return
	}
	if k == Peer {
		e.f.predict(dt, w2, driftNoise)
		e.fast = e.f
		return
	}
	qyFast, qdFast := w2*fastWanderRatio, fastDriftNoise
	if e.boosted(now) {
		e.f.predict(dt, qyFast, qdFast)
	} else {
		e.f.predict(dt, w2, driftNoise)
	}
	e.fast.predict(dt, qyFast, qdFast)
}

// boosted reports whether the loop is following a disturbance at now: for
// boostFor after one is detected, and for as long as the fast model still
// sees a significant drift.
func (e *estimator) boosted(now time.Time) bool {
	if e.boostUntil.IsZero() {
		return false
	}
	if now.Before(e.boostUntil) || math.Abs(e.fast.x[2]) > 3*e.fast.sigma(2) {
		return true
	}
	e.boostUntil = time.Time{}
	return false
}

// wander returns the random-walk frequency noise, measured when possible.
func (e *estimator) wander() float64 {
	if w, ok := e.stab.wander(); ok {
		return w
	}
	return e.defaultWander
}

// trackWander is the wander the holdover frequency tracker assumes: the
// measured one, and the fast model's while the loop follows a disturbance,
// so that a thermal transient is forgotten as soon as the loop forgets it.
func (e *estimator) trackWander(now time.Time) float64 {
	if e.boosted(now) {
		return e.wander() * math.Sqrt(fastWanderRatio)
	}
	return e.wander()
}

// detectDisturbance runs Page's CUSUM test on the log-likelihood ratio of
// the measurement z under the fast model against the quiet one. In quiet
// operation the quiet model predicts better and the sum stays near zero;
// when the oscillator changes (temperature) faster than the quiet model
// allows, the fast model wins sample after sample, and once the evidence
// crosses detectLimit the quiet model takes the fast one's state and its
// process noise until the disturbance is over. The drift-step detector
// runs only while the loop is locked to PPS.
func (e *estimator) detectDisturbance(now time.Time, z, r float64, locked, lockedPPS bool) {
	if e.boosted(now) {
		e.cusum = 0
		return
	}
	ns, ss := e.f.innovation(z, r)
	if !lockedPPS {
		e.onset.reset()
	} else if e.onset.fresh >= onsetLen || e.onset.n == 0 {
		w2 := e.wander() * e.wander()
		e.onset.signature(e.f, w2, driftNoise, r)
	}
	llr, size, back := e.onset.add(ns, ss)
	if !e.onset.armed() {
		e.cusum = 0
		return
	}
	if locked && llr > onsetLimit {
		e.disturbed++
		e.log.Debug("drift step detected: following the fast model", "drift", size, "updates_ago", back, "llr", llr, "at", now)
		e.f = e.fast
		e.boostUntil = now.Add(boostFor)
		e.onset.reset()
		e.cusum = 0
		return
	}
	nf, sf := e.fast.innovation(z, r)
	e.cusum = max(0, e.cusum+0.5*math.Log(ss/sf)+ns*ns/(2*ss)-nf*nf/(2*sf))
	if e.cusum < detectLimit {
		return
	}
	e.cusum = 0
	e.disturbed++
	e.log.Debug("disturbance detected: following the fast model", "offset", time.Duration(z*1e9), "at", now)
	e.f = e.fast
	e.boostUntil = now.Add(boostFor)
	e.onset.reset()
}

// endBoost ends a disturbance's boost, for an advance without data.
func (e *estimator) endBoost() { e.boostUntil = time.Time{} }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
