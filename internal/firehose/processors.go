package firehose

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"

	"github.com/rheos/rheos/internal/kpl"
)

// The built-in processors, applied in AWS's order before the Lambda
// processor: Decompression (GZIP), CloudWatchLogProcessing (message
// extraction from CloudWatch Logs subscription payloads), RecordDeAggregation
// (KPL-aggregated records, and JSON or DELIMITED sub-records). A record a
// processor cannot read fails to processing-failed, as on AWS.

// processorParams maps a processor's Parameters to their values.
func processorParams(pm map[string]any) map[string]string {
	params := map[string]string{}
	for _, x := range listOf(pm, "Parameters") {
		pa, _ := x.(map[string]any)
		params[str(pa, "ParameterName")] = str(pa, "ParameterValue")
	}
	return params
}

// builtins is a stream's configured built-in processors.
type builtins struct {
	decompress  bool
	cwlExtract  bool
	deaggregate string // "", "JSON", "DELIMITED", "KPL"
	delimiter   []byte
}

func builtinProcessors(m *streamMeta) builtins {
	var b builtins
	pc := mapOf(m.Dest, "ProcessingConfiguration")
	if pc["Enabled"] != true {
		return b
	}
	for _, p := range listOf(pc, "Processors") {
		pm, _ := p.(map[string]any)
		params := processorParams(pm)
		switch str(pm, "Type") {
		case "Decompression":
			b.decompress = params["CompressionFormat"] == "" || params["CompressionFormat"] == "GZIP"
		case "CloudWatchLogProcessing":
			b.cwlExtract = params["DataMessageExtraction"] == "true"
		case "RecordDeAggregation":
			b.deaggregate = params["SubRecordType"]
			if b.deaggregate == "" {
				b.deaggregate = "JSON"
			}
			if d, err := base64.StdEncoding.DecodeString(params["Delimiter"]); err == nil {
				b.delimiter = d
			}
		}
	}
	return b
}

// checkBuiltin validates a built-in processor's parameters.
func checkBuiltin(typ string, params map[string]string) error {
	switch typ {
	case "Decompression":
		if f := params["CompressionFormat"]; f != "" && f != "GZIP" {
			return errorf(KindInvalidArgument, "Decompression supports CompressionFormat GZIP only, not %s.", f)
		}
	case "CloudWatchLogProcessing":
		if v := params["DataMessageExtraction"]; v != "" && v != "true" && v != "false" {
			return errorf(KindInvalidArgument, "DataMessageExtraction must be true or false.")
		}
	case "RecordDeAggregation":
		switch params["SubRecordType"] {
		case "", "JSON", "KPL":
		case "DELIMITED":
			d, err := base64.StdEncoding.DecodeString(params["Delimiter"])
			if err != nil || len(d) == 0 {
				return errorf(KindInvalidArgument, "RecordDeAggregation with SubRecordType DELIMITED needs a base64 Delimiter.")
			}
		default:
			return errorf(KindInvalidArgument, "SubRecordType must be JSON or DELIMITED.")
		}
	}
	return nil
}

// applyBuiltins runs the built-in processors over records; what they cannot
// read comes back as failures. Records from a KPL producer are always
// de-aggregated (AWS does so for Kinesis sources).
func (b builtins) apply(recs []LogRecord) ([]LogRecord, []failure) {
	var out []LogRecord
	var failed []failure
	for _, r := range recs {
		parts, err := b.one(r.Data)
		if err != nil {
			failed = append(failed, failure{rec: r, code: err.code, msg: err.msg, attempts: 1})
			continue
		}
		for _, p := range parts {
			out = append(out, LogRecord{Seq: r.Seq, Timestamp: r.Timestamp, Data: p})
		}
	}
	return out, failed
}

type procError struct{ code, msg string }

func (b builtins) one(data []byte) ([][]byte, *procError) {
	if b.decompress {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, &procError{"Decompression.Failed", "The record is not GZIP: " + err.Error()}
		}
		d, err := io.ReadAll(io.LimitReader(zr, 64<<20))
		if err != nil {
			return nil, &procError{"Decompression.Failed", "The record is not GZIP: " + err.Error()}
		}
		data = d
	}
	parts := [][]byte{data}
	if b.cwlExtract {
		var cw struct {
			MessageType string `json:"messageType"`
			LogEvents   []struct {
				Message string `json:"message"`
			} `json:"logEvents"`
		}
		if err := json.Unmarshal(data, &cw); err != nil {
			return nil, &procError{"CloudWatchLogProcessing.Failed", "The record is not a CloudWatch Logs subscription message: " + err.Error()}
		}
		if cw.MessageType != "DATA_MESSAGE" {
			return nil, nil // CONTROL_MESSAGE records are dropped
		}
		parts = parts[:0]
		for _, e := range cw.LogEvents {
			parts = append(parts, []byte(e.Message))
		}
	}
	var out [][]byte
	for _, p := range parts {
		if kpl.IsAggregated(p) {
			subs, ok, err := kpl.Deaggregate(p)
			if err != nil || !ok {
				return nil, &procError{"RecordDeAggregation.Failed", "The KPL-aggregated record does not decode."}
			}
			for _, s := range subs {
				out = append(out, s.Data)
			}
			continue
		}
		switch b.deaggregate {
		case "JSON":
			dec := json.NewDecoder(bytes.NewReader(p))
			for {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err == io.EOF {
					break
				} else if err != nil {
					return nil, &procError{"RecordDeAggregation.Failed", "The record is not a run of JSON objects: " + err.Error()}
				}
				out = append(out, []byte(raw))
			}
		case "DELIMITED":
			for _, s := range bytes.Split(p, b.delimiter) {
				if len(s) > 0 {
					out = append(out, s)
				}
			}
		default:
			out = append(out, p)
		}
	}
	return out, nil
}
