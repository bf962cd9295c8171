package gps

import (
	"errors"
	"strconv"
	"strings"

	nmea "github.com/adrianmo/go-nmea"
)

// kind is the role a sentence plays in epoch assembly.
type kind uint8

const (
	kindOther kind = iota
	kindRMC
	kindGGA
	kindGNS
	kindGLL
	kindZDA
	kindGSA
	kindGSV
)

// timeOfDay is a receiver's time of day. A leap second (second 60) is kept
// as second 59 with leap set, so 23:59:60 and the following 00:00:00 stay
// apart and both map onto the POSIX timeline.
type timeOfDay struct {
	ms   int // milliseconds since midnight, 0..86399999
	leap bool
}

const msPerDay = 86400000

// civilDate is a calendar date with a four-digit year.
type civilDate struct{ y, m, d int }

func (d civilDate) valid() bool {
	return d.y > 0 && d.m >= 1 && d.m <= 12 && d.d >= 1 && d.d <= 31
}

// vote is what a sentence says about the fix.
type vote uint8

const (
	voteNone vote = iota
	voteValid
	voteInvalid
)

// fact is what the assembler needs from one sentence.
type fact struct {
	kind   kind
	talker string
	key    string // talker + type, to spot a repeated sentence

	tod     timeOfDay
	hasTod  bool
	date    civilDate
	hasDate bool
	vote    vote

	sats     int // GGA/GNS satellites used; -1 unknown
	hdop     float64
	pdop     float64
	fixType  int // GSA 1/2/3, 0 unknown
	used     []int
	usedSys  string
	lat, lon float64
	alt      float64
	hasPos   bool
	hasAlt   bool

	// GSV
	gsvTotal, gsvNum, gsvInView int
	gsvSats                     []Satellite
}

var errChecksum = errors.New("nmea checksum mismatch")

// errUnused stops go-nmea before its per-type parser for a sentence the
// assembler does not read: it only needs the talker and type, and a
// sentence nobody reads cannot crash the daemon (go-nmea v1.10.0 panics on a
// TXT with fewer than four fields, which receivers print at start-up).
var errUnused = errors.New("sentence type not used")

// assembled reports whether the assembler reads sentences of type typ
// (after retagProprietary). Only these reach go-nmea's per-type parsers.
func assembled(typ string) bool {
	switch typ {
	case nmea.TypeRMC, nmea.TypeGGA, nmea.TypeGNS, nmea.TypeGLL, nmea.TypeZDA, nmea.TypeGSA, nmea.TypeGSV:
		return true
	}
	return false
}

// parser wraps go-nmea's SentenceParser with the leniency real receivers
// need. It is not safe for concurrent use.
type parser struct {
	p        nmea.SentenceParser
	strict   nmea.SentenceParser
	crcError bool
	base     nmea.BaseSentence // the last sentence past the checksum
}

func newParser() *parser {
	ps := &parser{}
	ps.p = nmea.SentenceParser{
		CheckCRC: func(s nmea.BaseSentence, rawFields string) error {
			if err := nmea.CheckCRC(s, rawFields); err != nil {
				ps.crcError = true
				return err
			}
			return nil
		},
		OnBaseSentence: func(s *nmea.BaseSentence) error {
			retagProprietary(s)
			ps.base = *s
			if !assembled(s.Type) {
				return errUnused
			}
			return nil
		},
		// Receivers bend the standard in fields a time decoder does not
		// need (an odd magnetic variation, a short RMC, an unknown mode
		// letter); go-nmea rejects the whole sentence then. These parsers
		// try go-nmea's own first and fall back to reading the fields
		// that matter one by one.
		CustomParsers: map[string]nmea.ParserFunc{
			nmea.TypeRMC: ps.lenient(lenientRMC),
			nmea.TypeGGA: ps.lenient(lenientGGA),
			nmea.TypeZDA: ps.lenient(lenientZDA),
			nmea.TypeGLL: ps.lenient(lenientGLL),
			nmea.TypeGNS: ps.lenient(lenientGNS),
		},
	}
	return ps
}

