package peer

import (
	"math"
	"sort"
	"time"

	"stratum1/ntp"
)

// RFC 5905 constants and the client's fixed behaviour.
const (
	nstage  = 8                // clock filter stages
	maxDisp = 16 * time.Second // dispersion of an empty stage
	minDisp = time.Millisecond // floor of the distance of a sample
	phi     = ntp.MaxDrift     // frequency tolerance, s/s
	cmin    = 3                // clustering keeps at least this many

	burstN   = 8               // packets in an iburst
	burstOK  = 4               // valid replies that end an iburst early
	iburstT  = 2 * time.Second // spacing of iburst packets
	stableN  = 8               // good polls in a row before the poll doubles
	unreachN = 4               // silent polls before the poll doubles
)

// sample is one measurement. Offset is the RFC 5905 θ: the server's clock
// minus ours.
type sample struct {
	offset time.Duration
	delay  time.Duration
	disp   time.Duration
	t      time.Time // our clock when the reply arrived
}

// clockFilter is the RFC 5905 clock filter: the last eight samples, of which
// the one with the least delay is used, at most once.
type clockFilter struct {
	stages [nstage]sample
	n      int       // valid samples held
	t      time.Time // last update of the register

	// The filter's outputs.
	offset time.Duration
	delay  time.Duration
	disp   time.Duration
	jitter time.Duration
	used   time.Time // time of the last sample handed out
	valid  bool      // a sample has been handed out
}

func newClockFilter() clockFilter {
	var f clockFilter
	for i := range f.stages {
		f.stages[i] = sample{delay: maxDisp, disp: maxDisp}
	}
	f.disp = maxDisp
	return f
}

// add shifts s into the register and recomputes the outputs. It reports
// whether the outputs now hold a sample not used before (RFC 5905's prime
// directive: never use a sample older than one already used).
// precision is the floor for the jitter.
func (f *clockFilter) add(s sample, precision time.Duration) bool {
	if !f.t.IsZero() {
		if dt := s.t.Sub(f.t); dt > 0 {
			grow := time.Duration(phi * float64(dt))
			for i := range f.stages {
				f.stages[i].disp = min(f.stages[i].disp+grow, maxDisp)
			}
		}
	}
	copy(f.stages[1:], f.stages[:nstage-1])
	f.stages[0] = s
	f.t = s.t
	if s.disp < maxDisp {
		f.n = min(f.n+1, nstage)
	}

	sorted := f.stages
	sort.SliceStable(sorted[:], func(i, j int) bool {
		return distKey(sorted[i]) < distKey(sorted[j])
	})
	var disp float64
	m := 0
	for i, st := range sorted {
		disp += st.disp.Seconds() / float64(uint(2)<<i)
		if st.disp < maxDisp {
			m++
		}
	}
	f.disp = time.Duration(disp * float64(time.Second))
	if m == 0 {
		return false
	}
	var sum float64
	for _, st := range sorted[1:m] {
		d := (st.offset - sorted[0].offset).Seconds()
		sum += d * d
	}
	jitter := 0.0
	if m > 1 {
		jitter = math.Sqrt(sum / float64(m-1))
	}
	f.jitter = max(time.Duration(jitter*float64(time.Second)), precision)

	best := sorted[0]
	if f.valid && !best.t.After(f.used) {
		return false
	}
	f.offset, f.delay, f.used, f.valid = best.offset, best.delay, best.t, true
	return true
}

// miss ages the register when the server has not answered three polls in a
// row, so that a silent server's dispersion grows to the point where it can
// no longer be selected.
func (f *clockFilter) miss(now time.Time) {
	f.add(sample{delay: maxDisp, disp: maxDisp, t: now}, f.jitter)
}

func distKey(s sample) time.Duration {
	if s.disp >= maxDisp {
		return maxDisp + s.delay // empty stages sort last
	}
	return s.delay
}

// log2D converts a log2-seconds precision to a Duration.
func log2D(p int8) time.Duration {
	return time.Duration(math.Ldexp(float64(time.Second), int(p)))
}

// shift moves every held offset by a step of our clock: a clock stepped
// forward by d sees every peer d later than it did, so samples taken before
// the step stay comparable with those after it.
func (f *clockFilter) shift(d time.Duration) {
	for i := range f.stages {
		f.stages[i].offset -= d
	}
	f.offset -= d
}
