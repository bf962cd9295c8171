package appliance_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"stratum1/appliance"
	"stratum1/sim"
)

// record runs the core in virtual time with faults and simulated peers and
// returns the recording.
func record(t *testing.T, set func(*sim.Settings)) ([]byte, sim.Summary) {
	t.Helper()
	s := sim.DefaultSettings()
	s.Seed, s.Peers = 5, 3
	set(&s)
	var rec bytes.Buffer
	sum, _, err := sim.RunVirtualTo(context.Background(), s, slog.New(slog.DiscardHandler), &rec)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Bytes(), sum
}

func faults(s *sim.Settings) {
	s.Duration = 3 * time.Hour
	s.WrongSecond = []sim.Window{{At: 0, Length: 10 * time.Minute}, {At: 40 * time.Minute, Length: 5 * time.Minute}}
	s.Outages = []sim.Window{{At: time.Hour, Length: 20 * time.Minute}}
	s.Unplugged = []sim.Window{{At: 70 * time.Minute, Length: 5 * time.Minute}, {At: 2 * time.Hour, Length: 10 * time.Minute}}
	s.PeersDown = []sim.Window{{At: 150 * time.Minute, Length: 10 * time.Minute}}
}

// A replay takes the recorded decisions, and two replays print the same
// bytes.
func TestReplayReproducesRecording(t *testing.T) {
	rec, sum := record(t, faults)
	var out1, out2 bytes.Buffer
	res1, err := appliance.Replay(bytes.NewReader(rec), &out1, nil)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := appliance.Replay(bytes.NewReader(rec), &out2, nil)
	if res2.Inputs != res1.Inputs || res2.Actions != res1.Actions || res2.Mismatched != res1.Mismatched {
		t.Errorf("two replays: %+v and %+v", res1, res2)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res1.Mismatched != 0 {
		t.Errorf("%d inputs replayed to other decisions; first: %s", res1.Mismatched, res1.FirstMismatch)
	}
	if res1.Recorded != res1.Actions || res1.Actions == 0 || res1.Inputs < 3*3600*3 {
		t.Errorf("recorded %d actions, replayed %d from %d inputs", res1.Recorded, res1.Actions, res1.Inputs)
	}
	if !bytes.Equal(out1.Bytes(), out2.Bytes()) {
		t.Error("two replays of one recording differ")
	}
	if string(res1.Final.State) != sum.BoxState || res1.Final.Discipline.Steps != sum.Steps {
		t.Errorf("replay ends %s after %d steps, the run %s after %d", res1.Final.State, res1.Final.Discipline.Steps, sum.BoxState, sum.Steps)
	}
	// Every recorded action is printed, in order.
	var recorded []string
	for _, l := range strings.Split(string(rec), "\n") {
		if strings.HasPrefix(l, `{"k":"out"`) {
			recorded = append(recorded, l)
		}
	}
	printed := strings.Split(strings.TrimSuffix(out1.String(), "\n"), "\n")
	if len(printed) != len(recorded) || printed[0] != recorded[0] || printed[len(printed)-1] != recorded[len(recorded)-1] {
		t.Errorf("printed %d lines, recorded %d", len(printed), len(recorded))
	}
	for _, want := range []string{`"action":"step"`, `"state":"PEERS"`, `"state":"HOLDOVER"`, `"state":"LOCKED"`, `"stratum":1,`, `"stratum":2,`, `"action":"poll_floor"`} {
		if !strings.Contains(out1.String(), want) {
			t.Errorf("the replay printed no %s", want)
		}
	}
}

// A replay that decides otherwise than the recording says so.
func TestReplayDetectsDivergence(t *testing.T) {
	rec, _ := record(t, func(s *sim.Settings) { s.Duration = 10 * time.Minute })
	lines := strings.Split(string(rec), "\n")
	changed := false
	for i, l := range lines {
		if strings.Contains(l, `"action":"frequency"`) && i > len(lines)/2 {
			lines[i] = regexp.MustCompile(`"frequency_ppm":[-0-9.e]+`).ReplaceAllString(l, `"frequency_ppm":12.5`)
			changed = true
			break
		}
	}
	if !changed {
		t.Fatal("no frequency decision recorded")
	}
	res, err := appliance.Replay(strings.NewReader(strings.Join(lines, "\n")), &bytes.Buffer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatched != 1 || !strings.Contains(res.FirstMismatch, "frequency") {
		t.Errorf("%d mismatches, first %q", res.Mismatched, res.FirstMismatch)
	}
}

func TestReplayRejectsBadRecordings(t *testing.T) {
	rec, _ := record(t, func(s *sim.Settings) { s.Duration = time.Minute })
	header, _, _ := strings.Cut(string(rec), "\n")
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty recording"},
		{"no header", `{"k":"tick","now":"2026-01-15T00:00:00Z"}`, "header"},
		{"other format", strings.Replace(header, `"format":1`, `"format":99`, 1), "format 99"},
		{"bad line", header + "\n{not json", "line 2"},
		{"input without its data", header + "\n" + `{"k":"edge","now":"2026-01-15T00:00:00Z"}`, "without its data"},
		{"unknown input", header + "\n" + `{"k":"telepathy","now":"2026-01-15T00:00:00Z"}`, "telepathy"},
	}
	for _, tt := range tests {
		_, err := appliance.Replay(strings.NewReader(tt.in), &bytes.Buffer{}, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one that mentions %q", tt.name, err, tt.want)
		}
	}
}

// A drift file's contents travel in the header: the replay starts from the
// same frequency as the run.
func TestReplayWithDriftFile(t *testing.T) {
	drift := t.TempDir() + "/drift"
	rec, _ := record(t, func(s *sim.Settings) { s.Duration = 20 * time.Minute; s.DriftFile = drift })
	if strings.Contains(strings.SplitN(string(rec), "\n", 2)[0], `"drift_file"`) {
		t.Fatal("the first run's header holds a drift file")
	}
	// The run saved its drift file; a second run starts from it.
	rec, _ = record(t, func(s *sim.Settings) { s.Duration = 20 * time.Minute; s.DriftFile = drift })
	if !strings.Contains(strings.SplitN(string(rec), "\n", 2)[0], `"drift_file":"`) {
		t.Fatal("the header holds no drift file")
	}
	res, err := appliance.Replay(bytes.NewReader(rec), &bytes.Buffer{}, nil)
	if err != nil || res.Mismatched != 0 {
		t.Errorf("err %v, %d mismatches: %s", err, res.Mismatched, res.FirstMismatch)
	}
}
