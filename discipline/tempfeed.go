package discipline

import (
	"math"
	"time"
)

// Temperature compensation: the loop learns its crystal's frequency
// against the SoC's temperature (TempModel) while locked to pulses, and
// feeds the learnt curve forward: each change of temperature changes the
// frequency correction by what the curve predicts, so the loop tracks only
// the residual, and holdover follows the temperature instead of keeping
// the frequency at the loss.

const (
	// tempLag is the crystal's thermal lag behind the SoC's sensor: the
	// sensor sits on the die, which heats within seconds of a load, the
	// crystal on the board, which follows over minutes. The readings are
	// smoothed through it, which also averages the sensor's noise and
	// its half-degree steps.
	tempLag = 150 * time.Second
	// tempBin is how long readings and frequencies are averaged into one
	// observation: the loop's frequency estimates a second apart are
	// one estimate, not independent ones.
	tempBin = 64 * time.Second
	// tempMaxGap is the longest gap between readings across which the
	// smoothed temperature is kept.
	tempMaxGap = 10 * time.Second
	// tempLagErr is how far the crystal's real lag may be from tempLag:
	// while the temperature moves, the smoothed reading is off the
	// crystal's by its rate times this, and the loop's frequency lags
	// too, so an observation then counts for less.
	tempLagErr = 90 * time.Second
	// tempDeadband is the change of the smoothed temperature that
	// feed-forward waits for: several times the smoothed reading's noise
	// (a sensor's 0.2 °C, averaged over tempLag).
	tempDeadband = 0.05
	// tempSlopeMax is the steepest curve assumed before the model knows
	// its own slope, ppm/°C.
	tempSlopeMax = 0.5
)

// tempComp is the discipline's temperature state.
type tempComp struct {
	model    TempModel
	have     bool
	smooth   float64   // smoothed reading, °C
	raw      float64   // last reading, °C
	at       time.Time // clock reading of the last reading
	ffTemp   float64   // temperature the feed-forward stands at (the smoothed one, within tempDeadband)
	readings uint64
	bad      uint64
	applied  float64 // feed-forward in force, ppm (relative to when it began)

	// The observation being averaged.
	binStart         time.Time
	binT, binF, binV float64
	binN             int
	binT0            float64 // smoothed temperature at the bin's start
	lastObs          time.Time

	// Holdover: the smoothed temperature at the loss, and the model's
	// phase uncertainty accumulated since, s.
	holdTemp  float64
	holdPhase float64
	holding   bool
}

// TempStats is the temperature compensation's state, for the views.
type TempStats struct {
	Readings     uint64     // temperature readings taken
	Bad          uint64     // readings refused (absurd values)
	TemperatureC float64    // last reading, °C (NaN: none)
	SmoothedC    float64    // the crystal's estimated temperature, °C
	Samples      int        // observations the model has learnt from
	Ready        bool       // the model is used
	RefC         float64    // the curve's centre, °C
	Coef         [3]float64 // ppm, ppm per 10 °C, ppm per (10 °C)²
	SigmaPPM     float64    // uncertainty of the curve's change across the range observed
	SlopePPMPerC float64    // slope at the current temperature
	MinC, MaxC   float64    // range observed
	AppliedPPM   float64    // feed-forward applied since it began
}

// Temperature hands the loop one reading of the SoC's temperature, in °C,
// taken at clock reading now; call it about once a second. Readings far
// outside a Pi's range are counted and ignored.
func (d *Discipline) Temperature(now time.Time, tempC float64) {
	t := &d.tc
	if !finite(tempC) || tempC < -60 || tempC > 150 {
		t.bad++
		return
	}
	t.readings++
	t.raw = tempC
	dt := now.Sub(t.at)
	if !t.have || dt > tempMaxGap || dt < 0 {
		t.have, t.smooth, t.ffTemp = true, tempC, tempC
		t.binN = 0
	} else {
		t.smooth += (tempC - t.smooth) * -math.Expm1(-dt.Seconds()/tempLag.Seconds())
	}
	t.at = now
	d.learnTemperature(now)
	d.feedForward(now, dt.Seconds())
}

