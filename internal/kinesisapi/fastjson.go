package kinesisapi

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/rheos/rheos/internal/awsproto/jsonrpc"
	"github.com/rheos/rheos/internal/datastream"
)

// This file holds the hot-path codecs: a decoder for the common, well-formed
// PutRecords and PutRecord bodies that skips the generic map-based decoder
// (anything unusual — escapes, nulls, unknown or repeated members, a
// constraint violation — returns ok=false and the generic path answers with
// AWS's exact messages), and appenders for the PutRecords and GetRecords
// responses. FuzzFastDecodeAgrees proves the decoders accept only what the
// generic path accepts, with the same result.

// putInput is the typed input of PutRecord and PutRecords.
type putInput struct {
	StreamName string
	StreamARN  string
	SeqForOrd  string // PutRecord only
	Records    []datastream.PutEntry
	buf        []byte // pooled buffer holding every record's Data
}

// dataPool recycles the decoded-data buffers of fast-path puts.
var dataPool sync.Pool

func getDataBuf(n int) []byte {
	if v := dataPool.Get(); v != nil {
		if b := v.([]byte); cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n)
}

// Release returns the data buffer to the pool; awsproto calls it once the
// handler has returned (the log copies records before acknowledging them).
func (in *putInput) Release() {
	if in.buf != nil && cap(in.buf) <= 32<<20 {
		dataPool.Put(in.buf[:0]) //nolint:staticcheck
		in.buf = nil
	}
}

var (
	streamNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	streamARNRe  = regexp.MustCompile(`^(?:arn:aws.*:kinesis:.*:\d{12}:stream/\S+)$`)
)

