package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"stratum1/appliance"
	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/peer"
	"stratum1/pps"
)

// Fixed features of the simulated receiver.
const (
	nmeaArrivalJitter = 5 * time.Millisecond // spread of the first sentence's arrival
	backlogDrainEvery = 10                   // seconds per epoch a backlog of stale NMEA drains by
	tickPhase         = 0.95                 // when in each second the loop's Tick runs
)

// Trace is the true clock error at every second of a virtual run.
type Trace struct {
	ErrNs    []float64 // clock - true at each second's edge, ns
	Outage   []bool    // no pulses that second
	OracleNs []float64 // during outages: the error of a clock that kept the frequency at the outage's start
	// EstNs is the error bound served at each second's edge: the root
	// dispersion a client would be told then (+Inf when unsynchronised).
	EstNs []float64
	// LateNs is the latency a pulse outlier added that second (0: none),
	// and Dropped marks the pulses lost (--drop-pulses).
	LateNs  []float64
	Dropped []bool
}

// DisciplineConfig returns the discipline configuration a simulation runs
// with: the defaults, with the settings' drift file and NMEA latency, and
// no leap second file (the virtual date need not match the system's).
func DisciplineConfig(s Settings) discipline.Config {
	c := discipline.DefaultConfig()
	c.DriftFile = s.DriftFile
	c.LeapFile = ""
	c.TemperatureFile = "" // the simulation hands its own readings
	c.NMEALatency = s.NMEALatency
	c.PPSError = max(s.PPSJitter, 10*time.Nanosecond)
	c.MaxClockError = s.MaxClockErrorPPM
	return c
}

// RunVirtual runs the appliance's core for s.Duration of virtual time and
// returns its summary and trace.
func RunVirtual(ctx context.Context, s Settings, log *slog.Logger) (Summary, *Trace, error) {
	return RunVirtualTo(ctx, s, log, nil)
}

// CoreConfig is the configuration of the core a simulation drives: the
// daemon's defaults, with DisciplineConfig(s).
func CoreConfig(s Settings) appliance.CoreConfig {
	pc := peer.DefaultConfig()
	return appliance.CoreConfig{
		Discipline:          DisciplineConfig(s),
		PPS:                 pps.DefaultConfig(),
		CrossCheckThreshold: pc.CrossCheckThreshold,
		GPSRecoverAfter:     pc.GPSRecoverAfter,
		Peers:               s.Peers > 0,
	}
}

