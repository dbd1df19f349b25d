package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/rheos/rheos/internal/config"
)

// TestEncryptionWithKMSAPI wraps data keys with a KMS-compatible server:
// moto's, from the machine image's Python.
func TestEncryptionWithKMSAPI(t *testing.T) {
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatal("moto_server (Python moto, in the machine image) is required for the KMS-API provider test: ", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(moto, "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if resp, err := http.Get(endpoint + "/"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 300 {
			t.Fatal("moto_server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx := context.Background()
	kc := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	key, err := kc.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := aws.ToString(key.KeyMetadata.KeyId)

	dir := t.TempDir()
	ts := startServer(t, dir, func(c *config.Config) {
		c.KMSEndpoint, c.KMSAccessKeyID, c.KMSSecretAccessKey = endpoint, "test", "test"
	})
	ts.createStream(t, "kms", 1)
	if _, err := ts.kc.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("kms"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "kms")
	marker := []byte("KMS-MARKER-51b2e0")
	if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("kms"), PartitionKey: aws.String("k"), Data: marker}); err != nil {
		t.Fatal(err)
	}
	it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("kms"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	recs := ts.readAll(t, it)
	if len(recs) != 1 || string(recs[0].Data) != string(marker) {
		t.Fatalf("read %v", recs)
	}
	if dirContains(t, dir, marker) {
		t.Fatal("plaintext marker on disk")
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring.json")); err == nil {
		t.Fatal("a local keyring was created although a KMS endpoint is configured")
	}
	// An unknown key id maps to KMSNotFoundException.
	ts.createStream(t, "kms2", 1)
	_, err = ts.kc.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("kms2"), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("00000000-0000-0000-0000-000000000000")})
	wantErrMatch(t, err, "KMSNotFoundException", "")
}
