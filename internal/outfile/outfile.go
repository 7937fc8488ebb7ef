// Package outfile writes the files a command is told to write by a flag
// (report --html, scan -o, audit --sarif, catalog export -o...) so that a
// failure never costs the user what was there before: a regular file is
// written to a temporary file beside it, synced and renamed into place, so
// a full disk or a killed process leaves the old content; anything else (a
// character device such as /dev/full or /dev/stdout, a fifo, a symbolic
// link) is written in place and never removed, because the path is not
// ours to replace — as root, removing /dev/stdout after a failed write
// would break the machine.
//
// It imports only the standard library and must never import another
// outflow package.
package outfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// File is an output file being written. Write to it, then Commit; Abort
// (deferred) discards a file that was not committed.
type File struct {
	f       *os.File
	path    string // what the user named
	tmp     string // the temporary file; "" when written in place
	perm    fs.FileMode
	keepMod bool // chmod the temporary file to perm (it replaces a file)
	err     error
	done    bool
}

// Create opens path for writing. A path that does not exist or is a
// regular file is written atomically (see the package doc); a symbolic
// link, device, fifo or socket is opened for writing in place. A
// directory is refused. Errors name path.
func Create(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("outfile: empty path")
	}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createTemp(path, 0o666, false)
	case err != nil:
		return nil, err
	case st.Mode().IsRegular():
		return createTemp(path, st.Mode().Perm(), true)
	case st.IsDir():
		return nil, &fs.PathError{Op: "create", Path: path, Err: errors.New("is a directory")}
	}
	// Not ours to replace: write through it. O_TRUNC empties a regular
	// file behind a symbolic link and is ignored by devices and fifos.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, err
	}
	return &File{f: f, path: path}, nil
}

// createTemp creates the temporary file beside path: same directory, so
// that the rename stays on one file system. O_EXCL with perm lets the
// umask apply to a new file as it would with os.Create.
func createTemp(path string, perm fs.FileMode, keep bool) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var rnd [6]byte
	for range 10 {
		if _, err := rand.Read(rnd[:]); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		tmp := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "create", Path: path, Err: unwrapPath(err)}
		}
		return &File{f: f, path: path, tmp: tmp, perm: perm, keepMod: keep}, nil
	}
	return nil, &fs.PathError{Op: "create", Path: path, Err: errors.New("no free temporary name beside it")}
}

// Name is the path the file will have.
func (f *File) Name() string { return f.path }

// Write writes to the file. After an error every later Write fails with
// it, and Commit returns it. Errors name the path the user gave, not the
// temporary file.
func (f *File) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.done {
		return 0, &fs.PathError{Op: "write", Path: f.path, Err: fs.ErrClosed}
	}
	n, err := f.f.Write(p)
	if err != nil {
		f.err = &fs.PathError{Op: "write", Path: f.path, Err: unwrapPath(err)}
		return n, f.err
	}
	return n, nil
}

// Commit finishes the file: the temporary file is synced, closed and
// renamed over the path (and the directory synced); a file written in
// place is closed. After a failed Write, or when any of these steps
// fails, it aborts and returns the error; the path keeps its old content
// (or, written in place, what the device took).
func (f *File) Commit() error {
	if f.done {
		return f.err
	}
	if f.err != nil {
		f.Abort()
		return f.err
	}
	f.done = true
	if f.tmp == "" {
		if err := f.f.Close(); err != nil {
			f.err = &fs.PathError{Op: "close", Path: f.path, Err: unwrapPath(err)}
		}
		return f.err
	}
	err := f.f.Sync()
	if err == nil && f.keepMod {
		// the umask applied at creation; a replaced file keeps its mode
		err = f.f.Chmod(f.perm)
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp, f.path)
	}
	if err != nil {
		os.Remove(f.tmp)
		f.err = &fs.PathError{Op: "write", Path: f.path, Err: unwrapPath(err)}
		return f.err
	}
	syncDir(filepath.Dir(f.path))
	return nil
}

// Abort discards an uncommitted file: the temporary file is closed and
// removed; a file written in place is closed and left as it is. It does
// nothing after Commit, so it can be deferred.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	if f.err == nil {
		f.err = &fs.PathError{Op: "write", Path: f.path, Err: errors.New("aborted")}
	}
	err := f.f.Close()
	if f.tmp != "" {
		if rerr := os.Remove(f.tmp); err == nil {
			err = rerr
		}
	}
	return err
}

// Write writes path through a buffered writer: fn writes, then the buffer
// is flushed and the file committed. On any error the file is aborted
// and the error returned.
func Write(path string, fn func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := fn(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Commit()
}

// unwrapPath strips an *fs.PathError so that the error can be re-labelled
// with the user's path instead of the temporary file's.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// syncDir makes the rename durable where directories can be synced.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
