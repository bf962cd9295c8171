package access

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"stratum1/ntp"
	"stratum1/server"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func mustNew(t testing.TB, cfg Config) *Policy {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tally runs the requests at the given offsets from t0 and counts verdicts.
func tally(p *Policy, src netip.Addr, at []time.Duration) map[server.Verdict]int {
	n := map[server.Verdict]int{}
	for _, d := range at {
		n[p.Check(src, ntp.ModeClient, t0.Add(d))]++
	}
	return n
}

// every returns n instants step apart starting at start.
func every(start, step time.Duration, n int) []time.Duration {
	at := make([]time.Duration, n)
	for i := range at {
		at[i] = start + time.Duration(i)*step
	}
	return at
}

func TestPoolMonitorPatternPasses(t *testing.T) {
	p := mustNew(t, DefaultConfig())
	src := netip.MustParseAddr("203.0.113.7")
	// The NTP Pool monitor sends three queries 2 s apart, and repeats
	// the check every minute or so; any KoD RATE costs the server score.
	var at []time.Duration
	for round := range 60 {
		at = append(at, every(time.Duration(round)*time.Minute, 2*time.Second, 3)...)
	}
	got := tally(p, src, at)
	if got[server.Serve] != len(at) {
		t.Fatalf("monitor pattern: %v, want all %d served", got, len(at))
	}
}

func TestIburstThenPollingPasses(t *testing.T) {
	for _, burst := range []int{4, 8} {
		t.Run(fmt.Sprint(burst), func(t *testing.T) {
			p := mustNew(t, DefaultConfig())
			src := netip.MustParseAddr("2001:db8::1")
			at := every(0, 2*time.Second, burst)
			// then the normal minimum poll of 64 s for an hour
			at = append(at, every(time.Duration(burst)*2*time.Second+64*time.Second, 64*time.Second, 60)...)
			got := tally(p, src, at)
			if got[server.Serve] != len(at) {
				t.Fatalf("iburst of %d then 64 s polling: %v, want all %d served", burst, got, len(at))
			}
		})
	}
}

func TestOneSecondPollerLimited(t *testing.T) {
	cfg := DefaultConfig()
	p := mustNew(t, cfg)
	src := netip.MustParseAddr("198.51.100.9")
	const n = 600 // ten minutes of one query a second
	got := tally(p, src, every(0, time.Second, n))
	rl := cfg.RateLimit
	// Expect the burst, then one answer per interval; allow one of slack.
	maxServed := rl.Burst + 1 + int(n*time.Second/rl.Interval) + 1
	if got[server.Serve] > maxServed || got[server.Serve] < int(n*time.Second/rl.Interval) {
		t.Errorf("served %d of %d, want about %d", got[server.Serve], n, maxServed)
	}
	kisses := got[server.KissRate]
	maxKiss := int(n*time.Second/rl.KissInterval) + 1
	if kisses == 0 || kisses > maxKiss {
		t.Errorf("kissed %d times, want between 1 and %d", kisses, maxKiss)
	}
	if got[server.Ignore] < n/2 {
		t.Errorf("dropped only %d of %d", got[server.Ignore], n)
	}
	c := p.Counters()
	if c.Limited != uint64(got[server.Ignore]) || c.KissRate != uint64(kisses) || c.Served != uint64(got[server.Serve]) {
		t.Errorf("counters %+v disagree with verdicts %v", c, got)
	}
}

// A spoofed flood aimed at a victim: the victim must get almost nothing.
func TestSpoofedVictimGetsAlmostNothing(t *testing.T) {
	cfg := DefaultConfig()
	p := mustNew(t, cfg)
	victim := netip.MustParseAddr("192.0.2.200")
	const pps, secs = 1000, 60
	got := tally(p, victim, every(0, time.Second/pps, pps*secs))
	replies := got[server.Serve] + got[server.KissRate]
	limit := cfg.RateLimit.Burst + secs/8 + 1 + secs/30 + 1
	if replies > limit {
		t.Fatalf("%d replies to %d spoofed requests, want at most %d", replies, pps*secs, limit)
	}
	if got[server.KissRate] > secs/30+1 {
		t.Fatalf("%d KoDs in %d s, want at most %d", got[server.KissRate], secs, secs/30+1)
	}
}

func TestClientRecoversAfterBackingOff(t *testing.T) {
	p := mustNew(t, DefaultConfig())
	src := netip.MustParseAddr("198.51.100.10")
	tally(p, src, every(0, 100*time.Millisecond, 1000)) // 100 s of abuse
	if v := p.Check(src, ntp.ModeClient, t0.Add(100*time.Second)); v == server.Serve {
		t.Fatalf("abuser served while over the limit")
	}
	// Backing off to the 64 s poll that a KoD asks for: served again.
	got := tally(p, src, every(200*time.Second, 64*time.Second, 20))
	if got[server.Serve] != 20 {
		t.Fatalf("after backing off: %v", got)
	}
}

func TestPrefixAggregation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit.Burst = 1
	cfg.RateLimit.KissInterval = time.Hour
	p := mustNew(t, cfg)
	check := func(s string) server.Verdict { return p.Check(netip.MustParseAddr(s), ntp.ModeClient, t0) }
	if v := check("2001:db8:1:2::1"); v != server.Serve {
		t.Fatalf("first /64 client: %v", v)
	}
	if v := check("2001:db8:1:2::ffff"); v != server.KissRate {
		t.Fatalf("same /64, same instant: %v, want KissRate", v)
	}
	if v := check("2001:db8:1:3::1"); v != server.Serve {
		t.Fatalf("other /64: %v", v)
	}
	if v := check("10.0.0.1"); v != server.Serve {
		t.Fatalf("v4: %v", v)
	}
	if v := check("::ffff:10.0.0.1"); v != server.KissRate {
		t.Fatalf("mapped v4 is the same client: %v, want KissRate", v)
	}
	if v := check("10.0.0.1"); v != server.Ignore {
		t.Fatalf("kissed within the kiss interval: %v, want Ignore", v)
	}
	if v := check("10.0.0.2"); v != server.Serve {
		t.Fatalf("other /32: %v", v)
	}
}

