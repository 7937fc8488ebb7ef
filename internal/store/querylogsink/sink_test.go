package querylogsink

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

func TestSinkAndImport(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: t.TempDir() + "/q.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	deadline := at.Add(-24 * time.Hour)
	mk := func(client, name, verdict string, rcode uint16) querylog.Entry {
		e := querylog.Entry{Time: at, Client: netip.MustParseAddr(client), Proto: "udp", Group: "staff", Type: 1, RCode: rcode,
			Verdict: verdict, Latency: 2 * time.Millisecond}
		if verdict == "block" {
			e.Rule, e.Entity, e.Reason, e.Deadline = "ban", "tiktok", "qname", deadline
		}
		e.SetName([]byte(name))
		return e
	}
	entries := []querylog.Entry{mk("10.0.0.5", "www.tiktok.com", "block", 3), mk("::ffff:10.0.0.6", "example.org", "allow", 0), {Shed: 7}}

	// Through the logger, as the resolver does.
	l := querylog.New(querylog.DefaultConfig(), nil, New(db))
	l.Start(ctx)
	for i := range entries[:2] {
		l.Log(&entries[i])
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	qs, err := db.Queries(ctx, store.Filter{Until: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 {
		t.Fatalf("stored %d queries, want 2: %+v", len(qs), qs)
	}
	var blocked, v4mapped bool
	for _, q := range qs {
		blocked = blocked || q.Verdict == "block" && q.Rule == "ban" && q.Deadline.Equal(deadline) && q.RCode == 3 && q.Name == "www.tiktok.com"
		v4mapped = v4mapped || q.Client == "10.0.0.6"
	}
	if !blocked || !v4mapped {
		t.Errorf("rows %+v", qs)
	}

	// A shed-count entry is not a query.
	s := New(db)
	if err := s.Write(entries[2:]); err != nil {
		t.Fatal(err)
	}

	// Import from JSON lines.
	rec := querylog.Record{Time: at, Client: "10.0.0.7", Proto: "dot", Name: "log.tiktokv.com", Type: "AAAA", RCode: "NXDOMAIN",
		Verdict: "block", Rule: "ban", Entity: "tiktok", Deadline: deadline.Format(time.RFC3339), LatencyUS: 150}
	q, ok, err := FromRecord(&rec)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if q.Type != 28 || q.RCode != 3 || !q.Deadline.Equal(deadline) || q.Latency != 150*time.Microsecond {
		t.Errorf("from record: %+v", q)
	}
	if _, ok, _ := FromRecord(&querylog.Record{Time: at, Shed: 3}); ok {
		t.Error("shed record taken for a query")
	}
	if _, _, err := FromRecord(&querylog.Record{Client: "x", Name: "y"}); err == nil {
		t.Error("record without time accepted")
	}
}

// A blocked query names an entity no flow ever reached (ByteDance, for a
// ban the devices obeyed): the store must still know its name.
func TestSinkNamesEntities(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: t.TempDir() + "/q.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	asked := 0
	s := New(db).WithEntities(func(id string) (store.Entity, bool) {
		asked++
		if id != "bytedance" {
			return store.Entity{}, false
		}
		return store.Entity{ID: id, Name: "Beijing ByteDance Technology Co., Ltd.", Jurisdiction: "CN", OwnerChain: []string{"bytedance"}}, true
	})
	var batch []querylog.Entry
	for i := range 3 {
		e := querylog.Entry{Time: at.Add(time.Duration(i) * time.Second), Client: netip.MustParseAddr("10.0.0.5"), Proto: "udp", Type: 1, RCode: 3,
			Verdict: "block", Rule: "ban", Entity: "bytedance", Reason: "qname"}
		e.SetName([]byte("www.tiktok.com"))
		batch = append(batch, e)
	}
	other := batch[0]
	other.Entity = "unknown-to-catalog"
	batch = append(batch, other)
	if err := s.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(batch[:1]); err != nil {
		t.Fatal(err)
	}
	if asked != 2 {
		t.Errorf("asked for entities %d times, want once each of 2", asked)
	}
	ents, err := db.Entities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range ents {
		if e.ID == "bytedance" {
			found = true
			if e.Name != "Beijing ByteDance Technology Co., Ltd." || e.Jurisdiction != "CN" {
				t.Errorf("stored %+v", e)
			}
		}
	}
	if !found {
		t.Errorf("bytedance not in the store's entities: %+v", ents)
	}
}
