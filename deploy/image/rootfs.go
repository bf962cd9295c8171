package image

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// rootfs edits an ext4 file system inside an image file through
// e2fsprogs' debugfs, which opens it at a byte offset ("img?offset=N")
// without a loop device or root. Changes are collected as a debugfs script
// and applied at once by commit.
type rootfs struct {
	debugfs string
	dev     string // image?offset=N
	stage   string // directory holding the files to write
	script  []string
	dirs    map[string]bool
	n       int
}

func newRootfs(debugfs, img string, offset int64, stage string) *rootfs {
	return &rootfs{debugfs: debugfs, dev: fmt.Sprintf("%s?offset=%d", img, offset),
		stage: stage, dirs: map[string]bool{"/": true}}
}

// mkdirAll creates p and its parents; existing ones are left alone.
func (r *rootfs) mkdirAll(p string) {
	if r.dirs[p] {
		return
	}
	r.mkdirAll(path.Dir(p))
	r.script = append(r.script, "mkdir "+p)
	r.dirs[p] = true
}

// writeFile replaces p with data, owned by uid:gid with permissions perm.
func (r *rootfs) writeFile(p string, data []byte, perm fs.FileMode, uid, gid int) error {
	r.n++
	src := filepath.Join(r.stage, fmt.Sprintf("f%d", r.n))
	if err := os.WriteFile(src, data, 0o600); err != nil {
		return err
	}
	r.mkdirAll(path.Dir(p))
	r.script = append(r.script,
		"rm "+p,
		"write "+src+" "+p,
		fmt.Sprintf("sif %s mode 0%o", p, 0o100000|uint32(perm.Perm())),
		fmt.Sprintf("sif %s uid %d", p, uid),
		fmt.Sprintf("sif %s gid %d", p, gid))
	return nil
}

// symlink replaces p with a symbolic link to target.
func (r *rootfs) symlink(p, target string) {
	r.mkdirAll(path.Dir(p))
	r.script = append(r.script, "rm "+p, "symlink "+p+" "+target)
}

// remove deletes the file or link p if it exists.
func (r *rootfs) remove(p string) { r.script = append(r.script, "rm "+p) }

// readFile returns the contents of p, or fs.ErrNotExist.
func (r *rootfs) readFile(ctx context.Context, p string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.debugfs, "-R", "cat "+p, r.dev)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("debugfs cat %s: %w: %s", p, err, stderr.String())
	}
	if msg := debugfsErrors(stderr.String(), nil); msg != "" {
		if strings.Contains(msg, "not found") {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("debugfs cat %s: %s", p, msg)
	}
	return stdout.Bytes(), nil
}

// benign are the complaints of the idempotent steps: mkdir of a directory
// that exists, rm of a file that does not.
var benign = []string{"directory already exists", "File not found by ext2_lookup"}

// commit runs the script, failing on any error debugfs reports other than
// the benign ones (debugfs itself exits 0 whatever happens).
func (r *rootfs) commit(ctx context.Context) error {
	if len(r.script) == 0 {
		return nil
	}
	script := filepath.Join(r.stage, "script")
	if err := os.WriteFile(script, []byte(strings.Join(r.script, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.debugfs, "-w", "-f", script, r.dev)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debugfs: %w: %s", err, stderr.String())
	}
	if msg := debugfsErrors(stderr.String(), benign); msg != "" {
		return fmt.Errorf("debugfs: %s", msg)
	}
	r.script = nil
	return nil
}

// debugfsErrors returns the lines of debugfs's stderr that report an error,
// other than its banner and those containing one of the ignore strings.
func debugfsErrors(stderr string, ignore []string) string {
	var bad []string
next:
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "debugfs ") {
			continue
		}
		for _, s := range ignore {
			if strings.Contains(l, s) {
				continue next
			}
		}
		// An ignored rm or mkdir failure is reported on two lines; the
		// second names only the command and the error.
		if strings.HasPrefix(l, "mkdir: Ext2 directory already exists") || strings.HasPrefix(l, "rm: File not found") {
			continue
		}
		bad = append(bad, l)
	}
	return strings.Join(bad, "; ")
}
