package yamlconf

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

type conf struct {
	Listen string `yaml:"listen"`
	Cache  struct {
		Size int           `yaml:"size"`
		TTL  time.Duration `yaml:"ttl"`
	} `yaml:"cache"`
	Servers []server          `yaml:"servers"`
	Tags    map[string]string `yaml:"tags"`
	Dates   []date            `yaml:"dates"`
	Facts   []fact            `yaml:"facts"`
	Hidden  string            `yaml:"-"`
	Ptr     *server           `yaml:"ptr"`
}

type server struct {
	Address string `yaml:"address"`
	Port    int    `yaml:"port"`
}

// date reads itself, as catalog.Date does, naming the line in its error.
type date struct{ s string }

func (d *date) UnmarshalYAML(n *yaml.Node) error {
	if len(n.Value) != 10 {
		return errors.New("line " + itoa(n.Line) + ": date " + n.Value + " is not YYYY-MM-DD")
	}
	d.s = n.Value
	return nil
}

// fact is a scalar or a mapping, as catalog.DNSFact is.
type fact struct {
	Value string `yaml:"value"`
	Note  string `yaml:"note"`
}

func (f *fact) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Value = n.Value
		return nil
	}
	type plain fact
	return n.Decode((*plain)(f))
}

func itoa(i int) string {
	var b []byte
	for ; i > 0 || len(b) == 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestDecode(t *testing.T) {
	c := conf{Listen: "127.0.0.1:53"}
	if err := Decode("a.yaml", []byte("cache:\n  size: 5\n  ttl: 1m\n"), &c); err != nil || c.Listen != "127.0.0.1:53" || c.Cache.Size != 5 || c.Cache.TTL != time.Minute {
		t.Fatalf("%v %+v", err, c)
	}
	for _, in := range []string{"", "# only a comment\n", "~\n"} {
		if err := Decode("a.yaml", []byte(in), &c); err != nil || c.Cache.Size != 5 {
			t.Fatalf("%q: %v", in, err)
		}
	}
	in := "base: &b {address: x, port: 1}\n"
	var m struct {
		Base    server   `yaml:"base"`
		Servers []server `yaml:"servers"`
	}
	if err := Decode("a.yaml", []byte(in+"servers:\n  - <<: *b\n    port: 2\n"), &m); err != nil || m.Servers[0].Address != "x" || m.Servers[0].Port != 2 {
		t.Fatalf("merge: %v %+v", err, m)
	}
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown top key", "listen: x\ncolour: red\n",
			`a.yaml:2:1: unknown key "colour" at top level; allowed: cache, dates, facts, listen, ptr, servers, tags`},
		{"unknown nested key", "cache:\n  size: 5\n  sise: 5\n",
			`a.yaml:3:3: unknown key "sise" in cache; allowed: size, ttl`},
		{"in a sequence, flow style", "servers:\n  - {address: a, prot: 53}\n",
			`a.yaml:2:18: unknown key "prot" in servers[0]; allowed: address, port`},
		{"behind a pointer", "ptr:\n  adress: a\n", `a.yaml:2:3: unknown key "adress" in ptr; allowed: address, port`},
		{"a yaml:\"-\" field is unknown", "hidden: x\n", `a.yaml:1:1: unknown key "hidden" at top level`},
		{"in a merged mapping", "servers:\n  - <<: {colour: red}\n", `a.yaml:2:10: unknown key "colour" in servers[0]; allowed: address, port`},
		{"in a mapping a type reads itself", "facts:\n  - plain\n  - {value: x, colour: red}\n",
			`a.yaml:3:16: unknown key "colour" in facts[1]; allowed: note, value`},
		{"type", "cache:\n  size: many\n", "a.yaml:2:9: cache.size: cannot unmarshal !!str `many` into int"},
		{"duration", "cache: {ttl: soon}\n", "a.yaml:1:14: cache.ttl: cannot unmarshal !!str `soon` into time.Duration"},
		{"mapping for a list", "servers: {address: a}\n", "a.yaml:1:10: servers: cannot unmarshal !!map into []yamlconf.server"},
		{"a type's own error", "dates: [2026-01-01, soon]\n", "a.yaml:1:21: dates[1]: date soon is not YYYY-MM-DD"},
		{"duplicate key", "listen: a\nlisten: b\n", `a.yaml:2:1: key "listen" at top level is already set at line 1`},
		{"syntax", "cache: [\n", "a.yaml:1: did not find expected node content"},
		{"several at once, in file order", "colour: red\ncache:\n  size: many\n  sise: 1\nservers:\n  - port: x\n",
			"a.yaml:1:1: unknown key \"colour\" at top level; allowed: cache, dates, facts, listen, ptr, servers, tags\n" +
				"a.yaml:3:9: cache.size: cannot unmarshal !!str `many` into int\n" +
				"a.yaml:4:3: unknown key \"sise\" in cache; allowed: size, ttl\n" +
				"a.yaml:6:11: servers[0].port: cannot unmarshal !!str `x` into int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c conf
			err := Decode("a.yaml", []byte(tc.in), &c)
			if err == nil {
				t.Fatal("no error")
			}
			if _, ok := err.(Problems); !ok {
				t.Errorf("error is %T, not Problems", err)
			}
			got := err.Error()
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("diff (-want +got):\n%s", cmp.Diff(tc.want, got))
			}
		})
	}
}

