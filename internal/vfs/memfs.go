package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// ErrCrashed is returned by every operation on a File handle that was open
// when MemFS.Crash (or CrashKeepingSome) ran: the process that owned it is
// considered dead. Reopen the file through the FS.
var ErrCrashed = errors.New("vfs: file handle invalidated by crash")

// Op names a kind of filesystem operation, for fault injection (Fault.Op) and
// counting (MemFS.Ops). The zero Op is invalid.
type Op int

// The operations MemFS counts and can fail.
const (
	// OpWrite is File.Write.
	OpWrite Op = iota + 1
	// OpSync is File.Sync.
	OpSync
	// OpCreate is FS.Create.
	OpCreate
	// OpOpen is FS.Open and FS.OpenAppend.
	OpOpen
	// OpRename is FS.Rename; a fault's PathContains may match either name.
	OpRename
	// OpRemove is FS.Remove.
	OpRemove
	// OpSyncDir is FS.SyncDir.
	OpSyncDir
	// OpTruncate is File.Truncate.
	OpTruncate
	// OpRead is File.ReadAt.
	OpRead
	// OpAllocate is File.Allocate (Allocator).
	OpAllocate
	// OpAdvise is File.DontNeed (Advisor).
	OpAdvise

	numOps // not an Op; the size of the counter array
)

var opNames = [numOps]string{
	OpWrite:    "write",
	OpSync:     "sync",
	OpCreate:   "create",
	OpOpen:     "open",
	OpRename:   "rename",
	OpRemove:   "remove",
	OpSyncDir:  "syncdir",
	OpTruncate: "truncate",
	OpRead:     "read",
	OpAllocate: "allocate",
	OpAdvise:   "advise",
}

