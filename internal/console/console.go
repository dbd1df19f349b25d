// Package console is Rheos's web console: the browser front end served by
// the binary at /console (its assets embedded, no CDN, no external fonts)
// and the thin backend behind it. It owns the console's sessions (login,
// HttpOnly SameSite=Strict cookie, CSRF token), the page list and the
// embedded assets. It must not reach any service directly: every action a
// page takes is an AWS API request (the same one an SDK would send) that
// the console hands to its Backend, which the composition root (server)
// supplies and which signs it as the signed-in principal and serves it
// through the server's own router, so authentication and IAM authorization
// apply exactly as to an SDK call. Only what no AWS API answers (server
// health, version, redacted configuration, disk use, metrics) is read
// through thin read-only endpoints, and only by an account root (or
// anyone when no login is needed).
//
// # Routes (all under /console)
//
//	GET  /console/               the shell (index.html); no session: 303 to /console/login
//	GET  /console/assets/...     embedded assets (gzip when accepted, ETag)
//	GET  /console/login          the login form (access key id + secret)
//	POST /console/login          sign in: verified like SigV4 credentials; sets the session cookie
//	POST /console/logout         sign out (CSRF token required)
//	GET  /console/api/session    who is signed in, the CSRF token, the pages
//	POST /console/api/aws/{service}   an AWS request for the service (signing name): the
//	                             body as is; X-Amz-Target, Content-Type and the few
//	                             request headers of the forwarded list passed on; the
//	                             method in X-Rheos-Method (default POST) and the request URI
//	                             (path and query, escaped as an SDK sends them) in
//	                             X-Rheos-Path (default "/")
//	GET  /console/api/info/{name}   thin read-only endpoints (health, version, config, disk,
//	                             stream-disk: each data stream's bytes on local disk and
//	                             tiered, signaling: the signaling channels' connected peers)
//	GET  /console/api/metrics    the sampled history of the server's Prometheus metrics
//
// Every /console/api request needs a session; every POST also needs the
// session's CSRF token in the X-CSRF-Token header (403 without it) and, when
// the browser sends an Origin, the console's own. Ten sign-in attempts
// without a success from one address (an IPv6 /64) within a minute block
// its logins for the rest of that minute (429). Every API request checks
// the session's credential against the server's table (Backend.Refresh):
// a rotated secret or removed key ends the session. When the server needs no login (auth mode none and every listener
// on loopback) a session is created on the first visit, and requests must
// name a loopback host (no DNS rebinding from a web page).
//
// # Adding a console page
//
// A page is two files, registered in one list:
//
//  1. Go: page_<name>.go in this package declares a Page (id, title, nav
//     group, the signing name of the service it needs, its module) and
//     adds it to the pages list in pages.go (the one list; its order is the
//     navigation's order).
//  2. JS: assets/pages/<name>.js exports render(root, route, ctx): root is
//     the element to fill, route the path after "#/<id>/" split on "/",
//     ctx.aws the API client (ctx.aws.json("kinesis", "ListStreams", {})
//     for JSON-RPC services, ctx.aws.rest("lambda", "GET", path) for REST
//     ones), ctx.ui the small DOM helpers (assets/lib/ui.js). render may
//     return a function the shell calls when the page is left (stop
//     timers). Links between pages are plain hrefs "#/<id>/...".
//
// A page never gets a private endpoint for what an AWS API can do; when
// one is truly needed (read-only, no AWS equivalent), add it to the
// server's Info map (internal/server/console.go) and read it with
// ctx.info(name). Run go test ./internal/console (it checks the list, the
// modules and the shell's size) and the browser tests (go test -run
// Console ./e2e).
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Principal is who a session acts as.
type Principal struct {
	// AccessKeyID is the credential every request is signed with.
	AccessKeyID string `json:"accessKeyId"`
	// Name is the principal's display name (its ARN, or "root").
	Name string `json:"name"`
	// Account is the principal's account id.
	Account string `json:"account"`
	// Root is true for an account's root credential (and for the
	// anonymous principal when no login is needed): it may read the
	// server's thin endpoints.
	Root bool `json:"root"`
	// Credential identifies the secret signed in with (a fingerprint the
	// Backend makes and checks; never shown).
	Credential string `json:"-"`
}