func TestDecodeNode(t *testing.T) {
	var c conf
	doc, ps := DecodeNode("a.yaml", []byte("listen: x\nservers:\n  - address: a\n"), &c)
	if ps != nil || doc == nil || doc.Kind != yaml.DocumentNode || doc.Content[0].Content[3].Content[0].Line != 3 {
		t.Fatalf("%v %v", doc, ps)
	}
	if doc, ps := DecodeNode("a.yaml", nil, &c); doc != nil || ps != nil {
		t.Fatalf("empty: %v %v", doc, ps)
	}
}

// Aliases are walked once per type: a document that refers to itself or
// multiplies an anchor does not loop or explode.
func TestAliases(t *testing.T) {
	var c conf
	_ = Decode("a.yaml", []byte("tags: &a {x: *a}\n"), &c)
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		bomb += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(i-1)+", ", 9) + "*" + string(i-1) + "]\n"
	}
	var v struct {
		Rest map[string][][][][][][][][][][]string `yaml:",inline"`
	}
	if err := Decode("a.yaml", []byte(bomb), &v); err == nil {
		t.Fatal("alias bomb decoded")
	}
}

// FuzzDecode checks that the walk agrees with yaml.v3's own strict
// decoding: one refuses a document exactly when the other does.
func FuzzDecode(f *testing.F) {
	f.Add("listen: x\ncache:\n  size: 5\n  ttl: 1m\n")
	f.Add("servers:\n  - {address: a, port: 53}\n  - <<: {port: 1}\n")
	f.Add("colour: red\ncache:\n  sise: many\n")
	f.Add("base: &b {address: x}\nptr: *b\ntags: {a: b}\n")
	f.Add("dates: [2026-01-01]\n")
	f.Fuzz(func(t *testing.T, s string) {
		var c conf
		doc, ps := DecodeNode("f", []byte(s), &c)
		for _, p := range ps {
			if p.File != "f" || p.Line < 0 || p.Col < 0 || p.Msg == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
		var d conf
		dec := yaml.NewDecoder(bytes.NewReader([]byte(s)))
		dec.KnownFields(true)
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			err = nil
		}
		if (err == nil) != (len(ps) == 0) && (doc == nil || !hasFactMapping(doc)) {
			t.Fatalf("yaml.v3 says %v, Decode says %v", err, ps)
		}
	})
}

// hasFactMapping says whether the document gives a fact as a mapping,
// the one place Decode is stricter than yaml.v3 (which does not check
// keys a type reads itself).
func hasFactMapping(doc *yaml.Node) bool { return strings.Contains(nodeString(doc), "facts") }

func nodeString(n *yaml.Node) string {
	var b strings.Builder
	var rec func(*yaml.Node, int)
	rec = func(n *yaml.Node, depth int) {
		if n == nil || depth > 50 {
			return
		}
		b.WriteString(n.Value)
		b.WriteByte(' ')
		for _, c := range n.Content {
			rec(c, depth+1)
		}
	}
	rec(n, 0)
	return b.String()
}
