package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// writeFile creates name with data, syncing it if sync is set.
func writeFile(t *testing.T, fsys FS, name, data string, sync bool) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatalf("Write(%s): %v", name, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatalf("Sync(%s): %v", name, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close(%s): %v", name, err)
	}
}

// readFile returns the whole content of name.
func readFile(fsys FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		return "", err
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil && !(err == io.EOF && n == 0) {
		return "", err
	}
	return string(buf), nil
}

// wantContent fails the test unless name holds want.
func wantContent(t *testing.T, fsys FS, name, want string) {
	t.Helper()
	got, err := readFile(fsys, name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if got != want {
		t.Fatalf("%s = %q, want %q", name, got, want)
	}
}

// wantMissing fails the test unless name does not exist.
func wantMissing(t *testing.T, fsys FS, name string) {
	t.Helper()
	if _, err := fsys.Stat(name); !IsNotExist(err) {
		t.Fatalf("Stat(%s) = %v, want not-exist", name, err)
	}
}

// wantDir fails the test unless dir lists exactly names.
func wantDir(t *testing.T, fsys FS, dir string, names ...string) {
	t.Helper()
	got, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	if len(got) != len(names) || (len(names) > 0 && !slices.Equal(got, names)) {
		t.Fatalf("ReadDir(%s) = %q, want %q", dir, got, names)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, f File, data string) {
	t.Helper()
	if n, err := f.Write([]byte(data)); err != nil || n != len(data) {
		t.Fatalf("Write(%q) = %d, %v", data, n, err)
	}
}

// conformance lists behaviours every FS must share. Each runs in an empty,
// existing directory root.
var conformance = []struct {
	name string
	run  func(t *testing.T, fsys FS, root string)
}{
	{"WriteReadAt", func(t *testing.T, fsys FS, root string) {
		name := filepath.Join(root, "f")
		f, err := fsys.Create(name)
		mustOK(t, err)
		defer f.Close()
		if f.Name() != name {
			t.Errorf("Name() = %q, want %q", f.Name(), name)
		}
		mustWrite(t, f, "hello ")
		mustWrite(t, f, "world")
		for _, c := range []struct {
			off     int64
			size    int
			want    string
			wantEOF bool
		}{
			{0, 5, "hello", false},
			{6, 5, "world", false},
			{6, 10, "world", true},
			{11, 4, "", true},
			{100, 4, "", true},
			{100, 0, "", false},
			{3, 0, "", false},
		} {
			p := make([]byte, c.size)
			n, err := f.ReadAt(p, c.off)
			if string(p[:n]) != c.want || (err == io.EOF) != c.wantEOF || (err != nil && err != io.EOF) {
				t.Errorf("ReadAt(%d bytes, %d) = %q, %v; want %q, EOF=%v", c.size, c.off, p[:n], err, c.want, c.wantEOF)
			}
		}
		if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
			t.Error("ReadAt(-1) succeeded")
		}
		if n, err := f.Size(); err != nil || n != 11 {
			t.Errorf("Size() = %d, %v", n, err)
		}
		if n, err := fsys.Stat(name); err != nil || n != 11 {
			t.Errorf("Stat() = %d, %v", n, err)
		}
		mustOK(t, f.Sync())
	}},
	{"CreateTruncatesExisting", func(t *testing.T, fsys FS, root string) {
		name := filepath.Join(root, "f")
		writeFile(t, fsys, name, "abcdef", true)
		f, err := fsys.Create(name)
		mustOK(t, err)
		defer f.Close()
		if n, _ := f.Size(); n != 0 {
			t.Fatalf("size after Create = %d", n)
		}
		mustWrite(t, f, "xy")
		wantContent(t, fsys, name, "xy")
	}},
	{"OpenAppend", func(t *testing.T, fsys FS, root string) {
		name := filepath.Join(root, "f")
		writeFile(t, fsys, name, "abc", false)
		f, err := fsys.OpenAppend(name)
		mustOK(t, err)
		defer f.Close()
		mustWrite(t, f, "def")
		wantContent(t, fsys, name, "abcdef")
		// Appends follow the end even when another change moves it.
		mustOK(t, f.Truncate(2))
		mustWrite(t, f, "Z")
		wantContent(t, fsys, name, "abZ")
		p := make([]byte, 3)
		if n, err := f.ReadAt(p, 0); n != 3 || err != nil || string(p) != "abZ" {
			t.Fatalf("ReadAt on append handle = %d, %v, %q", n, err, p)
		}
	}},
	{"Missing", func(t *testing.T, fsys FS, root string) {
		missing := filepath.Join(root, "nope")
		inMissingDir := filepath.Join(root, "nodir", "f")
		_, errOpen := fsys.Open(missing)
		_, errAppend := fsys.OpenAppend(missing)
		_, errStat := fsys.Stat(missing)
		_, errReadDir := fsys.ReadDir(missing)
		_, errCreate := fsys.Create(inMissingDir)
		for name, err := range map[string]error{
			"Open":           errOpen,
			"OpenAppend":     errAppend,
			"Stat":           errStat,
			"Remove":         fsys.Remove(missing),
			"Rename":         fsys.Rename(missing, filepath.Join(root, "x")),
			"ReadDir":        errReadDir,
			"SyncDir":        fsys.SyncDir(missing),
			"CreateInNoDir":  errCreate,
			"RenameIntoNone": renameInto(t, fsys, root, inMissingDir),
		} {
			if !IsNotExist(err) {
				t.Errorf("%s: err = %v, want not-exist", name, err)
			}
		}
	}},
	{"ReadOnly", func(t *testing.T, fsys FS, root string) {
		name := filepath.Join(root, "f")
		writeFile(t, fsys, name, "abc", false)
		f, err := fsys.Open(name)
		mustOK(t, err)
		defer f.Close()
		if _, err := f.Write([]byte("x")); err == nil {
			t.Error("Write on read-only handle succeeded")
		}
		if err := f.Truncate(0); err == nil {
			t.Error("Truncate on read-only handle succeeded")
		}
		mustOK(t, f.Sync())
		wantContent(t, fsys, name, "abc")
	}},
	{"TruncateKeepsWriteOffset", func(t *testing.T, fsys FS, root string) {
		name := filepath.Join(root, "f")
		f, err := fsys.Create(name)
		mustOK(t, err)
		defer f.Close()
		mustWrite(t, f, "abcdef")
		mustOK(t, f.Truncate(3))
		wantContent(t, fsys, name, "abc")
		mustOK(t, f.Truncate(5))
		wantContent(t, fsys, name, "abc\x00\x00")
		mustWrite(t, f, "X") // at offset 6, leaving a hole at 5
		wantContent(t, fsys, name, "abc\x00\x00\x00X")
		if n, _ := f.Size(); n != 7 {
			t.Fatalf("Size = %d", n)
		}
	}},
	{"Rename", func(t *testing.T, fsys FS, root string) {
		a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
		writeFile(t, fsys, a, "new", false)
		writeFile(t, fsys, b, "old", false)
		old, err := fsys.Open(b)
		mustOK(t, err)
		defer old.Close()
		mustOK(t, fsys.Rename(a, b))
		wantMissing(t, fsys, a)
		wantContent(t, fsys, b, "new")
		wantDir(t, fsys, root, "b")
		// The replaced file lives on through its open handle.
		p := make([]byte, 3)
		if _, err := old.ReadAt(p, 0); err != nil || string(p) != "old" {
			t.Fatalf("replaced file reads %q, %v", p, err)
		}
		// Renaming to itself is a no-op; renaming into a subdirectory works.
		mustOK(t, fsys.Rename(b, b))
		wantContent(t, fsys, b, "new")
		sub := filepath.Join(root, "sub")
		mustOK(t, fsys.MkdirAll(sub))
		mustOK(t, fsys.Rename(b, filepath.Join(sub, "c")))
		wantContent(t, fsys, filepath.Join(sub, "c"), "new")
		wantDir(t, fsys, root, "sub")
		// Renaming a file onto a directory fails.
		writeFile(t, fsys, a, "x", false)
		if err := fsys.Rename(a, sub); err == nil {
			t.Fatal("rename onto a directory succeeded")
		}
	}},
	{"ReadDirAndMkdirAll", func(t *testing.T, fsys FS, root string) {
		wantDir(t, fsys, root)
		mustOK(t, fsys.MkdirAll(filepath.Join(root, "c", "d", "e")))
		mustOK(t, fsys.MkdirAll(filepath.Join(root, "c", "d"))) // idempotent
		mustOK(t, fsys.MkdirAll(root+string(filepath.Separator)+"c/./d/"))
		writeFile(t, fsys, filepath.Join(root, "b"), "", false)
		writeFile(t, fsys, filepath.Join(root, "a"), "", false)
		writeFile(t, fsys, filepath.Join(root, "c", "d", "f"), "", false)
		wantDir(t, fsys, root, "a", "b", "c")
		wantDir(t, fsys, filepath.Join(root, "c", "d"), "e", "f")
		wantDir(t, fsys, filepath.Join(root, "c", "d", "e"))
		// Unclean paths name the same entries.
		wantDir(t, fsys, root+"/c/../c/d/", "e", "f")
		if err := fsys.MkdirAll(filepath.Join(root, "a", "x")); err == nil {
			t.Error("MkdirAll under a file succeeded")
		}
		if _, err := fsys.ReadDir(filepath.Join(root, "a")); err == nil {
			t.Error("ReadDir of a file succeeded")
		}
		if _, err := fsys.Create(filepath.Join(root, "c")); err == nil {
			t.Error("Create over a directory succeeded")
		}
		mustOK(t, fsys.SyncDir(root))
		mustOK(t, fsys.SyncDir(filepath.Join(root, "c", "d")))
	}},
	{"RemoveDirectory", func(t *testing.T, fsys FS, root string) {
		d := filepath.Join(root, "d")
		mustOK(t, fsys.MkdirAll(d))
		writeFile(t, fsys, filepath.Join(d, "f"), "x", false)
		if err := fsys.Remove(d); err == nil {
			t.Fatal("Remove of a non-empty directory succeeded")
		}
		mustOK(t, fsys.Remove(filepath.Join(d, "f")))
		mustOK(t, fsys.Remove(d))
		wantDir(t, fsys, root)
		wantMissing(t, fsys, d)
	}},
	{"ClosedHandle", func(t *testing.T, fsys FS, root string) {
		f, err := fsys.Create(filepath.Join(root, "f"))
		mustOK(t, err)
		mustOK(t, f.Close())
		_, errW := f.Write([]byte("x"))
		_, errR := f.ReadAt(make([]byte, 1), 0)
		_, errS := f.Size()
		for name, err := range map[string]error{
			"Write":    errW,
			"ReadAt":   errR,
			"Size":     errS,
			"Sync":     f.Sync(),
			"Truncate": f.Truncate(0),
			"Close":    f.Close(),
		} {
			if !errors.Is(err, fs.ErrClosed) {
				t.Errorf("%s after Close: %v, want ErrClosed", name, err)
			}
		}
	}},
	{"RemoveWhileOpen", func(t *testing.T, fsys FS, root string) {
		name := filepath.Join(root, "f")
		f, err := fsys.Create(name)
		mustOK(t, err)
		defer f.Close()
		mustWrite(t, f, "abc")
		mustOK(t, fsys.Remove(name))
		wantMissing(t, fsys, name)
		wantDir(t, fsys, root)
		mustWrite(t, f, "d")
		p := make([]byte, 4)
		if n, err := f.ReadAt(p, 0); n != 4 || err != nil || string(p) != "abcd" {
			t.Fatalf("ReadAt after Remove = %d, %v, %q", n, err, p)
		}
		// A new file of the same name is a different file.
		writeFile(t, fsys, name, "new", false)
		wantContent(t, fsys, name, "new")
	}},
	{"OptionalInterfaces", func(t *testing.T, fsys FS, root string) {
		// Datasync, Allocate and DontNeed change nothing a reader sees:
		// Allocate keeps the size, appends land at the end as before,
		// DontNeed keeps the content, Truncate to the size keeps it too.
		name := filepath.Join(root, "f")
		writeFile(t, fsys, name, "", false)
		f, err := fsys.OpenAppend(name)
		mustOK(t, err)
		defer f.Close()
		mustWrite(t, f, "head")
		if err := Allocate(f, 0, 1<<20); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Allocate: %v", err)
		}
		if n, _ := f.Size(); n != 4 {
			t.Fatalf("Size after Allocate = %d, want 4", n)
		}
		mustWrite(t, f, "+tail")
		mustOK(t, Datasync(f))
		if err := DontNeed(f, 0, 0); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("DontNeed: %v", err)
		}
		if err := DontNeed(f, 2, 3); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("DontNeed of a range: %v", err)
		}
		mustOK(t, f.Truncate(9))
		wantContent(t, fsys, name, "head+tail")
		if n, _ := fsys.Stat(name); n != 9 {
			t.Fatalf("Stat = %d, want 9", n)
		}
	}},
	{"HandlesShareFile", func(t *testing.T, fsys FS, root string) {
		name := filepath.Join(root, "f")
		w, err := fsys.Create(name)
		mustOK(t, err)
		defer w.Close()
		r, err := fsys.Open(name)
		mustOK(t, err)
		defer r.Close()
		mustWrite(t, w, "abc")
		if n, _ := r.Size(); n != 3 {
			t.Fatalf("reader Size = %d", n)
		}
		mustWrite(t, w, "d")
		p := make([]byte, 4)
		if _, err := r.ReadAt(p, 0); err != nil || string(p) != "abcd" {
			t.Fatalf("reader sees %q, %v", p, err)
		}
	}},
}

