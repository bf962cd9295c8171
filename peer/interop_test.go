package peer

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"stratum1/internal/proctest"
	"stratum1/internal/testenv"
	"stratum1/ntp"
	"stratum1/status"
)

func startSet(t *testing.T, cfg Config, opts Options) *Set {
	t.Helper()
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return s
}

func rowsByName(s *Set) map[string]status.Peer {
	m := map[string]status.Peer{}
	for _, p := range s.Peers(nil) {
		m[p.Name] = p
	}
	return m
}

func fastSource(addr string) Source {
	return Source{Address: addr, IBurst: true, MinPoll: time.Second, MaxPoll: 2 * time.Second}
}

// TestChronydTrueChimers: three honest chronyd (one over IPv6) and one 5 s
// ahead through libfaketime. The Set must pick the honest ones, mark the
// shifted one a falseticker and follow the selected peer; when one honest
// server dies, its reach decays and selection goes on with the others.
func TestChronydTrueChimers(t *testing.T) {
	t.Parallel()
	faketime := testenv.Libfaketime(t)
	honest := []string{"127.0.0.2", "127.0.0.3", "::1"}
	ports := map[string]int{}
	var servers []*proctest.Proc
	for _, a := range honest {
		ports[a] = proctest.FreePort(t, "127.0.0.1")
		servers = append(servers, testenv.StartChronyd(t, a, ports[a], ""))
	}
	ports["127.0.0.5"] = proctest.FreePort(t, "127.0.0.1")
	testenv.StartChronyd(t, "127.0.0.5", ports["127.0.0.5"], "", "LD_PRELOAD="+faketime, "FAKETIME=+5s")

	name := func(a string) string {
		return netip.AddrPortFrom(netip.MustParseAddr(a), uint16(ports[a])).String()
	}
	cfg := DefaultConfig()
	for _, a := range append(honest, "127.0.0.5") {
		cfg.Servers = append(cfg.Servers, fastSource(name(a)))
	}
	s := startSet(t, cfg, Options{})

	var sel Selection
	proctest.Eventually(t, 30*time.Second, 200*time.Millisecond, "three survivors and a falseticker", func() bool {
		sel = s.Selection()
		return sel.OK && sel.Survivors == 3 && rowsByName(s)[name("127.0.0.5")].Tally == "x"
	})
	rows := rowsByName(s)
	for _, a := range honest {
		if r := rows[name(a)]; r.Tally != "*" && r.Tally != "+" {
			t.Errorf("honest %s: tally %q note %q", a, r.Tally, r.Note)
		}
	}
	shifted := rows[name("127.0.0.5")]
	if shifted.Note != "falseticker" || shifted.Offset < 4900*time.Millisecond || shifted.Offset > 5100*time.Millisecond {
		t.Errorf("shifted server row %+v, want a falseticker 5 s ahead", shifted)
	}
	if sel.Stratum != 2 {
		t.Errorf("selected peer stratum %d, want 2 (we serve 3)", sel.Stratum)
	}
	if sel.RefID != ntp.RefIDFromAddr(sel.Addr) || !containsAddr(honest, sel.Addr) || sel.Peer != name(sel.Addr.Unmap().String()) {
		t.Errorf("selected %s (%v) refid %s: not an honest server's", sel.Peer, sel.Addr, sel.RefID.Format(2))
	}
	if sel.Offset < -10*time.Millisecond || sel.Offset > 10*time.Millisecond {
		t.Errorf("combined offset %v, want within 10 ms", sel.Offset)
	}
	if len(sel.TrueChimers) != 3 || sel.Leap != ntp.LeapNone {
		t.Errorf("true-chimers %v leap %v", sel.TrueChimers, sel.Leap)
	}
	if d, ok := sel.CrossCheck(time.Second, cfg.CrossCheckThreshold); !d || !ok {
		t.Errorf("a GPS one second off was not flagged")
	}

	// Kill an honest server: the system peer, to force a hop.
	victim := name(sel.Addr.String())
	for i, a := range honest {
		if name(a) == victim {
			servers[i].Stop()
		}
	}
	before := rowsByName(s)[victim].Reach
	proctest.Eventually(t, 30*time.Second, 200*time.Millisecond, "the dead server's reach to decay", func() bool {
		r := rowsByName(s)[victim]
		return r.Reach&0x7 == 0 && r.Reach != before
	})
	proctest.Eventually(t, 30*time.Second, 200*time.Millisecond, "selection without the dead server", func() bool {
		sel = s.Selection()
		return sel.OK && sel.Peer != victim && sel.Survivors >= 2
	})
	if sel.Offset < -10*time.Millisecond || sel.Offset > 10*time.Millisecond {
		t.Errorf("combined offset %v after the loss, want within 10 ms", sel.Offset)
	}
	if r := rowsByName(s)[name("127.0.0.5")]; r.Tally == "*" || r.Tally == "+" {
		t.Errorf("the falseticker was selected after the loss: %+v", r)
	}
}

func containsAddr(list []string, a netip.Addr) bool {
	for _, s := range list {
		if netip.MustParseAddr(s) == a {
			return true
		}
	}
	return false
}

