package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/jsonrpc"
	"github.com/rheos/rheos/internal/kinesisapi"
)

// This file throws bad input at every operation of the real binary and at
// its front end, and checks that each request gets AWS's error shape, that
// the server keeps serving, that its memory stays bounded and that nothing
// is stored.

// omit in badReq.headers deletes a default header.
const omit = "\x00omit"

// badReq is one malformed request.
type badReq struct {
	name    string
	method  string // "" = POST
	query   string // appended to "/"
	target  string // X-Amz-Target
	headers map[string]string
	body    []byte
	// readOnly marks a request the server may legitimately accept (a valid
	// read-only call with, say, extra members): 200 is fine too.
	readOnly bool
	// known marks a reported bug outside this sweep's fixes: a wrong answer
	// is logged, not failed (and a right one says to drop the mark).
	known string
}

// awsStatus is the HTTP status of each exception of the catalog a bad
// request may get.
var awsStatus = map[string]int{
	"SerializationException":              400,
	"ValidationException":                 400,
	"UnknownOperationException":           400,
	"InvalidArgumentException":            400,
	"ResourceNotFoundException":           400,
	"ResourceInUseException":              400,
	"LimitExceededException":              400,
	"ExpiredIteratorException":            400,
	"ExpiredNextTokenException":           400,
	"AccessDeniedException":               400,
	"MissingAuthenticationTokenException": 400,
	"IncompleteSignatureException":        400,
	"InvalidSignatureException":           400,
	"UnrecognizedClientException":         400,
	"RequestEntityTooLarge":               413,
}

// checkAWSError checks that a response is one of AWS's error shapes: the
// JSON envelope {"__type", "message" | "Message"} with the exception's 4xx
// status and x-amzn-ErrorType, or the front end's XML errors (403
// AccessDeniedException with a Message, 404 UnknownOperationException).
func checkAWSError(method string, resp *http.Response, body []byte) error {
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		return fmt.Errorf("status %d, want 4xx", resp.StatusCode)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		return errors.New("no x-amzn-RequestId")
	}
	if method == http.MethodHead {
		if resp.StatusCode != 403 || len(body) != 0 {
			return fmt.Errorf("HEAD: status %d with %d body bytes", resp.StatusCode, len(body))
		}
		return nil
	}
	if len(body) > 0 && body[0] == '<' {
		var x struct {
			XMLName xml.Name
			Message string `xml:"Message"`
		}
		if err := xml.Unmarshal(body, &x); err != nil {
			return fmt.Errorf("XML error body: %v", err)
		}
		switch {
		case resp.StatusCode == 403 && x.XMLName.Local == "AccessDeniedException" && x.Message != "":
		case resp.StatusCode == 404 && x.XMLName.Local == "UnknownOperationException":
		default:
			return fmt.Errorf("unexpected XML error %d %s", resp.StatusCode, x.XMLName.Local)
		}
		return nil
	}
	var m map[string]any
	switch ct := resp.Header.Get("Content-Type"); ct {
	case jsonrpc.ContentJSON:
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("JSON error body: %v", err)
		}
	case jsonrpc.ContentCBOR: // the answer to a CBOR request
		var aerr error
		if m, aerr = decodeCBORError(body); aerr != nil {
			return fmt.Errorf("CBOR error body: %v", aerr)
		}
	default:
		return fmt.Errorf("Content-Type %q", ct)
	}
	typ, _ := m["__type"].(string)
	if typ == "" {
		return errors.New("no __type")
	}
	if got := resp.Header.Get("x-amzn-ErrorType"); got != typ {
		return fmt.Errorf("x-amzn-ErrorType %q, __type %q", got, typ)
	}
	if want, ok := awsStatus[typ]; !ok || want != resp.StatusCode {
		return fmt.Errorf("%s with status %d", typ, resp.StatusCode)
	}
	// JSON: SerializationException's text is "Message", every other's
	// "message" (Coral's envelope); the CBOR envelope always says "message".
	msgKey := "message"
	if typ == "SerializationException" && resp.Header.Get("Content-Type") == jsonrpc.ContentJSON {
		msgKey = "Message"
	}
	for k, v := range m {
		if _, ok := v.(string); !ok || k != "__type" && k != msgKey {
			return fmt.Errorf("unexpected member %q: %v", k, v)
		}
	}
	return nil
}

// decodeCBORError decodes a CBOR error envelope.
func decodeCBORError(b []byte) (map[string]any, error) {
	m, aerr := jsonrpc.DecodeCBOR(b)
	if aerr != nil {
		return nil, aerr
	}
	return m, nil
}

