package control

import (
	"fmt"
	"math/bits"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"stratum1/ntp"
	"stratum1/status"
)

// variable is one name=value pair as it goes on the wire. Values are
// already formatted: numbers bare, strings quoted, timestamps in ntpd's
// 0xSSSSSSSS.FFFFFFFF.
type variable struct{ name, value string }

// association is one source as mode 6 shows it.
type association struct {
	id       uint16
	status   uint16 // peer status word
	refclock bool
	peer     status.Peer
	vars     []variable
	clock    []variable // clock variables (opcode 4), refclocks only
	srcadr   string
	srcport  string
}

// addrPort is the association's address and port as ntpd's peeradr
// shows it.
func (a association) addrPort() string {
	if strings.Contains(a.srcadr, ":") {
		return "[" + a.srcadr + "]:" + a.srcport
	}
	return a.srcadr + ":" + a.srcport
}

// view is a Snapshot rendered for mode 6.
type view struct {
	leap   uint8
	status uint16 // system status word
	vars   []variable
	assocs []association
}

// Peer status word: the high byte's top bits say what the association is,
// its low three bits how selection used it (ntpq's tally code).
const (
	pstConfig = 0x80
	pstReach  = 0x10
)

var tallySelect = map[string]uint16{
	" ": 0, "x": 1, ".": 2, "-": 3, "+": 4, "#": 5, "*": 6, "o": 7,
}

// System status word clock sources.
const (
	sstUnspec = 0
	sstAtom   = 1 // PPS
	sstUHF    = 4 // GPS, as ntpd's NMEA driver reports it
	sstNTP    = 6
)

// refclock addresses follow ntpd's 127.127.type.unit convention, so that
// classic ntpq names them too: type 20 is GPS_NMEA, 22 is PPS (ATOM).
var refclockType = map[string]int{"GPS": 20, "PPS": 22}

func leapCode(s string, stratum uint8) uint8 {
	switch s {
	case "none":
		return 0
	case "insert":
		return 1
	case "delete":
		return 2
	case "":
		if stratum > 0 && stratum < 16 {
			return 0
		}
	}
	return 3
}

func ms(d time.Duration) string { return fmt.Sprintf("%.6f", float64(d)/float64(time.Millisecond)) }

func stamp(t time.Time) string {
	if t.IsZero() {
		return "0x00000000.00000000"
	}
	ts := ntp.TimeFrom(t)
	return fmt.Sprintf("0x%08x.%08x", ts.Seconds(), ts.Fraction())
}

func log2s(d time.Duration, deflt int) string {
	s := int64(d / time.Second)
	if s <= 0 {
		return fmt.Sprint(deflt)
	}
	return fmt.Sprint(bits.Len64(uint64(s)) - 1)
}

// quote makes s a quoted value that cannot break the name=value list.
func quote(s string) string { return `"` + clean(s, `"`) + `"` }

// bare makes s an unquoted value: no separators, quotes or spaces.
func bare(s string) string { return clean(s, `",= `) }

func clean(s, forbidden string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || strings.ContainsRune(forbidden, r) {
			return '?'
		}
		return r
	}, s)
}

func refidText(r string) string {
	r = strings.Trim(r, ".")
	if r == "" {
		return "INIT"
	}
	return bare(r)
}

