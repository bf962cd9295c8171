package ntp

import (
	"testing"
	"time"
)

func TestElapsedMatchesSub(t *testing.T) {
	base := time.Unix(1_700_000_000, 999_999_999)
	tests := []struct {
		name     string
		from, at time.Time
	}{
		{"same instant", base, base},
		{"a nanosecond", base, base.Add(time.Nanosecond)},
		{"across a second, nanoseconds borrow", base, base.Add(2)},
		{"backwards", base, base.Add(-1500 * time.Millisecond)},
		{"a day", base, base.Add(24 * time.Hour)},
		{"with a monotonic reading", time.Now(), time.Now().Add(time.Second)},
		{"199 years", base, base.AddDate(199, 0, 0)},
		{"far apart: saturates as Sub", time.Unix(0, 0), time.Unix(0, 0).AddDate(300, 0, 0)},
		{"far apart backwards", time.Unix(0, 0).AddDate(300, 0, 0), time.Unix(0, 0)},
		{"zero time", time.Time{}, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Without monotonic readings (Round(0)), as a kernel
			// timestamp has none: Sub then uses the wall clock too.
			from, at := tt.from.Round(0), tt.at.Round(0)
			if got, want := elapsed(from, at), at.Sub(from); got != want {
				t.Errorf("elapsed = %v, want %v", got, want)
			}
		})
	}
}
