// Package vfs owns the filesystem seam of Rheos: every byte the durable
// stores (streamlog, and anything else that must survive a crash) read or
// write goes through the FS interface declared here.
//
// Implementations:
//   - OS: the real filesystem (os package), used in production.
//   - MemFS: an in-memory filesystem that tracks which bytes were synced, so a
//     test can simulate power loss (Crash drops every unsynced write, every
//     unsynced directory entry) and inject faults by operation, path and count.
//
// Files may offer more than File: Datasyncer (fdatasync), Allocator
// (reserve disk blocks ahead of appends) and Advisor (drop cached pages).
// Callers reach them through Datasync, Allocate and DontNeed, which fall back
// to Sync or to doing nothing when a file lacks them, so every FS keeps
// working. OS implements all three on Linux; MemFS implements them too, with
// Datasync as durable as Sync, so crash tests see the same guarantees.
//
// Helpers over any FS: WriteFileAtomic (and WriteFileAtomicPerm, for secrets)
// replace a small file so that a crash leaves the old or the new content,
// never a mix, and the new content is durable once it returns; ReadFile reads
// a whole file. Both implementations also offer PermFS (CreatePerm).
//
// The package must not know about records, streams or AWS. It imports only the
// standard library.
package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// FilePerm and DirPerm are the permission bits of the files and
// directories an FS creates: private to the user running the server, since
// they hold other people's records (not every stream is encrypted).
const (
	FilePerm fs.FileMode = 0o600
	DirPerm  fs.FileMode = 0o700
)

// File is an open file. Implementations are safe for use by one goroutine at a
// time per method family: concurrent ReadAt calls are allowed alongside one
// writer, as with *os.File.
type File interface {
	io.Writer
	io.ReaderAt
	io.Closer
	// Sync makes every byte written so far durable (fdatasync semantics).
	Sync() error
	// Truncate cuts the file to size bytes. The new size is durable only after Sync.
	Truncate(size int64) error
	// Size returns the current length of the file.
	Size() (int64, error)
	// Name returns the path the file was opened with.
	Name() string
}

// Datasyncer is implemented by files that can make their data durable
// without the metadata that reading it back does not need (fdatasync(2):
// timestamps are skipped, a changed size is not). Datasync is as durable as
// Sync for the file's content and length.
type Datasyncer interface {
	Datasync() error
}

// Allocator is implemented by files that can reserve disk space ahead of
// writes. Allocate reserves the blocks of [off, off+n) without changing the
// file's size or content (fallocate(2) with FALLOC_FL_KEEP_SIZE): appends
// into the reserved range then need no block allocation when they are
// written back. Truncate to the current size releases what lies past the
// end (ext4, xfs). The reservation is a hint: it may be lost in a crash
// and changes nothing a reader sees.
type Allocator interface {
	Allocate(off, n int64) error
}

// Advisor is implemented by files whose cached pages can be dropped.
// DontNeed tells the kernel that the bytes of [off, off+n) (n == 0: to the
// end of the file) will not be read soon (posix_fadvise(2) with
// POSIX_FADV_DONTNEED): clean cached pages of the range are freed, dirty
// ones are left to writeback. It changes nothing a reader sees, only what a
// later read costs.
type Advisor interface {
	DontNeed(off, n int64) error
}

// Datasync makes f's content durable: f.Datasync if f is a Datasyncer,
// otherwise f.Sync.
func Datasync(f File) error {
	if d, ok := f.(Datasyncer); ok {
		return d.Datasync()
	}
	return f.Sync()
}

// Allocate reserves [off, off+n) of f's disk space if f is an Allocator
// (see Allocator); otherwise it returns an error wrapping
// errors.ErrUnsupported. Callers treat any error as "not reserved".
func Allocate(f File, off, n int64) error {
	if a, ok := f.(Allocator); ok {
		return a.Allocate(off, n)
	}
	return fmt.Errorf("allocate %s: %w", f.Name(), errors.ErrUnsupported)
}

// DontNeed drops f's cached pages of [off, off+n) if f is an Advisor (see
// Advisor); otherwise it returns an error wrapping errors.ErrUnsupported.
func DontNeed(f File, off, n int64) error {
	if a, ok := f.(Advisor); ok {
		return a.DontNeed(off, n)
	}
	return fmt.Errorf("fadvise %s: %w", f.Name(), errors.ErrUnsupported)
}

// FS is the filesystem interface. Paths use the host separator; callers join
// them with path/filepath.
type FS interface {
	// Create creates (with FilePerm) or truncates a file for writing (and
	// reading).
	Create(name string) (File, error)
	// OpenAppend opens an existing file for appending; writes go to the end.
	OpenAppend(name string) (File, error)
	// Open opens a file read-only.
	Open(name string) (File, error)
	// Remove deletes a file. The removal is durable after SyncDir of its directory.
	Remove(name string) error
	// Rename atomically replaces newname with oldname. Durable after SyncDir.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its parents (with DirPerm).
	MkdirAll(dir string) error
	// ReadDir lists the names (not paths) of the entries in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// SyncDir makes the directory's entries (creates, removes, renames) durable.
	SyncDir(dir string) error
	// Stat reports the size of a file, or an error wrapping fs.ErrNotExist.
	Stat(name string) (int64, error)
}

// ErrInjected is the error returned by an injected fault.
var ErrInjected = errors.New("vfs: injected fault")

// IsNotExist reports whether err means a missing file.
func IsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
