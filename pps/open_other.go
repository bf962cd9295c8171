//go:build !(linux && (arm || arm64 || amd64))

package pps

import (
	"errors"
	"runtime"
)

// Open fails: PPS capture is implemented for Linux on arm, arm64 and amd64.
func Open(cfg Config) (Source, error) {
	return nil, errors.New("pps: capture is not supported on " + runtime.GOOS + "/" + runtime.GOARCH)
}
