package store

import (
	"context"
	"time"
)

// PolicyChange is one change of the policy file made through the
// dashboard: who, when, why, and the file before and after, so that the
// history can show the diff and a change can be undone.
type PolicyChange struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Comment string    `json:"comment"`
	File    string    `json:"file"` // the policy file's path
	Before  string    `json:"before"`
	After   string    `json:"after"`
	Diff    string    `json:"diff"`             // unified diff of Before to After
	Reverts int64     `json:"reverts,omitzero"` // the change this one undid
}

// PolicyLog is implemented by backends that keep the policy's change
// history (SQLite, ClickHouse). Like Alerts it is not part of Store:
// callers check for it with a type assertion.
type PolicyLog interface {
	// WritePolicyChange stores c and sets its ID. A read-only SQLite
	// store takes it too: the history is written by the dashboard,
	// which opens the store to read.
	WritePolicyChange(ctx context.Context, c *PolicyChange) error
	// PolicyChanges: the changes in the filter's period, newest first,
	// without Before and After (Diff is kept).
	PolicyChanges(ctx context.Context, f Filter) ([]PolicyChange, error)
	// PolicyChange: one change, whole. ErrNotFound if absent.
	PolicyChange(ctx context.Context, id int64) (*PolicyChange, error)
}

// PolicyHead is implemented by backends that can name their newest
// policy change cheaply (its id only), for processes that poll the
// history for a new policy (store/policysync). SQLite and ClickHouse do.
type PolicyHead interface {
	// PolicyHead is the id of the newest change (by time, then id), 0
	// when there is none.
	PolicyHead(ctx context.Context) (int64, error)
}
