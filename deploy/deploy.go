// Package deploy owns what stratum1 installs on a Raspberry Pi besides its
// binary: the hardened systemd unit, the udev rules, the default
// configuration and the Debian maintainer scripts. The files live beside
// this package as plain text (so they can be read and reviewed as what they
// are) and are embedded, so that the package builder and the image builder
// install the very same bytes.
package deploy

import (
	"embed"
	"io/fs"
)

// Paths on the target system. Units and rules go under /usr/lib, which is
// searched on merged-/usr systems (Bookworm) and older ones alike.
const (
	BinaryPath = "/usr/bin/stratum1"
	UnitPath   = "/usr/lib/systemd/system/stratum1.service"
	UdevPath   = "/usr/lib/udev/rules.d/99-stratum1.rules"
	ConfigPath = "/etc/stratum1/stratum1.toml"
	StateDir   = "/var/lib/stratum1"
	UnitName   = "stratum1.service"
	// User is the system user (and group) the service runs as.
	User = "stratum1"
)

//go:embed systemd/stratum1.service udev/99-stratum1.rules config/stratum1.toml
//go:embed debian/preinst debian/postinst debian/prerm debian/postrm
var embedded embed.FS

// File is one file the package installs.
type File struct {
	Path     string      // absolute path on the target
	Mode     fs.FileMode // permission bits
	Data     []byte
	Conffile bool // the administrator may edit it: kept on upgrade
}

// Files returns the installed files other than the binary.
func Files() []File {
	return []File{
		{Path: UnitPath, Mode: 0o644, Data: mustRead("systemd/stratum1.service")},
		{Path: UdevPath, Mode: 0o644, Data: mustRead("udev/99-stratum1.rules")},
		{Path: ConfigPath, Mode: 0o644, Data: mustRead("config/stratum1.toml"), Conffile: true},
	}
}

// Unit returns the systemd unit.
func Unit() []byte { return mustRead("systemd/stratum1.service") }

// DefaultConfig returns the packaged /etc/stratum1/stratum1.toml.
func DefaultConfig() []byte { return mustRead("config/stratum1.toml") }

// MaintainerScript returns the Debian maintainer script named name
// (preinst, postinst, prerm or postrm), or nil.
func MaintainerScript(name string) []byte {
	b, err := embedded.ReadFile("debian/" + name)
	if err != nil {
		return nil
	}
	return b
}

func mustRead(name string) []byte {
	b, err := embedded.ReadFile(name)
	if err != nil {
		panic("deploy: embedded file missing: " + name) // a build without it cannot happen
	}
	return b
}
