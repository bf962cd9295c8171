package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"stratum1/status"
	"stratum1/status/statustest"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func get(t *testing.T, h http.Handler, method, target, remote string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	req.Host = "localhost:8123"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAllowedClient(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"10.0.0.7", true},
		{"172.16.4.4", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"192.168.1.20", true},
		{"169.254.10.10", true},
		{"fe80::1%eth0", true},
		{"fd12:3456::1", true},
		{"fc00::1", true},
		{"::ffff:192.168.1.2", true},
		{"::ffff:8.8.8.8", false},
		{"8.8.8.8", false},
		{"100.64.0.1", false}, // carrier-grade NAT is shared with strangers
		{"2001:db8::1", false},
		{"2a00:1450::1", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
	}
	for _, tt := range tests {
		if got := status.AllowedClient(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("AllowedClient(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestHandlerAccess(t *testing.T) {
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), nil)
	tests := []struct {
		method, remote string
		want           int
	}{
		{"GET", "127.0.0.1:40000", 200},
		{"HEAD", "127.0.0.1:40000", 200},
		{"GET", "192.168.1.5:40000", 200},
		{"GET", "[fe80::2%wlan0]:40000", 200},
		{"GET", "[fd00::5]:40000", 200},
		{"GET", "[::ffff:10.1.1.1]:40000", 200},
		{"GET", "203.0.113.5:40000", 403},
		{"GET", "[2001:db8::5]:40000", 403},
		{"GET", "garbage", 403},
		{"POST", "127.0.0.1:40000", 405},
		{"PUT", "10.0.0.1:40000", 405},
		{"DELETE", "10.0.0.1:40000", 405},
		{"POST", "203.0.113.5:40000", 403}, // strangers learn nothing, not even the methods
	}
	for _, path := range []string{"/", "/api/status", "/api/history", "/metrics"} {
		for _, tt := range tests {
			rec := get(t, h, tt.method, path, tt.remote)
			if rec.Code != tt.want {
				t.Errorf("%s %s from %s: status %d, want %d", tt.method, path, tt.remote, rec.Code, tt.want)
			}
			if tt.want == 403 && strings.Contains(rec.Body.String(), "LOCKED") {
				t.Errorf("%s %s from %s: forbidden response leaks state", tt.method, path, tt.remote)
			}
			if tt.want == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: Allow = %q", tt.method, path, rec.Header().Get("Allow"))
			}
		}
	}
}

