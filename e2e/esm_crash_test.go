package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestEventSourceMappingSurvivesKill9: the server is SIGKILLed ten times
// while an event source mapping delivers a 2-shard stream to a function
// (a url function served by this test); after each restart delivery
// resumes at the durable checkpoints. Every acknowledged record reaches the
// function (no gaps); duplicates are redeliveries of batches that were in
// flight after the last checkpoint (counted in the log).
func TestEventSourceMappingSurvivesKill9(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{} // data → deliveries
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Records []struct{ Kinesis struct{ Data string } }
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &ev)
		mu.Lock()
		for _, rec := range ev.Records {
			d, _ := base64.StdEncoding.DecodeString(rec.Kinesis.Data)
			got[string(d)]++
		}
		mu.Unlock()
		io.WriteString(w, "null")
	}))
	defer fn.Close()
	dir, addr := t.TempDir(), freePort(t)
	p := startServer(t, dir, addr)
	c := client(addr)
	lc := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	ctx := context.Background()
	createStream(t, c, "esm", 2)
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("sink"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(fn.URL)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
		EventSourceArn: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/esm"), StartingPosition: types.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(25)}); err != nil {
		t.Fatal(err)
	}
	var acked []string
	n := 0
	for cycle := 0; cycle < 10; cycle++ {
		stop := time.Now().Add(time.Duration(100+rand.IntN(200)) * time.Millisecond)
		for time.Now().Before(stop) {
			data := fmt.Sprintf("r-%05d", n)
			n++
			if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("esm"), PartitionKey: aws.String(data), Data: []byte(data)}); err == nil {
				acked = append(acked, data)
			}
		}
		p.kill()
		p = startServer(t, dir, addr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		missing, dups := 0, 0
		for _, d := range acked {
			switch k := got[d]; {
			case k == 0:
				missing++
			case k > 1:
				dups += k - 1
			}
		}
		mu.Unlock()
		if missing == 0 {
			t.Logf("%d acknowledged records over 10 SIGKILLs, all delivered; %d redelivered", len(acked), dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged records never reached the function", missing, len(acked))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
