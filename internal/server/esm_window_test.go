package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestEventSourceMappingTumblingWindow: with TumblingWindowInSeconds 2 a
// function that sums the records' values into its state sees every batch
// inside one window aligned to 2-second boundaries of the records' arrival
// times, receives the state the previous batch of the window returned,
// and gets exactly one final invocation per window (no records, the
// window's whole sum) after its last batch and before the next window's
// first. The parameter is returned, updated and validated as AWS does.
func TestEventSourceMappingTumblingWindow(t *testing.T) {
	type event struct {
		Records []struct {
			Kinesis struct {
				Data                        []byte
				ApproximateArrivalTimestamp float64
			}
		}
		Window struct {
			Start, End time.Time
		}
		State                  map[string]int
		ShardID                string `json:"shardId"`
		IsFinalInvokeForWindow bool   `json:"isFinalInvokeForWindow"`
	}
	var mu sync.Mutex
	var events []event
	fnSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev event
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		sum := ev.State["sum"]
		for _, rec := range ev.Records {
			n, _ := strconv.Atoi(string(rec.Kinesis.Data))
			sum += n
		}
		fmt.Fprintf(w, `{"state":{"sum":%d}}`, sum)
	}))
	defer fnSrv.Close()
	ts := newServer(t)
	ctx := context.Background()
	lc := lambdaClient(ts.url)
	ts.createStream(t, "win", 1)
	createURLFunction(t, lc, "sum", fnSrv.URL)
	_, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sum"),
		EventSourceArn: aws.String(streamARN("win")), StartingPosition: types.EventSourcePositionTrimHorizon, TumblingWindowInSeconds: aws.Int32(901)})
	wantAPIError(t, err, "ValidationException", "tumblingWindowInSeconds")
	m, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sum"),
		EventSourceArn: aws.String(streamARN("win")), StartingPosition: types.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(3), TumblingWindowInSeconds: aws.Int32(2)})
	if err != nil || aws.ToInt32(m.TumblingWindowInSeconds) != 2 {
		t.Fatalf("create: %+v %v", m, err)
	}
	const n = 24
	total := 0
	for i := 1; i <= n; i++ { // about 3 s of records: two or three windows
		if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("win"), PartitionKey: aws.String("k"),
			Data: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
		total += i
		time.Sleep(125 * time.Millisecond)
	}
	// Wait for the finals to account for every record.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		finals := 0
		for _, ev := range events {
			if ev.IsFinalInvokeForWindow {
				finals += ev.State["sum"]
			}
		}
		mu.Unlock()
		if finals == total {
			break
		}
		if finals > total || time.Now().After(deadline) {
			t.Fatalf("the final invocations summed %d, want %d", finals, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var open time.Time // the window being delivered
	sum, windows := 0, 0
	for i, ev := range events {
		if ev.Window.End.Sub(ev.Window.Start) != 2*time.Second || ev.Window.Start.Unix()%2 != 0 || ev.ShardID != "shardId-000000000000" {
			t.Fatalf("event %d: window %v–%v on %s", i, ev.Window.Start, ev.Window.End, ev.ShardID)
		}
		if !ev.Window.Start.Equal(open) { // a new window starts with a fresh state
			if !open.IsZero() {
				t.Fatalf("event %d: window %v began before %v's final invocation", i, ev.Window.Start, open)
			}
			open, sum = ev.Window.Start, 0
		}
		if ev.State["sum"] != sum {
			t.Fatalf("event %d: state %v, want the sum so far in the window, %d", i, ev.State, sum)
		}
		if ev.IsFinalInvokeForWindow {
			if len(ev.Records) != 0 {
				t.Fatalf("event %d: a final invocation with %d records", i, len(ev.Records))
			}
			open, windows = time.Time{}, windows+1
			continue
		}
		if len(ev.Records) == 0 || len(ev.Records) > 3 {
			t.Fatalf("event %d: %d records", i, len(ev.Records))
		}
		for _, rec := range ev.Records {
			at := time.UnixMilli(int64(rec.Kinesis.ApproximateArrivalTimestamp * 1000))
			if at.Before(ev.Window.Start) || !at.Before(ev.Window.End) {
				t.Fatalf("event %d: a record of %v in the window %v–%v", i, at, ev.Window.Start, ev.Window.End)
			}
			v, _ := strconv.Atoi(string(rec.Kinesis.Data))
			sum += v
		}
	}
	if windows < 2 || !open.IsZero() {
		t.Fatalf("%d windows finished, open %v", windows, open)
	}
	up, err := lc.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, TumblingWindowInSeconds: aws.Int32(0)})
	if err != nil || aws.ToInt32(up.TumblingWindowInSeconds) != 0 {
		t.Fatalf("update: %+v %v", up, err)
	}
}
