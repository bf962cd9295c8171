package loadgen

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/ntp"
	"stratum1/server"
)

func TestValidateRefusesRemote(t *testing.T) {
	c := Config{Target: netip.MustParseAddrPort("192.0.2.1:123"), Rate: 10, Duration: time.Second, Sockets: 1}
	if err := c.Validate(); err == nil {
		t.Fatal("non-loopback target accepted without AllowRemote")
	}
	c.AllowRemote = true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Duration = time.Hour
	if err := c.Validate(); err == nil {
		t.Fatal("unbounded duration accepted")
	}
}

// TestRunAgainstResponder loads the responder briefly and checks that every
// request is accounted for and measured with kernel timestamps.
func TestRunAgainstResponder(t *testing.T) {
	var state atomic.Pointer[ntp.ServerState]
	state.Store(&ntp.ServerState{Stratum: 1, RefID: ntp.RefGPS, RefTime: time.Now()})
	r, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, &state,
		server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	rep, err := Run(context.Background(), Config{Target: r.Addrs()[0], Rate: 2000, Duration: 300 * time.Millisecond, Sockets: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 400 || rep.Sent > 700 {
		t.Fatalf("sent %d at 2000/s for 0.3 s", rep.Sent)
	}
	if rep.Loss() > 0.01 || rep.Bogus != 0 || rep.Oversized != 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.KernelStamps < rep.Answered*9/10 || rep.RTT.P50 <= 0 || rep.RTT.P50 > 10*time.Millisecond {
		t.Fatalf("measurements: %d kernel-stamped of %d, RTT %+v", rep.KernelStamps, rep.Answered, rep.RTT)
	}
	// Client and server share the clock: the error is bounded by the RTT.
	if rep.Error.P50.Abs() > rep.RTT.P50 {
		t.Fatalf("error p50 %v beyond rtt p50 %v", rep.Error.P50, rep.RTT.P50)
	}
	// Four source sockets on four 127.x addresses.
	if srv := r.Counters(); srv.Received != rep.Sent {
		t.Fatalf("server received %d, client sent %d", srv.Received, rep.Sent)
	}
}
