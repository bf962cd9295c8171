package appliance

import (
	"time"

	"stratum1/discipline"
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
			s.GPS.NMEALatency, s.GPS.NMEAJitter = v.NMEALatency, v.NMEAJitter
		}
	} else {
		s.GPS.State = "disabled"
	}
	if a.hw.OpenPPS == nil {
		s.PPS.State = "disabled"
	}
	s.Temperature = status.TemperatureView(v.Temp, a.tempFails.Load())
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
	if kc, ok := a.hw.Clock.(interface {
		KernelStatus() (discipline.KernelInfo, error)
	}); ok {
		if k, err := kc.KernelStatus(); err == nil {
			kv := status.Kernel(k)
			s.Kernel = &kv
		}
	}
	a.resp.FillStatus(&s.Server)
	ac := a.policy.Load().Counters()
	s.Server.Access = map[string]uint64{
		"served": ac.Served, "limited": ac.Limited, "kiss_rate": ac.KissRate, "kiss_deny": ac.KissDeny,
		"ignored": ac.Ignored, "mode_dropped": ac.ModeDropped, "control_refused": ac.ControlRefused,
		"evicted": ac.Evicted, "table_capacity": uint64(ac.TableCapacity), "table_bytes": uint64(ac.TableBytes),
	}
	if a.nts != nil {
		s.Server.NTS = make(map[string]uint64, 8)
		a.nts.FillStatus(s.Server.NTS)
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
		jitter := s.GPS.NMEAJitter
		if !v.PPSAttached && inUse {
			jitter = s.System.Residual
		}
		t := gpsTally(distrusted, v.PPSAttached, inUse, s.GPS.Mode, gpsOffset-a.cfg.Discipline.NMEALatency, a.cfg.Discipline.NMEAError)
		rows = append(rows, refclock("GPS", t, reachGPS, s.GPS.Time, gpsOffset, jitter))
	}
	if a.hw.OpenPPS != nil {
		t := tally(v.PPSAttached && inUse, false)
		rows = append(rows, refclock("PPS", t, reachPPS, s.PPS.LastEdge, s.System.Offset, s.PPS.Jitter))
	}
	return rows
}

// gpsTally is the GPS row's tally code as ntpd shows an NMEA refclock:
// selected when it steers alone; with a pulse in use the sentences only
// number it, and they are a candidate only while their time (offset, after
// the configured latency) agrees with the pulse within their error: one
// further off is a falseticker, as ntpd calls it.
func gpsTally(distrusted, withPPS, inUse bool, mode int, offset, nmeaError time.Duration) string {
	switch {
	case distrusted:
		return "x"
	case !withPPS && inUse:
		return "*"
	case mode < 2:
		return " "
	case withPPS && inUse && abs(offset) > nmeaError:
		return "x"
	}
	return "+"
}
