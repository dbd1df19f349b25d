package firehose

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/rheos/rheos/internal/kpl"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func datas(recs []LogRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Data))
	}
	return out
}

func TestBuiltinProcessors(t *testing.T) {
	// CloudWatch Logs subscription data: gzip, then message extraction.
	cw := builtins{decompress: true, cwlExtract: true}
	data := gz(t, `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"first"},{"id":"2","timestamp":2,"message":"second"}]}`)
	control := gz(t, `{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"CWL CONTROL MESSAGE"}]}`)
	out, failed := cw.apply([]LogRecord{{Seq: 1, Data: data}, {Seq: 2, Data: control}, {Seq: 3, Data: []byte("not gzip")}})
	if strings.Join(datas(out), ",") != "first,second" || len(failed) != 1 || failed[0].rec.Seq != 3 || failed[0].code != "Decompression.Failed" {
		t.Errorf("cloudwatch: %q %+v", datas(out), failed)
	}
	// JSON sub-records, KPL aggregation, DELIMITED.
	js := builtins{deaggregate: "JSON"}
	out, failed = js.apply([]LogRecord{{Data: []byte(`{"a":1}{"a":2}` + "\n" + `{"a":3}`)}, {Data: []byte(`{"a":`)}})
	if strings.Join(datas(out), ",") != `{"a":1},{"a":2},{"a":3}` || len(failed) != 1 {
		t.Errorf("json: %q %+v", datas(out), failed)
	}
	agg := kpl.Aggregate([]kpl.Record{{PartitionKey: "k", Data: []byte("x")}, {PartitionKey: "k", Data: []byte("y")}})
	out, _ = builtins{}.apply([]LogRecord{{Data: agg}, {Data: []byte("plain")}})
	if strings.Join(datas(out), ",") != "x,y,plain" {
		t.Errorf("kpl: %q", datas(out))
	}
	del := builtins{deaggregate: "DELIMITED", delimiter: []byte("||")}
	out, _ = del.apply([]LogRecord{{Data: []byte("a||b||c")}})
	if strings.Join(datas(out), ",") != "a,b,c" {
		t.Errorf("delimited: %q", datas(out))
	}
	for _, c := range []struct {
		typ    string
		params map[string]string
		ok     bool
	}{
		{"Decompression", map[string]string{"CompressionFormat": "GZIP"}, true},
		{"Decompression", map[string]string{"CompressionFormat": "ZIP"}, false},
		{"RecordDeAggregation", map[string]string{"SubRecordType": "DELIMITED", "Delimiter": "fHw="}, true},
		{"RecordDeAggregation", map[string]string{"SubRecordType": "DELIMITED"}, false},
		{"CloudWatchLogProcessing", map[string]string{"DataMessageExtraction": "maybe"}, false},
	} {
		if err := checkBuiltin(c.typ, c.params); (err == nil) != c.ok {
			t.Errorf("%s %v: %v", c.typ, c.params, err)
		}
	}
}

// FuzzBuiltinProcessors: whatever a record holds, the processors answer
// records or failures, never a panic, and every input is accounted for.
func FuzzBuiltinProcessors(f *testing.F) {
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"message":"m"}]}`), true, "JSON")
	f.Add(kpl.Aggregate([]kpl.Record{{PartitionKey: "k", Data: []byte("x")}}), false, "DELIMITED")
	f.Add([]byte(`{"a":1}{"b":2}`), false, "JSON")
	f.Fuzz(func(t *testing.T, data []byte, cwl bool, sub string) {
		b := builtins{cwlExtract: cwl, deaggregate: sub, delimiter: []byte("\n")}
		out, failed := b.apply([]LogRecord{{Seq: 7, Data: data}})
		for _, r := range out {
			if r.Seq != 7 {
				t.Fatalf("sub-record lost its position: %+v", r)
			}
		}
		if len(failed) > 1 {
			t.Fatalf("one record failed %d times", len(failed))
		}
	})
}