// RunVirtualTo is RunVirtual, recording the core's inputs and actions to
// record when it is not nil (docs/replay.md).
func RunVirtualTo(ctx context.Context, s Settings, log *slog.Logger, record io.Writer) (Summary, *Trace, error) {
	if err := s.Validate(); err != nil {
		return Summary{}, nil, err
	}
	wall := time.Now()
	rng := rand.New(rand.NewPCG(uint64(s.Seed), 0x5717a7))
	// The pulses' faults (--drop-pulses, --pps-outliers) draw from their
	// own generator, and every pulse draws its jitter, lost or not: a run
	// with faults then sees the same oscillator, jitter and NMEA as the
	// run without, and the difference between the two is the faults',
	// not another draw of the noise's.
	faults := rand.New(rand.NewPCG(uint64(s.Seed), 0xfa0175))
	clk := NewVirtualClock(s.Start, s.InitialOffset, NewOscillator(s, rng))
	clk.trusted = s.ClockTrusted
	cfg := CoreConfig(s)
	var rec *appliance.Recorder
	if record != nil {
		h, err := appliance.NewHeader(cfg, clk, true, clk.Now(), "sim --virtual")
		if err != nil {
			return Summary{}, nil, err
		}
		rec = appliance.NewRecorder(record, h)
	}
	core, err := appliance.NewCore(cfg, clk, clk.Now(), log)
	if err != nil {
		return Summary{}, nil, err
	}
	d := core.Discipline()
	drift := discipline.NewDriftSaver(d, log)
	asm := gps.NewAssembler(gps.AssemblerConfig{})
	var peers *simPeers
	if s.Peers > 0 {
		peers = newSimPeers(s.Peers, s.Seed)
	}
	n := int(s.Duration / time.Second)
	k := 0 // the virtual second being run
	tr := &Trace{ErrNs: make([]float64, n), Outage: make([]bool, n), OracleNs: make([]float64, n), EstNs: make([]float64, n),
		LateNs: make([]float64, n), Dropped: make([]bool, n)}
	firstSample := -1
	var sum Summary
	var herr error
	handle := func(in appliance.Input) {
		var acts []appliance.Action
		if rec != nil {
			acts, herr = rec.Handle(core, in)
		} else {
			acts, herr = core.Handle(in)
		}
		for _, a := range acts {
			switch a.Kind {
			case appliance.ActionStep:
				if peers != nil {
					peers.stepped(a.Step)
				}
			case appliance.ActionState:
				sum.StateChanges = append(sum.StateChanges, StateChange{AtS: float64(k), State: string(a.State), Reason: a.Reason})
			}
		}
		if firstSample < 0 && core.Fed() > 0 {
			firstSample = k
		}
	}
	if !s.NoPPS {
		handle(appliance.PPSSourceOf(clk.Now(), "simulated", pps.BackendSimulated, max(s.PPSJitter, time.Nanosecond)))
	}
	var seq uint64
	var backlog []time.Time // stale seconds waiting in the line
	var holdFree, holdFreq, holdT float64
	for k = 0; k < n; k++ {
		if k%3600 == 0 {
			if err := ctx.Err(); err != nil {
				return Summary{}, nil, err
			}
		}
		at := time.Duration(k) * time.Second
		clk.AdvanceTo(float64(k))
		tr.ErrNs[k] = clk.Error() * 1e9
		tr.EstNs[k] = math.Inf(1)
		if ss := d.ServerState(); ss.Synchronised() {
			tr.EstNs[k] = float64(ss.DispersionAt(clk.Now()))
		}
		out := s.NoPPS || in(s.Outages, at)
		tr.Outage[k] = out
		if out {
			if k == 0 || !tr.Outage[k-1] {
				holdFree, holdFreq, holdT = clk.FreeIntegral(), clk.Oscillator().Frequency(), float64(k)
			}
			tr.OracleNs[k] = (clk.FreeIntegral() - holdFree - holdFreq*(float64(k)-holdT)) * 1e9
		} else {
			edge := clk.Now().Add(seconds(rng.NormFloat64() * s.PPSJitter.Seconds()))
			if tr.Dropped[k] = s.DropPulses > 0 && faults.Float64() < s.DropPulses; !tr.Dropped[k] {
				late := s.PPSOutliers.latency(faults)
				tr.LateNs[k] = float64(late)
				edge = edge.Add(late)
				seq++
				handle(appliance.EdgeOf(clk.Now(), pps.Edge{Local: edge, Seq: seq}, core.Steps()))
			}
		}
		if !in(s.Unplugged, at) {
			if s.StaleNMEA > 0 && (k == 0 || in(s.Unplugged, at-time.Second)) {
				for j := s.StaleNMEA; j > 0; j-- {
					backlog = append(backlog, s.Start.Add(at-time.Duration(j)*time.Second))
				}
			}
			named := s.Start.Add(at)
			if in(s.WrongSecond, at) {
				named = named.Add(time.Second)
			}
			feed := func(named time.Time) {
				for i, line := range Sentences(named) {
					// The GGA follows the RMC by its transmission time.
					arrive := clk.Now().Add(time.Duration(i) * 70 * time.Millisecond)
					for _, e := range asm.Feed([]byte(line), arrive) {
						handle(appliance.EpochOf(clk.Now(), e, core.Steps()))
					}
				}
			}
			if len(backlog) > 0 {
				// The line is barely faster than the receiver: the queue
				// moves on an epoch a second, at the usual phase, and
				// drains by one every backlogDrainEvery seconds. This
				// second's joins its end.
				backlog = append(backlog, named)
				phases := []float64{s.NMEALatency.Seconds()}
				if k%backlogDrainEvery == 0 {
					phases = []float64{0.2, 0.65}
				}
				for _, ph := range phases {
					if len(backlog) == 0 {
						break
					}
					clk.AdvanceTo(float64(k) + ph)
					feed(backlog[0])
					backlog = backlog[1:]
				}
			} else {
				lat := s.NMEALatency + seconds(rng.Float64()*(nmeaArrivalJitter+s.NMEAJitter).Seconds())
				clk.AdvanceTo(float64(k) + lat.Seconds())
				feed(named)
			}
		}
		clk.AdvanceTo(float64(k) + tickPhase)
		if c, ok := clk.Oscillator().SensorC(); ok && !s.NoTempComp {
			handle(appliance.TemperatureOf(clk.Now(), c))
		}
		if peers != nil {
			handle(appliance.PeersOf(clk.Now(), peers.at(at, seconds(clk.Error()), clk.Now(), in(s.PeersDown, at))))
		}
		handle(appliance.TickOf(clk.Now()))
		if herr != nil {
			return Summary{}, nil, herr
		}
		drift.Tick(clk.Now())
		if served := core.Served(); served.Synchronised() {
			sum.ServedS++
			if math.Abs(clk.Error()) > wrongAfter.Seconds() {
				sum.ServedWrongS++
			}
		}
	}
	if err := drift.Close(); err != nil {
		log.Warn("saving the drift file", "err", err)
	}
	if rec != nil {
		if err := rec.Flush(); err != nil {
			return Summary{}, nil, fmt.Errorf("recording: %w", err)
		}
	}
	changes, served, wrong := sum.StateChanges, sum.ServedS, sum.ServedWrongS
	sum = Summarise(tr, s)
	sum.StateChanges, sum.ServedS, sum.ServedWrongS = changes, served, wrong
	v := core.View(clk.Now())
	sum.BoxState = string(v.State)
	st := v.Discipline
	sum.Steps = st.Steps
	sum.FirstSampleS = float64(firstSample)
	sum.FinalState = st.State.String()
	sum.FrequencyPPM = st.FrequencyPPM
	sum.OscillatorPPM = clk.Oscillator().Frequency() * 1e6
	sum.Rejected = st.Rejected
	sum.WholeSecond = st.WholeSecond
	sum.Disturbances = st.Disturbances
	sum.MissedPulses = st.MissedPulses
	sum.HoldoverEntries = st.HoldoverEntries
	gc, pc := asm.Counters(), v.PPS.Counters
	sum.BadSentences = gc.BadChecksum + gc.Malformed + gc.Garbage
	sum.PPSSamples = pc.Samples
	sum.PPSRejected = pc.Rejected
	sum.PPSFlywheeled = pc.Flywheeled
	if tc := v.Temp; tc.Samples > 0 {
		sum.TempSamples, sum.TempMinC, sum.TempMaxC = tc.Samples, tc.MinC, tc.MaxC
		sum.TempCurveErr = curveError(s, tc)
	}
	sum.WallSeconds = time.Since(wall).Seconds()
	return sum, tr, nil
}

