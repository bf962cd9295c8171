package gps

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// gpsdDir holds gpsd's regression captures with the times gpsd decodes
// from them (see its README.md).
const gpsdDir = "testdata/gpsd-nmea"

type expectedEpoch struct {
	Time string `json:"time"`
	Mode int    `json:"mode"`
}

func readExpected(t *testing.T, path string) []expectedEpoch {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []expectedEpoch
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e expectedEpoch
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, e)
	}
	return out
}

func msKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// invalidTimes lists the times (ms) at which some time-bearing sentence of
// the capture exists and every one says invalid (RMC V, GGA quality 0,
// GLL V, GNS N): a decoder must never claim a fix there.
func allInvalidTimes(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := newParser()
	valid := map[int]bool{}
	invalid := map[int]bool{}
	for _, line := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\n' || r == '\r' }) {
		if i := strings.LastIndexByte(line, '$'); i > 0 {
			line = line[i:]
		}
		f, err := ps.parse(line)
		if err != nil || !f.hasTod || f.vote == voteNone {
			continue
		}
		if f.vote == voteValid {
			valid[f.tod.ms] = true
		} else {
			invalid[f.tod.ms] = true
		}
	}
	out := map[string]bool{}
	for ms := range invalid {
		if !valid[ms] {
			out[(time.Duration(ms) * time.Millisecond).String()] = true
		}
	}
	return out
}

func todKey(t time.Time) string {
	d := t.Sub(t.Truncate(24 * time.Hour))
	return d.String()
}

func TestGpsdCaptures(t *testing.T) {
	logs, err := filepath.Glob(filepath.Join(gpsdDir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no captures in %s (%v)", gpsdDir, err)
	}
	sort.Strings(logs)
	var want, matched, extras, badExtras int
	for _, log := range logs {
		name := strings.TrimSuffix(filepath.Base(log), ".log")
		exp := readExpected(t, filepath.Join(gpsdDir, name+".expected.jsonl"))
		f, err := os.Open(log)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{} // time -> best mode
		_, err = Decode(f, AssemblerConfig{}, func(e Epoch) {
			if !e.HasTime() {
				return
			}
			if e.Valid != (e.Mode >= 2) {
				t.Errorf("%s: %v valid=%v mode=%d", name, e.Time, e.Valid, e.Mode)
			}
			k := msKey(e.Time)
			if e.Mode > got[k] {
				got[k] = e.Mode
			}
		})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		expFix := map[string]bool{}
		expAll := map[string]bool{}
		for _, e := range exp {
			expAll[e.Time] = true
			if e.Mode >= 2 {
				expFix[e.Time] = true
			}
		}
		w, m := 0, 0
		var missed []time.Time
		for k := range expFix {
			w++
			if got[k] >= 2 {
				m++
				continue
			}
			t.Logf("%s: missed %s (got mode %d)", name, k, got[k])
			tt, _ := time.Parse(time.RFC3339, k)
			missed = append(missed, tt)
		}
		want += w
		matched += m
		invalid := allInvalidTimes(t, log)
		for k, mode := range got {
			if mode < 2 || expFix[k] {
				continue
			}
			extras++
			tt, _ := time.Parse(time.RFC3339, k)
			if invalid[todKey(tt)] {
				badExtras++
				t.Errorf("%s: fix claimed at %s where every sentence says invalid", name, k)
			}
			// An extra that is a missed epoch mis-timed: whole seconds
			// (wrong second, wrong day) or whole eras away.
			for _, y := range missed {
				if d := tt.Sub(y); d%time.Second == 0 || d%Era == 0 {
					badExtras++
					t.Errorf("%s: extra fix %s is %v from gpsd's %s, which was missed", name, k, d, msKey(y))
				}
			}
		}
		t.Logf("%-34s %3d/%3d fix epochs matched", name, m, w)
	}
	score := float64(matched) / float64(want)
	t.Logf("overall %d/%d = %.2f%%, %d extra fixes (%d bad)", matched, want, 100*score, extras, badExtras)
	if score < 0.99 {
		t.Errorf("matched %.2f%% of gpsd's fix epochs, want >= 99%%", 100*score)
	}
}
