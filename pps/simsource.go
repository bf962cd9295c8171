package pps

import (
	"context"
	"time"
)

// SimSource replays a Sim in real time as a Source, for the simulator and
// for trying the views without hardware. The simulated local clock is the
// system clock: cfg.Start defaults to the next whole second.
type SimSource struct {
	sim     *Sim
	seconds func(Second)
}

// NewSimSource returns a source for cfg; seconds, if not nil, receives the
// simulated receiver's NMEA epochs on Run's goroutine.
func NewSimSource(cfg SimConfig, seconds func(Second)) *SimSource {
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().Truncate(time.Second).Add(time.Second)
	}
	return &SimSource{sim: NewSim(cfg), seconds: seconds}
}

func (s *SimSource) Backend() string          { return BackendSimulated }
func (s *SimSource) Device() string           { return "simulated" }
func (s *SimSource) Precision() time.Duration { return time.Microsecond }
func (s *SimSource) Close() error             { return nil }

// Run delivers each event when the system clock reaches its local time.
func (s *SimSource) Run(ctx context.Context, fn func(Edge)) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		ev := s.sim.Next()
		t.Reset(time.Until(ev.At))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if ev.IsEdge {
			fn(ev.Edge)
		} else if s.seconds != nil {
			s.seconds(ev.Second)
		}
	}
}
