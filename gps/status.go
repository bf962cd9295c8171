package gps

import "stratum1/status"

// FillStatus writes the reader's state into the status model.
func (r *Reader) FillStatus(g *status.GPS) {
	s := r.Status()
	g.Device = s.Device
	g.Baud = s.Baud
	g.State = s.State
	g.Sentences = s.Sentences
	g.BadChecksum = s.BadSum
	g.Dropped = s.Dropped
	g.ParserPanics = s.ParserPanics
	g.Epochs = s.Epochs
	g.Reconnects = s.Reconnects
	g.NMEALatency = s.Latency
	g.Mode = 1
	g.Satellites = g.Satellites[:0]
	if !s.HaveEpoch {
		return
	}
	e := s.LastEpoch
	g.Time = e.Time
	if s.State == StateNoDevice || s.State == StateNoData {
		// The last epoch tells when the receiver was last heard, not that
		// it has a fix now.
		return
	}
	g.Mode = e.Mode
	g.SatsUsed = e.SatsUsed
	g.SatsInView = e.SatsInView
	g.HDOP, g.PDOP = e.HDOP, e.PDOP
	if e.HasPosition {
		g.Latitude, g.Longitude, g.AltitudeM = e.Lat, e.Lon, e.AltM
	}
	for _, sat := range e.Satellites {
		g.Satellites = append(g.Satellites, status.Satellite{
			System: sat.System, PRN: sat.PRN, Elevation: sat.Elevation,
			Azimuth: sat.Azimuth, SNR: sat.SNR, Used: sat.Used,
		})
	}
}
