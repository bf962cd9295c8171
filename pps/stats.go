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
}

const phaseLearned = 8 // observations before the phase estimate is used

func (w *phaseWindow) learned() bool { return w.n >= phaseLearned }

func (w *phaseWindow) add(phase time.Duration) {
	w.obs[w.i] = wrapSecond(phase)
	w.i = (w.i + 1) % len(w.obs)
	if w.n < len(w.obs) {
		w.n++
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

// jitterWindow keeps the deviations of pulse intervals from whole seconds
// over the last minute.
type jitterWindow struct {
	at  [64]time.Time
	dev [64]time.Duration
	n   int
	i   int
}

func (j *jitterWindow) add(at time.Time, dev time.Duration) {
	j.at[j.i], j.dev[j.i] = at, dev
	j.i = (j.i + 1) % len(j.at)
	if j.n < len(j.at) {
		j.n++
	}
}

// jitter estimates the timing noise of one edge from the interval
// deviations within a minute before now: an interval's deviation is the
// difference of two edges' errors, so its standard deviation is √2 times
// an edge's. Using deviations about their mean removes the local clock's
// frequency error.
func (j *jitterWindow) jitter(now time.Time) time.Duration {
	var sum, sum2 float64
	var k int
	for x := 0; x < j.n; x++ {
		if now.Sub(j.at[x]) > time.Minute || j.at[x].After(now) {
			continue
		}
		v := float64(j.dev[x])
		sum += v
		sum2 += v * v
		k++
	}
	if k < 2 {
		return 0
	}
	mean := sum / float64(k)
	variance := (sum2 - float64(k)*mean*mean) / float64(k-1)
	if variance < 0 {
		variance = 0
	}
	return time.Duration(math.Sqrt(variance / 2))
}