func (ps *parser) lenient(fallback func(nmea.BaseSentence) (nmea.Sentence, error)) nmea.ParserFunc {
	return func(s nmea.BaseSentence) (nmea.Sentence, error) {
		// s has passed the checksum; the strict parser re-checks it (cheap).
		if m, err := ps.strict.Parse(s.Raw); err == nil {
			return m, nil
		}
		return fallback(s)
	}
}

// retagProprietary maps Quectel's $PQGSV/$PQGSA (GSV/GSA for BeiDou,
// Galileo or QZSS, named by a trailing NMEA 4.11 system ID) onto the
// standard types with the system's talker.
func retagProprietary(s *nmea.BaseSentence) {
	if s.Talker != "P" || (s.Type != "QGSV" && s.Type != "QGSA") || len(s.Fields) == 0 {
		return
	}
	s.Type = s.Type[1:]
	s.Talker = systemTalker(s.Fields[len(s.Fields)-1])
}

// systemTalker maps an NMEA 4.11 GNSS system ID to the talker ID of that system.
func systemTalker(id string) string {
	switch id {
	case "1":
		return "GP"
	case "2":
		return "GL"
	case "3":
		return "GA"
	case "4":
		return "GB"
	case "5":
		return "QZ"
	case "6":
		return "GI"
	}
	return "GN"
}

// canonicalTalker folds the talker IDs of one system together.
func canonicalTalker(t string) string {
	switch t {
	case "BD":
		return "GB"
	case "GQ", "PQ":
		return "QZ"
	}
	return t
}

// parse turns one line into a fact. It returns errChecksum for a checksum
// mismatch or missing checksum, a *ParserPanic when go-nmea panicked on the
// line, another error for a line that is not a usable sentence.
func (ps *parser) parse(line string) (fact, error) {
	ps.crcError = false
	ps.base = nmea.BaseSentence{}
	s, err := guardedParse(&ps.p, line)
	var unsupported *nmea.NotSupportedError
	var crashed *ParserPanic
	switch {
	case err == nil:
	case ps.crcError:
		return fact{}, errChecksum
	case errors.As(err, &crashed):
		return fact{}, err
	case (err == errUnused || errors.As(err, &unsupported)) && ps.base.Type != "":
		// A sentence this decoder has no use for: fine, and it still
		// marks where a receiver's cycle ends.
		return fact{kind: kindOther, talker: ps.base.Talker, key: ps.base.Talker + ps.base.Type, sats: -1}, nil
	default:
		return fact{}, err
	}
	return toFact(s)
}

