package discipline

import (
	"errors"
	"time"

	"stratum1/ntp"
)

// Clock is the clock the loop steers: the system clock through adjtimex, or
// a simulated oscillator on a virtual time base.
type Clock interface {
	// Now reads the clock.
	Now() time.Time
	// Frequency returns the frequency correction in force, in ppm
	// (positive makes the clock run faster).
	Frequency() (ppm float64, err error)
	// SetFrequency sets the frequency correction, in ppm.
	SetFrequency(ppm float64) error
	// Step adds d to the clock's time.
	Step(d time.Duration) error
	// SetLeap arms a leap second at the end of the current UTC day
	// (LeapInsert, LeapDelete) or disarms it (LeapNone).
	SetLeap(l ntp.Leap) error
	// SetSync publishes whether the clock is synchronised and its
	// estimated and maximum error, for the kernel and its tools.
	SetSync(synced bool, estErr, maxErr time.Duration) error
}

// ErrNoClockAdjust is returned by a clock that was told not to change the
// system clock (--no-clock-adjust).
var ErrNoClockAdjust = errors.New("clock adjustment disabled (no-clock-adjust)")

// Kind says where a sample comes from.
type Kind uint8

// Sample sources.
const (
	PPS  Kind = iota + 1 // a pulse edge paired with the second it marks
	NMEA                 // the arrival of the receiver's sentences, without a pulse
	// Peer is the combined offset of the selected upstream NTP peers, one
	// sample per selection update (every 2 s in a burst to 1024 s). The
	// discipline steers to it but never serves it as its own: see publish.
	Peer
)

func (k Kind) String() string {
	switch k {
	case PPS:
		return "PPS"
	case NMEA:
		return "NMEA"
	case Peer:
		return "PEER"
	}
	return "unknown"
}

// Sample is one measurement of the clock against true time: Local is the
// clock's reading at the event (the pulse edge, or the arrival of the first
// sentence of an epoch for NMEA) and True the UTC instant it marks. Err is
// the timestamp's uncertainty (one standard deviation); zero means the
// default for the source.
//
// For Peer, Local is the clock's reading when the selection was made, True
// is Local minus the selection's offset (clock - peers), and Err the
// selection's error (its jitter, or better its root distance): the loop
// weighs peer samples by it.
type Sample struct {
	Local  time.Time
	True   time.Time
	Err    time.Duration
	Source Kind
	// Bias bounds the part of an NMEA sample's error that no averaging
	// removes: the uncertainty of the sentences' latency when it was
	// neither configured nor learned from the pulses. The published
	// error includes it.
	Bias time.Duration
}

// Offset returns the clock's offset from true time (clock - source).
func (s Sample) Offset() time.Duration { return s.Local.Sub(s.True) }

// Voucher is a clock that can say, read-only, whether something keeps it
// synchronised: the kernel's STA_UNSYNC bit is clear after a restart, set
// by the run before (or another daemon), and its estimated error. The core
// then trusts the clock (Discipline.TrustClock) against a GPS that names
// the wrong second on its first epochs.
type Voucher interface {
	Vouched() (estErr time.Duration, synced bool)
}