// curveError compares the learnt curve (the correction, which cancels the
// crystal's error) with the simulated crystal's over the range the model
// saw: the largest difference of their changes from the range's middle,
// as a share of the simulated curve's span over the range.
func curveError(s Settings, tc discipline.TempStats) float64 {
	learnt := func(c float64) float64 {
		x := (c - tc.RefC) / 10
		return -(tc.Coef[1]*x + tc.Coef[2]*x*x)
	}
	mid := (tc.MinC + tc.MaxC) / 2
	var worst, lo, hi float64
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := 0; i <= 20; i++ {
		c := tc.MinC + (tc.MaxC-tc.MinC)*float64(i)/20
		want := s.CurvePPM(c) - s.CurvePPM(mid)
		got := learnt(c) - learnt(mid)
		worst = max(worst, math.Abs(got-want))
		lo, hi = min(lo, want), max(hi, want)
	}
	if hi-lo <= 0 {
		return math.Inf(1)
	}
	return worst / (hi - lo)
}

// wrongAfter is the clock error past which a synchronised served state
// counts as serving the wrong time (ServedWrongS).
const wrongAfter = 100 * time.Millisecond

// StateChange is one transition of the appliance's state machine.
type StateChange struct {
	AtS    float64 `json:"at_s"`
	State  string  `json:"state"`
	Reason string  `json:"reason"`
}

