package appliance_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"stratum1/appliance"
	"stratum1/sim"
)

// Temperature readings are recorded and replayed like the other inputs:
// the replay learns the same curve and feeds it forward to the same
// frequencies, through a holdover.
func TestReplayTemperature(t *testing.T) {
	rec, sum := record(t, func(s *sim.Settings) {
		s.Peers = 0
		s.Duration = 90 * time.Minute
		for i, share := range []float64{1, 0, 0.5, 1, 0} {
			s.CPULoad = append(s.CPULoad, sim.Load{Share: share, At: time.Duration(i+1) * 10 * time.Minute})
		}
		s.CPULoad = append(s.CPULoad, sim.Load{Share: 1, At: 65 * time.Minute})
		s.Outages = []sim.Window{{At: time.Hour, Length: 15 * time.Minute}}
	})
	if n := strings.Count(string(rec), `"k":"temperature"`); n < 5000 {
		t.Fatalf("%d temperature readings recorded in 90 min", n)
	}
	var out bytes.Buffer
	res, err := appliance.Replay(bytes.NewReader(rec), &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatched != 0 || res.Actions != res.Recorded {
		t.Errorf("%d inputs replayed to other decisions (%d actions, %d recorded); first: %s", res.Mismatched, res.Actions, res.Recorded, res.FirstMismatch)
	}
	if got := res.Final.Temp; got.Samples != sum.TempSamples || !got.Ready || got.AppliedPPM == 0 {
		t.Errorf("replay learnt %d observations (ready %v, applied %v ppm), the run %d", got.Samples, got.Ready, got.AppliedPPM, sum.TempSamples)
	}
}