// renameInto renames a fresh file to dst and returns the error.
func renameInto(t *testing.T, fsys FS, root, dst string) error {
	src := filepath.Join(root, "src")
	writeFile(t, fsys, src, "", false)
	return fsys.Rename(src, dst)
}

func TestConformance(t *testing.T) {
	impls := []struct {
		name string
		new  func(t *testing.T) (FS, string)
	}{
		{"OS", func(t *testing.T) (FS, string) { return OS{}, t.TempDir() }},
		{"MemFS", func(t *testing.T) (FS, string) {
			m := NewMemFS()
			root := filepath.Join(string(filepath.Separator), "mem", "root")
			mustOK(t, m.MkdirAll(root))
			return m, root
		}},
		{"MemFSRelative", func(t *testing.T) (FS, string) {
			m := NewMemFS()
			mustOK(t, m.MkdirAll("rel"))
			return m, "rel"
		}},
	}
	for _, impl := range impls {
		for _, c := range conformance {
			t.Run(impl.name+"/"+c.name, func(t *testing.T) {
				fsys, root := impl.new(t)
				c.run(t, fsys, root)
			})
		}
	}
}

func TestMemFSRenameDirectoryUnsupported(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/a/b"))
	err := m.Rename("/a/b", "/a/c")
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Rename of a directory = %v, want ErrUnsupported", err)
	}
	var le *os.LinkError
	if !errors.As(err, &le) {
		t.Fatalf("Rename error %T is not *os.LinkError", err)
	}
	if err := m.Remove("/"); err == nil {
		t.Fatal("Remove of the root succeeded")
	}
}

