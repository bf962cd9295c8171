package ntp

import (
	"math"
	"time"
)

// Time is an NTP timestamp: seconds since 1900-01-01 in the high 32 bits and
// a binary fraction of a second in the low 32 bits. It names an instant only
// modulo an era of 2^32 seconds (about 136 years), so converting it back to a
// time.Time needs a pivot: an instant known to lie within 68 years of it.
type Time uint64

// Short is the NTP short format: 16 bits of seconds and 16 bits of fraction,
// used for root delay and root dispersion.
type Short uint32

// unixToNTP is the number of seconds from 1900-01-01 to 1970-01-01.
const unixToNTP = 2208988800

// era0 is the start of NTP era 0, 1900-01-01T00:00:00Z.
var era0 = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// TimeFrom converts t to an NTP timestamp, rounding to the nearest fraction.
func TimeFrom(t time.Time) Time {
	sec := t.Unix() + unixToNTP
	nsec := uint64(t.Nanosecond())
	frac := (nsec<<32 + 500_000_000) / 1_000_000_000
	return Time(uint64(sec)<<32 + frac)
}

// Seconds returns the whole seconds of the timestamp within its era.
func (t Time) Seconds() uint32 { return uint32(t >> 32) }

// Fraction returns the fractional part in units of 2^-32 s.
func (t Time) Fraction() uint32 { return uint32(t) }

// IsZero reports whether t is the zero timestamp, which RFC 5905 uses to mean
// "unknown" (for instance an unset reference time).
func (t Time) IsZero() bool { return t == 0 }

// Near converts t to the time.Time closest to pivot that has the same
// timestamp, which is correct across era boundaries (2036-02-07) as long as
// pivot is within 68 years of the true instant.
func (t Time) Near(pivot time.Time) time.Time {
	p := TimeFrom(pivot)
	delta := int64(t - p) // wraps modulo 2^64, i.e. modulo the era
	return pivot.Add(FixedDuration(delta))
}

// Time converts t using the RFC 4330 convention: timestamps with the most
// significant bit set are in era 0 (1968-2036), the others in era 1
// (2036-2104). Prefer Near with a known pivot.
func (t Time) Time() time.Time {
	base := era0
	if t>>63 == 0 {
		base = era0.Add(time.Duration(1<<32) * time.Second)
	}
	secs := time.Duration(t>>32) * time.Second
	return base.Add(secs).Add(FixedDuration(int64(t & 0xffffffff)))
}

// Sub returns the signed difference t-u interpreted within ±68 years.
func (t Time) Sub(u Time) time.Duration { return FixedDuration(int64(t - u)) }

// FixedDuration converts a signed 32.32 fixed-point number of seconds to a
// Duration, rounding to the nearest nanosecond. Out-of-range values saturate.
func FixedDuration(v int64) time.Duration {
	sec := v >> 32 // arithmetic shift: floor
	frac := uint64(v) & 0xffffffff
	const maxSec = math.MaxInt64/int64(time.Second) - 1
	if sec > maxSec {
		return math.MaxInt64
	}
	if sec < -maxSec {
		return math.MinInt64
	}
	ns := (frac*1_000_000_000 + 1<<31) >> 32
	return time.Duration(sec)*time.Second + time.Duration(ns)
}

// DurationFixed converts d to signed 32.32 fixed-point seconds.
func DurationFixed(d time.Duration) int64 {
	sec := int64(d / time.Second)
	ns := int64(d % time.Second)
	if ns < 0 {
		sec--
		ns += int64(time.Second)
	}
	return sec<<32 + int64((uint64(ns)<<32+500_000_000)/1_000_000_000)
}

// ShortFrom converts a non-negative duration to the NTP short format,
// saturating at the largest representable value (about 18 hours).
func ShortFrom(d time.Duration) Short {
	if d <= 0 {
		return 0
	}
	if d >= 65536*time.Second {
		return math.MaxUint32
	}
	sec := uint64(d / time.Second)
	ns := uint64(d % time.Second)
	return Short(sec<<16 + (ns<<16+500_000_000)/1_000_000_000)
}

// ShortUp converts a non-negative duration to the NTP short format rounded
// up, for the error bounds a server sends (root delay and dispersion): a
// bound of a few microseconds must not go out as zero.
func ShortUp(d time.Duration) Short {
	if d <= 0 {
		return 0
	}
	if d >= 65536*time.Second {
		return math.MaxUint32
	}
	sec := uint64(d / time.Second)
	ns := uint64(d % time.Second)
	return Short(sec<<16 + (ns<<16+999_999_999)/1_000_000_000)
}

// Duration converts s to a Duration.
func (s Short) Duration() time.Duration {
	sec := time.Duration(s>>16) * time.Second
	ns := (uint64(s&0xffff)*1_000_000_000 + 1<<15) >> 16
	return sec + time.Duration(ns)
}

// PrecisionOf returns the NTP precision (log2 seconds, rounded up) of a clock
// whose reading resolution or noise is d.
func PrecisionOf(d time.Duration) int8 {
	if d <= 0 {
		return -30
	}
	p := math.Ceil(math.Log2(d.Seconds()))
	return int8(max(min(p, 127), -128))
}
