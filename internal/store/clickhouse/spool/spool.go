// Package spool keeps, on local disk, the batches a store could not
// deliver, in order and within a bound in bytes, until they are sent. An
// entry is acknowledged once its file is written, synced and renamed into
// place, so a kill -9 after that loses nothing; an ingest is staged in a
// directory and enters the queue by one rename when it commits, so a
// kill -9 before that leaves nothing behind.
//
// Several processes may spool for the same store (the sensor and the
// dashboard): each takes a slot, a numbered directory under the root
// locked with flock, and a process that starts after a crash adopts the
// crashed one's slot and its entries.
//
// It knows files and bytes, not ClickHouse: it must never import an
// outflow package.
package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ErrFull is returned (wrapped, naming the directory and the bound) when
// an entry would take the spool past its bound. Nothing is dropped: the
// caller is told.
var ErrFull = errors.New("spool full")

// maxSlots bounds the slot directories a root may hold.
const maxSlots = 64

// Spool is one process's slot of a spool root.
type Spool struct {
	Dir string // the slot's directory
	max int64

	mu    sync.Mutex
	lock  *os.File
	next  uint64 // number of the next entry
	bytes int64  // of entries and stages
	parts int    // queued parts (files), staged ones excluded
	stage int    // next stage number
}

// Open takes a free slot under root (creating root), bounded to max
// bytes (0: no bound). A slot left by a process that ended keeps its
// entries; stages it had not committed and half-written files are
// removed.
func Open(root string, max int64) (*Spool, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for i := range maxSlots {
		dir := filepath.Join(root, strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		f, err := lockDir(dir)
		if errors.Is(err, errLocked) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("spool: %s: %w", dir, err)
		}
		s := &Spool{Dir: dir, max: max, lock: f}
		if err := s.recover(); err != nil {
			f.Close()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("spool: %s: all %d slots are held by running processes", root, maxSlots)
}

// entryName is the name of queued entry n; an ingest's is a directory
// with ".d" added.
func entryName(n uint64) string { return fmt.Sprintf("%016d", n) }

func (s *Spool) recover() error {
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		p := filepath.Join(s.Dir, name)
		switch {
		case name == "lock":
		case strings.HasPrefix(name, "stage-") || strings.HasSuffix(name, ".tmp"):
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
		default:
			n, err := strconv.ParseUint(strings.TrimSuffix(name, ".d"), 10, 64)
			if err != nil {
				continue // not ours
			}
			s.next = max(s.next, n+1)
			parts, err := s.partsOf(p, de.IsDir())
			if err != nil {
				return err
			}
			for _, q := range parts {
				if st, err := os.Stat(q); err == nil {
					s.bytes += st.Size()
				}
			}
			s.parts += len(parts)
		}
	}
	return nil
}

// partsOf lists an entry's parts in order: the file itself, or the
// numbered files of a directory.
func (s *Spool) partsOf(p string, dir bool) ([]string, error) {
	if !dir {
		return []string{p}, nil
	}
	des, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []string
	for _, de := range des {
		if _, err := strconv.ParseUint(de.Name(), 10, 64); err == nil {
			out = append(out, filepath.Join(p, de.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// Len is the number of queued parts not yet removed.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parts
}

// Bytes is the size of the queued and staged parts.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// reserve counts n more bytes, or fails when they would pass the bound.
func (s *Spool) reserve(n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.bytes+n > s.max {
		return fmt.Errorf("spool: %s: %w (%d bytes held, %d more asked, bound %d)", s.Dir, ErrFull, s.bytes, n, s.max)
	}
	s.bytes += n
	return nil
}

func (s *Spool) release(n int64) {
	s.mu.Lock()
	s.bytes -= n
	s.mu.Unlock()
}

// writeFile writes data to path through a synced temporary file.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Append queues data as the newest entry. When it returns nil the entry
// is on disk (synced) and survives a kill -9.
func (s *Spool) Append(data []byte) error {
	if err := s.reserve(int64(len(data))); err != nil {
		return err
	}
	s.mu.Lock()
	n := s.next
	s.next++
	s.mu.Unlock()
	if err := writeFile(filepath.Join(s.Dir, entryName(n)), data); err != nil {
		s.release(int64(len(data)))
		return fmt.Errorf("spool: %s: %w", s.Dir, err)
	}
	if err := syncDir(s.Dir); err != nil {
		return fmt.Errorf("spool: %s: %w", s.Dir, err)
	}
	s.mu.Lock()
	s.parts++
	s.mu.Unlock()
	return nil
}

// Oldest lists the parts of the oldest queued entry, in order; none when
// the queue is empty.
func (s *Spool) Oldest() ([]string, error) {
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, de := range des { // ReadDir sorts by name: numbers are zero-padded
		if _, err := strconv.ParseUint(strings.TrimSuffix(de.Name(), ".d"), 10, 64); err != nil {
			continue
		}
		p := filepath.Join(s.Dir, de.Name())
		parts, err := s.partsOf(p, de.IsDir())
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 { // an ingest whose parts were all sent
			os.RemoveAll(p)
			continue
		}
		return parts, nil
	}
	return nil, nil
}

// Remove drops a part that was delivered, and its entry once empty.
func (s *Spool) Remove(part string) error {
	st, err := os.Stat(part)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Remove(part); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.mu.Lock()
	s.bytes -= st.Size()
	s.parts--
	s.mu.Unlock()
	if dir := filepath.Dir(part); dir != s.Dir {
		if parts, err := s.partsOf(dir, true); err == nil && len(parts) == 0 {
			os.RemoveAll(dir)
		}
	}
	return nil
}

// Close releases the slot; its entries stay for the next process.
func (s *Spool) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// Walk calls fn with each queued part's bytes, oldest first.
func (s *Spool) Walk(fn func([]byte) error) error {
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, de := range des {
		if _, err := strconv.ParseUint(strings.TrimSuffix(de.Name(), ".d"), 10, 64); err != nil {
			continue
		}
		parts, err := s.partsOf(filepath.Join(s.Dir, de.Name()), de.IsDir())
		if err != nil {
			return err
		}
		for _, p := range parts {
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			if err := fn(b); err != nil {
				return err
			}
		}
	}
	return nil
}
