package functions

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// memMeta is an in-memory MetaStore for tests and benchmarks.
type memMeta struct {
	mu   sync.Mutex
	rev  uint64
	data map[string]memVal
}

type memVal struct {
	b   []byte
	rev uint64
}

func newMemMeta() *memMeta { return &memMeta{data: map[string]memVal{}} }

func (m *memMeta) Get(_ context.Context, key string) ([]byte, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	if !ok {
		return nil, 0, nil
	}
	return v.b, v.rev, nil
}

func (m *memMeta) Scan(_ context.Context, prefix string, fn func(string, []byte, uint64) error) error {
	m.mu.Lock()
	keys := make([]string, 0)
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([]memVal, len(keys))
	for i, k := range keys {
		vals[i] = m.data[k]
	}
	m.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i].b, vals[i].rev); err != nil {
			return err
		}
	}
	return nil
}

func (m *memMeta) Commit(_ context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (bool, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, rev := range compare {
		if m.data[k].rev != rev {
			return false, m.rev, nil
		}
	}
	m.rev++
	for k, b := range puts {
		m.data[k] = memVal{b: b, rev: m.rev}
	}
	for _, k := range deletes {
		delete(m.data, k)
	}
	return true, m.rev, nil
}

func zipBytes(tb testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, body := range files {
		w, _ := zw.Create(n)
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkInvoke measures a warm invocation's overhead per kind with a
// 1-record event: jq in-process, url against a loopback echo server, and
// zip (Node.js and Python) through a warm process's Runtime API. The
// p50/p99 metrics are per invocation.
func BenchmarkInvoke(b *testing.B) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) }))
	defer echo.Close()
	event := []byte(`{"Records":[{"kinesis":{"partitionKey":"k","sequenceNumber":"1","data":"aGVsbG8="}}]}`)
	cases := []struct {
		name string
		in   CreateInput
		need string
	}{
		{"jq", CreateInput{Runtime: RuntimeJQ, Handler: "t.jq", ZipFile: zipBytes(b, map[string]string{"t.jq": "{n: (.Records | length)}"})}, ""},
		{"url", CreateInput{PackageType: "Image", ImageURI: echo.URL}, ""},
		{"node", CreateInput{Runtime: "nodejs20.x", Handler: "index.handler", ZipFile: zipBytes(b, map[string]string{"index.js": "exports.handler = async (e) => ({n: e.Records.length});"})}, "node"},
		{"python", CreateInput{Runtime: "python3.11", Handler: "app.handler", ZipFile: zipBytes(b, map[string]string{"app.py": "def handler(e, c):\n    return {'n': len(e['Records'])}\n"})}, "python3"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if tc.need != "" {
				if _, err := exec.LookPath(tc.need); err != nil {
					b.Skipf("%s not installed", tc.need)
				}
			}
			s := New(Config{Account: "000000000000", Exec: true, CodeDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)}, newMemMeta())
			defer s.Close()
			ctx := context.Background()
			sc := Scope{Account: "000000000000", Region: "us-east-1"}
			in := tc.in
			in.Name = "f-" + tc.name
			if _, err := s.Create(ctx, sc, in); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if res, err := s.Invoke(ctx, sc, in.Name, event, InvokeOptions{}); err != nil || res.FunctionError != "" {
				b.Fatalf("cold invoke: %v %s", err, res.Payload)
			}
			cold := time.Since(start)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				res, err := s.Invoke(ctx, sc, in.Name, event, InvokeOptions{})
				if err != nil || res.FunctionError != "" {
					b.Fatalf("invoke: %v %s", err, res.Payload)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms") // create → first answer, process start included
		})
	}
}
