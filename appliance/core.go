package appliance

import (
	"fmt"
	"log/slog"
	"time"

	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/ntp"
	"stratum1/peer"
	"stratum1/pps"
)

// CoreConfig is what the core needs of the configuration. It is recorded
// at the head of a recording, so that a replay builds the same core.
type CoreConfig struct {
	Discipline discipline.Config `json:"discipline"`
	PPS        pps.Config        `json:"pps"`
	// CrossCheckThreshold is how far the GPS may be from the peers'
	// true-chimers before it is distrusted; GPSRecoverAfter how long it
	// must be healthy again before the box goes back to it.
	CrossCheckThreshold time.Duration `json:"cross_check_threshold"`
	GPSRecoverAfter     time.Duration `json:"gps_recover_after"`
	// Peers says that upstream peers are configured: GPS then waits for
	// their verdict before it is served (see crossCheckWait).
	Peers bool `json:"peers"`
}

// Core is the time path of the appliance: it pairs pulses with the NMEA
// seconds, disciplines the clock, cross-checks the GPS against the peers,
// runs the state machine and decides what is served. It is sans-IO: it
// starts no goroutines, takes no locks of its own and reads no clock. Each
// input carries the clock reading at which the caller handled it, and
// returns the actions taken (see Action). The clock is steered through the
// discipline.Clock it is given; a step re-bases the pairer in the same call
// and is returned as an ActionStep for the caller to pass to the peers.
//
// Neither the pairer nor the discipline takes locks: the core calls them
// from the caller's goroutine only, and other goroutines read the copies
// in a CoreView.
type Core struct {
	cfg     CoreConfig
	log     *slog.Logger
	clk     *coreClock
	disc    *discipline.Discipline
	pairer  *pps.Pairer
	machine *Machine
	reload  Reload // what the last Reconfigure left for a restart

	ppsAttached   bool
	distrusted    bool
	lastGPSAt     time.Time     // clock reading of the newest GPS sample
	lastGPSOffset time.Duration // its offset, clock minus GPS
	lastEpoch     time.Time     // clock reading when the newest NMEA epoch arrived
	lastEpochMode int
	nmeaSilent    bool      // said that the epochs stopped (watchNMEA)
	crossChecked  bool      // the peers have judged the GPS since the last step
	crossCheckDue time.Time // until when to wait for that verdict
	reachGPS      uint8
	reachPPS      uint8
	sel           peer.Selection // the newest selection handed in
	peerSamples   time.Time      // Updated of the last selection fed as a sample
	served        *ntp.ServerState
	pollFloor     time.Duration            // last floor asked of the peers; -1 none yet
	steps         uint64                   // steps made to the clock
	recentSteps   [keptSteps]time.Duration // the last steps' sizes, by step number modulo keptSteps
	stale         uint64                   // inputs dropped for predating the kept steps
	fed           uint64                   // samples handed to the discipline

	out []Action
}

// NewCore returns a core steering clk, in NoTime at the clock reading
// start. It reads the drift and leap second files that cfg names (through
// discipline.New), the only I/O it does.
func NewCore(cfg CoreConfig, clk discipline.Clock, start time.Time, log *slog.Logger) (*Core, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start = start.Round(0).UTC()
	c := &Core{cfg: cfg, log: log, pollFloor: -1}
	c.clk = &coreClock{c: c, under: clk, now: start}
	disc, err := discipline.New(cfg.Discipline, c.clk, log.With("part", "discipline"))
	if err != nil {
		return nil, fmt.Errorf("discipline: %w", err)
	}
	c.disc = disc
	if v, ok := clk.(discipline.Voucher); ok {
		if bound, synced := v.Vouched(); synced && bound > 0 && bound <= trustedClockMax {
			disc.TrustClock(bound)
			log.Info("clock synchronised at start; a whole-second step must persist", "est_error", bound)
		}
	}
	c.pairer = pps.NewPairer(cfg.PPS, log.With("part", "pps"))
	c.machine = NewMachine(cfg.GPSRecoverAfter, start)
	c.crossCheckDue = start.Add(crossCheckWait)
	c.served = ntp.Unsynchronised(-20)
	c.out = c.out[:0]
	return c, nil
}

// Discipline returns the core's discipline, for a DriftSaver ticked on the
// core's goroutine. Call its methods only from that goroutine; other
// goroutines read View's copy of its Stats.
func (c *Core) Discipline() *discipline.Discipline { return c.disc }

// Steps is how many steps the core has made to the clock: the generation
// of clock readings. Inputs captured before a step carry the count then,
// and the core re-bases their readings.
func (c *Core) Steps() uint64 { return c.steps }

