package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// TestFirstErr: of concurrent inserts' errors, the server's refusal wins
// (the caller's error, whichever insert met it), then a failure to reach
// the server (spooled), and a cancel that followed either comes last.
func TestFirstErr(t *testing.T) {
	ctx := context.Background()
	refused := fmt.Errorf("flow: %w", &ch.Exception{Code: 252, Message: "Too many parts"})
	gone := fmt.Errorf("flow: %w", errors.New("read: connection reset by peer"))
	cancelled := fmt.Errorf("flow: %w", context.Canceled)
	for _, tc := range []struct {
		errs []error
		want error
	}{
		{[]error{nil, nil}, nil},
		{[]error{gone, refused}, refused},
		{[]error{refused, gone}, refused},
		{[]error{cancelled, gone}, gone},
		{[]error{cancelled, refused, nil}, refused},
		{[]error{nil, cancelled}, cancelled},
	} {
		if got := firstErr(ctx, tc.errs); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.errs, got, tc.want)
		}
		if got := firstErr(ctx, tc.errs); got != nil && unreachable(ctx, got) != (got != refused) {
			t.Errorf("%v: unreachable(%v) = %v", tc.errs, got, !(got != refused))
		}
	}
	// the caller's own cancel is no sibling's: it is not left for last
	done, cancel := context.WithCancel(ctx)
	cancel()
	if got := firstErr(done, []error{cancelled, gone}); got != cancelled {
		t.Errorf("caller cancelled: %v, want %v", got, cancelled)
	}
}