func TestAPIStatus(t *testing.T) {
	want := statustest.Snapshot(testNow)
	p := statustest.NewProvider(want)
	h := status.NewHandler(nil, nil)

	if rec := get(t, h, "GET", "/api/status", "127.0.0.1:1"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("no provider: status %d, want 503", rec.Code)
	}
	h.SetProvider(p)
	rec := get(t, h, "GET", "/api/status", "127.0.0.1:1")
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got status.Snapshot
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// The position is served rounded to 0.01 degree by default.
	want.GPS.Latitude, want.GPS.Longitude = 52.21, 0.12
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	for _, key := range []string{`"state":"LOCKED"`, `"offset_ns":-143`, `"frequency_ppm":-12.482`, `"el":71`} {
		if !bytes.Contains(rec.Body.Bytes(), []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}

	// A swapped provider is seen by the API and by the metrics.
	s2 := want
	s2.State = "HOLDOVER"
	h.SetProvider(statustest.NewProvider(s2))
	if rec := get(t, h, "GET", "/api/status", "127.0.0.1:1"); !strings.Contains(rec.Body.String(), `"state":"HOLDOVER"`) {
		t.Errorf("after SetProvider: %s", rec.Body)
	}
	if rec := get(t, h, "GET", "/metrics", "127.0.0.1:1"); !strings.Contains(rec.Body.String(), `stratum1_state{state="HOLDOVER"} 1`) {
		t.Errorf("metrics after SetProvider lack HOLDOVER")
	}
}

func TestMetrics(t *testing.T) {
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), nil)
	rec := get(t, h, "GET", "/metrics", "[::1]:9")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, line := range []string{
		`stratum1_clock_offset_seconds -1.43e-07`,
		`stratum1_clock_frequency_ppm -12.482`,
		`stratum1_clock_residual_seconds 4.12e-07`,
		`stratum1_clock_missed_pulses_total 7`,
		`stratum1_clock_holdover_entries_total 2`,
		`stratum1_clock_rejected_samples_total 3`,
		`stratum1_stratum 1`,
		`stratum1_leap_indicator 0`,
		`stratum1_state{state="LOCKED"} 1`,
		`stratum1_state{state="HOLDOVER"} 0`,
		`stratum1_state_duration_seconds 7380`,
		`stratum1_root_dispersion_seconds 1.2e-05`,
		`stratum1_gps_satellites_used 8`,
		`stratum1_gps_satellites_in_view 12`,
		`stratum1_gps_fix_mode 3`,
		`stratum1_gps_satellite_snr_dbhz{prn="2",system="GP",used="true"} 44`,
		`stratum1_pps_pulses_total 19015`,
		`stratum1_pps_jitter_seconds 3.8e-07`,
		`stratum1_pps_rejected_total{reason="outlier"} 4`,
		`stratum1_ntp_requests_total 1.204311e+06`,
		`stratum1_ntp_replies_total 1.201977e+06`,
		`stratum1_ntp_kod_total{code="RATE"} 1890`,
		`stratum1_ntp_dropped_total{reason="rate limit"} 410`,
		`stratum1_peer_selected{peer="PPS"} 1`,
		`stratum1_peer_selected{peer="192.0.2.10"} 0`,
		`stratum1_peer_offset_seconds{peer="192.0.2.10"} 8.7e-05`,
		`stratum1_info{version="v1.0.0-test"} 1`,
		`# TYPE stratum1_ntp_requests_total counter`,
		`# TYPE stratum1_clock_offset_seconds gauge`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// A receiver listing a satellite twice must not make the whole scrape fail.
func TestMetricsDuplicateSatellite(t *testing.T) {
	s := statustest.Snapshot(testNow)
	s.GPS.Satellites = append(s.GPS.Satellites, s.GPS.Satellites[0])
	s.Peers = append(s.Peers, s.Peers[0])
	h := status.NewHandler(statustest.NewProvider(s), nil)
	rec := get(t, h, "GET", "/metrics", "127.0.0.1:9")
	if rec.Code != 200 || strings.Count(rec.Body.String(), `stratum1_gps_satellite_elevation_degrees{prn="2",system="GP"}`) != 1 {
		t.Errorf("status %d, body:\n%s", rec.Code, rec.Body)
	}
}

func TestDashboardAssets(t *testing.T) {
	h := status.NewHandler(nil, nil)
	rec := get(t, h, "GET", "/", "127.0.0.1:9")
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	for _, ref := range []string{"app.js", "style.css"} {
		if !strings.Contains(page, ref) {
			t.Errorf("index.html does not load %s", ref)
		}
		if rec := get(t, h, "GET", "/"+ref, "127.0.0.1:9"); rec.Code != 200 || rec.Body.Len() == 0 {
			t.Errorf("/%s: %d", ref, rec.Code)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("the page loads something from the internet")
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestServe(t *testing.T) {
	ln, err := status.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), nil)
	done := make(chan error, 1)
	go func() { done <- status.Serve(ctx, ln, h) }()
	url := status.URL(ln.Addr())
	resp, err := http.Get(url + "api/status")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("LOCKED")) {
		t.Errorf("GET %sapi/status: %d %s", url, resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		listen string
		ok     bool
	}{
		{"", true},
		{":8123", true},
		{"127.0.0.1:8123", true},
		{"[::1]:8123", true},
		{"localhost:8123", true},
		{"0.0.0.0:0", true},
		{"8123", false},
		{":99999", false},
		{":http", false},
		{"example.com:8123", false},
	} {
		c := status.DefaultHTTPConfig()
		c.Listen = tt.listen
		err := c.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.listen, err, tt.ok)
		}
	}
	if err := status.DefaultHTTPConfig().Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}
