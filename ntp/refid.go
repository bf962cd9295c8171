package ntp

import (
	"crypto/md5"
	"encoding/binary"
	"net/netip"
)

// RefID is the 32-bit reference identifier. At stratum 0 (kiss-o'-death) and
// stratum 1 it holds up to four ASCII characters; above, it identifies the
// upstream server: its IPv4 address, or the first four octets of the MD5
// digest of its IPv6 address.
type RefID uint32

// Reference identifiers for stratum-1 sources and kiss codes used here.
var (
	RefGPS  = RefIDFromString("GPS")
	RefPPS  = RefIDFromString("PPS")
	RefLOCL = RefIDFromString("LOCL")
	RefINIT = RefIDFromString("INIT")
	RefSTEP = RefIDFromString("STEP")

	KissRATE = RefIDFromString("RATE")
	KissDENY = RefIDFromString("DENY")
	KissRSTR = RefIDFromString("RSTR")
)

// RefIDFromString packs up to four ASCII characters, padding with zero bytes.
func RefIDFromString(s string) RefID {
	var b [4]byte
	copy(b[:], s)
	return RefID(binary.BigEndian.Uint32(b[:]))
}

// RefIDFromAddr returns the reference ID that names an upstream server.
func RefIDFromAddr(a netip.Addr) RefID {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return RefID(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	sum := md5.Sum(b[:])
	return RefID(binary.BigEndian.Uint32(sum[:4]))
}

// ASCII returns the identifier as text with trailing zero bytes removed,
// and false when it contains bytes that are not printable ASCII.
func (r RefID) ASCII() (string, bool) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(r))
	n := 4
	for n > 0 && b[n-1] == 0 {
		n--
	}
	for _, c := range b[:n] {
		if c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	return string(b[:n]), true
}

// Addr returns the identifier as an IPv4 address.
func (r RefID) Addr() netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(r))
	return netip.AddrFrom4(b)
}

// Format renders the identifier as ntpq does for the given stratum: text for
// stratum 0 and 1 and for an unsynchronised server (INIT, STEP), a dotted
// quad (or a hash, which looks like one) in between.
func (r RefID) Format(stratum uint8) string {
	if stratum <= 1 || stratum >= StratumUnsynchronised {
		if s, ok := r.ASCII(); ok {
			return s
		}
	}
	return r.Addr().String()
}