func TestCrashKeepsSyncedDataOnly(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/d"))
	f, err := m.Create("/d/f")
	mustOK(t, err)
	mustWrite(t, f, "abc")
	mustOK(t, f.Sync())
	mustOK(t, m.SyncDir("/d"))
	mustWrite(t, f, "def")
	wantContent(t, m, "/d/f", "abcdef")
	m.Crash()
	wantContent(t, m, "/d/f", "abc")
	wantDir(t, m, "/", "d")
	wantDir(t, m, "/d", "f")
}

func TestCrashLosesFileWithoutSyncDir(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/d"))
	writeFile(t, m, "/d/f", "abc", true) // data durable, entry not
	m.Crash()
	wantMissing(t, m, "/d/f")
	wantDir(t, m, "/d")
	// The directory itself was durable at once.
	wantDir(t, m, "/", "d")
}

func TestCrashKeepsEntryWithoutData(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/d"))
	writeFile(t, m, "/d/f", "abc", false)
	mustOK(t, m.SyncDir("/d"))
	m.Crash()
	wantContent(t, m, "/d/f", "")
}

func TestCrashSyncDirIsPerDirectory(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/a/b"))
	writeFile(t, m, "/a/f", "1", true)
	writeFile(t, m, "/a/b/g", "2", true)
	mustOK(t, m.SyncDir("/a/b"))
	m.Crash()
	wantMissing(t, m, "/a/f")
	wantContent(t, m, "/a/b/g", "2")
}

