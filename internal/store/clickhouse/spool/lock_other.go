//go:build !unix

package spool

import (
	"errors"
	"os"
	"path/filepath"
)

var errLocked = errors.New("slot held by another process")

// lockDir without flock: one slot per root, not shared safely between
// processes on this platform.
func lockDir(dir string) (*os.File, error) {
	if filepath.Base(dir) != "0" {
		return nil, errLocked
	}
	return os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
}
