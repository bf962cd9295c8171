package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real-time sim run with faults (the receiver unplugged, the pulses gone,
// a wrong second) is recorded; its replay takes the decisions the live
// core took and publishes the states it published, and two replays print
// the same bytes.
func TestRecordRealtimeReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30 s real-time run")
	}
	path := filepath.Join(t.TempDir(), "run.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	err := cmdSim(ctx, []string{"--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--record", path, "--seed", "3",
		"--unplug", "4s@10s", "--outage", "4s@16s", "--wrong-second", "4s@22s"}, &out, &errs)
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, errs.String())
	}
	rec, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{`{"k":"header"`, `{"k":"tick"`, `{"k":"edge"`, `{"k":"epoch"`, `{"k":"pps_source"`, `"action":"step"`, `"action":"publish"`} {
		if !bytes.Contains(rec, []byte(kind)) {
			t.Errorf("the recording holds no %s", kind)
		}
	}
	var replays [2]bytes.Buffer
	for i := range replays {
		var stderr bytes.Buffer
		if err := cmdReplay(context.Background(), []string{path}, &replays[i], &stderr); err != nil {
			t.Fatalf("replay: %v\n%s", err, stderr.String())
		}
		t.Log(strings.TrimSpace(stderr.String()))
	}
	if !bytes.Equal(replays[0].Bytes(), replays[1].Bytes()) {
		t.Error("two replays of one recording differ")
	}
	if !strings.Contains(replays[0].String(), `"stratum":1,`) {
		t.Errorf("the replay never published stratum 1:\n%s", replays[0].String())
	}
	// The replay's published states are the live run's, in order.
	var live []string
	for _, l := range strings.Split(string(rec), "\n") {
		if strings.Contains(l, `"action":"publish"`) {
			live = append(live, l)
		}
	}
	var replayed []string
	for _, l := range strings.Split(replays[0].String(), "\n") {
		if strings.Contains(l, `"action":"publish"`) {
			replayed = append(replayed, l)
		}
	}
	if len(live) == 0 || strings.Join(live, "\n") != strings.Join(replayed, "\n") {
		t.Errorf("published %d states live, %d in the replay", len(live), len(replayed))
	}
}

func TestReplayUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if err := cmdReplay(context.Background(), nil, &out, &errs); err != errUsage {
		t.Errorf("no file: %v", err)
	}
	if err := cmdReplay(context.Background(), []string{filepath.Join(t.TempDir(), "missing")}, &out, &errs); err == nil {
		t.Error("a missing file replayed")
	}
}

// sim --virtual --record writes what replay reads back to the same
// decisions.
func TestRecordVirtualReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "virtual.jsonl")
	var out, errs bytes.Buffer
	if err := cmdSim(context.Background(), []string{"--virtual", "--duration", "10m", "--sim-peers", "3", "--wrong-second", "2m@0s", "--record", path}, &out, &errs); err != nil {
		t.Fatalf("sim: %v\n%s", err, errs.String())
	}
	var replay, stderr bytes.Buffer
	if err := cmdReplay(context.Background(), []string{"-q", path}, &replay, &stderr); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	if replay.Len() != 0 || !strings.Contains(stderr.String(), "final state LOCKED") {
		t.Errorf("replay -q printed %d bytes of decisions; summary %q", replay.Len(), stderr.String())
	}
}
