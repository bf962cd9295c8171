// Package setting is what every section of the configuration file shares
// to report an invalid value: an error that names the key it is set under,
// so that the config package can add the key's line in the file, and range
// checks that all say the same thing in the same words.
package setting

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Error is an invalid value of one key. Key is relative to the section the
// Validate method belongs to, in the form the file spells it:
// "rate_limit.interval", "server[1].minpoll" (the second [[peers.server]]).
type Error struct {
	Key string
	Err error
}

func (e *Error) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error for key with a formatted reason.
func Errorf(key, format string, args ...any) error {
	return &Error{Key: key, Err: fmt.Errorf(format, args...)}
}

// Duration checks that d is within lo..hi.
func Duration(key string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return Errorf(key, "%s is outside %s..%s", short(d), short(lo), short(hi))
	}
	return nil
}

// DurationOrZero checks that d is 0 (off, or the default, as the key's
// documentation says) or within lo..hi.
func DurationOrZero(key string, d, lo, hi time.Duration) error {
	if d != 0 && (d < lo || d > hi) {
		return Errorf(key, "%s is outside %s..%s (or 0s)", short(d), short(lo), short(hi))
	}
	return nil
}

// Int checks that n is within lo..hi.
func Int[T ~int | ~int64](key string, n, lo, hi T) error {
	if n < lo || n > hi {
		return Errorf(key, "%d is outside %d..%d", n, lo, hi)
	}
	return nil
}

// Float checks that x is a number within lo..hi.
func Float(key string, x, lo, hi float64) error {
	if math.IsNaN(x) || x < lo || x > hi {
		return Errorf(key, "%v is outside %v..%v", x, lo, hi)
	}
	return nil
}

// First returns the first non-nil error, so that a Validate method can list
// its checks in the order of the file.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Key returns the key of the first *Error in err's chain, or "".
func Key(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Key
	}
	return ""
}

// short prints round durations without trailing zero units: 1h, not 1h0m0s.
func short(d time.Duration) string {
	s := d.String()
	for _, z := range []struct{ suffix, unit string }{{"h0m0s", "h"}, {"m0s", "m"}} {
		if len(s) > len(z.suffix) && s[len(s)-len(z.suffix):] == z.suffix {
			return s[:len(s)-len(z.suffix)] + z.unit
		}
	}
	return s
}
