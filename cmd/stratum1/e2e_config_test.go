package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stratum1/internal/proctest"
)

// TestE2ERunDocumentedEmptyDevices: the settings the annotated example
// documents as "none" start the daemon. [gps] device = "" serves from the
// peers alone (unsynchronised here, with none); empty [pps] fields read the
// receiver's NMEA without a pulse.
func TestE2ERunDocumentedEmptyDevices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		gps    func(ft *fakeTree) string // the [gps] device
		logged string
	}{
		{"no GPS", func(*fakeTree) string { return "" }, "no GPS receiver configured"},
		{"NMEA only", func(ft *fakeTree) string {
			ft.nmeaPTY(nmeaLines)
			return ft.path("dev/serial0")
		}, "no PPS input configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ft := &fakeTree{t: t, root: t.TempDir()}
			device := tt.gps(ft)
			path := filepath.Join(ft.root, "stratum1.toml")
			// No drift file: the test leaves nothing behind on the machine.
			doc := "[gps]\ndevice = \"" + device + "\"\n\n[pps]\ndevice = \"\"\npin = \"\"\n\n[discipline]\ndrift_file = \"\"\n"
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			d := startRun(t, 2*time.Minute, "--no-clock-adjust", "--config", path)
			if !strings.Contains(d.Output(), tt.logged) {
				t.Errorf("the log does not say %q:\n%s", tt.logged, d.Output())
			}
			if r, err := query(d.ntpAddr); err != nil || r.Stratum != 0 || refID(r) != "INIT" {
				t.Fatalf("reply %+v, %v; want an unsynchronised one", r, err)
			}
			s := d.status(t)
			if s.GPS.Device != device || s.PPS.Device != "" {
				t.Fatalf("status: GPS device %q, PPS device %q", s.GPS.Device, s.PPS.Device)
			}
			if device != "" {
				// The receiver is read: sentences arrive without a pulse.
				proctest.Eventually(t, 20*time.Second, 200*time.Millisecond, "NMEA sentences", func() bool {
					s, err := d.tryStatus()
					return err == nil && s.GPS.Sentences > 0
				})
			}
		})
	}
}
