package appliance

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"stratum1/discipline"
	"stratum1/ntp"
)

// RecordFormat is the version of the recording format (docs/replay.md).
const RecordFormat = 1

// Header is the first line of a recording: what a replay needs to build the
// same core.
type Header struct {
	Kind    string     `json:"k"` // "header"
	Format  int        `json:"format"`
	Version string     `json:"version,omitempty"` // of the recording daemon
	Start   time.Time  `json:"start"`             // clock reading at the core's start
	Config  CoreConfig `json:"config"`
	// FrequencyPPM is the clock's frequency correction before the core
	// started (the drift file's is applied by the core itself).
	FrequencyPPM float64 `json:"frequency_ppm"`
	// ClockAdjust is false when the clock refused every adjustment
	// (--no-clock-adjust): the discipline then only observes.
	ClockAdjust bool `json:"clock_adjust"`
	// DriftFile and LeapFile are the contents of the files the
	// configuration names, as read at the start; nil when absent.
	DriftFile *string `json:"drift_file,omitempty"`
	LeapFile  *string `json:"leap_file,omitempty"`
	// Vouched is the clock's estimated error when it said at the start
	// that it was synchronised (discipline.Voucher); 0 when it did not.
	Vouched time.Duration `json:"vouched_ns,omitempty"`
}

// NewHeader returns the header of a recording of a core built with cfg,
// clk and start; it reads the drift and leap second files that cfg names.
func NewHeader(cfg CoreConfig, clk interface{ Frequency() (float64, error) }, clockAdjust bool, start time.Time, version string) (Header, error) {
	h := Header{Kind: "header", Format: RecordFormat, Version: version, Start: start.Round(0).UTC(), Config: cfg, ClockAdjust: clockAdjust}
	if f, err := clk.Frequency(); err == nil {
		h.FrequencyPPM = f
	}
	if v, ok := clk.(discipline.Voucher); ok {
		if bound, synced := v.Vouched(); synced {
			h.Vouched = bound
		}
	}
	var err error
	if h.DriftFile, err = readOptional(cfg.Discipline.DriftFile); err != nil {
		return Header{}, err
	}
	if h.LeapFile, err = readOptional(cfg.Discipline.LeapFile); err != nil {
		return Header{}, err
	}
	return h, nil
}

func readOptional(path string) (*string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	s := string(b)
	return &s, nil
}

// Recorder writes a core's inputs and the actions it took as JSON lines.
// Its methods are called from the core's goroutine only. A write error
// stops the recording (Err reports it) but never the core.
type Recorder struct {
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

// NewRecorder returns a recorder writing to w and writes the header.
func NewRecorder(w io.Writer, h Header) *Recorder {
	bw := bufio.NewWriter(w)
	r := &Recorder{w: bw, enc: json.NewEncoder(bw)}
	r.put(h)
	return r
}

func (r *Recorder) put(v any) {
	if r.err == nil {
		r.err = r.enc.Encode(v)
	}
}

// Handle records in, feeds it to c, and records the actions c took.
func (r *Recorder) Handle(c *Core, in Input) ([]Action, error) {
	in.Now = in.Now.Round(0).UTC()
	r.put(utcInput(in))
	acts, err := c.Handle(in)
	for _, a := range acts {
		r.put(ActionLine(in.Now, a))
	}
	return acts, err
}

// Flush writes out what is buffered.
func (r *Recorder) Flush() error {
	if r.err != nil {
		return r.err
	}
	return r.w.Flush()
}

// Err is the first write error.
func (r *Recorder) Err() error { return r.err }

// utcInput writes every reading of in in UTC, so that a recording reads
// the same wherever it was made.
func utcInput(in Input) Input {
	in.Now = in.Now.UTC()
	if in.Epoch != nil {
		e := *in.Epoch
		e.Time, e.Arrival = e.Time.Round(0).UTC(), e.Arrival.Round(0).UTC()
		in.Epoch = &e
	}
	if in.Edge != nil {
		e := *in.Edge
		e.Local = e.Local.Round(0).UTC()
		in.Edge = &e
	}
	if in.Peers != nil {
		s := *in.Peers
		s.Updated = s.Updated.Round(0).UTC()
		in.Peers = &s
	}
	return in
}

// Line is one action as a recording and a replay write it.
type Line struct {
	Kind         string        `json:"k"` // "out"
	Now          time.Time     `json:"now"`
	Action       ActionKind    `json:"action"`
	FrequencyPPM *float64      `json:"frequency_ppm,omitempty"`
	Step         time.Duration `json:"step_ns,omitempty"`
	Leap         string        `json:"leap,omitempty"`
	Served       *ServedLine   `json:"served,omitempty"`
	State        State         `json:"state,omitempty"`
	Reason       string        `json:"reason,omitempty"`
	PollFloor    time.Duration `json:"poll_floor_ns,omitempty"`
}

// ServedLine is a published ntp.ServerState.
type ServedLine struct {
	Leap           string        `json:"leap"`
	Stratum        uint8         `json:"stratum"`
	Precision      int8          `json:"precision"`
	RefID          string        `json:"refid"`
	RootDelay      time.Duration `json:"root_delay_ns"`
	RootDispersion time.Duration `json:"root_dispersion_ns"`
	RefTime        time.Time     `json:"ref_time"`
	Updated        time.Time     `json:"updated"`
	DispersionRate float64       `json:"dispersion_rate"`
}

// ActionLine returns action a taken at clock reading now as a line.
func ActionLine(now time.Time, a Action) Line {
	l := Line{Kind: "out", Now: now.UTC(), Action: a.Kind}
	switch a.Kind {
	case ActionFrequency:
		f := a.FrequencyPPM
		l.FrequencyPPM = &f
	case ActionStep:
		l.Step = a.Step
	case ActionLeap:
		l.Leap = a.Leap.String()
	case ActionPublish:
		l.Served = servedLine(a.Served)
	case ActionState:
		l.State, l.Reason = a.State, a.Reason
	case ActionPollFloor:
		l.PollFloor = a.PollFloor
	}
	return l
}

func servedLine(s *ntp.ServerState) *ServedLine {
	return &ServedLine{
		Leap: s.Leap.String(), Stratum: s.Stratum, Precision: s.Precision, RefID: s.RefID.Format(s.Stratum),
		RootDelay: s.RootDelay, RootDispersion: s.RootDispersion, RefTime: s.RefTime.UTC(), Updated: s.Updated.UTC(),
		DispersionRate: s.DispersionRate,
	}
}
