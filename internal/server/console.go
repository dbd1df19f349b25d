package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	dto "github.com/prometheus/client_model/go"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/console"
	"github.com/rheos/rheos/internal/signaling"
)

// The web console (internal/console) is wired last, once every service's
// endpoint is registered: it shows the pages of the services served.
func init() { registerWiring("console", 1000, (*Server).wireConsole) }

// wireConsole builds the console over a backend that turns each of its
// calls into a SigV4-signed request of the signed-in principal, served by
// the server's own router (the same authentication and IAM authorization
// as an SDK call), plus the thin read-only endpoints and the sampled
// metric history (a periodic task of the run group).
func (s *Server) wireConsole(ctx context.Context) error {
	started := s.now()
	hist := console.NewHistory(func() (map[string]float64, error) { return sampleRegistry(s.registry.Gather) }, s.now)
	hist.Sample(ctx) // the first point: a page opened in the first seconds draws rates since start
	s.tasks = append(s.tasks, task{name: "console-metrics", interval: console.HistoryInterval, run: hist.Sample})
	anon := s.cfg.RootAccessKeyID
	if anon == "" {
		anon = "rheos-console"
	}
	c, err := console.New(console.Options{
		Backend:   consoleBackend{s},
		NoLogin:   s.consoleNoLogin(),
		Anonymous: console.Principal{AccessKeyID: anon, Name: "arn:aws:iam::" + s.cfg.Account + ":root", Account: s.cfg.Account, Root: true},
		Services:  s.router.Services(),
		History:   hist,
		Version:   rheosVersion().Version,
		Now:       s.now,
		Info: map[string]console.InfoFunc{
			"health": func(context.Context) (any, error) {
				ready, detail := true, "serving; the record log accepts writes"
				if err := s.store.log.Failed(); err != nil {
					ready, detail = false, "the record log refuses writes: "+err.Error()
				}
				return map[string]any{"ready": ready, "detail": detail, "uptimeMs": s.now().Sub(started).Milliseconds(),
					"authMode": s.cfg.AuthMode, "services": s.router.Services()}, nil
			},
			"version": func(context.Context) (any, error) { return rheosVersion(), nil },
			"config":  func(context.Context) (any, error) { return redactedConfig(s.cfg) },
			"disk":    func(ctx context.Context) (any, error) { return diskUse(ctx, s.cfg.DataDir) },
			// Disk use per data stream: the log knows keys, not streams.
			"stream-disk": func(context.Context) (any, error) { return s.streamDiskUse() },
			// The signaling channels' connected clients: no AWS API lists them.
			"signaling": func(context.Context) (any, error) {
				if s.signaling == nil {
					return []signaling.Peer{}, nil
				}
				return s.signaling.Peers(), nil
			},
		},
	})
	if err != nil {
		return err
	}
	s.console = c
	return nil
}

// withConsole serves /console and /console/... with the console, the rest
// with next.
//
// Every other response is marked as no document of this origin: the
// console shares the origin with the AWS APIs, and an S3 object stored as
// text/html or SVG (by any principal who may put one) opened from a
// presigned link would otherwise run script with the console's session.
// A sandboxed document has an opaque origin (no cookies of ours, no
// same-origin reads); no SDK, CLI or media player reads these headers.
func (s *Server) withConsole(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.console != nil && console.Owns(r.URL.Path) {
			s.console.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "sandbox")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// consoleNoLogin: the console needs no login when authentication is off
// and every listener is on loopback (as config's default auth mode
// reasons); with auth off on an exposed listener it still asks for a
// credential of the table.
func (s *Server) consoleNoLogin() bool {
	if s.cfg.AuthMode != "none" {
		return false
	}
	for _, a := range []string{s.cfg.TLSAddr, s.cfg.AdminAddr} {
		if a != "" && !config.IsLoopback(a) {
			return false
		}
	}
	return s.cfg.AddrOff() || config.IsLoopback(s.cfg.Addr)
}

// consoleBackend is the console's way into the server.
type consoleBackend struct{ s *Server }

// Login checks the secret against the credential table SigV4 verification
// uses (in constant time).
func (b consoleBackend) Login(id, secret string) (console.Principal, bool) {
	if id == "" || secret == "" {
		return console.Principal{}, false
	}
	c, ok := (*b.s.creds.Load())[id]
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret.SecretAccessKey)) != 1 {
		return console.Principal{}, false
	}
	return consolePrincipal(id, c), true
}

