// Package ntp owns the NTPv4 wire format (RFC 5905, RFC 7822): the 48-byte
// header, timestamps and their eras, reference identifiers, kiss codes,
// extension fields, and the state that a server publishes into its replies.
// It does no I/O; the responder and the upstream client both build on it.
package ntp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderLen is the length of the NTP header without extensions or MAC.
const HeaderLen = 48

// Leap is the leap indicator.
type Leap uint8

// Leap indicator values.
const (
	LeapNone      Leap = 0 // no warning
	LeapInsert    Leap = 1 // last minute of the day has 61 seconds
	LeapDelete    Leap = 2 // last minute of the day has 59 seconds
	LeapNotInSync Leap = 3 // clock unsynchronised
)

func (l Leap) String() string {
	switch l {
	case LeapNone:
		return "none"
	case LeapInsert:
		return "insert"
	case LeapDelete:
		return "delete"
	default:
		return "unsynchronised"
	}
}

// Mode is the association mode.
type Mode uint8

// Association modes.
const (
	ModeReserved         Mode = 0
	ModeSymmetricActive  Mode = 1
	ModeSymmetricPassive Mode = 2
	ModeClient           Mode = 3
	ModeServer           Mode = 4
	ModeBroadcast        Mode = 5
	ModeControl          Mode = 6
	ModePrivate          Mode = 7
)

// Stratum values with special meanings.
const (
	StratumKiss           = 0  // kiss-o'-death packet
	StratumUnsynchronised = 16 // RFC 5905: unsynchronised
)

// Header is the fixed part of an NTP packet.
type Header struct {
	Leap           Leap
	Version        uint8
	Mode           Mode
	Stratum        uint8
	Poll           int8 // log2 seconds
	Precision      int8 // log2 seconds
	RootDelay      Short
	RootDispersion Short
	RefID          RefID
	RefTime        Time
	OrigTime       Time
	RecvTime       Time
	XmitTime       Time
}

// ErrShort reports a packet shorter than the NTP header.
var ErrShort = errors.New("ntp: packet shorter than 48 bytes")

// Decode parses the header at the start of b. It does not allocate.
func (h *Header) Decode(b []byte) error {
	if len(b) < HeaderLen {
		return ErrShort
	}
	h.Leap = Leap(b[0] >> 6)
	h.Version = (b[0] >> 3) & 7
	h.Mode = Mode(b[0] & 7)
	h.Stratum = b[1]
	h.Poll = int8(b[2])
	h.Precision = int8(b[3])
	h.RootDelay = Short(binary.BigEndian.Uint32(b[4:]))
	h.RootDispersion = Short(binary.BigEndian.Uint32(b[8:]))
	h.RefID = RefID(binary.BigEndian.Uint32(b[12:]))
	h.RefTime = Time(binary.BigEndian.Uint64(b[16:]))
	h.OrigTime = Time(binary.BigEndian.Uint64(b[24:]))
	h.RecvTime = Time(binary.BigEndian.Uint64(b[32:]))
	h.XmitTime = Time(binary.BigEndian.Uint64(b[40:]))
	return nil
}

// Encode writes the header into the first 48 bytes of b, which must be at
// least that long. It does not allocate.
func (h *Header) Encode(b []byte) {
	_ = b[HeaderLen-1]
	b[0] = byte(h.Leap)<<6 | (h.Version&7)<<3 | byte(h.Mode)&7
	b[1] = h.Stratum
	b[2] = byte(h.Poll)
	b[3] = byte(h.Precision)
	binary.BigEndian.PutUint32(b[4:], uint32(h.RootDelay))
	binary.BigEndian.PutUint32(b[8:], uint32(h.RootDispersion))
	binary.BigEndian.PutUint32(b[12:], uint32(h.RefID))
	binary.BigEndian.PutUint64(b[16:], uint64(h.RefTime))
	binary.BigEndian.PutUint64(b[24:], uint64(h.OrigTime))
	binary.BigEndian.PutUint64(b[32:], uint64(h.RecvTime))
	binary.BigEndian.PutUint64(b[40:], uint64(h.XmitTime))
}

// IsKiss reports whether h is a kiss-o'-death packet, and its code.
func (h *Header) IsKiss() (RefID, bool) {
	return h.RefID, h.Stratum == StratumKiss && h.Mode == ModeServer
}

// PeekMode returns the version and mode of a packet from its first byte.
func PeekMode(b []byte) (version uint8, mode Mode, err error) {
	if len(b) == 0 {
		return 0, 0, ErrShort
	}
	return (b[0] >> 3) & 7, Mode(b[0] & 7), nil
}

func (h *Header) String() string {
	return fmt.Sprintf("li=%d vn=%d mode=%d st=%d poll=%d prec=%d rootdelay=%v rootdisp=%v refid=%s",
		h.Leap, h.Version, h.Mode, h.Stratum, h.Poll, h.Precision,
		h.RootDelay.Duration(), h.RootDispersion.Duration(), h.RefID.Format(h.Stratum))
}
