package functions

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestEventNamesExecutionRole: a mapping's events name the function's
// execution role as invokeIdentityArn (functions.md §1.3), the role it has
// when the batch is delivered.
func TestEventNamesExecutionRole(t *testing.T) {
	got := make(chan string, 2)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Records []struct {
				InvokeIdentityArn string `json:"invokeIdentityArn"`
			}
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err != nil || len(ev.Records) != 1 {
			t.Errorf("event %s: %v", b, err)
			got <- ""
		} else {
			got <- ev.Records[0].InvokeIdentityArn
		}
		io.WriteString(w, "null")
	}))
	defer fn.Close()
	s := New(Config{Account: "000000000000", Logger: slog.New(slog.DiscardHandler)}, newMemMeta())
	defer s.Close()
	ctx := context.Background()
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	f, err := s.Create(ctx, sc, CreateInput{Name: "sink", PackageType: "Image", ImageURI: fn.URL, Role: "arn:aws:iam::000000000000:role/first"})
	if err != nil {
		t.Fatal(err)
	}
	m := &Mapping{UUID: "u", FunctionARN: f.ARN(), Account: sc.Account, Region: sc.Region, EventSourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s",
		BatchSize: 10, ParallelizationFactor: 1, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1}
	recs := []SourceRecord{{SequenceNumber: "1", PartitionKey: "k", Data: []byte("x"), ArrivalTime: time.Now()}}
	for _, role := range []string{"arn:aws:iam::000000000000:role/first", "arn:aws:iam::000000000000:role/second"} {
		if _, err := s.UpdateConfiguration(ctx, sc, "sink", ConfigUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		if !s.deliver(ctx, m, "shardId-000000000000", recs, nil) {
			t.Fatal("deliver failed")
		}
		if arn := <-got; arn != role {
			t.Fatalf("invokeIdentityArn %q, want %q", arn, role)
		}
	}
}
