package chart

import (
	"time"
)

// Point is one value on one day for one series key.
type Point struct {
	Day   time.Time
	Key   string
	Value float64
}

// Key names a series of a daily trend: its key in the Points and the
// label shown.
type Key struct {
	Key, Label string
}

// Daily builds a stacked trend from per-day points: a series for each of
// keys in order (coloured from Colors), then one "other" series for the
// points of any other key, drawn only when it has a value.
//
// The days run over [since, until), in UTC days. When that span is longer
// than maxDays, or unbounded, it is cut to the maxDays ending on the last
// day with a value, and starting no earlier than the first: points are
// never left outside the chart, so a chart is empty only when the points
// are.
func Daily(title string, pts []Point, keys []Key, other string, since, until time.Time, maxDays int, format func(float64) string) Trend {
	const day = 24 * time.Hour
	var first, last time.Time
	for _, p := range pts {
		if p.Value <= 0 {
			continue
		}
		d := p.Day.UTC().Truncate(day)
		if first.IsZero() || d.Before(first) {
			first = d
		}
		if d.After(last) {
			last = d
		}
	}
	lo, hi := first, last
	if !since.IsZero() {
		lo = since.UTC().Truncate(day)
	}
	if !until.IsZero() {
		hi = until.Add(-time.Nanosecond).UTC().Truncate(day)
	}
	if maxDays > 0 && !lo.IsZero() && hi.Sub(lo) >= time.Duration(maxDays)*day {
		if !last.IsZero() {
			hi, lo = last, first
		}
		if hi.Sub(lo) >= time.Duration(maxDays)*day {
			lo = hi.AddDate(0, 0, -(maxDays - 1))
		}
	}
	var days []time.Time
	if !lo.IsZero() || !hi.IsZero() {
		for d := lo; !d.After(hi); d = d.AddDate(0, 0, 1) {
			days = append(days, d)
		}
	}
	idx := make(map[string]int, len(keys))
	series := make([]Series, len(keys)+1)
	for i, k := range keys {
		idx[k.Key] = i
		series[i] = Series{Label: k.Label, Color: Colors[i%len(Colors)], Values: make([]float64, len(days))}
	}
	series[len(keys)] = Series{Label: other, Color: Other, Values: make([]float64, len(days))}
	hasOther := false
	for _, p := range pts {
		if len(days) == 0 || p.Value <= 0 {
			continue
		}
		i := int(p.Day.UTC().Truncate(day).Sub(days[0]) / day)
		if i < 0 || i >= len(days) {
			continue
		}
		k, ok := idx[p.Key]
		if !ok {
			k, hasOther = len(keys), true
		}
		series[k].Values[i] += p.Value
	}
	if !hasOther {
		series = series[:len(keys)]
	}
	return Trend{Title: title, Days: days, Series: series, Format: format}
}
