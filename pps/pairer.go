package pps

import (
	"log/slog"
	"maps"
	"time"
)

// Reasons a pulse is not used; the keys of the Rejected counters.
const (
	ReasonDouble      = "double"       // within 50 ms after the previous pulse: a doubled edge or contact bounce
	ReasonGlitch      = "glitch"       // not a whole number of seconds after the previous pulse
	ReasonResync      = "resync"       // nothing to check its interval against: the first pulse, or after a gap or clock step
	ReasonLearning    = "learning"     // the NMEA arrival phase is not learned yet
	ReasonNoFix       = "no-fix"       // the receiver had no valid fix
	ReasonNoNMEA      = "no-nmea"      // no NMEA epoch named it
	ReasonWrongSecond = "wrong-second" // the NMEA label disagrees with the nearest second, or repeats one
)

// States of the PPS input, as Status reports them.
const (
	StateNoDevice = "no device"
	StateNoPulses = "no pulses"
	StateNoFix    = "pulses without fix"
	StateLocked   = "locked"
)

const (
	doubleWithin = 50 * time.Millisecond
	maxGap       = 60 // seconds of missing pulses bridged without a resync
	stale        = 3 * time.Second
	labelVotes   = 8
	// flywheelMax is how many seconds after the last pulse an epoch named
	// the pulses are still named by counting, while the epochs are missing.
	flywheelMax = 600
	// jitterSpan is the span of pulses the status's capture noise is
	// estimated over. The samples' error estimate takes errSpan: the
	// discipline weighs each pulse by it, and a minute's estimate, off by
	// 15-20% from one minute to the next, would often make it distrust the
	// pulses it should follow (the floor at the backend's precision turns
	// the noise into a bias).
	jitterSpan = time.Minute
	errSpan    = 5 * time.Minute
)

// Counters are the pairer's running totals.
type Counters struct {
	Pulses          uint64            // edges of the marking polarity
	Samples         uint64            // pulses paired and emitted
	Flywheeled      uint64            // of those, named by counting from an earlier pulse while its epoch was missing
	Missed          uint64            // pulses absent between two accepted ones
	Rejected        map[string]uint64 // pulses not used, by reason
	EpochsUnmatched uint64            // NMEA epochs with no pulse where the learned phase puts it
}

// Pairer pairs PPS edges with the UTC seconds the NMEA epochs name. It is
// sans-IO: every input carries its local time, so hours of pulses can be
// replayed in milliseconds. It is not safe for concurrent use: one goroutine
// (the appliance's core loop) hands it the PPS and GPS readers' inputs, and
// other goroutines read the copies it returns (Status).
//
// An epoch names the edge that precedes its arrival by the learned NMEA
// phase. The label is the epoch's second minus the receiver's label offset
// k: 0 for receivers that send the sentences for S after the S edge, 1 for
// those that send them before it or label the next second. k is learned
// only against a clock known to be close to UTC (SetClockError); until then
// it is assumed 0, as the issue's rule "the epoch that follows the edge
// names it" says, and LabelOffset reports it as unverified. Once the local
// clock is within NearestWithin of UTC, edges are labelled by their nearest
// second and the NMEA label is a cross-check.
type Pairer struct {
	cfg Config
	log *slog.Logger

	attached  bool
	device    string
	backend   string
	precision time.Duration

	// Interval checking.
	markFalling  bool
	polarityVote int
	lastRise     time.Time
	lastFall     time.Time
	anchor       time.Time // last accepted (or resync) pulse
	lastSeen     time.Time // last pulse that was not a double
	ring         [4]pending
	ringN        int
	lastEdge     time.Time
	waiting      *Second // an epoch that arrived before its edge was delivered
	chain        int64   // bumped whenever the count of seconds between pulses is lost
	count        int64   // seconds from the chain's first pulse to the anchor
	lastArrival  time.Time
	lastRefused  time.Time // the last marking edge the interval check refused
	lastFix      bool
	named        namedPulse // the last pulse an epoch named

	phase  phaseWindow
	jitter jitterWindow

	// Labelling.
	clockErr     time.Duration // independent bound on |local - UTC|; 0 unknown
	k            int
	kVerified    bool
	votes        [labelVotes]int
	voteN, voteI int
	nearStreak   int
	missStreak   int
	lastUTC      time.Time
	lastSample   time.Time
	lastOffset   time.Duration

	c          Counters
	lastReason string

	// The receiver's quantisation error of its next pulse (u-blox TIM-TP
	// qErr), and when it arrived; zero when none is pending.
	qErr   time.Duration
	qErrAt time.Time
}

