package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestPPSWatchSimulated(t *testing.T) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cmdPPS(ctx, []string{"watch", "--simulate", "--count", "2"}, &out, &errb); err != nil {
		t.Fatalf("pps watch: %v (stderr %s)", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "watching simulated") {
		t.Fatalf("output:\n%s", out.String())
	}
	for _, l := range lines[1:] {
		for _, want := range []string{" rise seq ", "interval ", "clock-offset ", "jitter ", "simulated", "not used: "} {
			if !strings.Contains(l, want) {
				t.Errorf("line %q lacks %q", l, want)
			}
		}
	}
	if !strings.Contains(lines[2], "interval 1.0") && !strings.Contains(lines[2], "interval 999.99") {
		t.Errorf("second pulse's interval is not about a second: %q", lines[2])
	}
}

func TestPPSWatchStopsOnCancel(t *testing.T) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := cmdPPS(ctx, []string{"watch", "--simulate"}, &out, &errb); err != nil {
		t.Fatalf("pps watch after cancel: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to stop", d)
	}
}

func TestPPSWatchUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"look"}, {"watch", "--device", "/dev/pps0", "--pin", "GPIO18"}, {"watch", "--polarity", "sideways"}} {
		var out, errb bytes.Buffer
		if err := cmdPPS(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("pps %v succeeded", args)
		}
	}
	var out, errb bytes.Buffer
	err := cmdPPS(context.Background(), []string{"watch", "--device", "/dev/pps-missing"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "/dev/pps-missing") {
		t.Errorf("missing device: %v", err)
	}
}
