package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	ka "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics"
	kat "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics/types"
)

// BenchmarkAnalyticsLatency measures how long after a PutRecords to the
// input stream an application's rows can be read from its output stream,
// through the whole server (Data Streams in, the SQL engine, Data Streams
// out): a stateless pump (every row, ingest → readable) and a 1-second
// tumbling window (result readable after the window's end). 200 records/s
// for RHEOS_BENCH_SECONDS (default 10 s); p50/p99 reported.
//
//	go test ./internal/server -run '^$' -bench AnalyticsLatency -benchtime 1x
func BenchmarkAnalyticsLatency(b *testing.B) {
	for range b.N {
		ts := newServer(b)
		ctx := context.Background()
		ts.createStream(b, "in", 1)
		ts.createStream(b, "rows", 1)
		ts.createStream(b, "windows", 1)
		c, _ := ts.analyticsClients()
		code := `CREATE OR REPLACE STREAM "ROWS_OUT" (t BIGINT);
CREATE OR REPLACE STREAM "WINDOWS_OUT" (w TIMESTAMP, c BIGINT);
CREATE OR REPLACE PUMP "P1" AS INSERT INTO "ROWS_OUT" SELECT STREAM T FROM "SOURCE_SQL_STREAM_001";
CREATE OR REPLACE PUMP "P2" AS INSERT INTO "WINDOWS_OUT" SELECT STREAM STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND), COUNT(*)
  FROM "SOURCE_SQL_STREAM_001" GROUP BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);`
		out := func(name, stream string) kat.Output {
			return kat.Output{Name: aws.String(name), DestinationSchema: &kat.DestinationSchema{RecordFormatType: kat.RecordFormatTypeJson},
				KinesisStreamsOutput: &kat.KinesisStreamsOutput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/" + stream), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")}}
		}
		_, err := c.CreateApplication(ctx, &ka.CreateApplicationInput{ApplicationName: aws.String("lat"), ApplicationCode: aws.String(code),
			Inputs: []kat.Input{{NamePrefix: aws.String("SOURCE_SQL_STREAM"),
				KinesisStreamsInput: &kat.KinesisStreamsInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/in"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")},
				InputSchema: &kat.SourceSchema{RecordFormat: &kat.RecordFormat{RecordFormatType: kat.RecordFormatTypeJson,
					MappingParameters: &kat.MappingParameters{JSONMappingParameters: &kat.JSONMappingParameters{RecordRowPath: aws.String("$")}}},
					RecordColumns: []kat.RecordColumn{{Name: aws.String("T"), SqlType: aws.String("BIGINT"), Mapping: aws.String("$.t")}}}}},
			Outputs: []kat.Output{out("ROWS_OUT", "rows"), out("WINDOWS_OUT", "windows")}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("lat"), InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
			InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionNow}}}}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the reader opens LATEST
		dur := benchSeconds(10)
		type arrival struct {
			at  time.Time
			val map[string]any
		}
		tail := func(stream string, stop <-chan struct{}) <-chan []arrival {
			done := make(chan []arrival, 1)
			go func() {
				it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
				if err != nil {
					b.Error(err)
					done <- nil
					return
				}
				var got []arrival
				iter := it.ShardIterator
				for {
					res, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
					if err != nil {
						b.Error(err)
						break
					}
					now := time.Now()
					for _, r := range res.Records {
						var m map[string]any
						json.Unmarshal(r.Data, &m)
						got = append(got, arrival{now, m})
					}
					iter = res.NextShardIterator
					select {
					case <-stop:
						done <- got
						return
					default:
					}
					if len(res.Records) == 0 {
						time.Sleep(2 * time.Millisecond)
					}
				}
				done <- got
			}()
			return done
		}
		stop := make(chan struct{})
		rowsC, winC := tail("rows", stop), tail("windows", stop)
		start := time.Now()
		tick := time.NewTicker(5 * time.Millisecond)
		sent := 0
		for time.Since(start) < dur {
			<-tick.C
			now := time.Now().UnixMicro()
			if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("in"), PartitionKey: aws.String("k"),
				Data: fmt.Appendf(nil, `{"t":%d}`, now)}); err != nil {
				b.Fatal(err)
			}
			sent++
		}
		tick.Stop()
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		rows, wins := <-rowsC, <-winC
		var rowLat, winLat []time.Duration
		for _, a := range rows {
			if t, ok := a.val["T"].(float64); ok {
				rowLat = append(rowLat, a.at.Sub(time.UnixMicro(int64(t))))
			}
		}
		for _, a := range wins {
			if w, ok := a.val["W"].(string); ok {
				ws, err := time.Parse("2006-01-02 15:04:05.000", w)
				if err == nil {
					winLat = append(winLat, a.at.Sub(ws.Add(time.Second)))
				}
			}
		}
		if len(rowLat) < sent*9/10 || len(winLat) == 0 {
			b.Fatalf("sent %d, read %d rows and %d windows", sent, len(rowLat), len(winLat))
		}
		pct := func(d []time.Duration, p float64) float64 {
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(rowLat, 0.5), "row-p50-ms")
		b.ReportMetric(pct(rowLat, 0.99), "row-p99-ms")
		b.ReportMetric(pct(winLat, 0.5), "window-p50-ms")
		b.ReportMetric(pct(winLat, 0.99), "window-p99-ms")
		b.ReportMetric(float64(len(rowLat)), "rows")
	}
}

// benchSeconds is RHEOS_BENCH_SECONDS, or def.
func benchSeconds(def int) time.Duration {
	if n, err := strconv.Atoi(os.Getenv("RHEOS_BENCH_SECONDS")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return time.Duration(def) * time.Second
}
