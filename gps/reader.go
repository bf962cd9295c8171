package gps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// Receiver states, as Status.State reports them.
const (
	StateNoDevice = "no device" // the device cannot be opened
	StateNoData   = "no data"   // open, but no valid NMEA arrives
	StateNoFix    = "no fix"    // NMEA arrives; the receiver has no fix
	State2D       = "2D"
	State3D       = "3D"
)

// ReaderOptions are the reader's dependencies and tuning; the zero value
// works.
type ReaderOptions struct {
	// RefDate is the rollover reference: the later of the build date and
	// the last time the daemon saved. Config.RolloverRef, if later, wins.
	RefDate time.Time
	Logger  *slog.Logger
	// Now stamps the arrival of bytes; time.Now by default.
	Now func() time.Time
	// ProbeWindow is how long auto detection listens at each rate.
	// Default 2.5s: a 1 Hz receiver sends at least one whole cycle.
	ProbeWindow time.Duration
	// MinBackoff is the first wait before reopening a vanished device.
	// Default 500ms; it doubles up to Config.ReconnectMax.
	MinBackoff time.Duration
	// Silence is how long a link may go without one valid sentence
	// before the state becomes "no data" (and, with auto baud, the rate
	// is detected again). Default 5s.
	Silence time.Duration
}

// Status is the reader's observable state.
type Status struct {
	State     string
	Device    string
	Baud      int // rate in use or last found; 0 before detection
	Connected bool
	LastError string
	LastData  time.Time // arrival of the last valid sentence
	Sentences uint64
	BadSum    uint64 // bad or missing checksums
	Dropped   uint64 // garbage, binary, overlong and malformed lines
	UBX       uint64 // UBX frames received whole with a good checksum
	UBXBad    uint64 // UBX frames with a bad checksum
	// ParserPanics counts, by sentence type, the sentences the NMEA
	// library panicked on (also in Dropped).
	ParserPanics map[string]uint64
	Epochs       uint64
	Reconnects   uint64
	// Latency is how long after the second its first sentence typically
	// arrives (a moving average over valid epochs).
	Latency   time.Duration
	LastEpoch Epoch
	HaveEpoch bool
}

// Reader reads a receiver on a serial port (or a pseudo-terminal) and
// hands each epoch to a callback. It reopens the device when it vanishes
// and never gives up until its context ends.
type Reader struct {
	cfg  Config
	opt  ReaderOptions
	log  *slog.Logger
	baud int // configured rate; 0 for auto

	mu  sync.Mutex
	st  Status
	ref time.Time
	// totals of the connections before the current one
	base Status

	noise logThrottle // serial garbage said in the log; Run's goroutine only
	// which parser panics get a log line
	panicLog logThrottle
	// onTimTP receives u-blox TIM-TP (set before Run)
	onTimTP func(TimTP, time.Time)

	// A configuration from Reconfigure, under mu, that Run takes up
	// before its next open; reopen asks the connection in hand to end.
	next   *Config
	reopen atomic.Bool
	wake   chan struct{} // cuts a backoff short after Reconfigure
}

// SetTimTPHandler sets the function that receives each u-blox TIM-TP
// (the quantisation error of the receiver's next pulse) with its arrival.
// Call it before Run.
func (r *Reader) SetTimTPHandler(fn func(tp TimTP, arrival time.Time)) { r.onTimTP = fn }

// NewReader checks cfg and returns a reader; Run starts it.
func NewReader(cfg Config, opt ReaderOptions) (*Reader, error) {
	if cfg.Device == "" {
		return nil, errors.New("gps: no device")
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = DefaultConfig().ReconnectMax
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gps: %w", err)
	}
	baud, _ := cfg.BaudRate()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ProbeWindow <= 0 {
		opt.ProbeWindow = 2500 * time.Millisecond
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 500 * time.Millisecond
	}
	if opt.Silence <= 0 {
		opt.Silence = 5 * time.Second
	}
	ref := opt.RefDate
	if r := cfg.rolloverRef(); r.After(ref) {
		ref = r
	}
	r := &Reader{cfg: cfg, opt: opt, log: opt.Logger.With("device", cfg.Device), baud: baud, ref: ref,
		wake: make(chan struct{}, 1)}
	r.st = Status{State: StateNoDevice, Device: cfg.Device, Baud: baud}
	return r, nil
}

