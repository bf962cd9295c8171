package sim

import (
	"math"
	"testing"
	"time"
)

// learnProfile is a CPU-load profile that moves the SoC between idle and
// full load over the first 4 h, as a box's jobs come and go.
func learnProfile() []Load {
	var ls []Load
	for i, share := range []float64{0.5, 0, 1, 0.25, 0.75, 0, 0.5, 0} {
		ls = append(ls, Load{Share: share, At: time.Duration(i+1) * 30 * time.Minute})
	}
	return ls
}

// holdoverSettings: the profile, then the pulses lost for an hour at 5 h,
// during which the load rises by half (10 °C).
func holdoverSettings(seed int64, comp bool) Settings {
	s := DefaultSettings()
	s.Seed = seed
	s.Duration = 6*time.Hour + 10*time.Minute
	s.CPULoad = append(learnProfile(), Load{Share: 0.5, At: 5*time.Hour + 5*time.Minute})
	s.Outages = []Window{{At: 5 * time.Hour, Length: time.Hour}}
	s.NoTempComp = !comp
	return s
}

func TestTempCompHoldoverScratch(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		with := run(t, holdoverSettings(seed, true))
		without := run(t, holdoverSettings(seed, false))
		t.Logf("seed %d: holdover max %.0f ns with, %.0f without (%.2fx); rms %.0f / %.0f", seed, with.HoldoverMaxNs, without.HoldoverMaxNs,
			with.HoldoverMaxNs/without.HoldoverMaxNs, with.RMSNs, without.RMSNs)
	}
	_ = math.Abs
}
