package lab

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// lockNs is the error under which a daemon counts as locked.
const lockNs = 10_000

// Sample is one second of the guest monitor's series.
type Sample struct {
	TruthS       int64
	ErrNs        int64 // kernel clock - truth
	BracketNs    int64
	KernelSynced bool
	Stratum      int // served stratum; -1 without an answer
	Leap         int
	RootNs       int64 // served root delay/2 + root dispersion
}

// serving reports whether the local server answered as synchronised.
func (s Sample) serving() bool { return s.Stratum >= 1 && s.Stratum <= 15 && s.Leap != 3 }

// ParseSeries reads the monitor's lines; malformed lines are counted, not fatal.
func ParseSeries(r io.Reader) (samples []Sample, bad int, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 7 {
			bad++
			continue
		}
		var s Sample
		var errs [7]error
		s.TruthS, errs[0] = strconv.ParseInt(f[0], 10, 64)
		s.ErrNs, errs[1] = strconv.ParseInt(f[1], 10, 64)
		s.BracketNs, errs[2] = strconv.ParseInt(f[2], 10, 64)
		s.KernelSynced, errs[3] = strconv.ParseBool(f[3])
		s.Stratum, errs[4] = strconv.Atoi(f[4])
		s.Leap, errs[5] = strconv.Atoi(f[5])
		s.RootNs, errs[6] = strconv.ParseInt(f[6], 10, 64)
		if firstErr(errs[:]) != nil {
			bad++
			continue
		}
		samples = append(samples, s)
	}
	if err := sc.Err(); err != nil {
		return samples, bad, fmt.Errorf("series: %w", err)
	}
	return samples, bad, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ParseEvents reads the scenario's "truth_s name" lines into name → truth_s
// (the first of each name).
func ParseEvents(r io.Reader) (map[string]int64, error) {
	ev := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		t, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if _, ok := ev[f[1]]; !ok {
			ev[f[1]] = t
		}
	}
	return ev, sc.Err()
}

// Result is one column of the lab's table.
type Result struct {
	Name          string  `json:"name"`
	LockS         float64 `json:"lock_s"`   // from the daemon's start; -1: never locked
	DaemonS       float64 `json:"daemon_s"` // from the start event to the daemon's start (install, unit start)
	MeanNs        float64 `json:"mean_ns"`
	RMSNs         float64 `json:"rms_ns"`
	AfterLockS    int     `json:"after_lock_s"` // seconds the mean, RMS and max are over
	MaxNs         float64 `json:"max_ns"`
	HoldoverMaxNs float64 `json:"holdover_max_ns"`
	StepMaxNs     float64 `json:"step_max_ns"`
	Covered       float64 `json:"covered"`
	ServedS       int     `json:"served_s"`
	RelockS       float64 `json:"relock_s"` // -1: not relocked (or no restart)
	// RestartRMSNs and RestartMaxNs: the error from settleS after the
	// restart to the end (the drift file's frequency at work).
	RestartRMSNs  float64 `json:"restart_rms_ns"`
	RestartMaxNs  float64 `json:"restart_max_ns"`
	KernelSynced  bool    `json:"kernel_synced"`
	NTPSync       bool    `json:"ntp_synchronized"`
	SystemdActive bool    `json:"systemd_active"`
	Exposure      float64 `json:"exposure"`
	PermErrors    int     `json:"permission_errors"`
	HostStratum   int     `json:"host_stratum"`
	HostChronydOK bool    `json:"host_chronyd_ok"`
	Samples       int     `json:"samples"`
	BadLines      int     `json:"bad_lines"`
	MaxBracketNs  int64   `json:"max_bracket_ns"`
	Pulses        string  `json:"pulses"`
	Error         string  `json:"error,omitempty"`
}

// settleS is how long after lock the error figures start.
const settleS = 60

