package s3api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/rheos/rheos/internal/awsmodel"
	"github.com/rheos/rheos/internal/awsmodel/s3model"
)

// chunked encodes body as aws-chunked, n bytes a chunk, with signature
// extensions and trailers as asked.
func chunked(body []byte, n int, signed bool, trailers ...string) []byte {
	var b bytes.Buffer
	ext := ""
	if signed {
		ext = ";chunk-signature=" + strings.Repeat("a", 64)
	}
	for len(body) > 0 {
		c := body[:min(n, len(body))]
		body = body[len(c):]
		fmt.Fprintf(&b, "%x%s\r\n%s\r\n", len(c), ext, c)
	}
	fmt.Fprintf(&b, "0%s\r\n", ext)
	for _, t := range trailers {
		b.WriteString(t + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func TestChunkedReader(t *testing.T) {
	data := []byte(strings.Repeat("0123456789abcdef", 1000))
	for _, c := range []struct {
		name     string
		enc      []byte
		trailers map[string]string
	}{
		{"signed", chunked(data, 8192, true), map[string]string{}},
		{"unsigned trailer", chunked(data, 1000, false, "x-amz-checksum-crc32:AAAAAA=="), map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}},
		{"signed trailer", chunked(data, 65536, true, "X-Amz-Checksum-Sha256: abc", "x-amz-trailer-signature:00"),
			map[string]string{"x-amz-checksum-sha256": "abc", "x-amz-trailer-signature": "00"}},
		{"one-byte chunks", chunked(data[:100], 1, true), map[string]string{}},
		{"no final CRLF", bytes.TrimSuffix(chunked(data, 4096, true), []byte("\r\n")), map[string]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := data
			if c.name == "one-byte chunks" {
				want = data[:100]
			}
			for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader} {
				r := newChunkedReader(wrap(bytes.NewReader(c.enc)))
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%d bytes, %v", len(got), err)
				}
				if fmt.Sprint(r.Trailers()) != fmt.Sprint(c.trailers) {
					t.Fatalf("trailers %v, want %v", r.Trailers(), c.trailers)
				}
			}
		})
	}
	full := chunked(data, 4096, true)
	for name, enc := range map[string][]byte{
		"truncated data":    full[:5000],
		"truncated header":  full[:3],
		"no last chunk":     full[:bytes.LastIndex(full, []byte("0;chunk"))],
		"bad hex":           []byte("xyz\r\nabc\r\n0\r\n\r\n"),
		"negative":          []byte("-1\r\n0\r\n\r\n"),
		"huge size":         []byte("7fffffffffffffffff\r\n"),
		"long data":         []byte("2\r\nabc\r\n0\r\n\r\n"),
		"bare LF":           []byte("3\nabc\n0\n\n"),
		"bad extension":     []byte("3;foo=bar\r\nabc\r\n0\r\n\r\n"),
		"bad trailer":       []byte("3\r\nabc\r\n0\r\nno-colon\r\n\r\n"),
		"unended trailers":  []byte("3\r\nabc\r\n0\r\nx:y\r\n"),
		"too many trailers": []byte("0\r\n" + strings.Repeat("a:b\r\n", maxTrailers+1) + "\r\n"),
		"long line":         []byte(strings.Repeat("0", maxChunkLine+10) + "\r\n"),
	} {
		_, err := io.ReadAll(newChunkedReader(bytes.NewReader(enc)))
		if !errors.Is(err, errBadChunk) {
			t.Errorf("%s: %v, want errBadChunk", name, err)
		}
	}
	// An error of the body itself is not a format error.
	boom := errors.New("connection reset")
	_, err := io.ReadAll(newChunkedReader(io.MultiReader(bytes.NewReader(full[:100]), iotest.ErrReader(boom))))
	if !errors.Is(err, boom) || errors.Is(err, errBadChunk) {
		t.Fatalf("body error: %v", err)
	}
}

