package functions

import "testing"

func TestFilters(t *testing.T) {
	rec := func(data string) SourceRecord {
		return SourceRecord{PartitionKey: "pk-1", SequenceNumber: "7", Data: []byte(data)}
	}
	for _, tc := range []struct {
		pattern, data string
		want          bool
	}{
		{`{"data": {"kind": ["order"]}}`, `{"kind":"order"}`, true},
		{`{"data": {"kind": ["order"]}}`, `{"kind":"refund"}`, false},
		{`{"data": {"kind": ["order"]}}`, `not json`, false},
		{`{"partitionKey": [{"prefix": "pk-"}]}`, `not json`, true},
		{`{"data": {"n": [{"numeric": [">", 10, "<=", 20]}]}}`, `{"n":15}`, true},
		{`{"data": {"n": [{"numeric": [">", 10, "<=", 20]}]}}`, `{"n":25}`, false},
		{`{"data": {"n": [300]}}`, `{"n":300}`, true},
		{`{"data": {"tag": [{"anything-but": ["x", "y"]}]}}`, `{"tag":"z"}`, true},
		{`{"data": {"tag": [{"anything-but": ["x", "y"]}]}}`, `{"tag":"x"}`, false},
		{`{"data": {"opt": [{"exists": false}]}}`, `{"other":1}`, true},
		{`{"data": {"opt": [{"exists": true}]}}`, `{"other":1}`, false},
		{`{"data": {"tags": ["b"]}}`, `{"tags":["a","b"]}`, true},
		{`{"data": {"a": {"b": [null]}}}`, `{"a":{"b":null}}`, true},
	} {
		fs, err := parseFilters([]string{tc.pattern})
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := matches(fs, rec(tc.data)); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.pattern, tc.data, got, tc.want)
		}
	}
	for _, bad := range []string{`not json`, `{"data": "x"}`, `{"data": {"n": [{"numeric": ["~", 1]}]}}`, `{"data": {"n": [{"bogus": 1}]}}`} {
		if _, err := parseFilters([]string{bad}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if !matches(nil, rec("x")) {
		t.Error("no filters must pass everything")
	}
}

func FuzzFilter(f *testing.F) {
	f.Add(`{"data": {"kind": ["order", {"prefix": "o"}]}}`, `{"kind":"order"}`)
	f.Add(`{"data": {"n": [{"numeric": [">", 1]}]}}`, `{"n":[1,2,"x"]}`)
	f.Fuzz(func(t *testing.T, pattern, data string) {
		fs, err := parseFilters([]string{pattern})
		if err != nil {
			return
		}
		matches(fs, SourceRecord{PartitionKey: "k", SequenceNumber: "1", Data: []byte(data)})
	})
}