func in(ws []Window, t time.Duration) bool {
	for _, w := range ws {
		if w.Contains(t) {
			return true
		}
	}
	return false
}

// Summary is the result of a virtual run.
type Summary struct {
	LockS               float64   `json:"lock_s"`         // -1: never locked
	FirstSampleS        float64   `json:"first_sample_s"` // the second the discipline got its first sample; -1: none
	RelockS             []float64 `json:"relock_s"`       // after each outage, from its end; -1: never
	RMSNs               float64   `json:"rms_ns"`
	MaxNs               float64   `json:"max_ns"`
	HoldoverMaxNs       float64   `json:"holdover_max_ns"`
	OracleHoldoverMaxNs float64   `json:"oracle_holdover_max_ns"`
	// HoldoverEstMaxNs is the largest error estimate the discipline
	// published during the outages, and HoldoverCovered the fraction of
	// outage seconds whose error was within the estimate then in force.
	HoldoverEstMaxNs float64           `json:"holdover_est_max_ns"`
	HoldoverCovered  float64           `json:"holdover_covered"`
	Steps            int               `json:"steps"`
	FinalState       string            `json:"final_state"`
	FrequencyPPM     float64           `json:"frequency_ppm"`  // correction in force at the end
	OscillatorPPM    float64           `json:"oscillator_ppm"` // the oscillator's error at the end
	Rejected         uint64            `json:"rejected"`
	WholeSecond      uint64            `json:"whole_second_refused"`
	Disturbances     uint64            `json:"disturbances"`
	MissedPulses     uint64            `json:"missed_pulses"`    // pulses the loop went without, short of holding over
	HoldoverEntries  uint64            `json:"holdover_entries"` // times the loop held over
	BadSentences     uint64            `json:"bad_sentences"`
	PPSSamples       uint64            `json:"pps_samples"`    // pulses the pairer named
	PPSRejected      map[string]uint64 `json:"pps_rejected"`   // pulses the pairer did not use, by reason
	PPSFlywheeled    uint64            `json:"pps_flywheeled"` // of the named, those counted on while NMEA was missing
	WallSeconds      float64           `json:"wall_s"`
	Settings         SettingsJSON      `json:"settings"`
	// The appliance's state machine: its state at the end and every
	// change; the seconds served synchronised, and of those the seconds
	// with the clock more than 100 ms off (a wrong second served).
	BoxState     string        `json:"box_state"`
	StateChanges []StateChange `json:"state_changes"`
	ServedS      int           `json:"served_s"`
	ServedWrongS int           `json:"served_wrong_s"`

	// The temperature compensation at the end: observations learnt,
	// the range of temperatures seen, and the learnt curve's largest
	// error against the simulated one over that range, as a share of the
	// simulated curve's change across it.
	TempSamples  int     `json:"temp_samples,omitempty"`
	TempMinC     float64 `json:"temp_min_c,omitempty"`
	TempMaxC     float64 `json:"temp_max_c,omitempty"`
	TempCurveErr float64 `json:"temp_curve_err,omitempty"`
}

