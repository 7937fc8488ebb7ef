package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
)

// ActionIncomplete is the verdict of an app that was not fully read and
// that nothing read blocks: the audit fails closed, since what decides a
// verdict (the package, the signers, the SDK classes) may be in the part
// not read. It is never "allow" and, like block, makes the app of concern.
const ActionIncomplete = "incomplete"

// Gap is a part of an app that was not read.
type Gap struct {
	// Part is "app" (the file as a whole, or the time limit), "manifest",
	// "resources", "dex", "archive" (an entry or nested archive),
	// "signature" or "hosts" (more distinct hosts than the host limit).
	Part  string `json:"part"`
	Where string `json:"where,omitempty"` // the entry, "" for the app itself
	// Reason is the error, naming the file, entry and limit or offset.
	Reason string `json:"reason"`
	// Limit: a configured limit, which a flag can raise.
	Limit bool `json:"limit,omitempty"`
}

func (g Gap) String() string {
	s := g.Part
	if g.Where != "" {
		s += " " + g.Where
	}
	return s + ": " + g.Reason
}

// gaps lists what of the app was not read: the error that stopped the read
// (err, already in r.Error), every problem of the extraction, and a host
// list cut by its limit (hosts decide whether an app is of concern when no
// policy is given). Native libraries are left out: they only add packer
// marks, and one not scanned says so in its own entry.
func gaps(r *Report, app *extract.App) []Gap {
	var out []Gap
	if r.Error != "" {
		out = append(out, Gap{Part: "app", Reason: r.Error})
	}
	if app == nil {
		return out
	}
	var ps []Gap
	for _, p := range app.Problems {
		g := Gap{Part: p.Part, Where: p.Where, Reason: p.Err.Error(), Limit: p.IsLimit()}
		if !slices.Contains(ps, g) && !(r.Error != "" && g.Part == "archive" && g.Where == "" && isContextErr(p.Err)) {
			ps = append(ps, g)
		}
	}
	// Problems of DEX files arrive in the order the workers finish.
	slices.SortFunc(ps, func(a, b Gap) int {
		return cmp.Or(cmp.Compare(a.Part, b.Part), cmp.Compare(a.Where, b.Where), cmp.Compare(a.Reason, b.Reason))
	})
	out = append(out, ps...)
	if app.Code.HostsTruncated {
		out = append(out, Gap{Part: "hosts", Reason: "more distinct hosts than the host limit (--max-hosts): the rest were not attributed", Limit: true})
	}
	return out
}

// incompleteFinding is the finding of an app with gaps: of concern, so that
// an app not fully read is never reported as clear.
func incompleteFinding(gs []Gap) finding.Finding {
	ev := make([]finding.Evidence, 0, len(gs))
	for _, g := range gs {
		note := g.Part
		if g.Limit {
			note += ", a limit"
		}
		ev = append(ev, finding.Evidence{Kind: finding.EvError, Value: g.Reason, Where: g.Where, Note: note})
	}
	fd := rules.New(rules.IDIncomplete, finding.Trim(ev)...)
	fd.Concern = true
	return fd
}

// incompleteVerdict is the verdict of an app with gaps that nothing read
// blocks.
func incompleteVerdict(gs []Gap) *AppVerdict {
	because := "not fully read: " + gs[0].String()
	if len(gs) > 1 {
		because += fmt.Sprintf(" (and %d more)", len(gs)-1)
	}
	return &AppVerdict{Action: ActionIncomplete, Because: because}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
