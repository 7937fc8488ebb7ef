package web

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/render/worldmap"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/version"
)

// thousands formats an integer with comma separators.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func toU64(v any) uint64 {
	switch n := v.(type) {
	case int:
		return uint64(max(n, 0))
	case int64:
		return uint64(max(n, 0))
	case uint64:
		return n
	case uint16:
		return uint64(n)
	case float64:
		return uint64(max(n, 0))
	}
	return 0
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02")
}

// until says how far a deadline t is from ref (the end of the period
// shown, which is now unless the store holds only older data).
func until(t, ref time.Time) string {
	if t.IsZero() {
		return "in force"
	}
	d := t.Sub(ref)
	days := int(d.Hours() / 24)
	plural := func(n int) string {
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	switch {
	case d < 0 && days == 0:
		return "passed today"
	case d < 0:
		return plural(-days) + " overdue"
	case days == 0:
		return "due today"
	}
	return plural(days) + " left"
}

// query builds "?k=v&..." from the base values with pairs set (a value of
// "" removes the key).
func query(base url.Values, kv ...string) template.URL {
	q := url.Values{}
	for k, v := range base {
		q[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return ""
	}
	return template.URL("?" + q.Encode()) // encoded by url.Values
}

func (s *Server) funcs() template.FuncMap {
	ent := func(id string) store.Entity {
		m, _ := s.entities(context.Background()) // warm: the handler read it
		if e, ok := m[id]; ok {
			return e
		}
		return store.Entity{ID: id, Name: id}
	}
	// An entity as every output names it: "TikTok Pte. Ltd., SG —
	// controlled from CN".
	eline := func(id string) string {
		e := ent(id)
		return render.Entity(id, e.Name, e.Registered, e.Jurisdiction)
	}
	return template.FuncMap{
		"bytes":   func(v any) string { return render.Bytes(toU64(v)) },
		"num":     func(v any) string { return thousands(toU64(v)) },
		"time":    fmtTime,
		"date":    fmtDate,
		"until":   until,
		"country": worldmap.Name,
		"entity":  ent,
		"eline":   eline,
		"version": func() string { return "outflow " + version.Short() },
		"jur": func(e store.Entity) string {
			return render.Jurisdictions(cmp.Or(e.Registered, e.Jurisdiction), e.Jurisdiction)
		},
		"listmark": func(e store.Entity, list string) string {
			return render.List(list, slices.Contains(e.Unverified, list))
		},
		"ename": func(id string) string {
			if id == "" {
				return "–"
			}
			return cmp.Or(ent(id).Name, id)
		},
		"query": query,
		"difstat": func(d string) string {
			var add, del int
			for _, l := range strings.Split(d, "\n") {
				switch {
				case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
				case strings.HasPrefix(l, "+"):
					add++
				case strings.HasPrefix(l, "-"):
					del++
				}
			}
			return fmt.Sprintf("+%d −%d lines", add, del)
		},
		"difflines": func(d string) []diffLine {
			var out []diffLine
			for _, l := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
				c := ""
				switch {
				case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"), strings.HasPrefix(l, "@@"):
					c = "d-head"
				case strings.HasPrefix(l, "+"):
					c = "d-add"
				case strings.HasPrefix(l, "-"):
					c = "d-del"
				}
				out = append(out, diffLine{c, l})
			}
			return out
		},
		"kinds": func(k string) string {
			switch k {
			case "entity":
				return "Entities"
			case "":
				return "Other"
			}
			return strings.ToUpper(k[:1]) + k[1:] + "s"
		},
		"role":  render.Role,
		"path":  url.PathEscape,
		"join":  strings.Join,
		"add":   func(a, b int) int { return a + b },
		"add64": func(a, b uint64) uint64 { return a + b },
		"list": func() []string {
			out := make([]string, len(periods))
			for i, p := range periods {
				out[i] = p.name
			}
			return out
		},
		"sevclass": func(sev string) string {
			switch sev {
			case "high", "medium", "low", "info":
				return "sev-" + sev
			}
			return "sev-info"
		},
		"verdictclass": func(v string) string {
			switch v {
			case "block", "due", "monitor", "allow":
				return "v-" + v
			case "overdue", "incomplete":
				return "v-block"
			case "compliant", "removed":
				return "v-allow"
			}
			return ""
		},
		"pct": func(a, b uint64) string {
			if b == 0 {
				return "0 %"
			}
			return fmt.Sprintf("%.0f %%", 100*float64(a)/float64(b))
		},
	}
}

// diffLine is one line of a unified diff and its class.
type diffLine struct{ Class, Text string }
