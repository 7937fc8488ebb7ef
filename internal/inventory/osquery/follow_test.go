package osquery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// event line for program n on host h.
func progLine(h string, n int) string {
	return fmt.Sprintf(`{"name":"programs","hostIdentifier":%q,"unixTime":1748856660,"columns":{"name":"app%d","publisher":"p","version":"1"},"action":"added"}`+"\n", h, n)
}

type seen struct {
	it  inventory.Item
	err error
}

// follow starts Follow in the background and returns its results channel
// and a function that stops it and returns Follow's error.
func follow(t *testing.T, path string, cfg FollowConfig) (<-chan seen, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan seen, 100)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, path, cfg, func(it inventory.Item, err error) error {
			out <- seen{it, err}
			return nil
		})
	}()
	return out, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Follow did not stop after cancel")
			return nil
		}
	}
}

// next waits for the next result; the timeout only guards against a hang.
func next(t *testing.T, ch <-chan seen) seen {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no result from Follow")
		return seen{}
	}
}

func wantItem(t *testing.T, ch <-chan seen, appID, source string) {
	t.Helper()
	s := next(t, ch)
	if s.err != nil {
		t.Fatalf("got error %v, want item %s at %s", s.err, appID, source)
	}
	if s.it.AppID != appID || s.it.Source != source {
		t.Fatalf("got %s at %s, want %s at %s", s.it.AppID, s.it.Source, appID, source)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

var fast = FollowConfig{Poll: 5 * time.Millisecond, FromStart: true}

func TestFollowAppendTruncateRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "osqueryd.results.log")
	appendFile(t, path, progLine("h", 1)+progLine("h", 2))
	ch, stop := follow(t, path, fast)
	wantItem(t, ch, "app1", path+":1")
	wantItem(t, ch, "app2", path+":2")

	// A line written in two pieces is read once, whole.
	line := progLine("h", 3)
	appendFile(t, path, line[:20])
	time.Sleep(20 * time.Millisecond) // let a poll see the partial line (not a timing assertion)
	appendFile(t, path, line[20:])
	wantItem(t, ch, "app3", path+":3")

	// A malformed line is reported and the next one still read.
	appendFile(t, path, "{not json\n"+progLine("h", 4))
	if s := next(t, ch); s.err == nil {
		t.Fatalf("malformed line not reported: %+v", s.it)
	} else {
		var pe *inventory.ParseError
		if !errors.As(s.err, &pe) || pe.Line != 4 || pe.File != path {
			t.Fatalf("error %v, want ParseError at %s:4", s.err, path)
		}
	}
	wantItem(t, ch, "app4", path+":5")

	// copytruncate: the file shrinks, lines count from 1 again.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	appendFile(t, path, progLine("h", 5))
	wantItem(t, ch, "app5", path+":1")

	// Rotation by rename: the old file's last line, then the new file.
	appendFile(t, path, progLine("h", 6))
	wantItem(t, ch, "app6", path+":2")
	appendFile(t, path, progLine("h", 7))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, progLine("h", 8))
	// app7 may be read before or after the rename is noticed; either way it
	// comes before app8 and from the old file's line 3.
	wantItem(t, ch, "app7", path+":3")
	wantItem(t, ch, "app8", path+":1")

	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
}

func TestFollowWaitsForFileAndSkipsOldLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "later.log")
	polled := make(chan struct{}, 1)
	ch, stop := follow(t, path, FollowConfig{Poll: 5 * time.Millisecond, polled: func() {
		select {
		case polled <- struct{}{}:
		default:
		}
	}})
	<-polled // Follow has looked once and found no file
	appendFile(t, path, progLine("h", 1))
	// The file did not exist when Follow started, so it is new: read from
	// its start even without FromStart.
	wantItem(t, ch, "app1", path+":1")
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	// Existing content is skipped by default, but counted.
	path2 := filepath.Join(dir, "existing.log")
	appendFile(t, path2, progLine("h", 1)+progLine("h", 2)+`{"partial`)
	polled2 := make(chan struct{}, 1)
	ch, stop = follow(t, path2, FollowConfig{Poll: 5 * time.Millisecond, polled: func() {
		select {
		case polled2 <- struct{}{}:
		default:
		}
	}})
	<-polled2 // Follow has opened the file and skipped to its end
	appendFile(t, path2, "\n"+progLine("h", 3))
	wantItem(t, ch, "app3", path2+":4")
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestFollowVisitErrorStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	appendFile(t, path, progLine("h", 1))
	stopErr := errors.New("enough")
	err := Follow(context.Background(), path, fast, func(inventory.Item, error) error { return stopErr })
	if err != stopErr {
		t.Errorf("Follow returned %v, want the visit error", err)
	}
}