// render builds the mode 6 view of a snapshot. Association IDs are the
// position in Snapshot.Peers plus one, which is stable while the set of
// sources is.
func render(s status.Snapshot) view {
	sys := s.System
	v := view{leap: leapCode(sys.Leap, sys.Stratum)}
	var sysPeer uint16
	sysJitter := sys.Residual
	peerAdr, peerMode := "0.0.0.0:0", 0
	for i, p := range s.Peers {
		a := renderPeer(s, i, p)
		if p.Tally == "*" || (p.Tally == "o" && sysPeer == 0) {
			sysPeer = a.id
			sysJitter = p.Jitter
			peerAdr, peerMode = a.addrPort(), 3 // a client of it, as ntpd's hmode
		}
		v.assocs = append(v.assocs, a)
	}
	src := sstUnspec
	switch {
	case s.Source == "":
	case s.Source == "PPS":
		src = sstAtom
	case s.Source == "GPS":
		src = sstUHF
	default:
		src = sstNTP
	}
	v.status = uint16(v.leap)<<14 | uint16(src)<<8
	refid := sys.RefID
	if refid == "" {
		refid = "INIT"
	}
	version := "stratum1"
	if s.Version != "" {
		version += " " + s.Version
	}
	v.vars = []variable{
		{"version", quote(version)},
		{"processor", quote(runtime.GOARCH)},
		{"system", quote(runtime.GOOS)},
		{"leap", fmt.Sprint(v.leap)},
		{"stratum", fmt.Sprint(sys.Stratum)},
		{"precision", fmt.Sprint(sys.Precision)},
		{"rootdelay", ms(sys.RootDelay)},
		{"rootdisp", ms(sys.RootDispersion)},
		{"rootdist", ms(sys.RootDelay/2 + sys.RootDispersion)},
		{"refid", refidText(refid)},
		{"reftime", stamp(sys.RefTime)},
		{"clock", stamp(s.Time)},
		{"peer", fmt.Sprint(sysPeer)},
		{"peeradr", bare(peerAdr)},
		{"peermode", fmt.Sprint(peerMode)},
		{"tc", log2s(sys.TimeConstant, 0)},
		{"offset", ms(sys.Offset)},
		{"frequency", fmt.Sprintf("%.3f", sys.FrequencyPPM)},
		{"sys_jitter", ms(sysJitter)},
		{"clk_jitter", ms(sys.Residual)},
		{"clk_wander", fmt.Sprintf("%.3f", sys.SkewPPM)},
		{"authdelay", ms(0)},
	}
	if s.Uptime > 0 {
		v.vars = append(v.vars, variable{"uptime", fmt.Sprint(int64(s.Uptime / time.Second))})
	}
	if s.Kernel != nil {
		v.vars = append(v.vars, kernelVars(*s.Kernel)...)
	}
	return v
}

// kernelVars are what `ntpq -c kerninfo` shows: the kernel clock's state,
// in ntpd's units (milliseconds, ppm, seconds).
func kernelVars(k status.Kernel) []variable {
	return []variable{
		{"koffset", ms(k.Offset)},
		{"kfreq", fmt.Sprintf("%.6f", k.FrequencyPPM)},
		{"kmaxerr", ms(k.MaxError)},
		{"kesterr", ms(k.EstError)},
		{"kstflags", quote(kernelFlags(k.Status))},
		{"ktimeconst", fmt.Sprint(k.TimeConstant)},
		{"kprecis", ms(k.Precision)},
		{"kfreqtol", fmt.Sprintf("%.0f", k.TolerancePPM)},
		{"kppsfreq", fmt.Sprintf("%.6f", k.PPSFrequencyPPM)},
		{"kppsstab", fmt.Sprintf("%.6f", k.PPSStabilityPPM)},
		{"kppsjitter", ms(k.PPSJitter)},
		{"kppscalibdur", fmt.Sprint(int64(k.PPSInterval / time.Second))},
		{"kppscalibs", fmt.Sprint(k.PPSCalibrations)},
		{"kppsjitexc", fmt.Sprint(k.PPSJitterErrors)},
		{"kppsstbexc", fmt.Sprint(k.PPSStabErrors)},
		{"kppscaliberrs", fmt.Sprint(k.PPSCalibErrors)},
	}
}

// kernelFlags names the kernel's STA_* status bits as ntpd does.
func kernelFlags(st uint32) string {
	names := [...]string{"pll", "ppsfreq", "ppstime", "fll", "ins", "del", "unsync", "freqhold",
		"ppssignal", "ppsjitter", "ppswander", "ppserror", "clockerr", "nano", "mode=fll", "src=B"}
	var out []string
	for i, n := range names {
		if st&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, " ")
}

