package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// TestFirstErr: of concurrent inserts' errors, the server's refusal wins
// (the caller's error, whichever insert met it), then the error of the
// insert that failed first, not what the cancel made of the others.
func TestFirstErr(t *testing.T) {
	ctx := context.Background()
	refused := fmt.Errorf("flow: %w", &ch.Exception{Code: 252, Message: "Too many parts"})
	gone := fmt.Errorf("flow: %w", errors.New("read: connection reset by peer"))
	cancelled := fmt.Errorf("flow: %w", context.Canceled)
	closed := fmt.Errorf("flow: %w", errors.New("write: use of closed network connection"))
	for _, tc := range []struct {
		errs  []error
		first int
		want  error
	}{
		{[]error{nil, nil}, -1, nil},
		{[]error{gone, refused}, 0, refused},
		{[]error{refused, gone}, 1, refused},
		{[]error{cancelled, gone}, 1, gone},
		{[]error{closed, gone}, 1, gone}, // the cancel closed the other's connection
		{[]error{cancelled, refused, nil}, 0, refused},
		{[]error{nil, cancelled}, -1, cancelled},
	} {
		got := firstErr(tc.errs, tc.first)
		if got != tc.want {
			t.Errorf("%v (first %d): %v, want %v", tc.errs, tc.first, got, tc.want)
		}
		if got != nil && unreachable(ctx, got) != (got != refused) {
			t.Errorf("%v: unreachable(%v) = %v", tc.errs, got, got != refused)
		}
	}
}
