package querylog

import "testing"

func TestParseRecord(t *testing.T) {
	rec, err := ParseRecord([]byte(`{"time":"2026-03-02T09:00:00Z","client":"10.0.0.5","name":"www.tiktok.com","verdict":"block","entity":"bytedance"}`))
	if err != nil || rec.Client != "10.0.0.5" || rec.Entity != "bytedance" || rec.Time.Unix() != 1772442000 {
		t.Fatalf("%+v %v", rec, err)
	}
	for _, bad := range []string{`{"client":"10.0.0.5"}`, `{"time":`, ``} {
		if _, err := ParseRecord([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
