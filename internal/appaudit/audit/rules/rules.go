package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/outflow-dev/outflow/internal/appaudit/apk"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/axml"
)

// Set is the compiled rule tables. It is read-only and safe for concurrent
// use.
type Set struct {
	probes []probe
	plan   *extract.Plan
	// slots[kind][i] lists the probes answered by slot i of that kind's
	// Want slice.
	slots [pClass + 1][][]int
}

// Compile compiles the tables. sdk and numSDKs classify classes by SDK for the
// audit package (see extract.Want); sdk may be nil.
func Compile(sdk func(desc []byte) int, numSDKs int) *Set {
	s := &Set{probes: slices.Clone(probes)}
	for _, p := range packerClasses {
		s.probes = append(s.probes, probe{kind: pClass, class: p.prefix, effect: IDPacker, label: p.protector + " (" + p.vendor + ")"})
	}
	w := extract.Want{SDK: sdk, NumSDKs: numSDKs}
	keys := [pClass + 1]map[string]int{}
	for i, p := range s.probes {
		k := p.class + "\x00" + p.name
		if keys[p.kind] == nil {
			keys[p.kind] = map[string]int{}
		}
		slot, ok := keys[p.kind][k]
		if !ok {
			slot = len(s.slots[p.kind])
			keys[p.kind][k] = slot
			s.slots[p.kind] = append(s.slots[p.kind], nil)
			switch p.kind {
			case pMethod:
				w.Methods = append(w.Methods, extract.Member{Class: p.class, Name: p.name})
			case pField:
				w.Fields = append(w.Fields, extract.Member{Class: p.class, Name: p.name})
			case pType:
				w.Types = append(w.Types, p.class)
			case pString:
				w.Strings = append(w.Strings, p.name)
			case pSubstring:
				w.Substrings = append(w.Substrings, p.name)
			case pClass:
				w.ClassPrefixes = append(w.ClassPrefixes, p.class)
			}
		}
		s.slots[p.kind][slot] = append(s.slots[p.kind][slot], i)
	}
	s.plan = extract.NewPlan(w)
	return s
}

// Plan is what extract must look for.
func (s *Set) Plan() *extract.Plan { return s.plan }

// DataCategory is one kind of personal data the app can reach, with the
// evidence, saying whether it comes from permissions, from APIs, or both.
type DataCategory struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	From        []string           `json:"from"` // "permission", "api"
	Permissions []string           `json:"permissions,omitempty"`
	APIs        []finding.Evidence `json:"apis,omitempty"`
	// Note qualifies the evidence: APIs of a guarded category without its
	// permission fail at run time.
	Note string `json:"note,omitempty"`
}

// NoteUnguarded is the DataCategory note for APIs without their permission.
const NoteUnguarded = "no permission of this category is requested: on current Android the calls fail unless it is added (often library code that checks first)"

// Result is what the rules found in one app.
type Result struct {
	Data     []DataCategory
	Findings []finding.Finding
}

type item struct {
	ev    finding.Evidence
	weak  bool
	label string
}

