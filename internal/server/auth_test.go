package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rheos/rheos/internal/config"
)

func TestSigV4Verification(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
		c.Principals = []config.Principal{{Name: "other", AccessKeyID: "AKIDOTHER", SecretAccessKey: "other-secret", Account: "111122223333"}}
	})
	ctx := context.Background()
	as := func(akid, secret string) *kinesis.Client {
		return kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.url), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	}
	root := as("AKIDROOT", "root-secret")
	if _, err := root.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("signed"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("correctly signed request refused: %v", err)
	}
	_, err := as("AKIDROOT", "wrong").ListStreams(ctx, &kinesis.ListStreamsInput{})
	wantErrMatch(t, err, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided")
	_, err = as("AKIDNOBODY", "x").ListStreams(ctx, &kinesis.ListStreamsInput{})
	wantErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	// Each principal acts in its own account.
	out, err := as("AKIDOTHER", "other-secret").ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || len(out.StreamNames) != 0 {
		t.Fatalf("other account sees %v, %v", out.StreamNames, err)
	}
	_, err = as("AKIDOTHER", "other-secret").DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("signed")})
	wantErr(t, err, "ResourceNotFoundException", "Stream signed under account 111122223333 not found.")
}