// Refresh is the session's principal as the current credential table has
// it (a reload may have changed its policies, name or root standing), or
// false when its credential is gone or its secret changed since sign-in.
func (b consoleBackend) Refresh(p console.Principal) (console.Principal, bool) {
	c, ok := (*b.s.creds.Load())[p.AccessKeyID]
	if !ok {
		return console.Principal{}, false
	}
	np := consolePrincipal(p.AccessKeyID, c)
	if subtle.ConstantTimeCompare([]byte(np.Credential), []byte(p.Credential)) != 1 {
		return console.Principal{}, false
	}
	return np, true
}

// consolePrincipal is who credential c (of access key id) signs in as;
// Credential fingerprints its secret, so that a rotated secret ends the
// sessions signed in with the old one.
func consolePrincipal(id string, c cred) console.Principal {
	fp := sha256.Sum256([]byte(c.secret.SecretAccessKey + "\x00" + c.secret.SessionToken))
	return console.Principal{AccessKeyID: id, Account: c.account, Root: c.root, Name: c.arn, Credential: hex.EncodeToString(fp[:])}
}

// Do signs the call with the principal's credential (SigV4, as an SDK
// does) and serves it through the router, buffering the answer.
func (b consoleBackend) Do(ctx context.Context, p console.Principal, c console.Call) (console.Reply, error) {
	s := b.s
	cred := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: "rheos-console"}
	if cr, ok := (*s.creds.Load())[p.AccessKeyID]; ok {
		cred.SecretAccessKey, cred.SessionToken = cr.secret.SecretAccessKey, cr.secret.SessionToken
	} else if s.cfg.AuthMode == "verify" {
		return console.Reply{}, console.ErrSignedOut
	}
	uri := "http://localhost" + c.Path
	if c.RawQuery != "" {
		uri += "?" + c.RawQuery
	}
	r, err := http.NewRequestWithContext(ctx, c.Method, uri, bytes.NewReader(c.Body))
	if err != nil {
		return console.Reply{}, err
	}
	for k, v := range c.Header {
		r.Header[k] = v
	}
	r.RemoteAddr = c.RemoteAddr
	// Endpoints an answer names (GetDataEndpoint, signaling endpoints, HLS
	// session URLs) are built from the Host: the browser's is its way here.
	// S3 keeps the neutral one: the S3 browser addresses buckets path-style,
	// and a console reached at a name like bucket.localhost would otherwise
	// read as a virtual-hosted bucket.
	if c.Host != "" && c.Service != "s3" {
		r.Host = c.Host
	}
	if c.TLS {
		r.TLS = &tls.ConnectionState{}
	}
	sum := sha256.Sum256(c.Body)
	hash := hex.EncodeToString(sum[:])
	r.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(ctx, cred, r, hash, c.Service, s.cfg.Region, s.now()); err != nil {
		return console.Reply{}, err
	}
	rec := &replyRecorder{header: http.Header{}, limit: 32 << 20}
	s.router.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.over {
		return console.Reply{}, errors.New("the answer is larger than the console shows (32 MiB)")
	}
	return console.Reply{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, nil
}

// replyRecorder buffers a handler's answer, up to limit bytes.
type replyRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	limit  int
	over   bool
}

func (r *replyRecorder) Header() http.Header { return r.header }
func (r *replyRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *replyRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(b) > r.limit {
		r.over = true
		return 0, errors.New("console: answer too large")
	}
	return r.body.Write(b)
}
func (r *replyRecorder) Flush() {}