// learnTemperature averages the loop's frequency, while it is locked to
// pulses, into observations of the curve.
func (d *Discipline) learnTemperature(now time.Time) {
	t := &d.tc
	if d.state != Locked || d.source != PPS || d.observe || !d.started || d.est.boosted(d.lastLocal) {
		t.binN = 0
		return
	}
	if t.binN == 0 {
		t.binStart, t.binT, t.binF, t.binV, t.binT0 = now, 0, 0, 0, t.smooth
	}
	t.binT += t.smooth
	t.binF += d.freqPPM - d.est.FrequencyPPM()
	t.binV += d.est.SkewPPM() * d.est.SkewPPM()
	t.binN++
	if now.Sub(t.binStart) < tempBin {
		return
	}
	n := float64(t.binN)
	hours := 0.0
	if !t.lastObs.IsZero() {
		hours = now.Sub(t.lastObs).Hours()
	}
	// The temperature's rate over the bin makes the observation less
	// certain by what an error in the lag would make of it.
	rate := (t.smooth - t.binT0) / now.Sub(t.binStart).Seconds()
	slope := tempSlopeMax
	if t.model.Ready() {
		slope = min(math.Abs(t.model.Slope(t.binT/n))*2, tempSlopeMax)
	}
	lagVar := math.Pow(slope*rate*tempLagErr.Seconds(), 2)
	t.model.Observe(t.binT/n, t.binF/n, 1/max(t.binV/n+lagVar, 1e-8), hours)
	t.lastObs = now
	t.binN = 0
}

// feedForward changes the frequency correction by the curve's change since
// the last reading, shrunk by its uncertainty (a change the model does
// not know well is applied in part), while the loop steers to GPS or
// holds over. The filter is not told: the correction cancels a change of
// the oscillator it never saw. In holdover the model's uncertainty since
// the loss accumulates as phase (dt seconds since the last reading).
func (d *Discipline) feedForward(now time.Time, dt float64) {
	t := &d.tc
	from := t.ffTemp
	holding := d.holding() && d.source != Peer
	if holding && !t.holding {
		t.holding, t.holdTemp, t.holdPhase = true, from, 0
	} else if !holding {
		t.holding = false
	}
	if !t.model.Ready() || d.observe || !d.started || d.source == Peer ||
		!(d.state == Locked || holding) {
		t.ffTemp = t.smooth
		return
	}
	if holding && dt > 0 {
		_, s := t.model.PredictDelta(t.holdTemp, t.smooth)
		t.holdPhase += s * 1e-6 * dt
	}
	// Feed-forward follows the smoothed reading with play: changes
	// within tempDeadband are the reading's own noise, which the loop
	// follows better than a correction by it; beyond it, it follows
	// continuously, tempDeadband behind (a constant the loop absorbs).
	to := t.smooth
	switch {
	case to > from+tempDeadband:
		to -= tempDeadband
	case to < from-tempDeadband:
		to += tempDeadband
	default:
		return
	}
	t.ffTemp = to
	delta, sigma := t.model.PredictDelta(from, to)
	if delta == 0 {
		return
	}
	dy := delta * delta * delta / (delta*delta + sigma*sigma)
	freq := max(-d.cfg.MaxFrequency, min(d.cfg.MaxFrequency, d.freqPPM+dy))
	if freq == d.freqPPM {
		return
	}
	if err := d.clk.SetFrequency(freq); err != nil {
		d.adjustFailed(err)
		return
	}
	d.est.stab.correct(now, freq)
	t.applied += freq - d.freqPPM
	d.freqPPM = freq
}

// tempHoldError is the model's share of the holdover error, s.
func (d *Discipline) tempHoldError() float64 {
	if !d.tc.holding || !d.holding() {
		return 0
	}
	return d.tc.holdPhase
}

// TempStats returns the temperature compensation's state.
func (d *Discipline) TempStats() TempStats {
	t := &d.tc
	m := &t.model
	st := TempStats{Readings: t.readings, Bad: t.bad, TemperatureC: math.NaN(), SmoothedC: math.NaN(),
		Samples: m.N, Ready: m.Ready(), RefC: m.Ref, Coef: m.Coef, MinC: m.MinT, MaxC: m.MaxT, AppliedPPM: t.applied}
	if t.have {
		st.TemperatureC, st.SmoothedC = t.raw, t.smooth
	}
	if m.Ready() {
		_, st.SigmaPPM = m.PredictDelta(m.MinT, m.MaxT)
		if t.have {
			st.SlopePPMPerC = m.Slope(t.smooth)
		}
	}
	return st
}

// tempModel returns a copy of the learnt model for the drift file; nil
// when nothing is learnt.
func (d *Discipline) tempModel() *TempModel {
	if d.tc.model.N == 0 {
		return nil
	}
	m := d.tc.model
	return &m
}