// Evaluate applies the rules to an app.
func (s *Set) Evaluate(app *extract.App) Result {
	by := s.evidence(app)
	var r Result
	perms := permissionSet(app.Manifest)

	for _, c := range categories {
		dc := DataCategory{ID: c.ID, Name: c.Name}
		for _, p := range c.Permissions {
			if full := fullPermission(p); perms[full] {
				dc.Permissions = append(dc.Permissions, full)
			}
		}
		for _, it := range by[c.ID] {
			dc.APIs = append(dc.APIs, it.ev)
		}
		if len(dc.Permissions) > 0 {
			dc.From = append(dc.From, "permission")
		}
		if len(dc.APIs) > 0 {
			dc.From = append(dc.From, "api")
		}
		if dc.From == nil {
			continue
		}
		if c.Guarded && len(dc.Permissions) == 0 {
			dc.Note = NoteUnguarded
		}
		r.Data = append(r.Data, dc)
		var ev []finding.Evidence
		for _, p := range dc.Permissions {
			ev = append(ev, finding.Evidence{Kind: finding.EvPermission, Value: p})
		}
		ev = append(ev, dc.APIs...)
		fd := New(IDDataPrefix+c.ID, finding.Trim(ev)...)
		fd.Subject = c.ID
		r.Findings = append(r.Findings, fd)
	}

	add := func(fd finding.Finding) {
		fd.Evidence = finding.Trim(fd.Evidence)
		r.Findings = append(r.Findings, fd)
	}

	// The Weibo install channel: its classes are the finding; the poll URL
	// is supporting evidence.
	if cls := classEvidence(by[IDWeiboCmd]); len(cls) > 0 {
		// The two classes GRIMM named first: the poller and the installer.
		key := func(e finding.Evidence) int {
			switch {
			case strings.HasSuffix(e.Value, ".WbAppActivator"):
				return 0
			case strings.HasSuffix(e.Value, ".AppInstallCmdExecutor"):
				return 1
			}
			return 2
		}
		slices.SortStableFunc(cls, func(a, b finding.Evidence) int { return key(a) - key(b) })
		fd := New(IDWeiboCmd, append(stringEvidence(by[IDWeiboCmd]), cls...)...)
		fd.Subject, fd.Concern = "com.sina.weibo.sdk.cmd", true
		add(fd)
	}

	// Installing apps.
	{
		var ev []finding.Evidence
		for _, p := range installPermissions {
			if full := fullPermission(p); perms[full] {
				ev = append(ev, finding.Evidence{Kind: finding.EvPermission, Value: full})
			}
		}
		ev = append(ev, apkFilters(app.Manifest)...)
		items := by[IDInstall]
		ev = append(ev, evs(items)...)
		if len(ev) > 0 {
			fd := New(IDInstall, ev...)
			if len(ev) == len(items) && allWeak(items) {
				fd.Severity = finding.Low
			}
			add(fd)
		}
	}

	// Code loaded at run time, and code inside code.
	{
		items := by[IDDynamicCode]
		for _, n := range app.Code.Nested {
			if n.Kind == "dex" || n.Kind == "apk" || n.Kind == "jar" || n.Kind == "aar" {
				v := n.Path
				if n.Classes > 0 {
					v = fmt.Sprintf("%s (%d classes)", n.Path, n.Classes)
				}
				items = append(items, item{ev: finding.Evidence{Kind: finding.EvNested, Value: v, Note: n.Err}})
			}
		}
		if len(items) > 0 {
			fd := New(IDDynamicCode, evs(items)...)
			if allWeak(items) {
				fd.Severity = finding.Low
			}
			add(fd)
		}
	}

	for _, id := range []string{IDShell, IDRoot, IDEmulator, IDDebugger} {
		if items := by[id]; len(items) > 0 {
			add(New(id, evs(items)...))
		}
	}

	if ev := receivers(app.Manifest, bootActions); len(ev) > 0 {
		if full := fullPermission("RECEIVE_BOOT_COMPLETED"); perms[full] {
			ev = append([]finding.Evidence{{Kind: finding.EvPermission, Value: full}}, ev...)
		}
		add(New(IDBoot, ev...))
	}
	if ev := receivers(app.Manifest, restartActions); len(ev) > 0 {
		add(New(IDRestart, ev...))
	}

	for _, fd := range packers(app, by[IDPacker]) {
		add(fd)
	}
	if fd, ok := encoded(app.Code); ok {
		add(fd)
	}
	if len(app.Code.SkippedDex) > 0 {
		var ev []finding.Evidence
		for _, n := range app.Code.SkippedDex {
			ev = append(ev, finding.Evidence{Kind: finding.EvSkipped, Value: n})
		}
		add(New(IDHiddenDex, ev...))
	}
	if n := app.Code.Malformed; n > 0 {
		add(New(IDBrokenCode, finding.Evidence{Kind: finding.EvError, Value: fmt.Sprintf("%d code items could not be read to their end", n)}))
	}
	for _, fd := range inputFindings(app) {
		add(fd)
	}
	return r
}