func TestRulesFirstMatchWins(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Default = ActionIgnore
	cfg.Rules = []Rule{
		{Network: "192.0.2.128/25", Action: ActionDeny},
		{Network: "192.0.2.0/24", Action: ActionServe},
		{Network: "2001:db8::/32", Action: ActionUnlimited},
		{Network: "198.51.100.5", Action: ActionDeny},
	}
	p := mustNew(t, cfg)
	cases := []struct {
		src  string
		mode ntp.Mode
		want server.Verdict
	}{
		{"192.0.2.200", ntp.ModeClient, server.KissDeny},
		{"::ffff:192.0.2.201", ntp.ModeClient, server.KissDeny},
		{"192.0.2.1", ntp.ModeClient, server.Serve},
		{"192.0.2.1", ntp.ModeSymmetricActive, server.Serve},
		{"198.51.100.5", ntp.ModeClient, server.KissDeny},
		{"198.51.100.6", ntp.ModeClient, server.Ignore},
		{"2001:db8::1", ntp.ModeClient, server.Serve},
		{"2001:db9::1", ntp.ModeClient, server.Ignore},
		{"127.0.0.1", ntp.ModeControl, server.Serve},
		{"::1", ntp.ModeControl, server.Serve},
		{"192.0.2.1", ntp.ModeControl, server.Ignore},
		{"127.0.0.1", ntp.ModePrivate, server.Ignore},
		{"192.0.2.1", ntp.ModePrivate, server.Ignore},
		{"192.0.2.1", ntp.ModeServer, server.Ignore},
		{"192.0.2.1", ntp.ModeBroadcast, server.Ignore},
		{"192.0.2.1", ntp.ModeReserved, server.Ignore},
	}
	for _, c := range cases {
		if got := p.Check(netip.MustParseAddr(c.src), c.mode, t0); got != c.want {
			t.Errorf("%s mode %d: %v, want %v", c.src, c.mode, got, c.want)
		}
	}
}

func TestUnlimitedAndDisabled(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Network: "10.0.0.0/8", Action: ActionUnlimited}}
	p := mustNew(t, cfg)
	if got := tally(p, netip.MustParseAddr("10.1.2.3"), every(0, time.Millisecond, 1000)); got[server.Serve] != 1000 {
		t.Errorf("unlimited rule: %v", got)
	}
	if got := tally(p, netip.MustParseAddr("11.1.2.3"), every(0, time.Millisecond, 1000)); got[server.Serve] == 1000 {
		t.Errorf("outside unlimited rule not limited: %v", got)
	}
	cfg = DefaultConfig()
	cfg.RateLimit.Disabled = true
	p = mustNew(t, cfg)
	if got := tally(p, netip.MustParseAddr("11.1.2.3"), every(0, time.Millisecond, 1000)); got[server.Serve] != 1000 {
		t.Errorf("disabled: %v", got)
	}
}

