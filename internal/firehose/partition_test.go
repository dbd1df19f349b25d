package firehose

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

func dpDest(prefix string, extra map[string]any) map[string]any {
	d := map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake", "Prefix": prefix,
		"ErrorOutputPrefix":                "errors/!{firehose:error-output-type}/",
		"BufferingHints":                   map[string]any{"SizeInMBs": int64(64), "IntervalInSeconds": int64(0)},
		"DynamicPartitioningConfiguration": map[string]any{"Enabled": true},
		"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{
			map[string]any{"Type": "MetadataExtraction", "Parameters": []any{
				map[string]any{"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer:.customer,region:.region,year:(.ts|strftime(\"%Y\"))}"},
				map[string]any{"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}}},
			map[string]any{"Type": "AppendDelimiterToRecord"}}},
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// TestDynamicPartitioningThreeKeys: three keys from a jq query name the
// objects' prefixes as AWS evaluates them; a record the query cannot read
// goes to the error prefix.
func TestDynamicPartitioningThreeKeys(t *testing.T) {
	svc, objs := newTestService(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := "sales/customer=!{partitionKeyFromQuery:customer}/region=!{partitionKeyFromQuery:region}/year=!{partitionKeyFromQuery:year}/"
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "dp", Destinations: map[string]map[string]any{"ExtendedS3": dpDest(prefix, nil)}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	recs := [][]byte{
		[]byte(`{"customer":"acme","region":"eu","ts":1700000000,"n":1}`),
		[]byte(`{"customer":"acme","region":"us","ts":1700000000,"n":2}`),
		[]byte(`{"customer":"zeta","region":"eu","ts":1600000000,"n":3}`),
		[]byte(`{"customer":"acme","region":"eu","ts":1700000000,"n":4}`),
		[]byte(`not json`),
	}
	if _, _, err := svc.Put(ctx, Scope{}, "dp", recs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"lake/sales/customer=acme/region=eu/year=2023/": `{"customer":"acme","region":"eu","ts":1700000000,"n":1}` + "\n" + `{"customer":"acme","region":"eu","ts":1700000000,"n":4}` + "\n",
		"lake/sales/customer=acme/region=us/year=2023/": `{"customer":"acme","region":"us","ts":1700000000,"n":2}` + "\n",
		"lake/sales/customer=zeta/region=eu/year=2020/": `{"customer":"zeta","region":"eu","ts":1600000000,"n":3}` + "\n",
	}
	deadline := time.Now().Add(5 * time.Second)
	var got map[string][]byte
	for time.Now().Before(deadline) {
		if got = objs.snapshot(); len(got) == 4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var keys []string
	errors := 0
	for k, v := range got {
		keys = append(keys, k)
		if strings.HasPrefix(k, "lake/errors/processing-failed/") {
			errors++
			if !strings.Contains(string(v), "DynamicPartitioning.MetadataExtractionFailed") {
				t.Errorf("error object %s: %s", k, v)
			}
			continue
		}
		dir := k[:strings.LastIndex(k, "/")+1]
		if want[dir] != string(v) || !strings.Contains(k[len(dir):], "dp-1-") {
			t.Errorf("object %s = %q, want %q", k, v, want[dir])
		}
	}
	sort.Strings(keys)
	if len(got) != 4 || errors != 1 {
		t.Errorf("objects %v", keys)
	}
	// The checkpoint moves once the objects are written.
	var ck checkpoint
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ck, _, _ = svc.loadCheckpoint(ctx, Scope{Account: "111122223333", Region: "us-east-1"}, "dp"); ck.Next == 5 {
			break
		}
	}
	if ck.Next != 5 {
		t.Errorf("checkpoint %+v", ck)
	}
	cancel()
	<-done
}

func TestDynamicPartitioningRules(t *testing.T) {
	svc, _ := newTestService(t, nil)
	ctx := context.Background()
	good := "p/!{partitionKeyFromQuery:customer}/"
	for _, c := range []struct {
		name string
		dest map[string]any
		msg  string
	}{
		{"no key in prefix", dpDest("p/", nil), "must use !{partitionKeyFromQuery"},
		{"no error prefix", dpDest(good, map[string]any{"ErrorOutputPrefix": ""}), "ErrorOutputPrefix is required"},
		{"small buffer", dpDest(good, map[string]any{"BufferingHints": map[string]any{"SizeInMBs": int64(5)}}), "at least 64"},
		{"bad query", dpDest(good, map[string]any{"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{
			map[string]any{"Type": "MetadataExtraction", "Parameters": []any{map[string]any{"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{a:"}}}}}}), "Invalid MetadataExtractionQuery"},
		{"lambda keys without lambda", dpDest("p/!{partitionKeyFromLambda:k}/", nil), "needs a Lambda processor"},
	} {
		_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "r", Destinations: map[string]map[string]any{"ExtendedS3": c.dest}})
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// MetadataExtraction needs dynamic partitioning; partition keys in a
	// prefix need it too.
	plain := dpDest(good, map[string]any{"DynamicPartitioningConfiguration": map[string]any{"Enabled": false}})
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "r", Destinations: map[string]map[string]any{"ExtendedS3": plain}}); err == nil {
		t.Error("partition keys without dynamic partitioning accepted")
	}
	// Enabled at create only, never disabled.
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "ok", Destinations: map[string]map[string]any{"ExtendedS3": dpDest(good, nil)}}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if m, _, _ := svc.get(ctx, Scope{}, "ok"); m.effectiveStatus(time.Now()) == StatusActive {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := svc.UpdateDestination(ctx, Scope{}, "ok", "1", DestinationID, "ExtendedS3",
		map[string]any{"DynamicPartitioningConfiguration": map[string]any{"Enabled": false}})
	if err == nil || !strings.Contains(err.Error(), "cannot be disabled") {
		t.Errorf("disable: %v", err)
	}
}
