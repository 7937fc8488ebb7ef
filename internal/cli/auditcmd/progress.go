package auditcmd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/safetext"
)

// progress draws a one-line bar on a terminal while a folder of apps is
// audited: apps done, of concern, unreadable, and the app being read. On
// anything but a terminal, or for a single app, it draws nothing.
type progress struct {
	w       io.Writer
	total   int
	on      bool
	files   []string
	concern int
	errors  int
	t0      time.Time
	drawn   bool
}

func newProgress(w io.Writer, total int, off bool) *progress {
	p := &progress{w: w, total: total, t0: time.Now()}
	if f, ok := w.(*os.File); ok && !off && total > 1 && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *progress) start(files []string) {
	p.files = files
	p.draw(0)
}

func (p *progress) update(done int, r *audit.Report) {
	if r.Concern {
		p.concern++
	}
	if r.Error != "" {
		p.errors++
	}
	p.draw(done)
}

func (p *progress) draw(done int) {
	if !p.on {
		return
	}
	const width = 24
	bar := make([]byte, width)
	for i := range bar {
		if i < done*width/p.total {
			bar[i] = '#'
		} else {
			bar[i] = '.'
		}
	}
	next := ""
	if done < len(p.files) {
		// A file name in a folder of apps is anyone's to choose.
		next = safetext.Terminal(filepath.Base(p.files[done]))
		if r := []rune(next); len(r) > 32 {
			next = string(r[:31]) + "…"
		}
	}
	fmt.Fprintf(p.w, "\r\033[K[%s] %d/%d apps  %d of concern  %d unreadable  %.0fs  %s", bar, done, p.total, p.concern, p.errors, time.Since(p.t0).Seconds(), next)
	p.drawn = true
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
