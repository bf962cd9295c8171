package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"stratum1/internal/proctest"
	"stratum1/status/statustest"
)

// historyCounts returns how many known values each column of the daemon's
// /api/history holds.
func historyCounts(baseURL string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/history", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var cols map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&cols); err != nil {
		return nil, err
	}
	n := map[string]int{}
	for k, raw := range cols {
		var vs []*float64
		if json.Unmarshal(raw, &vs) != nil {
			continue
		}
		for _, v := range vs {
			if v != nil {
				n[k]++
			}
		}
	}
	return n, nil
}

// TestE2EDashboard: headless Chromium loads the dashboard of a running
// `stratum1 sim` under NTP load; the state, the facts and every chart (the
// requests per second included, which needs two history samples) render.
func TestE2EDashboard(t *testing.T) {
	t.Parallel()
	d := startSim(t, 4*time.Minute, 0)
	d.waitState(t, 60*time.Second, "LOCKED")

	// NTP load from many loopback addresses while the history fills (one
	// sample every 10 s): two samples of everything while locked.
	stop := make(chan struct{})
	loadDone := make(chan int)
	go func() {
		n := 0
		defer func() { loadDone <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := query(d.ntpAddr); err == nil {
				n++
			}
		}
	}()
	var counts map[string]int
	proctest.Eventually(t, 45*time.Second, time.Second, "two history samples of offset and requests/s", func() bool {
		var err error
		counts, err = historyCounts(d.httpURL)
		return err == nil && counts["offset_ns"] >= 2 && counts["requests_per_s"] >= 2 && counts["pps_jitter_ns"] >= 2
	})
	close(stop)
	t.Logf("%d NTP queries answered; history %v", <-loadDone, counts)

	shot := statustest.ArtifactPath(t, "sim-dashboard.png")
	dash := statustest.LoadDashboard(t, d.httpURL, shot)
	t.Logf("dashboard: state %s (%q), %d updates, charts %v, %d satellites (%d used), %d source rows, facts %v; screenshot %s",
		dash.State, dash.StateText, dash.Updates, dash.ChartPoints, dash.Sats, dash.SatsUsed, dash.PeerRows, dash.Facts, dash.Screenshot)
	for _, p := range dash.Problems(2) {
		t.Error(p)
	}
	if dash.State != "LOCKED" || !strings.Contains(dash.StateText, "LOCKED") {
		t.Errorf("state %q text %q, want LOCKED", dash.State, dash.StateText)
	}
	if dash.Sats == 0 || dash.SatsUsed == 0 {
		t.Errorf("sky plot: %d satellites, %d used; the simulated receiver reports some", dash.Sats, dash.SatsUsed)
	}
	if dash.PeerRows < 2 {
		t.Errorf("sources table has %d rows, want GPS and PPS", dash.PeerRows)
	}
	for id, want := range map[string]string{"f-source": "PPS", "f-stratum": "1", "f-refid": "PPS"} {
		if !strings.Contains(dash.Facts[id], want) {
			t.Errorf("%s shows %q, want %q", id, dash.Facts[id], want)
		}
	}
}
