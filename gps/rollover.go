package gps

import "time"

// Era is one GPS week-number era: 1024 weeks.
const Era = 1024 * 7 * 24 * time.Hour

// EraWeeks is the length of a GPS week-number era in weeks.
const EraWeeks = 1024

// unroll moves t forward by whole eras to the one nearest ref, never
// backwards: a receiver with a week-number rollover bug reports a date
// 1024 weeks (or a multiple) early, never late. ref zero disables it.
func unroll(t, ref time.Time) (time.Time, int) {
	if ref.IsZero() || !t.Before(ref) {
		return t, 0
	}
	d := ref.Sub(t)
	// Round to the nearest era. Durations overflow after ~292 years, so
	// count in whole hours (era = 172032 h).
	const eraHours = int64(Era / time.Hour)
	hours := int64(d / time.Hour)
	k := (hours + eraHours/2) / eraHours
	if k == 0 {
		return t, 0
	}
	// AddDate, not Add: k eras can exceed what a Duration holds.
	return t.AddDate(0, 0, int(k)*EraWeeks*7), int(k) * EraWeeks
}
