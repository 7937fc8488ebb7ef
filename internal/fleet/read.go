package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// Source is one inventory input.
type Source struct {
	Name string
	// Read parses the input to its end, calling visit for every item and
	// malformed record, and returns the format it read (load.Reader fits).
	Read func(ctx context.Context, visit inventory.Visit) (format string, err error)
}

// batchLen is how many items a parser hands over at a time.
const batchLen = 1024

type batch struct {
	src    int
	items  []inventory.Item
	errs   []error
	done   bool
	format string
	err    error
}

// ReadAll reads the sources, parsing up to workers of them at once
// (0: one), each in its own goroutine, while the calling goroutine checks
// the items. Parsing, not checking, is the cost, so even one source gains
// from the hand-over, and a fleet's inventory usually comes as several
// exports (one per MDM, platform or osquery host group).
//
// The result does not depend on the interleaving: device fields come from
// the first source (in the order given) that has them, and the state of
// an app from the last. It returns the errors of the sources that could
// not be read to their end, each naming its source; their Input.Error is
// set too. Items read before such an error are kept.
func (c *Checker) ReadAll(ctx context.Context, srcs []Source, workers int) []error {
	if workers < 1 {
		workers = 1
	}
	workers = min(workers, len(srcs))
	ins := make([]*Input, len(srcs))
	for i, s := range srcs {
		ins[i] = &Input{File: s.Name}
		c.inputs = append(c.inputs, ins[i])
	}
	base := len(c.inputs) - len(srcs) // source index of srcs[0]
	free := make(chan *batch, 4*workers+4)
	for range cap(free) {
		free <- &batch{items: make([]inventory.Item, 0, batchLen)}
	}
	full := make(chan *batch, cap(free))
	next := make(chan int, len(srcs))
	for i := range srcs {
		next <- i
	}
	close(next)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				produce(ctx, srcs[i], i, free, full)
			}
		}()
	}
	go func() { wg.Wait(); close(full) }()

	var errs []error
	for b := range full {
		in := ins[b.src]
		c.cur = base + b.src
		for i := range b.items {
			in.Items++
			c.Add(&b.items[i])
		}
		for _, err := range b.errs {
			c.malformed(in, err)
		}
		if b.done {
			in.Format = b.format
			if b.err != nil {
				in.Error = b.err.Error()
				errs = append(errs, b.err)
			}
		}
		clear(b.items) // drop references to the strings of this batch
		b.items, b.errs, b.done, b.err = b.items[:0], nil, false, nil
		free <- b
	}
	return errs
}

// produce parses one source into batches.
func produce(ctx context.Context, s Source, idx int, free, full chan *batch) {
	get := func() *batch {
		select {
		case b := <-free:
			b.src = idx
			return b
		case <-ctx.Done():
			return nil
		}
	}
	b := get()
	if b == nil {
		return
	}
	format, err := s.Read(ctx, func(it inventory.Item, perr error) error {
		if perr != nil {
			b.errs = append(b.errs, perr)
		} else {
			b.items = append(b.items, it)
		}
		if len(b.items) == batchLen || len(b.errs) == batchLen {
			full <- b
			if b = get(); b == nil {
				return ctx.Err()
			}
		}
		return nil
	})
	if b == nil {
		return
	}
	if err != nil && !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), s.Name) {
		err = fmt.Errorf("%s: %w", s.Name, err)
	}
	b.done, b.format, b.err = true, format, err
	full <- b
}
