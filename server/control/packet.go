// Package control answers NTP control messages (mode 6, RFC 9327) read-only,
// enough for ntpq (ntpsec's and classic), Nagios check_ntp_peer, collectd
// and telegraf to show the daemon's system variables and its sources. It
// renders from a status.Snapshot; nothing it answers changes the daemon.
package control

import (
	"encoding/binary"
	"errors"
)

// Opcodes (RFC 9327 section 2.4).
const (
	opUnspec     = 0
	opReadStat   = 1
	opReadVar    = 2
	opWriteVar   = 3
	opReadClock  = 4
	opWriteClock = 5
	opSetTrap    = 6
	opAsyncMsg   = 7
	opConfigure  = 8
	opSaveConfig = 9
	opReadMRU    = 10
	opReadOrdlst = 11
	opReqNonce   = 12
	opUnsetTrap  = 31
)

// Error codes carried in the high byte of the status word of an error
// response.
const (
	errUnspec     = 0
	errPermission = 1
	errBadFormat  = 2
	errBadOpcode  = 3
	errBadAssoc   = 4
	errUnknownVar = 5
	errBadValue   = 6
	errRestrict   = 7
)

const (
	headerLen   = 12
	maxFragData = 468 // data octets per fragment (RFC 9327)
	// maxResponse bounds a whole response: classic ntpq gives up after
	// 32 fragments.
	maxResponse = 24 * maxFragData

	flagResponse = 0x80
	flagError    = 0x40
	flagMore     = 0x20
	opMask       = 0x1f

	modeControl = 6
)

// request is a parsed control message.
type request struct {
	version  uint8
	opcode   uint8
	sequence uint16
	assoc    uint16
	data     []byte // count octets; padding and any MAC are dropped
}

// errDrop marks a datagram that gets no answer at all: too short to
// answer, not a request, or not mode 6.
var errDrop = errors.New("control: not a request")

// formatError is a request that is answered with an error code.
type formatError struct {
	req  request
	code uint8
}

func (e *formatError) Error() string { return "control: malformed request" }

// parseRequest decodes a mode 6 request. It never reads past b.
func parseRequest(b []byte) (request, error) {
	if len(b) < headerLen {
		return request{}, errDrop
	}
	req := request{
		version:  (b[0] >> 3) & 7,
		opcode:   b[1] & opMask,
		sequence: binary.BigEndian.Uint16(b[2:]),
		assoc:    binary.BigEndian.Uint16(b[6:]),
	}
	if b[0]&7 != modeControl || b[1]&flagResponse != 0 {
		// Answering responses could start a loop between two servers.
		return request{}, errDrop
	}
	if req.version < 1 || req.version > 4 {
		return request{}, errDrop
	}
	offset := binary.BigEndian.Uint16(b[8:])
	count := int(binary.BigEndian.Uint16(b[10:]))
	if b[1]&(flagError|flagMore) != 0 || offset != 0 || count > maxFragData || headerLen+count > len(b) {
		// Multi-fragment requests are never needed for reads.
		return request{}, &formatError{req: req, code: errBadFormat}
	}
	req.data = b[headerLen : headerLen+count]
	return req, nil
}

// response builds the fragments of a reply to req carrying data, each at
// most headerLen+maxFragData octets and padded to a multiple of four.
func response(req request, leap uint8, status uint16, data []byte) [][]byte {
	n := max((len(data)+maxFragData-1)/maxFragData, 1)
	frags := make([][]byte, 0, n)
	for off := 0; off < len(data) || len(frags) == 0; off += maxFragData {
		chunk := data[off:min(off+maxFragData, len(data))]
		more := off+len(chunk) < len(data)
		frags = append(frags, fragment(req, leap, 0, status, uint16(off), chunk, more))
	}
	return frags
}

// errorResponse is the single, header-only reply that reports code.
func errorResponse(req request, leap uint8, code uint8) []byte {
	return fragment(req, leap, flagError, uint16(code)<<8, 0, nil, false)
}

func fragment(req request, leap, flags uint8, status, offset uint16, chunk []byte, more bool) []byte {
	size := headerLen + (len(chunk)+3)&^3
	b := make([]byte, size)
	b[0] = (leap&3)<<6 | (req.version&7)<<3 | modeControl
	b[1] = flagResponse | flags | req.opcode&opMask
	if more {
		b[1] |= flagMore
	}
	binary.BigEndian.PutUint16(b[2:], req.sequence)
	binary.BigEndian.PutUint16(b[4:], status)
	binary.BigEndian.PutUint16(b[6:], req.assoc)
	binary.BigEndian.PutUint16(b[8:], offset)
	binary.BigEndian.PutUint16(b[10:], uint16(len(chunk)))
	copy(b[headerLen:], chunk)
	return b
}
