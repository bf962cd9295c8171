package gps

import (
	"testing"
	"time"
)

func TestFreshness(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	ep := func(sec int, arrMs int) Epoch {
		return Epoch{Time: t0.Add(time.Duration(sec) * time.Second), Arrival: t0.Add(time.Duration(arrMs) * time.Millisecond)}
	}
	tests := []struct {
		name   string
		epochs []Epoch
		want   []bool
	}{
		{"first dropped, steady kept", []Epoch{ep(0, 300), ep(1, 1300), ep(2, 2310)}, []bool{false, true, true}},
		{"jitter kept", []Epoch{ep(0, 950), ep(1, 1500), ep(2, 2950), ep(3, 3520)}, []bool{false, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f freshness
			for i, e := range tt.epochs {
				if got := f.keep(e); got != tt.want[i] {
					t.Errorf("epoch %d (%v at %v): keep = %v, want %v", i, e.Time, e.Arrival, got, tt.want[i])
				}
			}
		})
	}
}
