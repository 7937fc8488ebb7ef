//go:build linux

// Command cpurun runs a command N times, one after another, and prints the
// median, lowest and highest CPU time (user + system, from the kernel's
// accounting of the child, in milliseconds), peak resident memory and
// wall time. /usr/bin/time prints seconds with two decimals, too coarse
// for commands that take a few milliseconds.
//
//	go run ./bench/startup/cpurun -n 20 -- outflow catalog lookup tiktok.com
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 20, "runs")
	stdout := flag.String("stdout", "", "write the command's standard output to this file (the last run's)")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: cpurun [-n N] -- COMMAND [ARGS]")
		os.Exit(2)
	}
	var cpu, rss, wall []float64
	for range *n {
		c := exec.Command(args[0], args[1:]...)
		var out *os.File
		if *stdout != "" {
			var err error
			if out, err = os.Create(*stdout); err != nil {
				fmt.Fprintln(os.Stderr, "cpurun:", err)
				os.Exit(1)
			}
			c.Stdout = out
		}
		start := time.Now()
		err := c.Run()
		wall = append(wall, float64(time.Since(start).Microseconds())/1e3)
		if out != nil {
			out.Close()
		}
		if err != nil && c.ProcessState == nil {
			// it did not run; a command that ran and exited non-zero
			// (outflow scan's 3: entities of concern found) counts
			fmt.Fprintln(os.Stderr, "cpurun:", err)
			os.Exit(1)
		}
		ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			fmt.Fprintln(os.Stderr, "cpurun: no resource usage on this system")
			os.Exit(1)
		}
		cpu = append(cpu, float64(ru.Utime.Nano()+ru.Stime.Nano())/1e6)
		rss = append(rss, float64(ru.Maxrss)/1024) // KiB on Linux
	}
	sort.Float64s(cpu)
	sort.Float64s(rss)
	sort.Float64s(wall)
	fmt.Printf("cpu ms median %5.1f  min %5.1f  max %5.1f   peak RSS MB median %5.1f  max %5.1f   wall ms median %5.1f  min %5.1f  max %5.1f   (%d runs)\n",
		cpu[len(cpu)/2], cpu[0], cpu[len(cpu)-1], rss[len(rss)/2], rss[len(rss)-1], wall[len(wall)/2], wall[0], wall[len(wall)-1], *n)
}
