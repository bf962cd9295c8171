package appliance

import (
	"fmt"
	"time"

	"stratum1/gps"
	"stratum1/peer"
	"stratum1/pps"
)

// InputKind names an input of the core.
type InputKind string

// The core's inputs.
const (
	InputEpoch     InputKind = "epoch"       // one second of NMEA
	InputEdge      InputKind = "edge"        // one captured PPS edge
	InputPeers     InputKind = "peers"       // the upstream peers' selection
	InputTick      InputKind = "tick"        // the once-a-second tick
	InputPPSSource InputKind = "pps_source"  // the PPS device attached or gone
	InputQErr      InputKind = "qerr"        // the receiver's quantisation error of its next pulse
	InputTemp      InputKind = "temperature" // a reading of the SoC's temperature
	InputConfig    InputKind = "config"      // a reloaded configuration
)

// Input is one input of the core with its clock reading: what a recording
// holds, one per line (docs/replay.md).
type Input struct {
	Kind InputKind `json:"k"`
	// Now is the clock reading at which the input was handled.
	Now time.Time `json:"now"`
	// Gen is the core's step count when the input's own clock readings
	// (an edge, an epoch's arrival) were taken.
	Gen   uint64          `json:"gen,omitempty"`
	Epoch *EpochInput     `json:"epoch,omitempty"`
	Edge  *pps.Edge       `json:"edge,omitempty"`
	Peers *peer.Selection `json:"peers,omitempty"`
	PPS   *PPSInput       `json:"pps,omitempty"`
	QErr  *QErrInput      `json:"qerr,omitempty"`
	Temp  *TempInput      `json:"temp,omitempty"`
	// Config is a reloaded configuration (InputConfig).
	Config *CoreConfig `json:"config,omitempty"`
}

// TempInput is one reading of the SoC's temperature.
type TempInput struct {
	C float64 `json:"c"` // °C
}

// TemperatureOf returns the input for a temperature reading of tempC
// taken at now.
func TemperatureOf(now time.Time, tempC float64) Input {
	return Input{Kind: InputTemp, Now: now, Temp: &TempInput{C: tempC}}
}

// EpochInput is the part of a gps.Epoch that the core reads.
type EpochInput struct {
	Time       time.Time `json:"time"`
	Arrival    time.Time `json:"arrival"`
	Valid      bool      `json:"valid"`
	Mode       int       `json:"mode"`
	LeapSecond bool      `json:"leap_second,omitempty"`
}

// PPSInput is a PPS device attached (Backend set) or gone (empty).
type PPSInput struct {
	Device    string        `json:"device,omitempty"`
	Backend   string        `json:"backend,omitempty"`
	Precision time.Duration `json:"precision_ns,omitempty"`
}

// QErrInput is a u-blox TIM-TP's quantisation error of the next pulse
// (the pulse leaves QErr after the true second), with the clock reading
// when the message arrived.
type QErrInput struct {
	QErr    time.Duration `json:"qerr_ns"`
	Arrival time.Time     `json:"arrival"`
}

// EpochOf returns the input for epoch e handled at now.
func EpochOf(now time.Time, e gps.Epoch, gen uint64) Input {
	return Input{Kind: InputEpoch, Now: now, Gen: gen, Epoch: &EpochInput{
		Time: e.Time, Arrival: e.Arrival, Valid: e.Valid, Mode: e.Mode, LeapSecond: e.LeapSecond}}
}

// EdgeOf returns the input for edge e handled at now.
func EdgeOf(now time.Time, e pps.Edge, gen uint64) Input {
	return Input{Kind: InputEdge, Now: now, Gen: gen, Edge: &e}
}

// PeersOf returns the input for the peers' selection at now.
func PeersOf(now time.Time, sel peer.Selection) Input {
	return Input{Kind: InputPeers, Now: now, Peers: &sel}
}

// TickOf returns the tick at now.
func TickOf(now time.Time) Input { return Input{Kind: InputTick, Now: now} }

// PPSSourceOf returns the input that attaches a PPS device (backend empty:
// detaches it).
func PPSSourceOf(now time.Time, device, backend string, precision time.Duration) Input {
	return Input{Kind: InputPPSSource, Now: now, PPS: &PPSInput{Device: device, Backend: backend, Precision: precision}}
}

// QErrOf returns the input for a quantisation error q handled at now.
func QErrOf(now time.Time, q QErrInput, gen uint64) Input {
	return Input{Kind: InputQErr, Now: now, Gen: gen, QErr: &q}
}

// ConfigOf returns the input that reloads the core's configuration at now.
func ConfigOf(now time.Time, cfg CoreConfig) Input {
	return Input{Kind: InputConfig, Now: now, Config: &cfg}
}

// Handle feeds one input to the matching method. The returned actions are
// valid until the next input.
func (c *Core) Handle(in Input) ([]Action, error) {
	switch {
	case in.Kind == InputEpoch && in.Epoch != nil:
		e := in.Epoch
		return c.Epoch(in.Now, gps.Epoch{Time: e.Time, Arrival: e.Arrival, Valid: e.Valid, Mode: e.Mode, LeapSecond: e.LeapSecond}, in.Gen), nil
	case in.Kind == InputEdge && in.Edge != nil:
		return c.Edge(in.Now, *in.Edge, in.Gen), nil
	case in.Kind == InputPeers && in.Peers != nil:
		return c.Peers(in.Now, *in.Peers), nil
	case in.Kind == InputTick:
		return c.Tick(in.Now), nil
	case in.Kind == InputPPSSource && in.PPS != nil:
		return c.PPSSource(in.Now, in.PPS.Device, in.PPS.Backend, in.PPS.Precision), nil
	case in.Kind == InputConfig && in.Config != nil:
		return c.Reconfigure(in.Now, *in.Config), nil
	case in.Kind == InputQErr && in.QErr != nil:
		return c.QErr(in.Now, in.QErr.QErr, in.QErr.Arrival, in.Gen), nil
	case in.Kind == InputTemp && in.Temp != nil:
		return c.Temperature(in.Now, in.Temp.C), nil
	}
	return nil, fmt.Errorf("input %q without its data", in.Kind)
}
