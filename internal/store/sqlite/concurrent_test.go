package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// TestConcurrentReadWrite reads while batches are written, as the
// dashboard does beside the resolver (run with -race).
func TestConcurrentReadWrite(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t0.Add(24*time.Hour))
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range 20 {
			var b store.Batch
			for j := range 200 {
				at := t0.Add(time.Duration(i*200+j) * time.Second)
				b.Flows = append(b.Flows, store.Flow{First: at, Device: fmt.Sprintf("10.0.0.%d", j%7), Entity: "tiktok", Peer: "192.0.2.1", Traffic: store.Traffic{BytesOut: 1, Flows: 1}})
				b.Queries = append(b.Queries, store.Query{Time: at, Client: fmt.Sprintf("10.0.0.%d", j%7), Name: "x.example", Verdict: "block", Rule: "r"})
			}
			if err := db.Write(ctx, &b); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				var err error
				switch r {
				case 0:
					_, err = db.Overview(ctx, store.Filter{})
				case 1:
					_, err = db.Devices(ctx, store.Filter{})
				case 2:
					_, err = db.Flows(ctx, store.Filter{Entities: []string{"tiktok"}})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ov, err := db.Overview(ctx, store.Filter{})
	if err != nil || len(ov.Entities) != 1 || ov.Entities[0].Period.Flows != 4000 || ov.QueriesBlocked != 4000 {
		t.Errorf("after the writes: %+v %v", ov, err)
	}
}
