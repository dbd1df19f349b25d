package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/config"
)

// BenchmarkPutRecordsHTTP measures the whole server path of PutRecords
// (HTTP, decode, route, group commit with fsync, encode) with pre-encoded
// bodies of 500 records of 1 KiB from 4 concurrent clients over 4 shards.
func BenchmarkPutRecordsHTTP(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("record=%dB", size), func(b *testing.B) { benchPut(b, size) })
	}
}

func benchPut(b *testing.B, size int) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = b.TempDir()
	cfg.CreateDelay = config.Duration(time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	url := "http://" + srv.Addr()
	post := func(op string, body []byte) ([]byte, error) {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %d %s", op, resp.StatusCode, out)
		}
		return out, nil
	}
	if _, err := post("CreateStream", []byte(`{"StreamName":"bench","ShardCount":4}`)); err != nil {
		b.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	type rec struct {
		Data         []byte
		PartitionKey string
	}
	in := struct {
		StreamName string
		Records    []rec
	}{StreamName: "bench"}
	for i := 0; i < 500; i++ {
		in.Records = append(in.Records, rec{Data: bytes.Repeat([]byte{byte(i)}, size), PartitionKey: fmt.Sprintf("pk-%d", i)})
	}
	body, _ := json.Marshal(in)
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 16
	b.SetBytes(int64(500 * size))
	b.ResetTimer()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if _, err := post("PutRecords", body); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
}
