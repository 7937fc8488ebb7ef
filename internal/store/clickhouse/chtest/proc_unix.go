//go:build unix

package chtest

import "syscall"

// ownGroup starts the server in a process group of its own, so that a
// terminal's Ctrl-C reaches the test, which stops the server itself.
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