func toFact(s nmea.Sentence) (fact, error) {
	f := fact{talker: canonicalTalker(s.TalkerID()), sats: -1}
	f.key = s.TalkerID() + s.DataType()
	switch m := s.(type) {
	case nmea.RMC:
		f.kind = kindRMC
		f.setTime(m.Time)
		switch {
		case m.Validity == nmea.ValidRMC && !badMode(m.FFAMode):
			f.vote = voteValid
			// gpsd's rule, and a sound one: a void RMC's date is often a
			// placeholder, so only a valid RMC dates the epoch.
			if m.Date.Valid {
				f.date = civilDate{pivotYear(m.Date.YY), m.Date.MM, m.Date.DD}
				f.hasDate = f.date.valid()
			}
		default:
			f.vote = voteInvalid
		}
		f.lat, f.lon, f.hasPos = m.Latitude, m.Longitude, f.vote == voteValid
	case nmea.GGA:
		f.kind = kindGGA
		f.setTime(m.Time)
		switch m.FixQuality {
		case nmea.GPS, nmea.DGPS, nmea.PPS, nmea.RTK, nmea.FRTK:
			f.vote = voteValid
		default:
			// 0, empty, and 6 (dead reckoning): no satellite fix.
			f.vote = voteInvalid
		}
		f.sats = int(m.NumSatellites)
		f.hdop = m.HDOP
		f.lat, f.lon, f.alt = m.Latitude, m.Longitude, m.Altitude
		f.hasPos = f.vote == voteValid
		f.hasAlt = len(m.Fields) > 8 && m.Fields[8] != ""
	case nmea.GNS:
		f.kind = kindGNS
		f.setTime(m.Time)
		f.vote = voteInvalid
		for _, c := range m.Mode {
			switch c {
			case nmea.AutonomousGNS, nmea.DifferentialGNS, nmea.PreciseGNS, nmea.RealTimeKinematicGNS, nmea.FloatRTKGNS:
				f.vote = voteValid
			}
		}
		f.sats = int(m.SVs)
		f.hdop = m.HDOP
		f.lat, f.lon, f.alt = m.Latitude, m.Longitude, m.Altitude
		f.hasPos = f.vote == voteValid
		f.hasAlt = len(m.Fields) > 8 && m.Fields[8] != ""
	case nmea.GLL:
		f.kind = kindGLL
		f.setTime(m.Time)
		f.vote = voteInvalid
		if m.Validity == nmea.ValidGLL && !badMode(m.FFAMode) {
			f.vote = voteValid
		}
		f.lat, f.lon, f.hasPos = m.Latitude, m.Longitude, f.vote == voteValid
	case nmea.ZDA:
		f.kind = kindZDA
		f.setTime(m.Time)
		y := int(m.Year)
		if y > 0 && y < 100 {
			y = pivotYear(y)
		}
		f.date = civilDate{y, int(m.Month), int(m.Day)}
		f.hasDate = f.date.valid()
	case nmea.GSA:
		f.kind = kindGSA
		f.fixType, _ = strconv.Atoi(m.FixType)
		f.pdop, f.hdop = m.PDOP, m.HDOP
		f.usedSys = f.talker
		if f.talker == "GN" && m.SystemID > 0 {
			f.usedSys = systemTalker(strconv.FormatInt(m.SystemID, 10))
		}
		for _, sv := range m.SV {
			if n, err := strconv.Atoi(sv); err == nil && n > 0 {
				f.used = append(f.used, n)
			}
		}
	case nmea.GSV:
		f.kind = kindGSV
		f.gsvTotal, f.gsvNum, f.gsvInView = int(m.TotalMessages), int(m.MessageNumber), int(m.NumberSVsInView)
		for _, in := range m.Info {
			if in.SVPRNNumber <= 0 {
				continue
			}
			f.gsvSats = append(f.gsvSats, Satellite{
				System: f.talker, PRN: int(in.SVPRNNumber),
				Elevation: int(in.Elevation), Azimuth: int(in.Azimuth), SNR: int(in.SNR),
			})
		}
	default:
		f.kind = kindOther
	}
	return f, nil
}

// badMode reports an NMEA 2.3 mode indicator that withdraws the fix:
// N (not valid) or E (estimated, dead reckoning).
func badMode(m string) bool { return m == "N" || m == "E" }

// pivotYear expands a two-digit year the way gpsd does: 69..99 are 19xx.
func pivotYear(yy int) int {
	if yy >= 69 {
		return 1900 + yy
	}
	return 2000 + yy
}

func (f *fact) setTime(t nmea.Time) {
	if !t.Valid || t.Hour > 23 || t.Minute > 59 || t.Second > 60 || t.Millisecond > 999 {
		return
	}
	sec := t.Second
	if sec == 60 {
		sec, f.tod.leap = 59, true
	}
	f.tod.ms = ((t.Hour*60+t.Minute)*60+sec)*1000 + t.Millisecond
	f.hasTod = true
}

// Fallbacks: read only the fields the assembler uses, each on its own, so
// one odd field does not lose the sentence. The time (and for RMC the
// status and date) must still parse.

