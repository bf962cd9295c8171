package ntp

import (
	"encoding/binary"
	"errors"
)

// Sizes of what may follow the header (RFC 5905, RFC 7822).
const (
	extHeaderLen = 4
	extMinLen    = 16 // RFC 7822: the smallest extension field
	macMaxLen    = 24 // key ID and a SHA-1 digest; MD5 takes 20
	cryptoNAKLen = 4  // a key ID of zero alone
)

// Errors from ParseExtensions.
var (
	ErrExtLength = errors.New("ntp: extension field length invalid")
	ErrTrailer   = errors.New("ntp: trailing bytes are neither extension field nor MAC")
)

// ParseExtensions walks what follows the 48-byte header of pkt: zero or more
// extension fields, then optionally a MAC (or a 4-byte crypto-NAK). It calls
// fn, when not nil, with each field's type and value; the value aliases pkt.
// It returns the length of the MAC, or an error when a length is malformed;
// it never reads past the end of pkt and does not allocate.
func ParseExtensions(pkt []byte, fn func(typ uint16, value []byte)) (macLen int, err error) {
	if len(pkt) < HeaderLen {
		return 0, ErrShort
	}
	rest := pkt[HeaderLen:]
	for len(rest) > macMaxLen {
		typ := binary.BigEndian.Uint16(rest)
		n := int(binary.BigEndian.Uint16(rest[2:]))
		if n < extMinLen || n%4 != 0 || n > len(rest) {
			return 0, ErrExtLength
		}
		if fn != nil {
			fn(typ, rest[extHeaderLen:n])
		}
		rest = rest[n:]
	}
	switch len(rest) {
	case 0, cryptoNAKLen, 20, macMaxLen:
		return len(rest), nil
	}
	return 0, ErrTrailer
}
