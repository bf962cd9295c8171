package status_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"stratum1/discipline"
	"stratum1/status"
	"stratum1/status/statustest"
)

// The temperature compensation's state reaches the API, the metrics and
// `stratum1 status`; a daemon that reads no temperature shows none.
func TestTemperatureViews(t *testing.T) {
	if v := status.TemperatureView(discipline.TempStats{TemperatureC: math.NaN()}, 0); v != nil {
		t.Errorf("no readings: view %+v, want none", v)
	}
	if v := status.TemperatureView(discipline.TempStats{TemperatureC: math.NaN()}, 3); v == nil || v.Celsius != nil || v.ReadErrors != 3 {
		t.Errorf("only failed readings: view %+v, want 3 errors and no temperature", v)
	}
	st := discipline.TempStats{Readings: 7200, TemperatureC: 52.5, SmoothedC: 51.75, Samples: 127, Ready: true, RefC: 45,
		Coef: [3]float64{-28, 0.9, 0.16}, SigmaPPM: 0.012, SlopePPMPerC: 0.14, MinC: 45, MaxC: 64.9, AppliedPPM: 1.25}
	s := statustest.Snapshot(testNow)
	s.Temperature = status.TemperatureView(st, 2)
	if c := s.Temperature.Celsius; c == nil || *c != 52.5 || s.Temperature.ReadErrors != 2 || !s.Temperature.Active {
		t.Fatalf("view %+v", s.Temperature)
	}

	var b bytes.Buffer
	status.WriteTracking(&b, s)
	for _, want := range []string{
		"Temperature     : 52.5 °C (crystal 51.8 °C), 2 failed readings",
		"Temp. model     : 0.140 ppm/°C here, ±0.012 ppm over 45.0..64.9 °C, 127 samples",
		"Temp. curve     : -28.000 +0.9000·x +0.1600·x² ppm, x = (T - 45.0 °C)/10",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}

	h := status.NewHandler(statustest.NewProvider(s), nil)
	body := get(t, h, "GET", "/metrics", "127.0.0.1:9").Body.String()
	for _, line := range []string{
		`stratum1_temperature_celsius 52.5`,
		`stratum1_temperature_read_errors_total 2`,
		`stratum1_tempcomp_samples 127`,
		`stratum1_tempcomp_sigma_ppm 0.012`,
		`stratum1_tempcomp_slope_ppm_per_celsius 0.14`,
		`stratum1_tempcomp_coefficient_ppm{term="c"} 0.16`,
		`stratum1_tempcomp_reference_celsius 45`,
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
	api := get(t, h, "GET", "/api/status", "127.0.0.1:9").Body.String()
	if !strings.Contains(api, `"temperature":{"celsius":52.5,"crystal_celsius":51.75`) {
		t.Errorf("API lacks the temperature: %s", api)
	}
}
