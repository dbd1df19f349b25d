//go:build linux

package vfs

import (
	"io/fs"
	"syscall"
)

// fallocKeepSize is FALLOC_FL_KEEP_SIZE (linux/falloc.h).
const fallocKeepSize = 0x1

// fadvDontNeed is POSIX_FADV_DONTNEED (linux/fadvise.h).
const fadvDontNeed = 4

var (
	_ Datasyncer = osFile{}
	_ Allocator  = osFile{}
	_ Advisor    = osFile{}
)

// Datasync implements Datasyncer with fdatasync(2).
func (f osFile) Datasync() error {
	return f.control("fdatasync", func(fd int) error { return syscall.Fdatasync(fd) })
}

// Allocate implements Allocator with fallocate(2) and FALLOC_FL_KEEP_SIZE.
func (f osFile) Allocate(off, n int64) error {
	return f.control("fallocate", func(fd int) error { return syscall.Fallocate(fd, fallocKeepSize, off, n) })
}

// DontNeed implements Advisor with posix_fadvise(2) and POSIX_FADV_DONTNEED.
func (f osFile) DontNeed(off, n int64) error {
	return f.control("fadvise", func(fd int) error { return fadvise(fd, off, n, fadvDontNeed) })
}

// control runs call on the file's descriptor (which stays open meanwhile,
// even if another goroutine closes the file), retrying on EINTR, and wraps
// its error in an *fs.PathError.
func (f osFile) control(op string, call func(fd int) error) error {
	rc, err := f.File.SyscallConn()
	if err != nil {
		return err
	}
	var callErr error
	if err := rc.Control(func(fd uintptr) {
		for {
			callErr = call(int(fd))
			if callErr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: err}
	}
	if callErr != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: callErr}
	}
	return nil
}
