package pps

import (
	"math/rand/v2"
	"slices"
	"time"
)

// SimConfig describes a simulated receiver, its PPS wiring and the local
// clock that timestamps both.
type SimConfig struct {
	Start time.Time // UTC of the first pulse, a whole second
	Seed  uint64

	ClockOffset time.Duration // local clock minus UTC at Start
	FreqPPM     float64       // local clock rate error, parts per million
	EdgeDelay   time.Duration // cable and front-end delay of the edge
	StepAt      time.Duration // when (after Start) the local clock is stepped, if Step is not zero
	Step        time.Duration // the step: someone else setting the clock

	Jitter     time.Duration // standard deviation of the captured edge times
	PulseWidth time.Duration // 100 ms when zero
	Inverted   bool          // the pulse is active low: the falling edge marks the second
	Capture    string        // rising, falling or auto (both); the marking edge when ""

	MissRate   float64 // probability a pulse is missing
	DoubleRate float64 // probability a pulse is doubled a few ms later
	GlitchRate float64 // probability of a noise edge within a second

	// NMEALatency is when the first sentence of the epoch for second S
	// arrives, after S; negative for receivers that send it before the S edge.
	NMEALatency  time.Duration
	NMEAJitter   time.Duration
	LabelOffset  int     // the epoch for S is labelled S+LabelOffset (1: the classic wrong second)
	NMEAMissRate float64 // probability an epoch is lost
	NoFixFor     time.Duration
}

// SimEvent is one simulated input, in local-time order: an edge or an epoch.
type SimEvent struct {
	At     time.Time // local time
	IsEdge bool
	Edge   Edge
	Second Second
	// Truth is, for an edge marking a second, that second; zero for
	// doubles, glitches and the pulse's other edge.
	Truth time.Time
}

// Sim generates the edges and NMEA epochs of a simulated receiver in
// virtual time. It is deterministic for a given seed.
type Sim struct {
	cfg   SimConfig
	rng   *rand.Rand
	next  time.Time // next second to generate
	queue []SimEvent
	seq   uint64
}

// NewSim returns a generator for cfg.
func NewSim(cfg SimConfig) *Sim {
	if cfg.PulseWidth == 0 {
		cfg.PulseWidth = 100 * time.Millisecond
	}
	if cfg.Capture == "" {
		cfg.Capture = PolarityRising
		if cfg.Inverted {
			cfg.Capture = PolarityFalling
		}
	}
	cfg.Start = cfg.Start.Truncate(time.Second)
	return &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), next: cfg.Start}
}

// Local maps a UTC instant to the simulated local clock, without jitter.
func (s *Sim) Local(utc time.Time) time.Time {
	el := utc.Sub(s.cfg.Start)
	off := s.cfg.ClockOffset + time.Duration(float64(el)*s.cfg.FreqPPM*1e-6)
	if s.cfg.Step != 0 && el >= s.cfg.StepAt {
		off += s.cfg.Step
	}
	return utc.Add(off)
}

// Next returns the next event.
func (s *Sim) Next() SimEvent {
	// Events of one second can land up to a second either side of it, so
	// keep generating until the earliest queued event is safely settled.
	for len(s.queue) == 0 || s.Local(s.next).Sub(s.queue[0].At) < 2*time.Second {
		s.generate()
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	return ev
}

func (s *Sim) generate() {
	sec := s.next
	s.next = s.next.Add(time.Second)
	c := s.cfg
	markFalling := c.Inverted
	capture := func(falling bool) bool {
		return c.Capture == PolarityAuto || (c.Capture == PolarityFalling) == falling
	}
	edge := func(utc time.Time, falling bool, truth time.Time) {
		if !capture(falling) {
			return
		}
		s.seq++
		at := s.Local(utc.Add(c.EdgeDelay)).Add(time.Duration(s.rng.NormFloat64() * float64(c.Jitter)))
		s.queue = append(s.queue, SimEvent{At: at, IsEdge: true, Edge: Edge{Local: at, Seq: s.seq, Falling: falling}, Truth: truth})
	}
	if s.rng.Float64() >= c.MissRate {
		edge(sec, markFalling, sec)
		edge(sec.Add(c.PulseWidth), !markFalling, time.Time{})
		if s.rng.Float64() < c.DoubleRate {
			edge(sec.Add(time.Duration(1+s.rng.IntN(20))*time.Millisecond), markFalling, time.Time{})
		}
	}
	if s.rng.Float64() < c.GlitchRate {
		g := sec.Add(200*time.Millisecond + time.Duration(s.rng.Int64N(int64(600*time.Millisecond))))
		edge(g, s.rng.IntN(2) == 0, time.Time{})
	}
	if s.rng.Float64() >= c.NMEAMissRate {
		lat := c.NMEALatency + time.Duration(s.rng.NormFloat64()*float64(c.NMEAJitter))
		at := s.Local(sec.Add(lat))
		s.queue = append(s.queue, SimEvent{At: at, Second: Second{
			UTC:     sec.Add(time.Duration(c.LabelOffset) * time.Second),
			Arrival: at,
			Fix:     sec.Sub(c.Start) >= c.NoFixFor,
		}})
	}
	slices.SortStableFunc(s.queue, func(a, b SimEvent) int { return a.At.Compare(b.At) })
}
