package envelope

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
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
