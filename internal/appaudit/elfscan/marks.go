package elfscan

import (
	"path"
	"strings"
)

// Kind says what a mark matched.
type Kind string

// Kinds of marks.
const (
	KindFileName Kind = "file-name" // base name of a library or asset
	KindPath     Kind = "path"      // full APK entry path
	KindSection  Kind = "section"   // ELF section name
	KindNeeded   Kind = "needed"    // DT_NEEDED entry of a library
	KindTrailer  Kind = "trailer"   // bytes in the last 64 bytes of the file
)

// Confidence of a mark taken alone.
type Confidence string

// High marks are names only the protector uses. Medium marks are short or
// generic names, or byte patterns that other software could produce; a rule
// should want a second mark before it concludes.
const (
	High   Confidence = "high"
	Medium Confidence = "medium"
)

// Mark is evidence that a packer or protector is present.
type Mark struct {
	Protector  string // product: "Jiagu", "Legu"
	Vendor     string // company behind it
	Kind       Kind
	Evidence   string // what matched: the file name, path, section name or bytes
	Confidence Confidence
	Source     string // where the fact is published
}

// Rule is one row of the table of marks.
type Rule struct {
	Protector  string
	Vendor     string
	Kind       Kind // KindFileName rows also match DT_NEEDED entries
	Pattern    string
	Confidence Confidence
	Source     string
}

// Sources, cited per row. APKiD is RedNaga's packer identifier
// (github.com/rednaga/APKiD); only the names are taken from its rules, the
// matching here is our own.
const (
	srcAPKiDApk = "APKiD rules apk/packers.yara"
	srcAPKiDElf = "APKiD rules elf/packers.yara"
	srcLists    = "public packer identification lists (e.g. ApkCheckPack, PKiD) and analyses of samples"
)

