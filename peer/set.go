package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"stratum1/ntp"
)

// Resolver looks up the addresses of a name. *net.Resolver satisfies it;
// tests point one at a DNS server on loopback.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options are the run-time dependencies of a Set; the zero value works.
type Options struct {
	Resolver Resolver         // default net.DefaultResolver
	Logger   *slog.Logger     // default slog.Default()
	Now      func() time.Time // default time.Now; stamps requests and replies
	// Precision is our clock's precision, log2 seconds (default -20).
	Precision int8
	// ReplyTimeout is how long a request waits for its reply (default 2 s).
	ReplyTimeout time.Duration
	// DNSRetry is the first delay before a failed or short lookup is
	// retried; it doubles up to 10 minutes (default 5 s).
	DNSRetry time.Duration
	// Notify, if set, is called (without locks held) after every sample
	// that changed the selection's inputs.
	Notify func()
}

// Selection is the peers' combined verdict.
type Selection struct {
	OK bool // false: no majority of true-chimers, serve unsynchronised
	// Offset is the system clock minus the peers' combined time.
	Offset time.Duration
	Jitter time.Duration // spread of the survivors' offsets
	// Peer names the system peer (address[:port]); Stratum, RefID and the
	// root values are what we serve when we follow it: Stratum is the
	// peer's own, so serve Stratum+1; RefID is its address
	// (ntp.RefIDFromAddr).
	Peer           string
	Addr           netip.Addr
	Stratum        uint8
	RefID          ntp.RefID
	Leap           ntp.Leap // the majority of the survivors
	RootDelay      time.Duration
	RootDispersion time.Duration
	// TrueChimers are the offsets (system clock minus peer) of every
	// true-chimer, for CrossCheck.
	TrueChimers []time.Duration
	Survivors   int
	// Updated is when the newest sample among the survivors arrived: a
	// discipline feeds the offset only when it changes.
	Updated time.Time
}

// CrossCheck reports whether gpsOffset (system clock minus GPS) is more than
// threshold from a majority of the true-chimers; see the function CrossCheck.
func (s Selection) CrossCheck(gpsOffset, threshold time.Duration) (disagree, ok bool) {
	return CrossCheck(gpsOffset, s.TrueChimers, threshold)
}

// Set is the client side of every configured server and pool: it polls
// them, filters their samples and selects among them.
type Set struct {
	cfg  Config
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	entries []*entry // one per configured server and pool
	assocs  []*assoc
	pools   []*poolState
	sel     Selection
	sysPeer *assoc
	own     map[ntp.RefID]bool
	floor   time.Duration // SetPollFloor
	wg      sync.WaitGroup
	run     context.Context
}

// poolState is one pool entry's associations and DNS state.
type poolState struct {
	src      Source
	host     string
	port     uint16
	dropped  map[netip.Addr]time.Time // replaced addresses, not retaken soon
	retry    time.Duration
	nextDNS  time.Time
	dnsErr   string
	resolved int
}

// New returns a Set for cfg. Run starts the polling.
func New(cfg Config, opts Options) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Precision == 0 {
		opts.Precision = -20
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 2 * time.Second
	}
	if opts.DNSRetry <= 0 {
		opts.DNSRetry = 5 * time.Second
	}
	s := &Set{cfg: cfg, opts: opts, log: opts.Logger.With("component", "peers"), own: map[ntp.RefID]bool{}}
	s.entries = s.newEntries(entriesOf(cfg))
	for _, e := range s.entries {
		if e.pool != nil {
			s.pools = append(s.pools, e.pool)
		}
	}
	return s, nil
}

// SetOwnRefIDs declares the reference IDs that mean "synchronised to us":
// a peer reporting one of them is in a timing loop with us and is not
// selected. The address each request leaves from is always such an ID.
func (s *Set) SetOwnRefIDs(ids ...ntp.RefID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.own = map[ntp.RefID]bool{}
	for _, id := range ids {
		s.own[id] = true
	}
}

