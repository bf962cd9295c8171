package sim

import (
	"strings"
	"time"

	nmea "github.com/adrianmo/go-nmea"

	"stratum1/discipline"
)

// flywheelMax is how many seconds pulses are numbered by counting from the
// last pulse that NMEA named, while the sentences are missing.
const flywheelMax = 600

// Seam is where the receiver's raw output (NMEA lines with their arrival
// times, PPS edges with their timestamps) becomes discipline samples. It is
// the one place to swap in gps.Assembler and pps.Pairer: the rest of the
// pipeline sees only Edge, Line and the samples they return.
//
// It pairs an edge with the second named by the RMC sentence that follows
// it within a second; without a pulse, the sentence itself is an NMEA
// sample; without sentences, pulses are numbered by counting from the last
// named one (a flywheel) for up to flywheelMax seconds.
type Seam struct {
	PPSErr time.Duration // uncertainty to put in PPS samples

	edge       time.Time // latest edge not yet paired
	pairedLoc  time.Time // local time of the last named edge
	pairedTrue time.Time
	Bad        uint64 // lines that failed to parse or check
}

// Edge takes a PPS edge timestamped by the clock.
func (s *Seam) Edge(local time.Time) []discipline.Sample {
	var out []discipline.Sample
	if !s.edge.IsZero() && !s.pairedLoc.IsZero() {
		// The previous edge was never named: count seconds from the
		// last named edge if the spacing is a whole number of seconds.
		d := s.edge.Sub(s.pairedLoc)
		k := d.Round(time.Second)
		if k >= time.Second && k <= flywheelMax*time.Second && (d-k).Abs() < time.Millisecond {
			t := s.pairedTrue.Add(k)
			out = append(out, discipline.Sample{Local: s.edge, True: t, Err: s.PPSErr, Source: discipline.PPS})
		}
	}
	s.edge = local
	return out
}

// Line takes an NMEA sentence and the clock's reading when its first byte
// arrived.
func (s *Seam) Line(line string, arrival time.Time) []discipline.Sample {
	snt, err := nmea.Parse(strings.TrimSpace(line))
	if err != nil {
		s.Bad++
		return nil
	}
	rmc, ok := snt.(nmea.RMC)
	if !ok || rmc.Validity != "A" || !rmc.Time.Valid || !rmc.Date.Valid {
		return nil
	}
	utc := time.Date(2000+rmc.Date.YY, time.Month(rmc.Date.MM), rmc.Date.DD,
		rmc.Time.Hour, rmc.Time.Minute, rmc.Time.Second, rmc.Time.Millisecond*1e6, time.UTC)
	if !s.edge.IsZero() {
		if d := arrival.Sub(s.edge); d >= 0 && d < time.Second {
			smp := discipline.Sample{Local: s.edge, True: utc, Err: s.PPSErr, Source: discipline.PPS}
			s.pairedLoc, s.pairedTrue, s.edge = s.edge, utc, time.Time{}
			return []discipline.Sample{smp}
		}
	}
	return []discipline.Sample{{Local: arrival, True: utc, Source: discipline.NMEA}}
}
