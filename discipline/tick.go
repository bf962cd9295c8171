package discipline

import (
	"math"
	"time"

	"stratum1/ntp"
)

// Tick runs the time-driven part of the loop at the clock reading now:
// holdover, leap seconds and the published state. Call it about once a
// second.
func (d *Discipline) Tick(now time.Time) {
	d.countMissed(now)
	switch {
	case d.started && now.Sub(d.lastSample) > d.staleAfter():
		d.holdover(now)
	case d.started && d.source == Peer:
		// Peer samples are minutes apart: between them the model coasts
		// and the control runs every tick, as it would every pulse.
		d.coast(now)
	case d.started && now.Sub(d.lastSample) > time.Second+missedGrace:
		// A missed pulse: the model and the control go on as if the
		// sample had come with no news, so the slew of the last offset
		// ends on time.
		d.bridge(now)
	}
	d.leap(now)
	d.publish(now)
	if err := d.clk.SetSync(d.synchronised(), d.estError(), d.maxError()); err != nil && err != ErrNoClockAdjust {
		d.log.Debug("cannot publish sync status to the clock", "err", err)
	}
}

// staleAfter is how long the source may go without a sample before the
// loop holds over.
func (d *Discipline) staleAfter() time.Duration {
	if d.source != Peer {
		return d.gpsStaleAfter()
	}
	return max(peerStaleRatio*d.peerEvery, peerStaleMin)
}

// gpsStaleAfter is how long GPS samples, one a second, may be missing
// before the loop holds over: a pulse counts as missing half a second
// after it was due, and HoldoverMissedPulses of them in a row are an
// outage.
func (d *Discipline) gpsStaleAfter() time.Duration {
	return time.Duration(d.cfg.HoldoverMissedPulses)*time.Second + missedGrace
}

// missedGrace is how late after its second a pulse counts as missing.
const missedGrace = 500 * time.Millisecond

// countMissed counts the GPS samples missing at now while the loop follows
// GPS and has not yet held over: each once, without a log line, since a
// missed pulse is a missed sample and not a change of state.
func (d *Discipline) countMissed(now time.Time) {
	if !d.started || d.source == Peer || d.holding() {
		return
	}
	gap := now.Sub(d.lastSample) - missedGrace
	if gap < time.Second {
		return
	}
	if n := int(gap / time.Second); n > d.gapMissed {
		d.missed += uint64(n - d.gapMissed)
		d.gapMissed = n
	}
}

// holdover free-runs the model: the last frequency, and its trend when
// the trend is significant, while the error estimate grows at the measured
// wander.
func (d *Discipline) holdover(now time.Time) {
	switch d.state {
	case Locked:
		d.state = Holdover
		d.holdovers++
		d.holdStart = d.lastSample
		// The modelled trend is a thermal transient's: it ends within
		// minutes, and extrapolating it over hours does more harm than
		// good, so holdover keeps the frequency alone. The loop's filter
		// follows the recent past closely, through its drift state and
		// its own corrections, and is noisy for it; the tracker's
		// frequency is the oscillator model's best estimate at the loss
		// (the phase record is kept while locked to PPS only).
		//
		// The model's own error estimate (logged here; the served bound
		// grows from the last measurement regardless, see measured) is
		// the phase uncertainty at the loss, the frequency's times t,
		// and the measured wander's q·t³/3, as variances (predict with no drift noise). The drift
		// is left out with its estimate: the quiet model's drift noise
		// is a tuning that keeps its drift state free to follow slow
		// changes, not a measured property of the crystal, and grew the
		// estimate 8× past the real error within the hour; ageing (parts
		// in 1e11 a day) is nanoseconds over hours; a temperature change
		// during the outage is no part of the stability measured before
		// it, and nothing in the past bounds it.
		//
		// The wander is the one the tracker assumed: the fast model's
		// while the loop still followed a disturbance at the loss, whose
		// transient is then not over.
		d.holdQ = d.est.trackWander(d.lastLocal) * d.est.trackWander(d.lastLocal)
		d.holdDrift2 = d.est.holdover(d.freqPPM, d.source == PPS)
		d.log.Info("holdover: source lost", "est_error", time.Duration(d.estErrorLocked()*1e9),
			"frequency_ppm", d.freqPPM-d.est.FrequencyPPM(), "frequency_sigma_ppm", d.est.SkewPPM(), "wander_ppm", math.Sqrt(d.holdQ)*1e6)
	case Holdover:
		if d.cfg.HoldoverLimit > 0 && now.Sub(d.holdStart) > d.cfg.HoldoverLimit {
			d.state = Unusable
			d.log.Warn("holdover limit reached: source unusable", "limit", d.cfg.HoldoverLimit)
		}
	}
	d.coast(now)
}

// coast advances the model to now without a measurement and steers by it.
func (d *Discipline) coast(now time.Time) {
	dt := now.Sub(d.lastLocal).Seconds()
	if dt <= 0 {
		return
	}
	d.est.endBoost()
	d.predict(dt, d.source)
	// Without data the fast model only grows its variance; it starts again
	// from the quiet one when the pulses return.
	d.est.forget()
	d.lastT = d.lastT.Add(now.Sub(d.lastLocal))
	d.lastLocal = now
	d.control()
	if d.observe && d.state == Locked && math.Abs(d.est.Phase()) > d.lockBound() {
		d.state = Acquiring
		d.goodRun = 0
	}
}

