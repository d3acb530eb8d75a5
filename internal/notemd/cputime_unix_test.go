//go:build unix

package notemd

import "syscall"

// cpuNanos is the CPU time the process has used (user and system, all threads, the garbage
// collector's included), for benchmarks on a shared machine, where wall time mostly measures
// the neighbours.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
