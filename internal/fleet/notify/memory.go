package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FileMemory is a Memory kept in a small JSON file, rewritten atomically
// (a temporary file renamed over it) after each batch sent. It stands in
// until the store keeps notifications. It is not safe for concurrent use
// by several processes.
type FileMemory struct {
	path string
	sent map[string]time.Time
}

type memFile struct {
	Version int                  `json:"version"`
	Sent    map[string]time.Time `json:"sent"`
}

// maxMemFile bounds the state file read.
const maxMemFile = 256 << 20

// OpenFileMemory reads the state file at path; a missing file is an empty
// memory (created on the first Remember).
func OpenFileMemory(path string) (*FileMemory, error) {
	m := &FileMemory{path: path, sent: map[string]time.Time{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notify: state: %w", err)
	}
	defer f.Close()
	var mf memFile
	dec := json.NewDecoder(&limited{f, maxMemFile})
	if err := dec.Decode(&mf); err != nil {
		return nil, fmt.Errorf("notify: state %s: %w", path, err)
	}
	if mf.Sent != nil {
		m.sent = mf.Sent
	}
	return m, nil
}

type limited struct {
	f *os.File
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("file too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// Sent implements Memory.
func (m *FileMemory) Sent(key string) bool { _, ok := m.sent[key]; return ok }

// Len is the number of events remembered.
func (m *FileMemory) Len() int { return len(m.sent) }

// Remember implements Memory: the file is rewritten before it returns.
func (m *FileMemory) Remember(keys []string, at time.Time) error {
	for _, k := range keys {
		m.sent[k] = at.UTC()
	}
	b, err := json.MarshalIndent(memFile{Version: 1, Sent: m.sent}, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(m.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("notify: state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".fleet-notified-*")
	if err != nil {
		return fmt.Errorf("notify: state: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), m.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("notify: state %s: %w", m.path, err)
	}
	return nil
}
