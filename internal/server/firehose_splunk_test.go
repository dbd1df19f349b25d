package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/config"
)

// TestFirehoseSplunkThroughAPI: a Splunk delivery stream created through
// the AWS API delivers to an HEC with indexer acks; the API enforces the
// model's ack timeout range and never describes the token.
func TestFirehoseSplunkThroughAPI(t *testing.T) {
	const token = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	var mu sync.Mutex
	var indexed []string
	hec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Splunk "+token || r.Header.Get("X-Splunk-Request-Channel") == "" {
			w.WriteHeader(403)
			io.WriteString(w, `{"text":"Invalid token","code":4}`)
			return
		}
		switch r.URL.Path {
		case "/services/collector/raw":
			indexed = append(indexed, string(body))
			io.WriteString(w, `{"text":"Success","code":0,"ackId":0}`)
		case "/services/collector/ack":
			if string(body) != `{"acks":[0]}` {
				t.Errorf("ack query %s", body)
			}
			io.WriteString(w, `{"acks":{"0":true}}`)
		default:
			t.Errorf("path %s", r.URL.Path)
			w.WriteHeader(404)
		}
	}))
	defer hec.Close()
	ts := startServer(t, t.TempDir(), func(c *config.Config) {})
	conf := func(ackTimeout int) map[string]any {
		return map[string]any{
			"HECEndpoint": hec.URL, "HECEndpointType": "Raw", "HECToken": token, "HECAcknowledgmentTimeoutInSeconds": ackTimeout,
			"BufferingHints":  map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::splash"},
		}
	}
	r := ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{"DeliveryStreamName": "short-ack", "SplunkDestinationConfiguration": conf(179)})
	if r.status != 400 {
		t.Errorf("ack timeout 179: %d %v", r.status, r.body)
	}
	r = ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{"DeliveryStreamName": "to-splunk", "SplunkDestinationConfiguration": conf(180)})
	if r.status != 200 {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	d := ts.waitDeliveryStream(t, "to-splunk")
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), token) || !strings.Contains(string(b), `"SplunkDestinationDescription"`) {
		t.Errorf("description %s", b)
	}
	r = ts.firehoseCall(t, "PutRecordBatch", map[string]any{"DeliveryStreamName": "to-splunk", "Records": []any{
		map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte("one\n"))},
		map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte("two\n"))},
	}})
	if r.status != 200 {
		t.Fatalf("put: %d %v", r.status, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(indexed, "")
		mu.Unlock()
		if got == "one\ntwo\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("indexed %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
