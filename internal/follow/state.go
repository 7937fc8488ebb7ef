package follow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State is how far one file has been handled.
type State struct {
	Path    string    `json:"path"` // the configured path it was found at
	Dev     uint64    `json:"dev"`
	Ino     uint64    `json:"ino"`
	FP      string    `json:"fp"`     // hex SHA-256 of the first FPLen bytes
	FPLen   int64     `json:"fp_len"` // bytes the fingerprint covers
	Offset  int64     `json:"offset"` // every byte before it was handled
	Updated time.Time `json:"updated"`
}

// Offsets keeps the states between runs. Save receives every state in
// force; Load returns what the last Save kept (none on the first run).
type Offsets interface {
	Load() ([]State, error)
	Save([]State) error
}

// FileOffsets keeps the states in a JSON file replaced atomically.
type FileOffsets struct{ Path string }

var _ Offsets = (*FileOffsets)(nil)

type stateFile struct {
	Version int     `json:"version"`
	Files   []State `json:"files"`
}

// maxStateFile bounds what Load reads: a state is ~200 bytes.
const maxStateFile = 16 << 20

// Load reads the file; a missing file is no state.
func (o *FileOffsets) Load() ([]State, error) {
	f, err := os.Open(o.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("follow: state: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, fmt.Errorf("follow: state %s: %w", o.Path, err)
	}
	return decodeStates(o.Path, b)
}

func decodeStates(name string, b []byte) ([]State, error) {
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("follow: state %s: larger than %d bytes", name, maxStateFile)
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("follow: state %s: offset %d: %w", name, se.Offset, err)
		}
		return nil, fmt.Errorf("follow: state %s: %w", name, err)
	}
	if sf.Version != 1 {
		return nil, fmt.Errorf("follow: state %s: version %d, want 1", name, sf.Version)
	}
	out := sf.Files[:0]
	for _, s := range sf.Files {
		if s.Offset < 0 || s.FPLen < 0 || s.Path == "" {
			continue // not something Save writes
		}
		out = append(out, s)
	}
	return out, nil
}

// Save writes the states to a temporary file, syncs it, renames it over
// the state file and syncs the directory, so that a crash leaves either
// the old states or the new ones.
func (o *FileOffsets) Save(states []State) error {
	b, err := json.Marshal(stateFile{Version: 1, Files: states})
	if err != nil {
		return fmt.Errorf("follow: state: %w", err)
	}
	dir := filepath.Dir(o.Path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(o.Path)+".*")
	if err != nil {
		return fmt.Errorf("follow: state: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), o.Path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("follow: state %s: %w", o.Path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not every file system syncs directories; the rename stands
		d.Close()
	}
	return nil
}
