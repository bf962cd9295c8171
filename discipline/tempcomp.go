package discipline

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// TempModel learns a crystal's frequency against temperature: a quadratic
// f(T) = a + b·x + c·x², x = (T - Ref)/10 °C, fitted by recursive least
// squares (a Kalman filter over the three coefficients) to observations of
// the frequency the loop measured while locked. The constant a follows the
// crystal's ageing (a random walk of ageingPPM per day); the curve's shape
// (b, c) is constant. The model's uncertainty is the coefficients'
// covariance, scaled by the observations' measured scatter: a curve seen
// over a narrow range of temperatures predicts far from it with the large
// uncertainty it has. Nothing is set by hand: the prior is a crystal's
// range (hundreds of ppm, a ppm per degree), and the observations decide.
//
// Frequencies are in ppm, as the drift file keeps them: the correction
// that cancels the oscillator's error. The zero value is an empty model;
// it is not safe for concurrent use (the Discipline owns one).
type TempModel struct {
	Ref   float64       // temperature the curve is centred on, °C; set by the first observation
	N     int           // observations taken
	Coef  [3]float64    // a (ppm), b (ppm per 10 °C), c (ppm per (10 °C)²)
	Cov   [3][3]float64 // their covariance, ppm²
	Resid float64       // mean squared residual beyond the stated noise, ppm² (EWMA)
	MinT  float64       // lowest and highest temperature observed, °C
	MaxT  float64
	Hours float64 // time since the first observation, for ageing, h
}

// Prior and noise of the model.
const (
	tempPriorA   = 500.0 // ppm: any crystal's offset
	tempPriorB   = 10.0  // ppm per 10 °C
	tempPriorC   = 2.0   // ppm per (10 °C)²
	ageingPPMDay = 0.1   // random walk of the constant, ppm per √day (ageing, wander)
	tempScale    = 10.0  // °C per unit of x
	// tempMinObs is how many observations the model needs before it
	// predicts: a fit to fewer is a fit to the noise.
	tempMinObs = 8
	// residEvery is the residual estimate's averaging, in observations.
	residEvery = 32.0
)

func (m *TempModel) phi(t float64) [3]float64 {
	x := (t - m.Ref) / tempScale
	return [3]float64{1, x, x * x}
}

// Observe adds one observation: the frequency freqPPM measured at
// temperature tempC, with weight the inverse of its variance (1/ppm²),
// dtHours after the previous observation (for the constant's ageing).
// Observations that are not finite, or carry no weight, are ignored.
func (m *TempModel) Observe(tempC, freqPPM, weight, dtHours float64) {
	if !finite(tempC) || !finite(freqPPM) || !(weight > 0) || math.IsInf(weight, 1) || tempC < -60 || tempC > 150 {
		return
	}
	if m.N == 0 {
		*m = TempModel{Ref: tempC, MinT: tempC, MaxT: tempC}
		m.Cov[0][0], m.Cov[1][1], m.Cov[2][2] = tempPriorA*tempPriorA, tempPriorB*tempPriorB, tempPriorC*tempPriorC
		m.Coef[0] = freqPPM
	}
	if dtHours > 0 {
		m.Cov[0][0] += ageingPPMDay * ageingPPMDay * dtHours / 24
		m.Hours += dtHours
	}
	h := m.phi(tempC)
	var ph [3]float64 // P·h
	for i := range 3 {
		for j := range 3 {
			ph[i] += m.Cov[i][j] * h[j]
		}
	}
	hph := h[0]*ph[0] + h[1]*ph[1] + h[2]*ph[2]
	nu := freqPPM - m.predictRaw(h)
	r := 1/weight + m.Resid
	if m.N >= tempMinObs {
		// The scatter the stated noise does not explain (sensor noise,
		// the crystal's lag behind the sensor, wander) is measured from
		// the innovations once the curve is roughly known.
		m.Resid += (max(nu*nu-hph-1/weight, 0) - m.Resid) / residEvery
		r = 1/weight + m.Resid
	}
	s := hph + r
	for i := range 3 {
		m.Coef[i] += ph[i] / s * nu
	}
	for i := range 3 {
		for j := range 3 {
			m.Cov[i][j] -= ph[i] * ph[j] / s
		}
	}
	m.N++
	m.MinT, m.MaxT = min(m.MinT, tempC), max(m.MaxT, tempC)
}

