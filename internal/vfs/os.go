package vfs

import (
	"io/fs"
	"os"
	"sort"
)

// OS is the real filesystem. On Linux its files also implement Datasyncer,
// Allocator and Advisor (os_linux.go); elsewhere Datasync falls back to Sync
// and Allocate and DontNeed report errors.ErrUnsupported.
type OS struct{}

type osFile struct{ *os.File }

func (f osFile) Sync() error { return f.File.Sync() }
func (f osFile) Size() (int64, error) {
	st, err := f.File.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// Create implements FS. A new file is private to its owner (0600).
func (OS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, FilePerm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// CreatePerm implements PermFS: the mode is set explicitly after opening,
// so the umask and an existing file's mode do not change it.
func (OS) CreatePerm(name string, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return nil, err
	}
	return osFile{f}, nil
}

var _ PermFS = OS{}

// OpenAppend implements FS.
func (OS) OpenAppend(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_APPEND, FilePerm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Open implements FS.
func (OS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// Rename implements FS.
func (OS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// MkdirAll implements FS. New directories are private to their owner
// (0700); existing ones keep their mode.
func (OS) MkdirAll(dir string) error { return os.MkdirAll(dir, DirPerm) }

// ReadDir implements FS.
func (OS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// SyncDir implements FS.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Stat implements FS.
func (OS) Stat(name string) (int64, error) {
	st, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
