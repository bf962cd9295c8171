package appliance

import (
	"testing"
	"time"
)

func TestMachineLife(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	healthy := Observation{TimeKnown: true, Disciplined: true, SourceFresh: true}
	outage := Observation{TimeKnown: true, Disciplined: true}
	expired := Observation{TimeKnown: true, Disciplined: true, HoldoverLimit: true}

	type step struct {
		at   time.Duration
		obs  Observation
		want State
	}
	with := func(o Observation, peers bool) Observation { o.PeersUsable = peers; return o }
	distrust := healthy
	distrust.GPSDistrusted = true
	tests := []struct {
		name  string
		steps []step
	}{
		{"cold start to lock", []step{
			{0, Observation{}, NoTime},
			{5 * time.Second, Observation{TimeKnown: true}, Acquiring},
			{30 * time.Second, healthy, Locked},
		}},
		{"outage rides holdover then falls back", []step{
			{0, healthy, Locked},
			{time.Second, outage, Holdover},
			{time.Hour, outage, Holdover},
			{2 * time.Hour, with(expired, true), Peers},
			{3 * time.Hour, with(expired, false), Unsynchronised},
		}},
		{"holdover back to locked at once", []step{
			{0, healthy, Locked},
			{time.Second, outage, Holdover},
			{2 * time.Second, healthy, Locked},
		}},
		{"flapping antenna does not flap stratum after fallback", []step{
			{0, healthy, Locked},
			{time.Second, with(expired, true), Peers},
			{2 * time.Second, with(healthy, true), Peers},
			{3 * time.Second, with(outage, true), Peers},
			{4 * time.Second, with(healthy, true), Peers},
			{4*time.Second + 5*time.Minute - time.Second, with(healthy, true), Peers},
			{4*time.Second + 5*time.Minute, with(healthy, true), Locked},
		}},
		{"wrong second distrusted", []step{
			{0, healthy, Locked},
			{time.Second, with(distrust, true), Peers},
			{10 * time.Minute, with(distrust, true), Peers},
		}},
		{"peers answer before the first GPS lock", []step{
			{0, Observation{PeersUsable: true}, Peers},
			{10 * time.Second, with(Observation{TimeKnown: true}, true), Peers},
			{20 * time.Second, with(healthy, true), Locked},
		}},
		{"no GPS, peers only", []step{
			{0, Observation{PeersUsable: true}, Peers},
			{time.Minute, Observation{}, Unsynchronised},
		}},
		{"distrusted before first lock without peers waits", []step{
			{0, Observation{TimeKnown: true}, Acquiring},
			{time.Second, distrust, NoTime},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMachine(5*time.Minute, t0)
			for i, s := range tt.steps {
				s.obs.Now = t0.Add(s.at)
				got, _ := m.Step(s.obs)
				if got != s.want {
					t.Fatalf("step %d at %v: state %v, want %v", i, s.at, got, s.want)
				}
			}
		})
	}
}

func TestMachineReportsTransitionsOnce(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMachine(time.Minute, t0)
	healthy := Observation{TimeKnown: true, Disciplined: true, SourceFresh: true}
	changes := 0
	for i := range 100 {
		healthy.Now = t0.Add(time.Duration(i) * time.Second)
		if _, changed := m.Step(healthy); changed {
			changes++
		}
	}
	if changes != 1 {
		t.Fatalf("%d transitions over 100 identical observations, want 1", changes)
	}
	if s, since := m.State(); s != Locked || !since.Equal(t0) {
		t.Fatalf("state %v since %v", s, since)
	}
}
