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
	s.System.ClockAdjust = a.hw.ClockAdjust
	s.System.Stratum = served.Stratum
	s.System.RefID = served.RefID.Format(served.Stratum)
	s.System.Leap = served.Leap.String()
	s.System.Precision = served.Precision
	s.System.RootDelay = served.RootDelay
	s.System.RootDispersion = served.DispersionAt(now)
	s.System.RefTime = served.RefTime

	if a.hw.GPS != nil {
		a.hw.GPS.FillStatus(&s.GPS)
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
	return s
}

// refclockRows lists GPS and PPS as sources, as ntpq -p shows reference
// clocks, with the tally of the one in use.
func (a *Appliance) refclockRows(s status.Snapshot, state State) []status.Peer {
	var rows []status.Peer
	inUse := state == Locked || state == Holdover
	if a.hw.GPS != nil {
		tally := " "
		switch {
		case a.hw.PPS == nil && inUse:
			tally = "*"
		case s.GPS.Mode >= 2:
			tally = "+"
		}
		if a.isDistrusted() {
			tally = "x"
		}
		rows = append(rows, status.Peer{
			Name: "GPS", Tally: tally, RefID: "GPS", Type: "l", Poll: 1e9,
			Reach: a.reachOf(&a.reachGPS), When: s.Time.Sub(s.GPS.Time),
			Offset: a.gpsOffset(),
		})
	}
	if a.hw.PPS != nil {
		tally := " "
		if inUse {
			tally = "*"
		}
		if a.isDistrusted() {
			tally = "x"
		}
		rows = append(rows, status.Peer{
			Name: "PPS", Tally: tally, RefID: "PPS", Type: "l", Poll: 1e9,
			Reach: a.reachOf(&a.reachPPS), When: s.Time.Sub(s.PPS.LastEdge),
			Offset: s.System.Offset, Jitter: s.PPS.Jitter,
		})
	}
	return rows
}

func (a *Appliance) reachOf(r *uint8) uint8 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return *r
}

func (a *Appliance) gpsOffset() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastGPSOffset
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
