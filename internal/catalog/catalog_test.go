package catalog

import "time"

var testNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
