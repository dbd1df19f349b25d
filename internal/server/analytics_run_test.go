package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	ka "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics"
	kat "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics/types"
)

// readRows reads a one-shard stream of JSON rows from TRIM_HORIZON until want records
// arrived (or 20 s passed), then 300 ms more to catch extra ones.
func (ts *testServer) readRows(t *testing.T, stream string, want int) []map[string]any {
	t.Helper()
	ctx := context.Background()
	it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	iter := it.ShardIterator
	deadline := time.Now().Add(20 * time.Second)
	var settle time.Time
	for {
		res, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Records {
			var m map[string]any
			if err := json.Unmarshal(r.Data, &m); err != nil {
				t.Fatalf("output record %q: %v", r.Data, err)
			}
			out = append(out, m)
		}
		iter = res.NextShardIterator
		if len(out) >= want && settle.IsZero() {
			settle = time.Now().Add(300 * time.Millisecond)
		}
		if !settle.IsZero() && time.Now().After(settle) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func waitAppStatus(t *testing.T, c *ka.Client, name string, want kat.ApplicationStatus) *kat.ApplicationDetail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.DescribeApplication(context.Background(), &ka.DescribeApplicationInput{ApplicationName: aws.String(name)})
		if err == nil && d.ApplicationDetail.ApplicationStatus == want {
			return d.ApplicationDetail
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s not %s: %v %v", name, want, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAnalyticsRunsApplication: an application reads a Data Stream, its
// pump filters and computes, and its output stream's rows arrive in a Data
// Stream as JSON; a live update changes the computation; after a stop,
// records put meanwhile are read from LAST_STOPPED_POINT, none lost or
// repeated.
func TestAnalyticsRunsApplication(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "ticks", 1)
	ts.createStream(t, "doubled", 1)
	c, _ := ts.analyticsClients()
	code := func(factor int) string {
		return fmt.Sprintf(`CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), price DOUBLE, n INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker, price * %d, n FROM "SOURCE_SQL_STREAM_001" WHERE price > 10;`, factor)
	}
	in := kat.Input{NamePrefix: aws.String("SOURCE_SQL_STREAM"),
		KinesisStreamsInput: &kat.KinesisStreamsInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/ticks"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")},
		InputSchema: &kat.SourceSchema{
			RecordFormat: &kat.RecordFormat{RecordFormatType: kat.RecordFormatTypeJson,
				MappingParameters: &kat.MappingParameters{JSONMappingParameters: &kat.JSONMappingParameters{RecordRowPath: aws.String("$")}}},
			RecordColumns: []kat.RecordColumn{
				{Name: aws.String("TICKER"), SqlType: aws.String("VARCHAR(4)"), Mapping: aws.String("$.ticker")},
				{Name: aws.String("PRICE"), SqlType: aws.String("DOUBLE"), Mapping: aws.String("$.price")},
				{Name: aws.String("N"), SqlType: aws.String("INTEGER"), Mapping: aws.String("$.n")}},
		}}
	out := kat.Output{Name: aws.String("DESTINATION_SQL_STREAM"), DestinationSchema: &kat.DestinationSchema{RecordFormatType: kat.RecordFormatTypeJson},
		KinesisStreamsOutput: &kat.KinesisStreamsOutput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/doubled"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")}}
	if _, err := c.CreateApplication(ctx, &ka.CreateApplicationInput{ApplicationName: aws.String("doubler"), ApplicationCode: aws.String(code(2)),
		Inputs: []kat.Input{in}, Outputs: []kat.Output{out}}); err != nil {
		t.Fatal(err)
	}
	put := func(from, to int) {
		t.Helper()
		var entries []ktypes.PutRecordsRequestEntry
		for n := from; n < to; n++ {
			entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("k"),
				Data: fmt.Appendf(nil, `{"ticker":"T%d","price":%d,"n":%d}`, n%3, 5+n, n)})
		}
		if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ticks"), Records: entries}); err != nil {
			t.Fatal(err)
		}
	}
	put(0, 10) // prices 5..14: n 6..9 pass the filter
	if _, err := c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("doubler"),
		InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
			InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionTrimHorizon}}}}); err != nil {
		t.Fatal(err)
	}
	waitAppStatus(t, c, "doubler", kat.ApplicationStatusRunning)
	got := ts.readRows(t, "doubled", 4)
	if len(got) != 4 || got[0]["TICKER"] != "T0" || got[0]["PRICE"] != 22.0 || got[0]["N"] != 6.0 {
		t.Fatalf("first output %v", got)
	}
	// A live update: the factor becomes 3 for what is read next.
	d := waitAppStatus(t, c, "doubler", kat.ApplicationStatusRunning)
	if _, err := c.UpdateApplication(ctx, &ka.UpdateApplicationInput{ApplicationName: aws.String("doubler"), CurrentApplicationVersionId: d.ApplicationVersionId,
		ApplicationUpdate: &kat.ApplicationUpdate{ApplicationCodeUpdate: aws.String(code(3))}}); err != nil {
		t.Fatal(err)
	}
	waitAppStatus(t, c, "doubler", kat.ApplicationStatusRunning)
	put(10, 12)
	got = ts.readRows(t, "doubled", 6)
	if len(got) != 6 || got[4]["PRICE"] != 45.0 || got[5]["N"] != 11.0 {
		t.Fatalf("after the update %v", got)
	}
	// Stop, put while stopped, resume from LAST_STOPPED_POINT.
	if _, err := c.StopApplication(ctx, &ka.StopApplicationInput{ApplicationName: aws.String("doubler")}); err != nil {
		t.Fatal(err)
	}
	waitAppStatus(t, c, "doubler", kat.ApplicationStatusReady)
	put(12, 20)
	if _, err := c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("doubler"),
		InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
			InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionLastStoppedPoint}}}}); err != nil {
		t.Fatal(err)
	}
	got = ts.readRows(t, "doubled", 14)
	var ns []int
	for _, r := range got {
		ns = append(ns, int(r["N"].(float64)))
	}
	sort.Ints(ns)
	if fmt.Sprint(ns) != "[6 7 8 9 10 11 12 13 14 15 16 17 18 19]" {
		t.Fatalf("n over the stop: %v (want each of 6..19 once)", ns)
	}
}
