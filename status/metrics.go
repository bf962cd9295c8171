package status

import (
	"sort"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// leapCodes maps Snapshot leap strings to the NTP leap indicator.
var leapCodes = map[string]float64{"none": 0, "insert": 1, "delete": 2, "unsynchronised": 3}

// collector is a prometheus.Collector that takes one Snapshot per scrape, so
// that every series in a scrape describes the same instant and the daemon
// keeps no second copy of its counters.
type collector struct {
	get func() (Snapshot, bool)

	info, uptime, state, stateSeconds                             *prometheus.Desc
	stratum, leap, offset, residual, freq, skew, estError         *prometheus.Desc
	rootDelay, rootDisp, refTime, steps, clockAdjust              *prometheus.Desc
	missedPulses, holdoverEntries, rejectedSamples                *prometheus.Desc
	gpsMode, satsUsed, satsView, hdop, pdop, satSNR, satEl        *prometheus.Desc
	gpsSentences, gpsBadSum, gpsDropped, gpsEpochs, gpsReconnects *prometheus.Desc
	gpsPanics                                                     *prometheus.Desc
	gpsLatency                                                    *prometheus.Desc
	ppsPulses, ppsMissed, ppsRejected, ppsJitter, ppsLastEdge     *prometheus.Desc
	requests, replies, kod, dropped                               *prometheus.Desc
	access                                                        *prometheus.Desc
	nts                                                           *prometheus.Desc
	peerOffset, peerDelay, peerJitter, peerReach, peerStratum     *prometheus.Desc
	peerSelected                                                  *prometheus.Desc

	temp, tempErrors, tempSamples, tempSigma, tempSlope, tempCoef *prometheus.Desc
	tempRef                                                       *prometheus.Desc
}

// NewCollector returns a Prometheus collector reading p once per scrape,
// for a daemon that wants to register it in its own registry. Handler
// already serves one at /metrics.
func NewCollector(p Provider) prometheus.Collector {
	return newCollector(func() (Snapshot, bool) { return p.Snapshot(), true })
}

func newCollector(get func() (Snapshot, bool)) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("stratum1_"+name, help, labels, nil)
	}
	return &collector{
		get:          get,
		info:         d("info", "Always 1; the labels name the running version.", "version"),
		uptime:       d("uptime_seconds", "Time since the daemon started."),
		state:        d("state", "1 for the appliance's current state, 0 for the others.", "state"),
		stateSeconds: d("state_duration_seconds", "Time since the appliance entered its current state."),

		stratum:     d("stratum", "Stratum served to clients (16 when unsynchronised)."),
		leap:        d("leap_indicator", "Leap indicator served: 0 none, 1 insert, 2 delete, 3 unsynchronised."),
		offset:      d("clock_offset_seconds", "Last measured offset of the system clock to its source (clock minus source)."),
		residual:    d("clock_residual_seconds", "RMS of recent offsets of the system clock."),
		freq:        d("clock_frequency_ppm", "Frequency correction applied to the system clock, in parts per million."),
		skew:        d("clock_frequency_skew_ppm", "Estimated error of the frequency correction, in parts per million."),
		estError:    d("clock_estimated_error_seconds", "Estimated error of the system clock."),
		rootDelay:   d("root_delay_seconds", "Root delay served to clients."),
		rootDisp:    d("root_dispersion_seconds", "Root dispersion served to clients."),
		refTime:     d("reference_timestamp_seconds", "Unix time at which the clock was last set or corrected."),
		steps:       d("clock_steps_total", "Times the system clock was stepped."),
		clockAdjust: d("clock_adjust_enabled", "1 when the daemon steers the system clock, 0 under --no-clock-adjust."),
		missedPulses: d("clock_missed_pulses_total",
			"GPS samples (pulses) missing while the clock followed them; a few in a row are ridden through without holdover."),
		holdoverEntries: d("clock_holdover_entries_total", "Times the clock held over after losing its GPS source."),
		rejectedSamples: d("clock_rejected_samples_total",
			"Samples the discipline refused: outliers (pulses stamped late), whole-second disagreements, malformed."),

		gpsMode:       d("gps_fix_mode", "GPS fix mode: 1 no fix, 2 2D, 3 3D (0 when no receiver)."),
		satsUsed:      d("gps_satellites_used", "Satellites used in the fix."),
		satsView:      d("gps_satellites_in_view", "Satellites in view."),
		hdop:          d("gps_hdop", "Horizontal dilution of precision."),
		pdop:          d("gps_pdop", "Position dilution of precision."),
		satSNR:        d("gps_satellite_snr_dbhz", "Signal to noise ratio of one satellite, dB-Hz (0 when not tracked).", "system", "prn", "used"),
		satEl:         d("gps_satellite_elevation_degrees", "Elevation of one satellite.", "system", "prn"),
		gpsSentences:  d("gps_sentences_total", "NMEA sentences received."),
		gpsBadSum:     d("gps_bad_checksum_total", "NMEA sentences dropped for a bad checksum."),
		gpsDropped:    d("gps_dropped_total", "NMEA sentences dropped for other reasons."),
		gpsEpochs:     d("gps_epochs_total", "Complete GPS epochs (one per second with a fix)."),
		gpsPanics:     d("gps_parser_panics_total", "NMEA sentences the parser library panicked on, dropped, by sentence type.", "type"),
		gpsReconnects: d("gps_reconnects_total", "Times the serial device was reopened."),
		gpsLatency:    d("gps_nmea_latency_seconds", "Typical arrival of the first NMEA sentence after the second it labels."),

		ppsPulses:   d("pps_pulses_total", "PPS pulses captured."),
		ppsMissed:   d("pps_missed_total", "PPS pulses expected but not seen."),
		ppsRejected: d("pps_rejected_total", "PPS pulses rejected, by reason.", "reason"),
		ppsJitter:   d("pps_jitter_seconds", "Jitter of the PPS edges."),
		ppsLastEdge: d("pps_last_edge_timestamp_seconds", "Unix time of the last PPS edge."),

		requests: d("ntp_requests_total", "NTP requests received."),
		replies:  d("ntp_replies_total", "NTP requests answered with time."),
		kod:      d("ntp_kod_total", "Kiss-o'-death replies sent, by code.", "code"),
		access:   d("access_decisions_total", "Access policy decisions and client table size, by kind.", "kind"),
		nts:      d("nts_events_total", "NTS: key-establishment sessions, cookies issued, authenticated requests, NAKs, by kind.", "kind"),
		dropped:  d("ntp_dropped_total", "NTP requests dropped without an answer, by reason.", "reason"),

		peerOffset:   d("peer_offset_seconds", "Offset of a time source.", "peer"),
		peerDelay:    d("peer_delay_seconds", "Round-trip delay to a time source.", "peer"),
		peerJitter:   d("peer_jitter_seconds", "Jitter of a time source.", "peer"),
		peerReach:    d("peer_reach", "Reach register of a time source (0-255).", "peer"),
		peerStratum:  d("peer_stratum", "Stratum of a time source.", "peer"),
		peerSelected: d("peer_selected", "1 for the source the clock is steered to, 0 for the others.", "peer"),

		temp:        d("temperature_celsius", "The SoC's temperature, last reading."),
		tempErrors:  d("temperature_read_errors_total", "Temperature readings that failed or were absurd."),
		tempSamples: d("tempcomp_samples", "Observations the crystal's temperature curve was fitted to."),
		tempSigma:   d("tempcomp_sigma_ppm", "Uncertainty of the learnt curve's change across the temperatures seen, ppm."),
		tempSlope:   d("tempcomp_slope_ppm_per_celsius", "Slope of the learnt curve at the crystal's temperature."),
		tempCoef:    d("tempcomp_coefficient_ppm", "The learnt curve a + b·x + c·x², x = (T - ref)/10 °C, by term.", "term"),
		tempRef:     d("tempcomp_reference_celsius", "The temperature the learnt curve is centred on (ref)."),
	}
}

