package setting

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"duration in range", Duration("d", time.Second, time.Second, time.Hour), ""},
		{"duration below", Duration("d", 5, time.Second, time.Hour), "d: 5ns is outside 1s..1h"},
		{"duration above", Duration("d", 100000*time.Hour, time.Minute, 48*time.Hour), "d: 100000h is outside 1m..48h"},
		{"zero allowed", DurationOrZero("c", 0, time.Microsecond, time.Millisecond), ""},
		{"or zero, below", DurationOrZero("c", 1, time.Microsecond, time.Millisecond), "c: 1ns is outside 1µs..1ms (or 0s)"},
		{"int", Int("n", 0, 1, 16), "n: 0 is outside 1..16"},
		{"int64", Int("n", int64(-1), 0, 100), "n: -1 is outside 0..100"},
		{"int in range", Int("n", 16, 1, 16), ""},
		{"float NaN", Float("f", nan(), 0, 1), "f: NaN is outside 0..1"},
		{"float in range", Float("f", 0.5, 0, 1), ""},
		{"first", First(nil, Errorf("a", "x"), Errorf("b", "y")), "a: x"},
		{"none", First(nil, nil), ""},
	}
	for _, tt := range tests {
		got := ""
		if tt.err != nil {
			got = tt.err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	err := fmt.Errorf("gps: %w", Errorf("reconnect_max", "too small"))
	if k := Key(err); k != "reconnect_max" {
		t.Errorf("Key = %q", k)
	}
	if k := Key(errors.New("plain")); k != "" {
		t.Errorf("Key of a plain error = %q", k)
	}
}

func nan() float64 { var z float64; return z / z }
