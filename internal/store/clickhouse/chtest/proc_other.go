//go:build !unix

package chtest

import "syscall"

// ownGroup: other systems start the server in the test's own group.
func ownGroup() *syscall.SysProcAttr { return nil }
