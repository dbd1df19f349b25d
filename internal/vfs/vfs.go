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
	"io"
	"os"
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

// FS is the filesystem interface. Paths use the host separator; callers join
// them with path/filepath.
type FS interface {
	// Create creates or truncates a file for writing (and reading).
	Create(name string) (File, error)
	// OpenAppend opens an existing file for appending; writes go to the end.
	OpenAppend(name string) (File, error)
	// Open opens a file read-only.
	Open(name string) (File, error)
	// Remove deletes a file. The removal is durable after SyncDir of its directory.
	Remove(name string) error
	// Rename atomically replaces newname with oldname. Durable after SyncDir.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its parents.
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
