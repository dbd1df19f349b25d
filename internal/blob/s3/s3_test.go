package s3_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rheos/rheos/internal/blob"
	"github.com/rheos/rheos/internal/blob/blobtest"
	blobs3 "github.com/rheos/rheos/internal/blob/s3"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want blobs3.Config
	}{
		{"s3://bucket", blobs3.Config{Bucket: "bucket"}},
		{"s3://bucket/", blobs3.Config{Bucket: "bucket"}},
		{"s3://bucket/rheos", blobs3.Config{Bucket: "bucket", Prefix: "rheos/"}},
		{"s3://bucket/a/b/", blobs3.Config{Bucket: "bucket", Prefix: "a/b/"}},
		{"s3://b/p?endpoint=http://127.0.0.1:7070&path-style=true&region=eu-west-1",
			blobs3.Config{Bucket: "b", Prefix: "p/", Endpoint: "http://127.0.0.1:7070", PathStyle: true, Region: "eu-west-1"}},
	} {
		got, err := blobs3.ParseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "bucket/prefix", "http://bucket/x", "s3://", "s3:///x", "s3://b/a//c",
		"s3://u@b/x", "s3://b/x?path-style=maybe", "s3://b/x?acl=public", "s3://b/x#frag"} {
		if got, err := blobs3.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", bad, got)
		}
	}
}

// versitygw starts versitygw (scripts/test-deps.sh installs it) on a temp
// directory and a free port, or skips the test when it is not installed.
func versitygw(t *testing.T) (endpoint, akid, secret string) {
	gw, err := exec.LookPath("versitygw")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		gw = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "versitygw")
		if _, err := os.Stat(gw); err != nil {
			t.Skip("versitygw not installed (scripts/test-deps.sh installs it)")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	akid, secret = "AKIDBLOB", "blob-secret"
	cmd := exec.Command(gw, "--access", akid, "--secret", secret, "--port", addr, "posix", t.TempDir())
	logf, _ := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s", addr)
		}
	}
	return "http://" + addr, akid, secret
}

// TestVersitygw runs the blob.Store suite against versitygw's posix
// backend, endpoint and credentials taken from the environment as the AWS
// SDKs take them.
func TestVersitygw(t *testing.T) {
	endpoint, akid, secret := versitygw(t)
	ctx := context.Background()
	c := awss3.New(awss3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("blobs")}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", akid)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	var n atomic.Int64
	var mode blobs3.Mode
	blobtest.Run(t, func(t *testing.T) blob.Store {
		cfg, err := blobs3.ParseURL(fmt.Sprintf("s3://blobs/t%d?path-style=true", n.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		s, err := blobs3.Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		mode = s.Mode()
		return s
	})
	t.Logf("versitygw put-if-absent: %v", mode)
}
