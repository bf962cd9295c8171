package discipline

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"time"

	"stratum1/ntp"
)

// State is the discipline's view of its source.
type State uint8

// States, in the order a box normally goes through them.
const (
	Unsynchronised State = iota // no sample yet
	Acquiring                   // steering, not yet within the lock bounds
	Locked                      // following the source
	Holdover                    // source lost, free-running on the learnt frequency
	Unusable                    // held over for longer than the limit
)

func (s State) String() string {
	return [...]string{"UNSYNCHRONISED", "ACQUIRING", "LOCKED", "HOLDOVER", "UNUSABLE"}[s]
}

// Tuning that follows from the model rather than from the installation.
const (
	initSamples = 3               // median of the first samples decides the initial step
	gateSigma   = 5.0             // innovations beyond this many sigma are outliers
	jumpSamples = 5               // consecutive consistent outliers accepted as a phase jump
	ppsFresh    = 3 * time.Second // peers wait while GPS samples are this recent
	boostFor    = 5 * time.Minute // after a disturbance, track fast for at least this long
	driftNoise  = 1e-24           // drift random walk, s^-3, of the quiet model
	// initDriftSigma is the quiet model's drift uncertainty at start
	// (1/s): an undisturbed crystal ages by parts in 1e11 a day, and a
	// wider prior makes the first minutes a quadratic fit to the noise
	// (a thermal drift is the fast model's, through the detectors).
	initDriftSigma = 1e-11
	// The fast model: a crystal whose temperature changes (a Pi's CPU
	// load) drifts by up to about 1e-8/s at once, decaying over minutes.
	fastDriftNoise  = 3e-18 // drift random walk, s^-3
	fastWanderRatio = 100.0 // frequency random walk, times the measured wander's
	// detectLimit is the CUSUM threshold on the log-likelihood ratio of
	// the fast model over the quiet one: high enough that hours of quiet
	// operation do not cross it.
	detectLimit = 12.0
	// onsetLimit is the drift detector's threshold on its log-likelihood
	// ratio, maximised over onsetLen possible starts.
	onsetLimit = 8.0
	lockGood   = 4 // consecutive in-bound updates to declare lock
	// lockedDrift bounds the phase drift per second, from the frequency
	// error, of a loop locked to GPS: max_clock_error's default, far above
	// a locked loop's uncertainty (parts in 1e9).
	lockedDrift = 1e-6
	controlTC   = 2.0 // seconds over which an estimated offset is slewed out
	// maxLate bounds the delay between a sample's reading and the
	// frequency change it causes that the model accounts for: a sample
	// handed over later than that is stale anyway.
	maxLate = 2.0
)

// Steering to upstream peers: one sample per selection update, 2 s apart
// in a burst and 64 s to 1024 s apart after it, each the combined verdict
// of several peers' clock filters, with milliseconds of error that is
// partly systematic (path asymmetry).
const (
	peerErrDefault = 10 * time.Millisecond // a Peer sample without Err
	peerErrMin     = 50 * time.Microsecond
	// peerWanderMin is the random-walk frequency noise assumed at least
	// while steering to peers (s^-1/2). The wander measured against PPS is
	// a quiet room's; between polls minutes apart a Pi's crystal follows
	// its CPU load by tenths of a ppm, and a filter that believed the
	// quiet figure would average over many hours and lag such changes.
	peerWanderMin   = 2e-9
	peerInitSkew    = 100e-6 // frequency uncertainty of a cold start from peers
	peerJumpSamples = 3      // consistent outliers accepted as a phase jump
	peerControlTC   = 16.0   // seconds over which an estimated offset is slewed out
	peerLockSigma   = 3.0    // lock bound, in the samples' standard deviations
	// A peer source is stale after peerStaleRatio of its intervals without
	// a sample, and never before peerStaleMin.
	peerStaleRatio = 4
	peerStaleMin   = 5 * time.Minute
	// peerFlush is how long after a step the peers' clock filters may
	// still hand on offsets measured before it: 8 samples at up to 1024 s.
	peerFlush = 3 * time.Hour
)

