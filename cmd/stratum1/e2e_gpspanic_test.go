//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"stratum1/internal/proctest"
	"stratum1/status"
)

// Start-up lines of an ST Teseo receiver that go-nmea v1.10.0 panics on
// (issue 21): a TXT with fewer than four fields.
var teseoTXT = []string{"$GPTXT,DEFAULT PVT CONFIGURATION*2A", "$GPTXT,3,x*04"}

// nmeaSentence frames an NMEA body with its checksum.
func nmeaSentence(body string) string {
	var sum byte
	for i := 0; i < len(body); i++ {
		sum ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X", body, sum)
}

// fixCycle is one second of NMEA with a 3D fix at t.
func fixCycle(t time.Time) []string {
	hms := t.UTC().Format("150405.00")
	dmy := t.UTC().Format("020106")
	return []string{
		nmeaSentence("GPRMC," + hms + ",A,5213.1439,N,02100.6511,E,0.01,," + dmy + ",,,A"),
		nmeaSentence("GPGGA," + hms + ",5213.1439,N,02100.6511,E,1,08,0.9,112.4,M,34.1,M,,"),
		nmeaSentence("GPGSA,A,3,02,05,12,15,18,24,25,29,,,,,1.6,0.9,1.3"),
	}
}

// TestE2ERunSurvivesTeseoTXT: `stratum1 run` reads a receiver on a
// pseudo-terminal that prints the crashing TXT lines at start-up and again
// every few seconds (as at each power-up); the daemon keeps reading the
// fixes around them, counts the lines, and keeps serving NTP.
func TestE2ERunSurvivesTeseoTXT(t *testing.T) {
	t.Parallel()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	rawTTY(t, slave)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "stratum1.toml")
	// No drift file, and a PPS device that does not exist: NMEA alone.
	toml := fmt.Sprintf("[discipline]\ndrift_file = \"\"\n\n[gps]\ndevice = %q\nbaud = \"9600\"\n\n[pps]\ndevice = %q\npin = \"\"\nbackend = \"pps-api\"\n",
		slave.Name(), filepath.Join(dir, "pps-absent"))
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	written := make(chan int, 1)
	go func() { written <- writeReceiver(ctx, master) }()

	d := startRun(t, 2*time.Minute, "--config", cfg, "--no-clock-adjust")
	var s status.Snapshot
	proctest.Eventually(t, 40*time.Second, 500*time.Millisecond, "a 3D fix and 12 TXT lines read", func() bool {
		if exited, err := d.Exited(); exited {
			t.Fatalf("stratum1 run exited: %v", err)
		}
		var err error
		s, err = d.tryStatus()
		// Each cycle is 3 sentences, plus 2 TXT at start and every 3 s.
		return err == nil && s.GPS.State == "3D" && s.GPS.Sentences >= 30
	})
	if s.GPS.BadChecksum != 0 || s.GPS.Dropped != 0 || len(s.GPS.ParserPanics) != 0 {
		t.Errorf("the TXT lines were not read as sentences: %+v", s.GPS)
	}
	if s.GPS.Epochs == 0 || s.GPS.SatsUsed != 8 {
		t.Errorf("fixes around the TXT lines lost: %+v", s.GPS)
	}
	r, err := query(d.ntpAddr)
	if err != nil {
		t.Fatalf("no NTP answer after the TXT lines: %v", err)
	}
	t.Logf("served stratum %d refid %q", r.Stratum, refID(r))
	if exited, err := d.Exited(); exited {
		t.Fatalf("stratum1 run exited: %v", err)
	}
	cancel()
	if n := <-written; n < 2*len(teseoTXT) {
		t.Errorf("the receiver wrote only %d TXT lines", n)
	}
}

// writeReceiver writes a fix every second, and the TXT lines first and
// every third second, until ctx ends; it returns the TXT lines written.
func writeReceiver(ctx context.Context, w *os.File) int {
	txt := 0
	for i := 0; ctx.Err() == nil; i++ {
		now := time.Now()
		sec := now.Truncate(time.Second)
		var lines []string
		if i%3 == 0 {
			lines = append(lines, teseoTXT...)
			txt += len(teseoTXT)
		}
		lines = append(lines, fixCycle(sec)...)
		if _, err := w.WriteString(strings.Join(lines, "\r\n") + "\r\n"); err != nil {
			return txt
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(sec.Add(time.Second + 50*time.Millisecond))):
		}
	}
	return txt
}

// rawTTY stops the line discipline from echoing or editing, as a serial
// line would not.
func rawTTY(t *testing.T, f *os.File) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Iflag &^= unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
}

// TestE2EGPSDecodeTeseoTXT: `stratum1 gps decode` on a capture with the
// crashing TXT lines exits 0, counts them as sentences and decodes the
// fixes after them.
func TestE2EGPSDecodeTeseoTXT(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(strings.Join(teseoTXT, "\r\n") + "\r\n")
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		b.WriteString(strings.Join(fixCycle(start.Add(time.Duration(i)*time.Second)), "\r\n") + "\r\n")
	}
	b.WriteString(teseoTXT[1] + "\r\n")
	file := filepath.Join(t.TempDir(), "teseo.nmea")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, stratum1Binary(t), "gps", "decode", file)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gps decode: %v\n%s", err, stderr.String())
	}
	want := regexp.MustCompile(`gps decode: 12 lines, 12 sentences, 0 bad checksums, 0 malformed, 0 parser panics, 0 garbage, .* 3 epochs`)
	if !want.MatchString(stderr.String()) {
		t.Errorf("summary %q, want it to match %v", stderr.String(), want)
	}
	if n := strings.Count(stdout.String(), `"valid":true`); n != 3 {
		t.Errorf("%d valid epochs, want 3:\n%s", n, stdout.String())
	}
}
