package functions

import (
	"archive/zip"
	"bytes"
	"context"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The runtime clients that run Node.js and Python handlers unchanged
// against the Runtime API each process gets.
//
//go:embed shims/node-shim.js shims/python_shim.py
var shims embed.FS

// KindZip is a user's handler run as a warm subprocess behind a built-in
// Lambda Runtime API (Runtime nodejs*, python3*, provided*).
const KindZip = "zip"

// interpreter returns the command that runs a zip runtime's client, and
// whether the runtime is one this host runs.
func interpreter(runtime string) (cmd string, shim string, ok bool) {
	switch {
	case strings.HasPrefix(runtime, "nodejs"):
		return "node", "node-shim.js", true
	case strings.HasPrefix(runtime, "python3"):
		return "python3", "python_shim.py", true
	case strings.HasPrefix(runtime, "provided"):
		return "", "", true // the zip's own bootstrap
	}
	return "", "", false
}

// pool is the warm processes of one function revision.
type pool struct {
	key   string // ARN + revision
	slots chan struct{}

	mu   sync.Mutex // guards idle and all
	idle []*proc
	all  map[*proc]bool
}

// proc is one handler process with its own Runtime API listener.
type proc struct {
	cmd     *exec.Cmd
	srv     *http.Server
	next    chan *invocation // taken by GET /invocation/next
	initErr chan []byte      // the body of POST /init/error
	exited  chan struct{}    // closed when the process has exited
	logs    *logBuffer

	mu      sync.Mutex // guards current
	current *invocation
}

type invocation struct {
	id      string
	arn     string
	payload []byte
	timeout time.Duration  // from the handover (the runtime's next request)
	result  chan invResult // buffered 1
}

type invResult struct {
	payload []byte
	failed  bool
}

// logBuffer keeps the last 64 KiB a process wrote, with a running offset
// so an invocation can take what was written since it began.
type logBuffer struct {
	mu    sync.Mutex // guards buf and total
	buf   []byte
	total int64
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 64<<10 {
		l.buf = l.buf[len(l.buf)-64<<10:]
	}
	l.total += int64(len(p))
	return len(p), nil
}

func (l *logBuffer) mark() int64 { l.mu.Lock(); defer l.mu.Unlock(); return l.total }

// endMarker is the line the runtime clients write to stdout and stderr
// after an invocation's output (stripped from the log).
func endMarker(reqID string) string { return "\x00rheos-end " + reqID + "\n" }

// waitMarkers waits until marker was written n times, at most max.
func (l *logBuffer) waitMarkers(marker string, n int, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		c := strings.Count(string(l.buf), marker)
		l.mu.Unlock()
		if c >= n {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// settle waits until nothing has been written for quiet, at most max.
func (l *logBuffer) settle(quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	last := l.mark()
	for time.Now().Before(deadline) {
		time.Sleep(quiet)
		n := l.mark()
		if n == last {
			return
		}
		last = n
	}
}

func (l *logBuffer) since(m int64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(l.total-m, int64(len(l.buf)))
	out := string(l.buf[int64(len(l.buf))-n:])
	// Drop the runtime clients' end markers.
	for {
		i := strings.Index(out, "\x00rheos-end ")
		if i < 0 {
			return out
		}
		j := strings.IndexByte(out[i:], '\n')
		if j < 0 {
			return out[:i]
		}
		out = out[:i] + out[i+j+1:]
	}
}

// codeDir unpacks f's code zip once into CodeDir/<digest> and returns the
// directory.
func (s *Service) codeDir(ctx context.Context, f *Function) (string, error) {
	digest := strings.TrimPrefix(f.CodeKey, prefixCode)
	dir := filepath.Join(s.cfg.CodeDir, digest)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	code, _, err := s.meta.Get(ctx, f.CodeKey)
	if err != nil || code == nil {
		return "", fmt.Errorf("code of %s: %v", f.Name, err)
	}
	tmp, err := os.MkdirTemp(s.cfg.CodeDir, digest+".tmp")
	if err != nil {
		return "", err
	}
	if err := unzip(code, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil { // another invocation won
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}

// unzip extracts a zip into dir, refusing paths that leave it. What it
// writes is the server user's alone (directories 0700, files 0600,
// executables 0700): the code sits in the data directory.
func unzip(code []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(code), int64(len(code)))
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		name := filepath.Clean(zf.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("zip entry %q leaves the code directory", zf.Name)
		}
		dst := filepath.Join(dir, name)
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		mode := os.FileMode(0o600)
		if zf.Mode()&0o111 != 0 || filepath.Base(name) == "bootstrap" {
			mode = 0o700
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			rc.Close()
			return err
		}
		_, err = io.Copy(out, rc)
		rc.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// shimPath writes the embedded runtime client once and returns its path.
func (s *Service) shimPath(name string) (string, error) {
	b, err := shims.ReadFile("shims/" + name)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(s.cfg.CodeDir, ".shims")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return p, nil
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// poolFor returns the pool of f's current revision; pools of older
// revisions are drained (their idle processes stopped).
func (s *Service) poolFor(f *Function) *pool {
	key := f.ARN() + "#" + f.RevisionID
	s.poolsMu.Lock()
	old := s.pools[f.ARN()]
	if old != nil && old.key == key {
		s.poolsMu.Unlock()
		return old
	}
	size := s.cfg.MaxProcesses
	if f.ReservedConcurrency != nil && *f.ReservedConcurrency > 0 {
		size = *f.ReservedConcurrency
	}
	p := &pool{key: key, slots: make(chan struct{}, size), all: map[*proc]bool{}}
	s.pools[f.ARN()] = p
	s.poolsMu.Unlock()
	if old != nil {
		old.stopIdle() // the previous revision's idle processes; busy ones stop when done
	}
	return p
}

func (p *pool) stopIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, pr := range idle {
		pr.kill()
	}
}

// InitTimeout bounds a cold start's init phase: the process's start and
// its runtime's first request for an event (AWS: "The Init phase is
// limited to 10 seconds"). The function's own timeout starts when the
// event is handed to the runtime, so a slow cold start does not eat it.
const InitTimeout = 10 * time.Second

// invokeZip runs one invocation on a warm process of f's pool pl, whose
// slot the caller holds, starting one when none is idle; a process that
// timed out, failed to start or exited is discarded (the next invocation
// starts cold). timeout counts from the handover of the event; timedOut
// reports that it passed (ctx's own end is not a timeout).
func (s *Service) invokeZip(ctx context.Context, f *Function, pl *pool, reqID string, payload []byte, timeout time.Duration, tail bool) (res Result, logs string, timedOut bool) {
	pl.mu.Lock()
	var pr *proc
	if n := len(pl.idle); n > 0 {
		pr, pl.idle = pl.idle[n-1], pl.idle[:n-1]
	}
	pl.mu.Unlock()
	if pr == nil {
		var err error
		if pr, err = s.start(ctx, f); err != nil {
			msg := "starting the function's process: " + err.Error()
			return Result{Payload: errorObject(msg, "Runtime.InvalidEntrypoint"), FunctionError: "Unhandled"}, msg + "\n", false
		}
		pl.mu.Lock()
		pl.all[pr] = true
		pl.mu.Unlock()
	}
	mark := pr.logs.mark()
	inv := &invocation{id: reqID, arn: f.ARN(), payload: payload, timeout: timeout, result: make(chan invResult, 1)}
	keep := false
	defer func() {
		s.poolsMu.Lock()
		current := s.pools[f.ARN()] == pl
		s.poolsMu.Unlock()
		keep = keep && current // a deleted or updated function's process is not reused
		pl.mu.Lock()
		if keep {
			pl.idle = append(pl.idle, pr)
		} else {
			delete(pl.all, pr)
		}
		pl.mu.Unlock()
		if !keep {
			pr.kill()
		}
	}()
	initTimer := time.NewTimer(InitTimeout + timeout) // AWS retries a slow init within the invoke's timeout
	defer initTimer.Stop()
	select {
	case pr.next <- inv:
	case body := <-pr.initErr:
		return Result{Payload: body, FunctionError: "Unhandled"}, pr.logs.since(mark), false
	case <-pr.exited:
		return exitResult(reqID, pr), pr.logs.since(mark), false
	case <-initTimer.C:
		return Result{}, pr.logs.since(mark), true
	case <-ctx.Done():
		return Result{}, pr.logs.since(mark), false
	}
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case r := <-inv.result:
		keep = true
		res := Result{Payload: r.payload}
		if r.failed {
			res.FunctionError = "Unhandled"
		}
		if tail {
			// The handler's output was written before it answered, but the
			// copy from its pipes may lag: the Node and Python clients end
			// each invocation's output with a marker line on stdout and
			// stderr; a custom runtime's output gets until its pipes go
			// quiet.
			if interp, _, _ := interpreter(f.Runtime); interp != "" {
				pr.logs.waitMarkers(endMarker(reqID), 2, time.Second)
			} else {
				pr.logs.settle(10*time.Millisecond, 100*time.Millisecond)
			}
		}
		return res, pr.logs.since(mark), false
	case <-pr.exited:
		return exitResult(reqID, pr), pr.logs.since(mark), false
	case <-ictx.Done():
		return Result{}, pr.logs.since(mark), ctx.Err() == nil
	}
}

func exitResult(reqID string, pr *proc) Result {
	msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", reqID, pr.cmd.ProcessState)
	return Result{Payload: errorObject(msg, "Runtime.ExitError"), FunctionError: "Unhandled"}
}

// start spawns a process for f with its own Runtime API listener.
func (s *Service) start(ctx context.Context, f *Function) (*proc, error) {
	dir, err := s.codeDir(ctx, f)
	if err != nil {
		return nil, err
	}
	interp, shim, _ := interpreter(f.Runtime)
	var argv []string
	if interp == "" {
		argv = []string{filepath.Join(dir, "bootstrap")}
	} else {
		sp, err := s.shimPath(shim)
		if err != nil {
			return nil, err
		}
		argv = []string{interp, sp}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pr := &proc{next: make(chan *invocation), initErr: make(chan []byte, 1), exited: make(chan struct{}), logs: &logBuffer{}}
	pr.srv = &http.Server{Handler: pr.runtimeAPI(), ReadHeaderTimeout: 10 * time.Second}
	go pr.srv.Serve(ln) // stopped by kill (srv.Close)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = pr.logs, pr.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8", "TZ=:UTC", "PYTHONUNBUFFERED=1",
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "_HANDLER=" + f.Handler, "LAMBDA_TASK_ROOT=" + dir,
		"LAMBDA_RUNTIME_DIR=" + filepath.Join(s.cfg.CodeDir, ".shims"), "AWS_EXECUTION_ENV=AWS_Lambda_" + f.Runtime,
		"AWS_LAMBDA_FUNCTION_NAME=" + f.Name, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + f.Name, "AWS_LAMBDA_LOG_STREAM_NAME=rheos/" + newID(),
		"AWS_REGION=" + f.Region, "AWS_DEFAULT_REGION=" + f.Region,
		"AWS_ACCESS_KEY_ID=" + s.cfg.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + s.cfg.SecretAccessKey,
	}
	if s.cfg.Endpoint != nil {
		if ep := s.cfg.Endpoint(); ep != "" {
			env = append(env, "AWS_ENDPOINT_URL="+ep)
		}
	}
	for k, v := range f.Environment {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		pr.srv.Close()
		return nil, err
	}
	pr.cmd = cmd
	go func() { // ends when the process exits (kill ensures it does)
		cmd.Wait()
		close(pr.exited)
	}()
	return pr, nil
}

// kill stops the process group and its Runtime API, and waits for the exit.
func (pr *proc) kill() {
	if pr.cmd != nil && pr.cmd.Process != nil {
		syscall.Kill(-pr.cmd.Process.Pid, syscall.SIGKILL)
		<-pr.exited
	}
	pr.srv.Close()
}

// runtimeAPI serves the Lambda Runtime API (2018-06-01) to one process.
func (pr *proc) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-pr.next:
			deadline := time.Now().Add(inv.timeout)
			pr.mu.Lock()
			pr.current = inv
			pr.mu.Unlock()
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+hex.EncodeToString([]byte(inv.id))[:24]+";Sampled=0")
			h.Set("Content-Type", "application/json")
			payload := inv.payload
			if len(payload) == 0 {
				payload = []byte("{}")
			}
			w.Write(payload)
		case <-r.Context().Done():
		}
	})
	finish := func(failed bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
			pr.mu.Lock()
			inv := pr.current
			if inv != nil && inv.id == id {
				pr.current = nil
			} else {
				inv = nil
			}
			pr.mu.Unlock()
			if inv == nil || err != nil {
				http.Error(w, `{"errorMessage":"unknown or finished request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
				return
			}
			inv.result <- invResult{payload: body, failed: failed}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", finish(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", finish(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		select {
		case pr.initErr <- body:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	return mux
}

// dropPool stops the idle processes of a deleted function; busy ones are
// stopped when their invocation ends (the pool is no longer found).
func (s *Service) dropPool(arn string) {
	s.poolsMu.Lock()
	p := s.pools[arn]
	delete(s.pools, arn)
	s.poolsMu.Unlock()
	if p != nil {
		p.stopIdle()
	}
}

// Close stops every function process.
func (s *Service) Close() error {
	s.poolsMu.Lock()
	pools := s.pools
	s.pools = map[string]*pool{}
	s.poolsMu.Unlock()
	for _, p := range pools {
		p.mu.Lock()
		all := make([]*proc, 0, len(p.all))
		for pr := range p.all {
			all = append(all, pr)
		}
		p.mu.Unlock()
		for _, pr := range all {
			pr.kill()
		}
	}
	return nil
}