type pending struct {
	e            Edge
	chain, count int64
	paired       bool
}

// namedPulse is a pulse an epoch named, the origin of the count while
// epochs are missing.
type namedPulse struct {
	chain, count int64
	utc          time.Time
}

func (p *Pairer) newChain() {
	p.chain++
	p.count = 0
}

// NewPairer returns a pairer for cfg. A nil log discards.
func NewPairer(cfg Config, log *slog.Logger) *Pairer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pairer{cfg: cfg, log: log, markFalling: cfg.polarity() == PolarityFalling}
	p.c.Rejected = make(map[string]uint64)
	return p
}

// SetSource records the capture backend in use; samples carry its name and
// precision. Call it with an empty backend when the device is gone.
func (p *Pairer) SetSource(device, backend string, precision time.Duration) {
	p.attached = backend != ""
	p.device, p.backend, p.precision = device, backend, precision
}

// SetClockError tells the pairer how far the local clock is at most from
// UTC, as known from a source independent of this PPS and NMEA stream (NTP
// peers, a trusted RTC); zero or negative means unknown. While the bound is
// within NearestWithin, edges are labelled by their nearest second and the
// receiver's label offset is learned and verified.
func (p *Pairer) SetClockError(bound time.Duration) {
	p.clockErr = bound
}

// ClockStepped tells the pairer that the local clock was stepped by d
// (positive: forward) since the last edge or epoch it was given, as the
// discipline does once at start. The local times it holds move with the
// clock, so the interval check and the count of seconds carry on across
// the step instead of refusing the next pulse and resynchronising on the
// one after. A step nobody reports is still caught by the interval check.
func (p *Pairer) ClockStepped(d time.Duration) {
	for _, t := range []*time.Time{&p.anchor, &p.lastSeen, &p.lastRise, &p.lastFall, &p.lastEdge,
		&p.lastSample, &p.lastArrival, &p.lastRefused} {
		if !t.IsZero() {
			*t = t.Add(d)
		}
	}
	for i := range p.ring[:p.ringN] {
		p.ring[i].e.Local = p.ring[i].e.Local.Add(d)
	}
	if p.waiting != nil {
		p.waiting.Arrival = p.waiting.Arrival.Add(d)
	}
	p.jitter.shift(d)
	// The clock's distance from UTC changed: label from the epochs again
	// until it has been near for a while.
	p.nearStreak = 0
}

// Edge feeds one captured edge. It returns a sample when an epoch that
// arrived before this edge was delivered names it, or when an earlier
// pulse whose epoch never came is named by counting seconds from the last
// named pulse (the serial line unplugged while the pulses go on).
func (p *Pairer) Edge(e Edge) (Sample, bool) {
	if p.cfg.polarity() == PolarityAuto {
		p.learnPolarity(e)
	}
	if e.Falling != p.markFalling {
		return Sample{}, false
	}
	p.c.Pulses++
	e = p.applyQErr(e)
	p.lastEdge = e.Local
	fly, flyOK := p.flywheel(e.Local)
	p.expire(e.Local)
	if !p.checkInterval(e) {
		p.lastRefused = e.Local
		return fly, flyOK
	}
	p.push(e)
	if w := p.waiting; w != nil {
		p.waiting = nil
		return p.pair(*w, false)
	}
	return fly, flyOK
}

// SetQErr hands over the quantisation error the receiver announced for
// its next pulse (u-blox TIM-TP qErr: the pulse left qErr after the true
// second, on the receiver's clock tick), received at local time at. The
// next pulse within a second after at is corrected by it; a later pulse is
// not, as the correction belongs to one pulse only.
func (p *Pairer) SetQErr(qErr time.Duration, at time.Time) {
	p.qErr, p.qErrAt = qErr, at
}

// applyQErr corrects e by a pending qErr that belongs to it.
func (p *Pairer) applyQErr(e Edge) Edge {
	if p.qErrAt.IsZero() {
		return e
	}
	if d := e.Local.Sub(p.qErrAt); d >= 0 && d < time.Second {
		e.Local = e.Local.Add(-p.qErr)
	}
	p.qErrAt = time.Time{}
	return e
}

