package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rheos/rheos/internal/sdktest"
)

func firehoseClient(url string) *firehose.Client {
	return firehose.New(firehose.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), HTTPClient: sdktest.HTTPClient(nil)})
}

func s3Client(url string) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
}

func s3Dest(bucket string, sizeMB, intervalS int32) *ftypes.ExtendedS3DestinationConfiguration {
	return &ftypes.ExtendedS3DestinationConfiguration{RoleARN: aws.String("arn:aws:iam::000000000000:role/f"), BucketARN: aws.String("arn:aws:s3:::" + bucket),
		Prefix: aws.String("bench/"), BufferingHints: &ftypes.BufferingHints{SizeInMBs: aws.Int32(sizeMB), IntervalInSeconds: aws.Int32(intervalS)}}
}

func waitFirehoseActive(b testing.TB, fc *firehose.Client, name string) {
	b.Helper()
	for range 500 {
		d, err := fc.DescribeDeliveryStream(context.Background(), &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
		if err == nil && d.DeliveryStreamDescription.DeliveryStreamStatus == ftypes.DeliveryStreamStatusActive {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("%s never ACTIVE", name)
}

// bucketBytes lists a bucket and returns its objects' total size and count.
func bucketBytes(ctx context.Context, c *s3.Client, bucket string) (int64, int) {
	var total int64
	n := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return total, n
		}
		for _, o := range out.Contents {
			total += aws.ToInt64(o.Size)
			n++
		}
	}
	return total, n
}

// BenchmarkFirehose measures, on one in-process server (run with
// -benchtime 1x; docs/PERFORMANCE.md has the command and the numbers):
//   - ingest: 4 producers of PutRecordBatch 500 × 1 KiB into a DirectPut
//     stream (durable: fsynced before each answer) against 4 producers of
//     PutRecords 500 × 1 KiB into a 4-shard Data Stream, 5 s each;
//   - delivery to the built-in S3: 512 MiB buffered while the bucket is
//     missing, then the time to write it all once the bucket exists;
//   - put→object-visible latency with interval 0 (one record every 50 ms).
func BenchmarkFirehose(b *testing.B) {
	ctx := context.Background()
	record := bytes.Repeat([]byte("x"), 1024)
	for i := 0; i < b.N; i++ {
		ts := newServer(b)
		fc, sc, kc := firehoseClient(ts.url), s3Client(ts.url), ts.kc
		if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
			b.Fatal(err)
		}
		// Ingest, Data Streams first.
		ts.createStream(b, "ingest", 4)
		ts.waitActive(b, "ingest")
		kinesisRate := produce(b, func(w, n int) error {
			entries := make([]ktypes.PutRecordsRequestEntry, 500)
			for j := range entries {
				entries[j] = ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(strconv.Itoa(w*1000000 + n*500 + j)), Data: record}
			}
			out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"), Records: entries})
			if err == nil && aws.ToInt32(out.FailedRecordCount) > 0 {
				err = fmt.Errorf("%d failed", aws.ToInt32(out.FailedRecordCount))
			}
			return err
		})
		if _, err := fc.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("ingest"),
			ExtendedS3DestinationConfiguration: s3Dest("bench", 128, 900)}); err != nil {
			b.Fatal(err)
		}
		waitFirehoseActive(b, fc, "ingest")
		firehoseRate := produce(b, func(w, n int) error {
			recs := make([]ftypes.Record, 500)
			for j := range recs {
				recs[j] = ftypes.Record{Data: record}
			}
			out, err := fc.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("ingest"), Records: recs})
			if err == nil && aws.ToInt32(out.FailedPutCount) > 0 {
				err = fmt.Errorf("%d failed", aws.ToInt32(out.FailedPutCount))
			}
			return err
		})
		b.ReportMetric(kinesisRate, "kinesis-MiB/s")
		b.ReportMetric(firehoseRate, "firehose-MiB/s")
		b.ReportMetric(100*firehoseRate/kinesisRate, "firehose-%-of-kinesis")

		// Delivery: buffer 512 MiB towards a missing bucket, then create it and
		// restart delivery (UpdateDestination: a new version, a new worker).
		if _, err := fc.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("drain"),
			ExtendedS3DestinationConfiguration: s3Dest("drain", 128, 900)}); err != nil {
			b.Fatal(err)
		}
		waitFirehoseActive(b, fc, "drain")
		// 4 producers × 256 batches × 256 records × 2 KiB = 512 MiB: four
		// whole 128 MiB objects.
		const total = 512 << 20
		big := bytes.Repeat([]byte("z"), 2048)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				recs := make([]ftypes.Record, 256)
				for j := range recs {
					recs[j] = ftypes.Record{Data: big}
				}
				for n := 0; n < 256; n++ {
					if _, err := fc.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("drain"), Records: recs}); err != nil {
						b.Errorf("producer %d: %v", w, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drain")}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := fc.UpdateDestination(ctx, &firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("drain"),
			CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: aws.String("destinationId-000000000001"),
			ExtendedS3DestinationUpdate: &ftypes.ExtendedS3DestinationUpdate{CompressionFormat: ftypes.CompressionFormatUncompressed}}); err != nil {
			b.Fatal(err)
		}
		for {
			got, _ := bucketBytes(ctx, sc, "drain")
			if got >= total {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("delivered %d of %d bytes", got, total)
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.ReportMetric(float64(total)/(1<<20)/time.Since(start).Seconds(), "delivery-MiB/s")

		// Latency with interval 0.
		lat := visibility(b, fc, sc, "latency", 0, 200, 50*time.Millisecond)
		b.ReportMetric(lat[len(lat)/2].Seconds()*1000, "interval0-p50-ms")
		b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "interval0-p99-ms")
		if os.Getenv("RHEOS_BENCH_HINTS60") != "" {
			lat := visibility(b, fc, sc, "hints60", 60, 300, 250*time.Millisecond)
			b.ReportMetric(lat[len(lat)/2].Seconds()*1000, "interval60-p50-ms")
			b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "interval60-p99-ms")
		}
		ts.stop()
	}
}

