package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"stratum1/deploy"
	"stratum1/deploy/bootcfg"
	"stratum1/deploy/debpkg"
	"stratum1/internal/testenv"
)

const (
	bootStart = 2048  // sectors: 1 MiB, as Raspberry Pi OS
	bootSize  = 32768 // 16 MiB
	rootStart = bootStart + bootSize
	imageSize = 80 << 20
)

const stockConfig = "# http://rptl.io/configtxt\ndtparam=audio=on\narm_64bit=1\n\n[cm4]\notg_mode=1\n\n[all]\n"
const stockCmdline = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n"

// rpiosImage builds a small stand-in for a Raspberry Pi OS Lite image: an
// MBR with a FAT boot partition holding config.txt and cmdline.txt, and an
// ext4 root with the /etc a Bookworm install has (accounts with dialout,
// gpio and shadow groups, an enabled timesyncd, merged /usr).
func rpiosImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "raspios.img")
	tree := filepath.Join(dir, "tree")
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/bash\nsystemd-timesync:x:997:997:systemd Time Synchronization:/:/usr/sbin/nologin\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n",
		"etc/group":    "root:x:0:\ndialout:x:20:pi\nshadow:x:42:\ngpio:x:993:pi\nsystemd-timesync:x:997:\npi:x:1000:\n",
		"etc/shadow":   "root:*:19000:0:99999:7:::\nsystemd-timesync:!*:19000::::::\npi:$y$j9T$x:19000:0:99999:7:::\n",
		"etc/gshadow":  "root:*::\ndialout:*::pi\nshadow:*::\ngpio:!::pi\nsystemd-timesync:!*::\npi:!::\n",
		"etc/hostname": "raspberrypi\n",
		"etc/hosts":    "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n\n127.0.1.1\t\traspberrypi\n",
		"usr/lib/systemd/system/systemd-timesyncd.service": "[Unit]\nDescription=Network Time Synchronization\n",
		"usr/lib/udev/rules.d/99-com.rules":                "SUBSYSTEM==\"gpio\", GROUP=\"gpio\", MODE=\"0660\"\n",
		"usr/bin/true":                                     "",
	}
	for name, data := range files {
		p := filepath.Join(tree, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(data), 0o644))
	}
	must(t, os.Chmod(filepath.Join(tree, "etc/shadow"), 0o640))
	must(t, os.MkdirAll(filepath.Join(tree, "etc/systemd/system/sysinit.target.wants"), 0o755))
	must(t, os.MkdirAll(filepath.Join(tree, "etc/systemd/system/multi-user.target.wants"), 0o755))
	must(t, os.MkdirAll(filepath.Join(tree, "root"), 0o700))
	must(t, os.Symlink("/lib/systemd/system/systemd-timesyncd.service",
		filepath.Join(tree, "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service")))
	must(t, os.Symlink("usr/lib", filepath.Join(tree, "lib")))

	f, err := os.Create(img)
	must(t, err)
	must(t, f.Truncate(imageSize))
	f.Close()
	sh(t, strings.NewReader(fmt.Sprintf("label: dos\nstart=%d, size=%d, type=c\nstart=%d, type=83\n", bootStart, bootSize, rootStart)),
		testenv.Tool(t, "sfdisk"), "--quiet", img)
	rootBytes := int64(imageSize - rootStart*512)
	sh(t, nil, testenv.Tool(t, "mkfs.ext4"), "-q", "-F", "-d", tree, "-E", fmt.Sprintf("offset=%d", rootStart*512), img, fmt.Sprintf("%dk", rootBytes/1024))
	boot := fmt.Sprintf("%s@@%d", img, bootStart*512)
	sh(t, nil, testenv.Tool(t, "mformat"), "-i", boot, "-T", fmt.Sprint(bootSize), "-h", "64", "-s", "32", "-v", "BOOTFS", "::")
	cfg, cmd := filepath.Join(dir, "config.txt"), filepath.Join(dir, "cmdline.txt")
	must(t, os.WriteFile(cfg, []byte(stockConfig), 0o644))
	must(t, os.WriteFile(cmd, []byte(stockCmdline), 0o644))
	sh(t, nil, testenv.Tool(t, "mcopy"), "-i", boot, cfg, cmd, "::")
	return img
}

