package sim

import (
	"time"

	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/pps"
)

// Seam is where the receiver's raw output (NMEA lines with their arrival
// times, PPS edges with their timestamps) becomes discipline samples,
// through the appliance's own parts: gps.Assembler makes epochs of the
// lines and pps.Pairer names the edges with them, exactly as the appliance
// does (appliance/sources.go). Without a PPS input, valid epochs are NMEA
// samples.
type Seam struct {
	asm    *gps.Assembler
	pairer *pps.Pairer // nil without a PPS input
	seq    uint64
}

// NewSeam returns a seam; withPPS says whether a PPS input exists (its
// capture error is ppsErr).
func NewSeam(withPPS bool, ppsErr time.Duration) *Seam {
	s := &Seam{asm: gps.NewAssembler(gps.AssemblerConfig{})}
	if withPPS {
		s.pairer = pps.NewPairer(pps.DefaultConfig(), nil)
		s.pairer.SetSource("simulated", pps.BackendSimulated, max(ppsErr, time.Nanosecond))
	}
	return s
}

// Edge takes a PPS edge timestamped by the clock.
func (s *Seam) Edge(local time.Time) []discipline.Sample {
	if s.pairer == nil {
		return nil
	}
	s.seq++
	if p, ok := s.pairer.Edge(pps.Edge{Local: local, Seq: s.seq}); ok {
		return []discipline.Sample{ppsSample(p)}
	}
	return nil
}

// Line takes an NMEA sentence and the clock's reading when its first byte
// arrived.
func (s *Seam) Line(line string, arrival time.Time) []discipline.Sample {
	var out []discipline.Sample
	for _, e := range s.asm.Feed([]byte(line), arrival) {
		if !e.HasTime() {
			continue
		}
		if s.pairer == nil {
			if e.Valid {
				out = append(out, discipline.Sample{Local: e.Arrival, True: e.Time, Source: discipline.NMEA})
			}
			continue
		}
		if p, ok := s.pairer.Second(pps.Second{UTC: e.Time, Arrival: e.Arrival, Fix: e.Valid}); ok {
			out = append(out, ppsSample(p))
		}
	}
	return out
}

// SetClockError passes the discipline's error bound to the pairer, as the
// appliance does while locked to PPS.
func (s *Seam) SetClockError(bound time.Duration) {
	if s.pairer != nil {
		s.pairer.SetClockError(bound)
	}
}

// ClockStepped passes a step of the clock to the pairer.
func (s *Seam) ClockStepped(d time.Duration) {
	if s.pairer != nil {
		s.pairer.ClockStepped(d)
	}
}

// Counters returns the assembler's and the pairer's counts (the latter
// zero without a PPS input).
func (s *Seam) Counters() (gps.Counters, pps.Counters) {
	var pc pps.Counters
	if s.pairer != nil {
		pc = s.pairer.Counters()
	}
	return s.asm.Counters(), pc
}

func ppsSample(p pps.Sample) discipline.Sample {
	return discipline.Sample{Local: p.Local, True: p.UTC, Err: p.Err, Source: discipline.PPS}
}
