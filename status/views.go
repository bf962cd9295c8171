package status

import (
	"maps"
	"math"
	"time"

	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/pps"
)

// The core packages report their own status types; these map them to the
// views' model, so that the views change without touching the core.

// GPSView maps the serial reader's status.
func GPSView(s gps.Status) GPS {
	g := GPS{
		Device: s.Device, Baud: s.Baud, State: s.State, Sentences: s.Sentences,
		BadChecksum: s.BadSum, Dropped: s.Dropped, ParserPanics: maps.Clone(s.ParserPanics), Epochs: s.Epochs,
		Reconnects: s.Reconnects, NMEALatency: s.Latency, Mode: 1,
	}
	if !s.HaveEpoch {
		return g
	}
	e := s.LastEpoch
	g.Time = e.Time
	if s.State == gps.StateNoDevice || s.State == gps.StateNoData {
		// The last epoch tells when the receiver was last heard, not that
		// it has a fix now.
		return g
	}
	g.Mode = e.Mode
	g.SatsUsed, g.SatsInView = e.SatsUsed, e.SatsInView
	g.HDOP, g.PDOP = e.HDOP, e.PDOP
	if e.HasPosition {
		g.Latitude, g.Longitude, g.AltitudeM = e.Lat, e.Lon, e.AltM
	}
	for _, sat := range e.Satellites {
		g.Satellites = append(g.Satellites, Satellite{
			System: sat.System, PRN: sat.PRN, Elevation: sat.Elevation,
			Azimuth: sat.Azimuth, SNR: sat.SNR, Used: sat.Used,
		})
	}
	return g
}

// PPSView maps the pulse pairer's status.
func PPSView(s pps.Status) PPS {
	return PPS{
		Device: s.Device, Backend: s.Backend, LowPrecision: pps.LowPrecision(s.Backend),
		State: s.State, LastEdge: s.LastEdge, Jitter: s.Jitter,
		Pulses: s.Counters.Pulses, Missed: s.Counters.Missed,
		Rejected: maps.Clone(s.Counters.Rejected), Samples: s.Counters.Samples,
		Precision: s.Precision, LabelOffset: s.LabelOffset, LabelVerified: s.LabelVerified,
	}
}

// TemperatureView maps the temperature compensation's state and the
// daemon's count of failed readings; nil when there is nothing to show.
func TemperatureView(st discipline.TempStats, readErrors uint64) *Temperature {
	if st.Readings == 0 && st.Bad == 0 && readErrors == 0 && st.Samples == 0 {
		return nil
	}
	t := &Temperature{
		Readings: st.Readings, ReadErrors: readErrors + st.Bad, Samples: st.Samples, Active: st.Ready,
		RefCelsius: st.RefC, Coefficients: st.Coef, SigmaPPM: st.SigmaPPM, SlopePPMPerC: st.SlopePPMPerC,
		MinCelsius: st.MinC, MaxCelsius: st.MaxC, AppliedPPM: st.AppliedPPM,
	}
	if !math.IsNaN(st.TemperatureC) {
		c, s := st.TemperatureC, st.SmoothedC
		t.Celsius, t.CrystalCelsius = &c, &s
	}
	return t
}

// SystemView maps the discipline's numbers; what is served (stratum,
// reference, root distance) and ClockAdjust are the appliance's to set.
func SystemView(st discipline.Stats) System {
	sys := System{
		Offset: st.Offset, Residual: st.Residual, FrequencyPPM: st.FrequencyPPM,
		SkewPPM: st.SkewPPM, TimeConstant: st.TimeConstant, EstError: st.EstError, Steps: st.Steps,
		MissedPulses: st.MissedPulses, HoldoverEntries: st.HoldoverEntries, RejectedSamples: st.Rejected,
	}
	if !st.LeapAt.IsZero() {
		sys.LeapPending = st.LeapAt.Format(time.RFC3339)
	}
	return sys
}
