package status

// State is where the box is in its life: the appliance's state machine
// enters these, and the API, the metrics and the dashboard show them by
// these names.
type State string

// States, in the order a box normally goes through them.
const (
	NoTime         State = "NO_TIME"        // no trustworthy time yet: serve unsynchronised
	Acquiring      State = "ACQUIRING"      // GPS time known (clock stepped), the loop not yet locked
	Locked         State = "LOCKED"         // disciplined to PPS (or NMEA alone): stratum 1
	Holdover       State = "HOLDOVER"       // pulses lost: still stratum 1, dispersion growing
	Peers          State = "PEERS"          // GPS unusable or distrusted: serving from upstream peers
	Unsynchronised State = "UNSYNCHRONISED" // nothing usable: leap 3
)

// States lists the appliance states in the order the state machine knows
// them; stratum1_state has one series per state so that a dashboard can
// graph time spent in each.
var States = []State{NoTime, Acquiring, Locked, Holdover, Peers, Unsynchronised}

func (s State) String() string { return string(s) }
