//go:build linux

package vfs

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOSAllocateReserves checks on the real filesystem that Allocate
// reserves blocks past the end without changing the size, and that Truncate
// to the size releases them (where the filesystem supports fallocate).
func TestOSAllocateReserves(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	writeFile(t, OS{}, name, "", false)
	f, err := OS{}.OpenAppend(name)
	mustOK(t, err)
	defer f.Close()
	mustWrite(t, f, "abc")
	blocks := func() int64 {
		var st syscall.Stat_t
		mustOK(t, syscall.Stat(name, &st))
		return st.Blocks * 512
	}
	if err := Allocate(f, 0, 8<<20); errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("fallocate unsupported here: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	if n, _ := f.Size(); n != 3 {
		t.Fatalf("Size = %d after Allocate, want 3", n)
	}
	if b := blocks(); b < 8<<20 {
		t.Fatalf("%d bytes of blocks after Allocate, want >= %d", b, 8<<20)
	}
	mustOK(t, Datasync(f))
	mustOK(t, f.Truncate(3))
	if b := blocks(); b >= 8<<20 {
		t.Errorf("%d bytes of blocks after Truncate to the size: reservation kept", b)
	}
	mustOK(t, DontNeed(f, 0, 0))
	wantContent(t, OS{}, name, "abc")
}