// flywheel names the oldest accepted pulse whose epoch should have arrived
// by now but did not, by counting whole seconds from the last pulse an epoch
// named: the interval check vouches for every second of the count, so the
// label is as good as the last epoch's for as long as the pulses run
// without a break, up to flywheelMax seconds. A receiver that reported no
// fix in its last epoch gets no flywheel: its pulses may be free-running.
func (p *Pairer) flywheel(now time.Time) (Sample, bool) {
	if p.named.utc.IsZero() || !p.lastFix || !p.phase.learned() || p.waiting != nil {
		return Sample{}, false
	}
	due := p.phase.est + p.window()
	for i := p.ringN - 1; i >= 0; i-- {
		pe := &p.ring[i]
		if pe.paired || pe.chain != p.named.chain || now.Sub(pe.e.Local) < due || !p.lastArrival.Before(pe.e.Local) {
			continue
		}
		k := pe.count - p.named.count
		if k < 1 || k > flywheelMax {
			continue
		}
		pe.paired = true
		utc := p.named.utc.Add(time.Duration(k) * time.Second)
		local := pe.e.Local.Add(-p.cfg.delay())
		if p.clockErr > 0 && p.clockErr < p.cfg.nearestWithin() && !local.Round(time.Second).Equal(utc) {
			p.reject(ReasonWrongSecond)
			continue
		}
		if !utc.After(p.lastUTC) {
			continue
		}
		p.c.Flywheeled++
		return p.emit(pe, local, utc), true
	}
	return Sample{}, false
}

// window is how far from where the learned phase puts it an edge may be
// and still be the one an epoch names.
func (p *Pairer) window() time.Duration {
	floor := 20 * time.Millisecond
	if p.phase.n < phaseLearned {
		// Learned from a few agreeing epochs: the spread is not known yet.
		floor = 2 * phaseAgree
	}
	return min(max(5*p.phase.spread+p.cfg.tolerance(), floor), 300*time.Millisecond)
}

// learnPolarity decides, from both edges, which one starts the short part of
// the pulse: receivers' pulses are 1-200 ms wide, so the edge followed within
// half a second by the opposite one marks the second.
func (p *Pairer) learnPolarity(e Edge) {
	if e.Falling {
		if w := e.Local.Sub(p.lastRise); !p.lastRise.IsZero() && w > 0 && w < time.Second/2 {
			p.polarityVote = min(p.polarityVote+1, 8)
		}
		p.lastFall = e.Local
	} else {
		if w := e.Local.Sub(p.lastFall); !p.lastFall.IsZero() && w > 0 && w < time.Second/2 {
			p.polarityVote = max(p.polarityVote-1, -8)
		}
		p.lastRise = e.Local
	}
	falling := p.polarityVote <= -4 || (p.markFalling && p.polarityVote < 0)
	if falling != p.markFalling {
		p.markFalling = falling
		p.anchor = time.Time{}
		p.ringN = 0
		p.log.Warn("pps: marking edge changed", "falling", falling)
	}
}

// checkInterval accepts a pulse a whole number of seconds after the last
// accepted one and counts the pulses missed in between.
func (p *Pairer) checkInterval(e Edge) bool {
	tol := p.cfg.tolerance()
	if p.precision > tol/4 {
		tol = 4 * p.precision
	}
	seen := p.lastSeen
	if p.anchor.IsZero() {
		p.anchor, p.lastSeen = e.Local, e.Local
		p.jitter.breakChain()
		p.newChain()
		p.reject(ReasonResync)
		return false
	}
	dt := e.Local.Sub(p.anchor)
	if dt >= 0 && dt < doubleWithin {
		p.reject(ReasonDouble)
		return false
	}
	if e.Local.Sub(seen) >= 0 && e.Local.Sub(seen) < doubleWithin {
		p.reject(ReasonDouble)
		return false
	}
	p.lastSeen = e.Local
	n := (dt + time.Second/2) / time.Second
	dev := dt - n*time.Second
	if dt > 0 && n >= 1 && n <= maxGap && dev.Abs() <= tol*n {
		p.c.Missed += uint64(n - 1)
		if n == 1 {
			p.jitter.add(e.Local, dev)
		} else {
			p.jitter.breakChain()
		}
		p.anchor = e.Local
		p.count += int64(n)
		return true
	}
	// After a clock step or a spurious anchor, every pulse is off from the
	// anchor; re-anchor on the previous pulse if this one is a second after it.
	// The count of seconds starts afresh: the pulse before may not be the
	// accepted one.
	if d := e.Local.Sub(seen) - time.Second; d.Abs() <= tol {
		p.anchor = e.Local
		p.jitter.breakChain()
		p.jitter.add(e.Local, d)
		p.newChain()
		return true
	}
	p.jitter.breakChain()
	if dt < 0 || dt > 2*time.Second {
		p.anchor = e.Local
		p.newChain()
		p.reject(ReasonResync)
		return false
	}
	p.reject(ReasonGlitch)
	return false
}