// rules is the table of marks. Patterns are globs (path.Match) compared
// case-insensitively: on the base name for KindFileName and KindNeeded, on
// the whole entry path for KindPath, on the section name for KindSection;
// KindTrailer patterns are literal bytes searched in the file's tail.
//
// Names are listed only where a public source ties them to the product.
// No section names are known for the Chinese packers: they strip or
// corrupt section headers instead, which Info.SectionError reports.
var rules = []Rule{
	// Qihoo 360 Jiagu (360加固): libjiagu.so and libjiagu_art.so per APKiD;
	// the per-ABI builds libjiagu_a64.so, libjiagu_x86.so, libjiagu_x64.so
	// per the lists.
	{"Jiagu", "Qihoo 360", KindFileName, "libjiagu*.so", High, srcAPKiDApk + " (rule jiagu); " + srcLists},
	{"Jiagu (legacy)", "Qihoo 360", KindFileName, "libprotectclass*.so", High, srcAPKiDApk + " (rule qihoo360)"},
	{"ApkToolPlus Jiagu", "ApkToolPlus (open source)", KindFileName, "libapktoolplus_jiagu.so", High, srcAPKiDApk + " (rule jiagu_a)"},

	// Bangcle / SecNeo (梆梆安全).
	{"Bangcle", "Bangcle / SecNeo", KindFileName, "libsecexe*.so", High, srcAPKiDApk + " (rule bangcle)"},
	{"Bangcle", "Bangcle / SecNeo", KindFileName, "libsecmain*.so", High, srcAPKiDApk + " (rule bangcle)"},
	{"Bangcle SecShell", "Bangcle / SecNeo", KindFileName, "libsecshell*.so", High, srcAPKiDApk + " (rule bangcle_secshell)"},
	{"Bangcle", "Bangcle / SecNeo", KindPath, "assets/bangcleplugin/*", High, srcAPKiDApk + " (rule bangcle)"},
	{"Bangcle", "Bangcle / SecNeo", KindFileName, "bangcle_classes.jar", High, srcAPKiDApk + " (rule bangcle)"},
	{"Bangcle", "Bangcle / SecNeo", KindFileName, "bangcleclasses.jar", High, srcAPKiDApk + " (rule bangcle)"},
	{"SecNeo", "Bangcle / SecNeo", KindFileName, "libdexhelper*.so", High, srcAPKiDApk + " (rule secneo)"},
	{"SecNeo", "Bangcle / SecNeo", KindFileName, "libdexjni*.so", Medium, srcAPKiDApk + " (rule secneo_b, with libDexHelper)"},
	{"Bangcle / SecNeo (UPX)", "Bangcle / SecNeo", KindTrailer, "SEC!", Medium, srcAPKiDElf + " (rule upx_elf_bangcle_secneo: UPX! replaced by SEC!)"},

	// Ijiami (爱加密).
	{"Ijiami", "Ijiami", KindPath, "assets/ijiami.dat", High, srcAPKiDApk + " (rule ijiami)"},
	{"Ijiami", "Ijiami", KindFileName, "ijiami.ajm", High, srcAPKiDApk + " (rule ijiami)"},
	{"Ijiami", "Ijiami", KindPath, "assets/ijm_lib/*", High, srcAPKiDApk + " (rule ijiami)"},
	{"Ijiami", "Ijiami", KindFileName, "libexecmain.so", Medium, srcLists},
	{"Ijiami", "Ijiami", KindFileName, "libexec.so", Medium, srcLists},
	{"Ijiami (UPX)", "Ijiami", KindTrailer, "AJM!", Medium, srcAPKiDElf + " (rule upx_elf_ijiami: UPX! replaced by AJM!)"},

	// Tencent: Legu (乐固), Mobile Tencent Protect, Yu Anquan (御安全).
	{"Mobile Tencent Protect", "Tencent", KindFileName, "libmobisecy.so", High, srcAPKiDApk + " (rule tencent)"},
	{"Mobile Tencent Protect", "Tencent", KindFileName, "libshell.so", Medium, srcAPKiDApk + " (rule tencent: lib/armeabi/libshell.so); " + srcAPKiDElf + " (rule tencent_elf: libshell.so needed)"},
	{"Mobile Tencent Protect", "Tencent", KindPath, "*/mix.dex", Medium, srcAPKiDApk + " (rule tencent)"},
	{"Legu", "Tencent", KindFileName, "libshella*.so", High, srcLists},
	{"Legu", "Tencent", KindFileName, "libshellx*.so", High, srcLists},
	{"Legu", "Tencent", KindFileName, "libtup.so", Medium, srcLists},
	{"Legu", "Tencent", KindPath, "assets/0oo00l111l1l", High, srcAPKiDApk + " (rule tencent_legu)"},
	{"Yu Anquan", "Tencent", KindFileName, "libtosprotection*.so", High, srcLists},

	// Baidu.
	{"Baidu App Protect", "Baidu", KindFileName, "libbaiduprotect*.so", High, srcAPKiDApk + " (rule baidu)"},
	{"Baidu App Protect", "Baidu", KindFileName, "baiduprotect*.jar", High, srcAPKiDApk + " (rule baidu)"},

	// Alibaba.
	{"Alibaba Mobile Security", "Alibaba", KindFileName, "libmobisec.so", High, srcAPKiDApk + " (rule alibaba)"},
	{"Alibaba Security Guard (SDK)", "Alibaba", KindFileName, "libsgmain*.so", Medium, srcLists + "; an anti-tampering SDK of Alibaba apps, not a packer"},

	// NetEase Yidun (易盾).
	{"Yidun", "NetEase", KindFileName, "libnesec*.so", High, srcAPKiDApk + " (rule yidun)"},

	// Nagain / Naga (娜迦).
	{"Naga", "Nagain", KindFileName, "libddog.so", High, srcAPKiDApk + " (rule naga)"},
	{"Naga", "Nagain", KindFileName, "libchaosvmp.so", Medium, srcLists},
	{"Naga", "Nagain", KindFileName, "libedog.so", Medium, srcLists},

	// Other Chinese packers in APKiD.
	{"PangXie", "PangXie", KindFileName, "libnsecure.so", High, srcAPKiDApk + " (rule pangxie)"},
	{"Kiro", "Kiro", KindFileName, "libkiroro.so", High, srcAPKiDApk + " (rule kiro)"},
	{"Secenh", "unknown", KindFileName, "libsecenh*.so", High, srcAPKiDApk + " (rule secenh)"},

	// APKProtect.
	{"APKProtect", "APKProtect", KindFileName, "libapkprotect.so", High, srcAPKiDApk + " (rules apkprotect, apkprotect_a)"},
	{"APKProtect", "APKProtect", KindPath, "assets/apkprotect*", High, srcAPKiDApk + " (rule apkprotect_a)"},

	// DexProtector (Licel).
	{"DexProtector", "Licel", KindFileName, "libdexprotector*.so", Medium, srcLists},
	{"DexProtector", "Licel", KindPath, "assets/dp.*.so.dat", High, srcAPKiDApk + " (rule dexprotector)"},
	{"DexProtector", "Licel", KindPath, "assets/dp.*.dvm.so", High, srcAPKiDApk + " (rule dexprotector_a)"},

	// Protectors from elsewhere, for completeness of the "packed" signal.
	{"AppGuard", "INCA Internet / NHN", KindFileName, "libappguard*.so", High, srcAPKiDApk + " (rule appguard_a)"},
	{"DxShield", "NSHC", KindFileName, "libdxbase.so", Medium, srcAPKiDApk + " (rule dxshield)"},
	{"NQ Shield", "unknown", KindFileName, "libnqshield.so", High, srcAPKiDApk + " (rule nqshield)"},
	{"App Fortify", "unknown", KindFileName, "libnsaferonly.so", High, srcAPKiDApk + " (rule app_fortify)"},
	{"AppSealing", "INKA Entworks", KindFileName, "libcovault*.so", High, srcAPKiDApk + " (rule appsealing)"},
	{"AppSuit", "Stealien", KindFileName, "libappsuit.so", High, srcAPKiDApk + " (rule appsuit_packer)"},
	{"Promon Shield", "Promon", KindFileName, "libshield.so", Medium, srcAPKiDElf + " (rule promon)"},
	{"Promon Shield", "Promon", KindSection, ".ncc", Medium, srcAPKiDElf + " (rule promon: sections .ncc .ncd .ncu)"},
	{"Promon Shield", "Promon", KindSection, ".ncd", Medium, srcAPKiDElf + " (rule promon)"},
	{"Promon Shield", "Promon", KindSection, ".ncu", Medium, srcAPKiDElf + " (rule promon)"},
	{"UPX", "UPX (open source)", KindTrailer, "UPX!", Medium, srcAPKiDElf + " (rules upx_*: UPX! at the end of a packed file)"},
}

