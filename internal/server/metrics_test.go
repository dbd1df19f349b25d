package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
)

func TestMetricsAndHealth(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "obs", 1)
	if _, err := ts.kc.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("obs"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}}); err != nil {
		t.Fatal(err)
	}
	putTo(t, ts, "obs", []byte("hello"), []byte("world!"))
	it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("obs"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if _, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(ts.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`rheos_kinesis_incoming_records_total{stream="obs"} 2`,
		`rheos_kinesis_incoming_bytes_total{stream="obs"}`,
		`rheos_kinesis_outgoing_records_total{stream="obs"} 2`,
		`rheos_kinesis_get_records_iterator_age_milliseconds{stream="obs"} 0`,
		`rheos_request_duration_seconds_count{operation="PutRecord",outcome="success",service="kinesis"} 2`,
		`rheos_log_fsync_duration_seconds_count`,
		`rheos_log_committed_bytes_total`,
		`rheos_log_disk_free_bytes`,
		`rheos_log_segments 1`,
		`rheos_log_unsynced_bytes 0`,
		`rheos_kinesis_shard_incoming_records_total{shard="shardId-000000000000",stream="obs"} 2`,
		`rheos_kinesis_shard_outgoing_records_total{shard="shardId-000000000000",stream="obs"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestAdminAddress(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.AdminAddr = "127.0.0.1:0" })
	// The API port no longer serves /metrics; the admin address does.
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("/metrics still served on the API port")
	}
	resp, err = http.Get("http://" + ts.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("admin /metrics = %d", resp.StatusCode)
	}
}
