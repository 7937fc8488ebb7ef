package clickhouse

// MigrateUpTo makes stores opened until the returned func is called
// stop at schema version v, as an older build left them.
func MigrateUpTo(v int) (restore func()) {
	upTo = v
	return func() { upTo = schemaVersion }
}

// SetPartRows makes a table's concurrent inserts at least n rows each
// until the returned func is called.
func SetPartRows(n int) (restore func()) {
	old := partRows
	partRows = n
	return func() { partRows = old }
}
