package yamlconf

import (
	"strings"
	"testing"
)

type conf struct {
	Listen string `yaml:"listen"`
	Cache  struct {
		Size int `yaml:"size"`
	} `yaml:"cache"`
}

func TestDecode(t *testing.T) {
	c := conf{Listen: "127.0.0.1:53"}
	if err := Decode("a.yaml", []byte("cache:\n  size: 5\n"), &c); err != nil || c.Listen != "127.0.0.1:53" || c.Cache.Size != 5 {
		t.Fatalf("%v %+v", err, c)
	}
	if err := Decode("a.yaml", nil, &c); err != nil {
		t.Fatalf("empty: %v", err)
	}
	err := Decode("a.yaml", []byte("listen: x\ncache:\n  sise: 5\n"), &c)
	if err == nil || err.Error() != `a.yaml: line 3: unknown key "sise"` {
		t.Fatalf("got %v", err)
	}
	err = Decode("a.yaml", []byte("cache: [\n"), &c)
	if err == nil || !strings.HasPrefix(err.Error(), "a.yaml: ") {
		t.Fatalf("got %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("listen: x\ncache:\n  size: 5\n")
	f.Fuzz(func(t *testing.T, s string) {
		var c conf
		_ = Decode("f", []byte(s), &c)
	})
}
