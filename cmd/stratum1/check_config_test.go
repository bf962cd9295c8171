package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `stratum1 check --config FILE` validates the file only: OK and exit 0,
// or the error with its key and line and exit 1.
func TestCheckConfigFileOnly(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../deploy/config/stratum1.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc string
		code      int
		out       string // substring of stdout (exit 0) or stderr
	}{
		{"annotated example", string(example), 0, ": OK"},
		{"no GPS", "[gps]\ndevice = \"\"\n", 0, ": OK"},
		{"NMEA only", "[pps]\ndevice = \"\"\npin = \"\"\n", 0, ": OK"},
		{"bare number", "[gps]\nreconnect_max = 5\n", 1, "line 2, column 1: gps.reconnect_max: 5 is a bare number"},
		{"unclosed table", "[server]\nworkers = 1\n\n\n\n\n[access\ndefault = \"serve\"\n[http]\nlisten = \":8123\"\n", 1, "line 7, column 8:"},
		{"out of range", "[discipline]\n\nholdover_limit = \"100000h\"\n", 1, "line 3, column 1: discipline.holdover_limit: 100000h is outside"},
		{"unknown key", "[access.rate_limit]\nintervall = \"8s\"\n", 1, "line 2, column 1: access.rate_limit.intervall: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".toml")
			if err := os.WriteFile(path, []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb strings.Builder
			code := runMain(context.Background(), []string{"check", "--config", path}, &out, &errb)
			got := out.String()
			if tt.code != 0 {
				got = errb.String()
			}
			if code != tt.code || !strings.Contains(got, tt.out) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out.String(), errb.String(), tt.code, tt.out)
			}
			if tt.code != 0 && !strings.Contains(got, path) {
				t.Errorf("the error %q does not name the file", got)
			}
			// Nothing but the file is looked at: one line, no report.
			if n := strings.Count(out.String()+errb.String(), "\n"); n != 1 {
				t.Errorf("%d lines of output, want 1:\n%s%s", n, out.String(), errb.String())
			}
		})
	}
	var out, errb strings.Builder
	if code := runMain(context.Background(), []string{"check", "--config", filepath.Join(dir, "missing.toml")}, &out, &errb); code != 1 {
		t.Errorf("missing file: exit %d (%s)", code, errb.String())
	}
}

// The whole set-up check, with a file that asks for no GPS or no PPS, says
// so as a warning instead of failing on the devices.
func TestCheckWithoutGPSOrPPS(t *testing.T) {
	tests := []struct {
		name, section string
		gpsLine, gps  string // the GPS line's name and expected prefix
		pps           string // expected prefix of the pps line; "" for no line
	}{
		{"no GPS", "[gps]\ndevice = \"\"\n", "serial", "WARN  serial           no GPS receiver configured", ""},
		{"NMEA only", "[gps]\ndevice = \"/dev/serial0\"\n[pps]\ndevice = \"\"\npin = \"\"\n", "nmea", "PASS  nmea", "WARN  pps              no PPS input configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := newFakeTree(t)
			ft.nmeaPTY(nmeaLines)
			ft.write("etc/s.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n"+tt.section)
			report, _ := runCheck(t, ft.checker(ft.path("etc/s.toml"), 2))
			if l := line(report, tt.gpsLine); !strings.HasPrefix(l, tt.gps) {
				t.Errorf("%s: %q, want %q", tt.gpsLine, l, tt.gps)
			}
			if l := line(report, "pps"); (tt.pps == "" && l != "") || !strings.HasPrefix(l, tt.pps) {
				t.Errorf("pps: %q, want %q", l, tt.pps)
			}
			if l := line(report, "config"); !strings.HasPrefix(l, "PASS") {
				t.Errorf("config: %q", l)
			}
		})
	}
}
