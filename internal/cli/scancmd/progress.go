package scancmd

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress draws a one-line bar on a terminal for inputs over a few
// megabytes; on anything else it draws nothing.
type progress struct {
	w     io.Writer
	total int64
	on    bool
	start time.Time
	last  time.Time
	drawn bool
}

const progressMin = 8 << 20

func newProgress(w io.Writer, total int64, off bool) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok && !off && total >= progressMin && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *progress) update(read int64, packets uint64) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	pps := 0.0
	if el > 0 {
		pps = float64(packets) / el
	}
	frac := float64(read) / float64(p.total)
	if frac > 1 {
		frac = 1
	}
	const width = 30
	bar := make([]byte, width)
	for i := range bar {
		if float64(i) < frac*width {
			bar[i] = '#'
		} else {
			bar[i] = '.'
		}
	}
	fmt.Fprintf(p.w, "\r[%s] %5.1f%%  %d/%d MB  %.0f packets/s ", bar, frac*100, read>>20, p.total>>20, pps)
	p.drawn = true
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
