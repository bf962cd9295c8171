package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
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
