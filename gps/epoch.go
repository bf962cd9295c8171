package gps

import "time"

// Epoch is one second (or one fix interval, for receivers faster than 1 Hz)
// of receiver output: the sentences that carry the same time of day, merged.
type Epoch struct {
	// Time is the UTC instant the receiver labels this epoch with, with its
	// fractional part. It is zero when no date is known yet (a time of day
	// from GGA/GLL/GNS before any RMC or ZDA has given a date).
	Time time.Time
	// Mode is 1 (no fix), 2 (2D) or 3 (3D). Mode is 1 whenever Valid is false.
	Mode int
	// Valid is true when the receiver stands behind a fix in this epoch:
	// some sentence of the epoch says so (RMC A, GGA quality 1..5, GNS or
	// GLL valid) and none of RMC, GGA, GNS says the opposite.
	Valid bool

	SatsUsed   int
	SatsInView int
	// Satellites is the sky view: this epoch's GSV sentences, or the last
	// complete view when the receiver sends GSV less often than every epoch.
	Satellites []Satellite
	HDOP, PDOP float64

	Lat, Lon, AltM float64
	HasPosition    bool

	// Arrival is the local time the first sentence of this epoch arrived.
	Arrival time.Time
	// RolloverWeeks is the number of GPS weeks (a multiple of 1024) added to
	// the receiver's date to bring it to the reference date. 0 normally.
	RolloverWeeks int
	// LeapSecond is true when the receiver reported second 60. Time then
	// holds 23:59:59 of that minute, as the POSIX clock repeats it.
	LeapSecond bool
	// DateFrom names where the date came from: "RMC", "ZDA", or "carried"
	// (an earlier epoch's date, for epochs with only GGA/GLL/GNS).
	DateFrom string
	// Sentences is how many sentences made this epoch.
	Sentences int
}

// HasTime reports whether the epoch carries a UTC date and time.
func (e *Epoch) HasTime() bool { return !e.Time.IsZero() }

// Satellite is one satellite of the sky view.
type Satellite struct {
	System    string // talker: GP, GL, GA, GB, QZ, GI
	PRN       int
	Elevation int // degrees
	Azimuth   int // degrees
	SNR       int // dB-Hz; 0 when not tracked
	Used      bool
}