// SettingsJSON is Settings with units, as the flags take them.
type SettingsJSON struct {
	Duration      string   `json:"duration"`
	Seed          int64    `json:"seed"`
	PPSJitter     string   `json:"pps_jitter"`
	FreqOffset    string   `json:"freq_offset"`
	Wander        string   `json:"wander"`
	ThermalTau    string   `json:"thermal_tau"`
	TempSteps     []string `json:"temp_step"`
	TempDaily     string   `json:"temp_daily"`
	Outages       []string `json:"outage"`
	Unplugged     []string `json:"unplug"`
	WrongSecond   []string `json:"wrong_second"`
	NoPPS         bool     `json:"no_pps"`
	InitialOffset string   `json:"initial_offset"`
	NMEALatency   string   `json:"nmea_latency"`
	DriftFile     string   `json:"drift_file"`
	DropPulses    string   `json:"drop_pulses"`
	PPSOutliers   string   `json:"pps_outliers,omitempty"`
	MaxClockError string   `json:"max_clock_error"`
	Start         string   `json:"start"`
	Peers         int      `json:"sim_peers,omitempty"`
	PeersDown     []string `json:"peers_down,omitempty"`

	TempDailyC string   `json:"temp_daily_c,omitempty"`
	CPULoad    []string `json:"cpu_load,omitempty"`
	Curve      string   `json:"crystal_curve,omitempty"`
	Ageing     string   `json:"ageing_per_day,omitempty"`
	NoTempComp bool     `json:"no_tempcomp,omitempty"`
}

