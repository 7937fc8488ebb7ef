//go:build unix

package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// writerLock takes the store's writer lock (PATH.writer, flock) without
// waiting. held is false when another process holds it; the file is to
// be closed when the store is.
func writerLock(path string) (f *os.File, held bool, err error) {
	f, err = os.OpenFile(path+".writer", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}