// Discipline steers a Clock to the samples it is handed. It does no I/O of
// its own once New has read the drift and leap second files (a DriftSaver
// writes the drift file), and starts no goroutines: the caller hands it
// samples and calls Tick about once a second. It is not safe for
// concurrent use: the appliance's core calls it from one goroutine, and
// other goroutines read copies (Stats, ServerState) the core hands on.
//
// It is the controller of the loop: the state machine (Locked, Holdover,
// ...), steps, the frequency correction, leap seconds and the published
// error bound. What it knows of the clock, the Kalman models and the
// measurements around them, is its estimator's (estimator.go).
type Discipline struct {
	cfg Config
	clk Clock
	log *slog.Logger
	// served is the state computed at the last sample or tick, for the
	// caller to publish; never modified once made.
	served    *ntp.ServerState
	precision int8

	est        estimator // what the loop knows of the clock
	started    bool
	pending    []Sample
	freqPPM    float64 // correction in force
	driftFreq  float64 // from the drift file
	driftSkew  float64 // ppm; 0 when no drift file was read
	updates    int
	steps      int
	stepTotal  time.Duration
	state      State
	source     Kind
	lastT      time.Time // true time of the filter state
	lastLocal  time.Time // clock reading at lastT
	lastSample time.Time // clock reading of the last accepted sample
	lastPPS    time.Time
	lastGPS    time.Time     // clock reading of the last PPS or NMEA sample
	lastR      float64       // variance of the last accepted sample, s^2
	peerEvery  time.Duration // interval between the last two Peer samples
	stepAt     time.Time     // clock reading just after the last step
	stepOff    float64       // offset the last step removed, s
	holdStart  time.Time
	holdDrift2 float64 // drift variance to restore when the source returns, s^-2
	holdQ      float64 // random-walk frequency noise in holdover, s^-1
	nmeaBias   float64 // the last NMEA sample's Bias, s
	coarse     bool    // only NMEA of unknown latency has set the clock
	offset     time.Duration
	goodRun    int
	rejected   uint64
	wholeSec   uint64
	// trusted bounds the clock's error at start when something other than
	// the GPS vouches for it (the kernel still synchronised by the run
	// before a restart); 0 when nothing does. wholeSince is when the
	// first start refused for disagreeing with it by whole seconds.
	trusted    time.Duration
	wholeSince time.Time
	// wholeJumpSince is when the source began disagreeing with the
	// running loop by whole seconds (wholeJumpPersisted); zero when not.
	wholeJumpSince time.Time
	// observe is set once the clock refuses adjustments with
	// ErrNoClockAdjust (--no-clock-adjust): the loop then only measures,
	// and the served clock is the uncorrected one.
	observe     bool
	adjustFails uint64 // other refused frequency changes

	// The published error bound: dispBase at the last real measurement
	// (dispAt), growing at dispRate (s/s) after it, through holdover too.
	dispBase float64
	dispRate float64
	dispAt   time.Time
	// missed counts GPS samples (pulses) that did not come while the loop
	// followed them, gapMissed those of the current gap; holdovers counts
	// the entries into holdover.
	missed    uint64
	gapMissed int
	holdovers uint64

	leaps     *LeapTable
	leapHint  ntp.Leap
	armed     ntp.Leap
	leapAt    time.Time
	leapWarns int

	// tc learns the crystal's temperature curve and feeds it forward
	// (tempfeed.go).
	tc tempComp
}