// String returns the lower-case name of the operation, such as "sync".
func (o Op) String() string {
	if o > 0 && o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Fault describes an error MemFS injects into matching operations.
//
// An operation matches when its kind equals Op and its cleaned path contains
// PathContains (an empty PathContains matches every path). For File methods
// the path is the one the handle was opened with; for Rename either name may
// match. Matches are counted from the moment the fault is injected.
type Fault struct {
	// Op is the kind of operation to fail. Required.
	Op Op
	// PathContains restricts the fault to paths containing this substring.
	// Default "" (every path).
	PathContains string
	// After is how many matching operations succeed before the fault fires:
	// 0 fails the first matching operation, 2 the third. Default 0.
	After int
	// Err is the error returned (wrapped in an *fs.PathError or
	// *os.LinkError). Default ErrInjected.
	Err error
	// Sticky keeps the fault firing on every later matching operation until
	// ClearFaults. Default false: the fault fires once and is discarded.
	Sticky bool
}

// fault is an injected Fault with its match counter.
type fault struct {
	Fault
	seen  int  // matching operations so far
	spent bool // a non-sticky fault that has fired
}

// MemFS is an in-memory FS for crash and fault tests. It models a POSIX
// filesystem closely enough to catch missing fsyncs:
//
//   - A file's data and its directory entry are separate, as with inodes and
//     directory entries. Each file has current content and durable content;
//     File.Sync (through any handle) copies current to durable. Truncate and
//     Create's truncation of an existing file are content changes, durable
//     only after Sync.
//   - Each directory has current entries and durable entries; Create (of a new
//     name), Remove and Rename change the current entries only, and SyncDir
//     of that directory makes them durable. A Rename between two directories
//     touches both, and each side becomes durable with its own SyncDir: a
//     crash between the two may leave the file under both names or neither.
//   - Directories themselves are simpler: MkdirAll and Remove of an empty
//     directory are durable immediately (a deliberate simplification; the
//     stores create their directories once, at startup). Removing a directory
//     also discards its durable entries. Rename of a directory is not
//     supported. The roots "." and "/" always exist.
//   - Crash simulates power loss: every directory reverts to its durable
//     entries, every file reachable from them reverts to its durable content,
//     files reachable only through unsynced entries vanish, and every open
//     File handle returns ErrCrashed from then on. Faults and counters
//     survive a crash; call ClearFaults before recovery if it should succeed.
//   - As with os, a file removed or renamed over while open stays readable
//     and writable through its open handles.
//   - File handles implement Datasyncer, Allocator and Advisor. Datasync is
//     Sync (counted and failed as OpSync, so a fault on syncs catches both).
//     Allocate records a reservation (see Allocated) and changes nothing
//     else; Truncate releases the reservation past the new size; a crash
//     keeps the reservation (not modelled: it is a hint). DontNeed changes
//     nothing (there is no page cache) but is counted and can be failed.
//
// Divergences from OS: Open of a directory fails (os.Open succeeds); Stat of a
// directory reports size 0; a path through a file (such as "f/x") reports
// not-exist rather than ENOTDIR; a failed (injected) Write writes nothing.
//
// MemFS is safe for concurrent use; one mutex serializes every operation,
// including those on File handles. The zero value is not usable: call
// NewMemFS.
type MemFS struct {
	mu sync.Mutex
	// Guarded by mu.
	dirs   map[string]*memDir // by cleaned path
	faults []*fault
	ops    [numOps]int
	epoch  uint64 // incremented by every crash; handles from older epochs are dead
}

// memDir is one directory. Every field is guarded by MemFS.mu.
type memDir struct {
	files   map[string]*inode // current file entries, by base name
	durable map[string]*inode // file entries as of the last SyncDir
	subdirs map[string]bool   // base names of child directories (always durable)
}

// inode is one file's data. Every field is guarded by MemFS.mu.
type inode struct {
	perm    fs.FileMode // permission bits: FilePerm unless set by CreatePerm; not crash-modelled
	data    []byte      // current content
	durable []byte      // content as of the last Sync; len == cap
	alloc   int         // end of the space reserved by Allocate (0: none)
	// shared reports that data[:len(durable)] may alias durable's backing
	// array, so data must be copied before any byte below len(durable) is
	// modified. Sharing keeps Sync O(1), so syncing after every append of a
	// long log is not quadratic.
	shared bool
}

// NewMemFS returns an empty MemFS holding only the roots "." and "/".
func NewMemFS() *MemFS {
	m := &MemFS{dirs: make(map[string]*memDir)}
	m.dirs["."] = newMemDir()
	m.dirs[string(filepath.Separator)] = newMemDir()
	return m
}

func newMemDir() *memDir {
	return &memDir{
		files:   make(map[string]*inode),
		durable: make(map[string]*inode),
		subdirs: make(map[string]bool),
	}
}

var _ FS = (*MemFS)(nil)

// Inject adds a fault. It panics if f.Op is not a valid Op.
func (m *MemFS) Inject(f Fault) {
	if f.Op <= 0 || f.Op >= numOps {
		panic(fmt.Sprintf("vfs: Inject of invalid %v", f.Op))
	}
	if f.Err == nil {
		f.Err = ErrInjected
	}
	f.After = max(f.After, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = append(m.faults, &fault{Fault: f})
}

// ClearFaults removes every injected fault, sticky or not.
func (m *MemFS) ClearFaults() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = nil
}

// Ops reports how many operations of kind op have been attempted since
// NewMemFS, counting those failed by an injected fault or another error but
// not those on closed or crashed handles.
func (m *MemFS) Ops(op Op) int {
	if op <= 0 || op >= numOps {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops[op]
}

// Crash simulates power loss: all unsynced file content and directory
// entries are lost and open handles are invalidated (see MemFS).
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashLocked(nil, false)
}

// CrashKeepingSome is Crash, except that a file whose current content extends
// its durable content keeps a prefix, of random length drawn from rng (from
// none to all), of the unsynced tail: a torn append that partly reached the
// disk. Files changed in other ways (truncated, overwritten) revert to their
// durable content. What survives becomes the durable content. Files and
// directories are visited in sorted order, so a seeded rng gives reproducible
// results.
func (m *MemFS) CrashKeepingSome(rng *rand.Rand) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashLocked(rng, false)
}

// CrashZeroingSome is CrashKeepingSome, except that of the unsynced tail a
// file keeps (a random length, none to all), only a random prefix holds the
// bytes written and the rest reads as zeros: the file's new size reached
// the disk before all of its data, as when appends into reserved (or
// unwritten) blocks are written back partly. Files and directories are
// visited in sorted order, so a seeded rng gives reproducible results.
func (m *MemFS) CrashZeroingSome(rng *rand.Rand) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashLocked(rng, true)
}

