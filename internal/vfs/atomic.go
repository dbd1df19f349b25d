package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
)

// PermFS is implemented by a filesystem that can create a file with given
// permission bits. OS and MemFS implement it; WriteFileAtomicPerm requires it.
type PermFS interface {
	FS
	// CreatePerm is Create, except that the file's permission bits are
	// perm afterwards, whether the file is new or existed (so neither the
	// umask nor an older file's mode can widen them).
	CreatePerm(name string, perm fs.FileMode) (File, error)
}

// ErrPermUnsupported is returned by WriteFileAtomicPerm when the filesystem
// does not implement PermFS: the file is not written rather than written with
// other permissions than asked.
var ErrPermUnsupported = errors.New("vfs: filesystem cannot set permission bits")

// TempSuffix is appended to a file's name to form the temporary file that
// WriteFileAtomic writes before renaming it into place. A file with this
// suffix found at startup is a write a crash interrupted; its target is
// intact, and the temporary may be removed.
const TempSuffix = ".tmp"

// WriteFileAtomic replaces name with data so that, after a crash at any
// point, name holds either its previous content (or is absent, if it was) or
// all of data, never a mix; once it returns nil the new content survives
// power loss. It writes name+TempSuffix in the same directory, syncs and
// closes it, renames it over name and syncs the directory. A new file gets
// the FS's default permissions (FilePerm, 0600).
//
// Callers serialize writes to the same name: two concurrent calls share the
// temporary file, which is removed first if a crash left it behind. On error the temporary file is removed (best effort) and
// name is unchanged unless the error came from the final directory sync, in
// which case name may hold either content until the next successful sync.
func WriteFileAtomic(fsys FS, name string, data []byte) error {
	return writeFileAtomic(fsys, name, data, fsys.Create)
}

// WriteFileAtomicPerm is WriteFileAtomic with the file's permission bits set
// to perm (0600 for secrets). It fails with ErrPermUnsupported, writing
// nothing, if fsys does not implement PermFS.
func WriteFileAtomicPerm(fsys FS, name string, data []byte, perm fs.FileMode) error {
	pfs, ok := fsys.(PermFS)
	if !ok {
		return fmt.Errorf("write %s: %w", name, ErrPermUnsupported)
	}
	return writeFileAtomic(fsys, name, data, func(tmp string) (File, error) { return pfs.CreatePerm(tmp, perm) })
}

func writeFileAtomic(fsys FS, name string, data []byte, create func(string) (File, error)) error {
	tmp := name + TempSuffix
	// A temporary file left by a crash is removed first, so the one written
	// now is new: another process holding the old one open cannot read what
	// is written next, and a new file gets the permissions asked for.
	if err := fsys.Remove(tmp); err != nil && !IsNotExist(err) {
		return err
	}
	f, err := create(tmp)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		fsys.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		fsys.Remove(tmp)
		return err
	}
	if err := fsys.Rename(tmp, name); err != nil {
		fsys.Remove(tmp)
		return err
	}
	return fsys.SyncDir(filepath.Dir(name))
}

// ReadFile returns the whole content of name.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if n == 0 {
		return buf, nil
	}
	m, err := f.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(m) == n) {
		return nil, err
	}
	return buf, nil
}
