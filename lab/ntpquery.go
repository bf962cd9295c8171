package lab

import (
	"encoding/binary"
	"net"
	"time"
)

// Served is what an NTP server says about itself in one reply.
type Served struct {
	Stratum int // -1: no answer
	Leap    int
	RootNs  int64 // root delay/2 + root dispersion
}

// QueryNTP asks addr once in client mode, from the local address from when
// it is not nil, and returns what it serves.
func QueryNTP(from *net.UDPAddr, addr string, timeout time.Duration) Served {
	none := Served{Stratum: -1}
	d := net.Dialer{Timeout: timeout}
	if from != nil {
		d.LocalAddr = from
	}
	c, err := d.Dial("udp", addr)
	if err != nil {
		return none
	}
	defer c.Close()
	var req [48]byte
	req[0] = 4<<3 | 3 // no leap warning, version 4, client
	binary.BigEndian.PutUint64(req[40:], uint64(time.Now().UnixNano()))
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(req[:]); err != nil {
		return none
	}
	var resp [128]byte
	n, err := c.Read(resp[:])
	if err != nil || n < 48 || resp[0]&7 != 4 || binary.BigEndian.Uint64(resp[24:]) != binary.BigEndian.Uint64(req[40:]) {
		return none
	}
	short := func(b []byte) int64 { // NTP short format: 16.16 seconds
		return int64(binary.BigEndian.Uint32(b)) * 1e9 >> 16
	}
	return Served{Stratum: int(resp[1]), Leap: int(resp[0] >> 6), RootNs: short(resp[4:])/2 + short(resp[8:])}
}
