package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestGPSDecodeCommand(t *testing.T) {
	file := filepath.Join("..", "..", "gps", "testdata", "gpsd-nmea", "gp-320fw-2019-04-07-coldboot.log")
	for _, tc := range []struct {
		name  string
		args  []string
		first string // time of the first fix
		weeks int    // rollover correction of the 1999 epochs
	}{
		{"header date", []string{"gps", "decode", file}, "2019-04-07T00:03:45.030Z", 1024},
		{"ref-date after file", []string{"gps", "decode", file, "--ref-date", "2019-04-07"}, "2019-04-07T00:03:45.030Z", 1024},
		{"ref-date before file", []string{"gps", "decode", "--ref-date", "1999-01-01", file}, "2019-04-07T00:03:45.030Z", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runMain(context.Background(), tc.args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			timeRe := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
			sc := bufio.NewScanner(&out)
			n, firstFix, weeks := 0, "", -1
			for sc.Scan() {
				var e struct {
					Time  string `json:"time"`
					Mode  *int   `json:"mode"`
					Sats  *int   `json:"sats"`
					Weeks int    `json:"rollover_weeks"`
				}
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				if !timeRe.MatchString(e.Time) || e.Mode == nil || e.Sats == nil {
					t.Fatalf("line %q lacks the contract's fields", sc.Text())
				}
				if *e.Mode >= 2 && firstFix == "" {
					firstFix = e.Time
				}
				if strings.HasPrefix(e.Time, "2019-04-07T00:04:3") || strings.HasPrefix(e.Time, "1999-08-22T00:04:3") {
					weeks = e.Weeks
				}
				n++
			}
			if n == 0 || firstFix != tc.first || weeks != tc.weeks {
				t.Errorf("%d epochs, first fix %s (want %s), rollover %d weeks (want %d)", n, firstFix, tc.first, weeks, tc.weeks)
			}
		})
	}
}

func TestGPSDecodeBadArgs(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"gps", "decode", "/nonexistent/capture.log"}, &out, &errb); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
	if code := runMain(context.Background(), []string{"gps", "decode", "x", "--ref-date", "yesterday"}, &out, &errb); code == 0 {
		t.Error("bad --ref-date accepted")
	}
	if code := runMain(context.Background(), []string{"gps", "frobnicate"}, &out, &errb); code == 0 {
		t.Error("unknown subcommand accepted")
	}
}

func TestGPSWatchExitsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	dev := filepath.Join(t.TempDir(), "ttyGPS")
	start := time.Now()
	if code := runMain(ctx, []string{"gps", "watch", "--device", dev, "--baud", "auto", "--interval", "100ms"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("watch took %v to stop", time.Since(start))
	}
	if !strings.Contains(out.String(), "state no device") || !strings.Contains(out.String(), dev) {
		t.Errorf("output:\n%s", out.String())
	}
}
