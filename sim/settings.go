package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Settings describe one simulation; both the virtual and the real-time
// mode read them.
type Settings struct {
	Duration      time.Duration // virtual mode: how long to run
	Seed          int64
	PPSJitter     time.Duration // standard deviation of the edge timestamps
	FreqOffsetPPM float64       // the oscillator's frequency error at start
	WanderPPM     float64       // random-walk frequency noise, ppm per sqrt(s)
	ThermalTau    time.Duration // time constant through which temperature moves the frequency
	TempSteps     []Step        // frequency changes from temperature
	TempDailyPPM  float64       // amplitude of a daily temperature cycle
	Outages       []Window      // no pulses
	Unplugged     []Window      // no NMEA (serial device gone)
	WrongSecond   []Window      // receiver labels each second one too late
	NoPPS         bool          // NMEA only
	InitialOffset time.Duration // the clock's error at start (stale boot time)
	NMEALatency   time.Duration // first sentence after the second it names
	// NMEAJitter spreads the first sentence's arrival uniformly over
	// [NMEALatency, NMEALatency+NMEAJitter) (virtual mode).
	NMEAJitter time.Duration
	// StaleNMEA is how many seconds of sentences wait in the line at the
	// start and when an unplugged window ends (a restart or replug on a
	// relay that queued them): they come an epoch a second, the queue
	// shrinking by one every ten seconds (virtual mode).
	StaleNMEA int
	// ClockTrusted: the clock is vouched for at start, as the kernel
	// still synchronised by the run before a restart (virtual mode).
	ClockTrusted bool
	DriftFile    string   // the discipline's drift file; "" for none
	DropPulses   float64  // fraction of pulses lost at random (a busy capture)
	PPSOutliers  Outliers // pulses stamped late by interrupt latency
	// MaxClockErrorPPM is the discipline's max_clock_error_ppm: how fast
	// the served error bound grows after the last measurement.
	MaxClockErrorPPM float64
	Start            time.Time // true UTC at the start
	Peers            int       // virtual mode: simulated upstream peers; 0 none
	PeersDown        []Window  // virtual mode: the simulated peers unreachable
	Listen           string    // real-time mode: NTP address
	HTTP             string    // real-time mode: status address

	// ReceiverClockHz is the clock the receiver's time pulse leaves on
	// (a sawtooth of ±half a tick, its qErr sent in TIM-TP once `gps
	// configure` turns that on); 0 for ideal pulses.
	ReceiverClockHz float64

	// Temperatures in degrees (sim/thermal.go): the daily cycle's
	// amplitude and the CPU load's profile (TempSteps in degrees count
	// too); the crystal's parabola (turnover and curvature) and ageing;
	// NoTempComp hands the discipline no readings, for comparison.
	TempDailyC    float64
	CPULoad       []Load
	TurnoverC     float64
	CurvePPMPerC2 float64
	AgeingPPMDay  float64
	NoTempComp    bool
}

// DefaultSettings are the defaults of `stratum1 sim`.
func DefaultSettings() Settings {
	return Settings{
		Duration:         6 * time.Hour,
		Seed:             1,
		PPSJitter:        time.Microsecond,
		FreqOffsetPPM:    30,
		WanderPPM:        0.0002,
		ThermalTau:       3 * time.Minute,
		InitialOffset:    300 * time.Millisecond,
		NMEALatency:      150 * time.Millisecond,
		MaxClockErrorPPM: 1,
		Start:            time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),
		Listen:           "127.0.0.1:1123",
		HTTP:             "127.0.0.1:8123",
		TurnoverC:        defaultTurnoverC,
		CurvePPMPerC2:    defaultCurvePPMC2,
		AgeingPPMDay:     defaultAgeingPPMDay,
	}
}

// Step is a frequency change of SizePPM, or a change of the SoC's
// temperature of SizeC degrees, starting At into the run; with a Ramp it
// builds up linearly over that time instead of at once (both then pass
// through the thermal time constant).
type Step struct {
	SizePPM float64
	SizeC   float64
	At      time.Duration
	Ramp    time.Duration
}

// Window is an interval of the run: Length starting At.
type Window struct {
	At, Length time.Duration
}

// Contains reports whether t (into the run) falls in the window.
func (w Window) Contains(t time.Duration) bool { return t >= w.At && t < w.At+w.Length }

func (s Step) String() string {
	r := ""
	if s.Ramp > 0 {
		r = "/" + s.Ramp.String()
	}
	if s.SizeC != 0 {
		return FormatDegrees(s.SizeC) + "@" + s.At.String() + r
	}
	return FormatPPM(s.SizePPM) + "@" + s.At.String() + r
}

func (w Window) String() string { return w.Length.String() + "@" + w.At.String() }

