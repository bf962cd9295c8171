package access_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"stratum1/access"
	"stratum1/ntp"
	"stratum1/server"
	"stratum1/server/control"
	"stratum1/status"
)

// sourcer sends datagrams from any address in 127.0.0.0/8 through one
// socket (IP_PKTINFO picks the source per packet) and, being bound to the
// wildcard address, receives the replies to all of them.
type sourcer struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	port int
	dst  *net.UDPAddr

	track   map[netip.Addr]bool // addresses whose replies are kept
	mu      sync.Mutex
	replies map[netip.Addr][]reply
	others  int // replies to untracked addresses, only counted
}

type reply struct {
	size    int
	stratum uint8
	refid   ntp.RefID
	mode    ntp.Mode
}

func newSourcer(t *testing.T, dst netip.AddrPort, track ...netip.Addr) *sourcer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	pc := ipv4.NewPacketConn(conn)
	if err := pc.SetControlMessage(ipv4.FlagDst, true); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &sourcer{conn: conn, pc: pc, port: conn.LocalAddr().(*net.UDPAddr).Port,
		dst: net.UDPAddrFromAddrPort(dst), replies: map[netip.Addr][]reply{}, track: map[netip.Addr]bool{}}
	for _, a := range track {
		s.track[a] = true
	}
	done := make(chan struct{})
	go s.read(done)
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *sourcer) read(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 2048)
	for {
		n, cm, _, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if cm == nil {
			continue
		}
		to, _ := netip.AddrFromSlice(cm.Dst.To4())
		r := reply{size: n}
		var h ntp.Header
		if h.Decode(buf[:n]) == nil {
			r.stratum, r.refid, r.mode = h.Stratum, h.RefID, h.Mode
		} else if n > 0 {
			r.mode = ntp.Mode(buf[0] & 7)
		}
		s.mu.Lock()
		if s.track[to] {
			s.replies[to] = append(s.replies[to], r)
		} else {
			s.others++
		}
		s.mu.Unlock()
	}
}

func (s *sourcer) send(t *testing.T, from netip.Addr, pkt []byte) {
	cm := &ipv4.ControlMessage{Src: from.AsSlice()}
	if _, err := s.pc.WriteTo(pkt, cm, s.dst); err != nil {
		t.Fatalf("send from %s: %v", from, err)
	}
}

func (s *sourcer) got(a netip.Addr) []reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]reply(nil), s.replies[a]...)
}

func (s *sourcer) total() (n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = s.others
	for _, r := range s.replies {
		n += len(r)
	}
	return n
}

func clientRequest() []byte {
	b := make([]byte, ntp.HeaderLen)
	h := ntp.Header{Version: 4, Mode: ntp.ModeClient, XmitTime: ntp.TimeFrom(time.Now())}
	h.Encode(b)
	return b
}

