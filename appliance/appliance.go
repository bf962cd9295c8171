package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"stratum1/access"
	"stratum1/config"
	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/internal/loglevel"
	"stratum1/ntp"
	"stratum1/peer"
	"stratum1/pps"
	"stratum1/server"
	"stratum1/server/control"
	"stratum1/status"
)

// Receiver is the NMEA side: a gps.Reader on a serial device (or on the
// simulator's pseudo-terminal).
type Receiver interface {
	Run(ctx context.Context, fn func(gps.Epoch)) error
	FillStatus(*status.GPS)
}

// Hardware is what differs between a Raspberry Pi and the simulator.
type Hardware struct {
	Clock discipline.Clock // the clock the loop steers
	// ServeTime maps a system-clock reading (a kernel timestamp) to the
	// served clock; nil when the served clock is the system clock.
	ServeTime func(sys time.Time) time.Time
	GPS       Receiver   // nil: no GPS (peers only)
	PPS       pps.Source // nil: discipline to NMEA alone
	// ClockAdjust is false under --no-clock-adjust, for the status views.
	ClockAdjust bool
}

// Options configure an Appliance.
type Options struct {
	Config   config.Config
	Hardware Hardware
	Logger   *slog.Logger
	Version  string
	// Resolver for pool names; nil uses the system's.
	Resolver peer.Resolver
	// LogLevel, if set, is the level of Logger, which Reload changes.
	LogLevel *loglevel.Var
	// OnStateChange, if set, is called (without locks held) after every
	// transition of the state machine, with a one-line description: the
	// daemon passes it to systemd as its status.
	OnStateChange func(State, string)
}

// Appliance is the whole daemon.
type Appliance struct {
	cfg      config.Config
	hw       Hardware
	log      *slog.Logger
	version  string
	started  time.Time
	onState  func(State, string)
	logLevel *loglevel.Var
	ticked   atomic.Int64 // clock reading of the last tick, unix ns: the watchdog's proof of life

	served  atomic.Pointer[ntp.ServerState]
	disc    *discipline.Discipline
	drift   *discipline.DriftSaver
	peers   *peer.Set // nil without upstream servers
	policy  access.Reloadable
	control *control.Handler
	resp    *server.Responder
	history *status.History

	mu            sync.Mutex // guards the fields below, the pairer and the machine
	pairer        *pps.Pairer
	machine       *Machine
	distrusted    bool
	lastGPSAt     time.Time     // clock reading of the newest GPS sample
	lastGPSOffset time.Duration // its offset, clock minus GPS
	httpURL       string
	httpLn        net.Listener // bound by Listen
	httpSrv       *status.LiveServer
	lastEpoch     time.Time     // clock reading when the newest NMEA epoch arrived
	stepSeen      time.Duration // the discipline's StepTotal already passed on
	crossChecked  bool          // the peers have judged the GPS since the last step
	crossCheckDue time.Time     // until when to wait for that verdict
	reachGPS      uint8
	reachPPS      uint8
	peerSamples   time.Time
}

// New builds the appliance; Run starts it.
func New(opts Options) (*Appliance, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	hw := opts.Hardware
	if hw.Clock == nil {
		return nil, errors.New("appliance: no clock")
	}
	a := &Appliance{
		cfg: opts.Config, hw: hw, log: log, version: opts.Version,
		started: hw.Clock.Now(), onState: opts.OnStateChange, logLevel: opts.LogLevel,
		history: status.NewHistory(24*time.Hour, 10*time.Second),
	}
	a.served.Store(ntp.Unsynchronised(-20))
	disc, err := discipline.New(opts.Config.Discipline, hw.Clock, log.With("part", "discipline"))
	if err != nil {
		return nil, fmt.Errorf("discipline: %w", err)
	}
	a.disc = disc
	a.drift = discipline.NewDriftSaver(disc, log.With("part", "discipline"))
	a.pairer = pps.NewPairer(opts.Config.PPS, log.With("part", "pps"))
	if hw.PPS != nil {
		a.pairer.SetSource(hw.PPS.Device(), hw.PPS.Backend(), hw.PPS.Precision())
	}
	a.machine = NewMachine(opts.Config.Peers.GPSRecoverAfter, a.started)
	a.crossCheckDue = a.started.Add(crossCheckWait)

	pol, err := access.New(opts.Config.Access)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	a.policy.Store(pol)
	a.control = control.New(a.Snapshot, pol.QueryNetworks()...)
	a.control.SetLimiter(&a.policy) // mode 6 answers count against the client's rate limit by size

	if len(opts.Config.Peers.Servers)+len(opts.Config.Peers.Pools) > 0 {
		a.peers, err = peer.New(opts.Config.Peers, peer.Options{
			Resolver: opts.Resolver, Logger: log.With("part", "peers"), Now: a.now,
		})
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		a.peers.SetOwnRefIDs(ntp.RefGPS, ntp.RefPPS)
	}

	srvOpts := []server.Option{server.WithPolicy(&a.policy), server.WithControl(a.control), server.WithLogger(log.With("part", "server"))}
	if hw.ServeTime != nil {
		srvOpts = append(srvOpts, server.WithClock(hw.ServeTime))
	}
	a.resp, err = server.New(opts.Config.Server, &a.served, srvOpts...)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return a, nil
}