// evidence turns the hits of the app into evidence, per effect.
func (s *Set) evidence(app *extract.App) map[string][]item {
	by := map[string][]item{}
	c := &app.Code
	put := func(kind probeKind, slot int, ev finding.Evidence) {
		for _, pi := range s.slots[kind][slot] {
			p := s.probes[pi]
			by[p.effect] = append(by[p.effect], item{ev: ev, weak: p.weak, label: p.label})
		}
	}
	for i, h := range c.Methods {
		if !h.Found() {
			continue
		}
		p := s.probes[s.slots[pMethod][i][0]]
		ev := finding.Evidence{Kind: finding.EvAPICall, Value: Pretty(p.class) + "." + p.name, Where: h.Where}
		if !h.Invoked {
			ev.Kind, ev.Note = finding.EvAPIRef, "referenced, not seen invoked"
		}
		put(pMethod, i, ev)
	}
	for i, h := range c.Fields {
		if h.Found() {
			p := s.probes[s.slots[pField][i][0]]
			put(pField, i, finding.Evidence{Kind: finding.EvAPIRef, Value: Pretty(p.class) + "." + p.name, Where: h.Where})
		}
	}
	for i, h := range c.Types {
		if h.Found() {
			p := s.probes[s.slots[pType][i][0]]
			put(pType, i, finding.Evidence{Kind: finding.EvAPIRef, Value: Pretty(p.class), Where: h.Where})
		}
	}
	for i, h := range c.Strings {
		if h.Found() {
			p := s.probes[s.slots[pString][i][0]]
			put(pString, i, finding.Evidence{Kind: finding.EvString, Value: p.name, Where: h.Where})
		}
	}
	for i, h := range c.Substrings {
		if h.Found() {
			p := s.probes[s.slots[pSubstring][i][0]]
			ev := finding.Evidence{Kind: finding.EvString, Value: h.Sample, Where: h.Where}
			if h.Sample != p.name {
				ev.Note = fmt.Sprintf("contains %q", p.name)
			}
			put(pSubstring, i, ev)
		}
	}
	for i, names := range c.ClassNames {
		for _, n := range preferTopLevel(names) {
			put(pClass, i, finding.Evidence{Kind: finding.EvClass, Value: Pretty(n)})
		}
	}
	return by
}

// preferTopLevel orders class names with top-level classes first: they say
// more than their inner classes.
func preferTopLevel(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !strings.Contains(n, "$") {
			out = append(out, n)
		}
	}
	for _, n := range names {
		if strings.Contains(n, "$") {
			out = append(out, n)
		}
	}
	return out
}

func evs(items []item) []finding.Evidence {
	out := make([]finding.Evidence, 0, len(items))
	for _, it := range items {
		out = append(out, it.ev)
	}
	return out
}

func classEvidence(items []item) []finding.Evidence {
	var out []finding.Evidence
	for _, it := range items {
		if it.ev.Kind == finding.EvClass {
			out = append(out, it.ev)
		}
	}
	return out
}

func stringEvidence(items []item) []finding.Evidence {
	var out []finding.Evidence
	for _, it := range items {
		if it.ev.Kind == finding.EvString {
			out = append(out, it.ev)
		}
	}
	return out
}

func allWeak(items []item) bool {
	for _, it := range items {
		if !it.weak {
			return false
		}
	}
	return true
}

// Pretty turns a type descriptor into a Java name: "Landroid/os/Build;"
// gives "android.os.Build". Other strings are returned as they are.
func Pretty(desc string) string {
	if len(desc) > 1 && desc[0] == 'L' {
		d := strings.TrimSuffix(desc[1:], ";")
		return strings.ReplaceAll(d, "/", ".")
	}
	return desc
}

func fullPermission(p string) string {
	if strings.Contains(p, ".") {
		return p
	}
	return "android.permission." + p
}

func permissionSet(m *axml.Manifest) map[string]bool {
	out := map[string]bool{}
	if m == nil {
		return out
	}
	for _, p := range m.UsesPermissions {
		out[p.Name] = true
	}
	return out
}

func components(m *axml.Manifest) []axml.Component {
	if m == nil {
		return nil
	}
	var all []axml.Component
	for _, list := range [][]axml.Component{m.Activities, m.ActivityAliases, m.Services, m.Receivers, m.Providers} {
		all = append(all, list...)
	}
	return all
}

// apkFilters finds components that accept APK files.
func apkFilters(m *axml.Manifest) []finding.Evidence {
	var out []finding.Evidence
	for _, c := range components(m) {
		for _, f := range c.IntentFilters {
			if slices.Contains(f.MIMETypes, apkMIME) {
				out = append(out, finding.Evidence{Kind: finding.EvManifest, Value: c.Kind + " " + c.Name, Note: "intent filter for " + apkMIME})
				break
			}
		}
	}
	return out
}

// receivers finds receivers listening for any of actions.
func receivers(m *axml.Manifest, actions []string) []finding.Evidence {
	if m == nil {
		return nil
	}
	var out []finding.Evidence
	for _, c := range m.Receivers {
		var hit []string
		for _, f := range c.IntentFilters {
			for _, a := range f.Actions {
				if slices.Contains(actions, a) && !slices.Contains(hit, a) {
					hit = append(hit, a)
				}
			}
		}
		if len(hit) > 0 {
			out = append(out, finding.Evidence{Kind: finding.EvManifest, Value: "receiver " + c.Name, Note: strings.Join(hit, ", ")})
		}
	}
	return out
}

