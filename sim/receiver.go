package sim

import "time"

// Sentences returns the NMEA sentences a receiver sends for the UTC second
// t: RMC then GGA, each with a valid checksum and CRLF.
func Sentences(t time.Time) []string {
	// Built by hand rather than with fmt: a virtual day formats 86400 of
	// these, and the simulation's targets run for many virtual hours.
	t = t.UTC()
	var hms, date [9]byte
	two := func(b []byte, v int) { b[0], b[1] = byte('0'+v/10%10), byte('0'+v%10) }
	two(hms[0:], t.Hour())
	two(hms[2:], t.Minute())
	two(hms[4:], t.Second())
	copy(hms[6:], ".00")
	two(date[0:], t.Day())
	two(date[2:], int(t.Month()))
	two(date[4:], t.Year()%100)
	return []string{
		sentence("GPRMC," + string(hms[:]) + ",A,5230.0000,N,01322.0000,E,0.00,0.00," + string(date[:6]) + ",,,A"),
		sentence("GPGGA," + string(hms[:]) + ",5230.0000,N,01322.0000,E,1,09,0.90,34.0,M,39.0,M,,"),
	}
}

// sentence frames a body with $, its checksum and CRLF.
func sentence(body string) string {
	var cs byte
	for i := 0; i < len(body); i++ {
		cs ^= body[i]
	}
	const hex = "0123456789ABCDEF"
	return "$" + body + "*" + string([]byte{hex[cs>>4], hex[cs&15]}) + "\r\n"
}