func (p *Pairer) reject(reason string) {
	p.c.Rejected[reason]++
	p.lastReason = reason
}

// LastRejection is the reason the most recent rejected pulse was not used.
func (p *Pairer) LastRejection() string {
	return p.lastReason
}

func (p *Pairer) push(e Edge) {
	copy(p.ring[1:], p.ring[:len(p.ring)-1])
	p.ring[0] = pending{e: e, chain: p.chain, count: p.count}
	p.ringN = min(p.ringN+1, len(p.ring))
}

// expire counts accepted pulses no epoch named before the next-but-one pulse.
func (p *Pairer) expire(now time.Time) {
	for i := p.ringN - 1; i >= 0; i-- {
		if now.Sub(p.ring[i].e.Local) < 1900*time.Millisecond {
			break
		}
		if !p.ring[i].paired {
			p.reject(ReasonNoNMEA)
		}
		p.ringN = i
	}
}

// Second feeds one NMEA epoch and returns the sample for the edge it names.
func (p *Pairer) Second(s Second) (Sample, bool) {
	p.lastArrival, p.lastFix = s.Arrival, s.Fix
	// Phase observations use the last accepted pulse before the epoch's
	// arrival (the epoch may be handed over a second late, while the
	// assembler learns where the receiver's cycle ends), with or without
	// fix: the sentence timing is the receiver's, not the fix's. An edge
	// in between that was not accepted (a glitch, the first pulse after a
	// clock step) makes the phase to the accepted one meaningless.
	for i := 0; i < p.ringN; i++ {
		at := p.ring[i].e.Local
		if at.After(s.Arrival) {
			continue
		}
		d := s.Arrival.Sub(at)
		if d < 3*time.Second && (p.lastRefused.Before(at) || p.lastRefused.After(s.Arrival)) {
			p.phase.add(d)
		}
		break
	}
	return p.pair(s, true)
}

func (p *Pairer) pair(s Second, mayWait bool) (Sample, bool) {
	idx := -1
	if p.phase.learned() {
		target := s.Arrival.Add(-p.phase.est)
		win := p.window()
		for i := 0; i < p.ringN; i++ {
			if p.ring[i].e.Local.Sub(target).Abs() <= win {
				idx = i
				break
			}
		}
		if idx < 0 && mayWait && target.Add(win).After(p.lastEdge) {
			if p.waiting != nil {
				p.c.EpochsUnmatched++
			}
			p.waiting = &s
			return Sample{}, false
		}
	} else {
		for i := 0; i < p.ringN; i++ {
			if d := s.Arrival.Sub(p.ring[i].e.Local); d >= 0 && d < time.Second {
				idx = i
				break
			}
		}
	}
	if idx < 0 {
		p.c.EpochsUnmatched++
		return Sample{}, false
	}
	pe := &p.ring[idx]
	if pe.paired {
		p.c.EpochsUnmatched++
		return Sample{}, false
	}
	pe.paired = true
	if !p.phase.learned() {
		p.reject(ReasonLearning)
		return Sample{}, false
	}
	local := pe.e.Local.Add(-p.cfg.delay())
	utc, ok := p.label(local, s.UTC.Truncate(time.Second))
	if !ok {
		p.reject(ReasonWrongSecond)
		return Sample{}, false
	}
	if !s.Fix {
		p.reject(ReasonNoFix)
		return Sample{}, false
	}
	if !p.lastUTC.IsZero() && !utc.After(p.lastUTC) {
		p.reject(ReasonWrongSecond)
		return Sample{}, false
	}
	p.named = namedPulse{chain: pe.chain, count: pe.count, utc: utc}
	if (local.Sub(utc)).Abs() < p.cfg.nearestWithin() {
		p.nearStreak++
	} else {
		p.nearStreak = 0
	}
	return p.emit(pe, local, utc), true
}

// emit records a pulse as named utc and returns its sample. The capture
// error is the pulses' own noise, never below what the backend can resolve.
func (p *Pairer) emit(pe *pending, local, utc time.Time) Sample {
	p.lastUTC, p.lastSample = utc, pe.e.Local
	p.lastOffset = local.Sub(utc)
	p.c.Samples++
	return Sample{Local: local, UTC: utc, Backend: p.backend, Err: max(p.precision, p.jitter.captureErr(pe.e.Local))}
}

