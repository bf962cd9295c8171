package appliance

import (
	"time"

	"stratum1/ntp"
	"stratum1/status"
)

// Snapshot builds the one status model that every view reads, from the
// core's view after the last tick and the readers' own status.
func (a *Appliance) Snapshot() status.Snapshot {
	now := a.now()
	served := a.served.Load()
	v := a.view.Load()
	s := status.Snapshot{
		Time:    now,
		Version: a.version,
		Uptime:  now.Sub(a.started),
	}
	state := v.State
	s.State, s.StateSince = state, v.Since
	s.PPS = status.PPSView(v.PPS)

	s.System = status.SystemView(v.Discipline)
	s.System.ClockAdjust = a.hw.ClockAdjust && !v.Discipline.ObserveOnly
	s.System.Stratum = served.Stratum
	s.System.RefID = served.RefID.Format(served.Stratum)
	s.System.Leap = served.Leap.String()
	s.System.Precision = served.Precision
	s.System.RootDelay = served.RootDelay
	s.System.RootDispersion = served.DispersionAt(now)
	s.System.RefTime = served.RefTime

	if a.hw.GPS != nil {
		s.GPS = status.GPSView(a.hw.GPS.Status())
		if v.NMEALatencyOK && v.PPSAttached {
			// Measured against the pulse, which is better than what the
			// reader can tell from the clock alone.
			s.GPS.NMEALatency = v.NMEALatency
		}
	} else {
		s.GPS.State = "disabled"
	}
	if a.hw.OpenPPS == nil {
		s.PPS.State = "disabled"
	}
	s.Peers = a.refclockRows(s, v)
	if a.peers != nil {
		s.Peers = a.peers.Peers(s.Peers)
	}
	switch {
	case state == Peers && a.peers != nil:
		s.Source = a.peers.Selection().Peer
	case served.Synchronised() && served.RefID == ntp.RefPPS:
		s.Source = "PPS"
	case served.Synchronised() && served.RefID == ntp.RefGPS:
		s.Source = "GPS"
	}
	a.resp.FillStatus(&s.Server)
	ac := a.policy.Load().Counters()
	s.Server.Access = map[string]uint64{
		"served": ac.Served, "limited": ac.Limited, "kiss_rate": ac.KissRate, "kiss_deny": ac.KissDeny,
		"ignored": ac.Ignored, "mode_dropped": ac.ModeDropped, "control_refused": ac.ControlRefused,
		"evicted": ac.Evicted, "table_capacity": uint64(ac.TableCapacity), "table_bytes": uint64(ac.TableBytes),
	}
	return s
}

// refclockRows lists GPS and PPS as sources, as ntpq -p shows reference
// clocks, with the tally of the one in use. Offsets follow ntpq: the source
// minus our clock.
func (a *Appliance) refclockRows(s status.Snapshot, v *CoreView) []status.Peer {
	distrusted, reachGPS, reachPPS, gpsOffset := v.Distrusted, v.ReachGPS, v.ReachPPS, v.GPSOffset
	if v.PPSAttached {
		// With a pulse, the GPS row shows what the NMEA time alone would
		// say: the sentences' arrival after the second they name.
		gpsOffset = s.GPS.NMEALatency
	}
	state := v.State
	inUse := state == Locked || state == Holdover
	tally := func(selected, candidate bool) string {
		switch {
		case distrusted:
			return "x"
		case selected:
			return "*"
		case candidate:
			return "+"
		}
		return " "
	}
	refclock := func(name, tally string, reach uint8, last time.Time, offset, jitter time.Duration) status.Peer {
		return status.Peer{Name: name, Tally: tally, RefID: name, Type: "l", Poll: time.Second,
			Reach: reach, When: s.Time.Sub(last), Offset: -offset, Jitter: jitter}
	}
	var rows []status.Peer
	if a.hw.GPS != nil {
		t := tally(!v.PPSAttached && inUse, s.GPS.Mode >= 2)
		rows = append(rows, refclock("GPS", t, reachGPS, s.GPS.Time, gpsOffset, 0))
	}
	if a.hw.OpenPPS != nil {
		t := tally(v.PPSAttached && inUse, false)
		rows = append(rows, refclock("PPS", t, reachPPS, s.PPS.LastEdge, s.System.Offset, s.PPS.Jitter))
	}
	return rows
}
