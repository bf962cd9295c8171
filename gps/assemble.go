package gps

import (
	"errors"
	"sort"
	"time"
)

// AssemblerConfig tunes epoch assembly. The zero value works (no rollover
// correction).
type AssemblerConfig struct {
	// RefDate is the rollover reference: dates more than half an era
	// before it are moved forward by whole 1024-week eras. Live, this is
	// the later of the build date and the last time the daemon saved; for
	// a recorded capture, the date it was recorded.
	RefDate time.Time
	// SameEpoch is how far apart two sentences' times of day may be and
	// still belong to one epoch (receivers stamp sentences of one fix a few
	// milliseconds apart). Default 40ms; keep it below half the fix
	// interval of the fastest receiver to support.
	SameEpoch time.Duration
	// BurstGap is the silence on the line that marks the start of a new
	// burst of sentences. Sentences without a time (GSA, GSV) that follow
	// such a gap belong to the next epoch. Default 150ms; 0 arrival times
	// (decoding a file) never make a gap.
	BurstGap time.Duration
	// OnParserPanic, if set, is called (from Feed) with each sentence the
	// NMEA library panicked on, after it has been counted and dropped.
	OnParserPanic func(ParserPanic)
}

// Counters count the assembler's input and output.
type Counters struct {
	Lines       uint64 // lines fed
	Sentences   uint64 // lines with a valid checksum that parsed
	BadChecksum uint64 // NMEA lines whose checksum was wrong or missing
	Malformed   uint64 // valid checksum, but fields that make no sense
	// ParserPanics are lines the NMEA library panicked on, dropped; by
	// type through AssemblerConfig.OnParserPanic.
	ParserPanics uint64
	Garbage      uint64 // lines that are not NMEA at all
	Epochs       uint64 // epochs emitted
	Late         uint64 // sentences that arrived after their epoch was emitted
}

type pendingFact struct {
	f  fact
	at time.Time
}

// Bounds on what one epoch holds, so a receiver that stops sending times
// but keeps talking cannot grow memory.
const (
	maxPending        = 64
	maxEpochSentences = 256
)

// Assembler turns NMEA lines into epochs. It does no I/O and reads no
// clock: each line comes with the local time it arrived. Not safe for
// concurrent use.
type Assembler struct {
	cfg AssemblerConfig
	ps  *parser
	c   Counters

	cur     *builder
	pending []pendingFact
	lastAt  time.Time // arrival of the previous line

	anchor    time.Time // receiver time (before rollover correction) of the last dated epoch
	hasAnchor bool
	lastTod   timeOfDay
	hasLast   bool

	lastSky  []Satellite
	lastUsed []satID

	// End-of-cycle learning: the sentence that closed the last epochs.
	endKey    string
	endStreak int
}

// NewAssembler returns an assembler with cfg's defaults filled in.
func NewAssembler(cfg AssemblerConfig) *Assembler {
	if cfg.SameEpoch <= 0 {
		cfg.SameEpoch = 40 * time.Millisecond
	}
	if cfg.BurstGap <= 0 {
		cfg.BurstGap = 150 * time.Millisecond
	}
	return &Assembler{cfg: cfg, ps: newParser()}
}

// SetRefDate changes the rollover reference (say, after the daemon has
// saved a later time).
func (a *Assembler) SetRefDate(t time.Time) { a.cfg.RefDate = t }

// Counters returns the running counts.
func (a *Assembler) Counters() Counters { return a.c }