func validStreamName(b []byte) bool {
	if len(b) < 1 || len(b) > 128 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func validARN(b []byte) bool {
	return len(b) >= 1 && len(b) <= 2048 && utf8.Valid(b) && streamARNRe.Match(b)
}

// validHashKey matches 0|([1-9]\d{0,38}).
func validHashKey(b []byte) bool {
	if len(b) == 0 || len(b) > 39 || len(b) > 1 && b[0] == '0' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validSeqNum matches 0|([1-9]\d{0,128}).
func validSeqNum(b []byte) bool {
	if len(b) == 0 || len(b) > 129 || len(b) > 1 && b[0] == '0' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func validPartitionKey(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	n := utf8.RuneCount(b)
	return n >= 1 && n <= 256
}

// maxData is the schema's limit on Data (the largest MaxRecordSizeInKiB).
const maxData = 10 << 20

// record reads one record object's members into e; dataB64 receives the
// base64 text (decoded later into one buffer).
func record(s *jsonrpc.Scanner, e *datastream.PutEntry, dataB64 *[]byte, single bool, in *putInput) bool {
	var seen uint8
	if !single && !s.Consume('{') {
		return false
	}
	if s.Peek() == '}' {
		return false
	}
	for {
		key, ok := s.Str()
		if !ok || !s.Consume(':') {
			return false
		}
		var bit uint8
		switch string(key) {
		case "Data":
			bit = 1
			v, ok := s.RawStr()
			if !ok || len(v)%4 != 0 || base64.StdEncoding.DecodedLen(len(v)) > maxData+2 {
				return false
			}
			*dataB64 = v
		case "PartitionKey":
			bit = 2
			v, ok := s.Str()
			if !ok || !validPartitionKey(v) {
				return false
			}
			e.PartitionKey = string(v)
		case "ExplicitHashKey":
			bit = 4
			v, ok := s.Str()
			if !ok || !validHashKey(v) {
				return false
			}
			e.ExplicitHashKey = string(v)
		case "StreamName", "StreamARN", "SequenceNumberForOrdering":
			if !single {
				return false
			}
			bit = map[string]uint8{"StreamName": 8, "StreamARN": 16, "SequenceNumberForOrdering": 32}[string(key)]
			v, ok := s.Str()
			if !ok {
				return false
			}
			switch bit {
			case 8:
				if !validStreamName(v) {
					return false
				}
				in.StreamName = string(v)
			case 16:
				if !validARN(v) {
					return false
				}
				in.StreamARN = string(v)
			case 32:
				if !validSeqNum(v) {
					return false
				}
				in.SeqForOrd = string(v)
			}
		default:
			return false
		}
		if seen&bit != 0 {
			return false // repeated member: let the generic path decide
		}
		seen |= bit
		if s.Consume(',') {
			continue
		}
		if !s.Consume('}') {
			return false
		}
		return seen&3 == 3 // Data and PartitionKey are required
	}
}

// fastPutRecords decodes a PutRecords body.
func fastPutRecords(body []byte) (any, bool) {
	s := jsonrpc.Scanner{B: body}
	in := &putInput{}
	var datas [][]byte
	if !s.Consume('{') || s.Peek() == '}' {
		return nil, false
	}
	var seen uint8
	for {
		key, ok := s.Str()
		if !ok || !s.Consume(':') {
			return nil, false
		}
		var bit uint8
		switch string(key) {
		case "StreamName":
			bit = 1
			v, ok := s.Str()
			if !ok || !validStreamName(v) {
				return nil, false
			}
			in.StreamName = string(v)
		case "StreamARN":
			bit = 2
			v, ok := s.Str()
			if !ok || !validARN(v) {
				return nil, false
			}
			in.StreamARN = string(v)
		case "Records":
			bit = 4
			if !s.Consume('[') {
				return nil, false
			}
			in.Records = make([]datastream.PutEntry, 0, 500)
			datas = make([][]byte, 0, 500)
			for {
				if len(in.Records) == 500 {
					return nil, false
				}
				in.Records = append(in.Records, datastream.PutEntry{})
				datas = append(datas, nil)
				if !record(&s, &in.Records[len(in.Records)-1], &datas[len(datas)-1], false, nil) {
					return nil, false
				}
				if s.Consume(',') {
					continue
				}
				if !s.Consume(']') {
					return nil, false
				}
				break
			}
		default:
			return nil, false
		}
		if seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		if s.Consume(',') {
			continue
		}
		if !s.Consume('}') {
			return nil, false
		}
		break
	}
	s.WS()
	if !s.AtEnd() || seen&4 == 0 || len(in.Records) == 0 {
		return nil, false
	}
	// Decode every Data into one buffer.
	total := 0
	for _, d := range datas {
		total += base64.StdEncoding.DecodedLen(len(d))
	}
	buf := getDataBuf(total)
	in.buf = buf
	off := 0
	for i, d := range datas {
		n, ok := jsonrpc.DecodeBlob(buf[off:], d)
		if !ok || n > maxData {
			return nil, false
		}
		in.Records[i].Data = buf[off : off+n : off+n]
		off += n
	}
	return in, true
}

// fastPutRecord decodes a PutRecord body.
func fastPutRecord(body []byte) (any, bool) {
	s := jsonrpc.Scanner{B: body}
	in := &putInput{Records: make([]datastream.PutEntry, 1)}
	var d []byte
	if !s.Consume('{') || !record(&s, &in.Records[0], &d, true, in) {
		return nil, false
	}
	s.WS()
	if !s.AtEnd() {
		return nil, false
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(d)))
	n, ok := jsonrpc.DecodeBlob(buf, d)
	if !ok || n > maxData {
		return nil, false
	}
	in.Records[0].Data = buf[:n:n]
	return in, true
}

// appendJSONString appends s as a JSON string (s is valid UTF-8: every
// string stored came through a validated request).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendGetRecordsOutput encodes the GetRecords response.
func appendGetRecordsOutput(b []byte, res datastream.GetRecordsResult) []byte {
	b = appendRecords(append(b, `{"Records":`...), res.Records)
	if res.NextShardIterator != "" {
		b = append(b, `,"NextShardIterator":"`...)
		b = append(b, res.NextShardIterator...)
		b = append(b, '"')
	}
	b = append(b, `,"MillisBehindLatest":`...)
	b = strconv.AppendInt(b, res.MillisBehindLatest, 10)
	b = appendChildShards(b, res.ChildShards)
	return append(b, '}')
}

// appendRecords encodes a Records array (GetRecords, SubscribeToShardEvent).
func appendRecords(b []byte, recs []datastream.Record) []byte {
	b = append(b, '[')
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"SequenceNumber":"`...)
		b = append(b, r.SequenceNumber...)
		b = append(b, `","ApproximateArrivalTimestamp":`...)
		b = strconv.AppendFloat(b, epoch(r.ArrivalTime), 'f', -1, 64)
		b = append(b, `,"Data":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Data)
		b = append(b, `","PartitionKey":`...)
		b = appendJSONString(b, r.PartitionKey)
		if r.Encrypted {
			b = append(b, `,"EncryptionType":"KMS"`...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendChildShards appends a ChildShards member when there are children.
func appendChildShards(b []byte, children []datastream.ChildShard) []byte {
	if len(children) == 0 {
		return b
	}
	b = append(b, `,"ChildShards":[`...)
	for i, ch := range children {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ShardId":"`...)
		b = append(b, ch.ShardID...)
		b = append(b, `","ParentShards":[`...)
		for j, p := range ch.ParentShards {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p)
		}
		b = append(b, `],"HashKeyRange":{"StartingHashKey":"`...)
		b = append(b, ch.HashKeyStart...)
		b = append(b, `","EndingHashKey":"`...)
		b = append(b, ch.HashKeyEnd...)
		b = append(b, `"}}`...)
	}
	return append(b, ']')
}
