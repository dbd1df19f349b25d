package server_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
)

// wantPrivate fails for every file or directory under root that its group
// or other users may access.
func wantPrivate(t *testing.T, root string) (files int) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, readable by others", path, info.Mode().Perm())
		}
		if !d.IsDir() {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDataDirPrivate (issue 20, point 11a): after a server has written
// records (an encrypted stream and a plain one, over a restart so segments
// are sealed and indexed), generated its TLS certificate and created the
// functions' code directory, nothing in the data directory is readable by
// other users; a data directory an older version left 0755 with 0644 files
// is tightened at start.
func TestDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, d := range []string{dir, filepath.Join(dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
	}
	old := filepath.Join(dir, "log", "left-by-an-older-version")
	if err := os.WriteFile(old, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(old, 0o644)
	mut := func(c *config.Config) {
		c.TLSAddr, c.FunctionsExec, c.SegmentBytes = "127.0.0.1:0", true, 1<<20
	}
	ctx := context.Background()
	ts := startServer(t, dir, mut)
	for _, name := range []string{"plain", "sealed"} {
		ts.createStream(t, name, 2)
		ts.waitActive(t, name)
	}
	if _, err := ts.kc.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("sealed"),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "sealed")
	big := make([]byte, 200<<10)
	for i := 0; i < 8; i++ { // more than a segment: one is sealed and indexed
		putTo(t, ts, "plain", big)
		putTo(t, ts, "sealed", big)
	}
	ts.stop()
	ts = startServer(t, dir, mut)
	putTo(t, ts, "plain", []byte("after restart"))
	ts.stop()

	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode %v, %v; want 0700", st.Mode().Perm(), err)
	}
	for _, want := range []string{"keyring.json", "meta.db", "rheos.lock", "tls/self-signed.pem", "functions", "log"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("expected %s in the data directory: %v", want, err)
		}
	}
	if n := wantPrivate(t, dir); n < 8 {
		t.Errorf("only %d files in the data directory", n)
	}
}

// TestKeyringOutsideDataDir (issue 20, point 11b): kms.keyring puts the
// master keys where the data is not (its directory is created 0700); the
// data directory then holds no keyring, and encrypted records still read
// back, after a restart too.
func TestKeyringOutsideDataDir(t *testing.T) {
	dir := t.TempDir()
	keyring := filepath.Join(t.TempDir(), "secrets", "rheos", "keyring.json")
	mut := func(c *config.Config) { c.Keyring = keyring }
	ts := startServer(t, dir, mut)
	ctx := context.Background()
	ts.createStream(t, "enc", 1)
	ts.waitActive(t, "enc")
	if _, err := ts.kc.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc"),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "enc")
	putTo(t, ts, "enc", []byte("sealed elsewhere"))
	ts.stop()

	st, err := os.Stat(keyring)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keyring at the configured path: %v, %v", st, err)
	}
	if st, err := os.Stat(filepath.Dir(keyring)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("keyring directory: %v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring.json")); !os.IsNotExist(err) {
		t.Fatalf("a keyring in the data directory: %v", err)
	}
	ts = startServer(t, dir, mut)
	it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("enc"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if recs := ts.readAll(t, it); len(recs) != 1 || string(recs[0].Data) != "sealed elsewhere" {
		t.Fatalf("read back %d records", len(recs))
	}
}