func TestBuild(t *testing.T) {
	in := rpiosImage(t)
	dir := t.TempDir()
	// The image builder moves files; a stand-in binary is enough to prove
	// they arrive intact, and keeps the test from cross-compiling.
	bin := filepath.Join(dir, "stratum1")
	must(t, os.WriteFile(bin, []byte("#!/bin/sh\necho stratum1 stand-in\n"), 0o755))
	deb := filepath.Join(dir, "stratum1.deb")
	df, err := os.Create(deb)
	must(t, err)
	must(t, debpkg.Build(df, debpkg.Options{Arch: "arm64", Version: "0.1.0", Binary: bin}))
	df.Close()
	key := []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKeyOnly test@example\n")

	tests := []struct {
		name string
		opts Options
	}{
		{"deb", Options{Deb: deb, Hostname: "gpsclock", Servers: []string{"ntp1.example.net", "2.pool.ntp.org"}, SSHKeys: key}},
		{"binary", Options{Binary: bin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.In, o.Out = in, filepath.Join(t.TempDir(), "out.img")
			var log bytes.Buffer
			o.Log = &log
			if err := Build(context.Background(), o); err != nil {
				t.Fatalf("Build: %v\n%s", err, log.String())
			}
			t.Logf("%s", log.String())
			r := inspect(t, o.Out)

			if got := r.cat(deploy.BinaryPath); got != "#!/bin/sh\necho stratum1 stand-in\n" {
				t.Errorf("binary = %q", got)
			}
			r.wantMode(deploy.BinaryPath, "100755", 0, 0)
			if got := r.cat(deploy.UnitPath); got != string(deploy.Unit()) {
				t.Error("unit differs from the packaged one")
			}
			r.wantMode(deploy.UdevPath, "100644", 0, 0)
			r.wantLink("/etc/systemd/system/multi-user.target.wants/stratum1.service", deploy.UnitPath)
			r.wantLink("/etc/systemd/system/systemd-timesyncd.service", "/dev/null")
			r.wantGone("/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service")

			passwd, group, gshadow := r.cat("/etc/passwd"), r.cat("/etc/group"), r.cat("/etc/gshadow")
			if !strings.Contains(passwd, "stratum1:x:999:999:stratum1 time server:/var/lib/stratum1:/usr/sbin/nologin\n") ||
				!strings.HasPrefix(passwd, "root:x:0:0:") {
				t.Errorf("passwd:\n%s", passwd)
			}
			for _, want := range []string{"\nstratum1:x:999:\n", "\ndialout:x:20:pi,stratum1\n", "\ngpio:x:993:pi,stratum1\n"} {
				if !strings.Contains(group, want) {
					t.Errorf("group lacks %q:\n%s", want, group)
				}
			}
			if !strings.Contains(gshadow, "\ngpio:!::pi,stratum1\n") || !strings.Contains(r.cat("/etc/shadow"), "\nstratum1:!:::::::\n") {
				t.Errorf("shadow files not updated:\n%s", gshadow)
			}
			r.wantMode("/etc/shadow", "100640", 0, 42)

			cfg := r.cat(deploy.ConfigPath)
			if len(o.Servers) > 0 {
				for _, want := range []string{"[[peers.server]]\naddress = \"ntp1.example.net\"", "[[peers.pool]]\naddress = \"2.pool.ntp.org\""} {
					if !strings.Contains(cfg, want) {
						t.Errorf("config lacks %q", want)
					}
				}
			} else if cfg != string(deploy.DefaultConfig()) {
				t.Error("config is not the packaged default")
			}
			if o.Hostname != "" {
				if h := r.cat("/etc/hostname"); h != o.Hostname+"\n" {
					t.Errorf("hostname %q", h)
				}
				if h := r.cat("/etc/hosts"); !strings.Contains(h, "127.0.1.1\t"+o.Hostname+"\n") || strings.Contains(h, "raspberrypi") {
					t.Errorf("hosts:\n%s", h)
				}
			}
			if len(o.SSHKeys) > 0 {
				if got := r.cat("/root/.ssh/authorized_keys"); got != string(key) {
					t.Errorf("authorized_keys = %q", got)
				}
				r.wantMode("/root/.ssh/authorized_keys", "100600", 0, 0)
				r.wantMode("/root/.ssh", "40700", 0, 0)
				r.bootFile("ssh")
			}

			// The boot partition: the same checks `stratum1 check` makes.
			bootDir := t.TempDir()
			for _, n := range []string{"config.txt", "cmdline.txt"} {
				must(t, os.WriteFile(filepath.Join(bootDir, n), []byte(r.bootFile(n)), 0o644))
			}
			for _, f := range bootcfg.CheckWith(bootDir, bootcfg.Options{}) {
				if !f.OK {
					t.Errorf("boot config: %s: %s", f.Name, f.Detail)
				}
			}
			if !strings.HasPrefix(r.bootFile("config.txt"), stockConfig) {
				t.Error("config.txt lost its original lines")
			}

			// Both file systems must be consistent after the edits.
			r.fsck()
		})
	}
	if b, _ := os.ReadFile(in); len(b) != imageSize {
		t.Error("input image changed size")
	}
	if r := inspect(t, in); r.cat("/etc/hostname") != "raspberrypi\n" || strings.Contains(r.bootFile("config.txt"), "enable_uart") {
		t.Error("the input image was modified")
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "zero.img")
	must(t, os.WriteFile(notImage, make([]byte, 4096), 0o644))
	bin := filepath.Join(dir, "bin")
	must(t, os.WriteFile(bin, []byte("x"), 0o755))
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no partition table", Options{In: notImage, Out: filepath.Join(dir, "o.img"), Binary: bin}, "no MBR"},
		{"same file", Options{In: notImage, Out: notImage, Binary: bin}, "must differ"},
		{"no payload", Options{In: notImage, Out: filepath.Join(dir, "o.img")}, "exactly one"},
		{"bad hostname", Options{In: notImage, Out: filepath.Join(dir, "o.img"), Binary: bin, Hostname: "Bad_Name"}, "hostname"},
		{"bad server", Options{In: notImage, Out: filepath.Join(dir, "o.img"), Binary: bin, Servers: []string{"a b"}}, "server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Build(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAddSystemUserExisting(t *testing.T) {
	a := accounts{passwd: "root:x:0:0::/root:/bin/sh\nstratum1:x:500:500::/var/lib/stratum1:/usr/sbin/nologin\n",
		group: "root:x:0:\ndialout:x:20:stratum1\nstratum1:x:500:\n", shadow: "", gshadow: ""}
	b, err := addSystemUser(a, "stratum1", "c", "/var/lib/stratum1", []string{"dialout", "gpio"})
	must(t, err)
	if b != a {
		t.Errorf("existing user changed:\n%+v", b)
	}
}

// image reads files back out of a built image.
type imageReader struct {
	t          *testing.T
	img        string
	root, boot string
}

func inspect(t *testing.T, img string) *imageReader {
	return &imageReader{t: t, img: img,
		root: fmt.Sprintf("%s?offset=%d", img, rootStart*512),
		boot: fmt.Sprintf("%s@@%d", img, bootStart*512)}
}

func (r *imageReader) debugfs(req string) (string, string) {
	r.t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(testenv.Tool(r.t, "debugfs"), "-R", req, r.root)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("debugfs %s: %v\n%s", req, err, errb.String())
	}
	return out.String(), debugfsErrors(errb.String(), nil)
}

