package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/store"
)

// TestReadOnlySchemaMessages checks that a read-only open tells a store
// of a newer build (upgrade outflow, as a read-write open says) from one
// of an older build (migrate it by opening it read-write).
func TestReadOnlySchemaMessages(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		version int
		want    string
		notWant string
	}{
		{"newer", schemaVersion + 1, "upgrade outflow", "migrate"},
		{"older", schemaVersion - 1, "open it once read-write to migrate", "upgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, t0)
			path := db.Path()
			if _, err := db.w.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", tc.version)); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err := OpenReadOnly(ctx, store.Config{Path: path}, nil)
			if err == nil {
				t.Fatalf("opened a store of schema %d (this build: %d)", tc.version, schemaVersion)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, tc.notWant) || !strings.Contains(msg, path) {
				t.Errorf("message %q: want %q with the path, not %q", msg, tc.want, tc.notWant)
			}
			if tc.version > schemaVersion {
				// the read-write open says the same
				_, werr := Open(ctx, store.Config{Path: path}, nil)
				if werr == nil || werr.Error() != msg {
					t.Errorf("read-write open says %v, read-only %q", werr, msg)
				}
			}
		})
	}
}
