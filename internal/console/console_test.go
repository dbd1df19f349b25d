package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBackend knows one credential and echoes calls.
type fakeBackend struct {
	mu      sync.Mutex
	calls   []Call
	as      []Principal
	revoked bool // the credential was rotated away
}

func (f *fakeBackend) Login(id, secret string) (Principal, bool) {
	if id == "AKID" && secret == "right" {
		return Principal{AccessKeyID: id, Name: "arn:aws:iam::1:user/u", Account: "1"}, true
	}
	return Principal{}, false
}

func (f *fakeBackend) Refresh(p Principal) (Principal, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return p, !f.revoked
}

func (f *fakeBackend) Do(ctx context.Context, p Principal, c Call) (Reply, error) {
	f.mu.Lock()
	f.calls, f.as = append(f.calls, c), append(f.as, p)
	f.mu.Unlock()
	return Reply{Status: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}}, Body: []byte(`{"ok":true}`)}, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(t *testing.T, noLogin bool) (*Console, *fakeBackend, *clock) {
	t.Helper()
	fb, clk := &fakeBackend{}, &clock{time.Unix(1_700_000_000, 0)}
	c, err := New(Options{Backend: fb, NoLogin: noLogin, Anonymous: Principal{AccessKeyID: "anon", Root: true},
		Services: []string{"kinesis"}, Now: clk.now, IdleTimeout: time.Minute, MaxAge: time.Hour, MaxSessions: 3})
	if err != nil {
		t.Fatal(err)
	}
	return c, fb, clk
}

// do sends one request to the console with an optional cookie and CSRF
// token.
func do(c *Console, method, target, cookie, csrf string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Host = "127.0.0.1:4566"
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	if csrf != "" {
		r.Header.Set(CSRFHeader, csrf)
	}
	if method == http.MethodPost && strings.HasSuffix(target, "/login") {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return w
}

func cookieOf(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, ck := range w.Result().Cookies() {
		if ck.Name == CookieName {
			return ck
		}
	}
	t.Fatalf("no session cookie in %v", w.Header())
	return nil
}

func login(t *testing.T, c *Console) (cookie, csrf string) {
	t.Helper()
	w := do(c, "POST", "/console/login", "", "", url.Values{"access_key_id": {"AKID"}, "secret_access_key": {"right"}}.Encode())
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	ck := cookieOf(t, w)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" {
		t.Fatalf("cookie flags: %+v", ck)
	}
	ss, ok := c.sessions.get(ck.Value)
	if !ok {
		t.Fatal("no server-side session")
	}
	return ck.Value, ss.csrf
}

func TestLoginSessionCSRF(t *testing.T) {
	c, fb, clk := newTest(t, false)
	if w := do(c, "GET", "/console/", "", "", ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/login" {
		t.Fatalf("no session: %d %v, want a redirect to the login", w.Code, w.Header())
	}
	if w := do(c, "GET", "/console/api/session", "", "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("api without session: %d", w.Code)
	}
	w := do(c, "POST", "/console/login", "", "", url.Values{"access_key_id": {"AKID"}, "secret_access_key": {"wrong"}}.Encode())
	if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
		t.Fatalf("wrong secret: %d cookies %v", w.Code, w.Result().Cookies())
	}
	cookie, csrf := login(t, c)
	if w := do(c, "GET", "/console/", cookie, "", ""); w.Code != 200 {
		t.Fatalf("shell with session: %d", w.Code)
	}
	call := "/console/api/aws/kinesis"
	if w := do(c, "POST", call, cookie, "", "{}"); w.Code != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", w.Code)
	}
	if w := do(c, "POST", call, cookie, "not-it", "{}"); w.Code != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: %d", w.Code)
	}
	if len(fb.calls) != 0 {
		t.Fatalf("a refused request reached the backend: %v", fb.calls)
	}
	if w := do(c, "POST", call, cookie, csrf, `{"StreamName":"s"}`); w.Code != 200 || w.Body.String() != `{"ok":true}` {
		t.Fatalf("call: %d %s", w.Code, w.Body)
	}
	if fb.as[0].AccessKeyID != "AKID" || fb.calls[0].Path != "/" || string(fb.calls[0].Body) != `{"StreamName":"s"}` {
		t.Fatalf("backend saw %+v as %+v", fb.calls[0], fb.as[0])
	}
	if w := do(c, "POST", "/console/api/aws/lambda", cookie, csrf, `{}`); w.Code != http.StatusNotFound {
		t.Fatalf("a service not served: %d", w.Code)
	}
	// Not a root: no server information.
	if w := do(c, "GET", "/console/api/info/health", cookie, "", ""); w.Code != http.StatusForbidden {
		t.Fatalf("info as a non-root: %d", w.Code)
	}
	// Logout needs the token, then ends the session.
	if w := do(c, "POST", "/console/logout", cookie, "", ""); w.Code != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", w.Code)
	}
	if w := do(c, "POST", "/console/logout", cookie, csrf, ""); w.Code != 200 {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := do(c, "GET", "/console/api/session", cookie, "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", w.Code)
	}
	// Expiry: idle and absolute.
	cookie, _ = login(t, c)
	clk.t = clk.t.Add(59 * time.Second)
	if w := do(c, "GET", "/console/api/session", cookie, "", ""); w.Code != 200 {
		t.Fatalf("within idle: %d", w.Code)
	}
	clk.t = clk.t.Add(61 * time.Second)
	if w := do(c, "GET", "/console/api/session", cookie, "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("idle expired: %d", w.Code)
	}
	cookie, _ = login(t, c)
	for i := 0; i < 62; i++ {
		clk.t = clk.t.Add(59 * time.Second)
		do(c, "GET", "/console/api/session", cookie, "", "")
	}
	if w := do(c, "GET", "/console/api/session", cookie, "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("max age passed: %d", w.Code)
	}
}

