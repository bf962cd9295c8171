package nts

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// NTS-KE record types (RFC 8915 section 4).
const (
	recEnd        uint16 = 0
	recNextProto  uint16 = 1
	recError      uint16 = 2
	recWarning    uint16 = 3
	recAEAD       uint16 = 4
	recCookie     uint16 = 5
	recServer     uint16 = 6
	recPort       uint16 = 7
	criticalBit   uint16 = 0x8000
	recHeaderLen         = 4
	maxRecordBody        = 1024 // far above any record a client needs to send
)

// Error codes of an Error record.
const (
	errUnrecognizedCritical uint16 = 0
	errBadRequest           uint16 = 1
	errInternal             uint16 = 2
)

// Protocol and AEAD identifiers.
const (
	protoNTPv4     uint16 = 0
	aeadSIVCMAC256 uint16 = 15 // AEAD_AES_SIV_CMAC_256
)

// Record is one NTS-KE record.
type Record struct {
	Critical bool
	Type     uint16
	Body     []byte
}

// Errors of the record parser.
var (
	ErrTruncated = errors.New("nts: truncated record")
	ErrOversized = errors.New("nts: record body too long")
)

// ParseRecord decodes the record at the start of b and returns it (its body
// aliases b) and the bytes after it. It never reads past b and rejects
// bodies longer than maxRecordBody.
func ParseRecord(b []byte) (Record, []byte, error) {
	if len(b) < recHeaderLen {
		return Record{}, b, ErrTruncated
	}
	t := binary.BigEndian.Uint16(b)
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n > maxRecordBody {
		return Record{}, b, fmt.Errorf("%w: %d bytes", ErrOversized, n)
	}
	if len(b) < recHeaderLen+n {
		return Record{}, b, ErrTruncated
	}
	r := Record{Critical: t&criticalBit != 0, Type: t &^ criticalBit, Body: b[recHeaderLen : recHeaderLen+n]}
	return r, b[recHeaderLen+n:], nil
}

// AppendRecord appends the encoding of r to b.
func AppendRecord(b []byte, r Record) []byte {
	t := r.Type
	if r.Critical {
		t |= criticalBit
	}
	b = binary.BigEndian.AppendUint16(b, t)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Body)))
	return append(b, r.Body...)
}

// u16s encodes a list of 16-bit values as a record body.
func u16s(v ...uint16) []byte {
	b := make([]byte, 0, 2*len(v))
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}

// request is what a client asked for in its NTS-KE message.
type request struct {
	protocols []uint16
	aeads     []uint16
	server    string // requested NTPv4 server, "" for none
	port      int    // requested NTPv4 port, 0 for none
}

// errorCode is a KE failure answered with an Error record.
type errorCode struct {
	code uint16
	why  string
}

func (e *errorCode) Error() string { return "nts-ke: " + e.why }

// parseRequest decodes a client's complete message (up to and including
// End of Message). It returns an *errorCode for what deserves an Error
// record. The message must end exactly at End of Message.
func parseRequest(msg []byte) (request, error) {
	var req request
	seenProto, seenAEAD := false, false
	for {
		r, rest, err := ParseRecord(msg)
		if err != nil {
			return req, &errorCode{errBadRequest, err.Error()}
		}
		msg = rest
		switch r.Type {
		case recEnd:
			if len(msg) != 0 {
				return req, &errorCode{errBadRequest, "data after End of Message"}
			}
			if !seenProto {
				return req, &errorCode{errBadRequest, "no Next Protocol Negotiation record"}
			}
			if !seenAEAD {
				return req, &errorCode{errBadRequest, "no AEAD Algorithm Negotiation record"}
			}
			return req, nil
		case recNextProto:
			if seenProto || !r.Critical || len(r.Body)%2 != 0 {
				return req, &errorCode{errBadRequest, "bad Next Protocol Negotiation record"}
			}
			seenProto = true
			req.protocols = decodeU16s(r.Body)
		case recAEAD:
			if seenAEAD || len(r.Body)%2 != 0 {
				return req, &errorCode{errBadRequest, "bad AEAD Algorithm Negotiation record"}
			}
			seenAEAD = true
			req.aeads = decodeU16s(r.Body)
		case recServer:
			req.server = string(r.Body)
		case recPort:
			if len(r.Body) != 2 {
				return req, &errorCode{errBadRequest, "bad Port Negotiation record"}
			}
			req.port = int(binary.BigEndian.Uint16(r.Body))
		case recError, recWarning, recCookie:
			// Only servers send errors and warnings, and cookies in a
			// request mean nothing: a client must not send them.
			return req, &errorCode{errBadRequest, fmt.Sprintf("record type %d in a request", r.Type)}
		default:
			if r.Critical {
				return req, &errorCode{errUnrecognizedCritical, fmt.Sprintf("unrecognized critical record type %d", r.Type)}
			}
		}
	}
}

func decodeU16s(b []byte) []uint16 {
	v := make([]uint16, len(b)/2)
	for i := range v {
		v[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return v
}

// messageEnd reports the length of the first complete message in b (ending
// with End of Message), or 0 when b does not yet hold one, or an error when
// a record is malformed.
func messageEnd(b []byte) (int, error) {
	off := 0
	for {
		r, _, err := ParseRecord(b[off:])
		if errors.Is(err, ErrTruncated) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		off += recHeaderLen + len(r.Body)
		if r.Type == recEnd {
			return off, nil
		}
	}
}