// label decides the UTC second of an edge at local (already corrected for
// delays) named by an epoch labelled u.
func (p *Pairer) label(local, u time.Time) (time.Time, bool) {
	byNMEA := u.Add(-time.Duration(p.k) * time.Second)
	nearest := local.Round(time.Second)
	within := p.cfg.nearestWithin()
	switch {
	case p.clockErr > 0 && p.clockErr < within:
		p.vote(int(u.Sub(nearest) / time.Second))
		if p.kVerified && !nearest.Equal(byNMEA) {
			return time.Time{}, false
		}
		return nearest, true
	case p.nearStreak >= 8:
		if nearest.Equal(byNMEA) {
			p.missStreak = 0
			return nearest, true
		}
		// The clock has moved away (stepped by someone else) or the
		// receiver changed: after a few disagreements trust NMEA again.
		if p.missStreak++; p.missStreak >= 4 {
			p.nearStreak, p.missStreak = 0, 0
		}
		return time.Time{}, false
	default:
		return byNMEA, true
	}
}

func (p *Pairer) vote(k int) {
	p.votes[p.voteI] = k
	p.voteI = (p.voteI + 1) % len(p.votes)
	p.voteN = min(p.voteN+1, len(p.votes))
	count := 0
	for _, v := range p.votes[:p.voteN] {
		if v == k {
			count++
		}
	}
	if count < labelVotes*3/4 {
		return
	}
	if k != p.k || !p.kVerified {
		if k != 0 {
			p.log.Warn("pps: receiver's NMEA epochs are labelled off the PPS second; correcting", "offset_s", k)
		} else if p.k != 0 {
			p.log.Info("pps: receiver's NMEA epochs now match the PPS second")
		}
		p.k, p.kVerified = k, true
		p.nearStreak = 0
	}
}

// LabelOffset reports the learned label offset k (the epoch naming second S
// is labelled S+k) and whether it was verified against a trusted clock.
func (p *Pairer) LabelOffset() (k int, verified bool) {
	return p.k, p.kVerified
}

// NMEALatency is the typical arrival of an epoch's first sentence after the
// second it names (negative when sentences precede their edge), and its
// spread; ok is false until learned.
func (p *Pairer) NMEALatency() (typical, spread time.Duration, ok bool) {
	if !p.phase.learned() {
		return 0, 0, false
	}
	return p.phase.est - time.Duration(p.k)*time.Second, p.phase.spread, true
}

// Counters returns a copy of the running totals.
func (p *Pairer) Counters() Counters {
	return p.countersLocked()
}

func (p *Pairer) countersLocked() Counters {
	c := p.c
	c.Rejected = maps.Clone(p.c.Rejected)
	return c
}

// Jitter is the estimated timing noise of one edge over the minute before now.
func (p *Pairer) Jitter(now time.Time) time.Duration {
	return p.jitter.jitter(now, jitterSpan)
}

// State is one of the State constants at local time now.
func (p *Pairer) State(now time.Time) string {
	return p.state(now)
}

func (p *Pairer) state(now time.Time) string {
	switch {
	case !p.attached:
		return StateNoDevice
	case p.lastEdge.IsZero() || now.Sub(p.lastEdge) > stale:
		return StateNoPulses
	case p.lastSample.IsZero() || now.Sub(p.lastSample) > stale:
		return StateNoFix
	default:
		return StateLocked
	}
}

// Status returns the PPS input's state at local time now.
func (p *Pairer) Status(now time.Time) Status {
	return Status{
		Device:        p.device,
		Backend:       p.backend,
		State:         p.state(now),
		LastEdge:      p.lastEdge,
		Jitter:        p.jitter.jitter(now, jitterSpan),
		Counters:      p.countersLocked(),
		Precision:     p.precision,
		LabelOffset:   p.k,
		LabelVerified: p.kVerified,
	}
}

// Status is the PPS input's observable state.
type Status struct {
	Device    string
	Backend   string // BackendPPSAPI, ...; empty when the device is gone
	State     string // StateNoDevice, StateNoPulses, StateNoFix, StateLocked
	LastEdge  time.Time
	Jitter    time.Duration // timing noise of one edge over the last minute
	Counters  Counters
	Precision time.Duration // the backend's estimated capture error
	// LabelOffset is how many seconds late the receiver labels its NMEA
	// epochs against the edge, and LabelVerified whether that was checked
	// against an independent clock.
	LabelOffset   int
	LabelVerified bool
}