// New returns a discipline for clk. It reads the drift file and the leap
// second file named in cfg; a missing or bad file is logged, not fatal.
func New(cfg Config, clk Clock, log *slog.Logger) (*Discipline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("discipline config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Discipline{cfg: cfg, clk: clk, log: log, precision: ntp.PrecisionOf(cfg.PPSError)}
	d.est = estimator{log: log, defaultWander: cfg.Wander * 1e-6}
	d.served = ntp.Unsynchronised(d.precision)
	if f, err := clk.Frequency(); err == nil {
		d.freqPPM = f
	}
	if cfg.DriftFile != "" {
		freq, skew, model, err := ReadDriftState(cfg.DriftFile, cfg.MaxFrequency)
		if model != nil {
			d.tc.model = *model
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// A first start: the frequency is learnt and saved from now on.
			log.Info("no drift file yet", "path", cfg.DriftFile)
		case err != nil:
			log.Warn("ignoring drift file", "err", err)
		default:
			if err := clk.SetFrequency(freq); errors.Is(err, ErrNoClockAdjust) {
				d.observeOnly()
			} else if err != nil {
				log.Warn("cannot set frequency from drift file", "err", err)
			} else {
				d.freqPPM, d.driftFreq, d.driftSkew = freq, freq, skew
				log.Info("frequency from drift file", "ppm", freq, "skew_ppm", skew)
			}
		}
	}
	if cfg.LeapFile != "" {
		t, err := ReadLeapFile(cfg.LeapFile)
		if err != nil {
			log.Warn("ignoring leap second file", "err", err)
		} else {
			d.leaps = t
		}
	}
	return d, nil
}

// ServerState returns the stratum-1 state the discipline computed at its
// last Sample or Tick. The discipline publishes nothing itself: the caller
// (the appliance's core) decides what is served and publishes it. The
// returned state is never modified.
func (d *Discipline) ServerState() *ntp.ServerState { return d.served }

// State returns the discipline's state.
func (d *Discipline) State() State {
	return d.state
}

// Sample hands the loop one measurement. It returns an error when the
// sample is rejected; rejections are normal (outliers) and are counted.
func (d *Discipline) Sample(s Sample) error {
	if s.Local.IsZero() || s.True.IsZero() || s.Source < PPS || s.Source > Peer {
		d.rejected++
		return fmt.Errorf("malformed sample")
	}
	switch s.Source {
	case PPS:
		d.lastPPS, d.lastGPS = s.Local, s.Local
	case NMEA:
		d.lastGPS = s.Local
		if !d.lastPPS.IsZero() && s.Local.Sub(d.lastPPS) <= d.gpsStaleAfter() {
			// Within the tolerated gap a missed pulse is a missed sample:
			// the loop neither holds over nor changes its source.
			return nil // the pulse is better; NMEA only confirms the second
		} else if d.state == Holdover && d.estError() < d.cfg.NMEAError {
			// The learnt frequency is still better than NMEA: the bound,
			// which grows at MaxClockError, says so honestly.
			return nil
		}
	case Peer:
		if !d.lastGPS.IsZero() && s.Local.Sub(d.lastGPS) < ppsFresh {
			return nil // GPS is back and steers; the peers wait for it to fail again
		}
		// A selection made from samples taken before a step still shows
		// the offset that was stepped out; following it would step back.
		if z := s.Offset().Seconds(); d.stepOff != 0 && s.Local.Sub(d.stepAt) < peerFlush &&
			math.Abs(z-d.stepOff) < math.Abs(d.stepOff)/2 {
			d.rejected++
			return fmt.Errorf("peer offset %v measured before the step", s.Offset())
		}
	}
	z, r := d.measure(s)
	if !d.started {
		return d.initialise(s, z, r)
	}
	// The interval comes from the clock, not from the source: a source
	// that names the wrong second must not move the filter's time. Ticks
	// between sparse samples may have advanced the model a little past a
	// sample's reading; only the order of the samples themselves matters.
	if !s.Local.After(d.lastSample) {
		d.rejected++
		return fmt.Errorf("sample at %v not after the previous one", s.True)
	}
	if s.Source == Peer && d.source == Peer {
		d.peerEvery = s.Local.Sub(d.lastSample)
	}
	if s.Source != Peer && d.source != Peer && !d.holding() {
		// The pulses of the gap that no tick counted yet.
		if n := int(math.Round(s.Local.Sub(d.lastSample).Seconds())) - 1; n > d.gapMissed {
			d.missed += uint64(n - d.gapMissed)
		}
	}
	d.predict(s.Local.Sub(d.lastLocal).Seconds(), s.Source)
	d.lastT, d.lastLocal = s.True, s.Local
	if s.Source != d.source && (s.Source == Peer || d.source == Peer) {
		if s.Source == Peer {
			return d.anchor(s, z, r)
		}
		d.unbias(s, r)
	}
	if d.est.gated(z, r) {
		return d.reject(s, z, r)
	}
	// The detectors are tuned to a sample a second; peer samples rely on
	// peerWanderMin instead.
	d.est.update(s.Local, z, r, s.Source != Peer, d.state == Locked, d.state == Locked && d.source == PPS)
	d.accept(s, z, r)
	return nil
}

// measure returns the offset a sample measures and its variance.
func (d *Discipline) measure(s Sample) (z, r float64) {
	z = s.Offset().Seconds()
	e := s.Err
	switch {
	case s.Source == NMEA:
		z -= d.cfg.NMEALatency.Seconds()
		e = max(e, d.cfg.NMEAError)
	case s.Source == Peer && e <= 0:
		e = peerErrDefault
	case s.Source == Peer:
		e = max(e, peerErrMin)
	case e <= 0:
		e = d.cfg.PPSError
	}
	return z, e.Seconds() * e.Seconds()
}

// anchor starts following the upstream peers after GPS: their offset from
// the GPS time the clock kept is unknown (path asymmetry, or the very
// reason GPS was given up: a receiver a second off), so the phase is
// re-anchored to the peers' verdict, which the caller has already chosen
// over GPS, while the frequency learnt so far carries over. A large
// offset is stepped only within the step limit, as at start.
func (d *Discipline) anchor(s Sample, z, r float64) error {
	d.est.anchor(z, r)
	d.goodRun = 0
	d.log.Info("steering to upstream peers", "offset", time.Duration(z*1e9), "was", d.source)
	if math.Abs(z) > d.cfg.StepThreshold.Seconds() && d.stepAllowed() {
		d.step(z, s.Local)
	}
	d.state = Acquiring
	d.accept(s, z, r)
	return nil
}

// unbias prepares the filter for GPS samples after the peers: the clock
// kept the peers' time, whose bias against GPS is unknown but within the
// peers' error, so the phase uncertainty grows by it and the phase is
// decoupled from the frequency, which the bias must not move. The samples
// then pull the phase in without a step: the outlier gate and the jump
// rule apply as usual.
func (d *Discipline) unbias(s Sample, r float64) {
	d.est.widenPhase(max(d.lastR, r))
	d.goodRun = 0
	d.log.Info("steering to GPS again", "source", s.Source)
}

// initialise collects the first samples and starts the filter from their
// median, stepping the clock if it is far off.
func (d *Discipline) initialise(s Sample, z, r float64) error {
	if s.Source == Peer {
		// A selection already combines several peers' filtered samples,
		// and polls are minutes apart: one sample starts the loop, and the
		// frequency is learnt from the next ones.
		d.pending = d.pending[:0]
		return d.begin(s, z, r, z, 0, peerInitSkew)
	}
	if len(d.pending) > 0 && d.pending[0].Source != s.Source {
		d.pending = d.pending[:0]
	}
	d.pending = append(d.pending, s)
	if len(d.pending) < initSamples {
		return nil
	}
	offs := make([]float64, len(d.pending))
	for i, p := range d.pending {
		offs[i], _ = d.measure(p)
	}
	med := median(offs)
	// Frequency from the first and last samples, unless one of them is the
	// outlier the median skipped.
	first, _ := d.measure(d.pending[0])
	span := s.True.Sub(d.pending[0].True).Seconds()
	sigma := math.Sqrt(r)
	if math.Abs(first-med) > 10*sigma+500e-6*span || math.Abs(z-med) > 10*sigma+500e-6*span || span <= 0 {
		d.pending = d.pending[1:]
		return nil
	}
	d.pending = d.pending[:0]
	return d.begin(s, z, r, med, (z-first)/span, 2*sigma/span)
}

// begin starts the filter at the offset z of sample s, with a frequency
// y0 known to sy, and steps the clock by med when it is far off.
func (d *Discipline) begin(s Sample, z, r, med, y0, sy float64) error {
	if math.Abs(med) > d.cfg.StepThreshold.Seconds() && d.stepAllowed() && d.distrustStart(s, med) {
		return fmt.Errorf("source disagrees with the trusted clock by %v", time.Duration(med*1e9))
	}
	sigma := math.Sqrt(r)
	if d.driftSkew > 0 {
		// The drift file set the frequency: combine it with the slope.
		sf := d.driftSkew * 1e-6
		w := sf * sf / (sf*sf + sy*sy)
		y0 *= w
		sy = math.Sqrt(1 / (1/(sf*sf) + 1/(sy*sy)))
	}
	d.est.start(z, sigma, y0, sy)
	d.started = true
	d.lastT, d.lastLocal, d.lastSample = s.True, s.Local, s.Local
	if math.Abs(med) > d.cfg.StepThreshold.Seconds() && d.stepAllowed() {
		d.step(med, s.Local)
	}
	d.wholeSince = time.Time{}
	d.state = Acquiring
	d.accept(s, z, r)
	return nil
}

// trustPersist is how long a source must keep disagreeing with a clock
// trusted at start (TrustClock) by whole seconds before the loop steps to
// it: a backlog of stale sentences, or a pulse named at an ambiguous
// phase, names the wrong second for seconds, not for a minute.
const trustPersist = time.Minute

// TrustClock tells the loop, before its first sample, that the clock is
// within bound of UTC by a source other than the GPS (the kernel still
// synchronised by the run before a restart). A start that would step it
// by half a second or more then waits until the source has said so for
// trustPersist; the loop stays unsynchronised meanwhile. Zero or a
// negative bound trusts nothing.
func (d *Discipline) TrustClock(bound time.Duration) {
	d.trusted = max(bound, 0)
}

// distrustStart reports whether the start at offset med (seconds) is
// refused for contradicting the trusted clock, and counts it.
func (d *Discipline) distrustStart(s Sample, med float64) bool {
	if d.trusted <= 0 || math.Abs(med) < 0.5 || math.Abs(med) < 10*d.trusted.Seconds() {
		return false
	}
	if d.wholeSince.IsZero() {
		d.wholeSince = s.Local
		d.log.Warn("source disagrees with the trusted clock by whole seconds; holding", "offset", time.Duration(med*1e9))
	}
	if s.Local.Sub(d.wholeSince) < trustPersist {
		d.wholeSec++
		return true
	}
	d.log.Warn("source kept disagreeing with the trusted clock; stepping", "offset", time.Duration(med*1e9), "since", d.wholeSince)
	d.trusted = 0
	return false
}

// reject handles an outlier; enough consistent outliers in a row are taken
// as a real phase jump, except a whole-second one.
func (d *Discipline) reject(s Sample, z, r float64) error {
	d.rejected++
	if s.Source != Peer && d.source != Peer && !d.holding() {
		// The pulse came, and is counted as rejected, not missed: the
		// missing ones before it are counted as Sample counts them.
		n := int(math.Round(s.Local.Sub(d.lastSample).Seconds()))
		if n-1 > d.gapMissed {
			d.missed += uint64(n - 1 - d.gapMissed)
		}
		d.gapMissed = max(d.gapMissed, n)
	}
	n, dy := jumpSamples, 10*math.Sqrt(r)
	if s.Source == Peer {
		n, dy = peerJumpSamples, 10*math.Sqrt(r)/max(d.peerEvery.Seconds(), 1)
	}
	// Acquiring, the frequency may be off by 100 ppm; locked to GPS, or
	// holding over on the frequency learnt while locked, it is known far
	// better than max_clock_error, and late pulses (a busy SoC's
	// interrupt latency) that come in a burst must not pass for a phase
	// jump: they spread over tens to hundreds of µs. (A burst longer than
	// the tolerated gap makes the loop hold over in its middle; taken as
	// a jump there, it set the clock slewing at 150 ppm, and the loop
	// never found the pulses again.)
	drift := 1e-4
	if (d.state == Locked || d.state == Holdover) && s.Source != Peer {
		drift = lockedDrift
	}
	verdict, jump := d.est.outlier(z, r, n, drift)
	if verdict != outlierJump {
		return fmt.Errorf("outlier: offset %v", time.Duration(z*1e9))
	}
	// Whole seconds are a receiver's mistake; the peers' verdict has
	// been through their own selection, and the caller chose it over GPS.
	whole := math.Abs(jump) >= 0.5 && d.state != Unusable && s.Source != Peer
	persisted := whole && d.wholeJumpPersisted(s)
	if whole && !persisted {
		d.wholeSec++
		d.est.dropOldestOutlier()
		if d.wholeSec%64 == 1 {
			d.log.Warn("source disagrees with the clock by whole seconds; ignored", "jump", time.Duration(jump*1e9))
		}
		return fmt.Errorf("source disagrees with the clock by %v", time.Duration(jump*1e9))
	}
	d.log.Warn("phase jump accepted", "jump", time.Duration(jump*1e9), "source", s.Source)
	d.est.jumped(z, r, dy)
	// Whole seconds are stepped past the step limit: slewing them would
	// take the better part of an hour.
	if math.Abs(z) > d.cfg.StepThreshold.Seconds() && (d.stepAllowed() || persisted) {
		d.step(z, s.Local)
	}
	d.state = Acquiring
	d.goodRun = 0
	d.accept(s, z, r)
	return nil
}

// wholeJumpPersisted reports whether a whole-second jump the source has
// kept for trustPersist is to be taken, and starts timing it. Locked or
// holding over, never: the clock was right to microseconds and a receiver
// that changes its second is wrong (the peers, when configured, decide).
// Acquiring, the first samples may have been the wrong ones (a backlog of
// stale sentences named the pulses at start), and a loop that refused the
// right second for good would never lock.
func (d *Discipline) wholeJumpPersisted(s Sample) bool {
	if d.state == Locked || d.state == Holdover {
		return false
	}
	if d.wholeJumpSince.IsZero() {
		d.wholeJumpSince = s.Local
	}
	return s.Local.Sub(d.wholeJumpSince) >= trustPersist
}

// accept finishes an update: steer, track lock, publish.
func (d *Discipline) accept(s Sample, z, r float64) {
	d.wholeJumpSince = time.Time{}
	d.updates++
	d.source = s.Source
	switch s.Source {
	case NMEA:
		d.nmeaBias = s.Bias.Seconds()
		d.coarse = d.coarse || (s.Bias > 0 && d.lastPPS.IsZero())
	case PPS:
		d.coarse = false
	}
	d.offset = time.Duration(z * 1e9)
	d.lastSample = s.Local
	d.lastR = r
	if d.holding() {
		// Holdover's model ignored the drift; the loop learns it again.
		d.est.restoreDrift(d.holdDrift2)
	}
	d.control()
	bound := d.lockBound()
	switch {
	case math.Abs(d.est.Phase()) < bound && d.est.PhaseSigma() < bound:
		d.goodRun++
		if d.goodRun >= lockGood && d.state != Locked {
			if d.state == Holdover {
				d.log.Info("source back", "source", s.Source, "held_over", s.Local.Sub(d.holdStart).Round(time.Second))
			}
			d.state = Locked
		}
	case math.Abs(d.est.Phase()) > 5*bound || d.observe:
		// Observing only, the estimated offset is the served clock's
		// error itself: no hysteresis lets it stay locked out of bounds.
		d.goodRun = 0
		if d.state == Locked || d.state == Holdover || d.state == Unusable {
			d.state = Acquiring
		}
	}
	if d.state == Holdover || d.state == Unusable {
		d.state = Acquiring
	}
	if d.state == Locked && s.Source == PPS {
		d.est.observeLocked(s.Local, z, r, d.lastLocal)
	}
	if s.Source != Peer {
		d.gapMissed = 0
	}
	d.measured(s.Local)
	d.publish(s.Local)
}

// lockBound is the bound on the estimated offset and its uncertainty
// within which the loop counts as locked to its current source.
func (d *Discipline) lockBound() float64 {
	switch d.source {
	case NMEA:
		return 3 * d.cfg.NMEAError.Seconds()
	case Peer:
		return peerLockSigma * math.Sqrt(d.lastR)
	}
	return max(20*math.Sqrt(d.lastR), 20e-6)
}

// predict advances the estimator's models by dt seconds from the model's
// time, for samples of kind k.
func (d *Discipline) predict(dt float64, k Kind) {
	d.est.predict(d.lastLocal, dt, k, d.holding(), d.holdQ)
}