// cborHead encodes a CBOR data item head.
func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n <= 0xff:
		return []byte{major<<5 | 24, byte(n)}
	case n <= 0xffff:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	case n <= 0xffffffff:
		return []byte{major<<5 | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return []byte{major<<5 | 27, byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// cborText encodes a text string.
func cborText(s string) []byte { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes a map of already encoded keys and values, in order.
func cborMap(kv ...[]byte) []byte {
	b := cborHead(5, uint64(len(kv)/2))
	for _, e := range kv {
		b = append(b, e...)
	}
	return b
}

// cborCases are malformed CBOR requests (application/x-amz-cbor-1.1, the
// Java SDKs' format).
func cborCases(stream string) []badReq {
	name := cborText("StreamName")
	sn := cborText(stream)
	rec := cborMap(cborText("PartitionKey"), cborText("pk"), cborText("Data"), append(cborHead(2, 2), 'h', 'i'))
	records := func(items ...[]byte) []byte {
		b := cborHead(4, uint64(len(items)))
		for _, e := range items {
			b = append(b, e...)
		}
		return b
	}
	repeat := func(head []byte, item []byte, n int) []byte {
		return append(head, bytes.Repeat(item, n)...)
	}
	// 15 MiB of nested arrays of empty maps: cheap to send, and over 1 GB
	// once decoded into generic values before the item cap.
	const n, k = 1<<20 - 1, 15
	bomb := cborHead(4, k)
	for range k {
		bomb = repeat(append(bomb, cborHead(4, n)...), []byte{0xa0}, n)
	}
	nanF64 := []byte{0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}
	infF32 := []byte{0xfa, 0x7f, 0x80, 0, 0}
	nanF16 := []byte{0xf9, 0x7e, 0x00}
	tag1 := func(item []byte) []byte { return append([]byte{0xc1}, item...) }
	// The CBOR decoder turns tag 1 holding NaN or ±Inf into the zero
	// time, which normalizes to a valid (year 1) timestamp.
	cases := map[string]struct {
		op, known string
		body      []byte
	}{
		"JSON body":                       {"PutRecord", "", []byte(`{"StreamName":"` + stream + `","PartitionKey":"a","Data":"AA=="}`)},
		"break only":                      {"PutRecords", "", []byte{0xff}},
		"reserved additional info":        {"PutRecords", "", []byte{0x1c}},
		"truncated map":                   {"PutRecords", "", cborMap(name, sn)[:5]},
		"array at the top":                {"PutRecords", "", records(rec)},
		"two items":                       {"PutRecords", "", append(cborMap(name, sn, cborText("Records"), records(rec)), 0xa0)},
		"non-string key":                  {"PutRecords", "", cborMap(cborHead(0, 7), sn, cborText("Records"), records(rec))},
		"invalid UTF-8 key":               {"PutRecords", "", cborMap([]byte{0x63, 0xff, 0xfe, 0xfd}, sn, cborText("Records"), records(rec))},
		"invalid UTF-8 stream name":       {"PutRecords", "", cborMap(name, []byte{0x62, 0xc0, 0xaf}, cborText("Records"), records(rec))},
		"duplicate keys":                  {"PutRecords", "", cborMap(name, sn, name, sn, cborText("Records"), records(rec))},
		"array of 2^63 elements":          {"PutRecords", "", cborMap(cborText("Records"), cborHead(4, 1<<63))},
		"byte string of 2^63 bytes":       {"PutRecords", "", cborMap(cborText("Records"), cborHead(2, 1<<63))},
		"map of 2^32 pairs":               {"PutRecords", "", cborMap(cborText("Records"), cborHead(5, 1<<32))},
		"100,000 nested arrays":           {"PutRecords", "", cborMap(cborText("Records"), repeat(nil, []byte{0x81}, 100000))},
		"100,000 nested indefinite":       {"PutRecords", "", cborMap(cborText("Records"), repeat(nil, []byte{0x9f}, 100000))},
		"100,000 nested tags":             {"PutRecords", "", cborMap(cborText("Records"), append(repeat(nil, []byte{0xc6}, 100000), 0))},
		"15 MiB of nested empty maps":     {"PutRecords", "", cborMap(name, sn, cborText("Records"), bomb)},
		"1 MiB of nulls":                  {"PutRecords", "", cborMap(name, sn, cborText("Records"), repeat(cborHead(4, 1<<20), []byte{0xf6}, 1<<20))},
		"Records [null]":                  {"PutRecords", "", cborMap(name, sn, cborText("Records"), records([]byte{0xf6}))},
		"Records [undefined]":             {"PutRecords", "", cborMap(name, sn, cborText("Records"), records([]byte{0xf7}))},
		"Records [simple value 16]":       {"PutRecords", "", cborMap(name, sn, cborText("Records"), records([]byte{0xf0}))},
		"Data as text":                    {"PutRecords", "", cborMap(name, sn, cborText("Records"), records(cborMap(cborText("PartitionKey"), cborText("pk"), cborText("Data"), cborText("not base64!"))))},
		"Data as an integer":              {"PutRecords", "", cborMap(name, sn, cborText("Records"), records(cborMap(cborText("PartitionKey"), cborText("pk"), cborText("Data"), cborHead(0, 5))))},
		"StreamName as an integer":        {"PutRecords", "", cborMap(name, cborHead(1, 5), cborText("Records"), records(rec))},
		"Records missing, extra member":   {"PutRecords", "", cborMap(name, sn, cborText("Bogus"), cborHead(0, 1))},
		"Limit NaN":                       {"GetRecords", "", cborMap(cborText("ShardIterator"), cborText("AAAA"), cborText("Limit"), nanF64)},
		"Limit half-precision NaN":        {"GetRecords", "", cborMap(cborText("ShardIterator"), cborText("AAAA"), cborText("Limit"), nanF16)},
		"ShardCount infinity":             {"CreateStream", "", cborMap(name, cborText("sweep-created"), cborText("ShardCount"), infF32)},
		"ShardCount 2^64-1":               {"CreateStream", "", cborMap(name, cborText("sweep-created"), cborText("ShardCount"), cborHead(0, 1<<64-1))},
		"ShardCount -2^64":                {"CreateStream", "", cborMap(name, cborText("sweep-created"), cborText("ShardCount"), cborHead(1, 1<<64-1))},
		"ShardCount as a bignum":          {"CreateStream", "", cborMap(name, cborText("sweep-created"), cborText("ShardCount"), append([]byte{0xc2}, append(cborHead(2, 9), 1, 0, 0, 0, 0, 0, 0, 0, 0)...))},
		"Timestamp tag 1 NaN":             {"GetShardIterator", "", cborMap(name, sn, cborText("ShardId"), cborText("shardId-000000000000"), cborText("ShardIteratorType"), cborText("AT_TIMESTAMP"), cborText("Timestamp"), tag1(nanF64))},
		"Timestamp tag 1 infinity":        {"GetShardIterator", "", cborMap(name, sn, cborText("ShardId"), cborText("shardId-000000000000"), cborText("ShardIteratorType"), cborText("AT_TIMESTAMP"), cborText("Timestamp"), tag1(infF32))},
		"Timestamp tag 1 text":            {"GetShardIterator", "", cborMap(name, sn, cborText("ShardId"), cborText("shardId-000000000000"), cborText("ShardIteratorType"), cborText("AT_TIMESTAMP"), cborText("Timestamp"), tag1(cborText("yesterday")))},
		"Timestamp tag 1 2^64-1 ms":       {"GetShardIterator", "", cborMap(name, sn, cborText("ShardId"), cborText("shardId-000000000000"), cborText("ShardIteratorType"), cborText("AT_TIMESTAMP"), cborText("Timestamp"), tag1(cborHead(0, 1<<64-1)))},
		"Timestamp tag 0 garbage":         {"GetShardIterator", "", cborMap(name, sn, cborText("ShardId"), cborText("shardId-000000000000"), cborText("ShardIteratorType"), cborText("AT_TIMESTAMP"), cborText("Timestamp"), append([]byte{0xc0}, cborText("not a date")...))},
		"ShardIteratorType as a tag 1":    {"GetShardIterator", "", cborMap(name, sn, cborText("ShardId"), cborText("shardId-000000000000"), cborText("ShardIteratorType"), tag1(cborHead(0, 5)))},
		"indefinite text with bad chunks": {"PutRecords", "", cborMap(name, []byte{0x7f, 0x41, 'a', 0xff}, cborText("Records"), records(rec))},
	}
	// A byte string where a string is expected is refused too.
	cases["PartitionKey as a byte string"] = struct {
		op, known string
		body      []byte
	}{"PutRecord", "", cborMap(name, sn, cborText("PartitionKey"), append(cborHead(2, 1), 'k'), cborText("Data"), append(cborHead(2, 1), 'x'))}
	var out []badReq
	for n, c := range cases {
		out = append(out, badReq{name: "CBOR " + c.op + ": " + n, target: kinesisapi.TargetPrefix + "." + c.op, body: c.body, known: c.known, headers: map[string]string{"Content-Type": jsonrpc.ContentCBOR}})
	}
	return out
}

// vmRSS reads a process's resident set size in bytes.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// defaultHeaders are those of a well-formed SDK request.
func defaultHeaders() map[string]string {
	return map[string]string{
		"Content-Type":  jsonrpc.ContentJSON,
		"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123456789abcdef",
		"X-Amz-Date":    "20260101T000000Z",
	}
}

// send sends a badReq with net/http.
func send(hc *http.Client, addr string, r badReq) (*http.Response, []byte, error) {
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, "http://"+addr+"/"+r.query, bytes.NewReader(r.body))
	if err != nil {
		return nil, nil, err
	}
	h := defaultHeaders()
	if r.target != "" {
		h["X-Amz-Target"] = r.target
	}
	for k, v := range r.headers {
		h[k] = v
	}
	for k, v := range h {
		if v != omit {
			req.Header[k] = []string{v}
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, err
}

// rawExchange writes a request on a fresh connection with write (run
// concurrently, so a server that answers before reading everything is seen)
// and reads one response. A nil response with a nil error means the server
// closed the connection without answering.
func rawExchange(addr, method string, write func(net.Conn) error) (*http.Response, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	go write(conn)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !isReset(err) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return resp, body, err
	}
	return resp, body, nil
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// headerBlock formats a request head with the default headers.
func headerBlock(method, target string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s / HTTP/1.1\r\nHost: rheos\r\n", method)
	for k, v := range defaultHeaders() {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if target != "" {
		fmt.Fprintf(&b, "X-Amz-Target: %s\r\n", target)
	}
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// fillReader yields n bytes: prefix, then filler.
type fillReader struct {
	prefix []byte
	fill   byte
	n      int64
}

func (f *fillReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.n)]
	k := copy(p, f.prefix)
	f.prefix = f.prefix[k:]
	for i := k; i < len(p); i++ {
		p[i] = f.fill
	}
	f.n -= int64(len(p))
	return len(p), nil
}

// setPath sets a member at a dotted path ("Records.0.Data") of a body.
func setPath(body map[string]any, path string, v any, del bool) {
	parts := strings.Split(path, ".")
	var cur any = body
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if del {
					delete(c, p)
				} else {
					c[p] = v
				}
				return
			}
			if c[p] == nil {
				c[p] = map[string]any{} // a structure the base leaves out
			}
			cur = c[p]
		case []any:
			n, _ := strconv.Atoi(p)
			if last {
				c[n] = v
				return
			}
			cur = c[n]
		}
	}
}

// deepCopy copies a JSON-shaped value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// wrongValues returns values of the wrong JSON type for a shape, and values
// of the right JSON type that no decoder of the shape accepts.
func wrongValues(s *awsproto.Shape) []any {
	list, obj := []any{"a"}, map[string]any{"a": "b"}
	switch s.Type {
	case awsproto.String:
		return []any{123, 1.5, true, false, list, obj}
	case awsproto.Integer, awsproto.Long:
		return []any{"12", true, list, obj, json.RawMessage("1e400"), json.RawMessage("-1e400")}
	case awsproto.Boolean:
		return []any{"true", "yes", 1, list, obj}
	case awsproto.Blob:
		return []any{123, true, list, obj, "abc", "a!c=", "YQ=X", "YR==", "YQ==YQ==", "Y Q=", "\\u0041AAA"}
	case awsproto.Timestamp:
		return []any{"2020-01-01T00:00:00Z", true, list, obj, json.RawMessage("1e999")}
	case awsproto.List:
		return []any{"x", 1, true, obj, []any{[]any{1}}, []any{true}}
	case awsproto.Map:
		return []any{"x", 1, true, list, map[string]any{"k": 1}, map[string]any{"k": []any{}}}
	case awsproto.Structure:
		return []any{"x", 1, true, list}
	}
	return nil
}

// members lists the dotted paths of a body's schema members with their
// shapes, descending into structures and into the first element of lists
// of structures.
func members(fields []awsproto.Field, prefix string, base map[string]any) []struct {
	path  string
	shape *awsproto.Shape
} {
	var out []struct {
		path  string
		shape *awsproto.Shape
	}
	for _, f := range fields {
		p := prefix + f.Name
		out = append(out, struct {
			path  string
			shape *awsproto.Shape
		}{p, f.Shape})
		switch {
		case f.Shape.Type == awsproto.Structure:
			sub, _ := base[f.Name].(map[string]any)
			out = append(out, members(f.Shape.Fields, p+".", sub)...)
		case f.Shape.Type == awsproto.List && f.Shape.Member != nil && f.Shape.Member.Type == awsproto.Structure:
			if l, _ := base[f.Name].([]any); len(l) > 0 {
				sub, _ := l[0].(map[string]any)
				out = append(out, members(f.Shape.Member.Fields, p+".0.", sub)...)
			}
		}
	}
	return out
}

// sweepCases builds the schema-driven and hand-written cases.
func sweepCases(t *testing.T, stream, arn, iterator string) []badReq {
	t.Helper()
	svc := kinesisapi.New(nil) // only the operation table is used
	rec := map[string]any{"PartitionKey": "pk", "Data": "aGVsbG8="}
	bases := map[string]map[string]any{
		"CreateStream":                  {"StreamName": "sweep-created", "ShardCount": 1},
		"DeleteStream":                  {"StreamName": stream},
		"DescribeStream":                {"StreamName": stream},
		"DescribeStreamSummary":         {"StreamName": stream},
		"ListStreams":                   {"Limit": 10},
		"ListShards":                    {"StreamName": stream},
		"PutRecord":                     {"StreamName": stream, "PartitionKey": "pk", "Data": "aGVsbG8="},
		"PutRecords":                    {"StreamName": stream, "Records": []any{rec}},
		"GetShardIterator":              {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"},
		"GetRecords":                    {"ShardIterator": iterator, "Limit": 10},
		"IncreaseStreamRetentionPeriod": {"StreamName": stream, "RetentionPeriodHours": 48},
		"DecreaseStreamRetentionPeriod": {"StreamName": stream, "RetentionPeriodHours": 24},
		"AddTagsToStream":               {"StreamName": stream, "Tags": map[string]any{"k": "v"}},
		"RemoveTagsFromStream":          {"StreamName": stream, "TagKeys": []any{"k"}},
		"ListTagsForStream":             {"StreamName": stream},
		"TagResource":                   {"ResourceARN": arn, "Tags": map[string]any{"k": "v"}},
		"UntagResource":                 {"ResourceARN": arn, "TagKeys": []any{"k"}},
		"ListTagsForResource":           {"ResourceARN": arn},
		"DescribeLimits":                {},
		"UpdateMaxRecordSize":           {"StreamARN": arn, "MaxRecordSizeInKiB": 2048},
		"SplitShard":                    {"StreamName": stream, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "85070591730234615865843651857942052864"},
		"MergeShards":                   {"StreamName": stream, "ShardToMerge": "shardId-000000000000", "AdjacentShardToMerge": "shardId-000000000001"},
		"UpdateShardCount":              {"StreamName": stream, "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"},
		"RegisterStreamConsumer":        {"StreamARN": arn, "ConsumerName": "sweep-consumer"},
		"DeregisterStreamConsumer":      {"StreamARN": arn, "ConsumerName": "sweep-consumer"},
		"DescribeStreamConsumer":        {"StreamARN": arn, "ConsumerName": "sweep-consumer"},
		"ListStreamConsumers":           {"StreamARN": arn},
		"SubscribeToShard":              {"ConsumerARN": arn + "/consumer/sweep-consumer:1", "ShardId": "shardId-000000000000", "StartingPosition": map[string]any{"Type": "LATEST"}},
	}
	readOnly := map[string]bool{
		"DescribeStream": true, "DescribeStreamSummary": true, "ListStreams": true, "ListShards": true,
		"GetShardIterator": true, "GetRecords": true, "ListTagsForStream": true, "ListTagsForResource": true, "DescribeLimits": true,
		"DescribeStreamConsumer": true, "ListStreamConsumers": true,
	}
	var names []string
	for name := range svc.Operations {
		names = append(names, name)
	}
	sort.Strings(names)
	var cases []badReq
	var generated []string
	defer func() {
		if len(generated) > 0 {
			t.Logf("generated base bodies (no hand-written one yet) for %v", generated)
		}
	}()
	add := func(op, name string, body []byte) {
		cases = append(cases, badReq{name: op + ": " + name, target: kinesisapi.TargetPrefix + "." + op, body: body})
	}
	for _, op := range names {
		fields := svc.Operations[op].Input
		base, ok := bases[op]
		if !ok {
			// Every case below breaks the base, so a generated one serves
			// a new operation until it gets a hand-written base.
			generated = append(generated, op)
			base = placeholder(&awsproto.Shape{Type: awsproto.Structure, Fields: fields}).(map[string]any)
			if hasField(fields, "StreamName") {
				base["StreamName"] = stream
			}
		}
		variant := func(path string, v any, del bool) []byte {
			b := deepCopy(base).(map[string]any)
			setPath(b, path, v, del)
			return mustJSON(b)
		}
		var required []string
		for _, m := range members(fields, "", base) {
			for _, w := range wrongValues(m.shape) {
				add(op, fmt.Sprintf("%s = %s", m.path, mustJSON(w)), variant(m.path, w, false))
			}
			// Invalid UTF-8 in the member's value.
			if m.shape.Type == awsproto.String || m.shape.Type == awsproto.Blob {
				for _, bad := range []string{"a\xffb", "\xc0\xaf", "\xed\xa0\x80", "ok\xe2\x82"} {
					b := bytes.Replace(variant(m.path, "@@BAD@@", false), []byte("@@BAD@@"), []byte(bad), 1)
					add(op, fmt.Sprintf("%s = invalid UTF-8 %q", m.path, bad), b)
				}
			}
			if m.shape.Required {
				required = append(required, m.path)
				add(op, m.path+" missing", variant(m.path, nil, true))
				add(op, m.path+" null", variant(m.path, nil, false))
			}
		}
		// Null and empty members of lists of structures.
		for _, f := range fields {
			if f.Shape.Type == awsproto.List {
				add(op, f.Name+" = [null]", variant(f.Name, []any{nil}, false))
				add(op, f.Name+" = []", variant(f.Name, []any{}, false))
				if f.Shape.Member != nil && f.Shape.Member.Type == awsproto.Structure {
					add(op, f.Name+" = [{}]", variant(f.Name, []any{map[string]any{}}, false))
					add(op, f.Name+" = [valid, null]", variant(f.Name, []any{rec, nil}, false))
				}
			}
		}
		// Extra members, always with something else wrong (or on a
		// read-only call) so that nothing can be stored.
		extra := deepCopy(base).(map[string]any)
		extra["Bogus"] = map[string]any{"x": []any{1, 2, nil}}
		extra["streamName"] = "lowercase-duplicate"
		extra[""] = true
		switch {
		case len(required) > 0:
			setPath(extra, required[0], nil, true)
			add(op, "extra members, "+required[0]+" missing", mustJSON(extra))
		case readOnly[op] || len(fields) == 0: // nothing to break: a valid call
			cases = append(cases, badReq{name: op + ": extra members", target: kinesisapi.TargetPrefix + "." + op, body: mustJSON(extra), readOnly: true})
		default:
			extra[fields[0].Name] = wrongValues(fields[0].Shape)[0]
			add(op, "extra members, "+fields[0].Name+" of the wrong type", mustJSON(extra))
		}
		if _, ok := base["StreamName"]; ok || op == "CreateStream" {
			add(op, `StreamName = "\ud800" (escaped lone surrogate)`, variant("StreamName", "@@S@@", false))
			cases[len(cases)-1].body = bytes.Replace(cases[len(cases)-1].body, []byte("@@S@@"), []byte(`\ud800`), 1)
			add(op, "StreamName 10× too long", variant("StreamName", strings.Repeat("s", 1280), false))
			add(op, "StreamName with invalid characters", variant("StreamName", "a/b c", false))
			add(op, "StreamName empty", variant("StreamName", "", false))
		}
		if _, ok := base["StreamARN"]; ok || hasField(fields, "StreamARN") {
			add(op, "StreamARN garbage", variant("StreamARN", "arn:aws:s3:::bucket", false))
			add(op, "StreamARN 10× too long", variant("StreamARN", "arn:aws:kinesis:us-east-1:000000000000:stream/"+strings.Repeat("x", 20480), false))
		}
		// Malformed JSON.
		good := mustJSON(base)
		for _, cut := range []int{1, len(good) / 3, len(good) / 2, len(good) - 1} {
			if cut > 0 && cut < len(good) {
				add(op, fmt.Sprintf("truncated at %d/%d", cut, len(good)), good[:cut])
			}
		}
		inner := good[1 : len(good)-1]
		for name, b := range map[string]string{
			"empty body":               "",
			"white space only":         " \n\t ",
			"null":                     "null",
			"array":                    "[" + string(good) + "]",
			"number":                   "1",
			"string":                   `"x"`,
			"true":                     "true",
			"trailing garbage":         string(good) + "x",
			"trailing brace":           string(good) + "}",
			"two objects":              string(good) + string(good),
			"trailing comma":           "{" + string(inner) + ",}",
			"leading comma":            "{," + string(inner) + "}",
			"single quotes":            strings.ReplaceAll(string(good), `"`, `'`),
			"unquoted keys":            `{StreamName:"x"}`,
			"missing colon":            `{"StreamName" "x"}`,
			"missing value":            `{"StreamName":}`,
			"bad escape":               `{"StreamName":"\x"}`,
			"bad unicode escape":       `{"StreamName":"\u12G4"}`,
			"unterminated string":      `{"StreamName":"abc`,
			"raw newline in string":    "{\"StreamName\":\"a\nb\"}",
			"raw NUL in string":        "{\"StreamName\":\"a\x00b\"}",
			"NUL after the object":     string(good) + "\x00",
			"byte-order mark":          "\xef\xbb\xbf" + string(good),
			"comment":                  "/* c */" + string(good),
			"NaN":                      `{"Limit":NaN}`,
			"Infinity":                 `{"Limit":Infinity}`,
			"hex number":               `{"Limit":0x10}`,
			"leading zero number":      `{"Limit":010}`,
			"bare minus":               `{"Limit":-}`,
			"exponent without digits":  `{"Limit":1e}`,
			"invalid UTF-8 key":        strings.Replace(string(good), `"`, "\"\xff", 1),
			"invalid UTF-8 whole body": "\xff\xfe\xfd",
			"UTF-16 body":              "\xff\xfe{\x00}\x00",
			"control characters":       "\x01\x02\x03",
		} {
			if b != string(good) { // a rewrite that changed nothing is no malformation
				add(op, name, []byte(b))
			}
		}
		// Deeply nested documents, inside an array and inside objects.
		firstMember := "StreamName"
		if len(fields) > 0 {
			firstMember = fields[0].Name
		}
		for _, d := range []int{65, 1000, 100000} {
			add(op, fmt.Sprintf("%s nested %d arrays deep", firstMember, d),
				[]byte(`{"`+firstMember+`":`+strings.Repeat("[", d)+strings.Repeat("]", d)+"}"))
			add(op, fmt.Sprintf("%s nested %d objects deep", firstMember, d),
				[]byte(`{"`+firstMember+`":`+strings.Repeat(`{"a":`, d)+"1"+strings.Repeat("}", d)+"}"))
			add(op, fmt.Sprintf("unterminated nesting %d deep", d), []byte(strings.Repeat("[", d)))
		}
	}

	// Constraint limits, each exceeded tenfold, and values that only the
	// domain can refuse.
	putRecord := func(m map[string]any) []byte {
		b := deepCopy(bases["PutRecord"]).(map[string]any)
		for k, v := range m {
			b[k] = v
		}
		return mustJSON(b)
	}
	putRecords := func(recs []any) []byte {
		return mustJSON(map[string]any{"StreamName": stream, "Records": recs})
	}
	b64 := func(n int) string { return strings.Repeat("A", n/3*4) } // n divisible by 3
	many := func(n int, r any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = r
		}
		return out
	}
	// bomb is a PutRecords body just under the cap made of one tiny value
	// repeated: cheap to send, costly to decode into generic values.
	bomb := func(elem string, cap int) []byte {
		head := `{"StreamName":"` + stream + `","Records":[`
		n := (cap - len(head) - 2) / (len(elem) + 1)
		return []byte(head + strings.Repeat(elem+",", n-1) + elem + "]}")
	}
	tags := func(n int) map[string]any {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "v"
		}
		return m
	}
	for name, b := range map[string][]byte{
		"PutRecord: Data 10× the stream's record size": putRecord(map[string]any{"Data": b64(10 << 20)}),
		"PutRecord: Data 1 MiB + 3 bytes":              putRecord(map[string]any{"Data": b64(1<<20 + 3)}),
		"PutRecord: PartitionKey 10× too long":         putRecord(map[string]any{"PartitionKey": strings.Repeat("p", 2560)}),
		"PutRecord: PartitionKey empty":                putRecord(map[string]any{"PartitionKey": ""}),
		"PutRecord: ExplicitHashKey 2^128":             putRecord(map[string]any{"ExplicitHashKey": "340282366920938463463374607431768211456"}),
		"PutRecord: ExplicitHashKey 10× too long":      putRecord(map[string]any{"ExplicitHashKey": "1" + strings.Repeat("0", 389)}),
		"PutRecord: ExplicitHashKey negative":          putRecord(map[string]any{"ExplicitHashKey": "-1"}),
		// "1" is a valid version-0 number to AWS (kinesalite's parse, which
		// its AWS recordings pass); all f is refused.
		"PutRecord: SequenceNumberForOrdering garbage":       putRecord(map[string]any{"SequenceNumberForOrdering": hexDecimal("2ffffffffff7fffffffffffffff000000000007fffffff2")}),
		"PutRecord: SequenceNumberForOrdering 10× too long":  putRecord(map[string]any{"SequenceNumberForOrdering": "1" + strings.Repeat("0", 1290)}),
		"PutRecord: SequenceNumberForOrdering in the future": putRecord(map[string]any{"SequenceNumberForOrdering": "49999999999999999999999999999999999999999999999999999999"}),
		"PutRecords: 10× the records":                        putRecords(many(5000, rec)),
		"PutRecords: 200,000 empty records":                  putRecords(many(200000, map[string]any{})),
		"PutRecords: 16 MiB of empty records":                bomb(`{}`, 16<<20),
		"PutRecords: 16 MiB of nulls":                        bomb(`null`, 16<<20),
		"PutRecords: 16 MiB of records without members":      bomb(`{"Data":""}`, 16<<20),
		"PutRecords: 16 MiB of empty lists":                  bomb(`[]`, 16<<20),
		"CreateStream: 1 MiB of tags":                        mustJSON(map[string]any{"StreamName": "sweep-created", "ShardCount": 1, "Tags": tags(60000)}),
		"PutRecords: one record 10× the record size":         putRecords([]any{map[string]any{"PartitionKey": "pk", "Data": b64(10 << 20)}}),
		"PutRecords: 499 good records and one bad":           putRecords(append(many(499, rec), map[string]any{"PartitionKey": "", "Data": "aGVsbG8="})),
		"PutRecords: one record with ExplicitHashKey 2^128":  putRecords(append(many(10, rec), map[string]any{"PartitionKey": "pk", "Data": "", "ExplicitHashKey": "340282366920938463463374607431768211456"})),
		"CreateStream: ShardCount 10× the maximum":           mustJSON(map[string]any{"StreamName": "sweep-created", "ShardCount": 1000000}),
		"CreateStream: ShardCount 0":                         mustJSON(map[string]any{"StreamName": "sweep-created", "ShardCount": 0}),
		"CreateStream: ShardCount -1":                        mustJSON(map[string]any{"StreamName": "sweep-created", "ShardCount": -1}),
		"CreateStream: ShardCount above the account limit":   mustJSON(map[string]any{"StreamName": "sweep-created", "ShardCount": 100000}),
		"CreateStream: 10× the tags":                         mustJSON(map[string]any{"StreamName": "sweep-created", "ShardCount": 1, "Tags": tags(2000)}),
		"CreateStream: existing stream":                      mustJSON(map[string]any{"StreamName": stream, "ShardCount": 1}),
		"CreateStream: bad StreamModeDetails":                mustJSON(map[string]any{"StreamName": "sweep-created", "StreamModeDetails": map[string]any{"StreamMode": "FAST"}}),
		"CreateStream: MaxRecordSizeInKiB 10×":               mustJSON(map[string]any{"StreamName": "sweep-created", "ShardCount": 1, "MaxRecordSizeInKiB": 102400}),
		"AddTagsToStream: 10× the tags":                      mustJSON(map[string]any{"StreamName": stream, "Tags": tags(500)}),
		"AddTagsToStream: tag key 10× too long":              mustJSON(map[string]any{"StreamName": stream, "Tags": map[string]any{strings.Repeat("k", 1280): "v"}}),
		"AddTagsToStream: tag value 10× too long":            mustJSON(map[string]any{"StreamName": stream, "Tags": map[string]any{"k": strings.Repeat("v", 2560)}}),
		"AddTagsToStream: empty tag key":                     mustJSON(map[string]any{"StreamName": stream, "Tags": map[string]any{"": "v"}}),
		"AddTagsToStream: missing stream":                    mustJSON(map[string]any{"StreamName": "no-such-stream", "Tags": map[string]any{"k": "v"}}),
		"TagResource: 10× the tags":                          mustJSON(map[string]any{"ResourceARN": arn, "Tags": tags(500)}),
		"TagResource: another account's ARN":                 mustJSON(map[string]any{"ResourceARN": "arn:aws:kinesis:us-east-1:999999999999:stream/" + stream, "Tags": map[string]any{"k": "v"}}),
		"RemoveTagsFromStream: 10× the keys":                 mustJSON(map[string]any{"StreamName": stream, "TagKeys": many(500, "k")}),
		"IncreaseStreamRetentionPeriod: 10× the maximum":     mustJSON(map[string]any{"StreamName": stream, "RetentionPeriodHours": 87600}),
		"IncreaseStreamRetentionPeriod: lower than current":  mustJSON(map[string]any{"StreamName": stream, "RetentionPeriodHours": 1}),
		"DecreaseStreamRetentionPeriod: higher than current": mustJSON(map[string]any{"StreamName": stream, "RetentionPeriodHours": 100}),
		"DecreaseStreamRetentionPeriod: 0":                   mustJSON(map[string]any{"StreamName": stream, "RetentionPeriodHours": 0}),
		"UpdateMaxRecordSize: 10× the maximum":               mustJSON(map[string]any{"StreamARN": arn, "MaxRecordSizeInKiB": 102400}),
		"UpdateMaxRecordSize: below the minimum":             mustJSON(map[string]any{"StreamARN": arn, "MaxRecordSizeInKiB": 1}),
		"GetRecords: Limit 10× the maximum":                  mustJSON(map[string]any{"ShardIterator": iterator, "Limit": 100000}),
		"GetRecords: Limit 0":                                mustJSON(map[string]any{"ShardIterator": iterator, "Limit": 0}),
		"GetRecords: ShardIterator 10× too long":             mustJSON(map[string]any{"ShardIterator": strings.Repeat("A", 5120)}),
		"GetRecords: ShardIterator garbage":                  mustJSON(map[string]any{"ShardIterator": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
		"GetRecords: ShardIterator tampered":                 mustJSON(map[string]any{"ShardIterator": tamper(iterator)}),
		"GetRecords: ShardIterator not base64":               mustJSON(map[string]any{"ShardIterator": "!!!!"}),
		"GetShardIterator: AT_SEQUENCE_NUMBER without one":   mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER"}),
		"GetShardIterator: TRIM_HORIZON with one":            mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON", "StartingSequenceNumber": "1"}),
		"GetShardIterator: sequence number garbage":          mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "123"}),
		"GetShardIterator: sequence number 10× too long":     mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "1" + strings.Repeat("0", 1290)}),
		"GetShardIterator: unknown shard":                    mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-999999999999", "ShardIteratorType": "LATEST"}),
		"GetShardIterator: shard id overflow":                mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-99999999999999999999999", "ShardIteratorType": "LATEST"}),
		"GetShardIterator: AT_TIMESTAMP without one":         mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP"}),
		"GetShardIterator: bad type":                         mustJSON(map[string]any{"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "EARLIEST"}),
		"ListStreams: Limit 10× the maximum":                 mustJSON(map[string]any{"Limit": 100000}),
		"ListStreams: NextToken garbage":                     mustJSON(map[string]any{"NextToken": "garbage"}),
		"ListShards: NextToken garbage":                      mustJSON(map[string]any{"NextToken": "garbage"}),
		"ListShards: NextToken and StreamName":               mustJSON(map[string]any{"NextToken": "garbage", "StreamName": stream}),
		"ListShards: MaxResults 10× the maximum":             mustJSON(map[string]any{"StreamName": stream, "MaxResults": 100000}),
		"ListShards: bad ShardFilter":                        mustJSON(map[string]any{"StreamName": stream, "ShardFilter": map[string]any{"Type": "SIDEWAYS"}}),
		"DescribeStream: Limit 10× the maximum":              mustJSON(map[string]any{"StreamName": stream, "Limit": 100000}),
		"SplitShard: hash key 2^128":                         mustJSON(map[string]any{"StreamName": stream, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "340282366920938463463374607431768211456"}),
		"SplitShard: hash key at the shard's start":          mustJSON(map[string]any{"StreamName": stream, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "0"}),
		"SplitShard: hash key outside the shard":             mustJSON(map[string]any{"StreamName": stream, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "300000000000000000000000000000000000000"}),
		"SplitShard: unknown shard":                          mustJSON(map[string]any{"StreamName": stream, "ShardToSplit": "shardId-000000000009", "NewStartingHashKey": "1"}),
		"MergeShards: a shard with itself":                   mustJSON(map[string]any{"StreamName": stream, "ShardToMerge": "shardId-000000000000", "AdjacentShardToMerge": "shardId-000000000000"}),
		"MergeShards: unknown shard":                         mustJSON(map[string]any{"StreamName": stream, "ShardToMerge": "shardId-000000000000", "AdjacentShardToMerge": "shardId-000000000009"}),
		"UpdateShardCount: 10× the shards":                   mustJSON(map[string]any{"StreamName": stream, "TargetShardCount": 20, "ScalingType": "UNIFORM_SCALING"}),
		"UpdateShardCount: 0 shards":                         mustJSON(map[string]any{"StreamName": stream, "TargetShardCount": 0, "ScalingType": "UNIFORM_SCALING"}),
		"UpdateShardCount: above the maximum":                mustJSON(map[string]any{"StreamName": stream, "TargetShardCount": 1000000, "ScalingType": "UNIFORM_SCALING"}),
		"UpdateShardCount: unknown scaling type":             mustJSON(map[string]any{"StreamName": stream, "TargetShardCount": 4, "ScalingType": "EXPONENTIAL"}),
		"DeleteStream: neither name nor ARN":                 mustJSON(map[string]any{"EnforceConsumerDeletion": true}),
		"DeleteStream: name and mismatched ARN":              mustJSON(map[string]any{"StreamName": stream, "StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/other"}),
	} {
		op, _, _ := strings.Cut(name, ":")
		add(op, strings.TrimSpace(name[len(op)+1:]), b)
	}

	// Unknown operations and services. (White space around the whole
	// value is not part of an HTTP header value, so "Kinesis_20131202.PutRecord "
	// is PutRecord; inside it, it is not.)
	put := mustJSON(bases["PutRecord"])
	for _, target := range []string{
		"Kinesis_20131202.Bogus", "Kinesis_20131202.", "Kinesis_20131202", "Kinesis_20131202.putRecord",
		"Kinesis_20131202.PutRecord.Extra", "Kinesis_20131202.PutRecord\t.", "Kinesis_20131202. PutRecord",
		"kinesis_20131202.PutRecord", "Kinesis_20131201.PutRecord", "Firehose_20150804.PutRecord",
		"DynamoDB_20120810.GetItem", ".PutRecord", ".", "Kinesis_20131202.Subscribe",
		"Kinesis_20131202.\xffPutRecord", "Kinesis_20131202." + strings.Repeat("A", 60000),
	} {
		n := target
		if len(n) > 60 {
			n = n[:60] + "…"
		}
		cases = append(cases,
			badReq{name: fmt.Sprintf("target %q", n), target: target, body: put},
			badReq{name: fmt.Sprintf("target %q, empty body", n), target: target},
			badReq{name: fmt.Sprintf("target %q, text/plain", n), target: target, body: put, headers: map[string]string{"Content-Type": "text/plain"}},
		)
	}
	cases = append(cases, badReq{name: "no X-Amz-Target", body: put}, badReq{name: "no X-Amz-Target, no Content-Type", body: put, headers: map[string]string{"Content-Type": omit}})

	// Missing and garbage headers on a valid PutRecord: each must be
	// refused (the final check proves nothing was stored).
	putTarget := kinesisapi.TargetPrefix + ".PutRecord"
	for name, h := range map[string]map[string]string{
		"no Content-Type":                           {"Content-Type": omit},
		"Content-Type text/plain":                   {"Content-Type": "text/plain"},
		"Content-Type JSON 1.0":                     {"Content-Type": "application/x-amz-json-1.0"},
		"Content-Type CBOR":                         {"Content-Type": jsonrpc.ContentCBOR},
		"Content-Type garbage":                      {"Content-Type": "\xff\xfe;;;=="},
		"Content-Type multipart":                    {"Content-Type": "multipart/form-data; boundary=x"},
		"Content-Type 50 KiB":                       {"Content-Type": strings.Repeat("a", 50<<10)},
		"no Authorization":                          {"Authorization": omit},
		"Authorization garbage":                     {"Authorization": "garbage"},
		"Authorization comma":                       {"Authorization": ","},
		"Authorization commas and spaces":           {"Authorization": ", , ,"},
		"Authorization 1000 commas":                 {"Authorization": strings.Repeat(",", 1000)},
		"Authorization algorithm only":              {"Authorization": "AWS4-HMAC-SHA256"},
		"Authorization empty parameters":            {"Authorization": "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature="},
		"Authorization no Signature":                {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host"},
		"Authorization Bearer":                      {"Authorization": "Bearer abc.def.ghi"},
		"Authorization invalid UTF-8":               {"Authorization": "\xff\xfe\xfd"},
		"Authorization = signs only":                {"Authorization": "= = = ="},
		"no X-Amz-Date":                             {"X-Amz-Date": omit},
		"no Authorization, no X-Amz-Date":           {"Authorization": omit, "X-Amz-Date": omit},
		"Authorization with a 10 KiB credential":    {"Authorization": "AWS4-HMAC-SHA256 Credential=" + strings.Repeat("A/", 5<<10) + ", SignedHeaders=host, Signature=00"},
		"credential scope in another region":        {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-9/kinesis/aws4_request, SignedHeaders=host, Signature=00"},
		"credential scope region with invalid UTF8": {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/\xff/kinesis/aws4_request, SignedHeaders=host, Signature=00"},
	} {
		cases = append(cases, badReq{name: "PutRecord: " + name, target: putTarget, body: put, headers: h})
	}
	// Query-string signatures, partial or together with the header.
	cases = append(cases,
		badReq{name: "PutRecord: query signature and Authorization", target: putTarget, body: put, query: "?X-Amz-Algorithm=AWS4-HMAC-SHA256"},
		badReq{name: "PutRecord: partial query signature", target: putTarget, body: put, query: "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x", headers: map[string]string{"Authorization": omit}},
		badReq{name: "PutRecord: garbage query", target: putTarget, body: put, query: "?%zz=%%&;;", headers: map[string]string{"Authorization": omit}},
	)
	// Signatures are not verified yet (the security milestone): a garbage
	// X-Amz-Date is accepted on a read-only call.
	cases = append(cases, badReq{name: "DescribeLimits: X-Amz-Date garbage", target: kinesisapi.TargetPrefix + ".DescribeLimits", body: []byte("{}"), headers: map[string]string{"X-Amz-Date": "yesterday"}, readOnly: true})

	cases = append(cases, cborCases(stream)...)

	// Wrong HTTP methods.
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions, http.MethodTrace, "BREW", "post"} {
		cases = append(cases, badReq{name: "method " + m, method: m, target: putTarget, body: put})
	}
	return cases
}

// placeholder is a value of the right type for a shape, with every
// required member of a structure.
func placeholder(s *awsproto.Shape) any {
	switch s.Type {
	case awsproto.String:
		if len(s.Enum) > 0 {
			return s.Enum[0]
		}
		return "x"
	case awsproto.Integer, awsproto.Long:
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case awsproto.Boolean:
		return false
	case awsproto.Blob:
		return "AA=="
	case awsproto.Timestamp:
		return 0
	case awsproto.List:
		return []any{placeholder(s.Member)}
	case awsproto.Map:
		return map[string]any{"k": placeholder(s.Member)}
	}
	m := map[string]any{}
	for _, f := range s.Fields {
		if f.Shape.Required {
			m[f.Name] = placeholder(f.Shape)
		}
	}
	return m
}

func hasField(fields []awsproto.Field, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// tamper flips one character in the middle of an iterator.
func tamper(it string) string {
	b := []byte(it)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// slowLoris opens connections that trickle a request's headers a byte at a
// time (or send nothing) and records when the server closes each.
type slowLoris struct {
	start  time.Time
	mu     sync.Mutex
	closed []time.Duration // per connection; 0 while open
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startSlowLoris(t *testing.T, addr string, trickling, silent int) *slowLoris {
	t.Helper()
	s := &slowLoris{start: time.Now(), closed: make([]time.Duration, trickling+silent)}
	for i := range trickling + silent {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		s.conns = append(s.conns, conn)
		s.wg.Add(1)
		go func() { // reader: notices the server closing the connection
			defer s.wg.Done()
			io.Copy(io.Discard, conn)
			s.mu.Lock()
			s.closed[i] = time.Since(s.start)
			s.mu.Unlock()
		}()
		if i < trickling {
			go func() {
				head := "POST / HTTP/1.1\r\nHost: rheos\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\nX-Slow: "
				if _, err := conn.Write([]byte(head)); err != nil {
					return
				}
				for {
					time.Sleep(100 * time.Millisecond)
					if _, err := conn.Write([]byte("a")); err != nil {
						return // the server closed it
					}
				}
			}()
		}
	}
	t.Cleanup(func() {
		for _, c := range s.conns {
			c.Close()
		}
		s.wg.Wait()
	})
	return s
}

// open returns how many connections the server has not closed yet.
func (s *slowLoris) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.closed {
		if c == 0 {
			n++
		}
	}
	return n
}

// TestBadInputSweep throws malformed requests at every operation and at the
// front end of the real binary.
func TestBadInputSweep(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	p := startServer(t, data, addr)
	c := client(addr)
	ctx := context.Background()
	const stream = "badinput"
	createStream(t, c, stream, 2)
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	iterator := aws.ToString(it.ShardIterator)

	pid := p.cmd.Process.Pid
	rssStart, err := vmRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int64
	peak.Store(rssStart)
	samplerDone := make(chan struct{})
	stopSampler := make(chan struct{})
	go func() {
		defer close(samplerDone)
		for {
			if v, err := vmRSS(pid); err == nil && v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stopSampler:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	// The sanity writes: the only records the stream may hold at the end.
	var want []string
	sanity := func(tag string) {
		t.Helper()
		d := "sanity-" + tag
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(tag), Data: []byte(d)}); err != nil {
			t.Fatalf("sanity PutRecord (%s): %v", tag, err)
		}
		want = append(want, d)
		var entries []types.PutRecordsRequestEntry
		for i := range 3 {
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(tag, i)), Data: []byte(fmt.Sprintf("%s-%d", d, i))})
			want = append(want, fmt.Sprintf("%s-%d", d, i))
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("sanity PutRecords (%s): %v", tag, err)
		}
	}
	sanity("before")

	// Slow-loris connections stay open while the sweep runs: the server
	// must keep serving everyone else, and close them at ReadHeaderTimeout.
	loris := startSlowLoris(t, addr, 24, 8)

	cases := sweepCases(t, stream, arn, iterator)
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}}
	var failMu sync.Mutex
	var failures []string
	fail := func(name string, format string, args ...any) {
		failMu.Lock()
		failures = append(failures, name+": "+fmt.Sprintf(format, args...))
		failMu.Unlock()
	}
	snippet := func(b []byte) string {
		if len(b) > 200 {
			b = b[:200]
		}
		return strconv.Quote(string(b))
	}
	check := func(r badReq) {
		resp, body, err := send(hc, addr, r)
		if err != nil {
			fail(r.name, "no response: %v", err)
			return
		}
		if r.readOnly && resp.StatusCode == 200 {
			return
		}
		err = checkAWSError(r.method, resp, body)
		switch {
		case r.known != "" && err != nil:
			t.Logf("known issue (%s): %s: %v", r.known, r.name, err)
		case r.known != "":
			t.Logf("known issue fixed, drop its mark: %s", r.name)
		case err != nil:
			fail(r.name, "%v: %d %s", err, resp.StatusCode, snippet(body))
		}
	}
	sweepStart := time.Now()
	work := make(chan badReq)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for r := range work {
				check(r)
			}
		})
	}
	var big []badReq
	for _, r := range cases {
		if len(r.body) > 1<<20 {
			big = append(big, r)
			continue
		}
		work <- r
	}
	close(work)
	wg.Wait()
	// Bodies over 1 MiB go one at a time, so that the memory bound is a
	// bound per request.
	for _, r := range big {
		check(r)
	}
	t.Logf("%d schema and header cases in %v", len(cases), time.Since(sweepStart).Round(time.Millisecond))

	// Bodies ten times every cap, declared and chunked. The server must
	// refuse them after reading at most the cap.
	svc := kinesisapi.New(nil)
	var ops []string
	for name := range svc.Operations {
		ops = append(ops, name)
	}
	sort.Strings(ops)
	rawCount := 0
	phase := time.Now()
	for _, op := range ops {
		limit := svc.Operations[op].MaxBody
		if limit == 0 {
			limit = 1 << 20
		}
		size := 10 * limit
		prefix := []byte(`{"StreamName":"` + stream + `","Records":[{"PartitionKey":"a","Data":"`)
		for _, chunked := range []bool{false, true} {
			name := fmt.Sprintf("%s: %d-byte body (10× the cap), chunked=%v", op, size, chunked)
			rawCount++
			resp, body, err := rawExchange(addr, "POST", func(conn net.Conn) error {
				te := fmt.Sprintf("Content-Length: %d", size)
				if chunked {
					te = "Transfer-Encoding: chunked"
				}
				if _, err := io.WriteString(conn, headerBlock("POST", kinesisapi.TargetPrefix+"."+op, te)); err != nil {
					return err
				}
				r := &fillReader{prefix: prefix, fill: 'A', n: size}
				buf := make([]byte, 256<<10)
				for {
					n, err := r.Read(buf)
					if n > 0 {
						chunk := buf[:n]
						if chunked {
							chunk = append(fmt.Appendf(nil, "%x\r\n", n), append(chunk, "\r\n"...)...)
						}
						if _, err := conn.Write(chunk); err != nil {
							return err
						}
					}
					if err != nil {
						if chunked {
							_, err = io.WriteString(conn, "0\r\n\r\n")
							return err
						}
						return nil
					}
				}
			})
			switch {
			case err != nil:
				fail(name, "%v", err)
			case resp == nil:
				fail(name, "connection closed without a response")
			default:
				if err := checkAWSError("POST", resp, body); err != nil || resp.StatusCode != 413 {
					fail(name, "%v: %d %s", err, resp.StatusCode, snippet(body))
				}
			}
		}
	}

	t.Logf("oversized bodies: %v", time.Since(phase).Round(time.Millisecond))
	phase = time.Now()
	// Half-closed bodies: Content-Length larger than what is sent (or a
	// chunked body cut short), then the client shuts its side down.
	for _, op := range []string{"PutRecords", "PutRecord", "CreateStream", "ListStreams"} {
		for _, chunked := range []bool{false, true} {
			name := fmt.Sprintf("%s: half-closed body, chunked=%v", op, chunked)
			rawCount++
			resp, body, err := rawExchange(addr, "POST", func(conn net.Conn) error {
				var req string
				if chunked {
					req = headerBlock("POST", kinesisapi.TargetPrefix+"."+op, "Transfer-Encoding: chunked") + "20\r\n{\"StreamName\":\"badinput\""
				} else {
					req = headerBlock("POST", kinesisapi.TargetPrefix+"."+op, "Content-Length: 1000") + `{"StreamName":"badinput"`
				}
				if _, err := io.WriteString(conn, req); err != nil {
					return err
				}
				return conn.(*net.TCPConn).CloseWrite()
			})
			switch {
			case err != nil:
				fail(name, "%v", err)
			case resp == nil:
				fail(name, "connection closed without a response")
			default:
				if err := checkAWSError("POST", resp, body); err != nil {
					fail(name, "%v: %d %s", err, resp.StatusCode, snippet(body))
				}
			}
		}
		// And a client that gives up entirely: nothing to read, the server
		// must just drop it.
		if conn, err := net.Dial("tcp", addr); err == nil {
			io.WriteString(conn, headerBlock("POST", kinesisapi.TargetPrefix+"."+op, "Content-Length: 100000")+"{")
			conn.Close()
		}
	}

	t.Logf("half-closed bodies: %v", time.Since(phase).Round(time.Millisecond))
	phase = time.Now()
	// Requests net/http refuses before the AWS front end sees them: a
	// plain 4xx (or 501/505) and a closed connection are what AWS's load
	// balancers answer too; what matters is that nothing else breaks.
	for name, req := range map[string]string{
		// At least 14 bytes: with h2c on, net/http first waits for that
		// many to tell an HTTP/2 preface from HTTP/1, so anything shorter
		// is answered only at ReadHeaderTimeout (no real request is).
		"garbage request line":          "GARBAGE GARBAGE GARBAGE\r\n\r\n",
		"binary garbage":                "\x00\x01\x02\x03\xff\xfe\x00\x01\x02\x03\xff\xfe\x00\x01\x02\x03\r\n\r\n",
		"HTTP/9.9":                      "POST / HTTP/9.9\r\nHost: rheos\r\n\r\n",
		"header without colon":          "POST / HTTP/1.1\r\nHost: rheos\r\nNoColonHere\r\n\r\n",
		"no Host":                       "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
		"negative Content-Length":       "POST / HTTP/1.1\r\nHost: rheos\r\nContent-Length: -5\r\n\r\n",
		"two Content-Lengths":           "POST / HTTP/1.1\r\nHost: rheos\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		"huge Content-Length":           "POST / HTTP/1.1\r\nHost: rheos\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"unknown Transfer-Encoding":     "POST / HTTP/1.1\r\nHost: rheos\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"bad chunk size":                "POST / HTTP/1.1\r\nHost: rheos\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"NUL in a header value":         "POST / HTTP/1.1\r\nHost: rheos\r\nX-Amz-Target: Kinesis\x00_20131202.PutRecord\r\n\r\n",
		"invalid method token":          "P@ST / HTTP/1.1\r\nHost: rheos\r\n\r\n",
		"100 KiB of headers":            "POST / HTTP/1.1\r\nHost: rheos\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n",
		"h2c preface then garbage":      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + strings.Repeat("\xff", 64),
		"h2c upgrade with bad settings": "POST / HTTP/1.1\r\nHost: rheos\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: !!!\r\nContent-Length: 0\r\n\r\n",
		"CONNECT":                       "CONNECT rheos:443 HTTP/1.1\r\nHost: rheos:443\r\n\r\n",
		"absolute URI to elsewhere":     "POST http://example.com/ HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n",
	} {
		rawCount++
		resp, body, err := rawExchange(addr, "POST", func(conn net.Conn) error {
			_, err := io.WriteString(conn, req)
			return err
		})
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			fail(name, "no answer and the connection stayed open: %v", err)
		case err != nil: // an answer that is not HTTP/1 (an HTTP/2 GOAWAY)
		case resp == nil: // closed without an answer
		case resp.StatusCode >= 400 && resp.StatusCode <= 505 && resp.StatusCode != 500:
		default:
			fail(name, "status %d %s", resp.StatusCode, snippet(body))
		}
	}
	t.Logf("transport-level garbage: %v", time.Since(phase).Round(time.Millisecond))
	t.Logf("%d raw connection cases", rawCount)

	// The server kept serving while the slow-loris connections were open.
	sanity("after")
	t.Logf("sweep done %v after the slow-loris connections opened, %d of %d still open", time.Since(loris.start).Round(time.Millisecond), loris.open(), len(loris.closed))
	// ...and closes them at ReadHeaderTimeout (10 s after they opened).
	deadline := loris.start.Add(13 * time.Second)
	for loris.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := loris.open(); n > 0 {
		t.Errorf("%d slow-loris connections still open %v after they started", n, time.Since(loris.start).Round(time.Second))
	}
	loris.mu.Lock()
	t.Logf("slow-loris connections closed after %v … %v", slices.Min(loris.closed).Round(10*time.Millisecond), slices.Max(loris.closed).Round(10*time.Millisecond))
	loris.mu.Unlock()

	close(stopSampler)
	<-samplerDone
	rssEnd, err := vmRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server RSS: %d MiB at start, %d MiB peak, %d MiB at the end", rssStart>>20, peak.Load()>>20, rssEnd>>20)
	const bound = 300 << 20
	if peak.Load() > bound || rssEnd > bound {
		t.Errorf("server RSS above %d MiB: peak %d MiB, end %d MiB", bound>>20, peak.Load()>>20, rssEnd>>20)
	}

	sort.Strings(failures)
	for _, f := range failures {
		t.Error(f)
	}

	// The server is healthy and nothing was stored: the only stream is
	// ours, unchanged, and it holds exactly the sanity records.
	ls, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ls.StreamNames, []string{stream}) {
		t.Errorf("streams after the sweep: %v, want [%s]", ls.StreamNames, stream)
	}
	sum2, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := sum.StreamDescriptionSummary, sum2.StreamDescriptionSummary
	if d2.StreamStatus != types.StreamStatusActive || aws.ToInt32(d1.RetentionPeriodHours) != aws.ToInt32(d2.RetentionPeriodHours) ||
		aws.ToInt32(d1.OpenShardCount) != aws.ToInt32(d2.OpenShardCount) || aws.ToInt32(d1.MaxRecordSizeInKiB) != aws.ToInt32(d2.MaxRecordSizeInKiB) ||
		fmt.Sprint(d1.EnhancedMonitoring) != fmt.Sprint(d2.EnhancedMonitoring) || aws.ToInt32(d1.ConsumerCount) != aws.ToInt32(d2.ConsumerCount) {
		t.Errorf("stream changed by the sweep: %+v → %+v", d1, d2)
	}
	tagsOut, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tagsOut.Tags) != 0 {
		t.Errorf("tags after the sweep: %+v", tagsOut.Tags)
	}
	cons, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cons.Consumers) != 0 {
		t.Errorf("consumers after the sweep: %+v", cons.Consumers)
	}
	var got []string
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			got = append(got, string(r.Data))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("records after the sweep:\n got %q\nwant %q", got, want)
	}
	p.terminate(t)
	logb, err := os.ReadFile(filepath.Join(dir, "data.log"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(logb, []byte("panic")) {
		t.Errorf("the server log mentions a panic:\n%s", logb)
	}
}

// hexDecimal returns the decimal form of a hexadecimal number.
func hexDecimal(h string) string {
	n, _ := new(big.Int).SetString(h, 16)
	return n.String()
}
