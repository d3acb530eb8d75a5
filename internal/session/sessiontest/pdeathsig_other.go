//go:build !linux

package sessiontest

import "syscall"

// setParentDeathSignal is Linux-only; elsewhere t.Cleanup alone stops the servers.
func setParentDeathSignal(*syscall.SysProcAttr) {}
