package status

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// WriteTracking prints the summary in the layout of `chronyc tracking`, so
// that anyone who has run chrony reads it at a glance.
func WriteTracking(w io.Writer, s Snapshot) {
	sys := s.System
	line := func(label, format string, a ...any) {
		fmt.Fprintf(w, "%-16s: %s\n", label, fmt.Sprintf(format, a...))
	}
	line("Reference ID", "%s", orDash(sys.RefID))
	stratum := fmt.Sprint(sys.Stratum)
	if sys.Stratum >= 16 {
		stratum += " (unsynchronised)"
	}
	line("Stratum", "%s", stratum)
	if sys.RefTime.IsZero() {
		line("Ref time (UTC)", "never")
	} else {
		line("Ref time (UTC)", "%s", sys.RefTime.UTC().Format("Mon Jan 02 15:04:05.000 2006"))
	}
	if s.Source == "" {
		line("System time", "unknown: no time source")
	} else {
		// Offset is clock minus source: a positive one means the clock is ahead.
		dir := "fast"
		if sys.Offset < 0 {
			dir = "slow"
		}
		line("System time", "%s seconds %s of %s", seconds(abs(sys.Offset)), dir, s.Source)
		line("Last offset", "%s seconds", signedSeconds(sys.Offset))
		line("RMS offset", "%s seconds", seconds(sys.Residual))
	}
	// The correction speeds the clock up when positive, so the clock left
	// alone would run slow by that much.
	dir := "slow"
	if sys.FrequencyPPM < 0 {
		dir = "fast"
	}
	line("Frequency", "%.3f ppm %s", math.Abs(sys.FrequencyPPM), dir)
	line("Skew", "%.3f ppm", sys.SkewPPM)
	line("Root delay", "%s seconds", seconds(sys.RootDelay))
	line("Root dispersion", "%s seconds", seconds(sys.RootDispersion))
	line("Leap status", "%s", leapStatus(sys.Leap, sys.LeapPending))
	state := orDash(string(s.State))
	if !s.StateSince.IsZero() && !s.Time.IsZero() {
		state += " for " + roughDuration(s.Time.Sub(s.StateSince))
	}
	line("State", "%s", state)
	line("Source", "%s", orDash(s.Source))
	line("Missed pulses", "%d, holdover entered %d times", sys.MissedPulses, sys.HoldoverEntries)
	line("Outliers", "%d samples rejected", sys.RejectedSamples)
	if t := s.Temperature; t != nil {
		writeTemperature(line, t)
	}
	if s.PPS.Device != "" || s.PPS.State != "" {
		pps := fmt.Sprintf("%s on %s (%s)", orDash(s.PPS.State), orDash(s.PPS.Device), orDash(s.PPS.Backend))
		if s.PPS.Pulses > 0 {
			pps += ", jitter " + s.PPS.Jitter.String()
		}
		if s.PPS.LowPrecision {
			pps += ", low precision"
		}
		line("PPS", "%s", pps)
	}
	if s.GPS.Device != "" || s.GPS.State != "" {
		line("GPS", "%s on %s, %d of %d satellites used", orDash(s.GPS.State), orDash(s.GPS.Device), s.GPS.SatsUsed, s.GPS.SatsInView)
		if n := sumCounts(s.GPS.ParserPanics); n > 0 {
			line("GPS panics", "%d sentences crashed the NMEA parser and were dropped %v", n, s.GPS.ParserPanics)
		}
	}
	line("Requests", "%d received, %d answered", s.Server.Received, s.Server.Answered)
	if n := s.Server.NTS; n != nil {
		line("NTS", "%d key exchanges, %d cookies issued, %d requests served, %d NAKs",
			n["ke_sessions"], n["cookies_issued"], n["requests"], n["naks"])
	}
	if !sys.ClockAdjust {
		line("Clock", "NOT adjusted (--no-clock-adjust): the daemon only watches")
	}
	line("Uptime", "%s (version %s)", roughDuration(s.Uptime), orDash(s.Version))
}

// writeTemperature prints the temperature and the learnt curve.
func writeTemperature(line func(string, string, ...any), t *Temperature) {
	temp := "no reading"
	if t.Celsius != nil {
		temp = fmt.Sprintf("%.1f °C (crystal %.1f °C)", *t.Celsius, *t.CrystalCelsius)
	}
	if t.ReadErrors > 0 {
		temp += fmt.Sprintf(", %d failed readings", t.ReadErrors)
	}
	line("Temperature", "%s", temp)
	switch {
	case t.Samples == 0:
		line("Temp. model", "learning (nothing yet)")
	case !t.Active:
		line("Temp. model", "learning (%d samples)", t.Samples)
	default:
		line("Temp. model", "%.3f ppm/°C here, ±%.3f ppm over %.1f..%.1f °C, %d samples", t.SlopePPMPerC, t.SigmaPPM, t.MinCelsius, t.MaxCelsius, t.Samples)
		line("Temp. curve", "%.3f %+.4f·x %+.4f·x² ppm, x = (T - %.1f °C)/10", t.Coefficients[0], t.Coefficients[1], t.Coefficients[2], t.RefCelsius)
	}
}

// sumCounts is the total of counts by kind.
func sumCounts(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.9f", d.Seconds()) }

func signedSeconds(d time.Duration) string { return fmt.Sprintf("%+.9f", d.Seconds()) }

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func leapStatus(leap, pending string) string {
	var s string
	switch leap {
	case "none":
		s = "Normal"
	case "insert":
		s = "Insert second"
	case "delete":
		s = "Delete second"
	case "unsynchronised", "":
		s = "Not synchronised"
	default:
		s = leap
	}
	if pending != "" {
		s += " (next leap second " + pending + ")"
	}
	return s
}

// roughDuration renders d to the second, the way people say it.
func roughDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	h, m, sec := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	if days > 0 || h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if days > 0 || h > 0 || m > 0 {
		fmt.Fprintf(&b, "%02dm", m)
	}
	fmt.Fprintf(&b, "%02ds", sec)
	return strings.TrimPrefix(b.String(), "0")
}
