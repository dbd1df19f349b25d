package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rheos/rheos/internal/firehose"
	"github.com/rheos/rheos/internal/objectstore"
)

// externalObjects writes Firehose objects to an external S3-compatible
// server with the AWS SDK's S3 client. A PUT is durable when the server
// says so: which servers fsync before answering is in docs/FIREHOSE.md.
type externalObjects struct{ c *s3.Client }

func newExternalObjects(endpoint, region, akid, secret string, pathStyle bool) firehose.ObjectStore {
	return externalObjects{s3.New(s3.Options{
		Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: pathStyle,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""),
	})}
}

func (e externalObjects) PutObject(ctx context.Context, _, bucket, key string, body []byte, contentType string) error {
	_, err := e.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(contentType)})
	return err
}

// GetObject reads an object whole (Iceberg metadata and manifests).
func (e externalObjects) GetObject(ctx context.Context, _, bucket, key string) ([]byte, error) {
	out, err := e.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, fmt.Errorf("%w: s3://%s/%s", fs.ErrNotExist, bucket, key)
		}
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// DeleteObject deletes an object.
func (e externalObjects) DeleteObject(ctx context.Context, _, bucket, key string) error {
	_, err := e.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err
}

// builtinObjects writes objects into the built-in S3 (durable on local disk
// when PutObject returns), in the writer's account: Firehose's S3
// destinations (the delivery stream's account) and event source mappings'
// S3 OnFailure destinations (the mapping's).
type builtinObjects struct{ st *objectstore.Store }

func (b builtinObjects) PutObject(ctx context.Context, account, bucket, key string, body []byte, contentType string) error {
	_, err := b.st.PutObject(ctx, account, bucket, key, bytes.NewReader(body), int64(len(body)), contentType)
	return err
}

// GetObject reads an object whole.
func (b builtinObjects) GetObject(ctx context.Context, account, bucket, key string) ([]byte, error) {
	r, _, err := b.st.GetObject(ctx, account, bucket, key)
	if err != nil {
		if errors.Is(err, objectstore.ErrNoSuchKey) {
			return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
		}
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// DeleteObject deletes an object.
func (b builtinObjects) DeleteObject(ctx context.Context, account, bucket, key string) error {
	return b.st.DeleteObject(ctx, account, bucket, key)
}

// noObjects answers when no object store exists for a destination.
type noObjects struct{}

func (noObjects) PutObject(context.Context, string, string, string, []byte, string) error {
	return errors.New("no S3 object store: configure firehose.s3Endpoint")
}