// SetRefDate raises the rollover reference (say, after the daemon saved
// the time); an earlier date is ignored.
func (r *Reader) SetRefDate(t time.Time) {
	r.mu.Lock()
	if t.After(r.ref) {
		r.ref = t
	}
	r.mu.Unlock()
}

// Status returns a copy of the current state.
func (r *Reader) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.st
	s.LastEpoch.Satellites = append([]Satellite(nil), s.LastEpoch.Satellites...)
	if s.ParserPanics != nil {
		s.ParserPanics = make(map[string]uint64, len(r.st.ParserPanics))
		for k, v := range r.st.ParserPanics {
			s.ParserPanics[k] = v
		}
	}
	return s
}

// errSilent ends a connection that has carried no valid NMEA for too long
// under auto baud, so the rate is detected again.
var errSilent = errors.New("no valid NMEA")

// Run reads until ctx ends, calling fn (from Run's goroutine) with each
// epoch. It returns nil when ctx ends; device errors are retried.
func (r *Reader) Run(ctx context.Context, fn func(Epoch)) error {
	backoff := r.opt.MinBackoff
	connected := false // a connection has been up before
	lastOpenErr := ""  // said once, not at every retry
	for ctx.Err() == nil {
		if r.takeConfig() {
			backoff, lastOpenErr = r.opt.MinBackoff, ""
		}
		port, baud, err := r.open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, errReconfigured) {
				continue
			}
			if msg := err.Error(); msg != lastOpenErr {
				r.log.Warn("cannot open the gps receiver; retrying", "err", err)
				lastOpenErr = msg
			}
			r.setError(err)
			if !sleepOrWake(ctx, backoff, r.wake) {
				break
			}
			backoff = min(2*backoff, r.cfg.ReconnectMax)
			continue
		}
		if connected {
			r.mu.Lock()
			r.st.Reconnects++
			r.mu.Unlock()
		}
		connected = true
		lastOpenErr = ""
		backoff = r.opt.MinBackoff
		if r.cfg.Configure {
			baud = r.configure(ctx, port, baud)
		}
		r.log.Info("gps receiver connected", "baud", baud)
		err = r.read(ctx, port, baud, fn)
		port.Close()
		r.mu.Lock()
		r.st.Connected = false
		r.mu.Unlock()
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errReconfigured) {
			continue
		}
		r.setError(err)
		r.log.Warn("gps receiver lost; reopening", "err", err)
		if !sleepOrWake(ctx, r.opt.MinBackoff, nil) {
			break
		}
	}
	return nil
}

func (r *Reader) setError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.LastError = err.Error()
	if errors.Is(err, errNoNMEA) || errors.Is(err, errSilent) {
		r.st.State = StateNoData
	} else {
		r.st.State = StateNoDevice
	}
}

var errNoNMEA = errors.New("no NMEA with valid checksums at any rate")

// open opens the device at the configured rate, or finds the rate.
func (r *Reader) open(ctx context.Context) (serial.Port, int, error) {
	baud := r.baud
	if baud == 0 {
		baud = 9600
	}
	port, err := serial.Open(r.cfg.Device, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", r.cfg.Device, err)
	}
	if err := port.SetReadTimeout(200 * time.Millisecond); err != nil {
		port.Close()
		return nil, 0, fmt.Errorf("open %s: %w", r.cfg.Device, err)
	}
	if r.baud != 0 {
		return port, baud, nil
	}
	r.mu.Lock()
	r.st.State = StateNoData
	last := r.st.Baud
	r.mu.Unlock()
	found, err := r.detect(ctx, port, last)
	if err != nil {
		port.Close()
		return nil, 0, err
	}
	return port, found, nil
}