// Feed hands the assembler one line (without its line end) that arrived at
// arrival. It returns the epochs the line completed: usually none, one at
// the start of each new second, or one as soon as the receiver's last
// sentence of a cycle arrives once the assembler has learnt which it is.
func (a *Assembler) Feed(line []byte, arrival time.Time) []Epoch {
	a.c.Lines++
	line = trimSpace(line)
	if len(line) == 0 {
		return nil
	}
	if line[0] != '$' && line[0] != '!' {
		a.c.Garbage++
		return nil
	}
	f, err := a.ps.parse(string(line))
	var crashed *ParserPanic
	switch {
	case err == errChecksum:
		a.c.BadChecksum++
		return nil
	case errors.As(err, &crashed):
		a.c.ParserPanics++
		if a.cfg.OnParserPanic != nil {
			a.cfg.OnParserPanic(*crashed)
		}
		return nil
	case err != nil:
		a.c.Malformed++
		return nil
	}
	a.c.Sentences++
	gap := !arrival.IsZero() && !a.lastAt.IsZero() && arrival.Sub(a.lastAt) >= a.cfg.BurstGap
	a.lastAt = arrival
	if !f.hasTod {
		return a.untimed(f, arrival, gap)
	}
	return a.timed(f, arrival)
}

// Flush ends the input: the open epoch, if not yet emitted, is returned.
func (a *Assembler) Flush() []Epoch {
	var out []Epoch
	if a.cur != nil && !a.cur.emitted {
		out = append(out, a.finish(a.cur))
	}
	a.cur = nil
	a.pending = a.pending[:0]
	return out
}

func (a *Assembler) untimed(f fact, at time.Time, gap bool) []Epoch {
	if a.cur != nil && !a.cur.emitted && !gap && len(a.pending) == 0 && a.cur.n < maxEpochSentences {
		a.add(a.cur, f)
		return a.cycleEnd()
	}
	if len(a.pending) == maxPending {
		// A receiver sending no times at all: keep the newest.
		copy(a.pending, a.pending[1:])
		a.pending = a.pending[:maxPending-1]
	}
	a.pending = append(a.pending, pendingFact{f, at})
	return nil
}

func (a *Assembler) timed(f fact, at time.Time) []Epoch {
	var out []Epoch
	cur := a.cur
	switch {
	case cur != nil && cur.same(f, a.cfg.SameEpoch):
	case cur != nil && cur.zdaOnly && f.kind != kindZDA && absTodDiff(cur.tod, f.tod) <= time.Second+a.cfg.SameEpoch:
		// Some receivers send ZDA first and a second ahead of the fix it
		// precedes. The fix sentences name the epoch; ZDA still dates it.
		cur.tod, cur.zdaOnly = f.tod, false
	default:
		if cur != nil && !cur.emitted {
			out = append(out, a.finish(cur))
		}
		if cur != nil {
			a.learnEnd(cur)
		}
		first := at
		if len(a.pending) > 0 {
			first = a.pending[0].at
		}
		cur = newBuilder(f.tod, first)
		a.cur = cur
	}
	for _, p := range a.pending {
		a.add(cur, p.f)
	}
	a.pending = a.pending[:0]
	a.add(cur, f)
	return append(out, a.cycleEnd()...)
}

// add puts f into b, unless b has been emitted already.
func (a *Assembler) add(b *builder, f fact) {
	if b.n >= maxEpochSentences {
		return
	}
	if b.emitted {
		a.c.Late++
		a.endStreak = 0 // the learnt cycle end was wrong; learn again
		return
	}
	b.add(f)
}

// cycleEnd emits the open epoch early when its last sentence is the one
// that has ended the receiver's recent cycles, rather than a second later
// when the next cycle starts.
func (a *Assembler) cycleEnd() []Epoch {
	b := a.cur
	if b == nil || b.emitted || a.endStreak < 3 || b.lastKey != a.endKey || b.count(a.endKey) != 1 {
		return nil
	}
	b.emitted = true
	return []Epoch{a.finish(b)}
}

func (a *Assembler) learnEnd(b *builder) {
	if b.lastKey == "" || !gnssTalker(b.lastKey) || b.count(b.lastKey) != 1 {
		a.endKey, a.endStreak = "", 0
		return
	}
	if b.lastKey == a.endKey {
		a.endStreak++
		return
	}
	a.endKey, a.endStreak = b.lastKey, 1
}