func field(s nmea.BaseSentence, i int) string {
	if i < len(s.Fields) {
		return strings.TrimSpace(s.Fields[i])
	}
	return ""
}

func timeField(s nmea.BaseSentence, i int) (nmea.Time, error) {
	return nmea.ParseTime(field(s, i))
}

func floatField(s nmea.BaseSentence, i int) float64 {
	v, _ := strconv.ParseFloat(field(s, i), 64)
	return v
}

func latLong(s nmea.BaseSentence, i int) float64 {
	v, err := nmea.ParseLatLong(field(s, i) + " " + field(s, i+1))
	if err != nil {
		return 0
	}
	return v
}

func lenientRMC(s nmea.BaseSentence) (nmea.Sentence, error) {
	if len(s.Fields) < 9 {
		return nil, errors.New("nmea: RMC too short")
	}
	t, err := timeField(s, 0)
	if err != nil {
		return nil, err
	}
	d, err := nmea.ParseDate(field(s, 8))
	if err != nil {
		return nil, err
	}
	v := field(s, 1)
	if v != nmea.ValidRMC && v != nmea.InvalidRMC && v != "" {
		return nil, errors.New("nmea: RMC bad status " + v)
	}
	return nmea.RMC{BaseSentence: s, Time: t, Validity: v, Date: d,
		Latitude: latLong(s, 2), Longitude: latLong(s, 4), FFAMode: field(s, 11)}, nil
}

func lenientGGA(s nmea.BaseSentence) (nmea.Sentence, error) {
	if len(s.Fields) < 9 {
		return nil, errors.New("nmea: GGA too short")
	}
	t, err := timeField(s, 0)
	if err != nil {
		return nil, err
	}
	q := field(s, 5)
	if len(q) > 1 || q != "" && (q[0] < '0' || q[0] > '9') {
		return nil, errors.New("nmea: GGA bad quality " + q)
	}
	n, _ := strconv.Atoi(field(s, 6))
	return nmea.GGA{BaseSentence: s, Time: t, FixQuality: q, NumSatellites: int64(n),
		HDOP: floatField(s, 7), Altitude: floatField(s, 8),
		Latitude: latLong(s, 1), Longitude: latLong(s, 3)}, nil
}

func lenientZDA(s nmea.BaseSentence) (nmea.Sentence, error) {
	t, err := timeField(s, 0)
	if err != nil {
		return nil, err
	}
	var dmy [3]int64
	for i := range dmy {
		if dmy[i], err = strconv.ParseInt(field(s, 1+i), 10, 64); err != nil {
			return nmea.ZDA{BaseSentence: s, Time: t}, nil // time without date
		}
	}
	return nmea.ZDA{BaseSentence: s, Time: t, Day: dmy[0], Month: dmy[1], Year: dmy[2]}, nil
}

func lenientGLL(s nmea.BaseSentence) (nmea.Sentence, error) {
	if len(s.Fields) < 6 {
		return nil, errors.New("nmea: GLL too short")
	}
	t, err := timeField(s, 4)
	if err != nil {
		return nil, err
	}
	return nmea.GLL{BaseSentence: s, Time: t, Validity: field(s, 5), FFAMode: field(s, 6),
		Latitude: latLong(s, 0), Longitude: latLong(s, 2)}, nil
}

func lenientGNS(s nmea.BaseSentence) (nmea.Sentence, error) {
	if len(s.Fields) < 9 {
		return nil, errors.New("nmea: GNS too short")
	}
	t, err := timeField(s, 0)
	if err != nil {
		return nil, err
	}
	var mode []string
	for _, c := range field(s, 5) {
		mode = append(mode, string(c))
	}
	n, _ := strconv.Atoi(field(s, 6))
	return nmea.GNS{BaseSentence: s, Time: t, Mode: mode, SVs: int64(n),
		HDOP: floatField(s, 7), Altitude: floatField(s, 8),
		Latitude: latLong(s, 1), Longitude: latLong(s, 3)}, nil
}
