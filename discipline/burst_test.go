package discipline

import (
	"testing"
	"time"
)

// A burst of late pulses (a busy SoC stamping every edge for seconds with
// an interrupt latency of hundreds of µs, each a different one) is no
// phase jump: locked, the loop rejects the whole burst and the clock stays
// within a few µs, also when the burst outlasts the tolerated gap and the
// loop holds over in it. (With the acquisition's tolerance of 0.1 ms a
// sample, an 8 s burst was taken as a jump in holdover, and the clock
// ended 53 ms off, the loop slewing at hundreds of ppm after jump after
// jump.)
func TestLateBurstIsNoJump(t *testing.T) {
	// 8 s and 20 s: longer than the tolerated gap of missed pulses, so
	// the loop holds over in the burst.
	for _, burst := range []time.Duration{5 * time.Second, 8 * time.Second, 20 * time.Second} {
		r := lockedToPPS(t, testConfig())
		before := r.d.Stats()
		var worst time.Duration
		for el := time.Duration(0); el < burst+2*time.Minute; el += time.Second {
			r.clk.advance(time.Second)
			r.bias = 0
			if el < burst {
				// Stamped late: the source seems earlier than it is.
				r.bias = -time.Duration(r.rng.ExpFloat64() * float64(200*time.Microsecond))
			}
			r.d.Sample(r.clk.sample(PPS, r.bias, r.noise, r.rng))
			r.d.Tick(r.clk.Now())
			worst = max(worst, abs(r.clk.off))
		}
		st := r.d.Stats()
		t.Logf("burst of %v: worst clock error %v, %d rejected, state %v", burst, worst, st.Rejected-before.Rejected, st.State)
		if worst > 5*time.Microsecond {
			t.Errorf("burst of %v: the clock went %v off", burst, worst)
		}
		if st.Rejected-before.Rejected < uint64(burst/time.Second)-1 || st.State != Locked {
			t.Errorf("burst of %v: %d rejected, state %v; want the burst rejected and LOCKED after it", burst, st.Rejected-before.Rejected, st.State)
		}
	}
}
