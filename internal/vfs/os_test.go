package vfs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOSPrivatePermissions: what OS creates is the owner's alone (files
// 0600, directories 0700), whatever the umask lets through.
func TestOSPrivatePermissions(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	mustOK(t, OS{}.MkdirAll(dir))
	f, err := OS{}.Create(filepath.Join(dir, "seg"))
	mustOK(t, err)
	mustOK(t, f.Close())
	mustOK(t, WriteFileAtomic(OS{}, filepath.Join(dir, "idx"), []byte("x")))
	for name, want := range map[string]os.FileMode{
		filepath.Join(root, "a"): DirPerm, dir: DirPerm,
		filepath.Join(dir, "seg"): FilePerm, filepath.Join(dir, "idx"): FilePerm,
	} {
		st, err := os.Stat(name)
		mustOK(t, err)
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
}
