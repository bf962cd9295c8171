package discipline

import (
	"errors"
	"math"
	"time"
)

// control sets the frequency that cancels the estimated frequency error and
// slews the estimated offset out over controlTC.
//
// Observing only, it does nothing: the filter then follows the clock's own
// offset and frequency error, which nothing corrects.
func (d *Discipline) control() {
	if d.observe {
		return
	}
	tc := controlTC
	if d.source == Peer {
		tc = peerControlTC
	}
	target := -d.est.Phase() / tc
	freq := d.freqPPM + (target-d.est.Frequency())*1e6
	freq = max(-d.cfg.MaxFrequency, min(d.cfg.MaxFrequency, freq))
	if freq == d.freqPPM {
		return
	}
	if err := d.clk.SetFrequency(freq); err != nil {
		d.adjustFailed(err)
		return
	}
	// The change takes effect now, not at the reading the model stands
	// at: a pulse is often handed over with its NMEA epoch, a few hundred
	// ms after its edge, and while acquiring the frequency moves by ppm at
	// a time, microseconds over that delay.
	late := 0.0
	if now := d.clk.Now(); now.After(d.lastLocal) {
		late = min(now.Sub(d.lastLocal).Seconds(), maxLate)
	}
	dy := (freq - d.freqPPM) * 1e-6
	d.est.corrected(d.lastLocal.Add(time.Duration(late*1e9)), freq, dy, late)
	d.freqPPM = freq
}

// adjustFailed handles a refused frequency change. ErrNoClockAdjust makes
// the loop an observer for good; any other failure (no CAP_SYS_TIME, a
// value the kernel refuses) is retried at the next update and logged at
// the first and every 3600th, never once a sample.
func (d *Discipline) adjustFailed(err error) {
	if errors.Is(err, ErrNoClockAdjust) {
		d.observeOnly()
		return
	}
	d.adjustFails++
	if d.adjustFails%3600 == 1 {
		d.log.Warn("cannot set frequency", "err", err, "failures", d.adjustFails)
	}
}

// observeOnly switches the loop to observing, once.
func (d *Discipline) observeOnly() {
	if d.observe {
		return
	}
	d.observe = true
	d.log.Info("clock adjustment disabled: observing only; the clock's offset counts in the published error")
}

// stepAllowed reports whether an offset above step_threshold may be
// stepped: within the first step_limit updates, and for as long as only
// NMEA of unknown latency has set the clock, so that the first pulses,
// however late their device comes, step out the up to a second that
// NMEA left rather than slew it at max_frequency_ppm for half an hour.
func (d *Discipline) stepAllowed() bool {
	return d.cfg.StepLimit < 0 || d.updates < d.cfg.StepLimit || d.coarse
}

// step removes offset (seconds) from the clock.
func (d *Discipline) step(offset float64, now time.Time) {
	by := -time.Duration(math.Round(offset * 1e9))
	if d.observe {
		return
	}
	if err := d.clk.Step(by); errors.Is(err, ErrNoClockAdjust) {
		d.observeOnly()
		return
	} else if err != nil {
		d.log.Error("cannot step the clock", "by", by, "err", err)
		return
	}
	d.steps++
	d.stepTotal += by
	d.stepAt, d.stepOff = now.Add(by), offset
	d.est.stepped(offset)
	d.lastLocal = d.lastLocal.Add(by)
	d.lastSample = d.lastSample.Add(by)
	// Readings taken before the step are in the old time scale.
	if !d.lastPPS.IsZero() {
		d.lastPPS = d.lastPPS.Add(by)
	}
	if !d.lastGPS.IsZero() {
		d.lastGPS = d.lastGPS.Add(by)
	}
	d.log.Warn("stepped the clock", "by", by, "was", now, "now", now.Add(by))
}