func (m *TempModel) predictRaw(h [3]float64) float64 {
	return m.Coef[0]*h[0] + m.Coef[1]*h[1] + m.Coef[2]*h[2]
}

// Ready reports whether the model has seen enough to predict.
func (m *TempModel) Ready() bool { return m.N >= tempMinObs }

// Predict returns the frequency at tempC and its standard deviation.
func (m *TempModel) Predict(tempC float64) (ppm, sigma float64) {
	if !m.Ready() {
		return math.NaN(), math.Inf(1)
	}
	h := m.phi(tempC)
	return m.predictRaw(h), math.Sqrt(max(m.quad(h), 0))
}

// PredictDelta returns the change of frequency from temperature t0 to t1
// and its standard deviation: what feed-forward applies, independent of
// the constant (ageing) and so known better than Predict's.
func (m *TempModel) PredictDelta(t0, t1 float64) (ppm, sigma float64) {
	if !m.Ready() {
		return 0, math.Inf(1)
	}
	h0, h1 := m.phi(t0), m.phi(t1)
	d := [3]float64{0, h1[1] - h0[1], h1[2] - h0[2]}
	return m.predictRaw(d), math.Sqrt(max(m.quad(d), 0))
}

// quad is hᵀ·P·h. The fit's covariance already holds the measured
// scatter, which every update counts as noise.
func (m *TempModel) quad(h [3]float64) float64 {
	var q float64
	for i := range 3 {
		for j := range 3 {
			q += h[i] * m.Cov[i][j] * h[j]
		}
	}
	return q
}

// Slope returns the curve's slope at tempC, ppm per °C.
func (m *TempModel) Slope(tempC float64) float64 {
	x := (tempC - m.Ref) / tempScale
	return (m.Coef[1] + 2*m.Coef[2]*x) / tempScale
}

// marshal writes the model as one line of the drift file.
func (m *TempModel) marshal() string {
	f := []float64{m.Ref, float64(m.N), m.Coef[0], m.Coef[1], m.Coef[2],
		m.Cov[0][0], m.Cov[0][1], m.Cov[0][2], m.Cov[1][1], m.Cov[1][2], m.Cov[2][2],
		m.Resid, m.MinT, m.MaxT, m.Hours}
	parts := make([]string, len(f))
	for i, v := range f {
		parts[i] = strconv.FormatFloat(v, 'g', 10, 64)
	}
	return "tempcomp1 " + strings.Join(parts, " ")
}

// unmarshalTempModel parses the line marshal writes.
func unmarshalTempModel(line string) (TempModel, error) {
	f := strings.Fields(line)
	if len(f) != 16 || f[0] != "tempcomp1" {
		return TempModel{}, fmt.Errorf("temperature model: want tempcomp1 and 15 numbers")
	}
	v := make([]float64, 15)
	for i := range v {
		x, err := strconv.ParseFloat(f[i+1], 64)
		if err != nil || !finite(x) {
			return TempModel{}, fmt.Errorf("temperature model: field %d: not a number: %q", i+1, f[i+1])
		}
		v[i] = x
	}
	m := TempModel{Ref: v[0], N: int(v[1]), Coef: [3]float64{v[2], v[3], v[4]},
		Resid: v[11], MinT: v[12], MaxT: v[13], Hours: v[14]}
	m.Cov = [3][3]float64{{v[5], v[6], v[7]}, {v[6], v[8], v[9]}, {v[7], v[9], v[10]}}
	switch {
	case m.N < 0 || v[1] > 1e9 || m.Ref < -60 || m.Ref > 150 || m.MinT > m.MaxT:
		return TempModel{}, fmt.Errorf("temperature model: absurd values")
	case m.Cov[0][0] <= 0 || m.Cov[1][1] <= 0 || m.Cov[2][2] <= 0 || m.Resid < 0:
		return TempModel{}, fmt.Errorf("temperature model: covariance not positive")
	}
	return m, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