// kodServer answers like a server that rate-limits: a request closer than
// minGap to the previous one gets KoD RATE. Before each KoD it also sends
// a forged DENY with a wrong origin, which the client must ignore.
func kodServer(t *testing.T, addr string, minGap time.Duration) (netip.AddrPort, func() int) {
	t.Helper()
	conn, err := net.ListenPacket("udp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var mu sync.Mutex
	kods := 0
	go func() {
		var last time.Time
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			var req ntp.Header
			if req.Decode(buf[:n]) != nil || req.Mode != ntp.ModeClient {
				continue
			}
			now := time.Now()
			resp := ntp.Header{Version: 4, Mode: ntp.ModeServer, OrigTime: req.XmitTime}
			var out [ntp.HeaderLen]byte
			if !last.IsZero() && now.Sub(last) < minGap {
				forged := ntp.Header{Version: 4, Mode: ntp.ModeServer, RefID: ntp.KissDENY, OrigTime: req.XmitTime + 1}
				forged.Encode(out[:])
				conn.WriteTo(out[:], from)
				resp.RefID = ntp.KissRATE
				mu.Lock()
				kods++
				mu.Unlock()
			} else {
				resp.Stratum, resp.Precision, resp.RefID = 1, -20, ntp.RefGPS
				resp.RecvTime, resp.XmitTime, resp.RefTime = ntp.TimeFrom(now), ntp.TimeFrom(time.Now()), ntp.TimeFrom(now)
			}
			last = now
			resp.Encode(out[:])
			conn.WriteTo(out[:], from)
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return kods
	}
	return conn.LocalAddr().(*net.UDPAddr).AddrPort(), count
}

// TestKoDRATE: chrony 4.3 (Debian 12) rate-limits by dropping replies and
// has no option to send KoD, so a small rate-limiting server stands in:
// RATE must lengthen our poll for it, a forged DENY must change nothing.
func TestKoDRATE(t *testing.T) {
	t.Parallel()
	ap, kods := kodServer(t, "127.0.0.7", 3*time.Second)
	cfg := DefaultConfig()
	cfg.Servers = []Source{fastSource(ap.String())}
	s := startSet(t, cfg, Options{})
	proctest.Eventually(t, 20*time.Second, 200*time.Millisecond, "a KoD RATE to lengthen the poll", func() bool {
		r := rowsByName(s)[ap.String()]
		return r.Poll >= 4*time.Second && r.Note == "KoD RATE"
	})
	r := rowsByName(s)[ap.String()]
	if r.RefID == ".DENY." || kods() == 0 {
		t.Errorf("row %+v after %d KoDs: the forged DENY was obeyed", r, kods())
	}
	// With the poll now above the server's limit, replies come through.
	proctest.Eventually(t, 20*time.Second, 200*time.Millisecond, "replies after backing off", func() bool {
		r := rowsByName(s)[ap.String()]
		return r.Reach&1 == 1 && r.Stratum == 1
	})
	if n := kods(); n > 3 {
		t.Errorf("%d KoDs: the client did not back off", n)
	}
}

// dnsServer serves A records for name from a list that the test can
// change, on a loopback UDP port.
func dnsServer(t *testing.T, name string, addrs func() []string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(name, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if len(q.Question) == 1 && q.Question[0].Qtype == dns.TypeA {
			for _, a := range addrs() {
				rr, _ := dns.NewRR(fmt.Sprintf("%s 1 IN A %s", name, a))
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func testResolver(dnsAddr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dnsAddr)
	}}
}

// TestPoolReplacesUnreachable: the pool name resolves to one address where
// nothing listens and two chronyd; with two associations allowed, the dead
// one is replaced by the third address.
func TestPoolReplacesUnreachable(t *testing.T) {
	t.Parallel()
	port := proctest.FreePort(t, "127.0.0.1")
	testenv.StartChronyd(t, "127.0.0.8", port, "")
	testenv.StartChronyd(t, "127.0.0.9", port, "")
	var queries sync.Map
	dnsAddr := dnsServer(t, "pool.test.", func() []string {
		n, _ := queries.LoadOrStore("n", new(int))
		*n.(*int)++
		return []string{"127.0.0.10", "127.0.0.8", "127.0.0.9"}
	})
	cfg := DefaultConfig()
	cfg.Pools = []Source{fastSource(fmt.Sprintf("pool.test.:%d", port))}
	cfg.MaxPoolAssociations = 2
	cfg.PoolReplaceAfter = 3 * time.Second
	s := startSet(t, cfg, Options{Resolver: testResolver(dnsAddr), DNSRetry: 500 * time.Millisecond})

	name := func(a string) string { return fmt.Sprintf("%s:%d", a, port) }
	proctest.Eventually(t, 10*time.Second, 200*time.Millisecond, "the first two pool addresses", func() bool {
		rows := rowsByName(s)
		_, dead := rows[name("127.0.0.10")]
		_, live := rows[name("127.0.0.8")]
		return dead && live
	})
	proctest.Eventually(t, 30*time.Second, 200*time.Millisecond, "the unreachable address replaced", func() bool {
		rows := rowsByName(s)
		_, dead := rows[name("127.0.0.10")]
		r, ok := rows[name("127.0.0.9")]
		return !dead && ok && r.Reach != 0 && r.Type == "p"
	})
	proctest.Eventually(t, 20*time.Second, 200*time.Millisecond, "selection from the pool", func() bool {
		sel := s.Selection()
		return sel.OK && sel.Survivors == 2
	})
	if rows := rowsByName(s); rows["pool.test.:"+fmt.Sprint(port)].RefID != ".POOL." {
		t.Errorf("no pool row: %v", rows)
	}
}
