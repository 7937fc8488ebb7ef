package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// Input is a file a store ingested (a capture, a log, a flow export),
// known by its fingerprint: size and the hashes of its head and tail.
// Reading a whole capture to hash it would double the cost of a scan;
// the ends and the size tell a re-run of the same file from another file
// as surely as names and timestamps do, and a capture's head and tail
// hold its first and last packets.
type Input struct {
	Path string `json:"path"` // as given when it was ingested
	Size int64  `json:"size"`
	Head string `json:"head"` // hex SHA-256 of the first FingerprintSpan bytes
	Tail string `json:"tail"` // hex SHA-256 of the last FingerprintSpan bytes
	// First and Last span the rows the ingest stored (of every input
	// ingested with it); set by the store.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	At    time.Time `json:"at"` // when the ingest committed; set by the store
}

// FingerprintSpan is how many bytes of each end of a file its
// fingerprint hashes.
const FingerprintSpan = 64 << 10

// Same reports whether in and o are the same file's fingerprint.
func (in Input) Same(o Input) bool {
	return in.Size == o.Size && in.Head == o.Head && in.Tail == o.Tail
}

// Fingerprint reads the size and both ends of the file at path.
func Fingerprint(path string) (Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return Input{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Input{}, err
	}
	if !st.Mode().IsRegular() {
		return Input{}, fmt.Errorf("%s: not a regular file (a stream has no fingerprint)", path)
	}
	in := Input{Path: path, Size: st.Size()}
	hash := func(off, n int64) (string, error) {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
			return "", fmt.Errorf("%s: fingerprint at offset %d: %w", path, off, err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	n := min(in.Size, FingerprintSpan)
	if in.Head, err = hash(0, n); err != nil {
		return Input{}, err
	}
	if in.Tail, err = hash(in.Size-n, n); err != nil {
		return Input{}, err
	}
	return in, nil
}

// Ingester is a store that takes the rows of whole inputs atomically and
// remembers which inputs it took, so that none is counted twice.
type Ingester interface {
	// BeginIngest starts storing the rows read from inputs. It fails
	// with *IngestedError when one of them was ingested before, unless
	// again is set. Until Commit or Close, the ingest holds the store's
	// writer: other writes through the same store wait.
	BeginIngest(ctx context.Context, inputs []Input, again bool) (Ingest, error)
	// Ingested lists the inputs the store holds, newest first.
	Ingested(ctx context.Context) ([]Input, error)
}

// Ingest is one ingest in progress. Its writes are one transaction:
// Commit stores them and the inputs' fingerprints together; Close
// before Commit, a failed Write, or a crash stores none of them.
type Ingest interface {
	Writer
	Commit(ctx context.Context) error
}

// IngestedError says an input was ingested before.
type IngestedError struct {
	Input Input // the input now offered
	Prev  Input // the earlier ingest of the same file
}

func (e *IngestedError) Error() string {
	s := fmt.Sprintf("%s was already ingested on %s", e.Input.Path, e.Prev.At.UTC().Format(time.RFC3339))
	if e.Prev.Path != e.Input.Path {
		s += " as " + e.Prev.Path
	}
	if !e.Prev.First.IsZero() {
		s += fmt.Sprintf(" (rows from %s to %s)", e.Prev.First.UTC().Format(time.RFC3339), e.Prev.Last.UTC().Format(time.RFC3339))
	}
	return s + "; storing it again would count its traffic twice"
}
