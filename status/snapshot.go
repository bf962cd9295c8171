// Package status owns the daemon's one status model and the views that read
// it over HTTP: the JSON API, Prometheus metrics and the web dashboard. The
// appliance fills a Snapshot on request; every view (stratum1 status, peers,
// ntpq through mode 6, the dashboard, metrics) renders the same Snapshot.
package status

import "time"

// Snapshot is the whole observable state of the daemon at one instant.
// Durations are time.Duration (nanoseconds in JSON); frequencies are in
// parts per million, as their field names say.
type Snapshot struct {
	Time       time.Time     `json:"time"`
	Version    string        `json:"version"`
	Uptime     time.Duration `json:"uptime_ns"`
	State      State         `json:"state"`       // appliance state: NO_TIME, ACQUIRING, LOCKED, HOLDOVER, PEERS, UNSYNCHRONISED
	StateSince time.Time     `json:"state_since"` // when State was entered
	Source     string        `json:"source"`      // what the clock is steered to: "PPS", "GPS", a peer address, or ""

	System System `json:"system"`
	// Kernel is the kernel clock's state, nil where it cannot be read.
	Kernel *Kernel `json:"kernel,omitempty"`
	GPS    GPS     `json:"gps"`
	PPS    PPS     `json:"pps"`
	Peers  []Peer  `json:"peers"`
	Server Server  `json:"server"`

	// Temperature is the SoC's temperature and the crystal's learnt
	// curve, nil when no temperature is read.
	Temperature *Temperature `json:"temperature,omitempty"`
}

// Temperature is the temperature compensation: the SoC's temperature, the
// crystal's as estimated from it, and the learnt frequency curve
// f(T) = a + b·x + c·x², x = (T - ref)/10 °C, in ppm of correction.
type Temperature struct {
	Celsius        *float64   `json:"celsius,omitempty"`         // last reading; nil before the first
	CrystalCelsius *float64   `json:"crystal_celsius,omitempty"` // the smoothed reading the curve is read at
	Readings       uint64     `json:"readings"`
	ReadErrors     uint64     `json:"read_errors"` // readings that failed or were absurd
	Samples        int        `json:"samples"`     // observations the curve was fitted to
	Active         bool       `json:"active"`      // the curve is fed forward
	RefCelsius     float64    `json:"ref_celsius"`
	Coefficients   [3]float64 `json:"coefficients_ppm"` // a, b, c
	SigmaPPM       float64    `json:"sigma_ppm"`        // uncertainty of the curve's change across the range seen
	SlopePPMPerC   float64    `json:"slope_ppm_per_c"`  // at the crystal's temperature
	MinCelsius     float64    `json:"min_celsius"`      // range seen while learning
	MaxCelsius     float64    `json:"max_celsius"`
	AppliedPPM     float64    `json:"applied_ppm"` // feed-forward applied since it began
}

// System is what the daemon serves and how its clock is doing.
type System struct {
	Stratum        uint8         `json:"stratum"`
	RefID          string        `json:"refid"`
	Leap           string        `json:"leap"`                   // none, insert, delete, unsynchronised
	LeapPending    string        `json:"leap_pending,omitempty"` // next scheduled leap second, RFC 3339
	Precision      int8          `json:"precision"`
	RootDelay      time.Duration `json:"root_delay_ns"`
	RootDispersion time.Duration `json:"root_dispersion_ns"`
	RefTime        time.Time     `json:"ref_time"`
	Offset         time.Duration `json:"offset_ns"`     // last measured offset of the system clock to its source (clock - source)
	Residual       time.Duration `json:"residual_ns"`   // RMS of recent offsets
	FrequencyPPM   float64       `json:"frequency_ppm"` // frequency correction applied to the clock
	SkewPPM        float64       `json:"skew_ppm"`      // estimated error of that frequency
	TimeConstant   time.Duration `json:"time_constant_ns"`
	EstError       time.Duration `json:"est_error_ns"`
	ClockAdjust    bool          `json:"clock_adjust"` // false under --no-clock-adjust
	Steps          int           `json:"steps"`
	// MissedPulses counts the GPS samples (pulses) that did not come while
	// the clock followed them; fewer than the configured number in a row
	// are ridden through without holding over. HoldoverEntries counts the
	// times the clock held over.
	MissedPulses    uint64 `json:"missed_pulses"`
	HoldoverEntries uint64 `json:"holdover_entries"`
	// RejectedSamples counts the samples the discipline refused: outliers
	// (a pulse stamped late), whole-second disagreements, malformed ones.
	RejectedSamples uint64 `json:"rejected_samples"`
}

// Kernel is the kernel clock's state as adjtimex reports it when asked to
// change nothing (modes 0), as ntpq -c kerninfo shows it; the simulator
// reports its simulated clock's.
type Kernel struct {
	Offset          time.Duration `json:"offset_ns"` // the kernel PLL's remaining offset
	FrequencyPPM    float64       `json:"frequency_ppm"`
	MaxError        time.Duration `json:"max_error_ns"`
	EstError        time.Duration `json:"est_error_ns"`
	Status          uint32        `json:"status"` // STA_* bits
	TimeConstant    int64         `json:"time_constant"`
	Precision       time.Duration `json:"precision_ns"`
	TolerancePPM    float64       `json:"tolerance_ppm"`
	PPSFrequencyPPM float64       `json:"pps_frequency_ppm"`
	PPSJitter       time.Duration `json:"pps_jitter_ns"`
	PPSInterval     time.Duration `json:"pps_interval_ns"` // calibration interval
	PPSStabilityPPM float64       `json:"pps_stability_ppm"`
	PPSCalibrations int64         `json:"pps_calibrations"`
	PPSJitterErrors int64         `json:"pps_jitter_exceeded"`
	PPSStabErrors   int64         `json:"pps_stability_exceeded"`
	PPSCalibErrors  int64         `json:"pps_calibration_errors"`
}

