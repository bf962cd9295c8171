package control

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"stratum1/status"
)

var (
	local   = netip.MustParseAddrPort("127.0.0.1:40000")
	local6  = netip.MustParseAddrPort("[::1]:40000")
	mapped  = netip.MustParseAddrPort("[::ffff:127.0.0.1]:40000")
	foreign = netip.MustParseAddrPort("192.0.2.1:123")
	victim6 = netip.MustParseAddrPort("[2001:db8::1]:123")
)

// req builds a mode 6 request.
func req(version, opcode uint8, seq, assoc uint16, data string) []byte {
	b := make([]byte, headerLen+(len(data)+3)&^3)
	b[0] = version<<3 | modeControl
	b[1] = opcode
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint16(b[6:], assoc)
	binary.BigEndian.PutUint16(b[10:], uint16(len(data)))
	copy(b[headerLen:], data)
	return b
}

type frag struct {
	version, opcode     uint8
	response, err, more bool
	seq, status, assoc  uint16
	offset, count       int
	data                []byte
}

func parseFrag(t *testing.T, b []byte) frag {
	t.Helper()
	if len(b) < headerLen || len(b)%4 != 0 || len(b) > headerLen+maxFragData {
		t.Fatalf("fragment of %d octets", len(b))
	}
	if b[0]&7 != modeControl {
		t.Fatalf("fragment mode %d", b[0]&7)
	}
	f := frag{
		version: (b[0] >> 3) & 7, opcode: b[1] & opMask,
		response: b[1]&flagResponse != 0, err: b[1]&flagError != 0, more: b[1]&flagMore != 0,
		seq: binary.BigEndian.Uint16(b[2:]), status: binary.BigEndian.Uint16(b[4:]),
		assoc:  binary.BigEndian.Uint16(b[6:]),
		offset: int(binary.BigEndian.Uint16(b[8:])), count: int(binary.BigEndian.Uint16(b[10:])),
	}
	if headerLen+f.count > len(b) {
		t.Fatalf("count %d beyond %d octets", f.count, len(b))
	}
	f.data = b[headerLen : headerLen+f.count]
	return f
}

// reassemble checks the fragments of one response and joins their data.
func reassemble(t *testing.T, frags [][]byte) (first frag, data []byte) {
	t.Helper()
	if len(frags) == 0 {
		t.Fatal("no response")
	}
	for i, b := range frags {
		f := parseFrag(t, b)
		if i == 0 {
			first = f
		}
		if !f.response || f.more != (i < len(frags)-1) || f.offset != len(data) || f.seq != first.seq {
			t.Fatalf("fragment %d of %d: %+v", i+1, len(frags), f)
		}
		data = append(data, f.data...)
	}
	return first, data
}

func TestReadVarSystem(t *testing.T) {
	h := New(fakeSnapshot, loopback...)
	for _, src := range []netip.AddrPort{local, local6, mapped} {
		f, data := reassemble(t, h.HandleControl(req(2, opReadVar, 77, 0, ""), src))
		if f.err || f.version != 2 || f.seq != 77 || f.opcode != opReadVar {
			t.Fatalf("header %+v", f)
		}
		if f.status>>14 != 0 || (f.status>>8)&0x3f != sstAtom {
			t.Errorf("system status %04x", f.status)
		}
		s := string(data)
		for _, want := range []string{"stratum=1", "refid=PPS", "leap=0", "peer=1", "offset=-0.001200", "rootdisp=1.500000",
			"reftime=0x", "frequency=-12.345", "\r\n"} {
			if !strings.Contains(s, want) {
				t.Errorf("from %s: system variables lack %q:\n%s", src, want, s)
			}
		}
	}
}

func TestReadVarSelected(t *testing.T) {
	h := New(fakeSnapshot, loopback...)
	_, data := reassemble(t, h.HandleControl(req(4, opReadVar, 1, 0, "stratum, refid"), local))
	if got := string(data); got != "stratum=1, refid=PPS\r\n" {
		t.Errorf("selected variables: %q", got)
	}
	_, data = reassemble(t, h.HandleControl(req(4, opReadVar, 1, 4, "reach,srcadr"), local))
	if got := string(data); got != "reach=0x0f, srcadr=2001:db8::5\r\n" {
		t.Errorf("selected peer variables: %q", got)
	}
}

