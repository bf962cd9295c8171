package main

// End-to-end tests: the real stratum1 binary run as a process, measured by
// real clients (github.com/beevik/ntp, chronyd, ntpq, Chromium) over
// loopback sockets. Each test uses its own random loopback address, so that
// they run in parallel and beside a developer's own `stratum1 sim`.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"stratum1/internal/proctest"
	"stratum1/internal/testenv"
	"stratum1/status"
)

// e2eBinEnv passes the built binary to a test re-run in another process.
const e2eBinEnv = "STRATUM1_E2E_BIN"

var e2eBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e2eBin.dir != "" {
		os.RemoveAll(e2eBin.dir)
	}
	os.Exit(code)
}

// stratum1Binary builds the command once per test binary, on first use, so
// that a run of only the unit tests does not pay for it.
func stratum1Binary(t *testing.T) string {
	t.Helper()
	e2eBin.once.Do(func() {
		// A test re-run in a network namespace gets the parent's build.
		if p := os.Getenv(e2eBinEnv); p != "" {
			e2eBin.path = p
			return
		}
		dir, err := os.MkdirTemp("", "stratum1-e2e-")
		if err != nil {
			e2eBin.err = err
			return
		}
		e2eBin.dir = dir
		// go test puts its own GOROOT/bin first on the PATH.
		goTool, err := exec.LookPath("go")
		if err != nil {
			e2eBin.err = fmt.Errorf("the go command is needed to build stratum1: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		path := filepath.Join(dir, "stratum1")
		out, err := exec.CommandContext(ctx, goTool, "build", "-o", path, ".").CombinedOutput()
		if err != nil {
			e2eBin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		e2eBin.path = path
	})
	if e2eBin.err != nil {
		t.Fatal(e2eBin.err)
	}
	return e2eBin.path
}

// daemon is a running `stratum1 sim` or `stratum1 run`.
type daemon struct {
	*proctest.Proc
	host    string // loopback address it serves on
	ntpAddr string // host:port of the NTP service
	httpURL string // base URL of the status server
}

// startSim runs `stratum1 sim` in real time on a fresh loopback address,
// with extra flags, for at most limit.
func startSim(t *testing.T, limit time.Duration, ntpPort int, args ...string) *daemon {
	t.Helper()
	host := proctest.Loopback()
	if ntpPort == 0 {
		ntpPort = proctest.FreePort(t, host)
	}
	httpPort := proctest.FreePort(t, host)
	d := &daemon{host: host, ntpAddr: proctest.HostPort(host, ntpPort),
		httpURL: "http://" + proctest.HostPort(host, httpPort)}
	args = append([]string{"sim", "--listen", d.ntpAddr, "--http", proctest.HostPort(host, httpPort)}, args...)
	d.Proc = proctest.Start(t, limit, nil, stratum1Binary(t), args...)
	d.WaitOutput(t, 20*time.Second, "Ctrl-C stops it")
	return d
}

// startRun runs `stratum1 run` with args after the listen and http flags.
func startRun(t *testing.T, limit time.Duration, args ...string) *daemon {
	t.Helper()
	host := proctest.Loopback()
	ntpPort, httpPort := proctest.FreePort(t, host), proctest.FreePort(t, host)
	d := &daemon{host: host, ntpAddr: proctest.HostPort(host, ntpPort),
		httpURL: "http://" + proctest.HostPort(host, httpPort)}
	args = append([]string{"run", "--listen", d.ntpAddr, "--http", proctest.HostPort(host, httpPort)}, args...)
	d.Proc = proctest.Start(t, limit, nil, stratum1Binary(t), args...)
	d.WaitOutput(t, 20*time.Second, "serving NTP")
	return d
}

// status fetches /api/status, failing the test if the daemon does not answer.
func (d *daemon) status(t *testing.T) status.Snapshot {
	t.Helper()
	s, err := d.tryStatus()
	if err != nil {
		t.Fatalf("status of %s: %v", d.Name, err)
	}
	return s
}

func (d *daemon) tryStatus() (status.Snapshot, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return status.Fetch(ctx, d.httpURL)
}

// waitState waits until /api/status reports one of the states.
func (d *daemon) waitState(t *testing.T, limit time.Duration, states ...string) status.Snapshot {
	t.Helper()
	var s status.Snapshot
	proctest.Eventually(t, limit, 500*time.Millisecond, "state "+strings.Join(states, " or "), func() bool {
		if exited, err := d.Exited(); exited {
			t.Fatalf("%s exited: %v", d.Name, err)
		}
		var err error
		s, err = d.tryStatus()
		return err == nil && slices.Contains(states, string(s.State))
	})
	return s
}

// query asks the NTP server at addr once with beevik/ntp, from a random
// loopback source address: the daemon rate-limits per client address, and a
// test polling often must look like many clients, not one abuser.
func query(addr string) (*beevik.Response, error) {
	return beevik.QueryWithOptions(addr, beevik.QueryOptions{
		Timeout:      time.Second,
		LocalAddress: fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(99), rand.IntN(256), 1+rand.IntN(254)),
	})
}

// refID formats a reply's reference ID as the daemon would: four letters at
// stratum 0 and 1, an IPv4 address above.
func refID(r *beevik.Response) string {
	id := r.ReferenceID
	b := []byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	if r.Stratum <= 1 {
		return strings.TrimRight(string(b), "\x00")
	}
	return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
}

// waitServing polls addr until it answers with the stratum and refid.
func waitServing(t *testing.T, limit time.Duration, addr string, stratum uint8, ref string) *beevik.Response {
	t.Helper()
	var r *beevik.Response
	var last string
	deadline := time.Now().Add(limit)
	for {
		var err error
		r, err = query(addr)
		switch {
		case err != nil:
			last = err.Error()
		case r.Stratum == stratum && refID(r) == ref && r.Leap != beevik.LeapNotInSync:
			return r
		default:
			last = fmt.Sprintf("stratum %d refid %q leap %d", r.Stratum, refID(r), r.Leap)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not serve stratum %d refid %s within %v; last reply: %s", addr, stratum, ref, limit, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// chronydQueryOffset runs `chronyd -Q` (query only: it never sets the
// clock) against host:port and returns its measured offset, the system
// clock's error against the server, as chronyd reports it.
func chronydQueryOffset(t *testing.T, host string, port int) time.Duration {
	t.Helper()
	chronyd := testenv.Tool(t, "chronyd")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	directive := fmt.Sprintf("server %s port %d iburst maxsamples 6", host, port)
	out, err := exec.CommandContext(ctx, chronyd, "-Q", "-f", "/dev/null", "-u", "root", directive).CombinedOutput()
	if err != nil {
		t.Fatalf("chronyd -Q %q: %v\n%s", directive, err, out)
	}
	m := regexp.MustCompile(`System clock wrong by (-?[0-9.]+) seconds`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("chronyd -Q %q: no offset in its output:\n%s", directive, out)
	}
	sec, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chronyd -Q: %s", strings.TrimSpace(string(m[0])))
	return time.Duration(sec * float64(time.Second))
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
