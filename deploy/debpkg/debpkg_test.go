package debpkg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"stratum1/deploy"
	"stratum1/internal/testenv"
)

// binaries builds ./cmd/stratum1 once per architecture per test run: cross
// builds take tens of seconds on a small machine.
var binaries struct {
	sync.Mutex
	dir   string
	built map[string]string
	errs  map[string]error
}

func binary(t *testing.T, arch string) string {
	t.Helper()
	binaries.Lock()
	defer binaries.Unlock()
	if p, ok := binaries.built[arch]; ok {
		return p
	}
	if err, ok := binaries.errs[arch]; ok {
		t.Fatal(err)
	}
	if binaries.dir == "" {
		d, err := os.MkdirTemp("", "stratum1-debpkg-test-")
		if err != nil {
			t.Fatal(err)
		}
		binaries.dir = d
		binaries.built = map[string]string{}
		binaries.errs = map[string]error{}
	}
	a, err := LookupArch(arch)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(binaries.dir, "stratum1-"+arch)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := BuildBinary(ctx, "../..", a, "0.1.0-test", out); err != nil {
		binaries.errs[arch] = err
		t.Fatal(err)
	}
	binaries.built[arch] = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

func buildDeb(t *testing.T, arch, version string) string {
	t.Helper()
	o := Options{Arch: arch, Version: version, Binary: binary(t, arch)}
	path := filepath.Join(t.TempDir(), FileName(o))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Build(f, o); err != nil {
		t.Fatalf("Build %s: %v", arch, err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPackageContents(t *testing.T) {
	dpkgDeb := testenv.Tool(t, "dpkg-deb")
	deb := buildDeb(t, "amd64", "0.1.0")
	info := run(t, dpkgDeb, "--info", deb)
	for _, want := range []string{"Package: stratum1\n", "Version: 0.1.0\n", "Architecture: amd64\n",
		"Depends: passwd, systemd\n", "Conflicts: chrony, ntp, ntpsec, openntpd\n",
		" preinst ", " postinst ", " prerm ", " postrm ", " conffiles "} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	contents := run(t, dpkgDeb, "--contents", deb)
	for _, want := range []string{
		`-rwxr-xr-x root/root +\d+ .* \./usr/bin/stratum1\n`,
		`-rw-r--r-- root/root .* \./usr/lib/systemd/system/stratum1\.service\n`,
		`-rw-r--r-- root/root .* \./usr/lib/udev/rules\.d/99-stratum1\.rules\n`,
		`-rw-r--r-- root/root .* \./etc/stratum1/stratum1\.toml\n`,
		`\./usr/share/doc/stratum1/copyright\n`,
	} {
		if !regexp.MustCompile(want).MatchString(contents) {
			t.Errorf("dpkg-deb --contents lacks %s:\n%s", want, contents)
		}
	}
	tmp := t.TempDir()
	run(t, dpkgDeb, "--control", deb, tmp)
	conffiles, err := os.ReadFile(filepath.Join(tmp, "conffiles"))
	if err != nil || strings.TrimSpace(string(conffiles)) != deploy.ConfigPath {
		t.Errorf("conffiles = %q, %v; want %s", conffiles, err, deploy.ConfigPath)
	}

	// lintian is advice: its warnings are logged, its errors fail.
	lintian := testenv.Tool(t, "lintian")
	out, _ := exec.Command(lintian, "--allow-root", deb).CombinedOutput()
	t.Logf("lintian:\n%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") {
			t.Errorf("lintian error: %s", line)
		}
	}
}

// throwawayRoot makes a directory dpkg can install into: an empty dpkg
// database, the account files useradd edits, the dialout and gpio groups of
// Raspberry Pi OS, and an enabled systemd-timesyncd for postinst to disable.
func throwawayRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"var/lib/dpkg/status":    "",
		"var/lib/dpkg/available": "",
		"etc/passwd":             "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n",
		"etc/group":              "root:x:0:\ndialout:x:20:pi\ngpio:x:997:pi\npi:x:1000:\n",
		"etc/shadow":             "root:*:19000:0:99999:7:::\npi:*:19000:0:99999:7:::\n",
		"etc/gshadow":            "root:*::\ndialout:*::pi\ngpio:!::pi\npi:!::\n",
		"usr/lib/systemd/system/systemd-timesyncd.service": "[Unit]\nDescription=timesyncd stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=sysinit.target\n",
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "etc/systemd/system/sysinit.target.wants"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	if err := os.Symlink("/usr/lib/systemd/system/systemd-timesyncd.service",
		filepath.Join(root, "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service")); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestInstallRemovePurge installs the package into a throw-away root with
// dpkg, runs its maintainer scripts there (DPKG_ROOT, no chroot), upgrades
// it, removes it and purges it, checking the system after each step.
func TestInstallRemovePurge(t *testing.T) {
	dpkg := testenv.Tool(t, "dpkg")
	testenv.Tool(t, "useradd")
	testenv.Tool(t, "systemctl")
	root := throwawayRoot(t)
	at := func(p string) string { return filepath.Join(root, p) }
	dpkgIn := func(args ...string) string {
		return run(t, dpkg, append([]string{"--root=" + root, "--force-script-chrootless",
			"--force-not-root", "--force-depends", "--log=/dev/null"}, args...)...)
	}
	wantLink := func(link, target string) {
		t.Helper()
		got, err := os.Readlink(at(link))
		if err != nil || got != target {
			t.Errorf("%s -> %q (%v), want -> %s", link, got, err, target)
		}
	}
	wantGone := func(p string) {
		t.Helper()
		if _, err := os.Lstat(at(p)); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
	enabled := "etc/systemd/system/multi-user.target.wants/stratum1.service"
	timesyncd := "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service"

	// The account exists before the files are unpacked: udevd resolves
	// the rule's group when it parses the rule, possibly at once.
	deb := buildDeb(t, "amd64", "0.1.0")
	dpkgIn("--unpack", deb)
	if group, _ := os.ReadFile(at("etc/group")); !regexp.MustCompile(`(?m)^stratum1:x:\d+:$`).Match(group) {
		t.Errorf("no stratum1 group once the udev rule is unpacked:\n%s", group)
	}
	dpkgIn("--configure", "stratum1")
	status := dpkgIn("--status", "stratum1")
	if !strings.Contains(status, "Status: install ok installed") {
		t.Fatalf("not installed:\n%s", status)
	}
	for _, f := range []string{"usr/bin/stratum1", "usr/lib/systemd/system/stratum1.service",
		"usr/lib/udev/rules.d/99-stratum1.rules", "etc/stratum1/stratum1.toml"} {
		if _, err := os.Stat(at(f)); err != nil {
			t.Errorf("installed file: %v", err)
		}
	}
	passwd, _ := os.ReadFile(at("etc/passwd"))
	if !regexp.MustCompile(`(?m)^stratum1:x:\d+:\d+:[^:]*:/var/lib/stratum1:/usr/sbin/nologin$`).Match(passwd) {
		t.Errorf("no stratum1 system user in passwd:\n%s", passwd)
	}
	group, _ := os.ReadFile(at("etc/group"))
	for _, re := range []string{`(?m)^stratum1:x:\d+:$`, `(?m)^dialout:x:20:pi,stratum1$`, `(?m)^gpio:x:997:pi,stratum1$`} {
		if !regexp.MustCompile(re).Match(group) {
			t.Errorf("group lacks %s:\n%s", re, group)
		}
	}
	wantLink(enabled, deploy.UnitPath)
	wantGone(timesyncd)
	if hostPasswd, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(hostPasswd), "stratum1 time server") &&
		!strings.Contains(string(passwd), "stratum1 time server") {
		t.Error("the scripts created the user on the host")
	}

	// Upgrade: the administrator's edits to the conffile survive, and the
	// service stays as the administrator left it.
	cfg := at("etc/stratum1/stratum1.toml")
	edited := append(must(os.ReadFile(cfg)), []byte("\n# edited by the administrator\n")...)
	if err := os.WriteFile(cfg, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(at(enabled))
	dpkgIn("--force-confold", "--install", buildDeb(t, "amd64", "0.1.1"))
	if got := must(os.ReadFile(cfg)); string(got) != string(edited) {
		t.Error("upgrade replaced the edited conffile")
	}
	wantGone(enabled)
	if n := strings.Count(string(must(os.ReadFile(at("etc/passwd")))), "\nstratum1:"); n != 1 {
		t.Errorf("%d stratum1 users after upgrade", n)
	}
	run(t, "systemctl", "--root="+root, "enable", "stratum1.service")

	dpkgIn("--remove", "stratum1")
	wantGone("usr/bin/stratum1")
	wantGone(enabled)
	wantLink(timesyncd, "/usr/lib/systemd/system/systemd-timesyncd.service")
	if _, err := os.Stat(cfg); err != nil {
		t.Error("remove deleted the conffile; only purge may")
	}

	dpkgIn("--purge", "stratum1")
	wantGone("etc/stratum1")
	wantGone("var/lib/stratum1")
	if out := dpkgIn("--list"); strings.Contains(out, "stratum1") {
		t.Errorf("still known to dpkg after purge:\n%s", out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
