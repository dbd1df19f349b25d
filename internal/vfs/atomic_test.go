package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// errDied is what dyingFS returns once its process has died.
var errDied = errors.New("process died")

// dyingFS is a MemFS whose process dies (MemFS.Crash, or CrashKeepingSome
// with rng) just before its n-th mutating operation (Create, Remove, Rename,
// SyncDir, and Write, Sync, Close on its files): that operation and every
// later one fail with errDied and do nothing.
type dyingFS struct {
	*MemFS
	n    int
	rng  *rand.Rand // nil: Crash
	dead bool
}

func (d *dyingFS) step() error {
	if d.dead {
		return errDied
	}
	if d.n--; d.n == 0 {
		if d.rng != nil {
			d.MemFS.CrashKeepingSome(d.rng)
		} else {
			d.MemFS.Crash()
		}
		d.dead = true
		return errDied
	}
	return nil
}

func (d *dyingFS) Create(name string) (File, error) {
	if err := d.step(); err != nil {
		return nil, err
	}
	f, err := d.MemFS.Create(name)
	return dyingFile{f, d}, err
}

func (d *dyingFS) CreatePerm(name string, perm fs.FileMode) (File, error) {
	if err := d.step(); err != nil {
		return nil, err
	}
	f, err := d.MemFS.CreatePerm(name, perm)
	return dyingFile{f, d}, err
}

func (d *dyingFS) Remove(name string) error {
	if err := d.step(); err != nil {
		return err
	}
	return d.MemFS.Remove(name)
}

func (d *dyingFS) Rename(o, n string) error {
	if err := d.step(); err != nil {
		return err
	}
	return d.MemFS.Rename(o, n)
}

func (d *dyingFS) SyncDir(dir string) error {
	if err := d.step(); err != nil {
		return err
	}
	return d.MemFS.SyncDir(dir)
}

type dyingFile struct {
	File
	d *dyingFS
}

