package audit

import (
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/attribute"
)

// Report is the audit of one app.
type Report struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Kind   string `json:"kind"` // apk, xapk, apks, jar, aar, dex, zip

	Package          string   `json:"package"`
	VersionName      string   `json:"version_name"`
	VersionCode      int64    `json:"version_code"`
	MinSDK           int      `json:"min_sdk"`
	TargetSDK        int      `json:"target_sdk"`
	CompileSDK       int      `json:"compile_sdk,omitempty"`
	Label            string   `json:"label"`
	ApplicationClass string   `json:"application_class,omitempty"`
	Permissions      []string `json:"permissions"`

	// Owner is the catalogued owner of the package name, if any.
	Owner   *attribute.Summary `json:"app_owner,omitempty"`
	Signers []Signer           `json:"signers"`

	DexFiles           []string    `json:"dex_files"`
	ClassCount         int         `json:"class_count"`
	EmbeddedClassCount int         `json:"embedded_class_count"`
	Nested             []Nested    `json:"nested_code"`
	NativeLibs         []NativeLib `json:"native_libs"`

	SDKs           []SDK                `json:"sdks"`
	DataCategories []rules.DataCategory `json:"data_categories"`
	Endpoints      []Endpoint           `json:"endpoints"`
	// EndpointsTruncated: more hosts than the configured limit.
	EndpointsTruncated bool              `json:"endpoints_truncated,omitempty"`
	Findings           []finding.Finding `json:"findings"`

	// Incomplete lists what of the app was not read (an entry skipped for
	// a limit, a manifest or DEX file that did not parse, the time limit).
	// An app with gaps is of concern and never allowed: see
	// ActionIncomplete.
	Incomplete []Gap `json:"incomplete"`

	// Verdict is the policy's decision, when a policy was given:
	// allow, monitor, due, block, or ActionIncomplete.
	Verdict *AppVerdict `json:"verdict,omitempty"`
	// Concern: the app is of concern. With a policy, its verdict is not
	// allow; without one, an entity of concern owns, signs or is embedded in
	// the app, one of its hosts is catalogued, or it was not fully read.
	Concern bool `json:"concern"`
	// Error is set when the app could not be read at all (or only in part,
	// when the time limit struck); the other fields hold what was read.
	Error string `json:"error,omitempty"`
	Stats Stats  `json:"stats"`
}

// Signer is a signer certificate and, when catalogued, its organisation's
// entity.
type Signer struct {
	extract.Signer
	Attribution *attribute.Summary `json:"attribution,omitempty"`
}

// SDK is an SDK of a catalogued entity found by its package prefix.
type SDK struct {
	// ID is the catalogued package prefix ("com.sina.weibo.sdk.cmd").
	ID      string `json:"id"`
	Product string `json:"product"` // the catalog's name for it
	// ClassCount counts the distinct classes under the prefix in the app's
	// own DEX files (more specific catalogued prefixes included: the count
	// of com.sina.weibo.sdk includes com.sina.weibo.sdk.cmd's classes);
	// EmbeddedClassCount those in code nested in the app.
	ClassCount         int `json:"class_count"`
	EmbeddedClassCount int `json:"embedded_class_count,omitempty"`
	attribute.Summary
	Verdict string `json:"verdict,omitempty"` // the policy's action for this SDK's entity
}

// Endpoint is a host found in the app.
type Endpoint struct {
	Host    string   `json:"host"`
	URLs    []string `json:"urls,omitempty"`
	FoundIn []string `json:"found_in"` // "dex", "resources"
	Where   string   `json:"where"`
	// The attribution, when the host is catalogued.
	*attribute.Summary
	Verdict string `json:"verdict,omitempty"` // what the policy does with the name
}

// Attributed reports whether the endpoint's host is catalogued.
func (e Endpoint) Attributed() bool { return e.Summary != nil }

// Nested is code inside the app.
type Nested = extract.Nested

// NativeLib is one native library looked at (one ABI of each).
type NativeLib struct {
	Entry      string   `json:"entry"`
	ABI        string   `json:"abi,omitempty"`
	Scanned    bool     `json:"scanned"`
	Protectors []string `json:"protectors,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// AppVerdict is the policy's decision for the app: the strictest over its
// owner, its signers and its SDKs.
type AppVerdict struct {
	Action   string `json:"action"` // allow, monitor, due, block, incomplete
	Rule     string `json:"rule,omitempty"`
	Basis    string `json:"basis,omitempty"`
	Deadline string `json:"deadline,omitempty"`
	Because  string `json:"because,omitempty"` // "sdk com.sina.weibo.sdk (sina-weibo)"
}

// Stats are counters of the work done.
type Stats struct {
	Entries         int   `json:"entries"`
	DexBytes        int64 `json:"dex_bytes"`
	StringsMeasured int   `json:"strings_measured"`
	StringsEncoded  int   `json:"strings_encoded"`
	Hosts           int   `json:"hosts"`
	ElapsedMS       int64 `json:"elapsed_ms"`
}

// Document is the JSON output of a run: every app's report.
type Document struct {
	Generated time.Time   `json:"generated"`
	Tool      string      `json:"tool"`
	Catalog   CatalogInfo `json:"catalog"`
	Policy    string      `json:"policy,omitempty"`
	Apps      []*Report   `json:"apps"`
	Summary   Summary     `json:"summary"`
}

// CatalogInfo says which catalog attributed the run.
type CatalogInfo struct {
	Entities       int    `json:"entities"`
	Assets         int    `json:"assets"`
	OwnershipAsOf  string `json:"ownership_as_of"`
	SDKPrefixes    int    `json:"sdk_prefixes"`
	DomainPatterns int    `json:"domains"`
}

// Summary counts the apps of a run. The counts overlap: an app not fully
// read is of concern too, and so is one that could not be read at all.
type Summary struct {
	Apps       int `json:"apps"`
	Concern    int `json:"concern"`
	Incomplete int `json:"incomplete"`
	Errors     int `json:"errors"`
}

// Summarize counts reports.
func Summarize(reps []*Report) Summary {
	s := Summary{Apps: len(reps)}
	for _, r := range reps {
		if r.Concern {
			s.Concern++
		}
		if len(r.Incomplete) > 0 {
			s.Incomplete++
		}
		if r.Error != "" {
			s.Errors++
		}
	}
	return s
}
