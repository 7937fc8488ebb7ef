package osquery

import (
	"testing"

	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

var sizes = []fleetgen.Fleet{
	{Devices: 1_000, Apps: 200},
	{Devices: 100_000, Apps: 200},
}

func BenchmarkParse(b *testing.B) {
	invtest.BenchParse(b, Parser{}, "osqueryd.results.log", sizes, fleetgen.Fleet.OsqueryLog)
}

func BenchmarkGenerate(b *testing.B) { invtest.BenchGenerate(b, sizes, fleetgen.Fleet.OsqueryLog) }
