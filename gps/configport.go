package gps

import (
	"fmt"
	"time"

	"go.bug.st/serial"
)

// SerialConfigPort is a receiver's serial device opened for Configure.
type SerialConfigPort struct {
	port   serial.Port
	device string
}

// OpenConfigPort opens device at baud, 8N1, with short reads.
func OpenConfigPort(device string, baud int) (*SerialConfigPort, error) {
	p, err := serial.Open(device, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", device, err)
	}
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		p.Close()
		return nil, fmt.Errorf("open %s: %w", device, err)
	}
	return &SerialConfigPort{port: p, device: device}, nil
}

func (s *SerialConfigPort) Read(b []byte) (int, error)  { return s.port.Read(b) }
func (s *SerialConfigPort) Write(b []byte) (int, error) { return s.port.Write(b) }

// SetBaud changes the local rate once what was written has left.
func (s *SerialConfigPort) SetBaud(baud int) error {
	if err := s.port.Drain(); err != nil {
		return fmt.Errorf("drain %s: %w", s.device, err)
	}
	if err := s.port.SetMode(&serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}); err != nil {
		return fmt.Errorf("set %s to %d baud: %w", s.device, baud, err)
	}
	return nil
}

// Close closes the device.
func (s *SerialConfigPort) Close() error { return s.port.Close() }
