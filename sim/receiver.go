package sim

import (
	"fmt"
	"time"
)

// Sentences returns the NMEA sentences a receiver sends for the UTC second
// t: RMC then GGA, each with a valid checksum and CRLF.
func Sentences(t time.Time) []string {
	t = t.UTC()
	hms := fmt.Sprintf("%02d%02d%02d.00", t.Hour(), t.Minute(), t.Second())
	date := fmt.Sprintf("%02d%02d%02d", t.Day(), int(t.Month()), t.Year()%100)
	return []string{
		sentence("GPRMC," + hms + ",A,5230.0000,N,01322.0000,E,0.00,0.00," + date + ",,,A"),
		sentence("GPGGA," + hms + ",5230.0000,N,01322.0000,E,1,09,0.90,34.0,M,39.0,M,,"),
	}
}

// sentence frames a body with $, its checksum and CRLF.
func sentence(body string) string {
	var cs byte
	for i := 0; i < len(body); i++ {
		cs ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X\r\n", body, cs)
}