func renderPeer(s status.Snapshot, i int, p status.Peer) association {
	a := association{id: uint16(i + 1), peer: p}
	typ, isClock := refclockType[p.Name]
	a.refclock = p.Type == "l" || isClock
	st := uint16(pstConfig)
	if p.Reach != 0 {
		st |= pstReach
	}
	a.status = (st | tallySelect[p.Tally]) << 8

	srcadr, srcport, srchost := "0.0.0.0", "123", ""
	switch {
	case a.refclock:
		srcadr = fmt.Sprintf("127.127.%d.0", typ)
		srchost = p.Name
		if !strings.Contains(srchost, "(") {
			srchost += "(0)" // what marks a refclock to ntpsec's ntpq
		}
	default:
		if ap, err := netip.ParseAddrPort(p.Name); err == nil {
			srcadr, srcport = ap.Addr().WithZone("").String(), fmt.Sprint(ap.Port())
		} else if ad, err := netip.ParseAddr(p.Name); err == nil {
			srcadr = ad.WithZone("").String()
		} else {
			srchost = p.Name // a host name that is not resolved yet
		}
	}
	defPoll := 6
	if a.refclock {
		defPoll = 4
	}
	poll := log2s(p.Poll, defPoll)
	leap := leapCode(p.Leap, p.Stratum)
	if a.refclock && p.Leap == "" {
		// A reference clock is stratum 0 and says no leap of its own:
		// ntpd shows the leap it passes on while it is reachable, and
		// 11 (no time) only when it is not.
		leap = 3
		if p.Reach != 0 {
			leap = min(leapCode(s.System.Leap, 1), 2) // a pending leap second, else none
		}
	}
	flash := "0x0"
	if p.Reach == 0 {
		flash = "0x1000" // peer_unreach
	}

	v := []variable{{"srcadr", bare(srcadr)}, {"srcport", srcport}}
	if srchost != "" {
		v = append(v, variable{"srchost", quote(srchost)})
	}
	v = append(v,
		variable{"dstadr", "0.0.0.0"},
		variable{"dstport", "123"},
		variable{"leap", fmt.Sprint(leap)},
		variable{"stratum", fmt.Sprint(p.Stratum)},
	)
	if a.refclock {
		// A reference clock is the root: no delay or dispersion above it.
		v = append(v,
			variable{"precision", fmt.Sprint(s.System.Precision)},
			variable{"rootdelay", ms(0)},
			variable{"rootdisp", ms(0)},
		)
	} else if p.RootDist > 0 {
		v = append(v, variable{"rootdist", ms(p.RootDist)})
	}
	v = append(v, variable{"refid", refidText(p.RefID)})
	if p.Reach != 0 || p.When > 0 {
		v = append(v, variable{"rec", stamp(s.Time.Add(-p.When))})
	}
	v = append(v,
		variable{"reach", fmt.Sprintf("0x%02x", p.Reach)},
		variable{"unreach", "0"},
		variable{"hmode", "3"},
		variable{"pmode", "4"},
		variable{"hpoll", poll},
		variable{"ppoll", poll},
		variable{"headway", "0"},
		variable{"flash", flash},
		variable{"offset", ms(p.Offset)},
		variable{"delay", ms(p.Delay)},
		variable{"jitter", ms(p.Jitter)},
		variable{"xleave", ms(0)},
	)
	if p.Note != "" {
		v = append(v, variable{"note", quote(p.Note)})
	}
	a.srcadr, a.srcport = srcadr, srcport
	a.vars = v
	if a.refclock {
		a.clock = clockVars(s, p, srchost)
	}
	return a
}

// clockVars are what `ntpq -c cv` shows for a reference clock.
func clockVars(s status.Snapshot, p status.Peer, name string) []variable {
	v := []variable{{"name", quote(name)}}
	switch p.Name {
	case "GPS":
		g := s.GPS
		v = append(v,
			variable{"device", quote(g.Device)},
			variable{"state", quote(g.State)},
			variable{"poll", fmt.Sprint(g.Epochs)},
			variable{"noreply", fmt.Sprint(g.Reconnects)},
			variable{"badformat", fmt.Sprint(g.BadChecksum)},
			variable{"baddata", fmt.Sprint(g.Dropped)},
			variable{"sats_used", fmt.Sprint(g.SatsUsed)},
			variable{"hdop", fmt.Sprintf("%.1f", g.HDOP)},
		)
	case "PPS":
		pp := s.PPS
		v = append(v,
			variable{"device", quote(pp.Device)},
			variable{"state", quote(pp.State)},
			variable{"poll", fmt.Sprint(pp.Pulses)},
			variable{"noreply", fmt.Sprint(pp.Missed)},
			variable{"jitter", ms(pp.Jitter)},
		)
	}
	return v
}

// encode renders variables the way ntpd does: ", " between pairs, a line
// break instead of the space when a line would pass 72 characters, and a
// final CRLF.
func encode(vars []variable) []byte {
	var b []byte
	line := 0
	for i, v := range vars {
		item := v.name + "=" + v.value
		if i > 0 {
			if line+2+len(item) > 72 {
				b = append(b, ",\r\n"...)
				line = 0
			} else {
				b = append(b, ", "...)
				line += 2
			}
		}
		b = append(b, item...)
		line += len(item)
	}
	if len(b) > 0 {
		b = append(b, "\r\n"...)
	}
	return b
}

// selectVars returns the variables named in a request's data (a comma
// separated list, values ignored), or all of them for an empty list. An
// unknown name is an error, as in ntpd.
func selectVars(all []variable, data []byte) ([]variable, bool) {
	list := strings.TrimRight(string(data), "\x00")
	if strings.TrimSpace(list) == "" {
		return all, true
	}
	var out []variable
	for item := range strings.SplitSeq(list, ",") {
		name, _, _ := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, v := range all {
			if v.name == name {
				out = append(out, v)
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}
