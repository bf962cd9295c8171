// Package testenv finds the external programs that interop tests run
// (chronyd, ntpq, ntpdig, faketime, chromium, qemu). scripts/test.sh installs
// them; a test whose program is missing fails rather than skips, because a
// skipped interop test proves nothing.
package testenv

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// extraDirs are searched after PATH: scripts/test.sh unpacks ntpsec there,
// since Debian's ntpsec package conflicts with chrony.
var extraDirs = []string{"/opt/ntpsec/usr/bin", "/opt/ntpsec/usr/sbin", "/usr/sbin", "/sbin"}

// LookPath returns the path of the named program, or "" when it is missing.
func LookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range extraDirs {
		p := filepath.Join(d, name)
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	return ""
}

// Tool returns the path of the named program, failing the test when it is
// missing with a hint to run scripts/test.sh, which installs it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := LookPath(name)
	if p == "" {
		t.Fatalf("%s not found: run scripts/test.sh, which installs the interop tools", name)
	}
	return p
}
