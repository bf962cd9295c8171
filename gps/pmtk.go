package gps

import (
	"fmt"
	"strconv"
	"strings"
)

// PMTK is MediaTek's NMEA-framed command set (MT3329, MT3339 and the
// modules built on them): "$PMTKnnn,..." commands, answered by
// "$PMTK001,nnn,flag" (flag 3 success, 2 failed, 1 unsupported, 0 invalid)
// and, for queries, a "$PMTK7nn" reply.

// pmtk frames a PMTK command body as a sentence with checksum and CRLF.
func pmtk(body string) []byte {
	return []byte(sentenceOf(body) + "\r\n")
}

// sentenceOf frames an NMEA body with '$' and its checksum.
func sentenceOf(body string) string {
	var sum byte
	for i := 0; i < len(body); i++ {
		sum ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X", body, sum)
}

// pmtkQueryRelease asks for the firmware release (answered by PMTK705).
const pmtkQueryRelease = "PMTK605"

// pmtkOutput is PMTK314: the sentences out and how often, in the order
// GLL, RMC, VTG, GGA, GSA, GSV, GRS, GST, nine reserved, ZDA, MCHN; 1 is
// every fix.
func pmtkOutput() string {
	rates := []string{"0", "1", "0", "1", "1", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "1", "0"}
	return "PMTK314," + strings.Join(rates, ",")
}

// pmtkAck reads a PMTK001 answer to command cmd: acked, refused (with why),
// or no answer to it (ok false).
func pmtkAck(line, cmd string) (acked bool, why string, ok bool) {
	if !ChecksumOK([]byte(line)) {
		return false, "", false
	}
	f := strings.Split(trimChecksum(line), ",")
	if len(f) != 3 || f[0] != "$PMTK001" || f[1] != strings.TrimPrefix(cmd, "PMTK") {
		return false, "", false
	}
	switch n, _ := strconv.Atoi(f[2]); n {
	case 3:
		return true, "", true
	case 2:
		return false, "valid command, but it failed", true
	case 1:
		return false, "command not supported", true
	default:
		return false, "invalid command", true
	}
}

// trimChecksum drops "*hh" from a sentence.
func trimChecksum(line string) string {
	if i := strings.LastIndexByte(line, '*'); i >= 0 {
		return line[:i]
	}
	return line
}

// pmtkPlan is the MediaTek configuration, in the order it is sent.
func pmtkPlan(o ConfigureOptions) []ConfigStep {
	var steps []ConfigStep
	add := func(desc, body string) {
		steps = append(steps, ConfigStep{Desc: desc, Bytes: pmtk(body), pmtkCmd: body[:7]})
	}
	// The PPS settings first: a module cannot be asked for them, so when
	// it refuses one nothing else has changed yet; the output and rate,
	// which can be read back and restored, follow.
	add(fmt.Sprintf("PPS always on, %v wide (PMTK285,4,%d)", o.PulseWidth, o.PulseWidth.Milliseconds()),
		fmt.Sprintf("PMTK285,4,%d", o.PulseWidth.Milliseconds()))
	add("PPS synchronised with the NMEA output (PMTK255,1)", "PMTK255,1")
	add("NMEA RMC, GGA, GSA, GSV and ZDA every fix, the rest off (PMTK314)", pmtkOutput())
	add("one fix a second (PMTK220,1000)", "PMTK220,1000")
	if o.Baud > 0 {
		// PMTK251 is not acknowledged: the module changes rate at once.
		steps = append(steps, ConfigStep{Desc: fmt.Sprintf("serial port at %d baud (PMTK251)", o.Baud),
			Bytes: pmtk(fmt.Sprintf("PMTK251,%d", o.Baud)), BaudAfter: o.Baud})
	}
	return steps
}
