package appliance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"stratum1/discipline"
	"stratum1/ntp"
)

// ReplayResult sums up a replay.
type ReplayResult struct {
	Inputs  int // inputs fed to the core
	Actions int // actions the core took
	// Recorded is how many actions the recording holds, and Mismatched how
	// many inputs led to other actions than the recorded ones; FirstMismatch
	// describes the first.
	Recorded      int
	Mismatched    int
	FirstMismatch string
	Final         CoreView
}

// Replay builds the core a recording's header describes, feeds it the
// recorded inputs, and writes every action it takes to w as JSON lines
// (the recording's own "out" lines, docs/replay.md). The recorded actions
// are compared with the replayed ones. The clock is a stand-in that
// accepts every adjustment (or refuses every one, as the recorded clock
// did): the recording holds the clock readings.
func Replay(r io.Reader, w io.Writer, log *slog.Logger) (ReplayResult, error) {
	var res ReplayResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return res, fmt.Errorf("replay: %w", err)
		}
		return res, errors.New("replay: empty recording")
	}
	var h Header
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Kind != "header" {
		return res, fmt.Errorf("replay: line 1 is not a recording's header (%v)", err)
	}
	if h.Format != RecordFormat {
		return res, fmt.Errorf("replay: recording format %d, this build reads %d", h.Format, RecordFormat)
	}
	dir, err := os.MkdirTemp("", "stratum1-replay-")
	if err != nil {
		return res, fmt.Errorf("replay: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg := h.Config
	if cfg.Discipline.DriftFile, err = materialise(dir, "drift", cfg.Discipline.DriftFile, h.DriftFile); err != nil {
		return res, err
	}
	if cfg.Discipline.LeapFile, err = materialise(dir, "leap-seconds.list", cfg.Discipline.LeapFile, h.LeapFile); err != nil {
		return res, err
	}
	core, err := NewCore(cfg, &replayClock{freq: h.FrequencyPPM, adjust: h.ClockAdjust, vouched: h.Vouched}, h.Start, log)
	if err != nil {
		return res, fmt.Errorf("replay: %w", err)
	}
	bw := bufio.NewWriter(w)
	var got, want [][]byte
	compare := func() {
		if !equalLines(got, want) {
			res.Mismatched++
			if res.FirstMismatch == "" {
				res.FirstMismatch = fmt.Sprintf("input %d: recorded %s; replayed %s", res.Inputs, joinLines(want), joinLines(got))
			}
		}
		got, want = got[:0], want[:0]
	}
	for line := 2; sc.Scan(); line++ {
		var peek struct {
			Kind string `json:"k"`
		}
		if err := json.Unmarshal(sc.Bytes(), &peek); err != nil {
			return res, fmt.Errorf("replay: line %d: %w", line, err)
		}
		if peek.Kind == "out" {
			res.Recorded++
			want = append(want, normalise(sc.Bytes()))
			continue
		}
		compare()
		var in Input
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			return res, fmt.Errorf("replay: line %d: %w", line, err)
		}
		acts, err := core.Handle(in)
		if err != nil {
			return res, fmt.Errorf("replay: line %d: %w", line, err)
		}
		res.Inputs++
		for _, a := range acts {
			b, err := json.Marshal(ActionLine(in.Now, a))
			if err != nil {
				return res, fmt.Errorf("replay: %w", err)
			}
			got = append(got, b)
			bw.Write(b)
			bw.WriteByte('\n')
			res.Actions++
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("replay: %w", err)
	}
	compare()
	res.Final = core.View(core.clk.now)
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("replay: %w", err)
	}
	return res, nil
}

// materialise writes a recorded file's contents into dir, so that the
// discipline reads what the recorded one read; a configured file that did
// not exist stays missing.
func materialise(dir, name, path string, contents *string) (string, error) {
	if path == "" {
		return "", nil
	}
	p := filepath.Join(dir, name)
	if contents == nil {
		return p, nil
	}
	if err := os.WriteFile(p, []byte(*contents), 0o600); err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	return p, nil
}

// normalise re-encodes a recorded line as the replay encodes its own.
func normalise(b []byte) []byte {
	var l Line
	if err := json.Unmarshal(b, &l); err != nil {
		return b
	}
	out, err := json.Marshal(l)
	if err != nil {
		return b
	}
	return out
}

func equalLines(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func joinLines(ls [][]byte) string {
	if len(ls) == 0 {
		return "nothing"
	}
	return string(bytes.Join(ls, []byte(" ")))
}

// replayClock stands in for the recorded clock.
type replayClock struct {
	freq    float64
	adjust  bool
	vouched time.Duration // the recorded clock's word at the start; 0: none
}

// Vouched says what the recorded clock said at the start.
func (c *replayClock) Vouched() (time.Duration, bool) { return c.vouched, c.vouched > 0 }

func (c *replayClock) Now() time.Time              { return time.Time{} } // the core uses the inputs' readings
func (c *replayClock) Frequency() (float64, error) { return c.freq, nil }
func (c *replayClock) SetFrequency(ppm float64) error {
	if !c.adjust {
		return discipline.ErrNoClockAdjust
	}
	c.freq = ppm
	return nil
}

func (c *replayClock) Step(time.Duration) error {
	if !c.adjust {
		return discipline.ErrNoClockAdjust
	}
	return nil
}

func (c *replayClock) SetLeap(ntp.Leap) error {
	if !c.adjust {
		return discipline.ErrNoClockAdjust
	}
	return nil
}

func (c *replayClock) SetSync(bool, time.Duration, time.Duration) error { return nil }
