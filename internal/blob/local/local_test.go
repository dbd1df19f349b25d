package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rheos/rheos/internal/blob"
	"github.com/rheos/rheos/internal/blob/blobtest"
	"github.com/rheos/rheos/internal/blob/local"
)

func open(t *testing.T, dir string) *local.Store {
	t.Helper()
	s, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the blob.Store suite on a directory.
func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, t.TempDir()) })
}

// TestReopen: blobs survive reopening; a body left in tmp/ by a crash is
// removed and never listed.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	blobtest.Put(t, s, "seg/1", []byte("one"))
	if err := os.WriteFile(filepath.Join(dir, "tmp", "leftover"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if got := blobtest.Read(t, s, "seg/1", 0, -1); string(got) != "one" {
		t.Fatalf("after reopen: %q", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp/ not emptied: %v", ents)
	}
}

// TestLayout pins the key-to-path mapping (part of the on-disk format).
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for key, path := range map[string]string{
		"seg/s1/000001.log": "obj/seg/s1/000001.log~",
		"a b/é~":            "obj/a%20b/%C3%A9%7E~",
		"dir":               "obj/dir~",
		"dir/x":             "obj/dir/x~",
	} {
		blobtest.Put(t, s, key, []byte(key))
		if _, err := os.Stat(filepath.Join(dir, path)); err != nil {
			t.Errorf("%q: %v", key, err)
		}
	}
	// A segment whose escaped name exceeds 255 bytes is refused here.
	long := strings.Repeat("é", 100) // 200 bytes, 600 escaped
	if err := s.Delete(t.Context(), long); !errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("long segment: %v", err)
	}
	// Deleting the last blob of a directory removes the emptied directories.
	if err := s.Delete(t.Context(), "seg/s1/000001.log"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "obj/seg")); !os.IsNotExist(err) {
		t.Fatalf("emptied directory kept: %v", err)
	}
}