// SetPollFloor makes every association poll no more often than every d,
// whatever its minpoll: the appliance raises it while the GPS is locked and
// the peers are only a cross-check, and sets it back to zero when it needs
// them. A raised floor takes effect at each association's next poll.
func (s *Set) SetPollFloor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.floor = min(max(d, 0), MaxPollLimit)
	for _, a := range s.assocs {
		a.setFloor(s.floor)
	}
}

// ClockStepped tells the set that the local clock was stepped by d
// (positive: forward). The offsets its clock filters hold were measured
// against the clock before the step; without this they would show the
// step's size for up to eight polls and could make a correct step look like
// a disagreement with the GPS, or undo it.
func (s *Set) ClockStepped(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.assocs {
		a.filter.shift(d)
	}
	s.sel.Offset += d
	for i := range s.sel.TrueChimers {
		s.sel.TrueChimers[i] += d
	}
}

// Run polls until ctx ends. It returns nil then.
func (s *Set) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.run != nil {
		s.mu.Unlock()
		return errors.New("peers: Run called twice")
	}
	s.run = ctx
	for _, e := range s.entries {
		s.startLocked(e)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.wg.Wait()
	return nil
}

const dnsMax = 10 * time.Minute

// dnsLog warns about the first failure of a series and keeps the retries,
// which can go on for as long as the network is down, at debug level.
func (s *Set) dnsLog(retry time.Duration) func(msg string, args ...any) {
	if retry == s.opts.DNSRetry {
		return s.log.Warn
	}
	return s.log.Debug
}

// runPool keeps a pool entry at MaxPoolAssociations reachable, truthful
// addresses: it replaces the ones that stay bad for PoolReplaceAfter.
func (s *Set) runPool(ctx context.Context, e *entry) {
	p := e.pool
	polls := map[*assoc]context.CancelFunc{}
	defer func() {
		for _, cancel := range polls {
			cancel()
		}
	}()
	for {
		now := s.opts.Now()
		s.mu.Lock()
		var mine []*assoc
		for _, a := range s.assocs {
			if _, ok := polls[a]; ok {
				mine = append(mine, a)
			}
		}
		for _, a := range mine {
			bad := a.denied || (!a.badSince.IsZero() && now.Sub(a.badSince) >= s.cfg.PoolReplaceAfter)
			if !bad {
				continue
			}
			s.log.Info("replacing pool address", "pool", p.src.Address, "addr", a.name, "reason", a.note)
			polls[a]()
			delete(polls, a)
			p.dropped[a.addr.Addr()] = now
			s.removeLocked(a)
			if p.nextDNS.After(now) {
				p.nextDNS = now // a vacancy: look up at once
			}
		}
		need := s.cfg.MaxPoolAssociations - len(polls)
		dnsDue := need > 0 && !now.Before(p.nextDNS)
		s.mu.Unlock()

		if dnsDue {
			addrs, err := s.opts.Resolver.LookupNetIP(ctx, "ip", p.host)
			if ctx.Err() != nil {
				return
			}
			now = s.opts.Now()
			s.mu.Lock()
			added := 0
			if err != nil {
				p.dnsErr = err.Error()
				s.dnsLog(p.retry)("cannot resolve pool", "pool", p.src.Address, "err", err, "retry", p.retry)
			} else {
				p.dnsErr = ""
				for _, ip := range addrs {
					if added == need {
						break
					}
					ip = ip.Unmap()
					if t, ok := p.dropped[ip]; ok && now.Sub(t) < 4*s.cfg.PoolReplaceAfter {
						continue
					}
					if s.hasAddrLocked(ip, p.port) {
						continue
					}
					a := newAssoc(netip.AddrPortFrom(ip, p.port), 'p', p.src, s.opts.ReplyTimeout, log2D(s.opts.Precision))
					a.owner = e
					a.badSince = now
					a.setFloor(s.floor)
					s.assocs = append(s.assocs, a)
					actx, cancel := context.WithCancel(ctx)
					polls[a] = cancel
					s.wg.Go(func() { s.poll(actx, a) })
					added++
				}
			}
			p.resolved = len(polls)
			if err != nil || added < need {
				p.nextDNS = now.Add(p.retry)
				p.retry = min(p.retry*2, dnsMax)
			} else {
				p.retry = s.opts.DNSRetry
			}
			s.mu.Unlock()
		}
		if !sleep(ctx, time.Second) {
			return
		}
	}
}