func TestCrashRename(t *testing.T) {
	// setup leaves /d/cur = "old" and /d/tmp = "new", both durable, and
	// renames tmp over cur.
	setup := func(t *testing.T) *MemFS {
		m := NewMemFS()
		mustOK(t, m.MkdirAll("/d"))
		writeFile(t, m, "/d/cur", "old", true)
		writeFile(t, m, "/d/tmp", "new", true)
		mustOK(t, m.SyncDir("/d"))
		mustOK(t, m.Rename("/d/tmp", "/d/cur"))
		wantContent(t, m, "/d/cur", "new")
		return m
	}
	t.Run("WithoutSyncDir", func(t *testing.T) {
		m := setup(t)
		m.Crash()
		wantContent(t, m, "/d/cur", "old")
		wantContent(t, m, "/d/tmp", "new")
	})
	t.Run("WithSyncDir", func(t *testing.T) {
		m := setup(t)
		mustOK(t, m.SyncDir("/d"))
		m.Crash()
		wantContent(t, m, "/d/cur", "new")
		wantMissing(t, m, "/d/tmp")
		wantDir(t, m, "/d", "cur")
	})
	t.Run("UnsyncedDataUnderNewName", func(t *testing.T) {
		// The classic bug: write tmp, rename without fsync of the data.
		m := NewMemFS()
		mustOK(t, m.MkdirAll("/d"))
		writeFile(t, m, "/d/tmp", "new", false)
		mustOK(t, m.Rename("/d/tmp", "/d/cur"))
		mustOK(t, m.SyncDir("/d"))
		m.Crash()
		wantContent(t, m, "/d/cur", "")
	})
}

func TestCrashRenameAcrossDirectories(t *testing.T) {
	setup := func(t *testing.T) *MemFS {
		m := NewMemFS()
		mustOK(t, m.MkdirAll("/a"))
		mustOK(t, m.MkdirAll("/b"))
		writeFile(t, m, "/a/f", "x", true)
		mustOK(t, m.SyncDir("/a"))
		mustOK(t, m.Rename("/a/f", "/b/f"))
		return m
	}
	t.Run("DestinationSynced", func(t *testing.T) {
		m := setup(t)
		mustOK(t, m.SyncDir("/b"))
		m.Crash()
		wantContent(t, m, "/a/f", "x")
		wantContent(t, m, "/b/f", "x")
	})
	t.Run("SourceSynced", func(t *testing.T) {
		m := setup(t)
		mustOK(t, m.SyncDir("/a"))
		m.Crash()
		wantMissing(t, m, "/a/f")
		wantMissing(t, m, "/b/f")
	})
	t.Run("BothSynced", func(t *testing.T) {
		m := setup(t)
		mustOK(t, m.SyncDir("/a"))
		mustOK(t, m.SyncDir("/b"))
		m.Crash()
		wantMissing(t, m, "/a/f")
		wantContent(t, m, "/b/f", "x")
	})
}

func TestCrashRemove(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/d"))
	writeFile(t, m, "/d/f", "abc", true)
	writeFile(t, m, "/d/g", "xyz", true)
	mustOK(t, m.SyncDir("/d"))
	mustOK(t, m.Remove("/d/f"))
	mustOK(t, m.Remove("/d/g"))
	mustOK(t, m.SyncDir("/d"))
	writeFile(t, m, "/d/g", "replacement", true) // new file, entry unsynced
	m.Crash()
	wantMissing(t, m, "/d/f")
	wantMissing(t, m, "/d/g")

	writeFile(t, m, "/d/f", "abc", true)
	mustOK(t, m.SyncDir("/d"))
	mustOK(t, m.Remove("/d/f"))
	m.Crash()
	wantContent(t, m, "/d/f", "abc")
}

func TestCrashRemovedDirectoryStaysRemoved(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/d/e"))
	writeFile(t, m, "/d/e/f", "abc", true)
	mustOK(t, m.SyncDir("/d/e"))
	mustOK(t, m.Remove("/d/e/f"))
	mustOK(t, m.Remove("/d/e"))
	m.Crash()
	wantDir(t, m, "/d")
	// A directory made over a durable-but-removed file replaces it.
	writeFile(t, m, "/d/x", "", true)
	mustOK(t, m.SyncDir("/d"))
	mustOK(t, m.Remove("/d/x"))
	mustOK(t, m.MkdirAll("/d/x"))
	m.Crash()
	wantDir(t, m, "/d", "x")
	wantDir(t, m, "/d/x")
}

// TestCrashRevertsInPlaceChanges checks that changes below the durable length
// (truncation, re-creation, zero fill, overwrite after truncation) never leak
// into the durable content, which shares memory with the current content.
func TestCrashRevertsInPlaceChanges(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(t *testing.T, m *MemFS, f File)
	}{
		{"Truncate", func(t *testing.T, m *MemFS, f File) { mustOK(t, f.Truncate(2)) }},
		{"TruncateThenGrow", func(t *testing.T, m *MemFS, f File) {
			mustOK(t, f.Truncate(2))
			mustOK(t, f.Truncate(6))
		}},
		{"TruncateThenAppend", func(t *testing.T, m *MemFS, f File) {
			mustOK(t, f.Truncate(2))
			a, err := m.OpenAppend("/d/f")
			mustOK(t, err)
			mustWrite(t, a, "QQQQQQQQ")
		}},
		{"Recreate", func(t *testing.T, m *MemFS, f File) {
			g, err := m.Create("/d/f")
			mustOK(t, err)
			mustWrite(t, g, "XY")
		}},
		{"WriteAfterCrashReopen", func(t *testing.T, m *MemFS, f File) {
			m.Crash()
			g, err := m.OpenAppend("/d/f")
			mustOK(t, err)
			mustOK(t, g.Truncate(1))
			mustWrite(t, g, "ZZ")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := NewMemFS()
			mustOK(t, m.MkdirAll("/d"))
			f, err := m.Create("/d/f")
			mustOK(t, err)
			mustWrite(t, f, "abcdef")
			mustOK(t, f.Sync())
			mustOK(t, m.SyncDir("/d"))
			c.change(t, m, f)
			m.Crash()
			wantContent(t, m, "/d/f", "abcdef")
		})
	}
}

