package sensorcmd

import (
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/outflow-dev/outflow/internal/policy"
)

// policyWatchEvery is how often the sensor looks at its policy file, as
// the resolver's reload.watch does by default: a change saved on the
// dashboard (written by rename) is in force within seconds, without a
// SIGHUP.
const policyWatchEvery = 5 * time.Second

// policyWatch notices a replaced or rewritten policy file: another
// inode (an atomic save), size or modification time.
type policyWatch struct {
	path string
	last os.FileInfo // as last loaded or refused
}

func newPolicyWatch(path string) *policyWatch {
	w := &policyWatch{path: path}
	w.last, _ = os.Stat(path)
	return w
}

// changed says whether the file differs from the last look, and takes
// the new look.
func (w *policyWatch) changed() bool {
	st, err := os.Stat(w.path)
	if err != nil {
		return false // gone for a moment (or for good): keep the policy in force
	}
	old := w.last
	w.last = st
	return old == nil || !os.SameFile(old, st) || old.Size() != st.Size() || !old.ModTime().Equal(st.ModTime())
}

// reloadPolicy loads the policy again; a broken file keeps the old one
// in force (and is not retried until it changes again).
func reloadPolicy(log *slog.Logger, path string, pol *atomic.Pointer[policy.Policy]) {
	p, err := policy.Load(path)
	if err != nil {
		log.Error("sensor: the policy file changed but does not load; the old one stays", "err", err)
		return
	}
	pol.Store(p)
	log.Info("sensor: policy reloaded after a change of its file", "rules", len(p.Rules))
}
