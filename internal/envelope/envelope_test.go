package envelope

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rheos/rheos/internal/vfs"
)

func TestKeyringEnvelope(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring.json")
	kr, err := OpenKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode %v, want 0600", st.Mode().Perm())
	}
	ec := map[string]string{"aws:kinesis:arn": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}
	dk, wrapped, err := kr.GenerateDataKey(ctx, "alias/aws/kinesis", ec)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := Seal(nil, dk, 7, []byte("secret payload"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("plaintext visible in the sealed record")
	}
	if ref, _ := KeyRef(sealed); ref != 7 {
		t.Fatalf("key ref %d", ref)
	}
	// Rotation keeps old data keys readable; a reopened keyring too.
	if err := kr.Rotate("alias/aws/kinesis"); err != nil {
		t.Fatal(err)
	}
	kr2, err := OpenKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	dk2, err := kr2.Decrypt(ctx, wrapped, ec)
	if err != nil || !bytes.Equal(dk, dk2) {
		t.Fatalf("unwrap after rotation: %v", err)
	}
	pt, err := Open(dk2, sealed, []byte("aad"))
	if err != nil || string(pt) != "secret payload" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	// The encryption context is bound: another stream cannot unwrap it.
	if _, err := kr2.Decrypt(ctx, wrapped, map[string]string{"aws:kinesis:arn": "other"}); err == nil {
		t.Fatal("a wrapped key opened under another context")
	}
	if _, err := Open(dk2, sealed, []byte("other aad")); err == nil {
		t.Fatal("a record opened with other associated data")
	}
	_, w3, _ := kr2.GenerateDataKey(ctx, "alias/aws/kinesis", ec)
	if bytes.Equal(w3[5+len("alias/aws/kinesis"):5+len("alias/aws/kinesis")+4], wrapped[5+len("alias/aws/kinesis"):5+len("alias/aws/kinesis")+4]) {
		t.Fatal("new data keys do not use the rotated master key")
	}
}

func FuzzOpen(f *testing.F) {
	dk := bytes.Repeat([]byte{1}, 32)
	s, _ := Seal(nil, dk, 1, []byte("x"), nil)
	f.Add(s)
	f.Fuzz(func(t *testing.T, sealed []byte) {
		Open(dk, sealed, nil)
		KeyRef(sealed)
	})
}

func newMemKeyring(t *testing.T) (*vfs.MemFS, string) {
	t.Helper()
	m := vfs.NewMemFS()
	if err := m.MkdirAll("/data"); err != nil {
		t.Fatal(err)
	}
	return m, "/data/keyring.json"
}

// TestKeyringSurvivesCrash: a master key that wrapped a data key is still in
// the keyring after power loss, and the file stays 0600.
func TestKeyringSurvivesCrash(t *testing.T) {
	ctx := context.Background()
	m, path := newMemKeyring(t)
	kr, err := OpenKeyring(path, WithFS(m))
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"aws:kinesis:arn": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}
	dk, wrapped, err := kr.GenerateDataKey(ctx, "alias/aws/kinesis", ec)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Rotate("alias/aws/kinesis"); err != nil {
		t.Fatal(err)
	}
	dk2, wrapped2, err := kr.GenerateDataKey(ctx, "alias/aws/kinesis", ec)
	if err != nil {
		t.Fatal(err)
	}
	m.Crash()
	kr2, err := OpenKeyring(path, WithFS(m))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ dk, wrapped []byte }{{dk, wrapped}, {dk2, wrapped2}} {
		got, err := kr2.Decrypt(ctx, c.wrapped, ec)
		if err != nil || !bytes.Equal(got, c.dk) {
			t.Fatalf("data key %d after a crash: %v", i, err)
		}
	}
	if p, err := m.Perm(path); err != nil || p != 0o600 {
		t.Fatalf("keyring mode %v, %v; want 0600", p, err)
	}
	// A new, empty keyring is durable too.
	m2, path2 := newMemKeyring(t)
	if _, err := OpenKeyring(path2, WithFS(m2)); err != nil {
		t.Fatal(err)
	}
	m2.Crash()
	if b, err := vfs.ReadFile(m2, path2); err != nil || string(b) != "{}" {
		t.Fatalf("new keyring after a crash = %q, %v", b, err)
	}
}

// TestKeyringFailedSaveForgetsKey: when saving a new master key fails, no
// data key is wrapped under it, now or later.
func TestKeyringFailedSaveForgetsKey(t *testing.T) {
	ctx := context.Background()
	ec := map[string]string{"aws:kinesis:arn": "arn"}
	for _, op := range []vfs.Op{vfs.OpWrite, vfs.OpSync, vfs.OpRename, vfs.OpSyncDir} {
		t.Run(op.String(), func(t *testing.T) {
			m, path := newMemKeyring(t)
			kr, err := OpenKeyring(path, WithFS(m))
			if err != nil {
				t.Fatal(err)
			}
			m.Inject(vfs.Fault{Op: op})
			if _, _, err := kr.GenerateDataKey(ctx, "k", ec); err == nil {
				t.Fatalf("GenerateDataKey succeeded although saving the key failed (%s)", op)
			}
			dk, wrapped, err := kr.GenerateDataKey(ctx, "k", ec)
			if err != nil {
				t.Fatal(err)
			}
			m.Inject(vfs.Fault{Op: op})
			if err := kr.Rotate("k"); err == nil {
				t.Fatalf("Rotate succeeded although saving failed (%s)", op)
			}
			dk2, wrapped2, err := kr.GenerateDataKey(ctx, "k", ec)
			if err != nil {
				t.Fatal(err)
			}
			m.Crash()
			kr2, err := OpenKeyring(path, WithFS(m))
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range []struct{ dk, wrapped []byte }{{dk, wrapped}, {dk2, wrapped2}} {
				if got, err := kr2.Decrypt(ctx, c.wrapped, ec); err != nil || !bytes.Equal(got, c.dk) {
					t.Fatalf("data key %d after a crash: %v", i, err)
				}
			}
		})
	}
}