// Fed is how many samples the core has handed to the discipline.
func (c *Core) Fed() uint64 { return c.fed }

// Served is what the responder serves now.
func (c *Core) Served() *ntp.ServerState { return c.served }

// begin starts handling an input at the clock reading now.
func (c *Core) begin(now time.Time) {
	c.out = c.out[:0]
	c.clk.now = now.Round(0).UTC()
}

// rebase moves a clock reading taken at step generation gen into the
// current one; ok is false when it predates more steps than are kept.
func (c *Core) rebase(t time.Time, gen uint64) (time.Time, bool) {
	if gen >= c.steps || t.IsZero() {
		return t.Round(0).UTC(), true
	}
	if c.steps-gen > keptSteps {
		return t, false
	}
	for n := gen; n < c.steps; n++ {
		t = t.Add(c.recentSteps[n%keptSteps])
	}
	return t.Round(0).UTC(), true
}

// PPSSource attaches the capture backend that now delivers edges, or
// detaches it (empty backend) when the device is gone. While no device is
// attached, valid NMEA epochs steer the clock alone.
func (c *Core) PPSSource(now time.Time, device, backend string, precision time.Duration) []Action {
	c.begin(now)
	c.ppsAttached = backend != ""
	c.pairer.SetSource(device, backend, precision)
	return c.out
}

// Epoch takes one second of NMEA, handled at clock reading now; gen is
// Steps() when its arrival was read.
func (c *Core) Epoch(now time.Time, e gps.Epoch, gen uint64) []Action {
	c.begin(now)
	if !e.HasTime() {
		return c.out
	}
	var ok bool
	if e.Arrival, ok = c.rebase(e.Arrival, gen); !ok {
		c.stale++
		return c.out
	}
	e.Time = e.Time.Round(0).UTC()
	if c.nmeaSilent {
		c.nmeaSilent = false
		c.log.Info("gps: NMEA time back", "silent_for", e.Arrival.Sub(c.lastEpoch).Round(time.Second))
	}
	c.lastEpoch, c.lastEpochMode = e.Arrival, e.Mode
	if e.LeapSecond {
		c.log.Info("receiver reports a leap second", "time", e.Time)
	}
	if !c.ppsAttached {
		// No pulse: the NMEA arrival time is the measurement.
		if e.Valid {
			s := c.nmeaSample(e)
			c.gpsSample(s, s.Offset()-c.cfg.Discipline.NMEALatency)
		}
		return c.out
	}
	if s, ok := c.pairer.Second(pps.Second{UTC: e.Time, Arrival: e.Arrival, Fix: e.Valid}); ok {
		c.ppsSample(s)
	}
	return c.out
}

// nmeaLatencyUnknown bounds the error of an NMEA sample whose latency was
// neither configured nor learned: receivers send a second's sentences from
// just after its edge to just before the next one, or the next second's
// before its edge.
const nmeaLatencyUnknown = time.Second

// nmeaSample is the sample an epoch makes without pulses. The configured
// nmea_latency is the discipline's to subtract; without one, the latency
// the pairer learned while there were pulses is, and without either the
// sample says that its error is unknown to a second (a 9600-baud
// receiver's sentences come 100 ms late or more: the 20 ms of nmea_error
// would have been served for an error five times that).
func (c *Core) nmeaSample(e gps.Epoch) discipline.Sample {
	s := discipline.Sample{Local: e.Arrival, True: e.Time, Source: discipline.NMEA}
	if c.cfg.Discipline.NMEALatency != 0 {
		return s
	}
	if lat, _, ok := c.pairer.NMEALatency(); ok {
		s.True = s.True.Add(lat)
		return s
	}
	s.Bias = nmeaLatencyUnknown
	return s
}

// Edge takes one captured pulse edge, handled at clock reading now; gen is
// Steps() when it was captured.
func (c *Core) Edge(now time.Time, e pps.Edge, gen uint64) []Action {
	c.begin(now)
	var ok bool
	if e.Local, ok = c.rebase(e.Local, gen); !ok {
		c.stale++
		return c.out
	}
	if s, ok := c.pairer.Edge(e); ok {
		c.ppsSample(s)
	}
	return c.out
}