// KoD DENY must not be a reflector either: a denied address flooded with
// spoofed requests gets its burst of kisses and then nothing.
func TestDenyIsRateLimited(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Default = ActionDeny
	p := mustNew(t, cfg)
	got := tally(p, netip.MustParseAddr("192.0.2.9"), every(0, 10*time.Millisecond, 6000))
	if got[server.Serve] != 0 || got[server.KissRate] != 0 {
		t.Fatalf("denied client served or kissed RATE: %v", got)
	}
	if got[server.KissDeny] == 0 || got[server.KissDeny] > cfg.RateLimit.Burst+60/8+1 {
		t.Fatalf("KoD DENY to a flood: %v", got)
	}
}

func TestReloadKeepsTableAndCounters(t *testing.T) {
	p := mustNew(t, DefaultConfig())
	src := netip.MustParseAddr("198.51.100.1")
	tally(p, src, every(0, 10*time.Millisecond, 100))
	before := p.Counters()
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Network: "192.0.2.0/24", Action: ActionIgnore}}
	q, err := p.Reload(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Check(src, ntp.ModeClient, t0.Add(time.Second)); v == server.Serve {
		t.Fatalf("reload forgot the abuser")
	}
	if q.Counters().Limited <= before.Limited {
		t.Fatalf("reload reset counters: %+v then %+v", before, q.Counters())
	}
	if v := q.Check(netip.MustParseAddr("192.0.2.1"), ntp.ModeClient, t0); v != server.Ignore {
		t.Fatalf("new rule not applied: %v", v)
	}
	cfg.RateLimit.Table = "1MiB"
	r, err := q.Reload(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Counters().TableBytes > 1<<20 || r.Counters().TableBytes < 1<<19 {
		t.Fatalf("resized table has %d bytes", r.Counters().TableBytes)
	}
	if _, err := q.Reload(Config{}); err == nil {
		t.Fatal("reload accepted an invalid config")
	}

	var rl Reloadable
	if v := rl.Check(src, ntp.ModeClient, t0); v != server.Serve {
		t.Fatalf("empty Reloadable: %v", v)
	}
	if v := rl.Check(src, ntp.ModeControl, t0); v != server.Ignore {
		t.Fatalf("empty Reloadable mode 6: %v", v)
	}
	rl.Store(q)
	if v := rl.Check(src, ntp.ModeClient, t0.Add(time.Second)); v == server.Serve {
		t.Fatalf("Reloadable does not apply the stored policy")
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Network: "192.0.2.0/24", Action: ActionDeny}, {Network: "2001:db8::/32", Action: ActionServe}}
	p := mustNew(t, cfg)
	var rl Reloadable
	rl.Store(p)
	srcs := []netip.Addr{
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("::ffff:198.51.100.2"),
	}
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		i++
		src := srcs[i%len(srcs)]
		rl.Check(src, ntp.Mode(i%8), t0.Add(time.Duration(i)*time.Millisecond))
	})
	if allocs != 0 {
		t.Fatalf("Check allocates %v times per call", allocs)
	}
}

