// Package appliance wires receiver, pulse, discipline, peers and responder
// into one daemon, runs the life of the box as a state machine, and builds
// the one status model that every view reads.
package appliance

import (
	"time"

	"stratum1/status"
)

// State is where the box is in its life; the API, the metrics and the
// dashboard show the same type.
type State = status.State

// States, in the order a box normally goes through them.
const (
	NoTime         = status.NoTime
	Acquiring      = status.Acquiring
	Locked         = status.Locked
	Holdover       = status.Holdover
	Peers          = status.Peers
	Unsynchronised = status.Unsynchronised
)

// Observation is what the parts report at one instant.
type Observation struct {
	Now           time.Time
	TimeKnown     bool // the receiver has given a valid UTC time and the clock was set from it
	Disciplined   bool // the loop is locked to the GPS source (error below its lock threshold)
	SourceFresh   bool // samples from the GPS source are arriving (no outage)
	HoldoverLimit bool // the outage has lasted past the configured holdover limit
	GPSDistrusted bool // peers' true-chimers disagree with GPS by more than the threshold
	PeersUsable   bool // the peer selection has a synchronised result
}

// Machine is the state machine. It is pure: Step is handed observations with
// their time and returns the state, so its hysteresis is tested in virtual time.
type Machine struct {
	// Recover is how long GPS must be healthy again before the box goes back
	// from Peers or Unsynchronised to Locked, so that a flapping antenna does
	// not make the served stratum flap.
	Recover time.Duration

	state    State
	since    time.Time
	everLock bool
	healthy  time.Time // start of the current run of healthy GPS observations; zero when not healthy
}

// NewMachine returns a machine in NoTime.
func NewMachine(recover time.Duration, now time.Time) *Machine {
	return &Machine{Recover: recover, state: NoTime, since: now}
}

// State returns the current state and when it was entered.
func (m *Machine) State() (State, time.Time) { return m.state, m.since }

// Step feeds one observation and returns the new state and whether it changed.
func (m *Machine) Step(o Observation) (State, bool) {
	gpsHealthy := o.TimeKnown && o.Disciplined && o.SourceFresh && !o.GPSDistrusted
	if gpsHealthy {
		if m.healthy.IsZero() {
			m.healthy = o.Now
		}
	} else {
		m.healthy = time.Time{}
	}
	next := m.next(o, gpsHealthy)
	if next == m.state {
		return m.state, false
	}
	if next == Locked {
		m.everLock = true
	}
	m.state, m.since = next, o.Now
	return next, true
}

func (m *Machine) next(o Observation, gpsHealthy bool) State {
	fallback := Unsynchronised
	if o.PeersUsable {
		fallback = Peers
	}
	switch m.state {
	case NoTime, Acquiring:
		switch {
		case gpsHealthy:
			return Locked
		case o.GPSDistrusted || (m.state == Acquiring && o.HoldoverLimit):
			return m.orNoTime(fallback)
		case o.TimeKnown:
			return Acquiring
		case o.PeersUsable:
			return Peers
		}
		return m.state
	case Locked, Holdover:
		switch {
		case o.GPSDistrusted:
			return fallback
		case gpsHealthy:
			return Locked
		case o.HoldoverLimit || !o.TimeKnown && !o.Disciplined:
			return fallback
		}
		return Holdover
	default: // Peers, Unsynchronised
		// The recovery time guards against a GPS that comes and goes; a
		// GPS that locks for the first time (the peers answered first,
		// after a cold start) is taken at once.
		if gpsHealthy && (!m.everLock || o.Now.Sub(m.healthy) >= m.Recover) {
			return Locked
		}
		return fallback
	}
}

// orNoTime keeps a box that never had time out of Unsynchronised's meaning
// "lost it": before the first lock, no peers means still waiting.
func (m *Machine) orNoTime(fallback State) State {
	if fallback == Unsynchronised && !m.everLock {
		return NoTime
	}
	return fallback
}