// Call is one AWS API request a page makes, as the SDK would send it.
type Call struct {
	// Service is the signing name (kinesis, lambda, firehose, s3...).
	Service string
	// Method is the HTTP method (POST for JSON-RPC services).
	Method string
	// Path (escaped, as sent) and RawQuery are the request URI's ("/" for
	// JSON-RPC).
	Path, RawQuery string
	// Header carries Content-Type and X-Amz-Target.
	Header http.Header
	// Body is the request body.
	Body []byte
	// RemoteAddr is the browser's address (admission control counts it).
	RemoteAddr string
	// Host is the host the browser addressed (the console's listener), and
	// TLS whether it came over TLS: APIs that name an endpoint of this
	// server (GetDataEndpoint, GetSignalingChannelEndpoint, the HLS session
	// URL) name the one the browser can reach.
	Host string
	TLS  bool
}

// Reply is the AWS response to a Call, whole.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Backend is what the console needs from the server; the composition root
// supplies it. Methods are called concurrently.
type Backend interface {
	// Login checks an access key id and its secret against the server's
	// credential table (the one SigV4 verification uses) and returns the
	// principal; false when the key is unknown or the secret wrong.
	Login(accessKeyID, secret string) (Principal, bool)
	// Do serves the call as the principal: signed with its credentials
	// and dispatched into the server's AWS router, so that it is
	// authenticated and authorized exactly like an SDK call. An AWS error
	// is a Reply like any other; err is for a call that could not be
	// made (ErrSignedOut when the principal's credential is gone).
	Do(ctx context.Context, p Principal, c Call) (Reply, error)
	// Refresh returns the principal as the credential table has it now
	// (a reload may change its name or root standing), false when its
	// credential is gone or its secret changed since sign-in: every API
	// request of a signed-in session is checked, so a rotated secret or a
	// removed key ends the sessions at once.
	Refresh(p Principal) (Principal, bool)
}

// ErrSignedOut is what Backend.Do returns when the session's credential
// is no longer in the server's table (rotated away): the console ends the
// session and sends the page to the login.
var ErrSignedOut = errors.New("console: the signed-in credential is no longer configured; sign in again")

// InfoFunc answers a thin read-only endpoint with a JSON-encodable value.
type InfoFunc func(ctx context.Context) (any, error)

// Options configure a Console. Zero values take the stated defaults.
type Options struct {
	// Backend signs and dispatches calls, and checks logins. Required.
	Backend Backend
	// NoLogin: the server needs no login (auth mode none and every
	// listener on loopback); every visitor acts as Anonymous.
	NoLogin bool
	// Anonymous is the principal of NoLogin sessions.
	Anonymous Principal
	// Services are the signing names the server serves; pages needing
	// another are not shown.
	Services []string
	// Info are the thin read-only endpoints, by name.
	Info map[string]InfoFunc
	// History, if set, is served on /console/api/metrics.
	History *History
	// Version is shown in the header.
	Version string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// IdleTimeout ends a session unused this long. Default 1h.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after login. Default 12h.
	MaxAge time.Duration
	// MaxSessions bounds the session table. Default 1024.
	MaxSessions int
	// MaxBody bounds a call's request and response bodies. Default 16 MiB.
	MaxBody int64
}

// Console serves /console. Build it with New; it is safe for concurrent use.
type Console struct {
	opts     Options
	sessions *sessions
	throttle *loginThrottle
	assets   *assetSet
	pages    []Page
	mux      *http.ServeMux
}

// CookieName is the session cookie's name on a plain connection; over TLS
// it is SecureCookieName, which a browser accepts only from a secure
// origin with Secure set, so a network attacker cannot plant a session
// cookie of theirs for the TLS console through the plain listener.
const (
	CookieName       = "rheos_console"
	SecureCookieName = "__Secure-" + CookieName
)

// cookieName is the session cookie's name for the request's connection.
func cookieName(r *http.Request) string {
	if r.TLS != nil {
		return SecureCookieName
	}
	return CookieName
}

// CSRFHeader is the header carrying the session's CSRF token.
const CSRFHeader = "X-CSRF-Token"

