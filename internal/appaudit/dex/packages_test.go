package dex

import (
	"slices"
	"testing"
)

func TestPackageOfAndPrefix(t *testing.T) {
	tests := []struct {
		desc    string
		pkg     string
		depth   int
		prefix  string
		isClass bool
	}{
		{"Lcom/tencent/bugly/crashreport/A;", "Lcom/tencent/bugly/crashreport/", 2, "Lcom/tencent/", true},
		{"Lcom/tencent/bugly/crashreport/A;", "Lcom/tencent/bugly/crashreport/", 0, "Lcom/tencent/bugly/crashreport/", true},
		{"Lcom/tencent/A;", "Lcom/tencent/", 5, "Lcom/tencent/", true},
		{"La/b;", "La/", 1, "La/", true},
		{"LTop;", "L", 2, "L", true},
		{"I", "", 1, "", false},
		{"[Lcom/foo/Bar;", "", 1, "", false},
		{"L;", "", 1, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p := PackageOf([]byte(tc.desc))
			if (p != nil) != tc.isClass || string(p) != tc.pkg {
				t.Errorf("PackageOf = %q, want %q", p, tc.pkg)
			}
			if got := PackagePrefix([]byte(tc.desc), tc.depth); string(got) != tc.prefix {
				t.Errorf("PackagePrefix(%d) = %q, want %q", tc.depth, got, tc.prefix)
			}
		})
	}
}

func TestPrefixCounter(t *testing.T) {
	prefixes := []string{"Lcom/tencent/", "Lcom/tencent/bugly/", "Lcom/stub/StubApp", "Lcom/", "", "Lcom/tencent/"}
	pc := NewPrefixCounter(prefixes)
	for _, d := range []string{
		"Lcom/tencent/bugly/Bugly;",
		"Lcom/tencent/mm/opensdk/A;",
		"Lcom/stub/StubApp;",
		"Lcom/stub/StubApp$1;",
		"Lcom/stubborn/X;",
		"Lorg/other/Y;",
		"Lcom/tencen;",
	} {
		pc.Add([]byte(d))
	}
	want := []int{2, 1, 2, 6, 7, 2}
	if got := pc.Counts(); !slices.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

func TestPackageCountsAndClassSet(t *testing.T) {
	a, err := Parse(mustBuild(t, Spec{Classes: []string{"Lcom/tencent/bugly/A;", "Lcom/tencent/mm/B;", "Lcom/x/C;", "LTop;"}}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(mustBuild(t, Spec{Classes: []string{"Lcom/tencent/bugly/A;", "Lorg/D;"}}))
	if err != nil {
		t.Fatal(err)
	}
	counts := PackageCounts(nil, 2, a, b)
	want := map[string]int{"Lcom/tencent/": 3, "Lcom/x/": 1, "L": 1, "Lorg/": 1}
	if len(counts) != len(want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("counts[%q] = %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}

	set := NewClassSet()
	set.AddFile(a)
	set.AddFile(b)
	if set.Len() != 5 || set.Duplicates != 1 {
		t.Errorf("set: %d classes, %d duplicates; want 5 and 1", set.Len(), set.Duplicates)
	}
	if !set.Has("Lorg/D;") || set.Has("Lorg/E;") {
		t.Error("Has is wrong")
	}
	if got := set.Sorted(); !slices.IsSorted(got) || len(got) != 5 {
		t.Errorf("Sorted = %q", got)
	}
}

func TestMultidexOrder(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		loaded  []string
		skipped []string
	}{
		{"single", []string{"AndroidManifest.xml", "classes.dex"}, []string{"classes.dex"}, nil},
		{"ordered by number not name", []string{"classes10.dex", "classes2.dex", "classes.dex", "classes3.dex", "classes4.dex", "classes5.dex", "classes6.dex", "classes7.dex", "classes8.dex", "classes9.dex"},
			[]string{"classes.dex", "classes2.dex", "classes3.dex", "classes4.dex", "classes5.dex", "classes6.dex", "classes7.dex", "classes8.dex", "classes9.dex", "classes10.dex"}, nil},
		{"gap", []string{"classes.dex", "classes2.dex", "classes4.dex"}, []string{"classes.dex", "classes2.dex"}, []string{"classes4.dex"}},
		{"odd names", []string{"classes.dex", "classes1.dex", "classes02.dex", "classesX.dex", "assets/classes2.dex", "lib/x.dex"},
			[]string{"classes.dex"}, []string{"classes02.dex", "classes1.dex", "classesX.dex"}},
		{"no classes.dex", []string{"classes2.dex"}, nil, []string{"classes2.dex"}},
		{"duplicate entry", []string{"classes.dex", "classes.dex"}, []string{"classes.dex"}, []string{"classes.dex"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loaded, skipped := MultidexOrder(tc.in)
			if !slices.Equal(loaded, tc.loaded) || !slices.Equal(skipped, tc.skipped) {
				t.Errorf("MultidexOrder = %q, %q; want %q, %q", loaded, skipped, tc.loaded, tc.skipped)
			}
		})
	}
	for name, want := range map[string]int{"classes.dex": 1, "classes2.dex": 2, "classes10.dex": 10} {
		if n, ok := DexEntryIndex(name); !ok || n != want {
			t.Errorf("DexEntryIndex(%q) = %d, %v", name, n, ok)
		}
	}
	for _, name := range []string{"classes1.dex", "classes02.dex", "classes.dex.bak", "classes-2.dex", "classes99999999999.dex"} {
		if _, ok := DexEntryIndex(name); ok {
			t.Errorf("DexEntryIndex(%q) accepted", name)
		}
	}
}