func (f dyingFile) Write(p []byte) (int, error) {
	if err := f.d.step(); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f dyingFile) Sync() error {
	if err := f.d.step(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f dyingFile) Close() error {
	if err := f.d.step(); err != nil {
		return err
	}
	return f.File.Close()
}

// onlyFS hides every method but FS's.
type onlyFS struct{ FS }

func newAtomicFS(t *testing.T) (*MemFS, string) {
	m := NewMemFS()
	dir := filepath.Join("/", "data")
	mustOK(t, m.MkdirAll(dir))
	return m, filepath.Join(dir, "state.json")
}

func TestWriteFileAtomic(t *testing.T) {
	m, name := newAtomicFS(t)
	mustOK(t, WriteFileAtomic(m, name, []byte("one")))
	wantContent(t, m, name, "one")
	mustOK(t, WriteFileAtomic(m, name, []byte("two, longer")))
	mustOK(t, WriteFileAtomic(m, name, []byte("3")))
	wantContent(t, m, name, "3")
	wantDir(t, m, filepath.Dir(name), "state.json")
	got, err := ReadFile(m, name)
	if err != nil || string(got) != "3" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	mustOK(t, WriteFileAtomic(m, name, nil))
	if got, err := ReadFile(m, name); err != nil || len(got) != 0 {
		t.Fatalf("ReadFile of an empty file = %q, %v", got, err)
	}
	if _, err := ReadFile(m, name+".missing"); !IsNotExist(err) {
		t.Fatalf("ReadFile of a missing file: %v", err)
	}
}

// TestWriteFileAtomicDurable: once WriteFileAtomic returns, the new content
// survives power loss, including a new file's directory entry.
func TestWriteFileAtomicDurable(t *testing.T) {
	m, name := newAtomicFS(t)
	mustOK(t, WriteFileAtomic(m, name, []byte("first")))
	m.Crash()
	wantContent(t, m, name, "first")
	mustOK(t, WriteFileAtomic(m, name, []byte("second")))
	m.Crash()
	wantContent(t, m, name, "second")
	wantDir(t, m, filepath.Dir(name), "state.json")
}

// TestWriteFileAtomicCrashAnywhere kills the writer before each of its
// operations in turn (with a plain crash and with torn unsynced appends):
// name holds the old content or, only once the write is durable, the new
// one, never a mix; a crash after return keeps the new content; and the next
// write after recovery succeeds.
func TestWriteFileAtomicCrashAnywhere(t *testing.T) {
	for _, old := range []string{"", "old content"} {
		for _, torn := range []bool{false, true} {
			for n := 1; ; n++ {
				at := fmt.Sprintf("old=%q torn=%v die at op %d", old, torn, n)
				m, name := newAtomicFS(t)
				if old != "" {
					mustOK(t, WriteFileAtomic(m, name, []byte(old)))
				}
				d := &dyingFS{MemFS: m, n: n}
				if torn {
					d.rng = rand.New(rand.NewPCG(uint64(n), 7))
				}
				newData := []byte("the new content, longer than the old")
				err := WriteFileAtomic(d, name, newData)
				if !d.dead {
					// It finished before dying: now the power goes.
					mustOK(t, err)
					m.Crash()
					wantContent(t, m, name, string(newData))
					if n < 5 {
						t.Fatalf("%s: only %d operations: the write cannot be durable", at, n-1)
					}
					break
				}
				if err == nil {
					t.Fatalf("%s: WriteFileAtomic returned nil after the crash", at)
				}
				got, rerr := readFile(m, name)
				switch {
				case old == "" && IsNotExist(rerr):
				case rerr == nil && (got == old || got == string(newData)):
				default:
					t.Fatalf("%s: %s = %q, %v; want %q or %q", at, name, got, rerr, old, newData)
				}
				// Recovery: the next write replaces whatever is there.
				mustOK(t, WriteFileAtomic(m, name, []byte("after")))
				m.Crash()
				wantContent(t, m, name, "after")
				wantDir(t, m, filepath.Dir(name), "state.json")
			}
		}
	}
}

// TestWriteFileAtomicFaults: a failed step leaves the old content in place
// and the temporary file removed.
func TestWriteFileAtomicFaults(t *testing.T) {
	for _, op := range []Op{OpCreate, OpWrite, OpSync, OpRename} {
		t.Run(op.String(), func(t *testing.T) {
			m, name := newAtomicFS(t)
			mustOK(t, WriteFileAtomic(m, name, []byte("old")))
			m.Inject(Fault{Op: op})
			if err := WriteFileAtomic(m, name, []byte("new")); !errors.Is(err, ErrInjected) {
				t.Fatalf("WriteFileAtomic with a failing %s = %v", op, err)
			}
			wantContent(t, m, name, "old")
			wantDir(t, m, filepath.Dir(name), "state.json")
			m.Crash()
			wantContent(t, m, name, "old")
		})
	}
	t.Run("syncdir", func(t *testing.T) {
		m, name := newAtomicFS(t)
		mustOK(t, WriteFileAtomic(m, name, []byte("old")))
		m.Inject(Fault{Op: OpSyncDir})
		if err := WriteFileAtomic(m, name, []byte("new")); !errors.Is(err, ErrInjected) {
			t.Fatalf("WriteFileAtomic with a failing syncdir = %v", err)
		}
		m.Crash() // not durable: either content, whole
		if got, _ := readFile(m, name); got != "old" && got != "new" {
			t.Fatalf("%s = %q", name, got)
		}
	})
}

func TestWriteFileAtomicPerm(t *testing.T) {
	m, name := newAtomicFS(t)
	mustOK(t, WriteFileAtomic(m, name, []byte("private")))
	if p, err := m.Perm(name); err != nil || p != FilePerm {
		t.Fatalf("Perm after WriteFileAtomic = %v, %v; want 0600", p, err)
	}
	mustOK(t, WriteFileAtomicPerm(m, name, []byte("shared"), 0o640))
	if p, err := m.Perm(name); err != nil || p != 0o640 {
		t.Fatalf("Perm after WriteFileAtomicPerm = %v, %v; want 0640", p, err)
	}
	mustOK(t, WriteFileAtomicPerm(m, name, []byte("secret"), 0o600))
	if p, err := m.Perm(name); err != nil || p != 0o600 {
		t.Fatalf("Perm after WriteFileAtomicPerm = %v, %v; want 0600", p, err)
	}
	m.Crash()
	wantContent(t, m, name, "secret")

	// A filesystem that cannot set the mode gets nothing written.
	if err := WriteFileAtomicPerm(onlyFS{m}, name, []byte("leak"), 0o600); !errors.Is(err, ErrPermUnsupported) {
		t.Fatalf("WriteFileAtomicPerm on a plain FS = %v", err)
	}
	wantContent(t, m, name, "secret")

	// OS: the mode is 0600 even over a world-readable file and a leftover
	// world-readable temporary.
	dir := t.TempDir()
	osName := filepath.Join(dir, "keyring.json")
	mustOK(t, os.WriteFile(osName, []byte("x"), 0o644))
	mustOK(t, os.WriteFile(osName+TempSuffix, []byte("y"), 0o666))
	mustOK(t, WriteFileAtomicPerm(OS{}, osName, []byte("secret"), 0o600))
	st, err := os.Stat(osName)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("OS mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if b, _ := os.ReadFile(osName); string(b) != "secret" {
		t.Fatalf("OS content %q", b)
	}
	if _, err := os.Stat(osName + TempSuffix); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}