// crashLocked is Crash with rng nil, CrashKeepingSome with zero false, and
// CrashZeroingSome with zero true.
func (m *MemFS) crashLocked(rng *rand.Rand, zero bool) {
	m.epoch++
	done := make(map[*inode]bool)
	for _, dp := range slices.Sorted(maps.Keys(m.dirs)) {
		d := m.dirs[dp]
		for _, name := range slices.Sorted(maps.Keys(d.durable)) {
			ino := d.durable[name]
			if done[ino] {
				continue
			}
			done[ino] = true
			keep := len(ino.durable)
			if rng != nil && len(ino.data) > keep && bytes.HasPrefix(ino.data, ino.durable) {
				synced := keep
				keep += rng.IntN(len(ino.data) - keep + 1)
				ino.data = ino.data[:keep]
				if zero && keep > synced {
					// data[:synced] may alias durable; the bytes after it
					// are the file's own.
					clear(ino.data[synced+rng.IntN(keep-synced+1):])
				}
			} else {
				ino.data = ino.durable
			}
			ino.durable = ino.data[:keep:keep]
			ino.shared = true
		}
		d.files = maps.Clone(d.durable)
	}
}

// faultLocked counts an operation of kind op on the given cleaned paths and
// returns the error of the first injected fault that fires, or nil.
func (m *MemFS) faultLocked(op Op, paths ...string) error {
	m.ops[op]++
	var err error
	for _, f := range m.faults {
		if f.spent || f.Op != op || !matchAny(f.PathContains, paths) {
			continue
		}
		f.seen++
		if f.seen > f.After && err == nil {
			err = f.Err
			f.spent = !f.Sticky
		}
	}
	if err != nil {
		m.faults = slices.DeleteFunc(m.faults, func(f *fault) bool { return f.spent })
	}
	return err
}

