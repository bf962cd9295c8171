// Package image turns a Raspberry Pi OS Lite image into a stratum1
// appliance image: the package's files installed, the service enabled,
// systemd-timesyncd masked, the boot configuration applied and an optional
// first-boot configuration (hostname, upstream servers, SSH key). It needs
// neither root nor loop mounts: the FAT boot partition is edited with
// mtools and the ext4 root with e2fsprogs' debugfs, both addressing the
// partitions by byte offset inside the image file, so it runs in CI.
package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"stratum1/config"
	"stratum1/deploy"
	"stratum1/deploy/bootcfg"
)

// Options describe one image build.
type Options struct {
	In, Out string
	// Deb is a stratum1 package whose files are installed; or, without
	// it, Binary is a stratum1 binary for the Pi and the unit, rules and
	// configuration are this program's own.
	Deb, Binary string
	// Hostname, when set, replaces the image's (raspberrypi).
	Hostname string
	// Servers are upstream NTP servers or pool names for the configuration
	// (names ending in pool.ntp.org become [[peers.pool]] entries).
	Servers []string
	// SSHKeys are authorized_keys lines for root; when set, sshd is enabled.
	SSHKeys []byte
	// Boot parameterises the boot configuration. The board is unknown, so
	// Bluetooth is moved off the PL011 unless Boot.BT says otherwise.
	Boot bootcfg.Options
	// Log receives one line per step; nil discards them.
	Log io.Writer
}

var hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Build writes the appliance image to o.Out.
func Build(ctx context.Context, o Options) error {
	if o.In == "" || o.Out == "" {
		return errors.New("need an input and an output image")
	}
	if (o.Deb == "") == (o.Binary == "") {
		return errors.New("need exactly one of a package (--deb) and a binary (--binary)")
	}
	if o.Hostname != "" && !hostnameRE.MatchString(o.Hostname) {
		return fmt.Errorf("hostname %q: want lower-case letters, digits and inner hyphens, at most 63", o.Hostname)
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	tools := map[string]string{}
	for _, t := range []string{"mtype", "mcopy", "debugfs", "dpkg-deb"} {
		if t == "dpkg-deb" && o.Deb == "" {
			continue
		}
		p, err := lookTool(t)
		if err != nil {
			return err
		}
		tools[t] = p
	}
	cfg, err := firstBootConfig(o.Servers)
	if err != nil {
		return err
	}

	if err := copyImage(o.In, o.Out); err != nil {
		return err
	}
	logf("copied %s to %s", o.In, o.Out)
	f, err := os.Open(o.Out)
	if err != nil {
		return err
	}
	parts, err := readMBR(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.In, err)
	}
	boot, root, err := bootAndRoot(parts)
	if err != nil {
		return fmt.Errorf("%s: %w", o.In, err)
	}
	logf("boot partition %d at %d, root partition %d at %d", boot.Index, boot.Offset, root.Index, root.Offset)

	stage, err := os.MkdirTemp("", "stratum1-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	if err := editBoot(ctx, tools, o, boot.Offset, stage, logf); err != nil {
		return err
	}
	rfs := newRootfs(tools["debugfs"], o.Out, root.Offset, stage)
	if err := installFiles(ctx, rfs, tools, o, stage); err != nil {
		return err
	}
	if cfg != nil {
		if err := rfs.writeFile(deploy.ConfigPath, cfg, 0o644, 0, 0); err != nil {
			return err
		}
		logf("configured %d upstream servers", len(o.Servers))
	}
	// Enable the service and mask timesyncd: the symlinks systemctl enable
	// and systemctl mask would make.
	rfs.symlink("/etc/systemd/system/multi-user.target.wants/"+deploy.UnitName, deploy.UnitPath)
	rfs.remove("/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service")
	rfs.symlink("/etc/systemd/system/systemd-timesyncd.service", "/dev/null")
	if err := addUser(ctx, rfs); err != nil {
		return err
	}
	if o.Hostname != "" {
		if err := setHostname(ctx, rfs, o.Hostname); err != nil {
			return err
		}
		logf("hostname %s", o.Hostname)
	}
	if len(o.SSHKeys) > 0 {
		rfs.mkdirAll("/root/.ssh")
		rfs.script = append(rfs.script, "sif /root/.ssh mode 040700")
		if err := rfs.writeFile("/root/.ssh/authorized_keys", o.SSHKeys, 0o600, 0, 0); err != nil {
			return err
		}
		logf("SSH key installed for root")
	}
	if err := rfs.commit(ctx); err != nil {
		return fmt.Errorf("root partition: %w", err)
	}
	logf("installed stratum1, enabled %s, masked systemd-timesyncd", deploy.UnitName)
	return nil
}

