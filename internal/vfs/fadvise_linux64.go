//go:build linux && (amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package vfs

import "syscall"

// fadvise calls posix_fadvise(2); on these 64-bit ports the kernel takes
// each argument in one register.
func fadvise(fd int, off, n int64, advice int) error {
	_, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, uintptr(fd), uintptr(off), uintptr(n), uintptr(advice), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