func (s *Set) hasAddrLocked(ip netip.Addr, port uint16) bool {
	for _, a := range s.assocs {
		if a.addr == netip.AddrPortFrom(ip, port) {
			return true
		}
	}
	return false
}

func (s *Set) removeLocked(a *assoc) {
	for i, b := range s.assocs {
		if b == a {
			s.assocs = append(s.assocs[:i:i], s.assocs[i+1:]...)
			break
		}
	}
	if s.sysPeer == a {
		s.sysPeer = nil
	}
	s.reselectLocked(s.opts.Now())
}

// poll is the socket adapter of one association: at each due time it sends
// a request from a fresh socket (so a fresh random source port) and waits
// for the reply on it.
func (s *Set) poll(ctx context.Context, a *assoc) {
	buf, oob := make([]byte, 1024), make([]byte, oobLen)
	for {
		s.mu.Lock()
		next, denied := a.due(), a.denied
		s.mu.Unlock()
		if denied {
			// DENY or RSTR: the server wants nothing more from us.
			<-ctx.Done()
			return
		}
		if wait := next.Sub(s.opts.Now()); wait > 0 {
			// Sleep, then look again: the schedule may have moved.
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.exchange(ctx, a, buf, oob)
	}
}

func (s *Set) exchange(ctx context.Context, a *assoc, buf, oob []byte) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a.addr))
	if err != nil {
		s.log.Debug("peer socket", "peer", a.name, "err", err)
		s.mu.Lock()
		// Count the attempt, so that reach and backoff see the failure.
		a.transmit(s.opts.Now(), ntp.Time(rand.Uint64()|1))
		s.reselectLocked(s.opts.Now())
		s.mu.Unlock()
		return
	}
	defer conn.Close()
	if len(oob) > 0 {
		if err := enableRXTimestamps(conn); err != nil {
			s.log.Debug("no kernel receive timestamps", "peer", a.name, "err", err)
			oob = nil
		}
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr()

	// RFC 9109 data minimisation: everything zero but the mode, the version
	// and a random transmit timestamp, which the reply must echo.
	xmt := ntp.Time(rand.Uint64() | 1)
	req := ntp.Header{Version: 4, Mode: ntp.ModeClient, XmitTime: xmt}
	var out [ntp.HeaderLen]byte
	req.Encode(out[:])

	// T1 as close to the write as it gets: the bookkeeping waits until
	// after it, which is safe because no reply is read before it is done.
	sent := s.opts.Now()
	_, werr := conn.Write(out[:])
	s.mu.Lock()
	a.localRefID = ntp.RefIDFromAddr(local)
	a.transmit(sent, xmt)
	s.reselectLocked(sent)
	s.mu.Unlock()
	if werr != nil {
		s.log.Debug("peer send", "peer", a.name, "err", werr)
		return
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	conn.SetReadDeadline(time.Now().Add(s.opts.ReplyTimeout))
	for {
		n, oobn, _, _, err := conn.ReadMsgUDP(buf, oob)
		recv, sysNow := s.opts.Now(), time.Now()
		if err != nil {
			return // timeout, ICMP unreachable or shutdown: the reach register notes it
		}
		kern, ok := kernelRX(oob[:oobn])
		recv = arrival(recv, sysNow, kern, ok, s.opts.ReplyTimeout)
		var h ntp.Header
		if h.Decode(buf[:n]) != nil {
			continue
		}
		s.mu.Lock()
		res := a.receive(recv, &h)
		if res == recvSample || res == recvKoD || res == recvNoSample {
			s.reselectLocked(recv)
		}
		s.mu.Unlock()
		switch res {
		case recvSample, recvNoSample:
			if s.opts.Notify != nil {
				s.opts.Notify()
			}
			return
		case recvKoD:
			s.log.Warn("kiss-o'-death", "peer", a.name, "code", kissName(a.kiss))
			return
		}
	}
}

// sleep waits for d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