func matchAny(sub string, paths []string) bool {
	for _, p := range paths {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

// parentLocked returns the directory holding the cleaned path p.
func (m *MemFS) parentLocked(p string) (*memDir, error) {
	d := m.dirs[filepath.Dir(p)]
	if d == nil {
		return nil, fs.ErrNotExist
	}
	return d, nil
}

// fileLocked returns the inode named by the cleaned path p.
func (m *MemFS) fileLocked(p string) (*inode, error) {
	if m.dirs[p] != nil {
		return nil, syscall.EISDIR
	}
	d, err := m.parentLocked(p)
	if err != nil {
		return nil, err
	}
	ino := d.files[filepath.Base(p)]
	if ino == nil {
		return nil, fs.ErrNotExist
	}
	return ino, nil
}

// Create implements FS. A new file gets permission bits FilePerm.
func (m *MemFS) Create(name string) (File, error) {
	return m.create(name, 0, false)
}

// CreatePerm implements PermFS. The permission bits are kept with the file
// (see Perm) and, a simplification, are durable at once.
func (m *MemFS) CreatePerm(name string, perm fs.FileMode) (File, error) {
	return m.create(name, perm.Perm(), true)
}

var _ PermFS = (*MemFS)(nil)

// Perm returns the permission bits of the file name.
func (m *MemFS) Perm(name string) (fs.FileMode, error) {
	p := filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, err := m.fileLocked(p)
	if err != nil {
		return 0, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return ino.perm, nil
}

// create is Create, setting the permission bits to perm if setPerm.
func (m *MemFS) create(name string, perm fs.FileMode, setPerm bool) (File, error) {
	p := filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.faultLocked(OpCreate, p); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if m.dirs[p] != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	d, err := m.parentLocked(p)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	base := filepath.Base(p)
	ino := d.files[base]
	if ino == nil {
		ino = &inode{perm: FilePerm}
		d.files[base] = ino
	} else {
		ino.truncate(0)
	}
	if setPerm {
		ino.perm = perm
	}
	return m.newFileLocked(ino, name, p, false, false), nil
}

// OpenAppend implements FS.
func (m *MemFS) OpenAppend(name string) (File, error) {
	return m.open(name, false, true)
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) {
	return m.open(name, true, false)
}

func (m *MemFS) open(name string, readOnly, appendOnly bool) (File, error) {
	p := filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.faultLocked(OpOpen, p); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	ino, err := m.fileLocked(p)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return m.newFileLocked(ino, name, p, readOnly, appendOnly), nil
}

func (m *MemFS) newFileLocked(ino *inode, name, p string, readOnly, appendOnly bool) *memFile {
	return &memFile{
		fs:       m,
		ino:      ino,
		name:     name,
		path:     p,
		epoch:    m.epoch,
		readOnly: readOnly,
		append:   appendOnly,
	}
}

// Remove implements FS. Removing an empty directory is supported and durable
// immediately.
func (m *MemFS) Remove(name string) error {
	p := filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.faultLocked(OpRemove, p); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	if dir := m.dirs[p]; dir != nil {
		if len(dir.files) > 0 || len(dir.subdirs) > 0 {
			return &fs.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
		}
		if filepath.Dir(p) == p {
			return &fs.PathError{Op: "remove", Path: name, Err: syscall.EBUSY}
		}
		delete(m.dirs, p)
		delete(m.dirs[filepath.Dir(p)].subdirs, filepath.Base(p))
		return nil
	}
	d, err := m.parentLocked(p)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	base := filepath.Base(p)
	if d.files[base] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.files, base)
	return nil
}

// Rename implements FS. Renaming a directory fails with an error wrapping
// errors.ErrUnsupported.
func (m *MemFS) Rename(oldname, newname string) error {
	op, np := filepath.Clean(oldname), filepath.Clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	fail := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	if err := m.faultLocked(OpRename, op, np); err != nil {
		return fail(err)
	}
	if m.dirs[op] != nil {
		return fail(fmt.Errorf("rename of a directory in MemFS: %w", errors.ErrUnsupported))
	}
	od, err := m.parentLocked(op)
	if err != nil {
		return fail(err)
	}
	ino := od.files[filepath.Base(op)]
	if ino == nil {
		return fail(fs.ErrNotExist)
	}
	if m.dirs[np] != nil {
		return fail(syscall.EISDIR)
	}
	nd, err := m.parentLocked(np)
	if err != nil {
		return fail(err)
	}
	if op == np {
		return nil
	}
	delete(od.files, filepath.Base(op))
	nd.files[filepath.Base(np)] = ino
	return nil
}

// MkdirAll implements FS. New directories are durable immediately.
func (m *MemFS) MkdirAll(dir string) error {
	p := filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	var todo []string // missing directories, deepest first
	for q := p; m.dirs[q] == nil; q = filepath.Dir(q) {
		todo = append(todo, q)
		if filepath.Dir(q) == q {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: fs.ErrNotExist}
		}
	}
	for _, q := range slices.Backward(todo) {
		parent, base := m.dirs[filepath.Dir(q)], filepath.Base(q)
		if parent.files[base] != nil {
			return &fs.PathError{Op: "mkdir", Path: q, Err: syscall.ENOTDIR}
		}
		// The new directory's durable entry replaces any durable (but
		// already removed) file entry of the same name.
		delete(parent.durable, base)
		parent.subdirs[base] = true
		m.dirs[q] = newMemDir()
	}
	return nil
}

// ReadDir implements FS. The list includes files and subdirectories.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	p := filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.dirs[p]
	if d == nil {
		if _, err := m.fileLocked(p); err == nil {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	names := make([]string, 0, len(d.files)+len(d.subdirs))
	names = slices.AppendSeq(names, maps.Keys(d.files))
	names = slices.AppendSeq(names, maps.Keys(d.subdirs))
	slices.Sort(names)
	return names, nil
}

// SyncDir implements FS: the directory's current file entries become its
// durable entries.
func (m *MemFS) SyncDir(dir string) error {
	p := filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.faultLocked(OpSyncDir, p); err != nil {
		return &fs.PathError{Op: "sync", Path: dir, Err: err}
	}
	d := m.dirs[p]
	if d == nil {
		return &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	d.durable = maps.Clone(d.files)
	return nil
}

// Stat implements FS. A directory reports size 0.
func (m *MemFS) Stat(name string) (int64, error) {
	p := filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[p] != nil {
		return 0, nil
	}
	ino, err := m.fileLocked(p)
	if err != nil {
		return 0, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return int64(len(ino.data)), nil
}

// cow copies data before a modification at or above byte lo if that would
// change bytes shared with durable.
func (n *inode) cow(lo int) {
	if n.shared && lo < len(n.durable) {
		n.data = bytes.Clone(n.data)
		n.shared = false
	}
}

// writeAt writes p at off, zero-filling any gap past the end.
func (n *inode) writeAt(p []byte, off int) {
	n.cow(min(off, len(n.data)))
	if end := off + len(p); end > len(n.data) {
		n.data = extend(n.data, end)
	}
	copy(n.data[off:], p)
}

// truncate sets the length, zero-filling when it grows, and releases the
// reservation past it.
func (n *inode) truncate(size int) {
	n.alloc = min(n.alloc, size)
	if size <= len(n.data) {
		n.data = n.data[:size]
		return
	}
	n.cow(len(n.data))
	n.data = extend(n.data, size)
}

// sync makes the current content durable.
func (n *inode) sync() {
	n.durable = n.data[:len(n.data):len(n.data)]
	n.shared = true
}

// extend lengthens b to size with zero bytes.
func extend(b []byte, size int) []byte {
	old := len(b)
	b = slices.Grow(b, size-old)[:size]
	clear(b[old:])
	return b
}

// memFile is a MemFS File handle. Its mutable fields are guarded by fs.mu.
type memFile struct {
	fs       *MemFS
	ino      *inode
	name     string // as passed to open
	path     string // cleaned, for fault matching
	epoch    uint64 // MemFS.epoch at open
	readOnly bool
	append   bool

	// Guarded by fs.mu.
	off    int // next write offset, unless append
	closed bool
}

// checkLocked rejects operations on closed or crashed handles.
func (f *memFile) checkLocked(op string) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	if f.epoch != f.fs.epoch {
		return &fs.PathError{Op: op, Path: f.name, Err: ErrCrashed}
	}
	return nil
}

// Write implements io.Writer. An injected fault writes nothing.
func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("write"); err != nil {
		return 0, err
	}
	if err := f.fs.faultLocked(OpWrite, f.path); err != nil {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: err}
	}
	if f.readOnly {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: syscall.EBADF}
	}
	off := f.off
	if f.append {
		off = len(f.ino.data)
	}
	f.ino.writeAt(p, off)
	f.off = off + len(p)
	return len(p), nil
}

