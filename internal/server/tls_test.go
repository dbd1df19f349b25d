package server_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// TestTLSListener: --tls-addr with a self-signed certificate written to the
// data directory; clients trusting it speak HTTP/2 (ALPN h2), and
// SubscribeToShard streams over it.
func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Addr, cfg.TLSAddr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.CreateDelay = config.Duration(20 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, nil, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	var p http.Protocols
	p.SetHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: selfSignedPool(t, dir)}, ForceAttemptHTTP2: true}}
	url := "https://" + srv.TLSAddr()
	resp, err := hc.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("negotiated %s, want HTTP/2 over TLS", resp.Proto)
	}
	kc := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), Retryer: aws.NopRetryer{}})
	name := aws.String("tls")
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	sum, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: name})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: sum.StreamDescriptionSummary.StreamARN, ConsumerName: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	sub, err := kc.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{ConsumerARN: reg.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	if err != nil {
		t.Fatal(err)
	}
	stream := sub.GetStream()
	defer stream.Close()
	if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String("k"), Data: []byte("over-tls")}); err != nil {
		t.Fatal(err)
	}
	for ev := range stream.Events() {
		e := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if len(e.Value.Records) > 0 {
			if string(e.Value.Records[0].Data) != "over-tls" {
				t.Fatalf("record %q", e.Value.Records[0].Data)
			}
			return
		}
	}
	t.Fatalf("no record pushed: %v", stream.Err())
}
