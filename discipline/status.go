package discipline

import (
	"time"
)

// Stats are the loop's numbers at one instant.
type Stats struct {
	State        State
	Source       Kind
	Offset       time.Duration // last measured offset, clock - source
	Residual     time.Duration // RMS of recent innovations
	FrequencyPPM float64       // correction in force
	// FreqErrorPPM is the clock's estimated rate against its source, in
	// ppm (positive: running fast): near zero while the loop steers, the
	// free-running clock's error when it only observes.
	FreqErrorPPM float64
	SkewPPM      float64 // uncertainty of the frequency estimate
	TimeConstant time.Duration
	EstError     time.Duration // includes the offset when ObserveOnly
	// ObserveOnly: the clock refuses adjustments (--no-clock-adjust); the
	// loop measures it and steers nothing.
	ObserveOnly  bool
	Steps        int
	StepTotal    time.Duration
	Updates      int
	Rejected     uint64
	WholeSecond  uint64 // samples refused for disagreeing by whole seconds
	Disturbances uint64 // oscillator disturbances (temperature) detected
	// MissedPulses counts the GPS samples (pulses) that did not come while
	// the loop followed them, without holding over for fewer than
	// HoldoverMissedPulses in a row; HoldoverEntries counts the times
	// the loop held over.
	MissedPulses    uint64
	HoldoverEntries uint64
	Leap            string
	LeapAt          time.Time
}

// Stats returns the loop's current numbers.
func (d *Discipline) Stats() Stats {
	return Stats{
		State:           d.state,
		Source:          d.source,
		Offset:          d.offset,
		Residual:        d.est.Residual(),
		FrequencyPPM:    d.freqPPM,
		FreqErrorPPM:    d.est.FrequencyPPM(),
		ObserveOnly:     d.observe,
		SkewPPM:         d.est.SkewPPM(),
		TimeConstant:    d.est.TimeConstant(),
		EstError:        d.estError(),
		Steps:           d.steps,
		StepTotal:       d.stepTotal,
		Updates:         d.updates,
		Rejected:        d.rejected,
		WholeSecond:     d.wholeSec,
		Disturbances:    d.est.Disturbances(),
		MissedPulses:    d.missed,
		HoldoverEntries: d.holdovers,
		Leap:            d.armed.String(),
		LeapAt:          d.leapAt,
	}
}
