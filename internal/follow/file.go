package follow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// pathState is one configured path: the file at it and the rotated ones
// still being read. Only the polling goroutine touches it.
type pathState struct {
	path, header string
	met          *pathMetrics
	cur          *tracked
	draining     []*tracked
	recovered    bool
	longLog      every
	errLog       every
}

// tracked is one open file.
type tracked struct {
	f        *os.File
	key      string
	dev, ino uint64
	gen      uint64
	fp       string
	fpLen    int64
	pos      int64 // next byte to read, at a line start unless skipping
	fresh    bool  // the next batch is New
	skipping bool  // inside a line longer than MaxLine
	rotated  bool
	since    time.Time // when it was found rotated
	idle     int
}

func (p *pathState) closeAll() {
	if p.cur != nil {
		p.cur.f.Close()
		p.cur = nil
	}
	for _, d := range p.draining {
		d.f.Close()
	}
	p.draining = nil
}

// every rate-limits a log line to once a minute, counting what it held back.
type every struct {
	last time.Time
	held int
}

func (e *every) ok(now time.Time) (held int, ok bool) {
	if now.Sub(e.last) < time.Minute {
		e.held++
		return 0, false
	}
	held, e.held, e.last = e.held, 0, now
	return held, true
}

func (fl *Follower) readErr(p *pathState, err error) {
	p.met.errs.Inc()
	if held, ok := p.errLog.ok(fl.deps.Now()); ok {
		fl.log.Warn("follow: read error", "path", p.path, "err", err, "errors_not_logged", held)
	}
}

func (fl *Follower) pollPath(ctx context.Context, p *pathState) {
	fi, err := os.Stat(p.path)
	if err != nil {
		fi = nil
		if !errors.Is(err, fs.ErrNotExist) {
			fl.readErr(p, err)
		}
	}
	if !p.recovered {
		p.recovered = true
		fl.recoverRotated(p, fi)
	}
	if c := p.cur; c != nil {
		if fi == nil || !sameFile(c, fi) {
			// Renamed or removed: the open descriptor still reads it.
			p.met.rotations.Inc()
			c.rotated, c.since = true, fl.deps.Now()
			p.draining = append(p.draining, c)
			p.cur = nil
		}
	}
	// Rotated files first, so that lines keep their order across a rename.
	kept := p.draining[:0]
	for _, d := range p.draining {
		n, complete := fl.read(ctx, p, d)
		if n == 0 && complete {
			d.idle++
		} else {
			d.idle = 0
		}
		if d.idle < 2 || fl.deps.Now().Sub(d.since) < fl.cfg.RotateWait || ctx.Err() != nil {
			kept = append(kept, d)
			continue
		}
		fl.retire(d)
	}
	clear(p.draining[len(kept):])
	p.draining = kept
	if p.cur == nil && fi != nil {
		p.cur = fl.open(p, p.path, fi, nil)
	}
	if c := p.cur; c != nil {
		fl.checkTruncation(p, c)
		fl.read(ctx, p, c)
		if st, err := c.f.Stat(); err == nil {
			p.met.lag.Set(float64(max(st.Size()-c.pos, 0)))
		}
	}
}

// retire closes a rotated file read to its end; its state goes once
// committed to that end.
func (fl *Follower) retire(d *tracked) {
	d.f.Close()
	fl.mu.Lock()
	if e := fl.states[d.key]; e != nil && e.gen == d.gen {
		e.closed, e.end = true, d.pos
		fl.dirty = true
	}
	fl.mu.Unlock()
}

func sameFile(t *tracked, fi os.FileInfo) bool {
	if st, err := t.f.Stat(); err == nil && os.SameFile(st, fi) {
		return true
	}
	return false
}

// fingerprint hashes the first n bytes of f; ok is false if f is shorter.
func fingerprint(f *os.File, n int64) (string, bool) {
	h := sha256.New()
	got, err := io.Copy(h, io.NewSectionReader(f, 0, n))
	if err != nil || got != n {
		return "", false
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// open opens the file at name (found at the configured path, or a rotated
// file on recovery) and places the read position: a matching saved state's
// offset, else 0 (or the last line end with StartAtEnd, for a path never
// seen). want, on recovery, is the state to match.
func (fl *Follower) open(p *pathState, name string, fi os.FileInfo, want *State) *tracked {
	f, err := os.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fl.readErr(p, err)
		}
		return nil
	}
	if st, err := f.Stat(); err == nil {
		fi = st // the file opened, even if the path changed since Stat
	}
	dev, ino := fileID(fi)
	t := &tracked{f: f, key: key(p.path, dev, ino), dev: dev, ino: ino, fresh: true}
	size := fi.Size()
	fl.mu.Lock()
	defer fl.mu.Unlock()
	e := fl.states[t.key]
	if want != nil && e == nil {
		f.Close()
		return nil
	}
	matched := false
	if e != nil && !e.closed && e.FPLen <= size {
		if fp, ok := fingerprint(f, e.FPLen); ok && fp == e.FP {
			matched = true
		}
	}
	switch {
	case matched:
		t.pos = min(e.Offset, size) // shorter than the offset: truncated while we were away
		if e.Offset > size {
			p.met.truncations.Inc()
			t.pos = 0
		}
	case want != nil:
		f.Close()
		return nil
	case fl.cfg.StartAtEnd && !fl.seen(p.path):
		t.pos = lastLineEnd(f, size, int64(fl.cfg.MaxLine))
	}
	var gen uint64
	if e != nil {
		gen = e.gen
		if !matched {
			gen++ // a new file on a reused inode: old cursors must not commit
		}
	}
	t.gen = gen
	t.fpLen = min(size, int64(fl.cfg.Fingerprint))
	t.fp, _ = fingerprint(f, t.fpLen)
	fl.states[t.key] = &entry{State: State{Path: p.path, Dev: dev, Ino: ino, FP: t.fp, FPLen: t.fpLen, Offset: t.pos, Updated: fl.deps.Now()}, gen: gen}
	fl.dirty = true
	return t
}