// detect tries each rate (the last one found first) and settles on the
// first that yields NMEA sentences with valid checksums.
func (r *Reader) detect(ctx context.Context, port serial.Port, last int) (int, error) {
	rates := AutoBauds()
	if last != 0 {
		rates = append([]int{last}, rates...)
	}
	buf := make([]byte, 512)
	for i, rate := range rates {
		if i > 0 && rate == last {
			continue
		}
		if err := port.SetMode(&serial.Mode{BaudRate: rate, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}); err != nil {
			return 0, fmt.Errorf("set %s to %d baud: %w", r.cfg.Device, rate, err)
		}
		_ = port.ResetInputBuffer() // bytes received at the old rate
		good, bad := 0, 0
		sp := NewSplitter(0)
		deadline := time.Now().Add(r.opt.ProbeWindow)
		for time.Now().Before(deadline) && good < 3 {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if r.reopen.Load() {
				return 0, errReconfigured
			}
			n, err := port.Read(buf)
			if err != nil {
				return 0, fmt.Errorf("read %s: %w", r.cfg.Device, err)
			}
			sp.Write(buf[:n], time.Time{}, func(line []byte, _ time.Time) {
				if ChecksumOK(line) {
					good++
				} else {
					bad++
				}
			})
		}
		sc := sp.Counters()
		bad += int(sc.Binary + sc.Overlong)
		r.log.Debug("gps baud probe", "baud", rate, "valid", good, "invalid", bad)
		if good >= 2 && good > bad {
			r.mu.Lock()
			r.st.Baud = rate
			r.mu.Unlock()
			return rate, nil
		}
	}
	return 0, errNoNMEA
}

// ChecksumOK reports whether line is an NMEA sentence ($ or !) whose
// checksum matches.
func ChecksumOK(line []byte) bool {
	line = trimSpace(line)
	if len(line) < 4 || line[0] != '$' && line[0] != '!' {
		return false
	}
	star := len(line) - 3
	if line[star] != '*' {
		return false
	}
	var sum byte
	for _, b := range line[1:star] {
		sum ^= b
	}
	hi, ok1 := unhex(line[star+1])
	lo, ok2 := unhex(line[star+2])
	return ok1 && ok2 && hi<<4|lo == sum
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// read pumps one connection until it fails or ctx ends.
func (r *Reader) read(ctx context.Context, port io.Reader, baud int, fn func(Epoch)) error {
	r.mu.Lock()
	ref := r.ref
	r.mu.Unlock()
	asm := NewAssembler(AssemblerConfig{RefDate: ref, OnParserPanic: r.parserPanic})
	sp := NewSplitter(0)
	sp.OnUBX = func(f UBXFrame, at time.Time) {
		if f.Class != ubxClassTIM || f.ID != ubxTIMTP || r.onTimTP == nil {
			return
		}
		if tp, err := ParseTimTP(f.Payload); err == nil && tp.QErrGood {
			r.onTimTP(tp, at)
		}
	}
	now := r.opt.Now
	start := now()
	lastValid := start

	r.mu.Lock()
	r.base = r.st // counters so far; this connection adds to them
	r.st.Connected, r.st.Baud, r.st.LastError = true, baud, ""
	if r.st.State == StateNoDevice {
		r.st.State = StateNoData
	}
	r.mu.Unlock()

	var junk uint64 // lines of this connection that were not NMEA, so far
	var epochs []Epoch
	emit := func(line []byte, at time.Time) {
		epochs = append(epochs, asm.Feed(line, at)...)
	}
	buf := make([]byte, 1024)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.reopen.Load() {
			return errReconfigured
		}
		n, err := port.Read(buf)
		at := now()
		if err != nil {
			return fmt.Errorf("read %s: %w", r.cfg.Device, err)
		}
		before := asm.Counters().Sentences
		epochs = epochs[:0]
		sp.Write(buf[:n], at, emit)
		c := asm.Counters()
		if c.Sentences > before {
			lastValid = at
		}

		r.mu.Lock()
		if ref != r.ref {
			ref = r.ref
			asm.SetRefDate(ref)
		}
		sc := sp.Counters()
		r.st.Sentences = r.base.Sentences + c.Sentences
		r.st.BadSum = r.base.BadSum + c.BadChecksum
		r.st.Dropped = r.base.Dropped + c.Malformed + c.ParserPanics + c.Garbage + sc.Binary + sc.Overlong
		r.st.Epochs = r.base.Epochs + c.Epochs
		r.st.UBX, r.st.UBXBad = r.base.UBX+sc.UBX, r.base.UBXBad+sc.UBXBad
		if c.Sentences > before {
			r.st.LastData = at
		}
		silent := at.Sub(lastValid) >= r.opt.Silence
		switch {
		case silent:
			r.st.State = StateNoData
		case len(epochs) > 0:
			r.st.State = stateOf(epochs[len(epochs)-1])
		case r.st.State == StateNoData && c.Sentences > 0 && c.Epochs == 0:
			r.st.State = StateNoFix // NMEA without any time yet
		}
		for _, e := range epochs {
			r.st.LastEpoch, r.st.HaveEpoch = e, true
			if e.Valid && e.HasTime() && !e.Arrival.IsZero() {
				lat := e.Arrival.Sub(e.Time)
				if lat > -time.Second && lat < 2*time.Second {
					if r.st.Latency == 0 {
						r.st.Latency = lat
					} else {
						r.st.Latency += (lat - r.st.Latency) / 8
					}
				}
			}
		}
		r.mu.Unlock()
		if sc := sp.Counters(); c.Garbage+c.BadChecksum+sc.Binary+sc.Overlong > junk {
			j := c.Garbage + c.BadChecksum + sc.Binary + sc.Overlong
			logNoise(r.log, &r.noise, j-junk, at)
			junk = j
		}

		for _, e := range epochs {
			fn(e)
		}
		if silent && r.baud == 0 {
			return fmt.Errorf("%s at %d baud: %w for %v", r.cfg.Device, baud, errSilent, r.opt.Silence)
		}
	}
}

