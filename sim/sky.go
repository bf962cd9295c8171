package sim

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// skySat is one simulated satellite: its pass over the sky is a slow
// rotation in azimuth and a sinusoid in elevation, which is enough for the
// dashboard's sky view and the receiver's satellite counts.
type skySat struct {
	talker   string // GP, GL, GA
	prn      int
	az0, el0 float64 // degrees at the epoch of the run
	phase    float64 // radians
}

var constellation = []skySat{
	{"GP", 2, 40, 60, 0.3}, {"GP", 5, 120, 35, 1.1}, {"GP", 12, 200, 70, 2.0},
	{"GP", 15, 280, 25, 2.9}, {"GP", 24, 330, 45, 3.7}, {"GP", 29, 80, 15, 4.4},
	{"GL", 67, 160, 50, 5.1}, {"GL", 77, 250, 30, 0.8}, {"GA", 7, 20, 40, 1.7},
	{"GA", 19, 300, 55, 2.5},
}

// position returns a satellite's azimuth and elevation at t.
func (s skySat) position(t time.Time) (az, el int) {
	// A GPS orbit takes about 12 hours; the pass is slower still as seen
	// from the ground, which does not matter for a simulation.
	h := float64(t.Unix()%43200) / 43200 * 2 * math.Pi
	a := math.Mod(s.az0+h*180/math.Pi+360, 360)
	e := s.el0 + 25*math.Sin(h+s.phase)
	return int(a), int(math.Max(-5, math.Min(90, e)))
}

// SkySentences returns the GSA and GSV sentences of the simulated sky at t:
// every satellite above the horizon is in view, those above 10 degrees are
// used in the fix.
func SkySentences(t time.Time) []string {
	type view struct {
		s      skySat
		az, el int
	}
	byTalker := map[string][]view{}
	var used []string
	for _, s := range constellation {
		az, el := s.position(t)
		if el < 0 {
			continue
		}
		byTalker[s.talker] = append(byTalker[s.talker], view{s, az, el})
		if el >= 10 {
			used = append(used, fmt.Sprintf("%02d", s.prn))
		}
	}
	for len(used) < 12 {
		used = append(used, "")
	}
	out := []string{sentence("GNGSA,A,3," + strings.Join(used[:12], ",") + ",1.50,0.90,1.20")}
	for _, talker := range []string{"GP", "GL", "GA"} {
		vs := byTalker[talker]
		pages := (len(vs) + 3) / 4
		for p := 0; p < pages; p++ {
			var b strings.Builder
			fmt.Fprintf(&b, "%sGSV,%d,%d,%02d", talker, pages, p+1, len(vs))
			for _, v := range vs[p*4 : min(len(vs), p*4+4)] {
				snr := 20 + v.el/3
				fmt.Fprintf(&b, ",%02d,%02d,%03d,%02d", v.s.prn, v.el, v.az, snr)
			}
			out = append(out, sentence(b.String()))
		}
	}
	return out
}