// Reconfigure applies a reloaded configuration: the plain parameters of
// the pairer and the discipline at once, and the state machine's and the
// cross-check's settings. What needs a restart (devices, files) is kept as
// it was and named by Reloaded.
func (c *Core) Reconfigure(now time.Time, cfg CoreConfig) []Action {
	c.begin(now)
	var r Reload
	defer func() { c.reload = r }()
	var err error
	if r.PPSRestart, err = c.pairer.Reconfigure(cfg.PPS); err != nil {
		r.Err = err
		return c.out
	}
	if r.DisciplineRestart, err = c.disc.Reconfigure(cfg.Discipline); err != nil {
		r.Err = err
		return c.out
	}
	c.machine.Recover = cfg.GPSRecoverAfter
	keepPeers := c.cfg.Peers // whether peers exist is fixed at start
	c.cfg = cfg
	c.cfg.Peers = keepPeers
	return c.out
}

// Reload is what the last Reconfigure could not apply: the keys that
// need a restart, or why nothing was applied.
type Reload struct {
	PPSRestart        []string
	DisciplineRestart []string
	Err               error
}

// Reloaded returns what the last Reconfigure left for a restart.
func (c *Core) Reloaded() Reload { return c.reload }

// QErr takes the quantisation error the receiver announced for its next
// pulse, in a message that arrived at clock reading arrival (gen is Steps()
// then); the pairer corrects that pulse by it.
func (c *Core) QErr(now time.Time, qErr time.Duration, arrival time.Time, gen uint64) []Action {
	c.begin(now)
	var ok bool
	if arrival, ok = c.rebase(arrival, gen); !ok {
		c.stale++
		return c.out
	}
	c.pairer.SetQErr(qErr, arrival)
	return c.out
}

// Temperature takes a reading of the SoC's temperature in °C, taken at
// clock reading now, for the discipline's temperature compensation.
func (c *Core) Temperature(now time.Time, tempC float64) []Action {
	c.begin(now)
	c.disc.Temperature(c.clk.now, tempC)
	return c.out
}

// Peers takes the upstream peers' current selection (clock minus peers,
// in the current generation of clock readings). The next Tick judges the
// GPS by it and, in the Peers state, steers to it.
func (c *Core) Peers(now time.Time, sel peer.Selection) []Action {
	c.begin(now)
	sel.Updated = sel.Updated.Round(0).UTC()
	c.sel = sel
	return c.out
}

// Tick runs the time-driven part once a second: the discipline's holdover
// and leap seconds, the cross-check and the peers as a source, the state
// machine and the served state.
func (c *Core) Tick(now time.Time) []Action {
	c.begin(now)
	c.watchNMEA(c.clk.now)
	c.disc.Tick(c.clk.now)
	if c.cfg.Peers {
		c.feedPeers(c.clk.now)
	}
	c.update(c.clk.now)
	c.shiftReach(c.clk.now)
	return c.out
}

// nmeaSilence is how long the core waits without an NMEA epoch before it
// says so: receivers send one every second.
const nmeaSilence = 5 * time.Second

// watchNMEA logs, once, that the receiver's time sentences stopped: a cut
// line, a receiver without power or a port taken by another program
// otherwise shows only as a reach register, while the pulses, when there
// are any, carry the time on (Epoch logs their return).
func (c *Core) watchNMEA(now time.Time) {
	if c.nmeaSilent || c.lastEpoch.IsZero() || now.Sub(c.lastEpoch) < nmeaSilence {
		return
	}
	c.nmeaSilent = true
	c.log.Warn("gps: no NMEA time from the receiver: line cut, receiver off, or the port taken?",
		"silent_for", now.Sub(c.lastEpoch).Round(time.Second), "pulses_carry_on", c.ppsAttached)
}

func (c *Core) ppsSample(s pps.Sample) {
	c.gpsSample(discipline.Sample{Local: s.Local, True: s.UTC, Err: s.Err, Source: discipline.PPS}, s.Offset())
}

// gpsSample records what the GPS says (clockMinusGPS, for the cross-check)
// and steers the clock with it, unless the peers distrust the receiver or
// have not judged it yet: a receiver naming the wrong second from the start
// must not step the clock before the peers can say so.
func (c *Core) gpsSample(s discipline.Sample, clockMinusGPS time.Duration) {
	c.lastGPSAt, c.lastGPSOffset = s.Local, clockMinusGPS
	if c.distrusted || c.awaitingPeers(c.clk.now) {
		return
	}
	c.sample(s)
}

// awaitingPeers reports whether GPS waits for the peers' first verdict
// since the start or the last step (at most crossCheckWait).
func (c *Core) awaitingPeers(now time.Time) bool {
	return c.cfg.Peers && !c.crossChecked && now.Before(c.crossCheckDue)
}