func TestSessionsBounded(t *testing.T) {
	c, _, clk := newTest(t, false)
	first, _ := login(t, c)
	for i := 0; i < 5; i++ {
		clk.t = clk.t.Add(time.Second)
		login(t, c)
	}
	if n := c.sessions.len(); n != 3 {
		t.Fatalf("%d sessions, want the bound 3", n)
	}
	if _, ok := c.sessions.get(first); ok {
		t.Fatal("the least recently used session survived eviction")
	}
}

func TestCrossOriginAndCookieFixation(t *testing.T) {
	c, _, _ := newTest(t, false)
	cookie, csrf := login(t, c)
	r := httptest.NewRequest("POST", "/console/api/aws/kinesis", strings.NewReader("{}"))
	r.Host = "127.0.0.1:4566"
	r.Header.Set("Origin", "http://evil.example")
	r.Header.Set(CSRFHeader, csrf)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %d", w.Code)
	}
	// Logging in again replaces the session id.
	w2 := do(c, "POST", "/console/login", cookie, "", url.Values{"access_key_id": {"AKID"}, "secret_access_key": {"right"}}.Encode())
	if cookieOf(t, w2).Value == cookie {
		t.Fatal("login kept the session id")
	}
	if _, ok := c.sessions.get(cookie); ok {
		t.Fatal("the old session survived a new login")
	}
}

func TestNoLogin(t *testing.T) {
	c, fb, _ := newTest(t, true)
	w := do(c, "GET", "/console/", "", "", "")
	if w.Code != 200 {
		t.Fatalf("shell: %d", w.Code)
	}
	cookie := cookieOf(t, w).Value
	ss, _ := c.sessions.get(cookie)
	if w := do(c, "POST", "/console/api/aws/kinesis", cookie, "", "{}"); w.Code != http.StatusForbidden {
		t.Fatalf("no CSRF without login: %d", w.Code)
	}
	if w := do(c, "POST", "/console/api/aws/kinesis", cookie, ss.csrf, "{}"); w.Code != 200 || fb.as[0].AccessKeyID != "anon" {
		t.Fatalf("call: %d as %v", w.Code, fb.as)
	}
	// DNS rebinding: a non-loopback host name is refused.
	r := httptest.NewRequest("GET", "/console/", nil)
	r.Host = "attacker.example:4566"
	w = httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Fatalf("non-loopback host without login: %d", w.Code)
	}
}

// TestShellSize: the shell (what a first visit loads before any page) is
// under the 200 KiB gzipped, and every page module exists.
func TestShellSize(t *testing.T) {
	n, err := GzippedSize(ShellFiles)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shell: %d bytes gzipped (%.1f KiB)", n, float64(n)/1024)
	if n > 200<<10 {
		t.Fatalf("shell is %d bytes gzipped, over 200 KiB", n)
	}
	for _, p := range pages {
		if _, err := GzippedSize([]string{p.Module}); err != nil {
			t.Errorf("page %s: module %s: %v", p.ID, p.Module, err)
		}
	}
}

