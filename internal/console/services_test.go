package console

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCallHeaders: the request headers the service pages need (S3's Range
// for a preview, Lambda's X-Amz-Log-Type for an invocation's log tail)
// reach the backend, and the answer's headers they read (Content-Range,
// X-Amz-Log-Result, X-Amz-Function-Error) come back; others do not pass.
// The call names the host the browser addressed.
func TestCallHeaders(t *testing.T) {
	fb := &headerBackend{reply: http.Header{"X-Amz-Log-Result": {"bG9n"}, "X-Amz-Function-Error": {"Unhandled"},
		"Content-Range": {"bytes 0-9/100"}, "X-Secret": {"no"}}}
	c, err := New(Options{Backend: fb, Services: []string{"kinesis"}})
	if err != nil {
		t.Fatal(err)
	}
	cookie, csrf := login(t, c)
	r := httptest.NewRequest("POST", "/console/api/aws/kinesis", strings.NewReader("{}"))
	r.Host = "127.0.0.1:4566"
	r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	r.Header.Set(CSRFHeader, csrf)
	r.Header.Set("Range", "bytes=0-65535")
	r.Header.Set("X-Amz-Log-Type", "Tail")
	r.Header.Set("Authorization", "not passed")
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("call: %d %s", w.Code, w.Body)
	}
	if c := fb.calls[0]; c.Host != "127.0.0.1:4566" || c.TLS {
		t.Errorf("call host %q, TLS %v: want the browser's host, no TLS", c.Host, c.TLS)
	}
	got := fb.calls[0].Header
	if got.Get("Range") != "bytes=0-65535" || got.Get("X-Amz-Log-Type") != "Tail" || got.Get("Authorization") != "" {
		t.Errorf("forwarded headers: %v", got)
	}
	h := w.Header()
	if h.Get("X-Amz-Log-Result") != "bG9n" || h.Get("X-Amz-Function-Error") != "Unhandled" || h.Get("Content-Range") != "bytes 0-9/100" || h.Get("X-Secret") != "" {
		t.Errorf("returned headers: %v", h)
	}
}

// headerBackend answers every call with its reply headers.
type headerBackend struct {
	fakeBackend
	reply http.Header
}

func (b *headerBackend) Do(ctx context.Context, p Principal, c Call) (Reply, error) {
	b.fakeBackend.Do(ctx, p, c)
	return Reply{Status: 200, Header: b.reply, Body: []byte("{}")}, nil
}

// TestServicePagesJS runs the service pages' JavaScript unit tests
// (testdata/services_test.mjs, node:test) against the embedded modules,
// copied with a package.json that makes them ES modules for Node.
func TestServicePagesJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (scripts/test-deps.sh requires it)")
	}
	dir := t.TempDir()
	err = fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "services_test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "testdata"), 0o755)
	os.WriteFile(filepath.Join(dir, "testdata", "services_test.mjs"), src, 0o644)
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type": "module"}`), 0o644)
	cmd := exec.Command(node, "--test", filepath.Join("testdata", "services_test.mjs"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test:\n%s", out)
	}
}