func (c *Core) sample(s discipline.Sample) {
	c.fed++
	if err := c.disc.Sample(s); err != nil {
		c.log.Debug("sample rejected", "source", s.Source, "offset", s.Offset(), "err", err)
		return
	}
	c.update(c.clk.now)
}

// trustedClockMax is the largest error estimate of a clock synchronised at
// start (by the run before a restart) that the core trusts against the
// GPS's first word.
const trustedClockMax = time.Millisecond

// crossCheckWait is how long, after the start or a step, a box with upstream
// peers waits for their verdict on the GPS before it serves stratum 1
// without one: a receiver that names the wrong second from the start must
// not be served, but peers that cannot be reached must not keep a good
// receiver from serving for long.
const crossCheckWait = time.Minute

// keptSteps bounds the steps remembered for re-basing late inputs; a box
// steps once at start and rarely after.
const keptSteps = 8

// stepped is called by the clock once a step of d is applied: the pairer
// re-bases its readings at once, the peers are told through the returned
// action, and the GPS waits for a fresh verdict from them.
func (c *Core) stepped(d time.Duration) {
	c.recentSteps[c.steps%keptSteps] = d
	c.steps++
	c.pairer.ClockStepped(d)
	c.crossChecked, c.crossCheckDue = false, c.clk.now.Add(crossCheckWait)
	// Readings taken before the step are in the old scale, and the GPS's
	// offset moved with the clock.
	if !c.lastGPSAt.IsZero() {
		c.lastGPSAt, c.lastGPSOffset = c.lastGPSAt.Add(d), c.lastGPSOffset+d
	}
	if !c.lastEpoch.IsZero() {
		c.lastEpoch = c.lastEpoch.Add(d)
	}
	// The peers' selection held here moves as peer.Set.ClockStepped moves
	// theirs (the caller passes the step on to them).
	if c.sel.OK {
		c.sel.Offset += d
		tc := make([]time.Duration, len(c.sel.TrueChimers))
		for i, o := range c.sel.TrueChimers {
			tc[i] = o + d
		}
		c.sel.TrueChimers = tc
	}
	c.emit(Action{Kind: ActionStep, Step: d})
}

// feedPeers runs the cross-check while GPS steers the clock, and steers the
// clock to the peers when GPS cannot.
func (c *Core) feedPeers(now time.Time) {
	sel := c.sel
	state, _ := c.machine.State()
	threshold := c.cfg.CrossCheckThreshold
	gpsOffset, fresh := c.lastGPSOffset, now.Sub(c.lastGPSAt) < 10*time.Second
	if sel.OK && fresh {
		// gpsOffset is clock minus GPS from the newest GPS sample, kept
		// even while distrusted, so that trust can come back.
		disagree, ok := sel.CrossCheck(gpsOffset, threshold)
		if ok {
			c.crossChecked = true
		}
		if ok && disagree != c.distrusted {
			if disagree {
				c.log.Error("GPS disagrees with the majority of upstream peers: distrusting GPS, serving from peers",
					"clock_minus_gps", gpsOffset, "clock_minus_peers", sel.Offset, "threshold", threshold)
			} else {
				c.log.Warn("GPS agrees with the upstream peers again", "clock_minus_gps", gpsOffset, "clock_minus_peers", sel.Offset)
			}
			c.distrusted = disagree
		}
	}
	if sel.OK && sel.Leap != ntp.LeapNotInSync {
		// The peers' majority announces leap seconds that the receiver's
		// NMEA cannot; a valid leap-seconds.list still takes precedence.
		c.disc.SetLeapHint(sel.Leap)
	}
	if state == Peers && sel.OK && sel.Updated.After(c.peerSamples) {
		c.peerSamples = sel.Updated
		c.sample(discipline.Sample{Local: now, True: now.Add(-sel.Offset), Err: peerError(sel), Source: discipline.Peer})
	}
}