// produce runs 4 producers for 5 s and returns MiB/s of 1 KiB records.
func produce(b *testing.B, put func(w, n int) error) float64 {
	var calls atomic.Int64
	stop := time.Now().Add(5 * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				if err := put(w, n); err != nil {
					b.Errorf("producer %d: %v", w, err)
					return
				}
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(calls.Load()*500*1024) / (1 << 20) / time.Since(start).Seconds()
}

// visibility puts n single records, one every gap, into a new stream with
// the interval hint, and returns the sorted put→object-listed latencies.
func visibility(b *testing.B, fc *firehose.Client, sc *s3.Client, name string, interval int32, n int, gap time.Duration) []time.Duration {
	ctx := context.Background()
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		b.Fatal(err)
	}
	if _, err := fc.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(name),
		ExtendedS3DestinationConfiguration: s3Dest(name, 1, interval)}); err != nil {
		b.Fatal(err)
	}
	waitFirehoseActive(b, fc, name)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	seen := map[string]time.Duration{}
	done := make(chan struct{})
	go func() { // the watcher: new objects, read, records timed
		defer close(done)
		keys := map[string]bool{}
		for {
			mu.Lock()
			finished := len(seen) == n
			mu.Unlock()
			if finished {
				return
			}
			out, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
			now := time.Now()
			if err == nil {
				for _, o := range out.Contents {
					if keys[aws.ToString(o.Key)] {
						continue
					}
					keys[aws.ToString(o.Key)] = true
					g, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(name), Key: o.Key})
					if err != nil {
						continue
					}
					body, _ := io.ReadAll(g.Body)
					g.Body.Close()
					mu.Lock()
					for _, id := range strings.Split(strings.TrimSpace(string(body)), "\n") {
						if t, ok := sent[id]; ok {
							seen[id] = now.Sub(t)
						}
					}
					mu.Unlock()
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for i := range n {
		id := name + "-" + strconv.Itoa(i)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		if _, err := fc.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String(name), Record: &ftypes.Record{Data: []byte(id + "\n")}}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(gap)
	}
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		b.Fatalf("%d of %d records seen", len(seen), n)
	}
	var lat []time.Duration
	for _, d := range seen {
		lat = append(lat, d)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// BenchmarkFirehoseDestinationDown: DirectPut load (4 producers, 100
// batches of 500 × 1 KiB a second in all, about 50 MiB/s) into a stream
// whose HTTP endpoint answers 503 for RHEOS_BENCH_DOWN (default 30 s), with
// the process's peak RSS reported: the buffer is on disk, so memory stays
// flat however far delivery falls behind.
func BenchmarkFirehoseDestinationDown(b *testing.B) {
	down := 30 * time.Second
	if v, err := time.ParseDuration(os.Getenv("RHEOS_BENCH_DOWN")); err == nil {
		down = v
	}
	ctx := context.Background()
	record := bytes.Repeat([]byte("y"), 1024)
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(503)
	}))
	defer dead.Close()
	for i := 0; i < b.N; i++ {
		ts := newServer(b)
		fc := firehoseClient(ts.url)
		if _, err := fc.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("down"),
			HttpEndpointDestinationConfiguration: &ftypes.HttpEndpointDestinationConfiguration{
				EndpointConfiguration: &ftypes.HttpEndpointConfiguration{Url: aws.String(dead.URL)},
				BufferingHints:        &ftypes.HttpEndpointBufferingHints{SizeInMBs: aws.Int32(64), IntervalInSeconds: aws.Int32(60)},
				RetryOptions:          &ftypes.HttpEndpointRetryOptions{DurationInSeconds: aws.Int32(7200)},
				S3Configuration:       &ftypes.S3DestinationConfiguration{RoleARN: aws.String("arn:aws:iam::000000000000:role/f"), BucketARN: aws.String("arn:aws:s3:::nowhere")},
			}}); err != nil {
			b.Fatal(err)
		}
		waitFirehoseActive(b, fc, "down")
		var peak atomic.Int64
		start := time.Now()
		stop := start.Add(down)
		var firstMinute, lastMinute int64 // peaks: flat means bounded
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				recs := make([]ftypes.Record, 500)
				for j := range recs {
					recs[j] = ftypes.Record{Data: record}
				}
				tick := time.NewTicker(40 * time.Millisecond) // 25 batches/s per producer
				defer tick.Stop()
				for time.Now().Before(stop) {
					<-tick.C
					fc.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("down"), Records: recs})
				}
			}()
		}
		for time.Now().Before(stop) {
			rss := rssBytes()
			if rss > peak.Load() {
				peak.Store(rss)
			}
			if time.Since(start) < time.Minute {
				firstMinute = max(firstMinute, rss)
			}
			if time.Until(stop) < time.Minute {
				lastMinute = max(lastMinute, rss)
			}
			time.Sleep(time.Second)
		}
		wg.Wait()
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(firstMinute)/(1<<20), "first-minute-RSS-MiB")
		b.ReportMetric(float64(lastMinute)/(1<<20), "last-minute-RSS-MiB")
		b.ReportMetric(down.Seconds(), "down-s")
		ts.stop()
	}
}