func TestCrashInvalidatesHandles(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "f", "abc", true)
	mustOK(t, m.SyncDir("."))
	w, err := m.OpenAppend("f")
	mustOK(t, err)
	r, err := m.Open("f")
	mustOK(t, err)
	m.Crash()
	_, errW := w.Write([]byte("x"))
	_, errR := r.ReadAt(make([]byte, 1), 0)
	_, errS := w.Size()
	for name, err := range map[string]error{
		"Write":    errW,
		"ReadAt":   errR,
		"Size":     errS,
		"Sync":     w.Sync(),
		"Truncate": w.Truncate(0),
		"Close":    r.Close(),
	} {
		if !errors.Is(err, ErrCrashed) {
			t.Errorf("%s after Crash: %v, want ErrCrashed", name, err)
		}
	}
	wantContent(t, m, "f", "abc")
	// Fresh handles work.
	w2, err := m.OpenAppend("f")
	mustOK(t, err)
	mustWrite(t, w2, "d")
	mustOK(t, w2.Close())
	wantContent(t, m, "f", "abcd")
}

func TestCrashRepeated(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/log"))
	f, err := m.Create("/log/wal")
	mustOK(t, err)
	mustOK(t, m.SyncDir("/log"))
	want, pending := "", ""
	for i := range 20 {
		rec := fmt.Sprintf("rec%02d;", i)
		mustWrite(t, f, rec)
		pending += rec
		if i%3 != 2 {
			mustOK(t, f.Sync()) // also makes earlier unsynced records durable
			want, pending = want+pending, ""
		}
		if i%4 == 3 {
			m.Crash()
			pending = ""
			wantContent(t, m, "/log/wal", want)
			f, err = m.OpenAppend("/log/wal")
			mustOK(t, err)
		}
	}
}

func TestCrashKeepingSome(t *testing.T) {
	const durable, full = "abc", "abcdefghijklmnop"
	setup := func(t *testing.T) *MemFS {
		m := NewMemFS()
		f, err := m.Create("/wal")
		mustOK(t, err)
		mustWrite(t, f, durable)
		mustOK(t, f.Sync())
		mustWrite(t, f, full[len(durable):])
		// A truncated file is not an append: it reverts entirely.
		writeFile(t, m, "/meta", "12345", true)
		g, err := m.OpenAppend("/meta")
		mustOK(t, err)
		mustOK(t, g.Truncate(1))
		mustWrite(t, g, "9999")
		// A new file with a durable entry may keep part of its data.
		writeFile(t, m, "/new", "zzz", false)
		mustOK(t, m.SyncDir("/"))
		// A file whose entry is not durable still vanishes.
		writeFile(t, m, "/unlinked", "zzz", true)
		return m
	}
	lengths := make(map[int]bool)
	for seed := range uint64(32) {
		m := setup(t)
		m.CrashKeepingSome(rand.New(rand.NewPCG(seed, 0)))
		got, err := readFile(m, "/wal")
		mustOK(t, err)
		if !strings.HasPrefix(got, durable) || !strings.HasPrefix(full, got) {
			t.Fatalf("seed %d: /wal = %q, want a prefix of %q extending %q", seed, got, full, durable)
		}
		lengths[len(got)] = true
		wantContent(t, m, "/meta", "12345")
		if got, err := readFile(m, "/new"); err != nil || !strings.HasPrefix("zzz", got) {
			t.Fatalf("seed %d: /new = %q, %v; want a prefix of %q", seed, got, err, "zzz")
		}
		wantMissing(t, m, "/unlinked")
		// What survived is now durable.
		m.Crash()
		wantContent(t, m, "/wal", got)

		// The same seed gives the same result.
		m2 := setup(t)
		m2.CrashKeepingSome(rand.New(rand.NewPCG(seed, 0)))
		wantContent(t, m2, "/wal", got)
	}
	if len(lengths) < 3 {
		t.Fatalf("32 seeds kept only lengths %v", lengths)
	}
}

// TestCrashZeroingSome checks that a zeroing crash keeps the synced
// content, then a prefix of the unsynced bytes, then zeros, for a length
// between the synced and the written one; and that a synced file, or one
// shared with its durable content, is not disturbed.
func TestCrashZeroingSome(t *testing.T) {
	const durable, full = "abc", "abcdefghijklmnop"
	setup := func(t *testing.T) *MemFS {
		m := NewMemFS()
		f, err := m.Create("/wal")
		mustOK(t, err)
		mustWrite(t, f, durable)
		mustOK(t, f.Sync())
		mustWrite(t, f, full[len(durable):])
		writeFile(t, m, "/synced", "12345", true)
		mustOK(t, m.SyncDir("/"))
		return m
	}
	zeroed := false
	lengths := make(map[int]bool)
	for seed := range uint64(32) {
		m := setup(t)
		m.CrashZeroingSome(rand.New(rand.NewPCG(seed, 0)))
		got, err := readFile(m, "/wal")
		mustOK(t, err)
		real := strings.TrimRight(got, "\x00")
		if len(real) < len(durable) || !strings.HasPrefix(full, real) || len(got) > len(full) {
			t.Fatalf("seed %d: /wal = %q, want %q, a prefix of the rest of %q, then zeros", seed, got, durable, full)
		}
		zeroed = zeroed || len(real) < len(got)
		lengths[len(got)] = true
		wantContent(t, m, "/synced", "12345")
		m.Crash()
		wantContent(t, m, "/wal", got)
		m2 := setup(t)
		m2.CrashZeroingSome(rand.New(rand.NewPCG(seed, 0)))
		wantContent(t, m2, "/wal", got)
	}
	if !zeroed || len(lengths) < 3 {
		t.Fatalf("32 seeds: zeros seen %v, lengths %v", zeroed, lengths)
	}
}

