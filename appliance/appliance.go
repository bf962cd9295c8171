package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"stratum1/nts"
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
	Status() gps.Status
}

// Hardware is what differs between a Raspberry Pi and the simulator.
type Hardware struct {
	Clock discipline.Clock // the clock the loop steers
	// ServeTime maps a system-clock reading (a kernel timestamp) to the
	// served clock; nil when the served clock is the system clock.
	ServeTime func(sys time.Time) time.Time
	GPS       Receiver // nil: no GPS (peers only)
	// OpenPPS opens the pulse input; nil: discipline to NMEA alone. It is
	// called again, with backoff, whenever the device fails, and the
	// loop disciplines to NMEA alone while it cannot be opened.
	OpenPPS func() (pps.Source, error)
	// ClockAdjust is false under --no-clock-adjust, for the status views.
	ClockAdjust bool

	// Temperature reads the SoC's temperature in °C, once a second on
	// the loop's tick; nil: [discipline] temperature_file's reader, or
	// none when that is empty.
	Temperature func() (float64, error)
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
	// Record, if set, receives every input of the core and its actions
	// as JSON lines (docs/replay.md).
	Record io.Writer
}

// Appliance is the whole daemon. Its time path is a Core run by one
// goroutine (loop.go); the responder, the peers, the readers and the
// status server run beside it.
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
	view    atomic.Pointer[CoreView] // the core's state for the views, after the last tick
	gen     atomic.Uint64            // the core's step count, for readings taken outside the loop
	core    *Core                    // touched by the loop's goroutine only, once Run starts
	rec     *Recorder                // nil: not recording
	drift   *discipline.DriftSaver
	peers   *peer.Set // nil without upstream servers
	policy  access.Reloadable
	control *control.Handler
	resp    *server.Responder
	nts     *nts.Server // nil without an [nts] section
	history *status.History
	// tempFails counts failed temperature readings (the loop's only).
	tempFails   atomic.Uint64 // read by the views
	tempFailing bool

	mu      sync.Mutex // guards the fields below
	httpURL string
	httpLn  net.Listener // bound by Listen
	httpSrv *status.LiveServer
	// events carries the readers' inputs (and a reload's) to the loop.
	events chan event
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
	if hw.Temperature == nil && opts.Config.Discipline.TemperatureFile != "" {
		hw.Temperature = ThermalFile(opts.Config.Discipline.TemperatureFile)
	}
	a := &Appliance{
		cfg: opts.Config, hw: hw, log: log, version: opts.Version,
		started: hw.Clock.Now(), onState: opts.OnStateChange, logLevel: opts.LogLevel,
		history: status.NewHistory(24*time.Hour, 10*time.Second),
		events:  make(chan event, 16),
	}
	a.served.Store(ntp.Unsynchronised(-20))
	coreCfg := CoreConfigOf(opts.Config)
	if opts.Record != nil {
		h, err := NewHeader(coreCfg, hw.Clock, hw.ClockAdjust, a.started, opts.Version)
		if err != nil {
			return nil, err
		}
		a.rec = NewRecorder(opts.Record, h)
	}
	core, err := NewCore(coreCfg, hw.Clock, a.started, log)
	if err != nil {
		return nil, err
	}
	a.core = core
	a.drift = discipline.NewDriftSaver(core.Discipline(), log.With("part", "discipline"))
	v := core.View(a.started)
	a.view.Store(&v)

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
	if opts.Config.NTS.Enabled() {
		a.nts, err = nts.New(opts.Config.NTS, 0, nts.WithLogger(log.With("part", "nts")))
		if err != nil {
			return nil, err
		}
		srvOpts = append(srvOpts, server.WithExtensions(a.nts))
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
	if a.nts != nil {
		if addrs := a.resp.Addrs(); len(addrs) > 0 {
			a.nts.SetNTPPort(int(addrs[0].Port()))
		}
		if err := a.nts.Listen(); err != nil {
			return nil, "", err
		}
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
	if a.nts != nil {
		g.Go(func() error { return a.nts.Run(ctx) })
	}
	if httpSrv != nil {
		g.Go(func() error { return httpSrv.Run(ctx) })
	}
	events := a.events
	if q, ok := a.hw.GPS.(interface {
		SetTimTPHandler(func(gps.TimTP, time.Time))
	}); ok {
		// u-blox TIM-TP: the quantisation error of the next pulse, an
		// input of the core like the pulse itself.
		q.SetTimTPHandler(func(tp gps.TimTP, at time.Time) {
			if tp.QErrGood {
				send(ctx, events, event{qErr: &QErrInput{QErr: tp.QErr, Arrival: at}, gen: a.gen.Load()})
			}
		})
	}
	if a.hw.GPS != nil {
		g.Go(func() error {
			return a.hw.GPS.Run(ctx, func(e gps.Epoch) {
				send(ctx, events, event{epoch: &e, gen: a.gen.Load()})
			})
		})
	}
	if a.hw.OpenPPS != nil {
		g.Go(func() error { a.runPPS(ctx, events); return nil })
	}
	if a.peers != nil {
		g.Go(func() error { return a.peers.Run(ctx) })
	}
	g.Go(func() error { return a.loop(ctx, events) })
	err := g.Wait()
	if cerr := a.drift.Close(); cerr != nil {
		a.log.Warn("saving drift file", "err", cerr)
	}
	if a.rec != nil {
		if rerr := a.rec.Flush(); rerr != nil {
			a.log.Warn("recording", "err", rerr)
		}
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