// Validate reports the first impossible setting.
func (s Settings) Validate() error {
	switch {
	case s.Duration <= 0:
		return fmt.Errorf("duration %v: must be positive", s.Duration)
	case s.PPSJitter < 0 || s.PPSJitter > 100*time.Millisecond:
		return fmt.Errorf("pps-jitter %v: must be in [0, 100ms]", s.PPSJitter)
	case s.FreqOffsetPPM < -400 || s.FreqOffsetPPM > 400:
		return fmt.Errorf("freq-offset %v ppm: must be within ±400 ppm (the loop corrects up to 500)", s.FreqOffsetPPM)
	case s.WanderPPM < 0 || s.WanderPPM > 0.1:
		return fmt.Errorf("wander %v ppm: must be in [0, 0.1] ppm/√s", s.WanderPPM)
	case s.ThermalTau < 0:
		return fmt.Errorf("thermal-tau %v: must not be negative", s.ThermalTau)
	case s.NMEALatency < 0 || s.NMEALatency > 900*time.Millisecond:
		return fmt.Errorf("nmea-latency %v: must be in [0, 900ms]", s.NMEALatency)
	case s.NMEAJitter < 0 || s.NMEALatency+s.NMEAJitter > 980*time.Millisecond:
		return fmt.Errorf("nmea-jitter %v: must be positive and end the arrivals by 980ms", s.NMEAJitter)
	case s.StaleNMEA < 0 || s.StaleNMEA > 60:
		return fmt.Errorf("stale-nmea %d: must be in [0, 60] s", s.StaleNMEA)
	case !(s.DropPulses >= 0 && s.DropPulses < 1):
		return fmt.Errorf("drop-pulses %v: must be in [0, 100%%)", s.DropPulses)
	case !(s.PPSOutliers.Rate >= 0 && s.PPSOutliers.Rate <= 1) || s.PPSOutliers.Size < 0:
		return fmt.Errorf("pps-outliers %v: want a rate in [0, 100%%] and a positive size", s.PPSOutliers)
	case !(s.MaxClockErrorPPM >= 0 && s.MaxClockErrorPPM <= 500):
		return fmt.Errorf("max-clock-error %v ppm: must be in [0, 500] ppm", s.MaxClockErrorPPM)
	case s.Peers < 0 || s.Peers > 16:
		return fmt.Errorf("sim-peers %d: must be in [0, 16]", s.Peers)
	case math.Abs(s.TempDailyC) > 40 || math.Abs(s.CurvePPMPerC2) > 1 || math.Abs(s.AgeingPPMDay) > 10 ||
		math.Abs(s.TurnoverC) > 100:
		return fmt.Errorf("temperature model: daily cycle %v °C (at most 40), curvature %v ppm/°C² (at most 1), ageing %v ppm/day (at most 10), turnover %v °C",
			s.TempDailyC, s.CurvePPMPerC2, s.AgeingPPMDay, s.TurnoverC)
	}
	for _, st := range s.TempSteps {
		if math.Abs(st.SizeC) > 60 {
			return fmt.Errorf("temp-step %v: at most 60 degrees", st)
		}
	}
	for _, w := range append(append(append(append([]Window(nil), s.Outages...), s.Unplugged...), s.WrongSecond...), s.PeersDown...) {
		if w.At < 0 || w.Length <= 0 {
			return fmt.Errorf("window %v: needs a positive length and a start not before 0", w)
		}
	}
	return nil
}

// ParsePPM parses a frequency with its unit: "30ppm", "200ppb", "0.5ppm".
func ParsePPM(s string) (float64, error) {
	scale := 0.0
	num := s
	switch {
	case strings.HasSuffix(s, "ppm"):
		scale, num = 1, strings.TrimSuffix(s, "ppm")
	case strings.HasSuffix(s, "ppb"):
		scale, num = 1e-3, strings.TrimSuffix(s, "ppb")
	default:
		return 0, fmt.Errorf("%q: want a number with ppm or ppb", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want a number with ppm or ppb", s)
	}
	return v * scale, nil
}

// FormatPPM formats a frequency for ParsePPM.
func FormatPPM(ppm float64) string { return strconv.FormatFloat(ppm, 'g', -1, 64) + "ppm" }

// ParseStep parses SIZE@START or SIZE@START/RAMP: "2ppm@2h", "-1ppm@1h/30m".
func ParseStep(s string) (Step, error) {
	size, rest, ok := strings.Cut(s, "@")
	if !ok {
		return Step{}, fmt.Errorf("%q: want SIZE@START, e.g. 2ppm@2h", s)
	}
	at, ramp, hasRamp := strings.Cut(rest, "/")
	var st Step
	var err error
	if c, ok := parseDegrees(size); ok {
		st.SizeC = c
	} else if st.SizePPM, err = ParsePPM(size); err != nil {
		return Step{}, fmt.Errorf("%q: want ppm, ppb or degrees (10C)", size)
	}
	if st.At, err = time.ParseDuration(at); err != nil {
		return Step{}, fmt.Errorf("%q: start: %w", s, err)
	}
	if hasRamp {
		if st.Ramp, err = time.ParseDuration(ramp); err != nil || st.Ramp <= 0 {
			return Step{}, fmt.Errorf("%q: want a positive ramp duration", s)
		}
	}
	if st.At < 0 {
		return Step{}, fmt.Errorf("%q: start before 0", s)
	}
	return st, nil
}

// ParseWindow parses LENGTH@START: "1h@3h".
func ParseWindow(s string) (Window, error) {
	l, a, ok := strings.Cut(s, "@")
	if !ok {
		return Window{}, fmt.Errorf("%q: want LENGTH@START, e.g. 1h@3h", s)
	}
	length, err1 := time.ParseDuration(l)
	at, err2 := time.ParseDuration(a)
	if err1 != nil || err2 != nil || length <= 0 || at < 0 {
		return Window{}, fmt.Errorf("%q: want LENGTH@START with durations, e.g. 1h@3h", s)
	}
	return Window{At: at, Length: length}, nil
}

// ParsePercent parses a fraction given in percent: "5%" is 0.05.
func ParsePercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("%q: want a percentage, e.g. 5%%", s)
	}
	return v / 100, nil
}

// FormatPercent formats a fraction for ParsePercent.
func FormatPercent(f float64) string { return strconv.FormatFloat(f*100, 'g', -1, 64) + "%" }