// NameMarks checks an APK entry path against the file-name and path rows:
// it works without the file itself, for names listed in a manifest or a
// zip directory whose data is missing or unreadable.
func NameMarks(entry string) []Mark {
	lower := strings.ToLower(entry)
	base := path.Base(lower)
	var out []Mark
	for _, r := range rules {
		var subject string
		switch r.Kind {
		case KindFileName:
			subject = base
		case KindPath:
			subject = lower
		default:
			continue
		}
		if ok, _ := path.Match(r.Pattern, subject); ok {
			out = appendMark(out, r, r.Kind, entry)
		}
	}
	return out
}

// neededMarks checks DT_NEEDED entries against the file-name rows: a library
// that loads a packer's library carries its mark.
func neededMarks(out []Mark, needed []string) []Mark {
	for _, n := range needed {
		base := path.Base(strings.ToLower(n))
		for _, r := range rules {
			if r.Kind != KindFileName || !strings.HasSuffix(r.Pattern, ".so") {
				continue
			}
			if ok, _ := path.Match(r.Pattern, base); ok {
				out = appendMark(out, r, KindNeeded, n)
			}
		}
	}
	return out
}

func sectionMarks(out []Mark, sections []string) []Mark {
	for _, s := range sections {
		for _, r := range rules {
			if r.Kind == KindSection && strings.EqualFold(r.Pattern, s) {
				out = appendMark(out, r, KindSection, s)
			}
		}
	}
	return out
}

func trailerMarks(out []Mark, tail []byte) []Mark {
	for _, r := range rules {
		if r.Kind == KindTrailer && strings.Contains(string(tail), r.Pattern) {
			out = appendMark(out, r, KindTrailer, r.Pattern)
		}
	}
	return out
}

// appendMark adds a mark unless the same protector, kind and evidence is
// already there.
func appendMark(out []Mark, r Rule, k Kind, evidence string) []Mark {
	for _, m := range out {
		if m.Protector == r.Protector && m.Kind == k && m.Evidence == evidence {
			return out
		}
	}
	return append(out, Mark{
		Protector:  r.Protector,
		Vendor:     r.Vendor,
		Kind:       k,
		Evidence:   evidence,
		Confidence: r.Confidence,
		Source:     r.Source,
	})
}