func TestFaultFiresAfterCount(t *testing.T) {
	m := NewMemFS()
	f, err := m.Create("/wal")
	mustOK(t, err)
	mustWrite(t, f, "0") // before injection: not counted
	m.Inject(Fault{Op: OpWrite, After: 2})
	mustWrite(t, f, "1")
	mustWrite(t, f, "2")
	n, err := f.Write([]byte("3"))
	if n != 0 || !errors.Is(err, ErrInjected) {
		t.Fatalf("third write = %d, %v; want 0, ErrInjected", n, err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "write" || pe.Path != "/wal" {
		t.Fatalf("error %#v is not a write PathError for /wal", err)
	}
	mustWrite(t, f, "4") // not sticky: fired once
	mustWrite(t, f, "5")
	wantContent(t, m, "/wal", "01245")
	if got := m.Ops(OpWrite); got != 6 {
		t.Fatalf("Ops(OpWrite) = %d, want 6", got)
	}
}

func TestFaultSticky(t *testing.T) {
	m := NewMemFS()
	f, err := m.Create("/wal")
	mustOK(t, err)
	mustOK(t, m.SyncDir("/"))
	myErr := errors.New("disk on fire")
	m.Inject(Fault{Op: OpSync, After: 1, Err: myErr, Sticky: true})
	mustWrite(t, f, "a")
	mustOK(t, f.Sync())
	for i := range 3 {
		mustWrite(t, f, "b")
		if err := f.Sync(); !errors.Is(err, myErr) {
			t.Fatalf("sync %d after the first: %v, want %v", i, err, myErr)
		}
	}
	m.ClearFaults()
	m.Crash() // failed syncs made nothing durable
	wantContent(t, m, "/wal", "a")
	f, err = m.OpenAppend("/wal")
	mustOK(t, err)
	mustWrite(t, f, "c")
	mustOK(t, f.Sync())
	m.Crash()
	wantContent(t, m, "/wal", "ac")
}

func TestFaultPathContains(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/data/wal"))
	mustOK(t, m.MkdirAll("/data/meta"))
	m.Inject(Fault{Op: OpCreate, PathContains: "wal/", Sticky: true})
	writeFile(t, m, "/data/meta/m1", "", false)
	writeFile(t, m, "/data/wal.txt", "", false) // "wal/" does not match
	if _, err := m.Create("/data/wal/000001"); !errors.Is(err, ErrInjected) {
		t.Fatalf("Create in wal/ = %v, want ErrInjected", err)
	}
	wantDir(t, m, "/data/wal")
	// Paths are cleaned before matching.
	if _, err := m.Create("/data/meta/../wal/2"); !errors.Is(err, ErrInjected) {
		t.Fatalf("Create via unclean path = %v, want ErrInjected", err)
	}
}

func TestFaultSeveralMatchCountIndependently(t *testing.T) {
	m := NewMemFS()
	f, err := m.Create("/f")
	mustOK(t, err)
	m.Inject(Fault{Op: OpWrite, After: 1})
	m.Inject(Fault{Op: OpWrite, After: 3})
	var fails []int
	for i := range 6 {
		if _, err := f.Write([]byte("x")); err != nil {
			fails = append(fails, i)
		}
	}
	if !slices.Equal(fails, []int{1, 3}) {
		t.Fatalf("failed writes %v, want [1 3]", fails)
	}
}

// TestFaultEachOp checks that a fault on each Op fires for that operation and
// leaves the filesystem unchanged.
// TestCrashDatasync checks that Datasync is as durable as Sync: what it
// covered survives a crash, later writes do not.
func TestCrashDatasync(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/d"))
	f, err := m.Create("/d/f")
	mustOK(t, err)
	mustOK(t, m.SyncDir("/d"))
	mustWrite(t, f, "abc")
	mustOK(t, Datasync(f))
	mustWrite(t, f, "def")
	m.Crash()
	wantContent(t, m, "/d/f", "abc")
}

// TestAllocated checks MemFS's model of reserved space: Allocate reserves
// without changing the size, Truncate releases what lies past the new size,
// Create of an existing file releases it all, and a read-only handle or a
// bad range is refused.
func TestAllocated(t *testing.T) {
	m := NewMemFS()
	f, err := m.Create("/f")
	mustOK(t, err)
	mustWrite(t, f, "abc")
	mustOK(t, Allocate(f, 0, 100))
	if n, _ := m.Allocated("/f"); n != 100 {
		t.Fatalf("Allocated = %d, want 100", n)
	}
	if n, _ := m.Stat("/f"); n != 3 {
		t.Fatalf("Stat = %d, want 3", n)
	}
	mustWrite(t, f, "def")
	mustOK(t, f.Truncate(6)) // to the size: the reservation past it goes
	if n, _ := m.Allocated("/f"); n != 6 {
		t.Fatalf("Allocated after Truncate = %d, want 6", n)
	}
	mustOK(t, Allocate(f, 50, 50))
	if _, err := m.Create("/f"); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Allocated("/f"); n != 0 {
		t.Fatalf("Allocated after Create = %d, want 0", n)
	}
	if err := Allocate(f, -1, 10); err == nil {
		t.Error("Allocate at a negative offset succeeded")
	}
	if err := DontNeed(f, 0, -1); err == nil {
		t.Error("DontNeed of a negative length succeeded")
	}
	r, err := m.Open("/f")
	mustOK(t, err)
	if err := Allocate(r, 0, 10); err == nil {
		t.Error("Allocate through a read-only handle succeeded")
	}
	if _, err := m.Allocated("/missing"); !IsNotExist(err) {
		t.Errorf("Allocated of a missing file: %v", err)
	}
	m.Crash()
	if err := Allocate(f, 0, 10); !errors.Is(err, ErrCrashed) {
		t.Errorf("Allocate after a crash: %v", err)
	}
	if err := DontNeed(f, 0, 0); !errors.Is(err, ErrCrashed) {
		t.Errorf("DontNeed after a crash: %v", err)
	}
}

// plainFile is a File with none of the optional interfaces.
type plainFile struct{ File }

// TestOptionalFallbacks checks the helpers on a file without the optional
// interfaces: Datasync syncs, the hints report ErrUnsupported.
func TestOptionalFallbacks(t *testing.T) {
	m := NewMemFS()
	f, err := m.Create("/f")
	mustOK(t, err)
	mustOK(t, m.SyncDir("/"))
	p := plainFile{f}
	mustWrite(t, p, "abc")
	mustOK(t, Datasync(p))
	m.Crash()
	wantContent(t, m, "/f", "abc")
	if err := Allocate(p, 0, 10); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Allocate = %v, want ErrUnsupported", err)
	}
	if err := DontNeed(p, 0, 0); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DontNeed = %v, want ErrUnsupported", err)
	}
}

