package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/sdktest"
)

// h2cClient is an HTTP client speaking HTTP/2 with prior knowledge on
// http:// URLs, as the Java and JS SDKs do.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return sdktest.HTTPClient(&http.Transport{Protocols: &p})
}

func TestEnhancedFanOut(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	const name = "efo"
	ts.createStream(t, name, 1)
	arn := streamARN(name)

	reg, err := ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	carn := aws.ToString(reg.Consumer.ConsumerARN)
	if reg.Consumer.ConsumerStatus != types.ConsumerStatusCreating {
		t.Fatalf("new consumer status %s", reg.Consumer.ConsumerStatus)
	}
	_, err = ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("app")})
	wantErrMatch(t, err, "ResourceInUseException", "already exists")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := ts.kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(carn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			if aws.ToString(d.ConsumerDescription.StreamARN) != arn {
				t.Fatalf("consumer's stream ARN %s", aws.ToString(d.ConsumerDescription.StreamARN))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer never became ACTIVE")
		}
	}
	list, err := ts.kc.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(arn)})
	if err != nil || len(list.Consumers) != 1 || aws.ToString(list.Consumers[0].ConsumerARN) != carn {
		t.Fatalf("ListStreamConsumers = %+v, %v", list, err)
	}
	sum := ts.waitActive(t, name)
	if aws.ToInt32(sum.ConsumerCount) != 1 {
		t.Fatalf("ConsumerCount = %d", aws.ToInt32(sum.ConsumerCount))
	}

	for _, tc := range []struct {
		name   string
		client *http.Client
	}{{"http1.1", nil}, {"h2c", h2cClient()}} {
		t.Run(tc.name, func(t *testing.T) {
			kc := ts.kc
			if tc.client != nil {
				kc = kinesis.New(kinesis.Options{Region: region, BaseEndpoint: aws.String(ts.url), HTTPClient: tc.client,
					Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), Retryer: aws.NopRetryer{}})
			}
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			// The previous subtest's subscription ends once the server sees
			// its connection close: retry while it is still active.
			var sub *kinesis.SubscribeToShardOutput
			var err error
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				sub, err = kc.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{ConsumerARN: aws.String(carn), ShardId: aws.String("shardId-000000000000"),
					StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
				var inUse *types.ResourceInUseException
				if !errors.As(err, &inUse) || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			stream := sub.GetStream()
			defer stream.Close()
			// A second subscription for the same consumer and shard is refused.
			_, err = kc.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{ConsumerARN: aws.String(carn), ShardId: aws.String("shardId-000000000000"),
				StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
			wantErrMatch(t, err, "ResourceInUseException", "Another active subscription")

			want := map[string]bool{}
			start := time.Now()
			for i := 0; i < 20; i++ {
				d := fmt.Sprintf("%s-%d", tc.name, i)
				want[d] = true
				if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String(d), Data: []byte(d)}); err != nil {
					t.Fatal(err)
				}
			}
			var last string
			for len(want) > 0 {
				select {
				case ev, ok := <-stream.Events():
					if !ok {
						t.Fatalf("stream ended early: %v", stream.Err())
					}
					e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
					if !ok {
						t.Fatalf("unexpected event %T", ev)
					}
					for _, r := range e.Value.Records {
						if !want[string(r.Data)] {
							t.Fatalf("unexpected or duplicate record %q", r.Data)
						}
						delete(want, string(r.Data))
						if s := aws.ToString(r.SequenceNumber); last != "" && s <= last {
							t.Fatalf("out of order: %s after %s", s, last)
						}
						last = aws.ToString(r.SequenceNumber)
					}
					if e.Value.ContinuationSequenceNumber == nil {
						t.Fatal("no ContinuationSequenceNumber on an open shard")
					}
				case <-sctx.Done():
					t.Fatalf("%d records never pushed", len(want))
				}
			}
			t.Logf("%s: 20 records pushed in %v", tc.name, time.Since(start))
		})
	}

	// After resharding, a subscription to the closed parent ends with ChildShards.
	if _, err := ts.kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(name), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000")}); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var sub *kinesis.SubscribeToShardOutput
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		sub, err = ts.kc.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{ConsumerARN: aws.String(carn), ShardId: aws.String("shardId-000000000000"),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}})
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	stream := sub.GetStream()
	defer stream.Close()
	got, children := 0, 0
	for ev := range stream.Events() {
		e := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		got += len(e.Value.Records)
		children += len(e.Value.ChildShards)
	}
	if got != 40 || children != 2 {
		t.Fatalf("closed parent: %d records, %d child shards; want 40 and 2 (err %v)", got, children, stream.Err())
	}

	if _, err := ts.kc.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(carn)}); err != nil {
		t.Fatal(err)
	}
}