// packers groups the marks of each protector into one finding.
func packers(app *extract.App, classes []item) []finding.Finding {
	type acc struct {
		ev   []finding.Evidence
		high bool
	}
	by := map[string]*acc{}
	var order []string
	get := func(name string) *acc {
		a := by[name]
		if a == nil {
			a = &acc{}
			by[name] = a
			order = append(order, name)
		}
		return a
	}
	for _, it := range classes {
		a := get(it.label)
		a.ev = append(a.ev, it.ev)
		a.high = true
	}
	if m := app.Manifest; m != nil && m.Application.Name != "" {
		desc := "L" + strings.ReplaceAll(m.Application.Name, ".", "/")
		for _, p := range packerClasses {
			if strings.HasPrefix(desc+";", p.prefix) {
				a := get(p.protector + " (" + p.vendor + ")")
				a.ev = append(a.ev, finding.Evidence{Kind: finding.EvManifest, Value: "application " + m.Application.Name})
				a.high = true
			}
		}
	}
	addMark := func(where string, mk extract.Mark) {
		name := mk.Protector + " (" + mk.Vendor + ")"
		a := get(name)
		ev := finding.Evidence{Kind: finding.EvFile, Value: mk.Evidence, Where: where, Note: string(mk.Kind) + " mark, " + string(mk.Confidence) + " confidence"}
		if mk.Kind != "file-name" && mk.Kind != "path" {
			ev.Kind = finding.EvNative
		}
		for _, e := range a.ev {
			if e == ev {
				return
			}
		}
		a.ev = append(a.ev, ev)
		a.high = a.high || mk.Confidence == "high"
	}
	for _, mk := range app.NameMarks {
		addMark(mk.Where, mk)
	}
	for _, n := range app.Native {
		for _, mk := range n.Marks {
			addMark(n.Entry, extract.Mark{Where: n.Entry, Mark: mk})
		}
	}
	var out []finding.Finding
	for _, name := range order {
		a := by[name]
		fd := New(IDPacker, a.ev...)
		fd.Subject = name
		fd.Title = "Packed or protected: " + name
		if !a.high {
			fd.Severity = finding.Low
		}
		out = append(out, fd)
	}
	return out
}

// Thresholds of the encoded-strings rule, set on the shared corpus (none of
// whose apps encrypts its strings; the highest share there is under 6 %)
// with a wide margin: string encryptors leave most constants encoded.
const (
	EncodedMinMeasured = 100
	EncodedMinFraction = 0.25
)

func encoded(c extract.Code) (finding.Finding, bool) {
	st := c.Stats
	if st.Measured < EncodedMinMeasured || st.EncodedFraction() < EncodedMinFraction {
		return finding.Finding{}, false
	}
	return New(IDEncoded, finding.Evidence{Kind: finding.EvStats,
		Value: fmt.Sprintf("%d of %d string constants of 16 bytes or more look encoded (%.0f %%): %d high-entropy, %d random-looking, %d base64, %d hex",
			st.Encoded, st.Measured, 100*st.EncodedFraction(), st.HighEntropy, st.RandomLike, st.Base64Like, st.HexLike)}), true
}

// inputFindings reports what of the file could not be read.
func inputFindings(app *extract.App) []finding.Finding {
	var out []finding.Finding
	add := func(id string, ev ...finding.Evidence) { out = append(out, New(id, ev...)) }
	if !app.HasManifest && app.Kind != apk.KindDEX && app.Kind != apk.KindJAR && app.Kind != apk.KindAAR {
		add(IDNoManifest, finding.Evidence{Kind: finding.EvFile, Value: "AndroidManifest.xml", Note: "absent; archive kind " + app.Kind.String()})
	}
	if app.HasManifest && !app.HasResources {
		add(IDNoResources, finding.Evidence{Kind: finding.EvFile, Value: "resources.arsc", Note: "absent"})
	}
	byID := map[string][]finding.Evidence{}
	var ids []string
	for _, p := range app.Problems {
		id := IDBadArchive
		switch {
		case p.IsLimit():
			id = IDLimit
		case p.Part == "manifest":
			id = IDBadManifest
		case p.Part == "resources":
			id = IDBadRes
		case p.Part == "dex":
			id = IDBadDex
		case p.Part == "signature":
			id = IDBadSig
		}
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], finding.Evidence{Kind: finding.EvError, Value: p.Err.Error(), Where: p.Where})
	}
	for _, id := range ids {
		add(id, byID[id]...)
	}
	if len(app.Signers) == 0 && app.Kind == apk.KindAPK && byID[IDBadSig] == nil {
		add(IDUnsigned)
	}
	return out
}