// Analyze computes a column's figures from its series and events.
func Analyze(name string, samples []Sample, ev map[string]int64) Result {
	res := Result{Name: name, LockS: -1, RelockS: -1, Samples: len(samples), HostStratum: -1}
	start, ok := ev["start"]
	if !ok {
		res.Error = "no start event"
		return res
	}
	// Lock counts from the daemon's own start when the scenario recorded
	// it: a .deb's unpacking is not the discipline's time.
	from := start
	if d, ok := ev["daemon"]; ok && d >= start {
		from = d
		res.DaemonS = float64(d - start)
	}
	end := pick(ev, math.MaxInt64, "end")
	firstFault := pick(ev, end, "outage", "step", "restart")
	abs := func(x int64) float64 { return math.Abs(float64(x)) }

	// Lock: the first second from which the error stays under lockNs
	// until the first fault.
	lockAt := int64(-1)
	for _, s := range samples {
		if s.TruthS < start || s.TruthS >= firstFault {
			continue
		}
		if abs(s.ErrNs) >= lockNs {
			lockAt = -1
		} else if lockAt < 0 {
			lockAt = s.TruthS
		}
	}
	if lockAt >= 0 {
		res.LockS = float64(lockAt - from)
	}

	var locked errStats
	for _, s := range samples {
		e := abs(s.ErrNs)
		res.MaxBracketNs = max(res.MaxBracketNs, s.BracketNs)
		switch {
		case lockAt >= 0 && s.TruthS >= lockAt+settleS && s.TruthS < firstFault:
			locked.add(s.ErrNs)
		case in(s.TruthS, ev, "outage", "outage_end"):
			res.HoldoverMaxNs = max(res.HoldoverMaxNs, e)
		case in(s.TruthS, ev, "step", "restart"):
			res.StepMaxNs = max(res.StepMaxNs, e)
		}
		if s.TruthS >= start && s.serving() {
			res.ServedS++
			if e <= float64(s.RootNs) {
				res.Covered++
			}
		}
	}
	res.AfterLockS = locked.n
	res.MeanNs, res.RMSNs, res.MaxNs = locked.mean(), locked.rms(), locked.max
	if res.ServedS > 0 {
		res.Covered /= float64(res.ServedS)
	}

	// Relock: from the restart until the server answers synchronised and
	// the error stays under lockNs to the end. A second without an answer
	// (the daemon down, or the monitor's query lost on a loaded host)
	// neither ends nor starts it.
	if restart, ok := ev["restart"]; ok {
		relockAt := int64(-1)
		for _, s := range samples {
			if s.TruthS <= restart || s.TruthS >= end {
				continue
			}
			switch {
			case abs(s.ErrNs) >= lockNs || s.Stratum >= 0 && !s.serving():
				relockAt = -1 // off, or answering unsynchronised
			case relockAt < 0 && s.serving():
				relockAt = s.TruthS
			}
		}
		if relockAt >= 0 {
			res.RelockS = float64(relockAt - restart)
		}
		var after errStats
		for _, s := range samples {
			if s.TruthS >= restart+settleS && s.TruthS < end {
				after.add(s.ErrNs)
			}
		}
		res.RestartRMSNs, res.RestartMaxNs = after.rms(), after.max
	}
	if len(samples) > 0 {
		res.KernelSynced = samples[len(samples)-1].KernelSynced
	}
	return res
}

// errStats accumulates the error over a window of the series.
type errStats struct {
	n         int
	sum, sum2 float64
	max       float64 // largest |error|
}

func (e *errStats) add(errNs int64) {
	x := float64(errNs)
	e.n++
	e.sum += x
	e.sum2 += x * x
	e.max = max(e.max, math.Abs(x))
}

// mean and rms are 0 over an empty window.
func (e errStats) mean() float64 {
	if e.n == 0 {
		return 0
	}
	return e.sum / float64(e.n)
}

func (e errStats) rms() float64 {
	if e.n == 0 {
		return 0
	}
	return math.Sqrt(e.sum2 / float64(e.n))
}

// pick returns the earliest of the named events, or def.
func pick(ev map[string]int64, def int64, names ...string) int64 {
	t := def
	for _, n := range names {
		if v, ok := ev[n]; ok && v < t {
			t = v
		}
	}
	return t
}

// in reports whether t lies in [ev[from], ev[to]).
func in(t int64, ev map[string]int64, from, to string) bool {
	a, ok1 := ev[from]
	b, ok2 := ev[to]
	return ok1 && ok2 && t >= a && t < b
}