// TestEnhancedFanOutPacing: in aws mode each consumer gets 2 MiB/s per
// shard; a 4 MiB backlog (2 MiB of burst, then 2 MiB/s) takes at least
// about a second to push, and nothing is lost.
func TestEnhancedFanOutPacing(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "paced", 1)
	if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("paced"), Tags: map[string]string{"rheos.throughput": "off"}}); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 4; b++ { // 4 MiB backlog, written without limits
		recs := make([]types.PutRecordsRequestEntry, 256)
		for i := range recs {
			recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 4096)}
		}
		if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("paced"), Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("paced"), Tags: map[string]string{"rheos.throughput": "aws"}}); err != nil {
		t.Fatal(err)
	}
	reg, err := ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("paced")), ConsumerName: aws.String("slow")})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		d, err := ts.kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: reg.Consumer.ConsumerARN})
		if err == nil && d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			break
		}
		if i > 200 {
			t.Fatal("consumer never ACTIVE")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	sub, err := ts.kc.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{ConsumerARN: reg.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	stream := sub.GetStream()
	defer stream.Close()
	got := 0
	for ev := range stream.Events() {
		got += len(ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent).Value.Records)
		if got >= 1024 {
			break
		}
	}
	took := time.Since(start)
	if got != 1024 {
		t.Fatalf("received %d of 1024 records (%v)", got, stream.Err())
	}
	if took < 800*time.Millisecond {
		t.Fatalf("4 MiB pushed in %v: the 2 MiB/s per-consumer limit was not applied", took)
	}
	t.Logf("4 MiB pushed in %v at 2 MiB/s per consumer", took)
}

// gauge reads one series from the server's /metrics; ok=false when absent.
func gauge(t *testing.T, ts *testServer, series string) (v float64, ok bool) {
	t.Helper()
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, found := strings.CutPrefix(line, series+" "); found {
			v, err := strconv.ParseFloat(rest, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// waitGauge polls series until cond holds for its value (ok=false: absent).
func waitGauge(t *testing.T, ts *testServer, series, what string, cond func(v float64, ok bool) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if v, ok := gauge(t, ts, series); cond(v, ok) {
			return
		}
		if time.Now().After(deadline) {
			v, ok := gauge(t, ts, series)
			t.Fatalf("%s: %s = %v (present %v)", what, series, v, ok)
		}
	}
}

// TestEFOConsumerLag: each SubscribeToShard event's MillisBehindLatest is
// the consumer's lag gauge on its shard; behind a paced backlog it is
// positive, caught up 0; the series goes when the subscription ends and
// when the consumer is deregistered.
func TestEFOConsumerLag(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "lagged", 1)
	tag := func(mode string) {
		t.Helper()
		if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("lagged"), Tags: map[string]string{"rheos.throughput": mode}}); err != nil {
			t.Fatal(err)
		}
	}
	tag("off")
	for b := 0; b < 4; b++ { // a 4 MiB backlog: pushed at 2 MiB/s, it takes a while
		recs := make([]types.PutRecordsRequestEntry, 256)
		for i := range recs {
			recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 4096)}
		}
		if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("lagged"), Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	tag("aws")
	reg, err := ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("lagged")), ConsumerName: aws.String("slow")})
	if err != nil {
		t.Fatal(err)
	}
	carn := reg.Consumer.ConsumerARN
	for i := 0; ; i++ {
		d, err := ts.kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: carn})
		if err == nil && d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			break
		}
		if i > 200 {
			t.Fatal("consumer never ACTIVE")
		}
		time.Sleep(10 * time.Millisecond)
	}
	const series = `rheos_kinesis_consumer_millis_behind_latest{consumer="slow",shard="shardId-000000000000",stream="lagged"}`
	subscribe := func(typ types.ShardIteratorType) *kinesis.SubscribeToShardEventStream {
		t.Helper()
		var sub *kinesis.SubscribeToShardOutput
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			sub, err = ts.kc.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: carn, ShardId: aws.String("shardId-000000000000"),
				StartingPosition: &types.StartingPosition{Type: typ}})
			var inUse *types.ResourceInUseException
			if !errors.As(err, &inUse) || time.Now().After(deadline) { // the previous one may still be ending
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		return sub.GetStream()
	}

	stream := subscribe(types.ShardIteratorTypeTrimHorizon)
	got := make(chan int, 1)
	go func() {
		n := 0
		for ev := range stream.Events() {
			if n += len(ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent).Value.Records); n == 1024 {
				got <- n
			}
		}
	}()
	waitGauge(t, ts, series, "behind the backlog", func(v float64, ok bool) bool { return ok && v > 0 })
	select {
	case <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the backlog was never pushed")
	}
	waitGauge(t, ts, series, "caught up", func(v float64, ok bool) bool { return ok && v == 0 })
	stream.Close()
	waitGauge(t, ts, series, "after the subscription ended", func(_ float64, ok bool) bool { return !ok })

	stream = subscribe(types.ShardIteratorTypeLatest)
	defer stream.Close()
	if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("lagged"), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	<-stream.Events()
	waitGauge(t, ts, series, "subscribed again", func(_ float64, ok bool) bool { return ok })
	if _, err := ts.kc.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: carn}); err != nil {
		t.Fatal(err)
	}
	waitGauge(t, ts, series, "after deregistering", func(_ float64, ok bool) bool { return !ok })
}
