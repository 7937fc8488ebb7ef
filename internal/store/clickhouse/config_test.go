package clickhouse

import (
	"testing"

	"github.com/outflow-dev/outflow/internal/store"
)

// TestPasswordOutOfArguments: a URL's password is split off to travel in
// the environment, and a URL without one takes it from there; one in the
// URL wins.
func TestPasswordOutOfArguments(t *testing.T) {
	stripped, pw := SplitPassword("clickhouse://ana:s3cr%40t@ch1.example:9000/outflow?cluster=c")
	if stripped != "clickhouse://ana@ch1.example:9000/outflow?cluster=c" || pw != "s3cr@t" {
		t.Fatalf("SplitPassword: %q %q", stripped, pw)
	}
	if s, pw := SplitPassword("/var/lib/outflow/outflow.db"); s != "/var/lib/outflow/outflow.db" || pw != "" {
		t.Fatalf("a file: %q %q", s, pw)
	}
	t.Setenv(PasswordEnv, "s3cr@t")
	c, err := ParseURL(stripped, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "ana" || c.Password != "s3cr@t" {
		t.Errorf("from the environment: user %q password %q", c.User, c.Password)
	}
	if c, _ := ParseURL("clickhouse://ana:other@ch1.example:9000/outflow", store.Config{}); c.Password != "other" {
		t.Errorf("the URL's password: %q, want it to win", c.Password)
	}
}

// TestInserts: two concurrent inserts a table unless the URL says 1 to
// 4; others are refused.
func TestInserts(t *testing.T) {
	for url, want := range map[string]int{"clickhouse://h/db": 2, "clickhouse://h/db?inserts=1": 1, "clickhouse://h/db?inserts=4": 4,
		"clickhouse://h/db?inserts=0": 0, "clickhouse://h/db?inserts=5": 0, "clickhouse://h/db?inserts=two": 0} {
		c, err := ParseURL(url, store.Config{})
		switch {
		case want == 0 && err == nil:
			t.Errorf("%s: accepted (%d)", url, c.Inserts)
		case want != 0 && (err != nil || c.Inserts != want):
			t.Errorf("%s: %d, %v; want %d", url, c.Inserts, err, want)
		}
	}
}

// TestCompression: compression is lz4 unless the URL says none; other
// methods are refused.
func TestCompression(t *testing.T) {
	for url, want := range map[string]string{"clickhouse://h/db": "lz4", "clickhouse://h/db?compression=none": "none",
		"clickhouse://h/db?compression=lz4": "lz4", "clickhouse://h/db?compression=zstd": ""} {
		c, err := ParseURL(url, store.Config{})
		switch {
		case want == "" && err == nil:
			t.Errorf("%s: accepted (%q)", url, c.Compression)
		case want != "" && (err != nil || c.Compression != want):
			t.Errorf("%s: %q, %v; want %q", url, c.Compression, err, want)
		}
	}
}