// ReadAt implements io.ReaderAt with os.File semantics: n < len(p) comes
// with io.EOF.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "readat", Path: f.name, Err: errors.New("negative offset")}
	}
	if err := f.fs.faultLocked(OpRead, f.path); err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Close implements io.Closer.
func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// Sync implements File. A failed (injected) Sync makes nothing durable.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("sync"); err != nil {
		return err
	}
	if err := f.fs.faultLocked(OpSync, f.path); err != nil {
		return &fs.PathError{Op: "sync", Path: f.name, Err: err}
	}
	f.ino.sync()
	return nil
}

// Truncate implements File. As with os.File, the write offset of a handle
// from Create does not move.
func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("truncate"); err != nil {
		return err
	}
	if err := f.fs.faultLocked(OpTruncate, f.path); err != nil {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: err}
	}
	if f.readOnly || size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: syscall.EINVAL}
	}
	f.ino.truncate(int(size))
	return nil
}

var (
	_ Datasyncer = (*memFile)(nil)
	_ Allocator  = (*memFile)(nil)
	_ Advisor    = (*memFile)(nil)
)

// Datasync implements Datasyncer: in MemFS it is Sync (the content and its
// length become durable), counted and failed as OpSync.
func (f *memFile) Datasync() error { return f.Sync() }

// Allocate implements Allocator: it records that [off, off+n) is reserved
// (see MemFS.Allocated) and changes neither the size nor the content.
func (f *memFile) Allocate(off, n int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("fallocate"); err != nil {
		return err
	}
	if err := f.fs.faultLocked(OpAllocate, f.path); err != nil {
		return &fs.PathError{Op: "fallocate", Path: f.name, Err: err}
	}
	if f.readOnly {
		return &fs.PathError{Op: "fallocate", Path: f.name, Err: syscall.EBADF}
	}
	if off < 0 || n <= 0 {
		return &fs.PathError{Op: "fallocate", Path: f.name, Err: syscall.EINVAL}
	}
	f.ino.alloc = max(f.ino.alloc, int(off+n))
	return nil
}

// DontNeed implements Advisor. MemFS has no page cache: it only checks its
// arguments and counts (and may fail) an OpAdvise.
func (f *memFile) DontNeed(off, n int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("fadvise"); err != nil {
		return err
	}
	if err := f.fs.faultLocked(OpAdvise, f.path); err != nil {
		return &fs.PathError{Op: "fadvise", Path: f.name, Err: err}
	}
	if off < 0 || n < 0 {
		return &fs.PathError{Op: "fadvise", Path: f.name, Err: syscall.EINVAL}
	}
	return nil
}

// Allocated reports the disk space the file name takes: its size, or the
// end of the space reserved by Allocate if that is larger.
func (m *MemFS) Allocated(name string) (int64, error) {
	p := filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, err := m.fileLocked(p)
	if err != nil {
		return 0, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return int64(max(len(ino.data), ino.alloc)), nil
}

// Size implements File.
func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("stat"); err != nil {
		return 0, err
	}
	return int64(len(f.ino.data)), nil
}

// Name implements File.
func (f *memFile) Name() string { return f.name }
