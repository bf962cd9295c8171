package ntp

import (
	"testing"
	"time"
)

func TestShortUp(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want Short
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Nanosecond, 1},
		{1726 * time.Nanosecond, 1}, // would round to 0
		{15258 * time.Nanosecond, 1},
		{15259 * time.Nanosecond, 2},
		{time.Second, 1 << 16},
		{time.Second + time.Nanosecond, 1<<16 + 1},
		{70000 * time.Second, 0xffffffff},
	}
	for _, tt := range tests {
		got := ShortUp(tt.d)
		if got != tt.want {
			t.Errorf("ShortUp(%v) = %#x, want %#x", tt.d, got, tt.want)
		}
		if tt.d > 0 && tt.d < 65536*time.Second && got.Duration() < tt.d {
			t.Errorf("ShortUp(%v) = %v: below the duration", tt.d, got.Duration())
		}
	}
}
