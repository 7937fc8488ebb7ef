package osquery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// FollowConfig configures Follow.
type FollowConfig struct {
	// Poll is how often Follow looks for new data, truncation and rotation.
	Poll time.Duration
	// FromStart reads what the file already holds before what is appended;
	// by default only appended lines are read (line numbers still count the
	// lines skipped).
	FromStart bool
	// ResetEvery forgets interned strings after this many lines, so that a
	// watch running for months does not keep every value it ever saw.
	ResetEvery int

	polled func() // test hook: called after each poll
}

// DefaultFollowConfig polls every second from the end of the file.
func DefaultFollowConfig() FollowConfig {
	return FollowConfig{Poll: time.Second, ResetEvery: 1 << 20}
}

// Follow reads the osquery result log at path as it grows, visiting items
// and malformed lines as Parse does, until ctx is done; it then returns
// ctx.Err(). It polls (no inotify: the same code works on every platform and
// on network file systems). A missing file is waited for. When the file
// shrinks (copytruncate rotation) Follow reads it again from the start; when
// path names a new file (rotation by rename) Follow reads what the old file
// still held and goes on with the new one from its start. Line numbers in
// Source restart with each new file or truncation. A line still incomplete
// when its file is rotated away is reported as malformed.
func Follow(ctx context.Context, path string, cfg FollowConfig, visit inventory.Visit) error {
	def := DefaultFollowConfig()
	if cfg.Poll <= 0 {
		cfg.Poll = def.Poll
	}
	if cfg.ResetEvery <= 0 {
		cfg.ResetEvery = def.ResetEvery
	}
	fw := &follower{path: path, cfg: cfg, visit: visit, lp: newLineParser(path), buf: make([]byte, 256<<10)}
	defer fw.close()
	tick := time.NewTicker(cfg.Poll)
	defer tick.Stop()
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if fw.f == nil {
			// Only a file that existed when Follow started has old lines
			// to skip; one that appears later is read from its start.
			if _, err := fw.open(!first || cfg.FromStart); err != nil {
				return err
			}
			first = false
		}
		if fw.f != nil {
			if err := fw.drain(ctx); err != nil {
				return err
			}
			if err := fw.check(ctx); err != nil {
				return err
			}
		}
		if cfg.polled != nil {
			cfg.polled()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

type follower struct {
	path     string
	cfg      FollowConfig
	visit    inventory.Visit
	lp       *lineParser
	f        *os.File
	fi       fs.FileInfo
	off      int64
	buf      []byte
	pending  []byte // start of an incomplete line
	skipping bool   // dropping the rest of an over-long line
	lines    int    // since the last interner reset
}

func (fw *follower) close() {
	if fw.f != nil {
		fw.f.Close()
		fw.f = nil
	}
}

// open opens path; ok is false if it does not exist yet. Unless fromStart,
// it skips to the end, counting the lines it skips.
func (fw *follower) open(fromStart bool) (ok bool, err error) {
	f, err := os.Open(fw.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inventory: osquery: follow: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return false, fmt.Errorf("inventory: osquery: follow: %w", err)
	}
	fw.f, fw.fi, fw.off = f, fi, 0
	fw.restart()
	if !fromStart {
		for {
			n, err := f.Read(fw.buf)
			fw.off += int64(n)
			fw.lp.line += bytes.Count(fw.buf[:n], []byte{'\n'})
			if n > 0 && fw.buf[n-1] != '\n' {
				// Start at the next complete line.
				fw.skipping = true
			} else if n > 0 {
				fw.skipping = false
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return false, fmt.Errorf("inventory: osquery: follow: %s: %w", fw.path, err)
			}
		}
	}
	return true, nil
}

// restart begins a new file generation: line 1, nothing pending.
func (fw *follower) restart() {
	fw.lp.line = 0
	fw.pending = fw.pending[:0]
	fw.skipping = false
}

// drain reads and handles everything up to the current end of the file.
func (fw *follower) drain(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := fw.f.Read(fw.buf)
		fw.off += int64(n)
		if n > 0 {
			if verr := fw.chunk(fw.buf[:n]); verr != nil {
				return verr
			}
		}
		if err == io.EOF || n == 0 && err == nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inventory: osquery: follow: %s: %w", fw.path, err)
		}
	}
}

// chunk splits data into lines, keeping an incomplete last line pending.
func (fw *follower) chunk(data []byte) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !fw.skipping {
				if len(fw.pending)+len(data) > MaxLine {
					fw.skipping = true
					fw.pending = fw.pending[:0]
					if err := fw.visit(inventory.Item{}, fw.lp.perr(fw.lp.line+1, errLong)); err != nil {
						return err
					}
					return nil
				}
				fw.pending = append(fw.pending, data...)
			}
			return nil
		}
		line := data[:i]
		data = data[i+1:]
		fw.lp.line++
		if fw.skipping {
			fw.skipping = false
			continue
		}
		if len(fw.pending) > 0 {
			fw.pending = append(fw.pending, line...)
			line = fw.pending
		}
		if err := fw.lp.handleLine(line, fw.lp.line, fw.visit); err != nil {
			return err
		}
		fw.pending = fw.pending[:0]
		if fw.lines++; fw.lines >= fw.cfg.ResetEvery {
			fw.lines = 0
			fw.lp.in.Reset()
		}
	}
	return nil
}

// check looks for truncation and rotation after the file's end was read.
func (fw *follower) check(ctx context.Context) error {
	st, err := os.Stat(fw.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // renamed away, the new file not created yet: keep reading the old one
	}
	if err != nil {
		return fmt.Errorf("inventory: osquery: follow: %w", err)
	}
	if !os.SameFile(st, fw.fi) {
		// Rotated: finish the old file, then the next poll opens the new one.
		if err := fw.drain(ctx); err != nil {
			return err
		}
		if len(fw.pending) > 0 && !fw.skipping {
			err := fw.visit(inventory.Item{}, fw.lp.perr(fw.lp.line+1, errors.New("incomplete last line of rotated file")))
			if err != nil {
				return err
			}
		}
		fw.close()
		return nil
	}
	if st.Size() < fw.off {
		if _, err := fw.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("inventory: osquery: follow: %s: %w", fw.path, err)
		}
		fw.off = 0
		fw.restart()
		return fw.drain(ctx)
	}
	return nil
}
