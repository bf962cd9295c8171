package appliance

import (
	"fmt"
	"time"

	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/ntp"
	"stratum1/peer"
	"stratum1/pps"
)

// onEpoch takes one second of NMEA from the receiver.
func (a *Appliance) onEpoch(e gps.Epoch) {
	if !e.HasTime() {
		return
	}
	a.mu.Lock()
	a.lastEpoch = e.Arrival
	a.mu.Unlock()
	if e.LeapSecond {
		a.log.Info("receiver reports a leap second", "time", e.Time)
	}
	if a.hw.PPS == nil {
		// No pulse: the NMEA arrival time is the measurement.
		if e.Valid {
			s := discipline.Sample{Local: e.Arrival, True: e.Time, Source: discipline.NMEA}
			a.mu.Lock()
			latency := a.cfg.Discipline.NMEALatency
			a.mu.Unlock()
			a.gpsSample(s, s.Offset()-latency)
		}
		return
	}
	a.mu.Lock()
	s, ok := a.pairer.Second(pps.Second{UTC: e.Time, Arrival: e.Arrival, Fix: e.Valid})
	a.mu.Unlock()
	if ok {
		a.ppsSample(s)
	}
}

// onEdge takes one captured pulse edge.
func (a *Appliance) onEdge(e pps.Edge) {
	a.mu.Lock()
	s, ok := a.pairer.Edge(e)
	a.mu.Unlock()
	if ok {
		a.ppsSample(s)
	}
}

func (a *Appliance) ppsSample(s pps.Sample) {
	a.gpsSample(discipline.Sample{Local: s.Local, True: s.UTC, Err: s.Err, Source: discipline.PPS}, s.Offset())
}

// gpsSample records what the GPS says (clockMinusGPS, for the cross-check)
// and steers the clock with it, unless the peers distrust the receiver or
// have not judged it yet: a receiver naming the wrong second from the start
// must not step the clock before the peers can say so.
func (a *Appliance) gpsSample(s discipline.Sample, clockMinusGPS time.Duration) {
	now := a.now()
	a.mu.Lock()
	a.lastGPSAt, a.lastGPSOffset = s.Local, clockMinusGPS
	held := a.distrusted || a.awaitingPeersLocked(now)
	a.mu.Unlock()
	if !held {
		a.sample(s)
	}
}

// awaitingPeersLocked reports whether GPS waits for the peers' first verdict
// since the start or the last step (at most crossCheckWait).
func (a *Appliance) awaitingPeersLocked(now time.Time) bool {
	return a.peers != nil && !a.crossChecked && now.Before(a.crossCheckDue)
}

func (a *Appliance) sample(s discipline.Sample) {
	if err := a.disc.Sample(s); err != nil {
		a.log.Debug("sample rejected", "source", s.Source, "offset", s.Offset(), "err", err)
		return
	}
	now := a.now()
	a.passOnSteps(now)
	a.update(now)
}

// crossCheckWait is how long, after the start or a step, a box with upstream
// peers waits for their verdict on the GPS before it serves stratum 1
// without one: a receiver that names the wrong second from the start must
// not be served, but peers that cannot be reached must not keep a good
// receiver from serving for long.
const crossCheckWait = time.Minute

// passOnSteps tells the parts that hold clock readings about a step the
// discipline made: the pairer (its pulse count carries on) and the peers
// (their filters hold offsets from before it). A step also asks the peers
// for a fresh verdict on the GPS before stratum 1 is served again.
func (a *Appliance) passOnSteps(now time.Time) {
	total := a.disc.Stats().StepTotal
	a.mu.Lock()
	d := total - a.stepSeen
	a.stepSeen = total
	if d != 0 {
		a.pairer.ClockStepped(d)
		a.crossChecked, a.crossCheckDue = false, now.Add(crossCheckWait)
	}
	a.mu.Unlock()
	if d != 0 && a.peers != nil {
		a.peers.ClockStepped(d)
	}
}

// feedPeers runs the cross-check while GPS steers the clock, and steers the
// clock to the peers when GPS cannot.
func (a *Appliance) feedPeers(now time.Time) {
	if a.peers == nil {
		return
	}
	sel := a.peers.Selection()
	a.mu.Lock()
	state, _ := a.machine.State()
	threshold := a.cfg.Peers.CrossCheckThreshold
	gpsOffset, fresh := a.lastGPSOffset, now.Sub(a.lastGPSAt) < 10*time.Second
	distrusted := a.distrusted
	a.mu.Unlock()
	if sel.OK && fresh {
		// gpsOffset is clock minus GPS from the newest GPS sample, kept
		// even while distrusted, so that trust can come back.
		disagree, ok := sel.CrossCheck(gpsOffset, threshold)
		if ok {
			a.mu.Lock()
			a.crossChecked = true
			a.mu.Unlock()
		}
		if ok && disagree != distrusted {
			if disagree {
				a.log.Error("GPS disagrees with the majority of upstream peers: distrusting GPS, serving from peers",
					"clock_minus_gps", gpsOffset, "clock_minus_peers", sel.Offset, "threshold", threshold)
			} else {
				a.log.Warn("GPS agrees with the upstream peers again", "clock_minus_gps", gpsOffset, "clock_minus_peers", sel.Offset)
			}
			a.setDistrusted(disagree)
		}
	}
	if sel.OK && sel.Leap != ntp.LeapNotInSync {
		// The peers' majority announces leap seconds that the receiver's
		// NMEA cannot; a valid leap-seconds.list still takes precedence.
		a.disc.SetLeapHint(sel.Leap)
	}
	if state == Peers && sel.OK && sel.Updated.After(a.peerSamplesSeen()) {
		a.markPeerSample(sel.Updated)
		a.sample(discipline.Sample{Local: now, True: now.Add(-sel.Offset), Err: peerError(sel), Source: discipline.Peer})
	}
}

