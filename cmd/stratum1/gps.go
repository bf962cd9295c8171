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
		return errors.New("usage: stratum1 gps decode FILE|- [--ref-date YYYY-MM-DD] | gps watch --device DEV [--baud N|auto]")
	}
	switch args[0] {
	case "decode":
		return cmdGPSDecode(ctx, args[1:], stdout, stderr)
	case "watch":
		return cmdGPSWatch(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("gps: unknown subcommand %q (want decode or watch)", args[0])
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
	fmt.Fprintf(stderr, "gps decode: %d lines, %d sentences, %d bad checksums, %d malformed, %d garbage, %d overlong, %d binary, %d epochs\n",
		st.Lines, st.Sentences, st.BadChecksum, st.Malformed, st.Garbage, st.Split.Overlong, st.Split.Binary, st.Epochs)
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
	return errors.New("gps watch: not built yet")
}