// versionInfo is the binary's version, from its build information.
type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	Time     string `json:"time"`
	Go       string `json:"go"`
}

func rheosVersion() versionInfo {
	v := versionInfo{Version: "(devel)", Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				v.Revision = st.Value
			case "vcs.time":
				v.Time = st.Value
			}
		}
	}
	return v
}

// redactedConfig is the configuration as JSON with every secret-looking
// field (secret, password, token, private key) redacted, however the
// configuration grows.
func redactedConfig(cfg config.Config) (any, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return redact(v), nil
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			lk := strings.ToLower(k)
			if s, ok := x.(string); ok && s != "" && (strings.Contains(lk, "secret") || strings.Contains(lk, "password") ||
				strings.Contains(lk, "token") || strings.Contains(lk, "privatekey")) {
				t[k] = "(redacted)"
				continue
			}
			t[k] = redact(x)
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}

// diskUse sums the data directory per top-level entry (at most
// diskWalkLimit files) and reads the filesystem's free space.
func diskUse(ctx context.Context, dir string) (any, error) {
	const diskWalkLimit = 200000
	type entry struct {
		Name  string `json:"name"`
		Bytes int64  `json:"bytes"`
	}
	sizes := map[string]int64{}
	var used int64
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file gone while walking
		}
		if files++; files > diskWalkLimit || ctx.Err() != nil {
			return fs.SkipAll
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		sizes[top] += fi.Size()
		used += fi.Size()
		return nil
	})
	if err != nil {
		return nil, err
	}
	dirs := make([]entry, 0, len(sizes))
	for n, b := range sizes {
		dirs = append(dirs, entry{n, b})
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].Bytes > dirs[j].Bytes })
	var st syscall.Statfs_t
	var free int64
	if syscall.Statfs(dir, &st) == nil {
		free = int64(st.Bavail) * int64(st.Bsize)
	}
	abs, _ := filepath.Abs(dir)
	return map[string]any{"dataDir": abs, "usedBytes": used, "freeBytes": free, "dirs": dirs, "truncated": files > diskWalkLimit,
		"at": time.Now().UTC().Format(time.RFC3339)}, nil
}

// streamDiskUse is every data stream's records in the log: bytes on local
// disk and in the blob store (tiered), per stream and in all.
func (s *Server) streamDiskUse() (any, error) {
	streams, err := s.kinesis.DiskUse(func(key uint64) (int64, int64, error) {
		u, err := s.store.log.KeyUsage(key)
		return u.LocalBytes, u.TieredBytes, err
	})
	if err != nil {
		return nil, err
	}
	var local, tiered int64
	for _, d := range streams {
		local += d.LocalBytes
		tiered += d.TieredBytes
	}
	return map[string]any{"streams": streams, "localBytes": local, "tieredBytes": tiered}, nil
}

// sampleRegistry flattens the registry into series keyed name{labels}:
// counters and gauges as they are, histograms and summaries as _sum and
// _count.
func sampleRegistry(gather func() ([]*dto.MetricFamily, error)) (map[string]float64, error) {
	fams, err := gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var lb strings.Builder
			for i, l := range m.GetLabel() {
				if i == 0 {
					lb.WriteByte('{')
				} else {
					lb.WriteByte(',')
				}
				lb.WriteString(l.GetName() + `="` + l.GetValue() + `"`)
			}
			if lb.Len() > 0 {
				lb.WriteByte('}')
			}
			labels := lb.String()
			name := f.GetName()
			switch {
			case m.Counter != nil:
				out[name+labels] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name+labels] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[name+"_sum"+labels] = m.Histogram.GetSampleSum()
				out[name+"_count"+labels] = float64(m.Histogram.GetSampleCount())
			case m.Summary != nil:
				out[name+"_sum"+labels] = m.Summary.GetSampleSum()
				out[name+"_count"+labels] = float64(m.Summary.GetSampleCount())
			case m.Untyped != nil:
				out[name+labels] = m.Untyped.GetValue()
			}
		}
	}
	return out, nil
}