func TestReadStatAssociations(t *testing.T) {
	h := New(fakeSnapshot, loopback...)
	_, data := reassemble(t, h.HandleControl(req(4, opReadStat, 5, 0, ""), local))
	want := []uint16{
		1, (pstConfig | pstReach | 6) << 8, // PPS, sys.peer
		2, (pstConfig | pstReach | 4) << 8, // GPS, candidate
		3, (pstConfig | pstReach | 3) << 8, // outlier
		4, (pstConfig | pstReach | 1) << 8, // falseticker
	}
	if len(data) != 2*len(want) {
		t.Fatalf("association list of %d octets", len(data))
	}
	for i, w := range want {
		if got := binary.BigEndian.Uint16(data[2*i:]); got != w {
			t.Errorf("word %d = %04x, want %04x", i, got, w)
		}
	}
	// Status of one association: its peer status word and its variables.
	f, data := reassemble(t, h.HandleControl(req(4, opReadStat, 5, 2, ""), local))
	if f.status != want[3] || !strings.Contains(string(data), `srchost="GPS(0)"`) {
		t.Errorf("readstat 2: %04x %q", f.status, data)
	}
}

func TestErrors(t *testing.T) {
	h := New(fakeSnapshot, loopback...)
	cases := []struct {
		name string
		pkt  []byte
		code uint8
	}{
		{"unknown opcode", req(4, 20, 1, 0, ""), errBadOpcode},
		{"opcode 0", req(4, opUnspec, 1, 0, ""), errBadOpcode},
		{"write variables", req(4, opWriteVar, 1, 0, "stratum=2"), errPermission},
		{"write clock", req(4, opWriteClock, 1, 1, "x=1"), errPermission},
		{"configure", req(4, opConfigure, 1, 0, "server 192.0.2.1"), errPermission},
		{"save config", req(4, opSaveConfig, 1, 0, "f"), errPermission},
		{"set trap", req(4, opSetTrap, 1, 0, ""), errPermission},
		{"unset trap", req(4, opUnsetTrap, 1, 0, ""), errPermission},
		{"mrulist", req(4, opReadMRU, 1, 0, "nonce=1"), errPermission},
		{"ordlist", req(4, opReadOrdlst, 1, 0, ""), errPermission},
		{"nonce", req(4, opReqNonce, 1, 0, ""), errPermission},
		{"async", req(4, opAsyncMsg, 1, 0, ""), errBadOpcode},
		{"unknown association", req(4, opReadVar, 1, 99, ""), errBadAssoc},
		{"clock of a peer", req(4, opReadClock, 1, 3, ""), errBadAssoc},
		{"unknown variable", req(4, opReadVar, 1, 0, "stratum,bogus"), errUnknownVar},
		{"count beyond datagram", func() []byte { b := req(4, opReadVar, 1, 0, "abcd"); b[11] = 200; return b }(), errBadFormat},
		{"more bit", req(4, opReadVar|flagMore, 1, 0, ""), errBadFormat},
		{"error bit", req(4, opReadVar|flagError, 1, 0, ""), errBadFormat},
		{"offset", func() []byte { b := req(4, opReadVar, 1, 0, ""); b[9] = 4; return b }(), errBadFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := h.HandleControl(c.pkt, local)
			if len(out) != 1 {
				t.Fatalf("%d datagrams", len(out))
			}
			f := parseFrag(t, out[0])
			if !f.err || !f.response || f.more || f.count != 0 || uint8(f.status>>8) != c.code || f.seq != 1 {
				t.Fatalf("got %+v, want error code %d", f, c.code)
			}
			if len(out[0]) > len(c.pkt) && len(c.pkt) >= headerLen {
				t.Fatalf("error response of %d octets to a request of %d", len(out[0]), len(c.pkt))
			}
		})
	}
}

func TestFragmentation(t *testing.T) {
	snap := fakeSnapshot()
	snap.Version = strings.Repeat("v", 1500) // forces several fragments
	for i := range 40 {
		snap.Peers = append(snap.Peers, status.Peer{Name: fmt.Sprintf("198.51.100.%d", i), Tally: " ", Stratum: 2, RefID: "192.0.2.1"})
	}
	h := New(func() status.Snapshot { return snap }, loopback...)
	frags := h.HandleControl(req(4, opReadVar, 9, 0, ""), local)
	if len(frags) < 4 {
		t.Fatalf("%d fragments for %d octets of version", len(frags), len(snap.Version))
	}
	_, data := reassemble(t, frags)
	if want := encode(render(snap).vars); !bytes.Equal(data, want) {
		t.Fatalf("reassembled data differs:\n%q\n%q", data, want)
	}
	for i, b := range frags[:len(frags)-1] {
		if parseFrag(t, b).count != maxFragData {
			t.Errorf("fragment %d carries %d octets, want %d", i+1, parseFrag(t, b).count, maxFragData)
		}
	}
	_, list := reassemble(t, h.HandleControl(req(4, opReadStat, 9, 0, ""), local))
	if len(list) != 4*len(snap.Peers) {
		t.Fatalf("association list of %d octets for %d peers", len(list), len(snap.Peers))
	}
}

