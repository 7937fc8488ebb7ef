package chtest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func query(t *testing.T, s *Server, q string) string {
	t.Helper()
	r, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/", s.HTTPPort), "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", q, b)
	}
	return strings.TrimSpace(string(b))
}

func TestTwoShards(t *testing.T) {
	a, b := Start2(t)
	if a.TCPPort == b.TCPPort {
		t.Fatal("both servers on one port")
	}
	got := query(t, a, "SELECT count() FROM system.clusters WHERE cluster = '"+Cluster+"'")
	if got != "2" {
		t.Fatalf("cluster %s has %s shards, want 2", Cluster, got)
	}
	// A query through the cluster reaches both servers.
	got = query(t, b, "SELECT count() FROM remote('127.0.0.1:"+fmt.Sprint(a.TCPPort)+",127.0.0.1:"+fmt.Sprint(b.TCPPort)+"', system.one)")
	if got != "2" {
		t.Fatalf("remote over both servers: %s rows, want 2", got)
	}
	a.Stop()
	a.Restart(t)
	if got := query(t, a, "SELECT 1"); got != "1" {
		t.Fatalf("after restart: %q", got)
	}
}
