//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The child's resource usage is read the Linux way (peak RSS in KiB).
func main() {
	fmt.Fprintln(os.Stderr, "cpurun: Linux only")
	os.Exit(1)
}