// finish turns a builder into an epoch, dating it.
func (a *Assembler) finish(b *builder) Epoch {
	a.c.Epochs++
	e := Epoch{Arrival: b.arrival, Sentences: b.n, LeapSecond: b.tod.leap}

	// A receiver that lost its fix may keep printing the last time: the
	// same time as the epoch before is never a fix.
	stale := a.hasLast && a.lastTod == b.tod
	a.lastTod, a.hasLast = b.tod, true

	e.Valid = !stale && b.valid()
	e.Mode = 1
	if e.Valid {
		switch {
		case b.gsaFix >= 2:
			e.Mode = b.gsaFix
		case b.hasAlt:
			e.Mode = 3
		default:
			e.Mode = 2
		}
	}

	tod := b.tod
	if b.reportPrio > 0 {
		tod = b.report
	}
	var base time.Time
	switch {
	case b.rmcDated:
		base, e.DateFrom = dateTime(b.rmcDate, b.rmcTod), "RMC"
	case b.zdaDated:
		base, e.DateFrom = dateTime(b.zdaDate, b.zdaTod), "ZDA"
	case a.hasAnchor:
		base, e.DateFrom = a.anchor, "carried"
	}
	if e.DateFrom != "" {
		t := nearest(base, tod)
		a.anchor, a.hasAnchor = t, true
		e.Time, e.RolloverWeeks = unroll(t, a.cfg.RefDate)
	}

	e.SatsUsed = b.sats
	if e.SatsUsed < 0 {
		e.SatsUsed = len(b.used)
	}
	e.HDOP, e.PDOP = b.hdop, b.pdop
	e.Lat, e.Lon, e.AltM, e.HasPosition = b.lat, b.lon, b.alt, b.posPrio > 0

	if len(b.used) > 0 || b.gsaSeen {
		a.lastUsed = b.used
	}
	if sky := b.sky(); sky != nil {
		a.lastSky = sky
	}
	if len(a.lastSky) > 0 {
		e.Satellites = make([]Satellite, len(a.lastSky))
		copy(e.Satellites, a.lastSky)
		markUsed(e.Satellites, a.lastUsed)
		e.SatsInView = len(e.Satellites)
	}
	return e
}

// dateTime is the receiver's date and time of day as a UTC instant.
func dateTime(d civilDate, t timeOfDay) time.Time {
	return time.Date(d.y, time.Month(d.m), d.d, 0, 0, 0, 0, time.UTC).Add(time.Duration(t.ms) * time.Millisecond)
}

// nearest is the instant with time of day t closest to base: a date
// taken from a sentence a second away (ZDA ahead, or across midnight) or
// from an earlier epoch still names the right day.
func nearest(base time.Time, t timeOfDay) time.Time {
	day := base.Truncate(24 * time.Hour)
	c := day.Add(time.Duration(t.ms) * time.Millisecond)
	switch d := c.Sub(base); {
	case d > 12*time.Hour:
		c = c.Add(-24 * time.Hour)
	case d < -12*time.Hour:
		c = c.Add(24 * time.Hour)
	}
	return c
}

func absTodDiff(a, b timeOfDay) time.Duration {
	d := (a.ms - b.ms) % msPerDay
	if d < 0 {
		d += msPerDay
	}
	if d > msPerDay/2 {
		d = msPerDay - d
	}
	return time.Duration(d) * time.Millisecond
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

type satID struct {
	sys string
	prn int
}

func markUsed(sats []Satellite, used []satID) {
	for i := range sats {
		for _, u := range used {
			if u.prn == sats[i].PRN && (u.sys == sats[i].System || u.sys == "GN") {
				sats[i].Used = true
				break
			}
		}
	}
}

// sortSky orders the sky view by system, then PRN.
func sortSky(s []Satellite) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].System != s[j].System {
			return s[i].System < s[j].System
		}
		return s[i].PRN < s[j].PRN
	})
}

// gnssTalker reports whether a sentence key comes from the GNSS receiver
// itself, not from other equipment sharing the line (AIS, say), whose
// sentences do not follow the fix cycle.
func gnssTalker(key string) bool {
	if len(key) < 2 {
		return false
	}
	switch key[:2] {
	case "GP", "GN", "GL", "GA", "GB", "BD", "QZ", "GQ", "GI":
		return true
	}
	return key[0] == 'P'
}
