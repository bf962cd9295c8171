package status_test

import (
	"bytes"
	"strings"
	"testing"

	"stratum1/status"
	"stratum1/status/statustest"
)

// Sentences the NMEA library panicked on show in `stratum1 status` and in
// the metrics, by sentence type.
func TestGPSParserPanicsShown(t *testing.T) {
	s := statustest.Snapshot(testNow)
	var b bytes.Buffer
	status.WriteTracking(&b, s)
	if strings.Contains(b.String(), "panics") {
		t.Errorf("a panic line without panics:\n%s", b.String())
	}

	s.GPS.ParserPanics = map[string]uint64{"TXT": 3, "GSV": 1}
	b.Reset()
	status.WriteTracking(&b, s)
	if !strings.Contains(b.String(), "GPS panics      : 4 sentences crashed the NMEA parser and were dropped map[GSV:1 TXT:3]\n") {
		t.Errorf("tracking lacks the panics:\n%s", b.String())
	}
	rec := get(t, status.NewHandler(statustest.NewProvider(s), nil), "GET", "/metrics", "127.0.0.1:9")
	for _, line := range []string{
		`stratum1_gps_parser_panics_total{type="TXT"} 3`,
		`stratum1_gps_parser_panics_total{type="GSV"} 1`,
		`# TYPE stratum1_gps_parser_panics_total counter`,
	} {
		if !strings.Contains(rec.Body.String(), line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}
