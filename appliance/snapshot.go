package appliance

import (
	"time"

	"stratum1/ntp"
	"stratum1/status"
)

// Snapshot builds the one status model that every view reads.
func (a *Appliance) Snapshot() status.Snapshot {
	now := a.now()
	served := a.served.Load()
	s := status.Snapshot{
		Time:    now,
		Version: a.version,
		Uptime:  now.Sub(a.started),
	}
	a.mu.Lock()
	state, since := a.machine.State()
	a.pairer.FillStatus(now, &s.PPS)
	a.mu.Unlock()
	s.State, s.StateSince = state.String(), since

	a.disc.FillStatus(&s.System)
	s.System.ClockAdjust = a.hw.ClockAdjust && !a.disc.Stats().ObserveOnly
	s.System.Stratum = served.Stratum
	s.System.RefID = served.RefID.Format(served.Stratum)
	s.System.Leap = served.Leap.String()
	s.System.Precision = served.Precision
	s.System.RootDelay = served.RootDelay
	s.System.RootDispersion = served.DispersionAt(now)
	s.System.RefTime = served.RefTime

	if a.hw.GPS != nil {
		a.hw.GPS.FillStatus(&s.GPS)
		a.mu.Lock()
		if typical, _, ok := a.pairer.NMEALatency(); ok && a.hw.PPS != nil {
			// Measured against the pulse, which is better than what the
			// reader can tell from the clock alone.
			s.GPS.NMEALatency = typical
		}
		a.mu.Unlock()
	} else {
		s.GPS.State = "disabled"
	}
	if a.hw.PPS == nil {
		s.PPS.State = "disabled"
	}
	s.Peers = a.refclockRows(s, state)
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
	if a.nts != nil {
		s.Server.NTS = make(map[string]uint64, 8)
		a.nts.FillStatus(s.Server.NTS)
	}
	return s
}

// refclockRows lists GPS and PPS as sources, as ntpq -p shows reference
// clocks, with the tally of the one in use. Offsets follow ntpq: the source
// minus our clock.
func (a *Appliance) refclockRows(s status.Snapshot, state State) []status.Peer {
	a.mu.Lock()
	distrusted, reachGPS, reachPPS, gpsOffset := a.distrusted, a.reachGPS, a.reachPPS, a.lastGPSOffset
	a.mu.Unlock()
	if a.hw.PPS != nil {
		// With a pulse, the GPS row shows what the NMEA time alone would
		// say: the sentences' arrival after the second they name.
		gpsOffset = s.GPS.NMEALatency
	}
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
		t := tally(a.hw.PPS == nil && inUse, s.GPS.Mode >= 2)
		rows = append(rows, refclock("GPS", t, reachGPS, s.GPS.Time, gpsOffset, 0))
	}
	if a.hw.PPS != nil {
		t := tally(inUse, false)
		rows = append(rows, refclock("PPS", t, reachPPS, s.PPS.LastEdge, s.System.Offset, s.PPS.Jitter))
	}
	return rows
}

// shiftReach updates the reference clocks' reach registers once a second,
// as ntpd does for a refclock polled every second.
func (a *Appliance) shiftReach(now time.Time) {
	var g status.GPS
	if a.hw.GPS != nil {
		a.hw.GPS.FillStatus(&g)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	gpsOK := g.Mode >= 2 && now.Sub(a.lastEpoch) < 2*time.Second
	ppsOK := now.Sub(a.lastGPSAt) < 2*time.Second && a.hw.PPS != nil
	a.reachGPS = a.reachGPS<<1 | b2u(gpsOK)
	a.reachPPS = a.reachPPS<<1 | b2u(ppsOK)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