// rssBytes reads the process's resident set size.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkFirehosePartitioned: dynamic partitioning with 100 active
// partitions (a jq key over 1 KiB JSON records, interval 0): 4 producers for
// 10 s, reporting records/s in, objects/s delivered to the built-in S3 and
// the process's peak RSS.
func BenchmarkFirehosePartitioned(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		ts := newServer(b)
		fc, sc := firehoseClient(ts.url), s3Client(ts.url)
		if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("parts")}); err != nil {
			b.Fatal(err)
		}
		dest := s3Dest("parts", 64, 0)
		dest.Prefix = aws.String("p=!{partitionKeyFromQuery:p}/")
		dest.ErrorOutputPrefix = aws.String("errors/!{firehose:error-output-type}/")
		dest.DynamicPartitioningConfiguration = &ftypes.DynamicPartitioningConfiguration{Enabled: aws.Bool(true)}
		dest.ProcessingConfiguration = &ftypes.ProcessingConfiguration{Enabled: aws.Bool(true), Processors: []ftypes.Processor{{
			Type: ftypes.ProcessorTypeMetadataExtraction, Parameters: []ftypes.ProcessorParameter{
				{ParameterName: ftypes.ProcessorParameterNameMetadataExtractionQuery, ParameterValue: aws.String("{p:.p}")},
				{ParameterName: ftypes.ProcessorParameterNameJsonParsingEngine, ParameterValue: aws.String("JQ-1.6")}}}}}
		if _, err := fc.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("parts"),
			ExtendedS3DestinationConfiguration: dest}); err != nil {
			b.Fatal(err)
		}
		waitFirehoseActive(b, fc, "parts")
		pad := strings.Repeat("x", 1000)
		var records atomic.Int64
		var peak atomic.Int64
		stop := time.Now().Add(10 * time.Second)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; time.Now().Before(stop); n++ {
					recs := make([]ftypes.Record, 500)
					for j := range recs {
						recs[j] = ftypes.Record{Data: []byte(fmt.Sprintf(`{"p":"k%02d","w":%d,"pad":"%s"}`, (w*500+n*7+j)%100, w, pad))}
					}
					if _, err := fc.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("parts"), Records: recs}); err == nil {
						records.Add(500)
					}
				}
			}()
		}
		for time.Now().Before(stop) {
			if rss := rssBytes(); rss > peak.Load() {
				peak.Store(rss)
			}
			time.Sleep(500 * time.Millisecond)
		}
		wg.Wait()
		elapsed := time.Since(start)
		_, objects := bucketBytes(ctx, sc, "parts")
		b.ReportMetric(float64(records.Load())/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(objects)/elapsed.Seconds(), "objects/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-RSS-MiB")
		ts.stop()
	}
}
