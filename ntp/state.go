package ntp

import "time"

// ServerState is what a server puts into every reply about its own clock.
// The discipline publishes a new value (never mutating a published one) and
// the responder reads it per packet through an atomic pointer, without locks.
type ServerState struct {
	Leap           Leap
	Stratum        uint8
	Precision      int8
	RefID          RefID
	RootDelay      time.Duration
	RootDispersion time.Duration // at RefTime; grows at MaxDrift after it
	RefTime        time.Time     // when the clock was last set or corrected
}

// MaxDrift is the frequency tolerance that RFC 5905 assumes for a clock that
// is not being corrected: root dispersion grows at this rate (15 ppm).
const MaxDrift = 15e-6

// StateSource hands out the currently published state. An
// atomic.Pointer[ServerState] satisfies it.
type StateSource interface {
	Load() *ServerState
}

// Unsynchronised is the state of a server with no usable time source: leap
// 3 and stratum 16, so that clients ignore its replies (RFC 5905).
func Unsynchronised(precision int8) *ServerState {
	return &ServerState{Leap: LeapNotInSync, Stratum: StratumUnsynchronised, Precision: precision, RefID: RefINIT}
}

// Synchronised reports whether clients may use the state's time.
func (s *ServerState) Synchronised() bool {
	return s.Leap != LeapNotInSync && s.Stratum > 0 && s.Stratum < StratumUnsynchronised
}

// DispersionAt returns the root dispersion at now: the published value plus
// MaxDrift times the time elapsed since RefTime.
func (s *ServerState) DispersionAt(now time.Time) time.Duration {
	if s.RefTime.IsZero() {
		return s.RootDispersion
	}
	age := now.Sub(s.RefTime)
	if age <= 0 {
		return s.RootDispersion
	}
	return s.RootDispersion + time.Duration(float64(age)*MaxDrift)
}
