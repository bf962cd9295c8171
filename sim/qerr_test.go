package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"stratum1/pps"
)

// QErr is a sawtooth within half a tick of the receiver's clock.
func TestQErrSawtooth(t *testing.T) {
	const hz = 48e6
	half := time.Duration(math.Ceil(0.5e9 / hz))
	lo, hi := time.Duration(0), time.Duration(0)
	for n := int64(1_700_000_000); n < 1_700_000_200; n++ {
		q := QErr(n, hz)
		if q < -half || q > half {
			t.Fatalf("qErr %v beyond half a tick %v", q, half)
		}
		lo, hi = min(lo, q), max(hi, q)
	}
	if hi-lo < 2*half*9/10 {
		t.Errorf("sawtooth spans only %v..%v", lo, hi)
	}
	if QErr(12345, 0) != 0 {
		t.Error("an ideal receiver has a qErr")
	}
}

// The correction measured: pulses on a 48 MHz receiver clock, captured with
// 2 ns of noise (a time-interval counter's, not a Pi's), paired with and
// without the qErr of TIM-TP. The pulses' error shrinks to the capture
// noise.
func TestQErrCorrectionMeasured(t *testing.T) {
	const hz = 48e6
	rms := func(applyQErr bool) time.Duration {
		rng := rand.New(rand.NewPCG(7, 7))
		p := pps.NewPairer(pps.DefaultConfig(), nil)
		p.SetSource("sim", pps.BackendSimulated, time.Nanosecond)
		t0 := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
		var sum float64
		n := 0
		for i := range 600 {
			sec := t0.Add(time.Duration(i) * time.Second)
			q := QErr(sec.Unix(), hz)
			if applyQErr {
				p.SetQErr(q, sec.Add(-850*time.Millisecond)) // TIM-TP after the previous second's NMEA
			}
			p.Edge(pps.Edge{Local: sec.Add(q + time.Duration(rng.NormFloat64()*2))})
			if s, ok := p.Second(pps.Second{UTC: sec, Arrival: sec.Add(150 * time.Millisecond), Fix: true}); ok {
				sum += math.Pow(float64(s.Offset()), 2)
				n++
			}
		}
		if n < 500 {
			t.Fatalf("only %d samples", n)
		}
		return time.Duration(math.Sqrt(sum / float64(n)))
	}
	without, with := rms(false), rms(true)
	t.Logf("RMS pulse error: %v without qErr, %v with it", without, with)
	if without < 4*time.Nanosecond || with > without/2 || with > 3*time.Nanosecond {
		t.Errorf("RMS %v without qErr, %v with: want the sawtooth (about 6 ns) gone down to the 2 ns capture noise", without, with)
	}
}