// New builds the console.
func New(opts Options) (*Console, error) {
	if opts.Backend == nil {
		return nil, errors.New("console: no backend")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Hour
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 12 * time.Hour
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 1024
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 16 << 20
	}
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	c := &Console{opts: opts, assets: a, sessions: newSessions(opts.IdleTimeout, opts.MaxAge, opts.MaxSessions, opts.Now),
		throttle: newLoginThrottle(opts.Now)}
	served := map[string]bool{}
	for _, s := range opts.Services {
		served[s] = true
	}
	for _, p := range pages {
		if p.Service == "" || served[p.Service] {
			c.pages = append(c.pages, p)
		}
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /console/{$}", c.shell)
	m.HandleFunc("GET /console/assets/{path...}", c.asset)
	m.HandleFunc("GET /console/login", c.loginForm)
	m.HandleFunc("POST /console/login", c.login)
	m.HandleFunc("POST /console/logout", c.api(c.logout))
	m.HandleFunc("GET /console/api/session", c.api(c.session))
	m.HandleFunc("POST /console/api/aws/{service}", c.api(c.aws))
	m.HandleFunc("GET /console/api/info/{name}", c.api(c.info))
	m.HandleFunc("GET /console/api/metrics", c.api(c.metrics))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	c.mux = m
	return c, nil
}

// ServeHTTP serves a request whose path is /console or under /console/.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // not no-referrer: with it a form POST carries "Origin: null"
	if c.opts.NoLogin && !loopbackHost(r.Host) {
		// Without a login, only a page served from a loopback name may
		// act: a web page whose name resolves to 127.0.0.1 (DNS
		// rebinding) gets nothing.
		http.Error(w, "the console without login answers only on a loopback host name (127.0.0.1, localhost, [::1])", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodPost && !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// Owns reports whether the console serves path (/console, /console/...).
func Owns(path string) bool { return path == "/console" || strings.HasPrefix(path, "/console/") }

// loopbackHost reports whether a Host header names a loopback host.
func loopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = strings.Trim(host, "[]")
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether a POST's Origin (when the browser sent one)
// is the console's own.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser's cross-origin request; SameSite=Strict and the CSRF token still apply
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// current returns the request's session; with NoLogin a fresh one is made
// (and its cookie set) when there is none.
func (c *Console) current(w http.ResponseWriter, r *http.Request) (session, bool) {
	if ck, err := r.Cookie(cookieName(r)); err == nil {
		if ss, ok := c.sessions.get(ck.Value); ok {
			return ss, true
		}
	}
	if !c.opts.NoLogin {
		return session{}, false
	}
	ss := c.sessions.create(c.opts.Anonymous)
	c.setCookie(w, r, ss.id, int(c.opts.MaxAge/time.Second))
	return ss, true
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// api wraps an API handler: a session is required (401), and on POST its
// CSRF token (403).
func (c *Console) api(h func(w http.ResponseWriter, r *http.Request, ss session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ss, ok := c.current(w, r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in", "login": "/console/login"})
			return
		}
		if !c.opts.NoLogin {
			p, ok := c.opts.Backend.Refresh(ss.p)
			if !ok {
				c.sessions.remove(ss.id)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": ErrSignedOut.Error(), "login": "/console/login"})
				return
			}
			ss.p = p
		}
		if r.Method != http.MethodGet && !ss.csrfOK(r.Header.Get(CSRFHeader)) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token"})
			return
		}
		h(w, r, ss)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (c *Console) shell(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.current(w, r); !ok {
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	c.assets.serve(w, r, "index.html")
}

func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	c.assets.serve(w, r, r.PathValue("path"))
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Rheos console</title><link rel="stylesheet" href="/console/assets/app.css"><script type="module" src="/console/assets/theme.js"></script></head>
<body class="login"><main class="login-box">
<h1><span class="logo" aria-hidden="true">≋</span> Rheos console</h1>
<form method="post" action="/console/login">
{{if .Error}}<p class="error" role="alert" id="login-error">{{.Error}}</p>{{end}}
<label for="akid">Access key ID</label>
<input id="akid" name="access_key_id" autocomplete="username" required value="{{.Key}}"{{if not .Key}} autofocus{{end}}>
<label for="secret">Secret access key</label>
<input id="secret" name="secret_access_key" type="password" autocomplete="current-password" required{{if .Key}} autofocus{{end}}{{if .Error}} aria-describedby="login-error"{{end}}>
<button type="submit" class="primary">Sign in</button>
</form>
<p class="muted">The credentials of a principal of this server (RHEOS_ROOT_ACCESS_KEY_ID or a principal of the config file); every action is authorized by its IAM policies.</p>
</main></body></html>
`))

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if c.opts.NoLogin {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, http.StatusOK, "", "")
}

func (c *Console) renderLogin(w http.ResponseWriter, status int, key, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	loginPage.Execute(w, struct{ Key, Error string }{key, msg})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.opts.NoLogin {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	key, secret := strings.TrimSpace(r.PostFormValue("access_key_id")), r.PostFormValue("secret_access_key")
	if !c.throttle.attempt(r.RemoteAddr) {
		c.renderLogin(w, http.StatusTooManyRequests, key, "Too many failed sign-ins from this address: wait a minute.")
		return
	}
	p, ok := c.opts.Backend.Login(key, secret)
	if !ok {
		c.renderLogin(w, http.StatusUnauthorized, key, "The access key ID or the secret is wrong.")
		return
	}
	c.throttle.succeeded(r.RemoteAddr)
	if ck, err := r.Cookie(cookieName(r)); err == nil {
		c.sessions.remove(ck.Value) // a fresh id at every login (no fixation)
	}
	ss := c.sessions.create(p)
	c.setCookie(w, r, ss.id, int(c.opts.MaxAge/time.Second))
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, ss session) {
	c.sessions.remove(ss.id)
	c.setCookie(w, r, "", -1)
	writeJSON(w, http.StatusOK, map[string]any{"login": !c.opts.NoLogin})
}

func (c *Console) session(w http.ResponseWriter, r *http.Request, ss session) {
	writeJSON(w, http.StatusOK, map[string]any{
		"principal": ss.p, "csrf": ss.csrf, "pages": c.pages, "noLogin": c.opts.NoLogin,
		"version": c.opts.Version, "services": c.opts.Services,
	})
}

// forwarded are the request headers a call passes on (the ones an SDK's
// request carries that the page controls): S3's Range (a preview reads the
// first bytes) and Lambda's X-Amz-Log-Type and X-Amz-Invocation-Type
// (Invoke's LogType and InvocationType are headers).
var forwarded = []string{"Content-Type", "X-Amz-Target", "Accept", "Range", "X-Amz-Log-Type", "X-Amz-Invocation-Type"}

// returned are the response headers a call's answer passes back: the
// error type and request ids, S3's object metadata and Lambda's
// invocation result headers (the base64 log tail, the function error).
var returned = []string{"Content-Type", "X-Amzn-Errortype", "X-Amzn-Requestid", "X-Amz-Request-Id", "Content-Disposition",
	"Content-Range", "Last-Modified", "Etag", "X-Amz-Log-Result", "X-Amz-Function-Error", "X-Amz-Executed-Version"}

func (c *Console) aws(w http.ResponseWriter, r *http.Request, ss session) {
	svc := r.PathValue("service")
	served := false
	for _, s := range c.opts.Services {
		served = served || s == svc
	}
	if !served {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such service: " + svc})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.opts.MaxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": err.Error()})
		return
	}
	method := r.Header.Get("X-Rheos-Method")
	if method == "" {
		method = http.MethodPost
	}
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodPatch:
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad method " + method})
		return
	}
	uri := r.Header.Get("X-Rheos-Path")
	if uri == "" {
		uri = "/"
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || !strings.HasPrefix(uri, "/") || u.Host != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad X-Rheos-Path " + uri})
		return
	}
	call := Call{Service: svc, Method: method, Path: u.EscapedPath(), RawQuery: u.RawQuery,
		Header: http.Header{}, Body: body, RemoteAddr: r.RemoteAddr, Host: r.Host, TLS: r.TLS != nil}
	for _, h := range forwarded {
		if v := r.Header.Get(h); v != "" {
			call.Header.Set(h, v)
		}
	}
	rep, err := c.opts.Backend.Do(r.Context(), ss.p, call)
	if errors.Is(err, ErrSignedOut) {
		c.sessions.remove(ss.id)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error(), "login": "/console/login"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	h := w.Header()
	for _, k := range returned {
		if v := rep.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	w.WriteHeader(rep.Status)
	w.Write(rep.Body)
}

func (c *Console) info(w http.ResponseWriter, r *http.Request, ss session) {
	if !ss.p.Root {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "server information is for an account root"})
		return
	}
	f := c.opts.Info[r.PathValue("name")]
	if f == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such information"})
		return
	}
	v, err := f(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (c *Console) metrics(w http.ResponseWriter, r *http.Request, ss session) {
	if !ss.p.Root || c.opts.History == nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "server metrics are for an account root"})
		return
	}
	var buf bytes.Buffer
	c.opts.History.write(&buf, r.URL.Query()["match"])
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}
