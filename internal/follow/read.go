package follow

import (
	"bytes"
	"context"
	"errors"
	"io"
)

// maxHeader bounds the header lines read again for Batch.Header.
const maxHeader = 64 << 10

// read delivers t's complete lines from t.pos to its end. It returns the
// bytes it moved past and whether it reached the end (false after a
// handler or read error: the rest is read on the next poll).
func (fl *Follower) read(ctx context.Context, p *pathState, t *tracked) (moved int64, complete bool) {
	for ctx.Err() == nil {
		n, err := t.f.ReadAt(fl.buf, t.pos)
		if err != nil && !errors.Is(err, io.EOF) {
			fl.readErr(p, err)
			return moved, false
		}
		if n == 0 {
			return moved, true
		}
		data := fl.buf[:n]
		full := n == len(fl.buf)
		start := 0 // the part of data not yet moved past
		if t.skipping {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				t.pos += int64(n)
				moved += int64(n)
				p.met.bytes.Add(float64(n))
				continue
			}
			start = i + 1
			t.skipping = false
		}
		b := &Batch{Path: p.path, Rotated: t.rotated}
		i := start
		for i < n {
			j := bytes.IndexByte(data[i:], '\n')
			if j < 0 {
				if n-i > fl.cfg.MaxLine {
					fl.long(p, t.pos+int64(i))
					t.skipping = true
					i = n
				}
				break
			}
			if j > fl.cfg.MaxLine {
				fl.long(p, t.pos+int64(i))
				i += j + 1
				continue
			}
			b.Lines = append(b.Lines, data[i:i+j])
			b.Offsets = append(b.Offsets, t.pos+int64(i))
			i += j + 1
			if len(b.Lines) == fl.cfg.Batch {
				if !fl.deliver(ctx, p, t, b, int64(i)) {
					return moved, false
				}
				fl.advance(p, t, int64(i))
				moved += int64(i)
				data, n, i = data[i:], n-i, 0
				b = &Batch{Path: p.path, Rotated: t.rotated}
			}
		}
		if len(b.Lines) > 0 && !fl.deliver(ctx, p, t, b, int64(i)) {
			return moved, false
		}
		fl.advance(p, t, int64(i))
		moved += int64(i)
		if !full {
			return moved, true // the rest, if any, is a line being written
		}
	}
	return moved, false
}

func (fl *Follower) advance(p *pathState, t *tracked, n int64) {
	t.pos += n
	p.met.bytes.Add(float64(n))
}

func (fl *Follower) long(p *pathState, off int64) {
	p.met.long.Inc()
	if held, ok := p.longLog.ok(fl.deps.Now()); ok {
		fl.log.Warn("follow: line longer than max_line skipped", "path", p.path, "offset", off, "max_line", fl.cfg.MaxLine, "others_not_logged", held)
	}
}

// deliver hands b, ending at data offset end (relative to t.pos), to the
// handler and commits it if so configured.
func (fl *Follower) deliver(ctx context.Context, p *pathState, t *tracked, b *Batch, end int64) bool {
	b.Cursor = Cursor{key: t.key, gen: t.gen, off: t.pos + end}
	if t.fresh {
		b.New = true
		if p.header != "" && t.pos > 0 {
			b.Header = fl.header(t.f, p.header)
		}
	}
	if err := fl.deps.Handler(ctx, b); err != nil {
		p.met.retries.Inc()
		if held, ok := p.errLog.ok(fl.deps.Now()); ok {
			fl.log.Warn("follow: handler refused a batch; reading it again next poll", "path", p.path, "offset", b.Offsets[0], "err", err, "errors_not_logged", held)
		}
		return false
	}
	t.fresh = false
	p.met.lines.Add(float64(len(b.Lines)))
	if fl.cfg.CommitOnReturn {
		fl.Commit(b.Cursor)
	}
	return true
}

// header returns the leading lines of f that start with prefix.
func (fl *Follower) header(f interface {
	ReadAt([]byte, int64) (int, error)
}, prefix string) [][]byte {
	if fl.hbuf == nil {
		fl.hbuf = make([]byte, maxHeader)
	}
	n, _ := f.ReadAt(fl.hbuf, 0)
	data := fl.hbuf[:n]
	var out [][]byte
	for len(data) > 0 {
		j := bytes.IndexByte(data, '\n')
		if j < 0 || !bytes.HasPrefix(data, []byte(prefix)) {
			break
		}
		out = append(out, data[:j])
		data = data[j+1:]
	}
	return out
}
