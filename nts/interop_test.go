package nts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/internal/proctest"
	"stratum1/internal/testenv"
	"stratum1/ntp"
	"stratum1/nts"
	"stratum1/server"
)

// ntsServer runs the NTP responder with NTS on addr: a synchronised
// stratum-1 state, NTP on a free port, NTS-KE on another. It returns the
// NTS-KE port and the certificate file clients should trust.
func ntsServer(t *testing.T, addr string) (keAddr string, certFile string, s *nts.Server, r *server.Responder) {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM, err := nts.SelfSigned(nil, []net.IP{net.ParseIP(addr)}, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := nts.DefaultConfig()
	cfg.Listen, cfg.Cert, cfg.Key, cfg.StateDir = addr+":0", certFile, keyFile, filepath.Join(dir, "state")
	s, err = nts.New(cfg, 0, nts.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	var state atomic.Pointer[ntp.ServerState]
	now := time.Now()
	state.Store(&ntp.ServerState{Stratum: 1, Precision: -20, RefID: ntp.RefGPS, RefTime: now, Updated: now,
		RootDispersion: 10 * time.Microsecond, DispersionRate: 1e-7})
	r, err = server.New(server.Config{Listen: []string{addr + ":0"}, Workers: 1}, &state,
		server.WithExtensions(s), server.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	s.SetNTPPort(int(r.Addrs()[0].Port()))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = r.Run(ctx); done <- struct{}{} }()
	go func() { _ = s.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return s.Addr().String(), certFile, s, r
}

// chronyClient runs chronyd -x (it never touches this machine's clock) with
// conf lines added, its command socket in a directory of its own, and
// returns a function running chronyc against it.
func chronyClient(t *testing.T, lines string) (chronyc func(args ...string) string) {
	t.Helper()
	chronyd, chronycBin := testenv.Tool(t, "chronyd"), testenv.Tool(t, "chronyc")
	// A short directory: a Unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "nts-chrony")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "chronyd.sock")
	conf := fmt.Sprintf(`%s
port 0
cmdport 0
bindcmdaddress %s
pidfile %s
driftfile %s
ntsdumpdir %s
`, lines, sock, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"), dir)
	path := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// -x: never touch this machine's clock. -u root: the directory is
	// root's.
	p := proctest.Start(t, 5*time.Minute, nil, chronyd, "-x", "-d", "-u", "root", "-f", path)
	return func(args ...string) string {
		if exited, err := p.Exited(); exited {
			t.Fatalf("chronyd exited: %v\n%s", err, p.Output())
		}
		out, err := exec.Command(chronycBin, append([]string{"-h", sock, "-n"}, args...)...).CombinedOutput()
		if err != nil {
			return "error: " + err.Error() + ": " + string(out)
		}
		return string(out)
	}
}

// TestChronydNTSClient is the done-test: chronyd 4.3 as an NTS
// client of the responder gets cookies through NTS-KE, authenticates its
// NTP exchanges (authdata: mode NTS, cookies held) and selects the source.
func TestChronydNTSClient(t *testing.T) {
	addr := proctest.Loopback()
	keAddr, certFile, s, r := ntsServer(t, addr)
	_, kePort, _ := net.SplitHostPort(keAddr)
	chronyc := chronyClient(t, fmt.Sprintf(
		"server %s port %d nts ntsport %s iburst minpoll 0 maxpoll 0\nntstrustedcerts %s",
		addr, r.Addrs()[0].Port(), kePort, certFile))

	var authdata, sources string
	ok := false
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		authdata, sources = chronyc("authdata"), chronyc("sources")
		if ntsCookies(authdata, addr) > 0 && strings.Contains(sources, "^* "+addr) {
			ok = true
			break
		}
	}
	t.Logf("chronyc authdata:\n%s\nchronyc sources:\n%s", authdata, sources)
	if !ok {
		t.Fatalf("chronyd did not select %s as an NTS source with cookies", addr)
	}
	tracking := chronyc("tracking")
	t.Logf("chronyc tracking:\n%s", tracking)
	if !strings.Contains(tracking, "Stratum         : 2") {
		t.Errorf("chronyd does not track the stratum-1 source:\n%s", tracking)
	}
	c := s.Counters()
	if c.KESessions == 0 || c.Requests == 0 || c.CookiesIssued < 8+c.Requests || c.NAKs != 0 {
		t.Errorf("NTS counters %+v", c)
	}
	if rc := r.Counters(); rc.Answered < c.Requests {
		t.Errorf("responder counters %+v", rc)
	}
}

// ntsCookies finds addr's line in `chronyc -n authdata` and returns its
// cookie count when its mode is NTS, else 0.
func ntsCookies(authdata, addr string) int {
	for _, line := range strings.Split(authdata, "\n") {
		f := strings.Fields(line)
		// Name/IP address  Mode KeyID Type KLen Last Atmp  NAK Cook CLen
		if len(f) >= 10 && f[0] == addr && f[1] == "NTS" {
			n, _ := strconv.Atoi(f[8])
			return n
		}
	}
	return 0
}

// TestChronydNTSXleave checks interleaved mode inside NTS (chronyd's
// "nts xleave"): chronyd 4.3 authenticates its exchanges (authdata: mode
// NTS) and reports its samples as interleaved (ntpdata), and the responder
// sent interleaved replies with kernel transmit timestamps.
func TestChronydNTSXleave(t *testing.T) {
	addr := proctest.Loopback()
	keAddr, certFile, s, r := ntsServer(t, addr)
	_, kePort, _ := net.SplitHostPort(keAddr)
	chronyc := chronyClient(t, fmt.Sprintf(
		"server %s port %d nts ntsport %s xleave iburst minpoll -6 maxpoll -6\nntstrustedcerts %s",
		addr, r.Addrs()[0].Port(), kePort, certFile))

	var authdata, ntpdata string
	ok := false
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		authdata, ntpdata = chronyc("authdata"), chronyc("ntpdata", addr)
		if ntsCookies(authdata, addr) > 0 && strings.Contains(ntpdata, "Interleaved     : Yes") {
			ok = true
			break
		}
	}
	t.Logf("chronyc authdata:\n%s\nchronyc ntpdata:\n%s", authdata, ntpdata)
	if !ok {
		t.Fatalf("chronyd did not report authenticated interleaved samples from %s", addr)
	}
	c, rc := s.Counters(), r.Counters()
	if c.Requests == 0 || c.NAKs != 0 {
		t.Errorf("NTS counters %+v", c)
	}
	if rc.Interleaved == 0 || rc.TxStamps == 0 {
		t.Errorf("responder sent %d interleaved replies, read %d kernel transmit timestamps", rc.Interleaved, rc.TxStamps)
	}
}