// update steps the state machine and decides what the responder serves.
func (c *Core) update(now time.Time) {
	st := c.disc.Stats()
	// Only GPS (PPS or NMEA) makes the box healthy: a loop locked to the
	// peers is the Peers state, not the way back to stratum 1.
	gpsSource := st.Source != discipline.Peer
	obs := Observation{
		Now:       now,
		TimeKnown: st.State != discipline.Unsynchronised,
		// With peers configured, GPS waits for their first verdict (or
		// for crossCheckWait) before it counts as disciplined.
		Disciplined:   gpsSource && !c.awaitingPeers(now) && (st.State == discipline.Locked || st.State == discipline.Holdover),
		SourceFresh:   gpsSource && st.State == discipline.Locked,
		HoldoverLimit: st.State == discipline.Unusable,
		GPSDistrusted: c.distrusted,
		PeersUsable:   c.cfg.Peers && c.sel.OK,
	}
	prev, _ := c.machine.State()
	state, changed := c.machine.Step(obs)
	if st.State == discipline.Locked && st.Source == discipline.PPS {
		c.pairer.SetClockError(st.EstError * 4)
	}
	served := c.servedState(state)
	if !sameState(served, c.served) {
		c.served = served
		c.emit(Action{Kind: ActionPublish, Served: served})
	}
	if changed {
		reason := stateReason(prev, obs)
		c.log.Info("state change", "from", prev, "to", state, "reason", reason, "stratum", served.Stratum,
			"refid", served.RefID.Format(served.Stratum), "offset", st.Offset,
			"est_error", st.EstError, "frequency_ppm", st.FrequencyPPM)
		c.emit(Action{Kind: ActionState, State: state, Reason: reason,
			Desc: fmt.Sprintf("%s, stratum %d, refid %s", state, served.Stratum, served.RefID.Format(served.Stratum))})
	}
	if c.cfg.Peers {
		// While GPS steers the clock the peers are only a cross-check:
		// poll them gently. Otherwise they may be needed at any moment.
		floor := time.Duration(0)
		if state == Locked && c.crossChecked {
			floor = 1024 * time.Second
		}
		if floor != c.pollFloor {
			c.pollFloor = floor
			c.emit(Action{Kind: ActionPollFloor, PollFloor: floor})
		}
	}
}

// stateReason says, from the observation that caused it, why the machine
// left prev.
func stateReason(prev State, o Observation) string {
	switch {
	case o.GPSDistrusted:
		return "GPS disagrees with the peers"
	case o.HoldoverLimit:
		return "holdover limit reached"
	case o.TimeKnown && o.Disciplined && o.SourceFresh:
		return "disciplined to GPS"
	case o.Disciplined && !o.SourceFresh:
		return "GPS samples lost"
	case o.TimeKnown && !o.Disciplined && (prev == NoTime || prev == Peers):
		return "GPS time known, loop not locked"
	case !o.TimeKnown && o.PeersUsable:
		return "no GPS time; peers usable"
	case !o.PeersUsable:
		return "no usable source"
	}
	return "GPS not disciplined"
}

// servedState is what the responder answers with in state s. Only Locked
// and Holdover serve the discipline's stratum-1 state, and only Peers the
// peers': a box never serves stratum 1 before its clock is disciplined.
func (c *Core) servedState(s State) *ntp.ServerState {
	switch s {
	case Locked, Holdover:
		if st := c.disc.ServerState(); st != nil && st.Synchronised() {
			return st
		}
	case Peers:
		// The peers' time is served only once the clock agrees with it:
		// until the discipline has stepped it, the clock may be far off
		// (a Pi without a real-time clock boots hours in the past). What
		// is left of the offset counts as dispersion.
		sel := c.sel
		if sel.OK && sel.Stratum < ntp.StratumUnsynchronised-1 && abs(sel.Offset) <= c.cfg.Discipline.StepThreshold {
			return &ntp.ServerState{
				Leap: sel.Leap, Stratum: sel.Stratum + 1, Precision: -20, RefID: sel.RefID,
				RootDelay: sel.RootDelay, RootDispersion: sel.RootDispersion + abs(sel.Offset), RefTime: sel.Updated,
			}
		}
	}
	return ntp.Unsynchronised(-20)
}

// sameState reports whether two served states say the same.
func sameState(a, b *ntp.ServerState) bool {
	return a.Leap == b.Leap && a.Stratum == b.Stratum && a.Precision == b.Precision && a.RefID == b.RefID &&
		a.RootDelay == b.RootDelay && a.RootDispersion == b.RootDispersion && a.RefTime.Equal(b.RefTime) &&
		a.Updated.Equal(b.Updated) && a.DispersionRate == b.DispersionRate
}

// shiftReach updates the reference clocks' reach registers once a second,
// as ntpd does for a refclock polled every second.
func (c *Core) shiftReach(now time.Time) {
	gpsOK := c.lastEpochMode >= 2 && now.Sub(c.lastEpoch) < 2*time.Second
	ppsOK := c.ppsAttached && now.Sub(c.lastGPSAt) < 2*time.Second
	c.reachGPS = c.reachGPS<<1 | b2u(gpsOK)
	c.reachPPS = c.reachPPS<<1 | b2u(ppsOK)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
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