// seen reports whether a state names path (call with mu held).
func (fl *Follower) seen(path string) bool {
	for _, e := range fl.states {
		if e.Path == path {
			return true
		}
	}
	return false
}

func lastLineEnd(f *os.File, size, maxLine int64) int64 {
	from := max(size-maxLine-1, 0)
	b := make([]byte, size-from)
	n, _ := f.ReadAt(b, from)
	if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 {
		return from + int64(i) + 1
	}
	return size
}

// recoverRotated finds, after a start, files rotated away from p.path
// while nothing read them: saved states of p.path that are not the file
// now at it, looked for by inode and fingerprint among the directory's
// files whose names begin with the path's name. Their rest is read
// before the current file. States whose file is gone are dropped.
func (fl *Follower) recoverRotated(p *pathState, cur os.FileInfo) {
	var curKey string
	if cur != nil {
		dev, ino := fileID(cur)
		curKey = key(p.path, dev, ino)
	}
	var lost []*entry
	fl.mu.Lock()
	for k, e := range fl.states {
		if e.Path == p.path && k != curKey && !strings.HasPrefix(k, "path:") {
			lost = append(lost, e)
		}
	}
	fl.mu.Unlock()
	if len(lost) == 0 {
		return
	}
	dir, base := filepath.Split(p.path)
	ents, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		fl.readErr(p, err)
	}
	type found struct {
		name string
		fi   os.FileInfo
	}
	var cands []found
	for _, de := range ents {
		if n := de.Name(); n != base && strings.HasPrefix(n, base) && de.Type().IsRegular() {
			if fi, err := de.Info(); err == nil {
				cands = append(cands, found{filepath.Join(dir, n), fi})
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].fi.ModTime().Before(cands[j].fi.ModTime()) })
	for _, c := range cands {
		dev, ino := fileID(c.fi)
		for _, e := range lost {
			if e.Dev != dev || e.Ino != ino {
				continue
			}
			if t := fl.open(p, c.name, c.fi, &e.State); t != nil {
				t.rotated, t.since = true, fl.deps.Now()
				p.draining = append(p.draining, t)
			}
		}
	}
	fl.mu.Lock()
	for _, e := range lost {
		k := key(e.Path, e.Dev, e.Ino)
		if fl.states[k] != e {
			continue // reopened: open replaced it
		}
		delete(fl.states, k)
		fl.dirty = true
		fl.log.Info("follow: a rotated file with unread lines is gone", "path", p.path, "dev", e.Dev, "inode", e.Ino, "offset", e.Offset)
	}
	fl.mu.Unlock()
}

// checkTruncation restarts the current file at 0 when it is shorter than
// the read position or its first bytes changed (copytruncate), and grows
// the fingerprint while the file is shorter than Config.Fingerprint.
func (fl *Follower) checkTruncation(p *pathState, t *tracked) {
	st, err := t.f.Stat()
	if err != nil {
		fl.readErr(p, err)
		return
	}
	size := st.Size()
	fp, ok := fingerprint(t.f, t.fpLen)
	if size >= t.pos && ok && fp == t.fp {
		if n := min(size, int64(fl.cfg.Fingerprint)); n > t.fpLen {
			if fp, ok := fingerprint(t.f, n); ok {
				t.fp, t.fpLen = fp, n
				fl.mu.Lock()
				if e := fl.states[t.key]; e != nil && e.gen == t.gen {
					e.FP, e.FPLen = fp, n
					fl.dirty = true
				}
				fl.mu.Unlock()
			}
		}
		return
	}
	p.met.truncations.Inc()
	t.pos, t.skipping, t.fresh = 0, false, true
	t.fpLen = min(size, int64(fl.cfg.Fingerprint))
	t.fp, _ = fingerprint(t.f, t.fpLen)
	fl.mu.Lock()
	t.gen++
	if e := fl.states[t.key]; e != nil {
		t.gen = e.gen + 1
	}
	fl.states[t.key] = &entry{State: State{Path: p.path, Dev: t.dev, Ino: t.ino, FP: t.fp, FPLen: t.fpLen, Updated: fl.deps.Now()}, gen: t.gen}
	fl.dirty = true
	fl.mu.Unlock()
}
