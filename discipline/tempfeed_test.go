package discipline

import (
	"math"
	"testing"
	"time"
)

// tempRun drives a run locked to pulses through a temperature profile: the
// clock's oscillator follows curve() at the lagged temperature (the lag
// the loop assumes), and the loop reads the temperature each second, or
// gets only absurd readings when read is false.
type tempRun struct {
	*peerRun
	crystal, base float64
	read          bool
}

func (r *tempRun) drive(src Kind, dur time.Duration, temp func(el time.Duration) float64) {
	r.run(src, time.Second, dur, func(el time.Duration) {
		c := temp(el)
		r.crystal += (c - r.crystal) * -math.Expm1(-1/tempLag.Seconds())
		r.clk.errPPM = r.base - curve(r.crystal) // the correction cancels it: the model learns curve()
		if !r.read {
			c = math.NaN()
		}
		r.d.Temperature(r.clk.Now(), c)
	})
}

// triangle moves between 45 and 65 °C every hour.
func triangle(el time.Duration) float64 {
	ph := math.Mod(el.Hours(), 1)
	return 45 + 40*min(ph, 1-ph)
}

// Locked to pulses, the loop learns the curve the clock follows and feeds
// it forward, and in holdover follows the temperature with it: the error
// of an hour through a 10 °C rise is a fraction of the uncompensated one,
// and the published bound includes the model's uncertainty. Absurd
// readings are refused and counted, and teach nothing.
func TestTemperatureLearnAndHold(t *testing.T) {
	var held [2]time.Duration
	for i, read := range []bool{true, false} {
		r := &tempRun{peerRun: lockedToPPS(t, testConfig()), crystal: 45, base: 12 + curve(45), read: read}
		r.drive(PPS, 2*time.Hour, triangle)
		st := r.d.TempStats()
		if read {
			want := -0.004 * 2 * (55 - 25) // the correction's slope at 55 °C
			if got := r.d.tc.model.Slope(55); !st.Ready || math.Abs(got-want) > 0.1*math.Abs(want) || st.AppliedPPM == 0 {
				t.Fatalf("after 2 h: %+v, slope at 55 °C %.4f, want %.4f within 10%%", st, got, want)
			}
		} else if st.Readings != 0 || st.Bad != 7200 || st.Samples != 0 || st.AppliedPPM != 0 {
			t.Fatalf("absurd readings: %+v", st)
		}
		r.drive(PPS, 20*time.Minute, func(time.Duration) float64 { return 45 })
		// The pulses stop at 45 °C and the temperature rises by 10 °C.
		r.drive(0, time.Hour, func(el time.Duration) float64 { return 45 + min(el.Minutes()/5, 1)*10 })
		if s := r.d.Stats(); s.State != Holdover {
			t.Fatalf("state %v after an hour without pulses", s.State)
		}
		held[i] = abs(r.clk.off)
		bound := r.d.ServerState().DispersionAt(r.clk.Now())
		t.Logf("readings %v: error after 1 h of holdover %v, model's share %.1f µs, served bound %v", read, held[i], r.d.tempHoldError()*1e6, bound)
		if read && (r.d.tempHoldError() <= 0 || bound < held[i]) {
			t.Errorf("bound %v, model's share %v: want a share, and the error %v within the bound", bound, r.d.tempHoldError(), held[i])
		}
	}
	if float64(held[0]) > 0.3*float64(held[1]) {
		t.Errorf("holdover error %v with compensation, %v without: want at most 0.3x", held[0], held[1])
	}
}