// hostile is a corpus of packets that attackers send to NTP servers.
func hostile() map[string][]byte {
	monlist := make([]byte, 192) // ntpdc monlist (mode 7, REQ_MON_GETLIST_1)
	copy(monlist, []byte{0x17, 0x00, 0x03, 0x2a})
	client := make([]byte, 48)
	client[0] = 0x23
	c := map[string][]byte{
		"empty":            {},
		"one byte":         {0x16},
		"short mode 6":     req(2, opReadVar, 1, 0, "")[:11],
		"monlist":          monlist,
		"mode 3":           client,
		"readstat":         req(2, opReadStat, 1, 0, ""),
		"readvar":          req(2, opReadVar, 1, 0, ""),
		"readvar peer":     req(2, opReadVar, 1, 1, ""),
		"readclock":        req(2, opReadClock, 1, 0, ""),
		"mrulist":          req(2, opReadMRU, 1, 0, "nonce=abc, frags=32"),
		"nonce":            req(2, opReqNonce, 1, 0, ""),
		"configure":        req(2, opConfigure, 1, 0, "restrict default"),
		"response bit":     req(2, opReadVar|flagResponse, 1, 0, ""),
		"version 0":        req(0, opReadVar, 1, 0, ""),
		"version 7":        req(7, opReadVar, 1, 0, ""),
		"count 0xffff":     func() []byte { b := req(2, opReadVar, 1, 0, ""); b[10], b[11] = 0xff, 0xff; return b }(),
		"huge var list":    req(2, opReadVar, 1, 0, strings.Repeat("stratum,", 58)),
		"every opcode":     req(2, 31, 1, 0, ""),
		"garbage":          bytes.Repeat([]byte{0xff}, 600),
		"mode 6 zero data": make([]byte, 12),
	}
	c["mode 6 zero data"][0] = 0x16
	return c
}

// No reply larger than its request may reach an address outside the query
// networks; indeed none at all.
func TestHostileCorpus(t *testing.T) {
	h := New(fakeSnapshot, loopback...)
	for name, pkt := range hostile() {
		for _, src := range []netip.AddrPort{foreign, victim6, netip.MustParseAddrPort("[::ffff:192.0.2.1]:123")} {
			if out := h.HandleControl(pkt, src); len(out) != 0 {
				t.Errorf("%s from %s: %d datagrams", name, src, len(out))
			}
		}
		// From loopback: anything goes back that is a well-formed response.
		for _, b := range h.HandleControl(pkt, local) {
			parseFrag(t, b)
		}
	}
	c := h.Counters()
	if c.Refused != uint64(3*len(hostile())) {
		t.Errorf("counters %+v", c)
	}
}

func TestSetAllowed(t *testing.T) {
	h := New(fakeSnapshot)
	if out := h.HandleControl(req(2, opReadVar, 1, 0, ""), local); out != nil {
		t.Fatal("handler with no networks answered loopback")
	}
	h.SetAllowed(netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("::ffff:10.0.0.0/104"))
	if out := h.HandleControl(req(2, opReadVar, 1, 0, ""), foreign); len(out) == 0 {
		t.Fatal("allowed network refused")
	}
	if !h.Allowed(netip.MustParseAddr("10.1.2.3")) || h.Allowed(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("SetAllowed did not replace the networks")
	}
}

func TestRenderUnsynchronised(t *testing.T) {
	v := render(status.Snapshot{System: status.System{Stratum: 16, Leap: "unsynchronised"}})
	if v.leap != 3 || v.status>>14 != 3 || len(v.assocs) != 0 {
		t.Fatalf("%+v", v)
	}
	s := string(encode(v.vars))
	for _, want := range []string{"stratum=16", "refid=INIT", "leap=3", "peer=0", "reftime=0x00000000.00000000"} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %q: %s", want, s)
		}
	}
	// Text from the outside world cannot break the list.
	p := renderPeer(status.Snapshot{}, 0, status.Peer{Name: `bad"host, x=1`, RefID: "a,b=c\"d"})
	out := string(encode(p.vars))
	if strings.Count(out, `"`) != 2 || !strings.Contains(out, "refid=a?b?c?d") {
		t.Errorf("unsanitised: %s", out)
	}
}
