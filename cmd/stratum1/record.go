package main

import (
	"fmt"
	"io"
	"os"
)

// recordingFile is the file of --record; a nil one records nothing.
type recordingFile struct{ f *os.File }

// openRecording creates path for --record; an empty path records nothing.
func openRecording(path string) (*recordingFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	return &recordingFile{f: f}, nil
}

// writer is where the appliance records, nil when not recording.
func (r *recordingFile) writer() io.Writer {
	if r == nil {
		return nil
	}
	return r.f
}

// Close closes the file; the appliance has flushed what it wrote.
func (r *recordingFile) Close() error {
	if r == nil {
		return nil
	}
	return r.f.Close()
}