// A flood from a million distinct addresses: memory stays flat at the
// table's budget, an honest client keeps being served, and a client that is
// over its limit stays limited (the flood does not wash it out).
func TestMillionAddressesWithinBudget(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit.Table = "2MiB"
	const budget = 2 << 20

	var m0, m1, m2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	p := mustNew(t, cfg)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew > budget*11/10 {
		t.Fatalf("New allocated %d bytes for a %d-byte budget", grew, budget)
	}

	honest := netip.MustParseAddr("2001:db8:ffff::123")
	abuser := netip.MustParseAddr("198.51.100.66")
	tally(p, abuser, every(0, 100*time.Millisecond, 200))

	const n = 1_000_000
	now := t0.Add(20 * time.Second)
	step := 60 * time.Second / n // the flood lasts a minute
	honestServed, honestAsked := 0, 0
	abuserServed := 0
	for i := range n {
		now = now.Add(step)
		var b [4]byte
		b[0], b[1], b[2], b[3] = 100, byte(i>>16), byte(i>>8), byte(i)
		p.Check(netip.AddrFrom4(b), ntp.ModeClient, now)
		if i%(n/4) == 0 { // honest client polls every 15 s
			honestAsked++
			if p.Check(honest, ntp.ModeClient, now) == server.Serve {
				honestServed++
			}
		}
		if i%(n/600) == 0 { // abuser keeps polling every 100 ms
			if p.Check(abuser, ntp.ModeClient, now) == server.Serve {
				abuserServed++
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m2)
	if grew := int64(m2.HeapAlloc) - int64(m1.HeapAlloc); grew > 64<<10 {
		t.Errorf("heap grew by %d bytes during the flood", grew)
	}
	if honestServed != honestAsked {
		t.Errorf("honest client served %d of %d", honestServed, honestAsked)
	}
	if abuserServed > 60/8+2 {
		t.Errorf("abuser served %d times in a minute during the flood", abuserServed)
	}
	st := p.Stats(now)
	if st.Clients > st.TableCapacity || st.TableBytes > budget {
		t.Errorf("table: %+v", st)
	}
	if st.Clients < st.TableCapacity*9/10 {
		t.Errorf("table only %d/%d full after the flood", st.Clients, st.TableCapacity)
	}
	t.Logf("table %d bytes, %d clients; heap %d -> %d -> %d; %+v", st.TableBytes, st.Clients, m0.HeapAlloc, m1.HeapAlloc, m2.HeapAlloc, st)
	runtime.KeepAlive(p)
}

func TestConcurrentCheck(t *testing.T) {
	p := mustNew(t, DefaultConfig())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20000 {
				a := netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i % 7)})
				p.Check(a, ntp.ModeClient, t0.Add(time.Duration(i)*time.Millisecond))
			}
		})
	}
	wg.Wait()
	c := p.Counters()
	if total := c.Served + c.Limited + c.KissRate; total != 4*20000 {
		t.Fatalf("verdicts %d, want %d: %+v", total, 4*20000, c)
	}
}

func TestZeroAddressDoesNotPanic(t *testing.T) {
	p := mustNew(t, DefaultConfig())
	for m := range ntp.Mode(8) {
		p.Check(netip.Addr{}, m, t0)
	}
	if p.QueryAllowed(netip.Addr{}) {
		t.Fatal("zero address may query")
	}
}

func BenchmarkCheck(b *testing.B) {
	p := mustNew(b, DefaultConfig())
	now := t0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := uint32(0)
		for pb.Next() {
			i++
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			p.Check(a, ntp.ModeClient, now.Add(time.Duration(i)*time.Microsecond))
		}
	})
}

// Loopback clients are not rate limited by default, as ntpd ships
// (restrict 127.0.0.1, restrict ::1): local monitoring polling every
// second gets every reply and no KoD. Everything else is limited as
// before; a rule, or loopback = "serve", still limits loopback.
func TestLoopbackUnlimitedByDefault(t *testing.T) {
	tests := []struct {
		name      string
		cfg       func(*Config)
		src       string
		unlimited bool
	}{
		{"127.0.0.1", nil, "127.0.0.1", true},
		{"127.1.2.3", nil, "127.1.2.3", true},
		{"::1", nil, "::1", true},
		{"v4-mapped loopback", nil, "::ffff:127.0.0.1", true},
		{"LAN client", nil, "192.168.1.20", false},
		{"::2", nil, "::2", false},
		{"loopback = serve", func(c *Config) { c.Loopback = ActionServe }, "127.0.0.1", false},
		{"a rule names loopback", func(c *Config) {
			c.Rules = []Rule{{Network: "127.0.0.0/8", Action: ActionServe}}
		}, "127.0.0.1", false},
		{"default ignore", func(c *Config) { c.Default = ActionIgnore }, "::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p := mustNew(t, cfg)
			got := tally(p, netip.MustParseAddr(tt.src), every(0, time.Second, 600))
			if unlimited := got[server.Serve] == 600; unlimited != tt.unlimited {
				t.Errorf("%s polling every second for 10 min: %v; want unlimited %v", tt.src, got, tt.unlimited)
			}
		})
	}
	if err := (Config{Default: ActionServe, Loopback: "bogus", RateLimit: DefaultConfig().RateLimit}).Validate(); err == nil {
		t.Error("loopback = \"bogus\" accepted")
	}
}
