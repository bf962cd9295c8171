package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"stratum1/gps"
)

func cmdGPS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: stratum1 gps decode FILE|- [--ref-date YYYY-MM-DD] | gps watch --device DEV [--baud N|auto] | gps configure [--help]")
	}
	switch args[0] {
	case "decode":
		return cmdGPSDecode(ctx, args[1:], stdout, stderr)
	case "watch":
		return cmdGPSWatch(ctx, args[1:], stdout, stderr)
	case "configure":
		return cmdGPSConfigure(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("gps: unknown subcommand %q (want decode, watch or configure)", args[0])
}

// decodedEpoch is the JSON Lines contract of `gps decode`.
type decodedEpoch struct {
	Time          string  `json:"time"`
	Mode          int     `json:"mode"`
	Sats          int     `json:"sats"`
	SatsInView    int     `json:"sats_in_view"`
	Valid         bool    `json:"valid"`
	HDOP          float64 `json:"hdop,omitempty"`
	PDOP          float64 `json:"pdop,omitempty"`
	Lat           float64 `json:"lat,omitempty"`
	Lon           float64 `json:"lon,omitempty"`
	AltM          float64 `json:"alt_m,omitempty"`
	DateFrom      string  `json:"date_from"`
	RolloverWeeks int     `json:"rollover_weeks,omitempty"`
	Leap          bool    `json:"leap_second,omitempty"`
}

func cmdGPSDecode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gps decode", stderr)
	refDate := fs.String("ref-date", "", "rollover reference date YYYY-MM-DD (default: the capture's # Date: header)")
	// Accept the flag before or after FILE.
	var file string
	if len(args) > 0 && (args[0] == "-" || len(args[0]) > 0 && args[0][0] != '-') {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return errors.New("usage: stratum1 gps decode FILE|- [--ref-date YYYY-MM-DD]")
	}
	var cfg gps.AssemblerConfig
	if *refDate != "" {
		d, err := time.Parse("2006-01-02", *refDate)
		if err != nil {
			return fmt.Errorf("--ref-date %q: want YYYY-MM-DD", *refDate)
		}
		cfg.RefDate = d
	}
	in := io.Reader(os.Stdin)
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("gps decode: %w", err)
		}
		defer f.Close()
		in = f
	}
	enc := json.NewEncoder(stdout)
	var werr error
	st, err := gps.Decode(ctxReader{ctx, in}, cfg, func(e gps.Epoch) {
		if !e.HasTime() || werr != nil {
			return
		}
		werr = enc.Encode(decodedEpoch{
			Time: e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), Mode: e.Mode, Sats: e.SatsUsed,
			SatsInView: e.SatsInView, Valid: e.Valid, HDOP: e.HDOP, PDOP: e.PDOP,
			Lat: e.Lat, Lon: e.Lon, AltM: e.AltM, DateFrom: e.DateFrom,
			RolloverWeeks: e.RolloverWeeks, Leap: e.LeapSecond,
		})
	})
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("gps decode: write: %w", werr)
	}
	fmt.Fprintf(stderr, "gps decode: %d lines, %d sentences, %d bad checksums, %d malformed, %d parser panics, %d garbage, %d overlong, %d binary, %d ubx, %d epochs\n",
		st.Lines, st.Sentences, st.BadChecksum, st.Malformed, st.ParserPanics, st.Garbage, st.Split.Overlong, st.Split.Binary, st.Split.UBX, st.Epochs)
	if p := st.FirstPanic; p != nil {
		fmt.Fprintf(stderr, "gps decode: the NMEA library panicked on %v sentences (dropped); the first: %q: %s\n",
			st.PanicsByType, p.Sentence, p.Value)
	}
	return nil
}

// ctxReader stops a long decode (say, of standard input) when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func cmdGPSWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gps watch", stderr)
	def := gps.DefaultConfig()
	device := fs.String("device", def.Device, "serial device of the receiver")
	baud := fs.String("baud", def.Baud, "baud rate, or auto to detect it")
	every := fs.Duration("interval", time.Second, "refresh interval")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *every < 100*time.Millisecond {
		return errors.New("--interval: at least 100ms")
	}
	r, err := gps.NewReader(gps.Config{Device: *device, Baud: *baud}, gps.ReaderOptions{RefDate: buildRefDate()})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(gps.Epoch) {}) }()

	tty := isTerminal(stdout)
	tick := time.NewTicker(*every)
	defer tick.Stop()
	var last gps.Status
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			<-done
			fmt.Fprintln(stdout)
			return nil
		case now := <-tick.C:
			st := r.Status()
			rate := float64(st.Sentences-last.Sentences) / now.Sub(lastAt).Seconds()
			last, lastAt = st, now
			if tty {
				fmt.Fprint(stdout, "\033[H\033[2J")
			}
			writeWatch(stdout, st, rate)
		}
	}
}

// writeWatch renders one frame of `gps watch`.
func writeWatch(w io.Writer, st gps.Status, perSec float64) {
	baud := "detecting"
	if st.Baud > 0 {
		baud = fmt.Sprint(st.Baud)
	}
	fmt.Fprintf(w, "device %s  baud %s  state %s  %.1f sentences/s\n", st.Device, baud, st.State, perSec)
	fmt.Fprintf(w, "sentences %d  bad checksums %d  dropped %d  epochs %d  reconnects %d\n",
		st.Sentences, st.BadSum, st.Dropped, st.Epochs, st.Reconnects)
	if st.UBX+st.UBXBad > 0 {
		fmt.Fprintf(w, "ubx frames %d  bad ubx checksums %d\n", st.UBX, st.UBXBad)
	}
	if st.LastError != "" && !st.Connected {
		fmt.Fprintf(w, "error: %s\n", st.LastError)
	}
	if !st.HaveEpoch {
		return
	}
	e := st.LastEpoch
	utc := "(no date yet)"
	if e.HasTime() {
		utc = e.Time.UTC().Format("2006-01-02 15:04:05.000 UTC")
	}
	fix := map[int]string{1: "no fix", 2: "2D", 3: "3D"}[e.Mode]
	fmt.Fprintf(w, "time %s  fix %s  sats %d used / %d in view  HDOP %.1f PDOP %.1f  latency %v\n",
		utc, fix, e.SatsUsed, e.SatsInView, e.HDOP, e.PDOP, st.Latency.Round(time.Millisecond))
	if e.RolloverWeeks != 0 {
		fmt.Fprintf(w, "receiver date corrected by %d weeks (week-number rollover)\n", e.RolloverWeeks)
	}
	if e.LeapSecond {
		fmt.Fprintln(w, "leap second")
	}
	if e.HasPosition {
		fmt.Fprintf(w, "position %.5f %.5f  %.1f m\n", e.Lat, e.Lon, e.AltM)
	}
	for _, s := range e.Satellites {
		used := " "
		if s.Used {
			used = "*"
		}
		fmt.Fprintf(w, "  %s%s %3d  el %2d  az %3d  snr %2d\n", used, s.System, s.PRN, s.Elevation, s.Azimuth, s.SNR)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// buildRefDate is the rollover reference for interactive use: the
// executable's modification time stands in for the build date, a floor
// that moves forward whenever the program is rebuilt or reinstalled.
func buildRefDate() time.Time {
	exe, err := os.Executable()
	if err != nil {
		return time.Time{}
	}
	st, err := os.Stat(exe)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime().UTC()
}
