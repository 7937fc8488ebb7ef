package plaincsv

import (
	"testing"

	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

var sizes = []fleetgen.Fleet{
	{Devices: 1_000, Apps: 200, Mobile: true},
	{Devices: 100_000, Apps: 200, Mobile: true},
}

func BenchmarkParse(b *testing.B) {
	invtest.BenchParse(b, Parser{}, "fleet.csv", sizes, fleetgen.Fleet.PlainCSV)
}

func BenchmarkGenerate(b *testing.B) { invtest.BenchGenerate(b, sizes, fleetgen.Fleet.PlainCSV) }