func (c *collector) descs() []*prometheus.Desc {
	return []*prometheus.Desc{
		c.info, c.uptime, c.state, c.stateSeconds,
		c.stratum, c.leap, c.offset, c.residual, c.freq, c.skew, c.estError,
		c.rootDelay, c.rootDisp, c.refTime, c.steps, c.clockAdjust,
		c.missedPulses, c.holdoverEntries, c.rejectedSamples,
		c.gpsMode, c.satsUsed, c.satsView, c.hdop, c.pdop, c.satSNR, c.satEl,
		c.gpsSentences, c.gpsBadSum, c.gpsDropped, c.gpsEpochs, c.gpsReconnects, c.gpsLatency, c.gpsPanics,
		c.ppsPulses, c.ppsMissed, c.ppsRejected, c.ppsJitter, c.ppsLastEdge,
		c.requests, c.replies, c.kod, c.dropped, c.access, c.nts,
		c.peerOffset, c.peerDelay, c.peerJitter, c.peerReach, c.peerStratum, c.peerSelected,
		c.temp, c.tempErrors, c.tempSamples, c.tempSigma, c.tempSlope, c.tempCoef, c.tempRef,
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s, ok := c.get()
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	byReason := func(d *prometheus.Desc, m map[string]uint64) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			counter(d, m[k], k)
		}
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}

	gauge(c.info, 1, s.Version)
	gauge(c.uptime, s.Uptime.Seconds())
	known := false
	for _, st := range States {
		known = known || st == s.State
		gauge(c.state, b2f(st == s.State), string(st))
	}
	if !known && s.State != "" {
		gauge(c.state, 1, string(s.State))
	}
	if !s.StateSince.IsZero() && !s.Time.IsZero() {
		gauge(c.stateSeconds, s.Time.Sub(s.StateSince).Seconds())
	}

	sys := s.System
	gauge(c.stratum, float64(sys.Stratum))
	if v, ok := leapCodes[sys.Leap]; ok {
		gauge(c.leap, v)
	}
	if s.Source != "" {
		gauge(c.offset, sys.Offset.Seconds())
		gauge(c.residual, sys.Residual.Seconds())
	}
	gauge(c.freq, sys.FrequencyPPM)
	gauge(c.skew, sys.SkewPPM)
	gauge(c.estError, sys.EstError.Seconds())
	gauge(c.rootDelay, sys.RootDelay.Seconds())
	gauge(c.rootDisp, sys.RootDispersion.Seconds())
	if !sys.RefTime.IsZero() {
		gauge(c.refTime, float64(sys.RefTime.UnixNano())/1e9)
	}
	counter(c.steps, uint64(max(sys.Steps, 0)))
	gauge(c.clockAdjust, b2f(sys.ClockAdjust))
	counter(c.missedPulses, sys.MissedPulses)
	counter(c.rejectedSamples, sys.RejectedSamples)
	counter(c.holdoverEntries, sys.HoldoverEntries)

	g := s.GPS
	gauge(c.gpsMode, float64(g.Mode))
	gauge(c.satsUsed, float64(g.SatsUsed))
	gauge(c.satsView, float64(g.SatsInView))
	gauge(c.hdop, g.HDOP)
	gauge(c.pdop, g.PDOP)
	seen := make(map[[2]string]bool, len(g.Satellites))
	for _, sat := range g.Satellites {
		key := [2]string{sat.System, strconv.Itoa(sat.PRN)}
		if seen[key] { // a receiver may list a satellite twice; a duplicate series fails the scrape
			continue
		}
		seen[key] = true
		used := "false"
		if sat.Used {
			used = "true"
		}
		gauge(c.satSNR, float64(sat.SNR), key[0], key[1], used)
		gauge(c.satEl, float64(sat.Elevation), key[0], key[1])
	}
	counter(c.gpsSentences, g.Sentences)
	counter(c.gpsBadSum, g.BadChecksum)
	counter(c.gpsDropped, g.Dropped)
	byReason(c.gpsPanics, g.ParserPanics)
	counter(c.gpsEpochs, g.Epochs)
	counter(c.gpsReconnects, g.Reconnects)
	gauge(c.gpsLatency, g.NMEALatency.Seconds())

	p := s.PPS
	counter(c.ppsPulses, p.Pulses)
	counter(c.ppsMissed, p.Missed)
	byReason(c.ppsRejected, p.Rejected)
	if p.Pulses > 0 {
		gauge(c.ppsJitter, p.Jitter.Seconds())
	}
	if !p.LastEdge.IsZero() {
		gauge(c.ppsLastEdge, float64(p.LastEdge.UnixNano())/1e9)
	}

	counter(c.requests, s.Server.Received)
	counter(c.replies, s.Server.Answered)
	byReason(c.kod, s.Server.KoD)
	byReason(c.dropped, s.Server.Dropped)
	byReason(c.access, s.Server.Access)
	byReason(c.nts, s.Server.NTS)

	if t := s.Temperature; t != nil {
		if t.Celsius != nil {
			gauge(c.temp, *t.Celsius)
		}
		counter(c.tempErrors, t.ReadErrors)
		gauge(c.tempSamples, float64(t.Samples))
		if t.Active {
			gauge(c.tempSigma, t.SigmaPPM)
			gauge(c.tempSlope, t.SlopePPMPerC)
			for i, term := range []string{"a", "b", "c"} {
				gauge(c.tempCoef, t.Coefficients[i], term)
			}
			gauge(c.tempRef, t.RefCelsius)
		}
	}

	peers := make(map[string]bool, len(s.Peers))
	for _, pe := range s.Peers {
		if peers[pe.Name] {
			continue
		}
		peers[pe.Name] = true
		gauge(c.peerOffset, pe.Offset.Seconds(), pe.Name)
		gauge(c.peerDelay, pe.Delay.Seconds(), pe.Name)
		gauge(c.peerJitter, pe.Jitter.Seconds(), pe.Name)
		gauge(c.peerReach, float64(pe.Reach), pe.Name)
		gauge(c.peerStratum, float64(pe.Stratum), pe.Name)
		gauge(c.peerSelected, b2f(pe.Tally == "*"), pe.Name)
	}
}