// TestAssetsLocal: no asset loads anything from another origin (no CDN,
// no external fonts): no src, href, url(), import or fetch of an absolute
// URL (a URL in a comment or a licence is not a load).
func TestAssetsLocal(t *testing.T) {
	loads := regexp.MustCompile(`(?i)(src\s*=\s*["']?|href\s*=\s*["']?|url\(\s*["']?|@import\s+["']?|from\s+["']|import\(\s*["']|fetch\(\s*["'])(https?:)?//`)
	for _, bad := range []string{`<script src="https://cdn.example/x.js">`, `@import url(//fonts.googleapis.com/css)`, `import x from 'https://esm.sh/x'`, `fetch("http://a/b")`} {
		if loads.FindString(bad) == "" {
			t.Fatalf("the check misses %s", bad)
		}
	}
	err := walkAssets(func(name string, b []byte) {
		if m := loads.Find(b); m != nil {
			t.Errorf("%s loads from another origin: %q", name, m)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func walkAssets(f func(name string, b []byte)) error {
	return walk("assets", f)
}

func walk(dir string, f func(string, []byte)) error {
	ents, err := assetFS.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := path.Join(dir, e.Name())
		if e.IsDir() {
			if err := walk(p, f); err != nil {
				return err
			}
			continue
		}
		b, _ := assetFS.ReadFile(p)
		f(p, b)
	}
	return nil
}

func TestAssetsGzipAndETag(t *testing.T) {
	c, _, _ := newTest(t, false)
	r := httptest.NewRequest("GET", "/console/assets/app.js", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("asset: %d %v", w.Code, w.Header())
	}
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w = httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", w.Code)
	}
}

// TestLoginThrottle: ten wrong secrets from one address block even the
// right one until a minute has passed; another address is not affected.
func TestLoginThrottle(t *testing.T) {
	c, _, clk := newTest(t, false)
	form := func(secret string) string {
		return url.Values{"access_key_id": {"AKID"}, "secret_access_key": {secret}}.Encode()
	}
	for i := 0; i < 10; i++ {
		if w := do(c, "POST", "/console/login", "", "", form("wrong")); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, w.Code)
		}
	}
	if w := do(c, "POST", "/console/login", "", "", form("right")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after ten failures: %d", w.Code)
	}
	r := httptest.NewRequest("POST", "/console/login", strings.NewReader(form("right")))
	r.Host, r.RemoteAddr = "127.0.0.1:4566", "192.0.2.9:5555"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("another address: %d", w.Code)
	}
	clk.t = clk.t.Add(time.Minute)
	if w := do(c, "POST", "/console/login", "", "", form("right")); w.Code != http.StatusSeeOther {
		t.Fatalf("a minute later: %d", w.Code)
	}
}

// TestThrottleKeysAndBound: IPv6 clients are throttled by /64 (a host
// owns one), parallel attempts are counted before the secret is checked,
// and a table full of live clients refuses new ones instead of forgetting
// the old.
func TestThrottleKeysAndBound(t *testing.T) {
	clk := &clock{time.Unix(1_700_000_000, 0)}
	l := newLoginThrottle(clk.now)
	for i := range loginFailures {
		if !l.attempt(fmt.Sprintf("[2001:db8:1:2::%x]:443", i)) {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if l.attempt("[2001:db8:1:2:ffff::1]:443") {
		t.Fatal("another address of the same /64 allowed after its attempts")
	}
	if !l.attempt("[2001:db8:1:3::1]:443") || !l.attempt("192.0.2.1:1") {
		t.Fatal("other clients refused")
	}
	for i := len(l.fails); i < maxThrottled; i++ {
		l.attempt(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255))
	}
	if l.attempt("198.51.100.7:1") {
		t.Fatal("a new client admitted to a full table")
	}
	if l.attempt("[2001:db8:1:2::5]:1") {
		t.Fatal("a full table forgot a throttled client")
	}
	clk.t = clk.t.Add(loginWindow)
	if !l.attempt("198.51.100.7:1") || !l.attempt("[2001:db8:1:2::5]:1") {
		t.Fatal("clients still refused after the window")
	}
}

// TestSecureCookieOverTLS: over TLS the session cookie is
// __Secure-rheos_console with Secure set, and a plain-named cookie (which
// a network attacker could plant through a plain listener) is not read.
func TestSecureCookieOverTLS(t *testing.T) {
	c, _, _ := newTest(t, false)
	tlsReq := func(method, target, body string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "https://127.0.0.1:4567"+target, strings.NewReader(body))
		r.Host = "127.0.0.1:4567"
		if method == http.MethodPost {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w
	}
	w := tlsReq("POST", "/console/login", url.Values{"access_key_id": {"AKID"}, "secret_access_key": {"right"}}.Encode())
	var ck *http.Cookie
	for _, k := range w.Result().Cookies() {
		if k.Name == SecureCookieName {
			ck = k
		}
	}
	if w.Code != http.StatusSeeOther || ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Fatalf("TLS login: %d %v", w.Code, w.Result().Cookies())
	}
	if w := tlsReq("GET", "/console/api/session", "", ck); w.Code != http.StatusOK {
		t.Fatalf("session over TLS: %d", w.Code)
	}
	planted := &http.Cookie{Name: CookieName, Value: ck.Value}
	if w := tlsReq("GET", "/console/api/session", "", planted); w.Code != http.StatusUnauthorized {
		t.Fatalf("plain-named cookie over TLS: %d", w.Code)
	}
}
