//go:build !unix

package notemd

func cpuNanos() int64 { return 0 }
