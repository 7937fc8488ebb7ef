package dex

import (
	"sort"
	"strconv"
	"strings"
)

// DexEntryIndex reports whether an APK entry name is a top-level
// "classesN.dex" and its load position: 1 for classes.dex, N for classesN.dex
// (N >= 2, written without leading zeros). Names such as classes1.dex,
// classes02.dex or lib/classes2.dex are not loaded by the runtime and give
// false.
func DexEntryIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "classes")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, ".dex")
	if !ok {
		return 0, false
	}
	if digits == "" {
		return 1, true
	}
	if digits[0] < '1' || digits[0] > '9' || len(digits) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 2 {
		return 0, false
	}
	return n, true
}

// MultidexOrder sorts APK entry names into the DEX files the runtime loads,
// in load order (classes.dex, classes2.dex, classes3.dex... up to the first
// gap), and the other names that look like DEX files at the top level
// (matching classes*.dex, the pattern androguard lists) but that the runtime
// skips: classes1.dex, classes02.dex, or classes4.dex when classes3.dex is
// missing. Hiding code in a skipped name, to show it to analysers but not
// run it or the reverse, is itself a signal. Other names are ignored.
func MultidexOrder(names []string) (loaded, skipped []string) {
	byIndex := make(map[int]string)
	for _, n := range names {
		if strings.Contains(n, "/") || !strings.HasPrefix(n, "classes") || !strings.HasSuffix(n, ".dex") {
			continue
		}
		i, ok := DexEntryIndex(n)
		if !ok {
			skipped = append(skipped, n)
			continue
		}
		if _, dup := byIndex[i]; dup {
			skipped = append(skipped, n) // a zip may hold a name twice
			continue
		}
		byIndex[i] = n
	}
	for i := 1; ; i++ {
		n, ok := byIndex[i]
		if !ok {
			break
		}
		loaded = append(loaded, n)
		delete(byIndex, i)
	}
	for _, n := range byIndex {
		skipped = append(skipped, n)
	}
	sort.Slice(skipped, func(a, b int) bool {
		ia, _ := DexEntryIndex(skipped[a])
		ib, _ := DexEntryIndex(skipped[b])
		if ia != ib {
			return ia < ib
		}
		return skipped[a] < skipped[b]
	})
	return loaded, skipped
}
