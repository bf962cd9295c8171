package appliance

import (
	"time"

	"stratum1/discipline"
	"stratum1/ntp"
	"stratum1/pps"
)

// ActionKind says what an Action did or asks for.
type ActionKind string

// Actions of the core. Frequency, step and leap were carried out through
// the clock the core was given; the caller carries out the others.
const (
	ActionFrequency ActionKind = "frequency"  // the clock's frequency correction was set to FrequencyPPM
	ActionStep      ActionKind = "step"       // the clock was stepped by Step (and the pairer re-based): re-base the peers
	ActionLeap      ActionKind = "leap"       // the clock's leap second was armed (or disarmed) as Leap
	ActionPublish   ActionKind = "publish"    // serve Served from now on
	ActionState     ActionKind = "state"      // the state machine entered State, for Reason
	ActionPollFloor ActionKind = "poll_floor" // poll the peers no faster than PollFloor (0: no floor)
)

// Action is one decision of the core.
type Action struct {
	Kind         ActionKind
	FrequencyPPM float64
	Step         time.Duration
	Leap         ntp.Leap
	Served       *ntp.ServerState
	State        State
	Reason       string
	Desc         string // for the service manager: state, stratum and refid
	PollFloor    time.Duration
}

func (c *Core) emit(a Action) { c.out = append(c.out, a) }

// coreClock is the clock the discipline steers: the caller's, with two
// differences. Now is the clock reading of the input being handled (moved
// by any step made since), not a fresh reading, so that a replay of the
// inputs takes the same decisions; and every change is reported as an
// Action, a step after re-basing the pairer.
type coreClock struct {
	c     *Core
	under discipline.Clock
	now   time.Time
}

func (k *coreClock) Now() time.Time { return k.now }

func (k *coreClock) Frequency() (float64, error) { return k.under.Frequency() }

func (k *coreClock) SetFrequency(ppm float64) error {
	if err := k.under.SetFrequency(ppm); err != nil {
		return err
	}
	k.c.emit(Action{Kind: ActionFrequency, FrequencyPPM: ppm})
	return nil
}

func (k *coreClock) Step(d time.Duration) error {
	if err := k.under.Step(d); err != nil {
		return err
	}
	k.now = k.now.Add(d)
	k.c.stepped(d)
	return nil
}

func (k *coreClock) SetLeap(l ntp.Leap) error {
	if err := k.under.SetLeap(l); err != nil {
		return err
	}
	k.c.emit(Action{Kind: ActionLeap, Leap: l})
	return nil
}

func (k *coreClock) SetSync(synced bool, estErr, maxErr time.Duration) error {
	return k.under.SetSync(synced, estErr, maxErr)
}

// CoreView is what the views need of the core at one instant. The caller
// takes one after handling inputs and hands it to other goroutines.
type CoreView struct {
	State       State
	Since       time.Time
	Discipline  discipline.Stats
	PPS         pps.Status
	PPSAttached bool
	// NMEALatency is the arrival of the NMEA after its second, measured
	// against the pulse (ok false until learned).
	NMEALatency   time.Duration
	NMEAJitter    time.Duration // the spread of that arrival
	NMEALatencyOK bool
	Distrusted    bool
	GPSOffset     time.Duration // clock minus GPS, newest sample
	ReachGPS      uint8
	ReachPPS      uint8
	Served        *ntp.ServerState
	Steps         uint64
	Stale         uint64 // inputs dropped for predating the steps kept

	Temp discipline.TempStats // the temperature compensation
}

// View returns the core's state at clock reading now.
func (c *Core) View(now time.Time) CoreView {
	state, since := c.machine.State()
	v := CoreView{
		State: state, Since: since, Discipline: c.disc.Stats(), PPS: c.pairer.Status(now),
		PPSAttached: c.ppsAttached, Distrusted: c.distrusted, GPSOffset: c.lastGPSOffset,
		ReachGPS: c.reachGPS, ReachPPS: c.reachPPS, Served: c.served, Steps: c.steps, Stale: c.stale,
	}
	v.NMEALatency, v.NMEAJitter, v.NMEALatencyOK = c.pairer.NMEALatency()
	v.Temp = c.disc.TempStats()
	return v
}
