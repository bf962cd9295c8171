package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// runNMEA writes, 100 ms after each truth second, that second's RMC, GGA,
// GSA and GSV sentences to dev (its line settings are made by stty).
func runNMEA(ctx context.Context, dev string) error {
	f, err := os.OpenFile(dev, os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("nmea: %w", err)
	}
	defer f.Close()
	var last int64
	for {
		r, err := waitNextSecond(ctx, last, 100*time.Millisecond)
		if err != nil {
			return err
		}
		last = r.truthNs / 1e9
		if r.truthNs%1e9 > 600e6 {
			continue // woken too late for this second: a receiver skips it
		}
		if _, err := f.WriteString(sentences(time.Unix(last, 0).UTC())); err != nil {
			return fmt.Errorf("nmea: write: %w", err)
		}
	}
}

// sentences is one second of a receiver with a 3D fix at a fixed place.
func sentences(t time.Time) string {
	hms := t.Format("150405") + ".00"
	dmy := t.Format("020106")
	var b strings.Builder
	for _, s := range []string{
		"GPRMC," + hms + ",A,5213.0000,N,00422.0000,E,0.0,0.0," + dmy + ",,,D",
		"GPGGA," + hms + ",5213.0000,N,00422.0000,E,2,09,0.9,10.0,M,46.0,M,,",
		"GPGSA,A,3,02,05,07,09,13,15,20,24,30,,,,1.6,0.9,1.3",
		"GPGSV,3,1,10,02,45,120,40,05,30,200,38,07,60,045,44,09,20,300,35",
		"GPGSV,3,2,10,13,50,090,42,15,10,250,30,20,70,180,45,24,25,020,37",
		"GPGSV,3,3,10,30,35,330,39,31,05,110,25",
	} {
		fmt.Fprintf(&b, "$%s*%02X\r\n", s, checksum(s))
	}
	return b.String()
}

func checksum(s string) byte {
	var c byte
	for i := 0; i < len(s); i++ {
		c ^= s[i]
	}
	return c
}