// now reads the served clock.
func (a *Appliance) now() time.Time { return a.hw.Clock.Now() }

// Served returns the state the responder publishes, for tests and views.
func (a *Appliance) Served() *ntp.ServerState { return a.served.Load() }

// Listen binds the NTP and HTTP sockets, so that a caller learns the bound
// addresses (and a port that is taken fails early) before Run.
func (a *Appliance) Listen() (ntpAddrs []string, httpURL string, err error) {
	if err := a.resp.Listen(); err != nil {
		return nil, "", err
	}
	for _, ap := range a.resp.Addrs() {
		ntpAddrs = append(ntpAddrs, ap.String())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.HTTP.Listen != "" && a.httpLn == nil {
		ln, err := status.Listen(a.cfg.HTTP.Listen)
		if err != nil {
			return nil, "", fmt.Errorf("status http: %w", err)
		}
		a.httpLn, a.httpURL = ln, status.URL(ln.Addr())
	}
	return ntpAddrs, a.httpURL, nil
}

// Run runs every part until ctx is done, then saves the drift file. It
// binds the sockets first if Listen has not.
func (a *Appliance) Run(ctx context.Context) error {
	if _, _, err := a.Listen(); err != nil {
		return err
	}
	a.mu.Lock()
	if a.httpLn != nil && a.httpSrv == nil {
		a.httpSrv = status.NewLiveServer(a.httpLn, a.cfg.HTTP, status.NewHandler(a, a.history))
	}
	httpSrv := a.httpSrv
	a.mu.Unlock()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.resp.Run(ctx) })
	if httpSrv != nil {
		g.Go(func() error { return httpSrv.Run(ctx) })
	}
	if a.hw.GPS != nil {
		g.Go(func() error { return a.hw.GPS.Run(ctx, a.onEpoch) })
	}
	if a.hw.PPS != nil {
		g.Go(func() error {
			err := a.hw.PPS.Run(ctx, a.onEdge)
			if err != nil && ctx.Err() == nil {
				// A PPS device that fails is ridden through as an
				// outage: holdover, then peers. It is not a reason to
				// stop serving time.
				a.log.Error("pps capture stopped", "err", err)
			}
			return nil
		})
	}
	if a.peers != nil {
		g.Go(func() error { return a.peers.Run(ctx) })
	}
	g.Go(func() error { return a.tickLoop(ctx) })
	err := g.Wait()
	if cerr := a.drift.Close(); cerr != nil {
		a.log.Warn("saving drift file", "err", cerr)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// HTTPURL is the status server's base URL once Run has bound it.
func (a *Appliance) HTTPURL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.httpURL
}

// Healthy reports whether the main loop has ticked within the last few
// seconds, for the service manager's watchdog.
func (a *Appliance) Healthy() bool {
	last := a.ticked.Load()
	return last == 0 || time.Since(time.Unix(0, last)) < 10*time.Second
}

func (a *Appliance) tickLoop(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastRecord := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := a.now()
		a.ticked.Store(time.Now().UnixNano())
		a.disc.Tick(now)
		a.drift.Tick(now)
		a.feedPeers(now)
		a.update(now)
		a.shiftReach(now)
		if now.Sub(lastRecord) >= a.history.Interval() || now.Before(lastRecord) {
			a.history.Record(a.Snapshot())
			lastRecord = now
		}
	}
}