func (r *imageReader) cat(p string) string {
	r.t.Helper()
	out, msg := r.debugfs("cat " + p)
	if msg != "" {
		r.t.Errorf("cat %s: %s", p, msg)
	}
	return out
}

var statRE = regexp.MustCompile(`Mode:\s+0?(\d+)`)

func (r *imageReader) wantMode(p, mode string, uid, gid int) {
	r.t.Helper()
	out, msg := r.debugfs("stat " + p)
	if msg != "" {
		r.t.Errorf("stat %s: %s", p, msg)
		return
	}
	typ := map[string]string{"1": "regular", "4": "directory"}[mode[:len(mode)-5]]
	if !strings.Contains(out, "Type: "+typ) {
		r.t.Errorf("%s is not a %s file:\n%s", p, typ, out)
	}
	if m := statRE.FindStringSubmatch(out); m == nil || m[1] != mode[len(mode)-3:] && "0"+m[1] != mode[len(mode)-4:] {
		r.t.Errorf("%s mode %v, want %s", p, m, mode)
	}
	if !strings.Contains(out, fmt.Sprintf("User: %5d   Group: %5d", uid, gid)) {
		r.t.Errorf("%s owner, want %d:%d:\n%s", p, uid, gid, out)
	}
}

func (r *imageReader) wantLink(p, target string) {
	r.t.Helper()
	out, msg := r.debugfs("stat " + p)
	if msg != "" || !strings.Contains(out, "Type: symlink") || !strings.Contains(out, `Fast link dest: "`+target+`"`) {
		r.t.Errorf("%s is not a link to %s: %s\n%s", p, target, msg, out)
	}
}

func (r *imageReader) wantGone(p string) {
	r.t.Helper()
	if _, msg := r.debugfs("stat " + p); !strings.Contains(msg, "not found") {
		r.t.Errorf("%s still exists", p)
	}
}

func (r *imageReader) bootFile(name string) string {
	r.t.Helper()
	cmd := exec.Command(testenv.Tool(r.t, "mtype"), "-i", r.boot, "::"+name)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("mtype %s: %v\n%s", name, err, out)
	}
	return string(out)
}

// fsck copies each partition out and checks it read-only.
func (r *imageReader) fsck() {
	r.t.Helper()
	data, err := os.ReadFile(r.img)
	must(r.t, err)
	dir := r.t.TempDir()
	boot, root := filepath.Join(dir, "boot"), filepath.Join(dir, "root")
	must(r.t, os.WriteFile(boot, data[bootStart*512:rootStart*512], 0o644))
	must(r.t, os.WriteFile(root, data[rootStart*512:], 0o644))
	if out, err := exec.Command(testenv.Tool(r.t, "e2fsck"), "-fn", root).CombinedOutput(); err != nil {
		r.t.Errorf("e2fsck: %v\n%s", err, out)
	}
	if out, err := exec.Command(testenv.Tool(r.t, "fsck.fat"), "-n", boot).CombinedOutput(); err != nil {
		r.t.Errorf("fsck.fat: %v\n%s", err, out)
	}
}

func sh(t *testing.T, stdin *strings.Reader, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