// lookTool finds a program on PATH or in the sbin directories a non-root
// PATH leaves out (debugfs lives in /usr/sbin).
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	pkg := map[string]string{"mtype": "mtools", "mcopy": "mtools", "debugfs": "e2fsprogs", "dpkg-deb": "dpkg"}[name]
	return "", fmt.Errorf("%s not found: install the Debian package %s", name, pkg)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// copyImage copies in to out (sharing extents where the file system can).
func copyImage(in, out string) error {
	if a, errA := filepath.Abs(in); errA == nil {
		if b, errB := filepath.Abs(out); errB == nil && a == b {
			return errors.New("output image must differ from the input")
		}
	}
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy image: %w", err)
	}
	return dst.Close()
}

// mtools addresses a partition inside an image as image@@offset; it would
// otherwise refuse a file system whose geometry fields look odd.
func mtoolsCmd(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	return cmd
}

// editBoot applies the boot configuration to a copy of config.txt and
// cmdline.txt and writes the changed ones back; with an SSH key it also
// drops the empty "ssh" file that makes Raspberry Pi OS enable sshd.
func editBoot(ctx context.Context, tools map[string]string, o Options, offset int64, stage string, logf func(string, ...any)) error {
	img := fmt.Sprintf("%s@@%d", o.Out, offset)
	dir := filepath.Join(stage, "boot")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	names := []string{"config.txt", "cmdline.txt"}
	for _, n := range names {
		out, err := mtoolsCmd(ctx, tools["mtype"], "-i", img, "::"+n).Output()
		if err != nil {
			return fmt.Errorf("boot partition: read %s: %w", n, err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), out, 0o644); err != nil {
			return err
		}
	}
	opts := o.Boot
	opts.ModelPath = "" // the build machine is not the Pi
	opts.DryRun = false
	diff, changed, err := bootcfg.Apply(dir, opts)
	if err != nil {
		return fmt.Errorf("boot partition: %w", err)
	}
	if changed {
		logf("boot configuration:\n%s", strings.TrimRight(diff, "\n"))
	}
	files := []string{}
	if changed {
		for _, n := range names {
			files = append(files, filepath.Join(dir, n))
		}
	}
	if len(o.SSHKeys) > 0 {
		ssh := filepath.Join(dir, "ssh")
		if err := os.WriteFile(ssh, nil, 0o644); err != nil {
			return err
		}
		files = append(files, ssh)
	}
	if len(files) == 0 {
		return nil
	}
	args := append([]string{"-o", "-i", img}, files...)
	args = append(args, "::")
	if out, err := mtoolsCmd(ctx, tools["mcopy"], args...).CombinedOutput(); err != nil {
		return fmt.Errorf("boot partition: mcopy: %w: %s", err, out)
	}
	return nil
}

// installFiles puts the package's files into the root file system: the
// contents of the .deb, or the binary with this program's own unit, rules
// and configuration.
func installFiles(ctx context.Context, rfs *rootfs, tools map[string]string, o Options, stage string) error {
	if o.Deb == "" {
		bin, err := os.ReadFile(o.Binary)
		if err != nil {
			return err
		}
		if err := rfs.writeFile(deploy.BinaryPath, bin, 0o755, 0, 0); err != nil {
			return err
		}
		for _, f := range deploy.Files() {
			if err := rfs.writeFile(f.Path, f.Data, f.Mode, 0, 0); err != nil {
				return err
			}
		}
		return nil
	}
	tree := filepath.Join(stage, "deb")
	if out, err := exec.CommandContext(ctx, tools["dpkg-deb"], "-x", o.Deb, tree).CombinedOutput(); err != nil {
		return fmt.Errorf("unpack %s: %w: %s", o.Deb, err, out)
	}
	return filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		target := "/" + filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.IsDir():
			rfs.mkdirAll(target)
		case d.Type()&fs.ModeSymlink != 0:
			dest, err := os.Readlink(p)
			if err != nil {
				return err
			}
			rfs.symlink(target, dest)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return rfs.writeFile(target, data, info.Mode().Perm(), 0, 0)
		}
		return nil
	})
}

