package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rheos/rheos/internal/blob"
	"github.com/rheos/rheos/internal/blob/blobtest"
	blobs3 "github.com/rheos/rheos/internal/blob/s3"
)

// TestBlobStoreOnBuiltinS3 runs the blob.Store conformance suite with the
// S3 store against this server's built-in S3 (path style, one bucket, a
// fresh prefix per subtest). The built-in S3 honours If-None-Match: * on
// PUT (a conditional write decided in its metadata commit), so Open's probe
// picks the conditional put-if-absent, exact across processes.
func TestBlobStoreOnBuiltinS3(t *testing.T) {
	ts := newServer(t)
	if _, err := ts.s3Client(t, true, "AKIDTEST", "secret").CreateBucket(context.Background(),
		&s3.CreateBucketInput{Bucket: aws.String("blobs")}); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := blobs3.Open(t.Context(), blobs3.Config{
			Bucket: "blobs", Prefix: fmt.Sprintf("t%d/", n.Add(1)), Endpoint: ts.url, PathStyle: true,
			Region: region, AccessKeyID: "AKIDTEST", SecretAccessKey: "secret",
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.Mode() != blobs3.ModeConditional {
			t.Errorf("built-in S3 put-if-absent mode %v, want conditional (If-None-Match: * honoured)", s.Mode())
		}
		return s
	})
}
