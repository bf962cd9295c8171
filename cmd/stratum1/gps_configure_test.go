package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ubxDecoder runs gpsd's UBX decoder (the gps.ubx module that its ubxtool
// is built on, Debian package python3-gps) over a file of UBX frames.
const ubxDecoder = `import sys, gps, gps.ubx
u = gps.ubx.ubx()
u.verbosity = gps.VERB_DECODE
u.timestamp = 0
data = open(sys.argv[1], 'rb').read()
while data:
    n = u.decode_msg(data)
    if n <= 0:
        break
    data = data[n:]
`

// gpsdPython is a python3 that has gpsd's module: Debian's, not a
// virtualenv's or pyenv's that may come first on the PATH.
func gpsdPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import gps.ubx").Run() == nil {
			return p
		}
	}
	t.Fatal("no python3 with gpsd's gps.ubx module: run scripts/test.sh, which installs python3-gps")
	return ""
}

// TestGPSConfigureOutDecodedByGpsd: every UBX message `gps configure
// --out` writes is decoded by gpsd's decoder, with the fields as meant.
func TestGPSConfigureOutDecodedByGpsd(t *testing.T) {
	py := gpsdPython(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ublox.ubx")
	var stdout, stderr bytes.Buffer
	args := []string{"gps", "configure", "--receiver", "ublox", "--save", "--set-baud", "115200", "--pulse-width", "100ms", "--out", file}
	if code := runMain(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	script := filepath.Join(dir, "decode.py")
	if err := os.WriteFile(script, []byte(ubxDecoder), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, file).CombinedOutput()
	if err != nil {
		t.Fatalf("gpsd's decoder: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "ERROR") || strings.Contains(text, "Bad Length") {
		t.Fatalf("gpsd's decoder complains:\n%s", text)
	}
	msgs := strings.Split(strings.TrimSpace(text), "\n\n")
	if len(msgs) != 17 {
		t.Errorf("gpsd decoded %d messages, want 17:\n%s", len(msgs), text)
	}
	for _, want := range []string{
		"UBX-CFG-NAV5:\n mask 0x1 dynModel 2 ",
		"dynModel (Stationary)",
		"freqPeriod 1000000 freqPeriodLock 1000000",
		"pulseLenRatio 0 pulseLenRatioLock 100000",
		"flags (Active lockGnssFreq lockedOtherSet isLength alignToTow RisingEdge)",
		"gridToGps (UTC)",
		"Rate set Class x0d (TIM) ID x01 (TP) Rate 1",
		"ID x04 (RMC) Rate 1", "ID x00 (GGA) Rate 1", "ID x02 (GSA) Rate 1", "ID x03 (GSV) Rate 1", "ID x08 (ZDA) Rate 1",
		"ID x01 (GLL) Rate 0", "ID x05 (VTG) Rate 0", "ID x0d (GNS) Rate 0",
		"PortID 1 (UART1)", "mode 0x8d0 baudRate 115200", "inProtoMask (UBX NMEA)", "outProtoMask (UBX NMEA)",
		"UBX-CFG-CFG:", "saveMask: 0xf1f", "deviceMask: 0x17",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("gpsd's decoding lacks %q:\n%s", want, text)
		}
	}

	// Without --save nothing is written to non-volatile memory.
	if code := runMain(context.Background(), []string{"gps", "configure", "--receiver", "ublox", "--out", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out, err = exec.Command(py, script, file).CombinedOutput()
	if err != nil || strings.Contains(string(out), "CFG-CFG") || !strings.Contains(string(out), "CFG-TP5") {
		t.Errorf("without --save (err %v):\n%s", err, out)
	}
}

func TestGPSConfigureDryRunAndBadArgs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"gps", "configure", "--receiver", "mediatek", "--dry-run"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"PMTK314", "PMTK220,1000", "PMTK255,1", "PMTK285,4,100", "PMTK251"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("dry run lacks %s:\n%s", want, stdout.String())
		}
	}
	for _, args := range [][]string{
		{"gps", "configure", "--dry-run"},                                                                  // nothing to ask
		{"gps", "configure", "--receiver", "sirf", "--dry-run"},                                            // unknown kind
		{"gps", "configure", "--receiver", "mediatek", "--save", "--out", filepath.Join(t.TempDir(), "x")}, // no save on MediaTek
		{"gps", "configure", "--receiver", "ublox", "--pulse-width", "2s", "--dry-run"},
		{"gps", "configure", "--device", filepath.Join(t.TempDir(), "absent")},
	} {
		stderr.Reset()
		if code := runMain(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
