package loadtest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/loadtest"
	"github.com/rheos/rheos/internal/server"
)

// TestRunAgainstServer runs the load tool for a moment with each client and
// operation against an in-process server and checks that every acknowledged
// record was read back exactly once.
func TestRunAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.CreateDelay = config.Duration(time.Millisecond)
	cfg.LogLevel = "warn"
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, nil, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	defer func() { cancel(); <-done }()

	for _, tc := range []struct {
		client, op string
		efo        bool
	}{
		{"lean", "putrecords", false}, {"sdk", "putrecords", false}, {"lean", "putrecord", false}, {"sdk", "putrecord", false},
		{"lean", "putrecords", true},
	} {
		name := tc.client + "-" + tc.op
		if tc.efo {
			name += "-efo"
		}
		t.Run(name, func(t *testing.T) {
			c := loadtest.DefaultConfig()
			c.Endpoint = "http://" + srv.Addr()
			c.Stream = "bench-" + name
			c.EFO = tc.efo
			c.Shards = 3
			c.Client, c.Op = tc.client, tc.op
			c.RecordSize = 100
			c.Batch = 50
			c.Producers = 2
			c.Duration = 300 * time.Millisecond
			c.PollInterval = 20 * time.Millisecond
			c.ServerPID = os.Getpid() // the server runs in this process
			var progress strings.Builder
			res, err := loadtest.Run(ctx, c, &progress)
			if err != nil {
				t.Fatal(err)
			}
			var report strings.Builder
			res.WriteText(&report)
			t.Log("\n" + report.String())
			cr := res.Consumers
			if res.Records == 0 || cr == nil || cr.Read == 0 {
				t.Fatalf("records %d, consumers %+v: want records written and read", res.Records, cr)
			}
			if res.Failed != 0 || cr.Lost != 0 || cr.Duplicated != 0 || cr.Foreign != 0 || cr.Corrupt != 0 || !cr.CaughtUp {
				t.Fatalf("failed %d, consumers %+v: want nothing failed, lost, duplicated, foreign or corrupt", res.Failed, cr)
			}
			if cr.Read != res.Records || cr.Consumers != 3 || res.Shards != 3 {
				t.Fatalf("read %d of %d records with %d consumers on %d shards", cr.Read, res.Records, cr.Consumers, res.Shards)
			}
			if res.PutLatency.P50 <= 0 || cr.PutGet.P99 <= 0 || res.Server == nil || res.Server.PeakRSSMiB <= 0 {
				t.Fatalf("figures missing: %+v %+v %+v", res.PutLatency, cr.PutGet, res.Server)
			}
			if !res.StreamDeleted {
				t.Fatal("the run did not delete the stream it created")
			}
		})
	}
	// The bench leaves no stream behind unless asked to keep it, and never
	// deletes one it did not create.
	kc := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + srv.Addr()),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	list := func() []string {
		out, err := kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range out.StreamSummaries {
			if s.StreamStatus != types.StreamStatusDeleting {
				names = append(names, aws.ToString(s.StreamName))
			}
		}
		return names
	}
	if left := list(); len(left) != 0 {
		t.Fatalf("streams left behind by the runs: %v", left)
	}
	for _, keep := range []bool{true, false} { // the second run finds the kept stream: not its own to delete
		c := loadtest.DefaultConfig()
		c.Endpoint, c.Stream, c.Shards, c.Keep = "http://"+srv.Addr(), "kept", 1, keep
		c.RecordSize, c.Batch, c.Producers, c.Duration, c.Consumers = 100, 10, 1, 100*time.Millisecond, false
		if res, err := loadtest.Run(ctx, c, nil); err != nil || res.StreamDeleted {
			t.Fatalf("keep=%v: %v, deleted %v", keep, err, res != nil && res.StreamDeleted)
		}
		if left := list(); len(left) != 1 || left[0] != "kept" {
			t.Fatalf("keep=%v: streams %v, want [kept]", keep, left)
		}
	}
}
