package pps

import (
	"math"
	"slices"
	"time"
)

// phaseWindow learns where in the second the NMEA epochs arrive, relative
// to the PPS edges. Phase is circular (0.98 s and 0.02 s are 40 ms apart),
// so the median is taken after unwrapping around the previous estimate.
type phaseWindow struct {
	obs    [32]time.Duration
	n, i   int
	est    time.Duration // last estimate, in [0, 1s)
	spread time.Duration // robust standard deviation
	tmp    []time.Duration
	ready  bool
}

const (
	phaseLearned = 8 // observations after which the phase estimate is used in any case
	// phaseAgree is how close consecutive observations must be to be
	// used before phaseLearned of them.
	phaseAgree = 30 * time.Millisecond
	// phaseClear is how far from the edge an arrival must be for two
	// agreeing observations to be enough: nowhere near the neighbouring
	// pulse, it cannot name the wrong one.
	phaseClear = 150 * time.Millisecond
)

// learned reports whether the estimate may be used: after phaseLearned
// observations, or sooner once the last three agree within phaseAgree, or
// the last two agree and lie clear of the edge.
func (w *phaseWindow) learned() bool { return w.ready || w.n >= phaseLearned }

func (w *phaseWindow) add(phase time.Duration) {
	w.obs[w.i] = wrapSecond(phase)
	w.i = (w.i + 1) % len(w.obs)
	if w.n < len(w.obs) {
		w.n++
	} else if w.i%4 != 0 {
		// A full window's median moves little with one observation:
		// refresh it every fourth, which keeps two sorts off most epochs.
		return
	}
	ref := w.est
	if w.n == 1 {
		ref = w.obs[0]
	}
	w.tmp = w.tmp[:0]
	for _, o := range w.obs[:w.n] {
		w.tmp = append(w.tmp, unwrapNear(o, ref))
	}
	slices.Sort(w.tmp)
	med := w.tmp[len(w.tmp)/2]
	for j, v := range w.tmp {
		w.tmp[j] = (v - med).Abs()
	}
	slices.Sort(w.tmp)
	w.est = wrapSecond(med)
	w.spread = time.Duration(1.4826 * float64(w.tmp[len(w.tmp)/2]))
	if !w.ready {
		w.ready = w.agree(3) || (w.agree(2) && w.est > phaseClear && w.est < time.Second-phaseClear)
	}
}

// agree reports whether the last m observations lie within phaseAgree of
// each other, modulo a second.
func (w *phaseWindow) agree(m int) bool {
	if w.n < m {
		return false
	}
	last := w.obs[(w.i+len(w.obs)-1)%len(w.obs)]
	lo, hi := time.Duration(0), time.Duration(0)
	for j := 2; j <= m; j++ {
		d := unwrapNear(w.obs[(w.i+len(w.obs)-j)%len(w.obs)], last) - last
		lo, hi = min(lo, d), max(hi, d)
	}
	return hi-lo <= phaseAgree
}

// wrapSecond maps d into [0, 1s).
func wrapSecond(d time.Duration) time.Duration {
	d %= time.Second
	if d < 0 {
		d += time.Second
	}
	return d
}

// unwrapNear returns the value congruent to d modulo 1 s that is within
// half a second of ref.
func unwrapNear(d, ref time.Duration) time.Duration {
	diff := wrapSecond(d - ref + time.Second/2)
	return ref + diff - time.Second/2
}

// jitterWindow estimates the capture noise of one edge from the second
// differences of the edge phase, e(i) - 2e(i-1) + e(i-2), over pulses a
// second apart. The local clock timestamps the edges, and while the
// discipline acquires it steers that clock's frequency by tens of ppm: the
// interval deviations themselves carry those corrections, microseconds to
// tens of microseconds, but a second difference cancels a constant
// frequency error and a steadily changing one, leaving only the change of
// the steering from one second to the next. What remains of it comes in
// the first seconds of acquisition, when the loop slews tens of µs out
// within seconds and may touch most of a short window, so the scale is
// taken robustly: the 30th percentile of the absolute values (0.385σ for
// Gaussian noise, unmoved while up to 70% of the values are inflated) sets
// a 3σ clip, and the RMS of what lies within it is the estimate, nearly as
// efficient as the plain RMS for Gaussian noise. Fewer than minD2 values
// give no estimate: a few seconds of acquisition say nothing honest.
type jitterWindow struct {
	at   [320]time.Time // enough for errSpan
	d2   [320]time.Duration
	n, i int

	errAt  time.Time // when errEst was computed
	errN   int       // over how many second differences
	errEst time.Duration

	prevDev  time.Duration // deviation of the previous one-second interval
	havePrev bool
	tmp      []float64
}

// add takes the deviation from one second of an interval between two
// consecutive pulses; the interval before it, if any since the last
// breakChain, ended at this interval's first pulse.
func (j *jitterWindow) add(at time.Time, dev time.Duration) {
	if j.havePrev {
		j.at[j.i], j.d2[j.i] = at, dev-j.prevDev
		j.i = (j.i + 1) % len(j.at)
		j.n = min(j.n+1, len(j.at))
	}
	j.prevDev, j.havePrev = dev, true
}

// captureErr is the estimate over errSpan before now. It changes slowly,
// so it is recomputed only every errRefresh once it rests on half a window.
func (j *jitterWindow) captureErr(now time.Time) time.Duration {
	const errRefresh = 30 * time.Second
	if j.errN < len(j.at)/2 || now.Sub(j.errAt) >= errRefresh || now.Before(j.errAt) {
		j.errEst = j.jitter(now, errSpan)
		j.errAt, j.errN = now, len(j.tmp)
	}
	return j.errEst
}

// shift moves the window's times with a stepped clock.
func (j *jitterWindow) shift(d time.Duration) {
	for x := range j.at[:j.n] {
		j.at[x] = j.at[x].Add(d)
	}
	if !j.errAt.IsZero() {
		j.errAt = j.errAt.Add(d)
	}
}

// minD2 is the fewest second differences an estimate rests on.
const minD2 = 10

// breakChain says the next interval does not follow the last one (a missed
// pulse, a resync, a clock step).
func (j *jitterWindow) breakChain() { j.havePrev = false }

// jitter estimates the standard deviation of one edge's capture error from
// the second differences within window before now; zero with fewer than
// three.
func (j *jitterWindow) jitter(now time.Time, window time.Duration) time.Duration {
	j.tmp = j.tmp[:0]
	for x := 0; x < j.n; x++ {
		if now.Sub(j.at[x]) > window || j.at[x].After(now) {
			continue
		}
		j.tmp = append(j.tmp, math.Abs(float64(j.d2[x])))
	}
	if len(j.tmp) < minD2 {
		return 0
	}
	slices.Sort(j.tmp)
	clip := 3 / 0.385 * j.tmp[len(j.tmp)*3/10]
	var sum2 float64
	var k int
	for _, v := range j.tmp {
		if v <= clip {
			sum2 += v * v
			k++
		}
	}
	// A second difference of independent edge errors has variance 6σ²;
	// clipping a Gaussian at 3σ keeps 97.3% of its variance.
	return time.Duration(math.Sqrt(sum2 / float64(k) / 0.973 / 6))
}