// bridge advances both models to now across a gap of a few missed pulses
// and steers by them, keeping the detectors' state: a missed sample is
// no news, unlike an outage (coast).
func (d *Discipline) bridge(now time.Time) {
	dt := now.Sub(d.lastLocal).Seconds()
	if dt <= 0 {
		return
	}
	d.predict(dt, d.source)
	d.lastT = d.lastT.Add(now.Sub(d.lastLocal))
	d.lastLocal = now
	d.control()
}

func (d *Discipline) synchronised() bool { return d.state == Locked || d.state == Holdover }

// holding reports whether the loop free-runs on holdover's model.
func (d *Discipline) holding() bool { return d.state == Holdover || d.state == Unusable }

// holdoverSigmas is how many standard deviations of the holdover model
// the published error estimate spans. Holdover's error is the integral of
// a random walk: it stays on one side of the estimate for many minutes, so
// a one-sigma figure would be exceeded for a third of an outage.
const holdoverSigmas = 2.0

// estErrorLocked is the published error estimate: the filter's standard
// deviation of the offset, holdoverSigmas of it in holdover, with the
// source's own error where the filter's averaging does not remove it.
func (d *Discipline) estErrorLocked() float64 {
	e := d.est.PhaseSigma()
	if d.holding() {
		e = holdoverSigmas * math.Hypot(e, d.tempHoldError())
	}
	return d.withSourceError(e)
}

// withSourceError adds the part of the source's error that no averaging
// removes to e.
func (d *Discipline) withSourceError(e float64) float64 {
	switch d.source {
	case NMEA:
		e = math.Hypot(e, d.cfg.NMEAError.Seconds()) + d.nmeaBias
	case Peer:
		// The peers' error is partly systematic (asymmetric paths): the
		// filter's averaging does not remove it.
		e = math.Hypot(e, math.Sqrt(d.lastR))
	}
	return e
}

// estError is the clock's estimated error. Steering, the estimated offset
// is being slewed out and the error is the estimate's uncertainty;
// observing only, the offset stays in the clock and is part of its error.
func (d *Discipline) estError() time.Duration {
	if !d.started {
		return 16 * time.Second
	}
	if d.holding() {
		// The published bound, which includes what the model does not
		// foresee.
		return time.Duration(d.boundAt(d.lastLocal) * 1e9)
	}
	e := d.estErrorLocked()
	if d.observe {
		e += math.Abs(d.est.Phase())
	}
	return time.Duration(e * 1e9)
}

func (d *Discipline) maxError() time.Duration {
	if !d.started {
		return 16 * time.Second
	}
	e := 3*d.withSourceError(d.est.PhaseSigma()) + math.Abs(d.est.Phase())
	return time.Duration(max(e, d.boundAt(d.lastLocal)) * 1e9)
}

// measured fixes the error bound at a real measurement at clock reading
// at: the loop's estimate then (the estimated offset, which the loop
// slews out, included), growing after it at the frequency's uncertainty
// (two sigma) and MaxClockError, and observing only at the free-running
// frequency error too. This is chrony's root dispersion (skew +
// maxclockerror per second) and RFC 5905's (PHI per second, with PHI
// measured): it grows through any gap and the whole holdover from the
// last measurement, whatever the loop's model expects.
func (d *Discipline) measured(at time.Time) {
	d.dispBase = d.estErrorLocked() + math.Abs(d.est.Phase())
	d.dispRate = 2*d.est.FrequencySigma() + d.cfg.MaxClockError*1e-6
	if d.observe {
		d.dispRate += math.Abs(d.est.Frequency())
	}
	d.dispAt = at
}

// boundAt is the error bound at clock reading now, in seconds.
func (d *Discipline) boundAt(now time.Time) float64 {
	return d.holdBase() + d.dispRate*max(now.Sub(d.dispAt).Seconds(), 0)
}

// holdBase is the bound's base: in holdover it includes the temperature
// model's uncertainty of the change since the loss, which grows with the
// temperature's excursion rather than with time.
func (d *Discipline) holdBase() float64 {
	return d.dispBase + holdoverSigmas*d.tempHoldError()
}

// publish computes the ServerState to serve (see ServerState).
//
// Steering to upstream peers, it publishes unsynchronised: the discipline
// knows the peers' offset but not their stratum, reference identifier,
// leap indicator or root distance, and a box that follows peers must not
// announce stratum 1 with refid GPS or PPS. The caller that feeds Peer
// samples serves the selection's stratum + 1 and refid itself (the
// appliance's Peers state), from Stats (Source == Peer, State, EstError)
// and its own selection. Stats.Source says which source the loop follows.
func (d *Discipline) publish(now time.Time) {
	if !d.synchronised() || d.source == Peer {
		if d.served.Synchronised() {
			d.served = ntp.Unsynchronised(d.precision)
		}
		return
	}
	ref := ntp.RefPPS
	if d.source == NMEA {
		ref = ntp.RefGPS
	}
	d.served = &ntp.ServerState{
		Leap:      d.armed,
		Stratum:   1,
		Precision: d.precision,
		RefID:     ref,
		// The bound fixed at the last measurement, growing from then on
		// (see measured): every view evaluates it with DispersionAt.
		RootDispersion: time.Duration(math.Ceil(d.holdBase() * 1e9)),
		RefTime:        d.lastSample,
		Updated:        d.dispAt,
		DispersionRate: d.dispRate,
	}
}
