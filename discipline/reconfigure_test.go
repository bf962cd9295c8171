package discipline

import (
	"slices"
	"testing"
	"time"
)

// TestReconfigure: a new holdover limit applies to the holdover under way;
// the files are left alone and named; a bad section is refused whole.
func TestReconfigure(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DriftFile = ""
	r := lockedToPPS(t, cfg)
	d := r.d

	bad := cfg
	bad.HoldoverLimit = time.Second
	if _, err := d.Reconfigure(bad); err == nil {
		t.Fatal("a holdover limit of 1s was accepted")
	}

	next := cfg
	next.HoldoverLimit = 5 * time.Minute
	next.DriftFile = "/elsewhere/drift"
	next.LeapFile = ""
	next.TemperatureFile = ""
	restart, err := d.Reconfigure(next)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"drift_file", "leap_file", "temperature_file"}; !slices.Equal(restart, want) {
		t.Errorf("restart %q, want %q", restart, want)
	}
	if d.cfg.DriftFile != "" || d.cfg.LeapFile != cfg.LeapFile || d.cfg.TemperatureFile != cfg.TemperatureFile {
		t.Errorf("the files changed: drift %q leap %q", d.cfg.DriftFile, d.cfg.LeapFile)
	}

	// Pulses stop: holdover, unusable after the new limit, not the old 2 h.
	r.run(0, time.Second, 30*time.Second, nil)
	if d.State() != Holdover {
		t.Fatalf("state %v, want HOLDOVER", d.State())
	}
	r.run(0, time.Second, 6*time.Minute, nil)
	if d.State() != Unusable {
		t.Errorf("state %v 6 min into holdover with a 5 min limit, want UNUSABLE", d.State())
	}
}
