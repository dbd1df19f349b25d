package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrDataDirInUse means another process holds the data directory.
var ErrDataDirInUse = errors.New("data directory in use")

// dirLock is an exclusive, advisory lock on a data directory: the file
// <dir>/rheos.lock, flock'ed for the life of the process and holding its
// pid, so a second server on the same directory is refused at once with the
// holder's pid (the kernel drops the lock when the holder dies, however it
// dies).
type dirLock struct{ f *os.File }

// lockDataDir takes the lock or says who holds it.
func lockDataDir(dir string) (*dirLock, error) {
	name := filepath.Join(dir, "rheos.lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if b, rerr := os.ReadFile(name); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
					holder = "another process (pid " + strconv.Itoa(pid) + ")"
				}
			}
			return nil, fmt.Errorf("%w: %s is used by %s; stop it, or give this server another --data-dir", ErrDataDirInUse, dir, holder)
		}
		return nil, fmt.Errorf("locking data directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// unlock releases the lock (closing the file drops the flock).
func (l *dirLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	return l.f.Close()
}