// JSON returns the settings with their units.
func (s Settings) JSON() SettingsJSON {
	strs := func(n int, f func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	return SettingsJSON{
		Duration:      s.Duration.String(),
		Seed:          s.Seed,
		PPSJitter:     s.PPSJitter.String(),
		FreqOffset:    FormatPPM(s.FreqOffsetPPM),
		Wander:        FormatPPM(s.WanderPPM),
		ThermalTau:    s.ThermalTau.String(),
		TempSteps:     strs(len(s.TempSteps), func(i int) string { return s.TempSteps[i].String() }),
		TempDaily:     FormatPPM(s.TempDailyPPM),
		Outages:       strs(len(s.Outages), func(i int) string { return s.Outages[i].String() }),
		Unplugged:     strs(len(s.Unplugged), func(i int) string { return s.Unplugged[i].String() }),
		WrongSecond:   strs(len(s.WrongSecond), func(i int) string { return s.WrongSecond[i].String() }),
		NoPPS:         s.NoPPS,
		InitialOffset: s.InitialOffset.String(),
		NMEALatency:   s.NMEALatency.String(),
		DriftFile:     s.DriftFile,
		DropPulses:    FormatPercent(s.DropPulses),
		PPSOutliers:   outliersJSON(s.PPSOutliers),
		MaxClockError: FormatPPM(s.MaxClockErrorPPM),
		Start:         s.Start.Format(time.RFC3339),
		Peers:         s.Peers,
		PeersDown:     strs(len(s.PeersDown), func(i int) string { return s.PeersDown[i].String() }),
		TempDailyC:    thermalOnly(s, FormatDegrees(s.TempDailyC)),
		CPULoad:       strs(len(s.CPULoad), func(i int) string { return s.CPULoad[i].String() }),
		Curve:         thermalOnly(s, fmt.Sprintf("%gppm/C²@%gC", s.CurvePPMPerC2, s.TurnoverC)),
		Ageing:        thermalOnly(s, FormatPPM(s.AgeingPPMDay)),
		NoTempComp:    s.NoTempComp,
	}
}

// thermalOnly is v when the run models temperatures, "" otherwise.
func thermalOnly(s Settings, v string) string {
	if !s.Thermal() {
		return ""
	}
	return v
}

// Lock criterion: the RMS of the clock error over a 60 s window.
const (
	lockWindow = 60
	lockRMSNs  = 1000.0
)

// Summarise computes the figures of a run. lock_s is the start of the first
// 60 s window from which every 60 s window up to the first outage (or the
// end) has an RMS clock error under 1 µs; equivalently, the time after
// which the trailing 60 s RMS, once it covers only post-lock seconds, stays
// under 1 µs. After each outage the same criterion gives relock_s, counted
// from the outage's end; the outage and the relock time are excluded from
// rms_ns and max_ns.
func Summarise(tr *Trace, s Settings) Summary {
	n := len(tr.ErrNs)
	sum := Summary{LockS: -1, Settings: s.JSON()}
	excluded := make([]bool, n)
	// Segments between outages.
	start := 0
	first := true
	var outS, covS int
	for start < n {
		for start < n && tr.Outage[start] {
			excluded[start] = true
			e := math.Abs(tr.ErrNs[start])
			sum.HoldoverMaxNs = math.Max(sum.HoldoverMaxNs, e)
			sum.OracleHoldoverMaxNs = math.Max(sum.OracleHoldoverMaxNs, math.Abs(tr.OracleNs[start]))
			if tr.EstNs != nil {
				outS++
				if e <= tr.EstNs[start] {
					covS++
				}
				if !math.IsInf(tr.EstNs[start], 1) {
					sum.HoldoverEstMaxNs = math.Max(sum.HoldoverEstMaxNs, tr.EstNs[start])
				}
			}
			start++
		}
		if start >= n {
			break
		}
		end := start
		for end < n && !tr.Outage[end] {
			end++
		}
		lock := lockIn(tr.ErrNs[start:end])
		if first {
			sum.LockS = float64(lock)
			if lock < 0 {
				sum.LockS = -1
			}
			first = false
		} else {
			sum.RelockS = append(sum.RelockS, float64(lock))
		}
		upto := start + lock
		if lock < 0 {
			upto = end
		}
		for i := start; i < upto; i++ {
			excluded[i] = true
		}
		start = end
	}
	if outS > 0 {
		sum.HoldoverCovered = float64(covS) / float64(outS)
	}
	if sum.LockS < 0 {
		return sum
	}
	var ss float64
	var cnt int
	for i, e := range tr.ErrNs {
		if excluded[i] {
			continue
		}
		ss += e * e
		cnt++
		sum.MaxNs = math.Max(sum.MaxNs, math.Abs(e))
	}
	if cnt > 0 {
		sum.RMSNs = math.Sqrt(ss / float64(cnt))
	}
	return sum
}

// lockIn returns the index from which every lockWindow-second window of e
// has an RMS under lockRMSNs, or -1 when even the last one does not (or e
// is shorter than one window).
func lockIn(e []float64) int {
	if len(e) < lockWindow {
		return -1
	}
	var ss float64
	for _, v := range e[len(e)-lockWindow:] {
		ss += v * v
	}
	last := len(e) - lockWindow
	if math.Sqrt(ss/lockWindow) >= lockRMSNs {
		return -1
	}
	for i := last - 1; i >= 0; i-- {
		ss += e[i]*e[i] - e[i+lockWindow]*e[i+lockWindow]
		if math.Sqrt(max(ss, 0)/lockWindow) >= lockRMSNs {
			return i + 1
		}
	}
	return 0
}

// String is a one-line human summary.
func (s Summary) String() string {
	return fmt.Sprintf("lock %gs, rms %.0fns, max %.0fns, holdover max %.0fns (oracle %.0fns), %d steps, %d disturbances",
		s.LockS, s.RMSNs, s.MaxNs, s.HoldoverMaxNs, s.OracleHoldoverMaxNs, s.Steps, s.Disturbances)
}

// outliersJSON is "" when there are none, so that summaries without them
// read as before.
func outliersJSON(o Outliers) string {
	if o.Rate == 0 {
		return ""
	}
	return o.String()
}