// firstBootConfig returns the packaged configuration with the given
// upstream servers, or nil to keep the package's own.
func firstBootConfig(servers []string) ([]byte, error) {
	if len(servers) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.Write(deploy.DefaultConfig())
	b.WriteString("\n# Upstream servers given when the image was built.\n")
	for _, s := range servers {
		if s == "" || strings.ContainsAny(s, "\"\\ \t\n") {
			return nil, fmt.Errorf("server %q: want a host name or address", s)
		}
		table := "peers.server"
		if strings.HasSuffix(strings.TrimSuffix(hostOnly(s), "."), "pool.ntp.org") {
			table = "peers.pool"
		}
		fmt.Fprintf(&b, "\n[[%s]]\naddress = %q\niburst = true\n", table, s)
	}
	if _, err := config.Parse([]byte(b.String())); err != nil {
		return nil, fmt.Errorf("configuration with servers %v: %w", servers, err)
	}
	return []byte(b.String()), nil
}

func hostOnly(s string) string {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			return s[1:i]
		}
	}
	if strings.Count(s, ":") == 1 {
		return s[:strings.Index(s, ":")]
	}
	return s
}

// addUser creates the service's system user in the image's account files,
// a member of dialout and gpio, as the package's postinst would.
func addUser(ctx context.Context, rfs *rootfs) error {
	var a accounts
	for _, x := range []struct {
		path string
		dst  *string
	}{{"/etc/passwd", &a.passwd}, {"/etc/group", &a.group}, {"/etc/shadow", &a.shadow}, {"/etc/gshadow", &a.gshadow}} {
		b, err := rfs.readFile(ctx, x.path)
		if err != nil {
			return fmt.Errorf("root partition: %w", err)
		}
		*x.dst = string(b)
	}
	b, err := addSystemUser(a, deploy.User, "stratum1 time server", deploy.StateDir, []string{"dialout", "gpio"})
	if err != nil {
		return err
	}
	shadowGID := groupID(b.group, "shadow", 0)
	for _, x := range []struct {
		path      string
		old, data string
		perm      fs.FileMode
		gid       int
	}{
		{"/etc/passwd", a.passwd, b.passwd, 0o644, 0},
		{"/etc/group", a.group, b.group, 0o644, 0},
		{"/etc/shadow", a.shadow, b.shadow, 0o640, shadowGID},
		{"/etc/gshadow", a.gshadow, b.gshadow, 0o640, shadowGID},
	} {
		if x.old == x.data {
			continue
		}
		if err := rfs.writeFile(x.path, []byte(x.data), x.perm, 0, x.gid); err != nil {
			return err
		}
	}
	return nil
}

// setHostname writes /etc/hostname and points /etc/hosts' 127.0.1.1 line,
// which Debian uses for the machine's own name, at it.
func setHostname(ctx context.Context, rfs *rootfs, name string) error {
	if err := rfs.writeFile("/etc/hostname", []byte(name+"\n"), 0o644, 0, 0); err != nil {
		return err
	}
	hosts, err := rfs.readFile(ctx, "/etc/hosts")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	lines := strings.Split(strings.TrimRight(string(hosts), "\n"), "\n")
	found := false
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "127.0.1.1" {
			lines[i] = "127.0.1.1\t" + name
			found = true
		}
	}
	if !found {
		lines = append(lines, "127.0.1.1\t"+name)
	}
	return rfs.writeFile("/etc/hosts", []byte(strings.TrimLeft(strings.Join(lines, "\n"), "\n")+"\n"), 0o644, 0, 0)
}
