//go:build linux && !(amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package vfs

import "syscall"

// fadvise is not wired on 32-bit ports, whose kernels split the 64-bit
// arguments differently per architecture: dropping cached pages is only a
// hint.
func fadvise(fd int, off, n int64, advice int) error { return syscall.ENOSYS }
