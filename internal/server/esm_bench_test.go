package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// BenchmarkEventSourceMapping measures event source mappings with a no-op
// url function: latency from sending PutRecord to the function receiving
// the record at light load (50 records/s, 4 shards; AWS polls each shard
// once a second), and throughput draining 40,000 records of 4 shards from
// TRIM_HORIZON with BatchSize 500. Run with -benchtime 1x.
func BenchmarkEventSourceMapping(b *testing.B) {
	var mu sync.Mutex
	recv := map[string]time.Time{}
	count := 0
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var ev struct {
			Records []struct{ Kinesis struct{ Data string } }
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &ev)
		mu.Lock()
		for _, rec := range ev.Records {
			d, _ := base64.StdEncoding.DecodeString(rec.Kinesis.Data)
			recv[string(d)] = now
		}
		count += len(ev.Records)
		mu.Unlock()
		io.WriteString(w, "null")
	}))
	defer fn.Close()
	for i := 0; i < b.N; i++ {
		ts := newServer(b)
		ctx := context.Background()
		lc := lambdaClient(ts.url)
		for _, s := range []string{"light", "bulk"} {
			ts.createStream(b, s, 4)
		}
		createURLFunction(b, lc, "noop", fn.URL)
		mapping := func(stream string, batch int32) {
			if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("noop"),
				EventSourceArn: aws.String(streamARN(stream)), StartingPosition: types.EventSourcePositionTrimHorizon, BatchSize: aws.Int32(batch)}); err != nil {
				b.Fatal(err)
			}
		}
		// Light load: put → function latency.
		mapping("light", 100)
		time.Sleep(300 * time.Millisecond)
		sent := map[string]time.Time{}
		for j := 0; j < 250; j++ {
			data := "light-" + strconv.Itoa(j)
			sent[data] = time.Now() // the put's own durable commit is part of the latency
			if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("light"), PartitionKey: aws.String(data), Data: []byte(data)}); err != nil {
				b.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		var lat []time.Duration
		mu.Lock()
		for d, t0 := range sent {
			if t1, ok := recv[d]; ok {
				lat = append(lat, t1.Sub(t0))
			}
		}
		mu.Unlock()
		if len(lat) != len(sent) {
			b.Fatalf("%d of %d records delivered", len(lat), len(sent))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "put→fn-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "put→fn-p99-ms")
		// Throughput: 40,000 records, then one mapping drains them.
		const total = 40000
		for j := 0; j < total; j += 500 {
			recs := make([]ktypes.PutRecordsRequestEntry, 500)
			for k := range recs {
				recs[k] = ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("k%d", k)), Data: []byte(fmt.Sprintf("bulk-%d", j+k))}
			}
			if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("bulk"), Records: recs}); err != nil {
				b.Fatal(err)
			}
		}
		mu.Lock()
		base := count
		mu.Unlock()
		start := time.Now()
		mapping("bulk", 500)
		for {
			mu.Lock()
			done := count - base
			mu.Unlock()
			if done >= total {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("%d of %d records in a minute", done, total)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(total/time.Since(start).Seconds(), "drain-records/s")
	}
}
