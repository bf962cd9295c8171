package gps

import (
	"fmt"
	"time"
)

// sentence frames an NMEA body with its checksum.
func sentence(body string) string {
	var sum byte
	for i := 0; i < len(body); i++ {
		sum ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X", body, sum)
}

// cycle is one second of a plausible u-blox-like receiver at time t: RMC,
// GGA, GSA and two GSV, valid when fix is true.
func cycle(t time.Time, fix bool) []string {
	hms := t.UTC().Format("150405") + fmt.Sprintf(".%02d", t.Nanosecond()/1e7)
	dmy := t.UTC().Format("020106")
	status, quality, gsaMode := "A", "1", "3"
	if !fix {
		status, quality, gsaMode = "V", "0", "1"
	}
	return []string{
		sentence("GPRMC," + hms + "," + status + ",5213.1439,N,02100.6511,E,0.01,," + dmy + ",,,A"),
		sentence("GPGGA," + hms + ",5213.1439,N,02100.6511,E," + quality + ",08,0.9,112.4,M,34.1,M,,"),
		sentence("GPGSA,A," + gsaMode + ",02,05,12,15,18,24,25,29,,,,,1.6,0.9,1.3"),
		sentence("GPGSV,2,1,08,02,45,120,41,05,30,060,38,12,60,270,44,15,20,310,35"),
		sentence("GPGSV,2,2,08,18,10,200,30,24,70,030,45,25,15,140,33,29,50,090,40"),
	}
}
