package ntp

import (
	"testing"
	"time"
)

func TestTimeRoundTripAcrossEras(t *testing.T) {
	rollover := time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
	tests := []struct {
		name  string
		t     time.Time
		pivot time.Time
	}{
		{"1900 epoch", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1920, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"1970 epoch", time.Unix(0, 0).UTC(), time.Unix(0, 0)},
		{"today", time.Date(2026, 11, 26, 10, 31, 15, 123456789, time.UTC), time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
		{"just before rollover", rollover.Add(-time.Nanosecond * 3), rollover.Add(-time.Hour)},
		{"at rollover", rollover, rollover.Add(-time.Hour)},
		{"just after rollover, pivot before", rollover.Add(1500 * time.Millisecond), rollover.Add(-24 * time.Hour)},
		{"before rollover, pivot after", rollover.Add(-time.Second), rollover.Add(24 * time.Hour)},
		{"era 1, pivot far", rollover.Add(40 * 365 * 24 * time.Hour), time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := TimeFrom(tt.t)
			got := ts.Near(tt.pivot)
			if d := got.Sub(tt.t); d < -time.Nanosecond || d > time.Nanosecond {
				t.Fatalf("Near(%v) = %v, want %v (off by %v)", tt.pivot, got, tt.t, d)
			}
		})
	}
}

func TestTimeEraBoundaries(t *testing.T) {
	rollover := time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
	if got := TimeFrom(rollover); got != 0 {
		t.Fatalf("rollover instant encodes as %#x, want 0", uint64(got))
	}
	if got := TimeFrom(rollover.Add(-time.Second)).Seconds(); got != 1<<32-1 {
		t.Fatalf("second before rollover has %d seconds, want 2^32-1", got)
	}
	if got := TimeFrom(time.Unix(0, 0)).Seconds(); got != unixToNTP {
		t.Fatalf("unix epoch = %d NTP seconds, want %d", got, uint32(unixToNTP))
	}
	// RFC 4330 convention without a pivot.
	if got := TimeFrom(rollover.Add(time.Hour)).Time(); !got.Equal(rollover.Add(time.Hour)) {
		t.Fatalf("era 1 by MSB rule: got %v", got)
	}
	if got := TimeFrom(time.Unix(1e9, 0)).Time(); !got.Equal(time.Unix(1e9, 0)) {
		t.Fatalf("era 0 by MSB rule: got %v", got)
	}
}

func TestFractionResolution(t *testing.T) {
	for _, ns := range []int{0, 1, 232, 233, 499_999_999, 500_000_000, 999_999_999} {
		in := time.Date(2026, 1, 1, 0, 0, 0, ns, time.UTC)
		got := TimeFrom(in).Near(in)
		if d := got.Sub(in); d < -time.Nanosecond || d > time.Nanosecond {
			t.Errorf("ns=%d: round trip off by %v", ns, d)
		}
	}
}

func TestShort(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want Short
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Second, 1 << 16},
		{500 * time.Millisecond, 1 << 15},
		{100 * time.Hour, 0xffffffff},
	}
	for _, tt := range tests {
		if got := ShortFrom(tt.d); got != tt.want {
			t.Errorf("ShortFrom(%v) = %#x, want %#x", tt.d, got, tt.want)
		}
	}
	for _, d := range []time.Duration{15 * time.Microsecond, 3 * time.Millisecond, 1234 * time.Millisecond} {
		if got := ShortFrom(d).Duration(); got-d > 16*time.Microsecond || d-got > 16*time.Microsecond {
			t.Errorf("short round trip of %v = %v", d, got)
		}
	}
}

func TestShortCeil(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want Short
	}{
		{0, 0},
		{-time.Second, 0},
		{1, 1},                      // a bound of 1 ns is not 0
		{5800 * time.Nanosecond, 1}, // ShortFrom says 0
		{15258 * time.Nanosecond, 1},
		{15259 * time.Nanosecond, 2},
		{time.Second, 1 << 16},
		{time.Second + 1, 1<<16 + 1},
		{500 * time.Millisecond, 1 << 15},
		{65536*time.Second - 1, 0xffffffff},
		{100 * time.Hour, 0xffffffff},
	}
	for _, tt := range tests {
		if got := ShortCeil(tt.d); got != tt.want {
			t.Errorf("ShortCeil(%v) = %#x, want %#x", tt.d, got, tt.want)
		}
	}
	for d := time.Duration(1); d < 3*time.Second; d = d*3 + 7 {
		if got := ShortCeil(d).Duration(); got < d {
			t.Errorf("ShortCeil(%v) reads back as %v, below the bound", d, got)
		}
	}
}

func TestFixedDuration(t *testing.T) {
	for _, d := range []time.Duration{0, 1, -1, time.Second, -time.Second, -1500 * time.Millisecond, 68 * 365 * 24 * time.Hour} {
		if got := FixedDuration(DurationFixed(d)); got-d > 1 || d-got > 1 {
			t.Errorf("fixed round trip of %v = %v", d, got)
		}
	}
}
