package server

import (
	"bytes"
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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

// builtinObjects writes objects into the built-in S3 (durable on local disk
// when PutObject returns), in the writer's account: Firehose's S3
// destinations (the delivery stream's account) and event source mappings'
// S3 OnFailure destinations (the mapping's).
type builtinObjects struct{ st *objectstore.Store }

func (b builtinObjects) PutObject(ctx context.Context, account, bucket, key string, body []byte, contentType string) error {
	_, err := b.st.PutObject(ctx, account, bucket, key, bytes.NewReader(body), int64(len(body)), contentType)
	return err
}

// noObjects answers when no object store exists for a destination.
type noObjects struct{}

func (noObjects) PutObject(context.Context, string, string, string, []byte, string) error {
	return errors.New("no S3 object store: configure firehose.s3Endpoint")
}
