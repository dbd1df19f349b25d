package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// firehoseCall sends one signed Firehose request to a server (any
// credentials: auth none).
func firehoseCall(addr, op string, body any) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+addr+"/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Firehose_20150804."+op)
	sum := sha256.Sum256(b)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
		req, hex.EncodeToString(sum[:]), "firehose", "us-east-1", time.Now()); err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out, nil
}

// TestFirehoseSurvivesKill9: the server is SIGKILLed ten times while
// producers PutRecordBatch into a DirectPut delivery stream whose HTTP
// endpoint (this test) receives deliveries. Every acknowledged record is
// delivered at least once after the restarts; duplicates (batches in flight
// after the last checkpoint) are counted and reported.
func TestFirehoseSurvivesKill9(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			RequestID string `json:"requestId"`
			Records   []struct{ Data string }
		}
		raw, _ := io.ReadAll(r.Body)
		json.Unmarshal(raw, &body)
		mu.Lock()
		for _, rec := range body.Records {
			d, _ := base64.StdEncoding.DecodeString(rec.Data)
			got[string(d)]++
		}
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"requestId": body.RequestID, "timestamp": time.Now().UnixMilli()})
	}))
	defer endpoint.Close()
	dir, addr := t.TempDir(), freePort(t)
	p := startServer(t, dir, addr)
	status, out, err := firehoseCall(addr, "CreateDeliveryStream", map[string]any{
		"DeliveryStreamName": "crash",
		"HttpEndpointDestinationConfiguration": map[string]any{
			"EndpointConfiguration": map[string]any{"Url": endpoint.URL},
			"BufferingHints":        map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"S3Configuration":       map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::backup"},
		},
	})
	if err != nil || status != 200 {
		t.Fatalf("create: %d %v %v", status, out, err)
	}
	waitFor(t, func() bool {
		_, d, _ := firehoseCall(addr, "DescribeDeliveryStream", map[string]any{"DeliveryStreamName": "crash"})
		desc, _ := d["DeliveryStreamDescription"].(map[string]any)
		return desc != nil && desc["DeliveryStreamStatus"] == "ACTIVE"
	})
	var acked []string
	n := 0
	for cycle := 0; cycle < 10; cycle++ {
		stop := time.Now().Add(time.Duration(100+rand.IntN(200)) * time.Millisecond)
		var wg sync.WaitGroup
		var amu sync.Mutex
		for w := 0; w < 4; w++ {
			base := n + w*100000
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(stop); i++ {
					var recs []any
					var datas []string
					for j := 0; j < 50; j++ {
						d := fmt.Sprintf("c%02d-w%d-%07d-%02d", cycle, base, i, j)
						datas = append(datas, d)
						recs = append(recs, map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte(d))})
					}
					status, out, err := firehoseCall(addr, "PutRecordBatch", map[string]any{"DeliveryStreamName": "crash", "Records": recs})
					if err != nil || status != 200 {
						continue // not acknowledged (the kill, or a restart)
					}
					resps, _ := out["RequestResponses"].([]any)
					amu.Lock()
					for k, r := range resps {
						if rm, _ := r.(map[string]any); rm["RecordId"] != nil {
							acked = append(acked, datas[k])
						}
					}
					amu.Unlock()
				}
			}()
		}
		time.Sleep(time.Until(stop) - 50*time.Millisecond)
		p.kill() // with batches in flight
		wg.Wait()
		n += 4 * 100000
		p = startServer(t, dir, addr)
	}
	deadline := time.Now().Add(60 * time.Second)
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
			t.Logf("%d acknowledged records over 10 SIGKILLs, all delivered; %d delivered more than once", len(acked), dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged records never delivered", missing, len(acked))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