// FuzzChunkedReader: the decoder never panics, never returns more bytes
// than the body holds, and decodes what it encodes; its memory is bounded
// by one line.
func FuzzChunkedReader(f *testing.F) {
	f.Add(chunked([]byte("hello world"), 4, true), 0)
	f.Add(chunked([]byte("hello world"), 100, false, "x-amz-checksum-crc32:AAAA"), 1)
	f.Add([]byte("0\r\n\r\n"), 2)
	f.Add([]byte("ffffffff;chunk-signature=\r\n"), 3)
	f.Fuzz(func(t *testing.T, enc []byte, mode int) {
		var r io.Reader = bytes.NewReader(enc)
		if mode%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		got, err := io.ReadAll(newChunkedReader(r))
		if len(got) > len(enc) {
			t.Fatalf("decoded %d bytes from %d", len(got), len(enc))
		}
		if err != nil && !errors.Is(err, errBadChunk) {
			t.Fatalf("error %v is not errBadChunk", err)
		}
		if err == nil {
			// What decodes re-encodes and decodes the same.
			again, err := io.ReadAll(newChunkedReader(bytes.NewReader(chunked(got, 7, mode%3 == 0))))
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

func TestDecodeXML(t *testing.T) {
	var del deleteRequest
	if err := decodeXML([]byte(`<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>`+
		`<Object><Key>a/b</Key></Object><Object><Key>c &amp; d</Key><VersionId>v</VersionId></Object></Delete><!-- end -->`), &del); err != nil {
		t.Fatal(err)
	}
	if !del.Quiet || len(del.Objects) != 2 || del.Objects[1].Key != "c & d" || del.Objects[1].VersionID != "v" {
		t.Fatalf("decoded %+v", del)
	}
	var comp completeRequest
	if err := decodeXML([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>`), &comp); err != nil ||
		len(comp.Parts) != 1 || comp.Parts[0].PartNumber != 1 || comp.Parts[0].ETag != `"abc"` {
		t.Fatalf("decoded %+v, %v", comp, err)
	}
	for _, bad := range []string{
		"", "   ", "<Delete>", "<Delete></Delete><Delete></Delete>", "<Other></Other>", "<Delete></Delete>trailing",
		"<Delete><Object><Key>a</Key></Object>", strings.Repeat("<a>", maxXMLElements+1),
	} {
		if err := decodeXML([]byte(bad), &del); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// FuzzDecodeXML: request documents never panic the decoder, and a
// document it accepts has the right root.
func FuzzDecodeXML(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>k</Key></Object></Delete>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d deleteRequest
		if decodeXML(b, &d) == nil && d.XMLName.Local != "Delete" {
			t.Fatalf("root %q accepted", d.XMLName.Local)
		}
		var c completeRequest
		decodeXML(b, &c)
		var cb createBucketConfiguration
		decodeXML(b, &cb)
	})
}

func TestTarget(t *testing.T) {
	for _, c := range []struct {
		host, path  string
		bucket, key string
	}{
		{"localhost:4566", "/bkt/a/b", "bkt", "a/b"},
		{"127.0.0.1:4566", "/bkt", "bkt", ""},
		{"127.0.0.1:4566", "/bkt/", "bkt", ""},
		{"127.0.0.1", "/", "", ""},
		{"[::1]:4566", "/bkt/k", "bkt", "k"},
		{"bkt.localhost:4566", "/a/b", "bkt", "a/b"},
		{"my.dotted.bkt.localhost", "/", "my.dotted.bkt", ""},
		{"bkt.s3.localhost.localstack.cloud:4566", "/k", "bkt", "k"},
		{"bkt.s3.us-east-1.amazonaws.com", "/k//x", "bkt", "k//x"},
		{"BKT.S3.example.com", "/k", "bkt", "k"},
		{"my.s3.bkt.s3.example.com", "/k", "my.s3.bkt", "k"},
		{"s3.localhost:4566", "/bkt/k", "bkt", "k"},
		{"s3.us-east-1.localhost", "/bkt/k", "bkt", "k"},
		{"s3.amazonaws.com", "/bkt/k", "bkt", "k"},
		{"rheos.internal:4566", "/bkt/k", "bkt", "k"},
	} {
		r := &http.Request{Host: c.host, URL: &url.URL{Path: c.path}}
		if b, k := target(r); b != c.bucket || k != c.key {
			t.Errorf("%s%s: bucket %q key %q, want %q %q", c.host, c.path, b, k, c.bucket, c.key)
		}
	}
}

func TestRoute(t *testing.T) {
	for _, c := range []struct {
		method, bucket, key, query string
		copy                       bool
		op                         string
	}{
		{"GET", "", "", "", false, "ListBuckets"},
		{"GET", "b", "", "", false, "ListObjects"},
		{"GET", "b", "", "list-type=2&prefix=x", false, "ListObjectsV2"},
		{"GET", "b", "", "location", false, "GetBucketLocation"},
		{"GET", "b", "", "uploads", false, "ListMultipartUploads"},
		{"PUT", "b", "", "", false, "CreateBucket"},
		{"HEAD", "b", "", "", false, "HeadBucket"},
		{"DELETE", "b", "", "", false, "DeleteBucket"},
		{"POST", "b", "", "delete", false, "DeleteObjects"},
		{"PUT", "b", "k", "x-id=PutObject", false, "PutObject"},
		{"PUT", "b", "k", "", true, "CopyObject"},
		{"PUT", "b", "k", "partNumber=1&uploadId=u", false, "UploadPart"},
		{"PUT", "b", "k", "partNumber=1&uploadId=u", true, "UploadPartCopy"},
		{"GET", "b", "k", "", false, "GetObject"},
		{"GET", "b", "k", "partNumber=2", false, "GetObject"},
		{"GET", "b", "k", "uploadId=u", false, "ListParts"},
		{"HEAD", "b", "k", "", false, "HeadObject"},
		{"DELETE", "b", "k", "", false, "DeleteObject"},
		{"DELETE", "b", "k", "uploadId=u", false, "AbortMultipartUpload"},
		{"POST", "b", "k", "uploads", false, "CreateMultipartUpload"},
		{"POST", "b", "k", "uploadId=u", false, "CompleteMultipartUpload"},
		{"GET", "b", "", "versioning", false, "NotImplemented"},
		{"PUT", "b", "k", "tagging", false, "NotImplemented"},
		{"POST", "b", "k", "", false, "MethodNotAllowed"},
		{"PUT", "", "", "", false, "MethodNotAllowed"},
	} {
		q, _ := url.ParseQuery(c.query)
		h := http.Header{}
		if c.copy {
			h.Set("x-amz-copy-source", "src/key")
		}
		o, serr := route(c.method, c.bucket, c.key, q, h)
		got := ""
		if o != nil {
			got = o.name
		} else {
			got = serr.Code
		}
		if got != c.op {
			t.Errorf("%s /%s/%s?%s: %s, want %s", c.method, c.bucket, c.key, c.query, got, c.op)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		v       string
		size    int64
		off, n  int64
		ok      bool
		invalid bool
	}{
		{"bytes=0-9", 100, 0, 10, true, false},
		{"bytes=90-", 100, 90, 10, true, false},
		{"bytes=90-200", 100, 90, 10, true, false},
		{"bytes=-10", 100, 90, 10, true, false},
		{"bytes=-200", 100, 0, 100, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=-1", 0, 0, 0, false, true},
		{"bytes=5-4", 100, 0, 0, false, false},
		{"bytes=0-1,3-4", 100, 0, 0, false, false},
		{"items=0-1", 100, 0, 0, false, false},
		{"bytes=a-b", 100, 0, 0, false, false},
		{"bytes=-0", 100, 0, 0, false, false},
	} {
		off, n, ok, serr := parseRange(c.v, c.size)
		if off != c.off || n != c.n || ok != c.ok || (serr != nil) != c.invalid {
			t.Errorf("parseRange(%q, %d) = %d %d %v %v", c.v, c.size, off, n, ok, serr)
		}
	}
}

// TestAgainstModel: every operation of botocore's S3 model (s3model, the
// operations Rheos serves) routes to the operation of that name from its
// HTTP binding (method, URI, required query members), and the errors the
// model gives a status have that status here.
func TestAgainstModel(t *testing.T) {
	m := s3model.Model
	for _, name := range m.OperationNames() {
		mo := m.Operation(name)
		path, query, _ := strings.Cut(mo.RequestURI, "?")
		q, _ := url.ParseQuery(query)
		for _, mem := range m.Input(name).Members {
			if mem.Required && mem.Location == awsmodel.Query {
				q.Set(mem.LocationName, "1")
			}
		}
		bucket, key := "", ""
		if strings.Contains(path, "{Bucket}") {
			bucket = "bkt"
		}
		if strings.Contains(path, "{Key+}") {
			key = "k"
		}
		o, serr := route(mo.Method, bucket, key, q, http.Header{})
		if serr != nil || o.name != name {
			t.Errorf("%s (%s %s): routed to %v %v", name, mo.Method, mo.RequestURI, o, serr)
		}
	}
	statuses := map[string]int{}
	for _, e := range storeErrors {
		statuses[e.code] = e.status
	}
	checked := 0
	for name, sh := range m.Shapes {
		if !sh.Exception {
			continue
		}
		want, ok := m.ErrorStatus(name)
		if got, served := statuses[name]; ok && served {
			checked++
			if got != want {
				t.Errorf("%s: status %d, the model says %d", name, got, want)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d errors checked against the model", checked)
	}
}
