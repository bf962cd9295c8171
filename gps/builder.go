package gps

import "time"

// builder collects the facts of one epoch.
type builder struct {
	tod     timeOfDay // the time that names the epoch (first timed sentence)
	zdaOnly bool      // tod so far comes only from ZDA
	arrival time.Time
	n       int
	emitted bool

	keys    []string // keys of the sentences seen, in order, for repeats and cycle ends
	lastKey string

	report     timeOfDay // time reported, from the most authoritative sentence
	reportPrio int

	primValid, primInvalid bool // RMC, GGA, GNS
	gllValid, gllInvalid   bool
	gsaFix                 int
	gsaSeen                bool

	rmcDated, zdaDated bool
	rmcDate, zdaDate   civilDate
	rmcTod, zdaTod     timeOfDay

	sats       int
	hdop, pdop float64
	lat, lon   float64
	alt        float64
	hasAlt     bool
	posPrio    int

	used []satID
	gsv  map[string][]Satellite // by talker, this epoch's GSV parts
}

func newBuilder(tod timeOfDay, arrival time.Time) *builder {
	return &builder{tod: tod, zdaOnly: true, arrival: arrival, sats: -1}
}

// same reports whether timed fact f belongs to this epoch: its time is
// within tolerance and it is not a second copy of a sentence already here.
func (b *builder) same(f fact, tol time.Duration) bool {
	return f.tod.leap == b.tod.leap && absTodDiff(f.tod, b.tod) <= tol && b.count(f.key) == 0
}

func (b *builder) count(key string) int {
	n := 0
	for _, k := range b.keys {
		if k == key {
			n++
		}
	}
	return n
}

// Priorities of the sentences whose time of day names the epoch.
func reportPrio(f fact) int {
	switch f.kind {
	case kindRMC:
		if f.vote == voteValid {
			return 5
		}
		return 0
	case kindGGA:
		return 4
	case kindGNS:
		return 3
	case kindGLL:
		return 2
	case kindZDA:
		return 1
	}
	return 0
}

// Priorities of position sources.
func posPrio(k kind) int {
	switch k {
	case kindGGA:
		return 4
	case kindGNS:
		return 3
	case kindRMC:
		return 2
	case kindGLL:
		return 1
	}
	return 0
}

func (b *builder) add(f fact) {
	b.n++
	key := f.key
	if f.kind == kindGSV && f.gsvNum != f.gsvTotal {
		key += "/part"
	}
	if f.hasTod {
		b.keys = append(b.keys, f.key)
	} else {
		b.keys = append(b.keys, key)
	}
	b.lastKey = key
	if f.hasTod {
		if f.kind != kindZDA {
			b.zdaOnly = false
		}
		if p := reportPrio(f); p > b.reportPrio {
			b.report, b.reportPrio = f.tod, p
		}
	}
	switch f.kind {
	case kindRMC, kindGGA, kindGNS:
		switch f.vote {
		case voteValid:
			b.primValid = true
		case voteInvalid:
			b.primInvalid = true
		}
	case kindGLL:
		switch f.vote {
		case voteValid:
			b.gllValid = true
		case voteInvalid:
			b.gllInvalid = true
		}
	}
	switch f.kind {
	case kindRMC:
		if f.hasDate && !b.rmcDated {
			b.rmcDated, b.rmcDate, b.rmcTod = true, f.date, f.tod
		}
	case kindZDA:
		if f.hasDate && !b.zdaDated {
			b.zdaDated, b.zdaDate, b.zdaTod = true, f.date, f.tod
		}
	case kindGGA, kindGNS:
		if f.sats >= 0 && b.sats < 0 {
			b.sats = f.sats
		}
		if f.hdop > 0 && b.hdop == 0 {
			b.hdop = f.hdop
		}
		if f.hasAlt && f.hasPos {
			b.alt, b.hasAlt = f.alt, true
		}
	case kindGSA:
		b.gsaSeen = true
		if f.fixType > b.gsaFix {
			b.gsaFix = f.fixType
		}
		if f.pdop > 0 && b.pdop == 0 {
			b.pdop = f.pdop
		}
		if f.hdop > 0 && b.hdop == 0 {
			b.hdop = f.hdop
		}
		for _, prn := range f.used {
			b.used = append(b.used, satID{gsaSystem(f.usedSys, prn), prn})
		}
	case kindGSV:
		if b.gsv == nil {
			b.gsv = make(map[string][]Satellite)
		}
		if f.gsvNum <= 1 {
			b.gsv[f.talker] = b.gsv[f.talker][:0]
		}
		if len(b.gsv[f.talker]) < 64 {
			b.gsv[f.talker] = append(b.gsv[f.talker], f.gsvSats...)
		}
	}
	if f.hasPos {
		if p := posPrio(f.kind); p > b.posPrio {
			b.lat, b.lon, b.posPrio = f.lat, f.lon, p
		}
	}
}

// valid decides whether the receiver stands behind a fix this epoch. The
// fix sentences (RMC, GGA, GNS) decide; one saying no fix outweighs
// another saying fix, because a timing receiver should be trusted only
// when it agrees with itself. GLL counts only when nothing else speaks.
func (b *builder) valid() bool {
	switch {
	case b.primValid || b.primInvalid:
		return b.primValid && !b.primInvalid
	default:
		return b.gllValid && !b.gllInvalid
	}
}

// sky merges this epoch's GSV into one view, or nil when there was none.
func (b *builder) sky() []Satellite {
	if len(b.gsv) == 0 {
		return nil
	}
	var out []Satellite
	for _, list := range b.gsv {
	next:
		for _, s := range list {
			// Multi-band receivers list a satellite once per signal.
			for i := range out {
				if out[i].System == s.System && out[i].PRN == s.PRN {
					if s.SNR > out[i].SNR {
						out[i].SNR = s.SNR
					}
					continue next
				}
			}
			out = append(out, s)
		}
	}
	sortSky(out)
	return out
}

// gsaSystem names the system of a PRN in a GSA. A combined (GN) GSA
// without a system ID uses the NMEA PRN ranges.
func gsaSystem(sys string, prn int) string {
	if sys != "GN" {
		return sys
	}
	switch {
	case prn >= 1 && prn <= 64:
		return "GP" // GPS and SBAS, both reported in GPGSV
	case prn >= 65 && prn <= 96:
		return "GL"
	}
	return "GN"
}