// GPS is the serial receiver's state.
type GPS struct {
	Device      string        `json:"device"`
	Baud        int           `json:"baud"`
	State       string        `json:"state"` // no device, no data, no fix, 2D, 3D
	Mode        int           `json:"mode"`  // 1 no fix, 2 2D, 3 3D
	Time        time.Time     `json:"time"`  // UTC of the last epoch
	SatsUsed    int           `json:"sats_used"`
	SatsInView  int           `json:"sats_in_view"`
	HDOP        float64       `json:"hdop"`
	PDOP        float64       `json:"pdop"`
	Latitude    float64       `json:"lat"`
	Longitude   float64       `json:"lon"`
	AltitudeM   float64       `json:"alt_m"`
	Satellites  []Satellite   `json:"satellites"`
	Sentences   uint64        `json:"sentences"`
	BadChecksum uint64        `json:"bad_checksum"`
	Dropped     uint64        `json:"dropped"`
	Epochs      uint64        `json:"epochs"`
	Reconnects  uint64        `json:"reconnects"`
	NMEALatency time.Duration `json:"nmea_latency_ns"` // typical arrival of the first sentence after the second
	NMEAJitter  time.Duration `json:"nmea_jitter_ns"`  // spread of that arrival

	// ParserPanics: sentences the NMEA library panicked on, by type (in Dropped too).
	ParserPanics map[string]uint64 `json:"parser_panics,omitempty"`
}

// Satellite is one entry of the sky view.
type Satellite struct {
	System    string `json:"system"` // GP, GL, GA, GB, QZ
	PRN       int    `json:"prn"`
	Elevation int    `json:"el"`  // degrees
	Azimuth   int    `json:"az"`  // degrees
	SNR       int    `json:"snr"` // dB-Hz, 0 when not tracked
	Used      bool   `json:"used"`
}

// PPS is the pulse capture's state.
type PPS struct {
	Device       string            `json:"device"`
	Backend      string            `json:"backend"` // pps-api, gpio-cdev, periph-userspace, simulated
	LowPrecision bool              `json:"low_precision"`
	State        string            `json:"state"` // no device, no pulses, pulses without fix, locked
	LastEdge     time.Time         `json:"last_edge"`
	Jitter       time.Duration     `json:"jitter_ns"`
	Pulses       uint64            `json:"pulses"`
	Missed       uint64            `json:"missed"`
	Rejected     map[string]uint64 `json:"rejected"`
	Samples      uint64            `json:"samples"`      // pulses paired with their second and used
	Precision    time.Duration     `json:"precision_ns"` // the backend's estimated capture error
	// LabelOffset is how many seconds late the receiver labels its NMEA
	// epochs against the PPS edge (1 for the classic wrong second), and
	// LabelVerified whether that was checked against an independent clock.
	LabelOffset   int  `json:"nmea_label_offset_s"`
	LabelVerified bool `json:"nmea_label_verified"`
}

// Peer is one time source as `ntpq -p` and `stratum1 peers` show it. GPS and
// PPS appear here too, as reference clocks.
type Peer struct {
	Name     string        `json:"name"`  // address, with :port when not 123; GPS or PPS for reference clocks
	Tally    string        `json:"tally"` // "*", "+", "-", "x", " "
	RefID    string        `json:"refid"`
	Stratum  uint8         `json:"stratum"`
	Type     string        `json:"type"`    // "l" local refclock, "u" unicast, "p" pool
	When     time.Duration `json:"when_ns"` // since the last sample
	Poll     time.Duration `json:"poll_ns"`
	Reach    uint8         `json:"reach"`
	Delay    time.Duration `json:"delay_ns"`
	Offset   time.Duration `json:"offset_ns"`
	Jitter   time.Duration `json:"jitter_ns"`
	Leap     string        `json:"leap"`
	RootDist time.Duration `json:"root_distance_ns"`
	Note     string        `json:"note,omitempty"` // falseticker, KoD RATE, unreachable...
}

// Server holds the responder's counters.
type Server struct {
	Received uint64            `json:"received"`
	Answered uint64            `json:"answered"`
	KoD      map[string]uint64 `json:"kod"`
	Dropped  map[string]uint64 `json:"dropped"` // by reason
	// Access holds the access policy's decisions (served, limited,
	// kiss_rate, kiss_deny, ignored, ...) and its client table's size.
	Access map[string]uint64 `json:"access,omitempty"`
	// NTS holds the NTS counters (ke_sessions, ke_errors, ke_refused,
	// cookies_issued, requests, naks, dropped) when NTS is on.
	NTS map[string]uint64 `json:"nts,omitempty"`
}

// Provider returns a fresh snapshot. The appliance implements it.
type Provider interface {
	Snapshot() Snapshot
}