// configure sets the receiver on port up for timing ([gps] configure) and
// returns the rate the line is at afterwards. A receiver that cannot be
// configured is read as it is.
func (r *Reader) configure(ctx context.Context, port serial.Port, baud int) int {
	cp := &SerialConfigPort{port: port, device: r.cfg.Device}
	id, err := Configure(ctx, cp, baud, ConfigureOptions{Baud: r.cfg.ConfigureBaud}, func(step string) {
		r.log.Debug("gps configure", "step", step)
	})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("cannot configure the gps receiver; reading it as it is", "err", err)
		}
		return baud
	}
	if r.cfg.ConfigureBaud != 0 {
		baud = r.cfg.ConfigureBaud
		r.mu.Lock()
		r.st.Baud = baud
		if r.baud != 0 {
			r.baud = baud // a fixed rate follows the change
		}
		r.mu.Unlock()
	}
	r.log.Info("gps receiver configured for timing", "receiver", id.Receiver, "version", id.Version, "baud", baud)
	return baud
}

// parserPanic counts a sentence the NMEA library panicked on and logs it,
// as often as its throttle lets it.
func (r *Reader) parserPanic(p ParserPanic) {
	now := r.opt.Now()
	r.mu.Lock()
	if r.st.ParserPanics == nil {
		r.st.ParserPanics = make(map[string]uint64)
	}
	countPanic(r.st.ParserPanics, p.Type)
	log, since := r.panicLog.note(now, 1)
	r.mu.Unlock()
	if log {
		r.log.Warn("the NMEA library panicked on a sentence; dropped and counted (gps_parser_panics_total)",
			"type", p.Type, "sentence", p.Sentence, "panic", p.Value, "panics_since_last_line", since)
	}
}

func stateOf(e Epoch) string {
	switch {
	case !e.Valid:
		return StateNoFix
	case e.Mode == 3:
		return State3D
	default:
		return State2D
	}
}

// sleepOrWake waits d, until ctx ends or until wake (nil: never); false
// when ctx ended.
func sleepOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
