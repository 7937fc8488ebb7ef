//go:build !unix

package sqlite

import "os"

// writerLock: without flock, every writer takes itself for the only one
// (one writing process per store file on these systems).
func writerLock(string) (*os.File, bool, error) { return nil, true, nil }