func startResponder(t *testing.T, opts ...server.Option) *server.Responder {
	t.Helper()
	var state atomic.Pointer[ntp.ServerState]
	state.Store(&ntp.ServerState{Leap: ntp.LeapNone, Stratum: 1, Precision: -20, RefID: ntp.RefPPS, RefTime: time.Now()})
	opts = append(opts, server.WithLogger(slog.New(slog.DiscardHandler)))
	r, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, &state, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestFloodThroughResponder floods the real responder from 100,000
// distinct loopback addresses, three times what the client table holds,
// while an abuser polls every 10 ms and an honest client polls as the
// Pool monitor does.
func TestFloodThroughResponder(t *testing.T) {
	cfg := access.DefaultConfig()
	cfg.RateLimit.Table = "1MiB"
	cfg.Loopback = access.ActionServe // loopback stands in for the internet here
	const budget = 1 << 20
	heap0 := heapInUse()
	p, err := access.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	abuser := netip.MustParseAddr("127.200.0.1")
	honest := netip.MustParseAddr("127.201.0.1")
	r := startResponder(t, server.WithPolicy(p))
	src := newSourcer(t, r.Addrs()[0], abuser, honest)
	heap1 := heapInUse()
	req := clientRequest()

	const flood = 100_000
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	honestAsked := 0
	abuserSent := 0
	for i := range flood {
		if time.Now().After(deadline) {
			t.Fatalf("flood took longer than 20 s (sent %d)", i)
		}
		a := netip.AddrFrom4([4]byte{127, 1 + byte(i>>16), byte(i >> 8), byte(i)})
		src.send(t, a, req)
		if i%250 == 0 {
			// Pace the flood so that the socket buffers, not the policy,
			// decide what gets lost; the tracked clients send into a
			// drained queue so that their packets are not among the lost.
			time.Sleep(2 * time.Millisecond)
		}
		if i%1000 == 0 {
			src.send(t, abuser, req)
			abuserSent++
		}
		if i%(flood/4) == flood/8 { // four queries during the flood
			src.send(t, honest, req)
			honestAsked++
		}
	}
	time.Sleep(300 * time.Millisecond) // last replies
	elapsed := time.Since(start)
	heap2 := heapInUse()

	hr := src.got(honest)
	if len(hr) != honestAsked {
		t.Errorf("honest client got %d answers to %d requests", len(hr), honestAsked)
	}
	for _, x := range hr {
		if x.stratum != 1 || x.size != ntp.HeaderLen {
			t.Errorf("honest client got %+v", x)
		}
	}
	var served, kissed int
	for _, x := range src.got(abuser) {
		switch {
		case x.stratum == 0 && x.refid == ntp.KissRATE:
			kissed++
		case x.stratum == 1:
			served++
		default:
			t.Errorf("abuser got %+v", x)
		}
	}
	maxServed := cfg.RateLimit.Burst + int(elapsed/cfg.RateLimit.Interval) + 1
	if served > maxServed || served < cfg.RateLimit.Burst {
		t.Errorf("abuser served %d times of %d in %v, want %d to %d", served, abuserSent, elapsed, cfg.RateLimit.Burst, maxServed)
	}
	if kissed < 1 || kissed > int(elapsed/cfg.RateLimit.KissInterval)+1 {
		t.Errorf("abuser kissed %d times in %v", kissed, elapsed)
	}
	st := p.Stats(time.Now())
	if st.Clients > st.TableCapacity || st.TableBytes > budget {
		t.Errorf("table over budget: %+v", st)
	}
	if grew := int64(heap2) - int64(heap1); grew > 1<<20 {
		t.Errorf("heap grew by %d bytes during the flood", grew)
	}
	if total := int64(heap2) - int64(heap0); total > budget+4<<20 {
		t.Errorf("policy, responder and flood hold %d bytes of heap, budget %d", total, budget)
	}
	rc := r.Counters()
	t.Logf("%v: %d replies; abuser %d sent, %d served, %d kissed; table %+v; responder %+v; heap %d -> %d -> %d",
		elapsed, src.total(), abuserSent, served, kissed, st, rc, heap0, heap1, heap2)
	if rc.Received < flood/2 {
		t.Errorf("responder received only %d of %d", rc.Received, flood)
	}
}

// TestNoAmplificationThroughResponder sends the hostile corpus through the
// real responder from a loopback address that is not allowed to query:
// no reply may be larger than its request.
func TestNoAmplificationThroughResponder(t *testing.T) {
	cfg := access.DefaultConfig()
	cfg.Query = []string{"127.0.0.1/32"}
	p, err := access.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	snap := func() status.Snapshot {
		return status.Snapshot{System: status.System{Stratum: 1, RefID: "PPS", Leap: "none"},
			Peers: []status.Peer{{Name: "PPS", Tally: "*", RefID: "PPS", Type: "l", Reach: 0377}}}
	}
	ctl := control.New(snap, p.QueryNetworks()...)
	r := startResponder(t, server.WithPolicy(p), server.WithControl(ctl))
	outsider := netip.MustParseAddr("127.66.0.1")
	insider := netip.MustParseAddr("127.0.0.1")
	src := newSourcer(t, r.Addrs()[0], outsider, insider)

	mode6 := func(op byte, data string) []byte {
		b := make([]byte, 12+(len(data)+3)&^3)
		b[0], b[1] = 2<<3|6, op
		binary.BigEndian.PutUint16(b[2:], 7)
		binary.BigEndian.PutUint16(b[10:], uint16(len(data)))
		copy(b[12:], data)
		return b
	}
	monlist := make([]byte, 192)
	copy(monlist, []byte{0x17, 0x00, 0x03, 0x2a})
	corpus := map[string][]byte{
		"readstat": mode6(1, ""), "readvar": mode6(2, ""), "readvar peer": mode6(2, ""), "clock": mode6(4, ""),
		"mrulist": mode6(10, "nonce=1"), "nonce": mode6(12, ""), "monlist": monlist,
		"client": clientRequest(), "short": {0x16, 0x02}, "garbage": make([]byte, 300),
	}
	for _, pkt := range corpus {
		src.send(t, outsider, pkt)
	}
	src.send(t, insider, mode6(1, "")) // the allowed host still gets its answer
	time.Sleep(300 * time.Millisecond)
	for _, x := range src.got(outsider) {
		if x.size > ntp.HeaderLen || x.mode != ntp.ModeServer {
			t.Errorf("outsider got a %d-byte mode %d reply", x.size, x.mode)
		}
	}
	if n := len(src.got(outsider)); n != 1 {
		t.Errorf("outsider got %d replies, want 1 (to its client request)", n)
	}
	if got := src.got(insider); len(got) != 1 || got[0].mode != ntp.ModeControl {
		t.Errorf("allowed host got %+v", got)
	}
}
