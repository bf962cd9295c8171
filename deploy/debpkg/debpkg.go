// Package debpkg builds stratum1's Debian packages with nfpm as a library:
// the binary, the hardened unit, the udev rules, the default configuration
// as a conffile and the maintainer scripts, for the architectures a
// Raspberry Pi runs (and amd64, where CI installs the package).
package debpkg

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"stratum1/deploy"
)

// Arch maps a Debian architecture to the Go toolchain's target.
type Arch struct {
	Deb    string // Debian's name: arm64, armhf, amd64
	GOARCH string
	GOARM  string // for GOARCH=arm only
}

// Arches returns the architectures packages are built for. armhf is built
// for ARMv6, which Raspberry Pi OS's armhf is, so one package runs on every
// Pi from the Pi 1 and Zero on (and on Debian's ARMv7 armhf).
func Arches() []Arch {
	return []Arch{
		{Deb: "arm64", GOARCH: "arm64"},
		{Deb: "armhf", GOARCH: "arm", GOARM: "6"},
		{Deb: "amd64", GOARCH: "amd64"},
	}
}

// LookupArch returns the Arch whose Debian name is name.
func LookupArch(name string) (Arch, error) {
	for _, a := range Arches() {
		if a.Deb == name {
			return a, nil
		}
	}
	return Arch{}, fmt.Errorf("architecture %q is not one of arm64, armhf, amd64", name)
}

// BuildBinary cross-compiles ./cmd/stratum1 of the module in moduleDir for
// arch into out: static (no cgo), stripped, with the version stamped in.
func BuildBinary(ctx context.Context, moduleDir string, arch Arch, version, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, "./cmd/stratum1")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch.GOARCH, "GOARM="+arch.GOARM)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s: %w\n%s", arch.Deb, err, b)
	}
	return nil
}

// Options describe one package.
type Options struct {
	Arch    string // Debian architecture
	Version string // Debian version, e.g. 0.1.0 or 0.1.0~git20250101
	Binary  string // path of the stratum1 binary built for Arch
	// MTime stamps every file and the changelog, for reproducible
	// packages; zero means now.
	MTime time.Time
}

// FileName is the package's conventional file name.
func FileName(o Options) string {
	return fmt.Sprintf("stratum1_%s_%s.deb", o.Version, o.Arch)
}

const maintainer = "stratum1 maintainers <stratum1@example.org>"

const description = `GPS/PPS stratum-1 NTP server for the Raspberry Pi
 stratum1 reads UTC from a GPS receiver on the serial port, captures the
 pulse-per-second edge with kernel timestamps, disciplines the system clock
 to it and serves NTPv4 at stratum 1, rate-limited and without amplification.
 When GPS is unusable it falls back to upstream NTP servers, which also
 cross-check the receiver.`

// Build writes the package to w.
func Build(w io.Writer, o Options) error {
	if _, err := LookupArch(o.Arch); err != nil {
		return err
	}
	if o.Version == "" {
		return errors.New("debpkg: no version")
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return fmt.Errorf("debpkg: binary: %w", err)
	}
	mtime := o.MTime
	if mtime.IsZero() {
		mtime = time.Now().UTC().Truncate(time.Second)
	}
	// nfpm reads contents and scripts from files: stage the embedded ones.
	stage, err := os.MkdirTemp("", "stratum1-deb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	contents := files.Contents{{
		Source: o.Binary, Destination: deploy.BinaryPath,
		FileInfo: &files.ContentFileInfo{Mode: 0o755, Owner: "root", Group: "root", MTime: mtime},
	}}
	docs, err := docFiles(o.Version, mtime)
	if err != nil {
		return err
	}
	for i, f := range append(deploy.Files(), docs...) {
		src := filepath.Join(stage, fmt.Sprintf("content%d", i))
		if err := os.WriteFile(src, f.Data, 0o644); err != nil {
			return err
		}
		c := &files.Content{Source: src, Destination: f.Path,
			FileInfo: &files.ContentFileInfo{Mode: f.Mode, Owner: "root", Group: "root", MTime: mtime}}
		if f.Conffile {
			c.Type = files.TypeConfigNoReplace
		}
		contents = append(contents, c)
	}
	scripts := map[string]string{}
	for _, name := range []string{"preinst", "postinst", "prerm", "postrm"} {
		p := filepath.Join(stage, name)
		if err := os.WriteFile(p, deploy.MaintainerScript(name), 0o755); err != nil {
			return err
		}
		scripts[name] = p
	}

	info := &nfpm.Info{
		Name:          "stratum1",
		Arch:          o.Arch,
		Platform:      "linux",
		Version:       o.Version,
		VersionSchema: "none",
		Section:       "net",
		Priority:      "optional",
		Maintainer:    maintainer,
		Description:   description,
		Homepage:      "https://github.com/stratum1/stratum1",
		License:       "see /usr/share/doc/stratum1/copyright",
		MTime:         mtime,
		Overridables: nfpm.Overridables{
			// useradd/usermod (preinst) and systemctl (postinst).
			Depends: []string{"passwd", "systemd"},
			// Daemons that would fight over the clock and port 123.
			Conflicts: []string{"chrony", "ntp", "ntpsec", "openntpd"},
			Contents:  contents,
			Umask:     0o022,
			Scripts: nfpm.Scripts{
				PreInstall:  scripts["preinst"],
				PostInstall: scripts["postinst"],
				PreRemove:   scripts["prerm"],
				PostRemove:  scripts["postrm"],
			},
			Deb: nfpm.Deb{Compression: "xz"},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return fmt.Errorf("debpkg: %w", err)
	}
	if err := deb.Default.Package(info, w); err != nil {
		return fmt.Errorf("debpkg: %w", err)
	}
	return nil
}

// docFiles are the files Debian policy asks every package to carry, and
// the lintian override for the one error a Go binary always draws.
func docFiles(version string, mtime time.Time) ([]deploy.File, error) {
	changelog := fmt.Sprintf("stratum1 (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n",
		version, version, maintainer, mtime.Format(time.RFC1123Z))
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.ModTime = mtime
	zw.Write([]byte(changelog))
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return []deploy.File{
		{Path: "/usr/share/doc/stratum1/copyright", Mode: 0o644,
			Data: []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n" +
				"Upstream-Name: stratum1\n\nFiles: *\nCopyright: " + strconv.Itoa(mtime.Year()) +
				" the stratum1 developers\nLicense: see the source repository\n")},
		{Path: "/usr/share/doc/stratum1/changelog.gz", Mode: 0o644, Data: gz.Bytes()},
		// Go links statically by design; Debian's own Go packages carry
		// the same override.
		{Path: "/usr/share/lintian/overrides/stratum1", Mode: 0o644,
			Data: []byte("stratum1: statically-linked-binary [usr/bin/stratum1]\n")},
	}, nil
}
