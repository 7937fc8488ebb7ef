package audit

import (
	"context"
	"io"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
)

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// AuditReader audits an app held in r; name is used in the report.
func (a *Auditor) AuditReader(ctx context.Context, name string, r io.ReaderAt, size int64) *Report {
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	start := time.Now()
	app, err := extract.ReadFrom(ctx, name, r, size, a.cfg.Extract, a.rules.Plan())
	return a.report(name, app, err, start)
}
