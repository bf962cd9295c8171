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
	RootDispersion time.Duration // at Updated; grows at DispersionRate after it
	RefTime        time.Time     // when the clock was last set or corrected
	// Updated is when RootDispersion was evaluated; zero means RefTime.
	// The discipline fixes it at its last measurement, so that the bound
	// grows from there through gaps and holdover, whenever it is read.
	Updated time.Time
	// DispersionRate is how fast the root dispersion grows after Updated,
	// as a fraction (s/s): the publisher's bound on its clock's frequency
	// error, which keeps a state that is no longer republished honest.
	// Zero means MaxDrift, RFC 5905's tolerance for a clock nobody
	// measured.
	DispersionRate float64
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
// DispersionRate (MaxDrift when unset) times the time elapsed since
// Updated (RefTime when unset).
func (s *ServerState) DispersionAt(now time.Time) time.Duration {
	from := s.Updated
	if from.IsZero() {
		from = s.RefTime
	}
	if from.IsZero() {
		return s.RootDispersion
	}
	age := elapsed(from, now)
	if age <= 0 {
		return s.RootDispersion
	}
	rate := s.DispersionRate
	if rate <= 0 {
		rate = MaxDrift
	}
	return s.RootDispersion + time.Duration(float64(age)*rate)
}

// elapsed returns now.Sub(from) for the responder's hot path, where now is
// a kernel timestamp without a monotonic reading: Time.Sub then checks its
// result by adding it back, about 170 instructions per reply. Seconds and
// nanoseconds apart give the same within 200 years; beyond, Sub saturates.
func elapsed(from, now time.Time) time.Duration {
	const limit = 200 * 365 * 24 * 3600 // seconds; a Duration holds 292 years
	ds := now.Unix() - from.Unix()
	if ds > limit || ds < -limit {
		return now.Sub(from)
	}
	return time.Duration(ds)*time.Second + time.Duration(now.Nanosecond()-from.Nanosecond())
}
