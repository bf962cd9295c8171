//go:build !linux

package peer

import (
	"errors"
	"net"
	"time"
)

const oobLen = 0

func enableRXTimestamps(*net.UDPConn) error {
	return errors.New("kernel receive timestamps are Linux only")
}

func kernelRX([]byte) (time.Time, bool) { return time.Time{}, false }
