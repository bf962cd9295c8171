package status_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"stratum1/status"
	"stratum1/status/statustest"
)

// TestDashboardInChromium renders the page in headless Chromium from a
// server fed by a realistic provider and a full day of history, and checks
// what the page's script drew. The screenshot is kept under
// $STRATUM1_ARTIFACTS when set.
func TestDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	now := time.Now()
	snap := statustest.Snapshot(now)
	snap.Server.NTS = map[string]uint64{"ke_sessions": 42, "cookies_issued": 2_310, "requests": 1_974, "naks": 3}
	h := status.NewHandler(statustest.NewProvider(snap), statustest.History(now, 24*time.Hour, 10*time.Second))
	srv := httptest.NewServer(h)
	defer srv.Close()

	shot := statustest.ArtifactPath(t, "dashboard.png")
	d := statustest.LoadDashboard(t, srv.URL, shot)
	t.Logf("dashboard screenshot: %s", d.Screenshot)

	for _, p := range d.Problems(1000) {
		t.Error(p)
	}
	if d.State != "LOCKED" || d.StateText != "LOCKED" {
		t.Errorf("state %q, text %q; want LOCKED", d.State, d.StateText)
	}
	// A day of 10 s samples is 8640; the first rate is unknown.
	for _, c := range []string{"chart-offset", "chart-jitter", "chart-freq"} {
		if d.ChartPoints[c] != 8640 {
			t.Errorf("%s plots %d samples, want 8640", c, d.ChartPoints[c])
		}
	}
	if d.ChartPoints["chart-rps"] != 8639 {
		t.Errorf("chart-rps plots %d samples, want 8639", d.ChartPoints["chart-rps"])
	}
	if d.Sats != len(snap.GPS.Satellites) || d.SatsUsed != snap.GPS.SatsUsed {
		t.Errorf("sky plot: %d satellites, %d used; want %d, %d", d.Sats, d.SatsUsed, len(snap.GPS.Satellites), snap.GPS.SatsUsed)
	}
	if d.PeerRows != len(snap.Peers) {
		t.Errorf("sources table has %d rows, want %d", d.PeerRows, len(snap.Peers))
	}
	for id, want := range map[string]string{
		"f-source":  "PPS",
		"f-stratum": "1",
		"f-offset":  "-143 ns",
		"f-freq":    "-12.482 ppm",
		"f-gps":     "3D, 8/12 sats",
		"f-nts":     "42 KE sessions, 2310 cookies, 1974 requests, 3 NAKs",
	} {
		if got := d.Facts[id]; got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if !strings.Contains(d.DOM, "<path class=\"series\"") {
		t.Error("no chart line in the DOM")
	}
}

// With the daemon gone the page says so instead of showing stale numbers
// as if they were current.
func TestDashboardDaemonDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	srv := httptest.NewServer(status.NewHandler(nil, nil)) // /api/status answers 503
	defer srv.Close()
	d := statustest.LoadDashboard(t, srv.URL, "")
	if d.State != "DOWN" || !strings.Contains(d.DOM, "not answering") {
		t.Errorf("state %q; want DOWN and an error banner", d.State)
	}
	for _, c := range statustest.Charts {
		if d.ChartPoints[c] != 0 {
			t.Errorf("%s plots %d samples of no history", c, d.ChartPoints[c])
		}
	}
}
