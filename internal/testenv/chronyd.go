package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"stratum1/internal/proctest"
)

// ChronydServerConfig writes the configuration of a chronyd that serves its
// (uncontrolled: run it with -x) clock at stratum 2 on addr:port to the
// loopback networks, with its pid and drift files in a temporary directory,
// and returns the file's path. extra is appended, e.g. a ratelimit line.
func ChronydServerConfig(t testing.TB, addr string, port int, extra string) string {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf(`local stratum 2
allow 127.0.0.0/8
allow ::1
bindaddress %s
port %d
cmdport 0
bindcmdaddress /
pidfile %s
driftfile %s
%s
`, addr, port, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"), extra)
	path := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// StartChronyd runs chronyd as a stratum-2 server on addr:port with the
// configuration of ChronydServerConfig (extra appended), never touching
// this machine's clock (-x), and waits until it answers. env adds
// variables, e.g. for libfaketime. It is stopped when the test ends.
// chronyd binds the other address family's wildcard with SO_REUSEPORT, so
// instances sharing a port could answer for each other: give each its own
// port unless the test needs otherwise.
func StartChronyd(t testing.TB, addr string, port int, extra string, env ...string) *proctest.Proc {
	t.Helper()
	bin := Tool(t, "chronyd")
	path := ChronydServerConfig(t, addr, port, extra)
	// -x: never touch this machine's clock. -u root: the temporary
	// directory is not writable by the _chrony user.
	p := proctest.Start(t, 10*time.Minute, env, bin, "-x", "-d", "-u", "root", "-f", path)
	ap := proctest.HostPort(addr, port)
	proctest.Eventually(t, 10*time.Second, 100*time.Millisecond, "chronyd on "+ap, func() bool {
		if exited, err := p.Exited(); exited {
			t.Fatalf("chronyd %s exited: %v\n%s", ap, err, p.Output())
		}
		r, err := beevik.QueryWithOptions(ap, beevik.QueryOptions{Timeout: 200 * time.Millisecond})
		return err == nil && r.Stratum > 0
	})
	return p
}

// Libfaketime returns the path of Debian's libfaketime, for LD_PRELOAD.
// A missing one fails the test.
func Libfaketime(t testing.TB) string {
	t.Helper()
	for _, p := range []string{
		"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
		"/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
		"/usr/lib/arm-linux-gnueabihf/faketime/libfaketime.so.1",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("libfaketime missing: install Debian's libfaketime package")
	return ""
}