func TestFaultEachOp(t *testing.T) {
	setup := func(t *testing.T) (*MemFS, File) {
		m := NewMemFS()
		mustOK(t, m.MkdirAll("/d"))
		f, err := m.Create("/d/f")
		mustOK(t, err)
		mustWrite(t, f, "abc")
		mustOK(t, f.Sync())
		mustOK(t, m.SyncDir("/d"))
		writeFile(t, m, "/d/g", "ggg", true)
		return m, f
	}
	for _, c := range []struct {
		op    Op
		do    func(t *testing.T, m *MemFS, f File) error
		check func(t *testing.T, m *MemFS)
	}{
		{OpWrite, func(t *testing.T, m *MemFS, f File) error { _, err := f.Write([]byte("x")); return err },
			func(t *testing.T, m *MemFS) { wantContent(t, m, "/d/f", "abc") }},
		{OpSync, func(t *testing.T, m *MemFS, f File) error { mustWrite(t, f, "x"); return f.Sync() },
			func(t *testing.T, m *MemFS) { m.Crash(); wantContent(t, m, "/d/f", "abc") }},
		{OpCreate, func(t *testing.T, m *MemFS, f File) error { _, err := m.Create("/d/new"); return err },
			func(t *testing.T, m *MemFS) { wantMissing(t, m, "/d/new") }},
		{OpCreate, func(t *testing.T, m *MemFS, f File) error { _, err := m.Create("/d/f"); return err },
			func(t *testing.T, m *MemFS) { wantContent(t, m, "/d/f", "abc") }},
		{OpOpen, func(t *testing.T, m *MemFS, f File) error { _, err := m.Open("/d/f"); return err }, nil},
		{OpOpen, func(t *testing.T, m *MemFS, f File) error { _, err := m.OpenAppend("/d/f"); return err }, nil},
		{OpRename, func(t *testing.T, m *MemFS, f File) error { return m.Rename("/d/g", "/d/f") },
			func(t *testing.T, m *MemFS) { wantContent(t, m, "/d/f", "abc"); wantContent(t, m, "/d/g", "ggg") }},
		{OpRemove, func(t *testing.T, m *MemFS, f File) error { return m.Remove("/d/f") },
			func(t *testing.T, m *MemFS) { wantContent(t, m, "/d/f", "abc") }},
		{OpSyncDir, func(t *testing.T, m *MemFS, f File) error { return m.SyncDir("/d") },
			func(t *testing.T, m *MemFS) { m.Crash(); wantDir(t, m, "/d", "f") }},
		{OpTruncate, func(t *testing.T, m *MemFS, f File) error { return f.Truncate(1) },
			func(t *testing.T, m *MemFS) { wantContent(t, m, "/d/f", "abc") }},
		{OpRead, func(t *testing.T, m *MemFS, f File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }, nil},
		{OpSync, func(t *testing.T, m *MemFS, f File) error { mustWrite(t, f, "x"); return Datasync(f) },
			func(t *testing.T, m *MemFS) { m.Crash(); wantContent(t, m, "/d/f", "abc") }},
		{OpAllocate, func(t *testing.T, m *MemFS, f File) error { return Allocate(f, 0, 100) },
			func(t *testing.T, m *MemFS) {
				if n, _ := m.Allocated("/d/f"); n != 3 {
					t.Fatalf("Allocated = %d after a failed Allocate, want 3", n)
				}
			}},
		{OpAdvise, func(t *testing.T, m *MemFS, f File) error { return DontNeed(f, 0, 0) },
			func(t *testing.T, m *MemFS) { wantContent(t, m, "/d/f", "abc") }},
	} {
		t.Run(c.op.String(), func(t *testing.T) {
			m, f := setup(t)
			before := m.Ops(c.op)
			m.Inject(Fault{Op: c.op})
			if err := c.do(t, m, f); !errors.Is(err, ErrInjected) {
				t.Fatalf("%v: err = %v, want ErrInjected", c.op, err)
			}
			if got := m.Ops(c.op); got != before+1 {
				t.Fatalf("Ops(%v) = %d, want %d", c.op, got, before+1)
			}
			if c.check != nil {
				c.check(t, m)
			}
			// The fault was not sticky: the operation now succeeds.
			m2, f2 := setup(t)
			m2.Inject(Fault{Op: c.op})
			_ = c.do(t, m2, f2)
			if err := c.do(t, m2, f2); err != nil {
				t.Fatalf("%v: second attempt: %v", c.op, err)
			}
		})
	}
}

