package spool

import (
	"fmt"
	"os"
	"path/filepath"
)

// Stage is an ingest being written: its parts are counted against the
// bound but are not queued until Commit, which queues all of them by one
// rename. A stage neither committed nor aborted is removed by the next
// Open of its slot.
type Stage struct {
	s     *Spool
	dir   string
	n     int
	bytes int64
	meta  []byte
}

// Stage starts a stage.
func (s *Spool) Stage() (*Stage, error) {
	s.mu.Lock()
	s.stage++
	dir := filepath.Join(s.Dir, fmt.Sprintf("stage-%d", s.stage))
	s.mu.Unlock()
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &Stage{s: s, dir: dir}, nil
}

// Append adds a part to the stage, synced.
func (g *Stage) Append(data []byte) error {
	if err := g.s.reserve(int64(len(data))); err != nil {
		return err
	}
	g.bytes += int64(len(data))
	if err := writeFile(filepath.Join(g.dir, entryName(uint64(g.n))), data); err != nil {
		return fmt.Errorf("spool: %s: %w", g.dir, err)
	}
	g.n++
	return nil
}

// Meta sets what the committed entry says about itself (Metas).
func (g *Stage) Meta(b []byte) { g.meta = b }

// Commit queues the stage's parts as one entry, after every entry
// already queued.
func (g *Stage) Commit() error {
	if g.meta != nil {
		if err := writeFile(filepath.Join(g.dir, "meta"), g.meta); err != nil {
			return fmt.Errorf("spool: %s: %w", g.dir, err)
		}
	}
	if err := syncDir(g.dir); err != nil {
		return fmt.Errorf("spool: %s: %w", g.dir, err)
	}
	s := g.s
	s.mu.Lock()
	n := s.next
	s.next++
	s.mu.Unlock()
	if err := os.Rename(g.dir, filepath.Join(s.Dir, entryName(n)+".d")); err != nil {
		return fmt.Errorf("spool: %s: %w", g.dir, err)
	}
	if err := syncDir(s.Dir); err != nil {
		return fmt.Errorf("spool: %s: %w", s.Dir, err)
	}
	s.mu.Lock()
	s.parts += g.n
	s.mu.Unlock()
	g.s = nil
	return nil
}

// Abort removes the stage. After Commit it does nothing.
func (g *Stage) Abort() {
	if g.s == nil {
		return
	}
	os.RemoveAll(g.dir)
	g.s.release(g.bytes)
	g.s = nil
}

// Metas are the meta files of the queued entries, oldest first: what
// ingests are committed here but not yet delivered.
func (s *Spool) Metas() ([][]byte, error) {
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out [][]byte
	for _, de := range des {
		if !de.IsDir() || filepath.Ext(de.Name()) != ".d" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.Dir, de.Name(), "meta"))
		if err == nil {
			out = append(out, b)
		}
	}
	return out, nil
}
