package discipline

import "math"

// filter is a Kalman filter over the clock's state: its offset from true
// time x (seconds), its fractional frequency error y, and the drift of that
// frequency d (per second), under random-walk frequency noise (qy) and
// random-walk drift noise (qd). The loop tells it every correction it makes
// (control and step) so that the state always describes the clock as
// corrected.
type filter struct {
	x [3]float64
	p [3][3]float64
}

// predict advances the state by dt seconds.
func (f *filter) predict(dt, qy, qd float64) {
	if dt <= 0 {
		return
	}
	F := [3][3]float64{{1, dt, dt * dt / 2}, {0, 1, dt}, {0, 0, 1}}
	x := f.x
	f.x = [3]float64{x[0] + dt*x[1] + dt*dt/2*x[2], x[1] + dt*x[2], x[2]}
	var fp, p [3][3]float64
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				fp[i][j] += F[i][k] * f.p[k][j]
			}
		}
	}
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				p[i][j] += fp[i][k] * F[j][k]
			}
		}
	}
	dt2, dt3 := dt*dt, dt*dt*dt
	dt4, dt5 := dt3*dt, dt3*dt2
	q := [3][3]float64{
		{qy*dt3/3 + qd*dt5/20, qy*dt2/2 + qd*dt4/8, qd * dt3 / 6},
		{qy*dt2/2 + qd*dt4/8, qy*dt + qd*dt3/3, qd * dt2 / 2},
		{qd * dt3 / 6, qd * dt2 / 2, qd * dt},
	}
	for i := range 3 {
		for j := range 3 {
			f.p[i][j] = p[i][j] + q[i][j]
		}
	}
}

// innovation returns the measurement residual of an offset z and its
// variance given measurement noise variance r.
func (f *filter) innovation(z, r float64) (nu, s float64) {
	return z - f.x[0], f.p[0][0] + r
}

// update incorporates an offset measurement z with noise variance r and
// returns the phase gain used.
func (f *filter) update(z, r float64) float64 {
	nu, s := f.innovation(z, r)
	var k [3]float64
	for i := range 3 {
		k[i] = f.p[i][0] / s
		f.x[i] += k[i] * nu
	}
	// Joseph form keeps P symmetric and positive under rounding:
	// P = (I-KH) P (I-KH)' + K r K'.
	var a, p [3][3]float64
	for i := range 3 {
		for j := range 3 {
			a[i][j] = f.p[i][j] - k[i]*f.p[0][j]
		}
	}
	for i := range 3 {
		for j := range 3 {
			p[i][j] = a[i][j] - a[i][0]*k[j] + k[i]*r*k[j]
		}
	}
	f.p = p
	return k[0]
}

// reset starts the filter at offset x0 with the given standard deviations.
func (f *filter) reset(x0, sx, y0, sy, sd float64) {
	f.x = [3]float64{x0, y0, 0}
	f.p = [3][3]float64{{sx * sx}, {0, sy * sy}, {0, 0, sd * sd}}
}

// sigma returns the standard deviation of state i.
func (f *filter) sigma(i int) float64 { return math.Sqrt(max(f.p[i][i], 0)) }
