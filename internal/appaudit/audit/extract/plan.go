package extract

// Member names a method or field: class descriptor and member name.
type Member struct {
	Class string // "Landroid/telephony/TelephonyManager;"
	Name  string // "getDeviceId"
}

// Want says what to look for in an app's code. The rules build it, so that
// this package reads without knowing any rule; every slice of Code.Hits is
// parallel to the matching slice here.
type Want struct {
	Methods    []Member // method_ids (referenced or defined), and whether code invokes them
	Fields     []Member // field_ids
	Types      []string // type_ids
	Strings    []string // pool strings equal to one of these
	Substrings []string // pool strings containing one of these
	// ClassPrefixes: record the names of classes under these descriptor
	// prefixes ("Lcom/sina/weibo/sdk/cmd/"), up to Config.MaxClassNames.
	ClassPrefixes []string
	// SDK classifies a class descriptor: the index of the SDK it belongs to
	// (0 <= i < NumSDKs), or -1. It is called from several goroutines.
	SDK     func(desc []byte) int
	NumSDKs int
}

// Plan is a compiled Want. It is read-only and safe for concurrent use.
type Plan struct {
	want    Want
	methods map[string]map[string]int
	fields  map[string]map[string]int
	types   map[string]int
	strs    map[string]int
	subs    *subIndex
	prefix  [][]byte
}

// NewPlan compiles w.
func NewPlan(w Want) *Plan {
	p := &Plan{
		want:    w,
		methods: members(w.Methods),
		fields:  members(w.Fields),
		types:   index(w.Types),
		strs:    index(w.Strings),
	}
	var subs [][]byte
	for _, s := range w.Substrings {
		subs = append(subs, []byte(s))
	}
	p.subs = newSubIndex(subs)
	for _, s := range w.ClassPrefixes {
		p.prefix = append(p.prefix, []byte(s))
	}
	return p
}

// Want returns what the plan was compiled from.
func (p *Plan) Want() Want { return p.want }

func members(ms []Member) map[string]map[string]int {
	out := map[string]map[string]int{}
	for i, m := range ms {
		byName := out[m.Class]
		if byName == nil {
			byName = map[string]int{}
			out[m.Class] = byName
		}
		if _, dup := byName[m.Name]; !dup {
			byName[m.Name] = i
		}
	}
	return out
}

func index(ss []string) map[string]int {
	out := make(map[string]int, len(ss))
	for i, s := range ss {
		if _, dup := out[s]; !dup {
			out[s] = i
		}
	}
	return out
}

func (p *Plan) sdk(desc []byte) int {
	if p.want.SDK == nil {
		return -1
	}
	return p.want.SDK(desc)
}