func TestFaultRenameMatchesEitherName(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "/a", "", false)
	writeFile(t, m, "/c", "", false)
	m.Inject(Fault{Op: OpRename, PathContains: "MANIFEST", Sticky: true})
	if err := m.Rename("/a", "/MANIFEST"); !errors.Is(err, ErrInjected) {
		t.Fatalf("rename to MANIFEST: %v", err)
	}
	writeFile(t, m, "/MANIFEST-old", "", false)
	if err := m.Rename("/MANIFEST-old", "/b"); !errors.Is(err, ErrInjected) {
		t.Fatalf("rename from MANIFEST: %v", err)
	}
	mustOK(t, m.Rename("/a", "/b"))
	var le *os.LinkError
	err := m.Rename("/c", "/MANIFEST")
	if !errors.As(err, &le) || le.Old != "/c" || le.New != "/MANIFEST" {
		t.Fatalf("rename error %#v is not a LinkError naming both paths", err)
	}
}

func TestFaultsSurviveCrash(t *testing.T) {
	m := NewMemFS()
	m.Inject(Fault{Op: OpCreate, Sticky: true})
	m.Crash()
	if _, err := m.Create("/x"); !errors.Is(err, ErrInjected) {
		t.Fatalf("Create after crash: %v", err)
	}
	m.ClearFaults()
	writeFile(t, m, "/x", "", false)
}

func TestInjectInvalidOpPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Inject(Op 0) did not panic")
		}
	}()
	NewMemFS().Inject(Fault{})
}

func TestOpsCounters(t *testing.T) {
	m := NewMemFS()
	writeFile(t, m, "/a", "x", true) // create, write, sync
	_, _ = m.Open("/a")
	_, _ = m.Open("/missing") // failed operations count too
	_ = m.Rename("/a", "/b")
	_ = m.Remove("/b")
	_ = m.SyncDir("/")
	f, _ := m.Create("/c")
	_ = f.Truncate(3)
	_, _ = f.ReadAt(make([]byte, 3), 0)
	_ = Allocate(f, 0, 10)
	_ = DontNeed(f, 0, 0)
	_ = Datasync(f) // counted as a sync
	_ = f.Close()
	_, _ = f.Write([]byte("x")) // closed handle: not counted
	want := map[Op]int{
		OpCreate: 2, OpWrite: 1, OpSync: 2, OpOpen: 2, OpRename: 1,
		OpRemove: 1, OpSyncDir: 1, OpTruncate: 1, OpRead: 1, OpAllocate: 1, OpAdvise: 1,
	}
	for op, n := range want {
		if got := m.Ops(op); got != n {
			t.Errorf("Ops(%v) = %d, want %d", op, got, n)
		}
	}
	if m.Ops(0) != 0 || m.Ops(numOps) != 0 {
		t.Error("Ops of an invalid Op is not 0")
	}
	if s := Op(99).String(); s != "Op(99)" {
		t.Errorf("Op(99).String() = %q", s)
	}
}

// TestMemFSConcurrent exercises every method from several goroutines, with
// crashes and faults mixed in, for the race detector.
func TestMemFSConcurrent(t *testing.T) {
	m := NewMemFS()
	mustOK(t, m.MkdirAll("/d"))
	const writers, rounds = 4, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprintf("/d/f%d", w)
			var f File
			for i := range rounds {
				if f == nil {
					var err error
					if f, err = m.Create(name); err != nil {
						continue // injected
					}
				}
				_, errW := f.Write([]byte("record;"))
				errS := f.Sync()
				_ = m.SyncDir("/d")
				p := make([]byte, 7)
				_, errR := f.ReadAt(p, 0)
				if i%10 == 9 {
					_ = m.Rename(name, name+".old")
					_ = m.Remove(name + ".old")
				}
				for _, err := range []error{errW, errS, errR} {
					switch {
					case err == nil, err == io.EOF, errors.Is(err, ErrInjected):
					case errors.Is(err, ErrCrashed):
						f = nil
					default:
						t.Errorf("writer %d: %v", w, err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := range rounds {
			_, _ = m.ReadDir("/d")
			_, _ = m.Stat("/d/f0")
			if f, err := m.Open("/d/f1"); err == nil {
				_, _ = f.Size()
				_ = f.Close()
			}
			switch i % 25 {
			case 5:
				m.Inject(Fault{Op: OpSync, PathContains: "f2", Sticky: true})
			case 10:
				m.ClearFaults()
			case 20:
				m.Crash()
			case 24:
				m.CrashKeepingSome(rand.New(rand.NewPCG(uint64(i), 1)))
			}
			_ = m.Ops(OpWrite)
		}
	})
	wg.Wait()
}
