package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

func TestSigV4Verification(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
		c.Principals = []config.Principal{{Name: "other", AccessKeyID: "AKIDOTHER", SecretAccessKey: "other-secret", Account: "111122223333",
			Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":["kinesis:List*","kinesis:Describe*"],"Resource":"*"}]}`)}}}
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

func TestAuthorizationPolicies(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
		c.Principals = []config.Principal{
			{Name: "alice", AccessKeyID: "AKIDALICE", SecretAccessKey: "alice-secret", Policies: []json.RawMessage{json.RawMessage(`{"Statement":[
				{"Effect":"Allow","Action":"kinesis:Put*","Resource":"arn:aws:kinesis:*:000000000000:stream/orders-*"},
				{"Effect":"Allow","Action":"kinesis:Describe*","Resource":"*"},
				{"Effect":"Deny","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:*:stream/orders-secret"}]}`)}},
			{Name: "bob", AccessKeyID: "AKIDBOB", SecretAccessKey: "bob-secret"},
		}
	})
	ctx := context.Background()
	as := func(akid, secret string) *kinesis.Client {
		return kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.url), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	}
	root, alice, bob := as("AKIDROOT", "root-secret"), as("AKIDALICE", "alice-secret"), as("AKIDBOB", "bob-secret")
	for _, name := range []string{"orders-eu", "orders-secret", "payments"} {
		if _, err := root.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	waitActive := func(name string) {
		t.Helper()
		for i := 0; i < 200; i++ {
			out, err := root.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
			if err == nil && out.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s never ACTIVE", name)
	}
	waitActive("payments")
	put := func(c *kinesis.Client, stream string) error {
		_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte("x")})
		return err
	}
	waitActive("orders-eu")
	waitActive("orders-secret")
	if err := put(alice, "orders-eu"); err != nil {
		t.Fatalf("allowed by a wildcard policy: %v", err)
	}
	wantErr(t, put(alice, "payments"), "AccessDeniedException",
		"User: arn:aws:iam::000000000000:user/alice is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:000000000000:stream/payments because no identity-based policy allows the kinesis:PutRecord action")
	wantErrMatch(t, put(alice, "orders-secret"), "AccessDeniedException", "with an explicit deny")
	_, err := alice.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("orders-eu")})
	wantErrMatch(t, err, "AccessDeniedException", "kinesis:DeleteStream")
	// bob has no policy: denied, until a resource policy on the stream allows him.
	wantErrMatch(t, put(bob, "payments"), "AccessDeniedException", "user/bob")
	if _, err := root.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: aws.String(streamARN("payments")),
		Policy: aws.String(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":"kinesis:PutRecord","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if err := put(bob, "payments"); err != nil {
		t.Fatalf("allowed by the stream's resource policy: %v", err)
	}
	wantErrMatch(t, put(bob, "orders-eu"), "AccessDeniedException", "user/bob")
}

func TestCredentialRotationWithoutRestart(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.AuthMode = "127.0.0.1:0", t.TempDir(), "verify"
	cfg.Principals = []config.Principal{{Name: "old", AccessKeyID: "AKIDOLD", SecretAccessKey: "old-secret",
		Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`)}}}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	as := func(akid, secret string) *kinesis.Client {
		return kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + srv.Addr()), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	}
	if _, err := as("AKIDOLD", "old-secret").ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	next := cfg
	next.Principals = []config.Principal{{Name: "new", AccessKeyID: "AKIDNEW", SecretAccessKey: "new-secret",
		Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`)}}}
	if err := srv.ReloadCredentials(next); err != nil {
		t.Fatal(err)
	}
	_, err = as("AKIDOLD", "old-secret").ListStreams(ctx, &kinesis.ListStreamsInput{})
	wantErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	if _, err := as("AKIDNEW", "new-secret").ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	bad := next
	bad.Principals = []config.Principal{{Name: "x", AccessKeyID: "AKIDX", SecretAccessKey: "s", Policies: []json.RawMessage{json.RawMessage(`{"Statement":"nonsense"}`)}}}
	if err := srv.ReloadCredentials(bad); err == nil {
		t.Fatal("an invalid policy was accepted on reload")
	}
	if _, err := as("AKIDNEW", "new-secret").ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("a failed reload changed the credentials: %v", err)
	}
}
