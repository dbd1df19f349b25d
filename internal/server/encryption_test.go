package server_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/envelope"
)

// dirContains reports whether any file under dir contains marker.
func dirContains(t *testing.T, dir string, marker []byte) bool {
	t.Helper()
	found := false
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, marker) {
			found = true
			t.Logf("marker found in %s", path)
		}
		return nil
	})
	return found
}

func TestEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, nil)
	ctx := context.Background()
	ts.createStream(t, "enc", 1)
	if _, err := ts.kc.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc"),
		EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
		t.Fatal(err)
	}
	sum := ts.waitActive(t, "enc")
	if sum.EncryptionType != types.EncryptionTypeKms || aws.ToString(sum.KeyId) != "alias/aws/kinesis" {
		t.Fatalf("summary: %s %s", sum.EncryptionType, aws.ToString(sum.KeyId))
	}
	marker := []byte("RHEOS-MARKER-7f3a9c")
	put := func(data []byte) {
		t.Helper()
		out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("enc"), PartitionKey: aws.String("k"), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if out.EncryptionType != types.EncryptionTypeKms {
			t.Fatalf("PutRecord EncryptionType = %q", out.EncryptionType)
		}
	}
	for i := 0; i < 20; i++ {
		put(append(append([]byte{}, marker...), byte('a'+i)))
	}
	readAll := func(ts *testServer) []types.Record {
		t.Helper()
		it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("enc"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		return ts.readAll(t, it)
	}
	check := func(ts *testServer, n int, when string) {
		t.Helper()
		recs := readAll(ts)
		if len(recs) != n {
			t.Fatalf("%s: %d records, want %d", when, len(recs), n)
		}
		for _, r := range recs {
			if !bytes.HasPrefix(r.Data, marker) || r.EncryptionType != types.EncryptionTypeKms {
				t.Fatalf("%s: record %q (%s) is not the plaintext", when, r.Data, r.EncryptionType)
			}
		}
		if dirContains(t, dir, marker) {
			t.Fatalf("%s: the plaintext marker is on disk under the data directory", when)
		}
	}
	check(ts, 20, "after the puts")
	ts.stop()
	ts = startServer(t, dir, nil)
	check(ts, 20, "after a restart")

	// Rotate the master key: old data stays readable; new data keys use the
	// new version.
	ts.stop()
	kr, err := envelope.OpenKeyring(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Rotate("alias/aws/kinesis"); err != nil {
		t.Fatal(err)
	}
	ts = startServer(t, dir, nil)
	if _, err := ts.kc.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String("enc"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "enc")
	if _, err := ts.kc.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("enc"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "enc")
	put(append(append([]byte{}, marker...), 'z'))
	check(ts, 21, "after a master-key rotation")
	if st, _ := os.Stat(filepath.Join(dir, "keyring.json")); st.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode %v", st.Mode().Perm())
	}
}
