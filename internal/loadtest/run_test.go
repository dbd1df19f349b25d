package loadtest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

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
		})
	}
}
