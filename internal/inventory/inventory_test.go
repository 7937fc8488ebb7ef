package inventory

import (
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizePlatform(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"iOS", IOS},
		{"iPadOS", IPadOS},
		{"iPad", IPadOS},
		{"iPhone OS", IOS},
		{"AndroidForWork", Android},
		{"Android Enterprise", Android},
		{"macOS", MacOS},
		{"Mac OS X 10.15.7", MacOS},
		{"darwin", MacOS},
		{"Windows", Windows},
		{"Windows 10 Enterprise", Windows},
		{"Ubuntu", Linux},
		{"linux", Linux},
		{"Chrome", Chrome},
		{"firefox", Firefox},
		{"  ", ""},
		{"tvOS", "tvos"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := NormalizePlatform(tc.in); got != tc.want {
				t.Errorf("NormalizePlatform(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDefaultKind(t *testing.T) {
	for p, want := range map[string]string{
		Android: KindApp, IOS: KindApp, MacOS: KindApp, Windows: KindProgram,
		Linux: KindPackage, Chrome: KindExtension, Firefox: KindExtension, "": KindApp,
	} {
		if got := DefaultKind(p); got != want {
			t.Errorf("DefaultKind(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestInterner(t *testing.T) {
	in := NewInterner(2)
	a := in.Bytes([]byte("com.zhiliaoapp.musically"))
	b := in.Bytes([]byte("com.zhiliaoapp.musically"))
	if a != "com.zhiliaoapp.musically" || unsafePtr(a) != unsafePtr(b) {
		t.Errorf("equal values not shared: %q %q", a, b)
	}
	in.Bytes([]byte("two"))
	in.Bytes([]byte("three")) // over the bound: copied, not kept
	if in.Len() != 2 {
		t.Errorf("Len = %d, want 2 (bound)", in.Len())
	}
	if got := in.Bytes([]byte("three")); got != "three" {
		t.Errorf("over-bound value = %q", got)
	}
	if got := in.Source("apps.log", 1234); got != "apps.log:1234" {
		t.Errorf("Source = %q", got)
	}
	long := make([]byte, arenaMax+10)
	for i := range long {
		long[i] = 'x'
	}
	if got := in.Copy(long); got != string(long) {
		t.Error("long copy differs")
	}
	// Values handed out must survive later arena use and Reset.
	kept := make([]string, 0, 5000)
	for i := range 5000 {
		kept = append(kept, in.Source("f", i))
	}
	in.Reset()
	for i, s := range kept {
		if want := fmt.Sprintf("f:%d", i); s != want {
			t.Fatalf("kept[%d] = %q, want %q", i, s, want)
		}
	}
	if in.Bytes(nil) != "" || in.String("") != "" || in.Copy(nil) != "" {
		t.Error("empty input must give empty string")
	}
}

func unsafePtr(s string) *byte { return unsafe.StringData(s) }

func TestInternerShares(t *testing.T) {
	in := NewInterner(0)
	a := in.Bytes([]byte("abc"))
	allocs := testing.AllocsPerRun(100, func() {
		if in.Bytes([]byte("abc")) != a {
			t.Fatal("changed")
		}
	})
	if allocs != 0 {
		t.Errorf("interned lookup allocates %.1f times", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() { in.Source("inventory.csv", 123456) })
	if allocs > 0.01 {
		t.Errorf("Source allocates %.3f times per call", allocs)
	}
}

func TestHeaderLineAndMeta(t *testing.T) {
	var m Meta
	for _, line := range []string{
		"# device: R58M123ABC",
		"#owner:alice@example.com",
		"# platform: Android",
		"# tags: sales, byod;emea",
		"# seen: 2025-06-01T09:30:00Z",
		"# note: ignored key",
		"# just a comment",
		"not a header: x",
	} {
		k, v, ok := HeaderLine([]byte(line))
		if !ok {
			continue
		}
		if err := m.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	want := Meta{
		Device: "R58M123ABC", Owner: "alice@example.com", Platform: Android,
		Tags: []string{"sales", "byod", "emea"}, Seen: time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC),
	}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("Meta (-want +got):\n%s", d)
	}
	if err := m.Set("seen", "yesterday"); err == nil {
		t.Error("bad seen accepted")
	}
}

func TestDeviceFromName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"exports/R58M123ABC.txt", "R58M123ABC"},
		{"192.168.1.20:5555.txt", "192.168.1.20:5555"},
		{"emulator-5554", "emulator-5554"},
		{"pixel.dumpsys.txt", "pixel.dumpsys"},
		{"host1.json.gz", "host1"},
		{"-", ""},
		{"", ""},
	} {
		if got := DeviceFromName(tc.in); got != tc.want {
			t.Errorf("DeviceFromName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 3, 1, 10, 22, 33, 0, time.UTC)
	for _, s := range []string{"2024-03-01T10:22:33Z", "2024-03-01 10:22:33", "1709288553", "2024-03-01T11:22:33+01:00"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseTime("March"); err == nil {
		t.Error("bad time accepted")
	}
	if got, err := ParseTime(""); err != nil || !got.IsZero() {
		t.Errorf("empty time = %v, %v", got, err)
	}
}

func TestParseError(t *testing.T) {
	inner := errors.New("bad field")
	err := error(&ParseError{Format: FormatPlainCSV, File: "inv.csv", Line: 7, Err: inner})
	if got, want := err.Error(), "inventory: csv: inv.csv:7: bad field"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, inner) {
		t.Error("Unwrap lost the cause")
	}
}

func TestInternerCaches(t *testing.T) {
	in := NewInterner(0)
	if got := in.Platform([]byte("Windows 10 Pro")); got != Windows {
		t.Errorf("Platform = %q", got)
	}
	if got := in.Platform(nil); got != "" {
		t.Errorf("Platform(nil) = %q", got)
	}
	a := in.Tags([]byte("sales; emea"))
	b := in.Tags([]byte("sales; emea"))
	if !cmp.Equal(a, []string{"sales", "emea"}) || &a[0] != &b[0] {
		t.Errorf("Tags = %q / not shared", a)
	}
	if in.Tags(nil) != nil {
		t.Error("Tags(nil) not nil")
	}
	prev := in.Bytes([]byte("LAPTOP-1"))
	if got := in.Same(prev, []byte("LAPTOP-1")); unsafe.StringData(got) != unsafe.StringData(prev) {
		t.Error("Same did not return prev")
	}
	if got := in.Same(prev, []byte("LAPTOP-2")); got != "LAPTOP-2" {
		t.Errorf("Same = %q", got)
	}
	allocs := testing.AllocsPerRun(100, func() {
		in.Platform([]byte("Windows 10 Pro"))
		in.Tags([]byte("sales; emea"))
		in.Same(prev, []byte("LAPTOP-1"))
	})
	if allocs != 0 {
		t.Errorf("cached lookups allocate %.1f times", allocs)
	}
}
