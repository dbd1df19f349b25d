package functions

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestUnzipPrivate: unpacked code is the server user's alone (it sits in
// the data directory): directories 0700, files 0600, executables and
// bootstrap 0700, whatever modes the zip carries.
func TestUnzipPrivate(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, mode os.FileMode) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if mode&os.ModeDir == 0 {
			w.Write([]byte("x"))
		}
	}
	add("lib/", os.ModeDir|0o777)
	add("lib/util.js", 0o666)
	add("index.js", 0o644)
	add("bin/tool", 0o755)
	add("bootstrap", 0o644)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "code")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unzip(buf.Bytes(), dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{
		"lib": 0o700, "lib/util.js": 0o600, "index.js": 0o600, "bin": 0o700, "bin/tool": 0o700, "bootstrap": 0o700,
	} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
}
