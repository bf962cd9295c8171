package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// A Raspberry Pi's thermal behaviour, for the temperature compensation:
// the SoC's temperature follows the CPU load and the room's daily cycle;
// the crystal on the board follows it through the thermal lag (ThermalTau)
// and moves its frequency along a parabola; the SoC's sensor sees the die
// almost at once, with its own resolution and noise.
const (
	// socIdleC is the SoC's temperature idle in a room at its mean.
	socIdleC = 45.0
	// loadHeatC is how much a fully loaded SoC heats above idle (a Pi 4
	// with a small heatsink).
	loadHeatC = 20.0
	// sensorLag is the sensor's own lag behind the die.
	sensorLag = 10.0 // s
	// The sensor reports millidegrees, in steps of about half a degree
	// (the bcm2711's), with some noise before the rounding.
	sensorStepC  = 0.5
	sensorNoiseC = 0.15
)

// The crystal's curve (Settings' defaults): a parabola with its turnover
// at room temperature, seen at the SoC's temperature, as a Pi's 54 MHz
// crystal on the board next to it moves by a few ppm between idle and full
// load (tenths of a ppm per degree at 45..65 °C).
const (
	defaultTurnoverC    = 25.0
	defaultCurvePPMC2   = -0.004 // ppm/°C²
	defaultAgeingPPMDay = 0.02   // a year-old crystal's ageing, ppm per day
)

// CurvePPM is the crystal's frequency error (ppm) at tempC under the
// settings, relative to its error at the idle temperature: what the
// compensation learns.
func (s Settings) CurvePPM(tempC float64) float64 {
	d, i := tempC-s.TurnoverC, socIdleC-s.TurnoverC
	return s.CurvePPMPerC2 * (d*d - i*i)
}

// Thermal reports whether the run models temperatures in degrees (and
// hands the discipline sensor readings): any step or daily cycle in
// degrees, or a CPU load.
func (s Settings) Thermal() bool {
	if s.TempDailyC != 0 || len(s.CPULoad) > 0 {
		return true
	}
	for _, st := range s.TempSteps {
		if st.SizeC != 0 {
			return true
		}
	}
	return false
}

// Load is a CPU load (0..1) from At into the run on.
type Load struct {
	Share float64
	At    time.Duration
}

func (l Load) String() string { return FormatPercent(l.Share) + "@" + l.At.String() }

// ParseLoad parses SHARE@START: "100%@2h".
func ParseLoad(s string) (Load, error) {
	share, at, ok := strings.Cut(s, "@")
	if !ok {
		return Load{}, fmt.Errorf("%q: want LOAD@START, e.g. 100%%@2h", s)
	}
	v, err := ParsePercent(share)
	if err != nil || v < 0 || v > 1 {
		return Load{}, fmt.Errorf("%q: want a load in 0..100%%", s)
	}
	d, err := time.ParseDuration(at)
	if err != nil || d < 0 {
		return Load{}, fmt.Errorf("%q: want a start not before 0", s)
	}
	return Load{Share: v, At: d}, nil
}

// LoadsFlag collects LOAD@START CPU loads into p.
func LoadsFlag(p *[]Load) ListFlag[Load] { return ListFlag[Load]{P: p, Parse: ParseLoad} }

// parseDegrees parses a temperature change: "10C", "-2.5C".
func parseDegrees(s string) (float64, bool) {
	num, ok := strings.CutSuffix(s, "C")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	return v, err == nil && finite(v)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// FormatDegrees formats a temperature change for the flags.
func FormatDegrees(c float64) string { return strconv.FormatFloat(c, 'g', -1, 64) + "C" }

// TempFlag is a flag.Value for an amplitude in ppm or in degrees ("10C").
type TempFlag struct{ PPM, C *float64 }

func (f TempFlag) String() string {
	if f.C != nil && *f.C != 0 {
		return FormatDegrees(*f.C)
	}
	if f.PPM == nil {
		return ""
	}
	return FormatPPM(*f.PPM)
}

func (f TempFlag) Set(s string) error {
	if c, ok := parseDegrees(s); ok {
		*f.C = c
		return nil
	}
	v, err := ParsePPM(s)
	if err != nil {
		return fmt.Errorf("%q: want ppm, ppb or degrees (10C)", s)
	}
	*f.PPM = v
	return nil
}

// thermal is the simulated temperatures.
type thermal struct {
	s      Settings
	rng    *rand.Rand
	crystC float64 // the crystal's temperature
	sensC  float64 // the die as the sensor sees it
	freq   float64 // the frequency error from temperature and ageing now
}

func newThermal(s Settings, rng *rand.Rand) *thermal {
	th := &thermal{s: s, rng: rng}
	th.crystC = th.socC(0)
	th.sensC = th.crystC
	return th
}

// socC is the SoC's equilibrium temperature t seconds into the run.
func (th *thermal) socC(t float64) float64 {
	c := socIdleC + th.s.TempDailyC*math.Sin(2*math.Pi*t/86400)
	for _, st := range th.s.TempSteps {
		at := st.At.Seconds()
		switch {
		case st.SizeC == 0 || t < at:
		case st.Ramp > 0:
			c += st.SizeC * min((t-at)/st.Ramp.Seconds(), 1)
		default:
			c += st.SizeC
		}
	}
	load := 0.0
	for _, l := range th.s.CPULoad {
		if t >= l.At.Seconds() {
			load = l.Share
		}
	}
	return c + load*loadHeatC
}

// advance moves the temperatures from t by h seconds and returns the
// crystal's frequency error from temperature integrated over it (s).
func (th *thermal) advance(t, h float64) float64 {
	target := th.socC(t + h/2)
	before := th.crystC
	if tau := th.s.ThermalTau.Seconds(); tau > 0 {
		th.crystC += (target - th.crystC) * -math.Expm1(-h/tau)
	} else {
		th.crystC = target
	}
	th.sensC += (target - th.sensC) * -math.Expm1(-h/sensorLag)
	mid := (before + th.crystC) / 2
	th.freq = (th.s.CurvePPM(th.crystC) + th.s.AgeingPPMDay*(t+h)/86400) * 1e-6
	return (th.s.CurvePPM(mid) + th.s.AgeingPPMDay*(t+h/2)/86400) * 1e-6 * h
}

// reading is what the SoC's sensor reports now, °C.
func (th *thermal) reading() float64 {
	v := th.sensC + sensorNoiseC*th.rng.NormFloat64()
	return math.Round(v/sensorStepC) * sensorStepC
}
