package control

import (
	"net"
	"os"
	"testing"
	"time"

	"stratum1/status"
)

func TestProbeNtpq(t *testing.T) {
	h := New(func() status.Snapshot { return fakeSnapshotAt(time.Now()) }, loopback...)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	serveUDP(t, conn, h)
	port := uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	for _, c := range []string{os.Getenv("NTPQCMD")} {
		t.Logf("%s:\n%s", c, ntpqCommand(t, "127.0.0.1", port, "-c", c))
	}
}