func (a *Appliance) setDistrusted(v bool) {
	a.mu.Lock()
	a.distrusted = v
	a.mu.Unlock()
}

func (a *Appliance) peerSamplesSeen() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.peerSamples
}

func (a *Appliance) markPeerSample(t time.Time) {
	a.mu.Lock()
	a.peerSamples = t
	a.mu.Unlock()
}

// update steps the state machine and publishes what the responder serves.
func (a *Appliance) update(now time.Time) {
	st := a.disc.Stats()
	var sel peerSelection
	if a.peers != nil {
		s := a.peers.Selection()
		sel = peerSelection{ok: s.OK, offset: s.Offset, stratum: s.Stratum, refID: s.RefID, leap: s.Leap,
			rootDelay: s.RootDelay, rootDisp: s.RootDispersion, updated: s.Updated}
	}
	// Only GPS (PPS or NMEA) makes the box healthy: a loop locked to the
	// peers is the Peers state, not the way back to stratum 1.
	gps := st.Source != discipline.Peer
	a.mu.Lock()
	// With peers configured, GPS waits for their first verdict (or for
	// crossCheckWait) before it counts as disciplined.
	awaitingPeers := a.awaitingPeersLocked(now)
	obs := Observation{
		Now:           now,
		TimeKnown:     st.State != discipline.Unsynchronised,
		Disciplined:   gps && !awaitingPeers && (st.State == discipline.Locked || st.State == discipline.Holdover),
		SourceFresh:   gps && st.State == discipline.Locked,
		HoldoverLimit: st.State == discipline.Unusable,
		GPSDistrusted: a.distrusted,
		PeersUsable:   sel.ok,
	}
	prev, _ := a.machine.State()
	state, changed := a.machine.Step(obs)
	stepThreshold := a.cfg.Discipline.StepThreshold
	if st.State == discipline.Locked && st.Source == discipline.PPS {
		a.pairer.SetClockError(st.EstError * 4)
	}
	a.mu.Unlock()
	served := a.servedState(state, sel, stepThreshold)
	a.served.Store(served)
	if changed {
		a.log.Info("state change", "from", prev, "to", state, "stratum", served.Stratum,
			"refid", served.RefID.Format(served.Stratum), "offset", st.Offset,
			"est_error", st.EstError, "frequency_ppm", st.FrequencyPPM)
		if a.peers != nil {
			// While GPS steers the clock the peers are only a cross-check:
			// poll them gently. Otherwise they may be needed at any moment.
			floor := time.Duration(0)
			if state == Locked && a.crossCheckedNow() {
				floor = 1024 * time.Second
			}
			a.peers.SetPollFloor(floor)
		}
		if a.onState != nil {
			a.onState(state, fmt.Sprintf("%s, stratum %d, refid %s", state, served.Stratum, served.RefID.Format(served.Stratum)))
		}
	}
}

type peerSelection struct {
	ok        bool
	offset    time.Duration // clock minus the peers
	stratum   uint8
	refID     ntp.RefID
	leap      ntp.Leap
	rootDelay time.Duration
	rootDisp  time.Duration
	updated   time.Time
}

// servedState is what the responder answers with in state s. Only Locked
// and Holdover serve the discipline's stratum-1 state, and only Peers the
// peers': a box never serves stratum 1 before its clock is disciplined.
func (a *Appliance) servedState(s State, sel peerSelection, stepThreshold time.Duration) *ntp.ServerState {
	switch s {
	case Locked, Holdover:
		if st := a.disc.ServerState().Load(); st != nil && st.Synchronised() {
			return st
		}
	case Peers:
		// The peers' time is served only once the clock agrees with it:
		// until the discipline has stepped it, the clock may be far off
		// (a Pi without a real-time clock boots hours in the past). What
		// is left of the offset counts as dispersion.
		if sel.ok && sel.stratum < ntp.StratumUnsynchronised-1 && abs(sel.offset) <= stepThreshold {
			return &ntp.ServerState{
				Leap: sel.leap, Stratum: sel.stratum + 1, Precision: -20, RefID: sel.refID,
				RootDelay: sel.rootDelay, RootDispersion: sel.rootDisp + abs(sel.offset), RefTime: sel.updated,
			}
		}
	}
	return ntp.Unsynchronised(-20)
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// peerError is the uncertainty of the peers' combined time: the spread of
// the survivors, and at least the system peer's root distance, never below
// a millisecond.
func peerError(sel peer.Selection) time.Duration {
	return max(sel.Jitter, sel.RootDelay/2+sel.RootDispersion, time.Millisecond)
}

func (a *Appliance) crossCheckedNow() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.crossChecked
}
