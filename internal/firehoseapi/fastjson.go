package firehoseapi

import (
	"encoding/base64"
	"sync"

	"github.com/rheos/rheos/internal/awsproto/jsonrpc"
)

// The hot-path decoders of PutRecordBatch and PutRecord: the common,
// well-formed body straight into a typed value, skipping the generic
// map-based decoder. Anything unusual (escapes, nulls, unknown or repeated
// members, a constraint violation) returns ok=false, and the generic path
// answers with AWS's exact messages. FuzzFastDecodeAgrees proves the fast
// path accepts only what the generic path accepts, with the same result.

// putInput is the typed input of PutRecord and PutRecordBatch.
type putInput struct {
	Name    string
	Records [][]byte
	buf     []byte // pooled buffer holding every record's Data
}

var dataPool sync.Pool

// Release returns the data buffer to the pool once the handler is done
// (the log copies records before acknowledging them).
func (in *putInput) Release() {
	if in.buf != nil && cap(in.buf) <= 8<<20 {
		dataPool.Put(in.buf[:0]) //nolint:staticcheck
		in.buf = nil
	}
}

func getDataBuf(n int) []byte {
	if v := dataPool.Get(); v != nil {
		if b := v.([]byte); cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n)
}

// maxData is the model's bound on a record's Data (bytes, decoded).
const maxData = 1024000

func validName(b []byte) bool {
	if len(b) < 1 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// record reads {"Data":"…"}: its base64, unchecked until decoded.
func record(s *jsonrpc.Scanner) ([]byte, bool) {
	if !s.Consume('{') {
		return nil, false
	}
	key, ok := s.Str()
	if !ok || string(key) != "Data" || !s.Consume(':') {
		return nil, false
	}
	v, ok := s.RawStr()
	if !ok || len(v)%4 != 0 || base64.StdEncoding.DecodedLen(len(v)) > maxData+2 || !s.Consume('}') {
		return nil, false
	}
	return v, true
}

// decodeAll decodes the records' base64 into one pooled buffer.
func (in *putInput) decodeAll(datas [][]byte) bool {
	total := 0
	for _, d := range datas {
		total += base64.StdEncoding.DecodedLen(len(d))
	}
	buf := getDataBuf(total + 8)
	off := 0
	in.Records = make([][]byte, len(datas))
	for i, d := range datas {
		n, ok := jsonrpc.DecodeBlob(buf[off:], d)
		if !ok || n > maxData {
			dataPool.Put(buf[:0]) //nolint:staticcheck
			return false
		}
		in.Records[i] = buf[off : off+n : off+n]
		off += n
	}
	in.buf = buf
	return true
}

// fastPutRecordBatch decodes a PutRecordBatch body.
func fastPutRecordBatch(body []byte) (any, bool) {
	s := jsonrpc.Scanner{B: body}
	in := &putInput{}
	var datas [][]byte
	ok := s.Object(func(key string) bool {
		switch key {
		case "DeliveryStreamName":
			v, ok := s.Str()
			in.Name = string(v)
			return ok && validName(v)
		case "Records":
			if !s.Consume('[') || s.Peek() == ']' {
				return false
			}
			for {
				d, ok := record(&s)
				if !ok {
					return false
				}
				datas = append(datas, d)
				if !s.Consume(',') {
					return s.Consume(']')
				}
			}
		}
		return false
	})
	s.WS()
	if !ok || !s.AtEnd() || in.Name == "" || len(datas) == 0 || len(datas) > 500 || !in.decodeAll(datas) {
		return nil, false
	}
	return in, true
}

// fastPutRecord decodes a PutRecord body.
func fastPutRecord(body []byte) (any, bool) {
	s := jsonrpc.Scanner{B: body}
	in := &putInput{}
	var data []byte
	ok := s.Object(func(key string) bool {
		switch key {
		case "DeliveryStreamName":
			v, ok := s.Str()
			in.Name = string(v)
			return ok && validName(v)
		case "Record":
			var ok bool
			data, ok = record(&s)
			return ok
		}
		return false
	})
	s.WS()
	if !ok || !s.AtEnd() || in.Name == "" || data == nil || !in.decodeAll([][]byte{data}) {
		return nil, false
	}
	return in, true
}
