package functions

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/arn"
)

// MetaStore is the durable metadata the registry needs (metastore.Store
// satisfies it): revisioned keys changed by compare-and-swap commits. A
// Scan callback must not call the store (it may run inside a read
// transaction).
type MetaStore interface {
	// Get returns a value and its revision, or (nil, 0, nil) when absent.
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	// Scan visits every key with the prefix in key order.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
	// Commit applies puts and deletes iff every compared key has the given
	// revision (0 = absent); ok=false means a comparison failed.
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
}

// Config configures the Service. Zero values take the stated defaults.
type Config struct {
	// Account is the default account. Required.
	Account string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives notable events. Default slog.Default().
	Logger *slog.Logger
	// HTTPClient calls url functions. Default: a client without a global
	// timeout (each call is bounded by the function's Timeout).
	HTTPClient *http.Client
	// MaxCodeBytes caps a function's code (Lambda: 50 MB zipped upload).
	// Default 50 MiB.
	MaxCodeBytes int64
	// Exec allows zip functions (nodejs*, python3*, provided*): a user's
	// handler runs as a subprocess of the server. Creating one is remote
	// code execution by design, as on AWS: off by default.
	Exec bool
	// CodeDir is where zip functions' code is unpacked. Required with Exec.
	CodeDir string
	// MaxProcesses bounds the warm processes (and so the concurrent
	// invocations) of one function. Default 4.
	MaxProcesses int
	// Endpoint, if set, returns the server's URL, given to handlers as
	// AWS_ENDPOINT_URL so that SDK calls inside them reach Rheos.
	Endpoint func() string
	// AsyncRetries is how many times an asynchronous invocation that failed
	// is retried (Lambda's default MaximumRetryAttempts). Default 2.
	AsyncRetries int
	// AsyncRetryDelay spaces the retries: the n-th waits n times it
	// (Lambda waits about 1 and 2 minutes). Default 1 minute.
	AsyncRetryDelay time.Duration
	// Observer receives metrics; nil: none.
	Observer Observer
	// Streams is what event source mappings read (the server adapts Data
	// Streams); nil: no mappings can be created.
	Streams StreamSource
	// Objects is where S3 OnFailure destinations of event source mappings
	// write (the server adapts its built-in S3); nil: S3 destinations are
	// refused.
	Objects ObjectWriter
	// AccessKeyID and SecretAccessKey are the credentials handlers get.
	// Default "rheos"/"rheos" (accepted when authentication is off).
	AccessKeyID, SecretAccessKey string
}

// Observer receives the functions' metrics (internal/metrics.Functions
// implements it). Calls are made on the invocation path and must be cheap
// and safe for concurrent use.
type Observer interface {
	// Invocation reports a finished invocation (failed: a function error).
	Invocation(function string, failed bool, d time.Duration)
	// Running adds delta to the invocations in progress of a function.
	Running(function string, delta int)
	// Throttle reports an invocation refused or held back for
	// concurrency: reserved concurrency 0, or every process busy.
	Throttle(function string)
	// Batch reports a batch an event source mapping finished: records,
	// outcome ("ok", "RetryAttemptsExhausted", "MaximumRecordAgeExceeded")
	// and, for "ok", the age of its last record.
	Batch(mapping string, records int, outcome string, iteratorAgeMs int64)
}

type noObserver struct{}

func (noObserver) Invocation(string, bool, time.Duration) {}
func (noObserver) Running(string, int)                    {}
func (noObserver) Throttle(string)                        {}
func (noObserver) Batch(string, int, string, int64)       {}

// Service is the function registry and invoker. It is safe for concurrent
// use.
type Service struct {
	cfg  Config
	meta MetaStore

	mu   sync.Mutex // guards jq (compiled programs by code digest)
	jq   map[string]*jqProgram
	ctlM sync.Mutex // serializes registry changes (CAS retries stay simple)

	poolsMu sync.Mutex // guards pools (zip functions' processes by ARN)
	pools   map[string]*pool

	asyncWake chan struct{} // an item was queued (buffered 1)

	runMu      sync.Mutex // guards runCtx, runners and lastResult
	runCtx     context.Context
	runners    map[string]*runner // running mappings by UUID
	lastResult map[string]string
}

// New returns the service over meta.
func New(cfg Config, meta MetaStore) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.MaxCodeBytes == 0 {
		cfg.MaxCodeBytes = 50 << 20
	}
	if cfg.AsyncRetries == 0 {
		cfg.AsyncRetries = 2
	}
	if cfg.AsyncRetryDelay == 0 {
		cfg.AsyncRetryDelay = time.Minute
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.MaxProcesses <= 0 {
		cfg.MaxProcesses = 4
	}
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = "rheos", "rheos"
	}
	return &Service{cfg: cfg, meta: meta, jq: map[string]*jqProgram{}, pools: map[string]*pool{},
		runners: map[string]*runner{}, lastResult: map[string]string{}, asyncWake: make(chan struct{}, 1)}
}

// Metadata keys (part of the stored format).
const (
	prefixFunctions = "lambda/functions/" // + account/region/name → Function JSON
	prefixCode      = "lambda/code/"      // + hex SHA-256 → the code as uploaded
)

func fnKey(sc Scope, name string) string {
	return prefixFunctions + sc.Account + "/" + sc.Region + "/" + name
}

func (s *Service) scope(sc Scope) Scope {
	if sc.Account == "" {
		sc.Account = s.cfg.Account
	}
	return sc
}

// CreateInput is CreateFunction's input, as the API decoded it.
type CreateInput struct {
	Name, Runtime, Handler, Role, Description, PackageType string
	ZipFile                                                []byte
	ImageURI                                               string
	Timeout, MemorySize                                    int
	Environment, Tags                                      map[string]string
	Architectures                                          []string
}

// ResolveName accepts what Lambda accepts as a FunctionName: a name, an
// ARN, or a partial ARN (account:function:name), with an optional
// ":$LATEST" qualifier; it returns the scope it names (or sc) and the name.
func ResolveName(sc Scope, ref string) (Scope, string, *Error) {
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) == 1:
		return sc, ref, nil
	case len(parts) == 2 && parts[1] == "$LATEST":
		return sc, parts[0], nil
	case len(parts) >= 3 && len(parts) <= 4 && parts[1] == "function":
		if len(parts) == 4 && parts[3] != "$LATEST" {
			return sc, "", errorf(KindUnsupported, "Qualifier %s: this endpoint serves $LATEST only (no published versions or aliases).", parts[3])
		}
		return Scope{Account: parts[0], Region: sc.Region}, parts[2], nil
	case len(parts) >= 7 && len(parts) <= 8 && parts[0] == "arn" && parts[1] != arn.Partition:
		return sc, "", errorf(KindInvalidParameter, "Invalid function name: %s: partition %s is not served here (only %s).", ref, parts[1], arn.Partition)
	case len(parts) >= 7 && len(parts) <= 8 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		if len(parts) == 8 && parts[7] != "$LATEST" {
			return sc, "", errorf(KindUnsupported, "Qualifier %s: this endpoint serves $LATEST only (no published versions or aliases).", parts[7])
		}
		return Scope{Account: parts[4], Region: parts[3]}, parts[6], nil
	}
	return sc, "", errorf(KindInvalidParameter, "Invalid function name: %s", ref)
}

// Create registers a function.
func (s *Service) Create(ctx context.Context, sc Scope, in CreateInput) (*Function, error) {
	sc = s.scope(sc)
	f := &Function{Name: in.Name, Account: sc.Account, Region: sc.Region, Runtime: in.Runtime, Handler: in.Handler,
		Role: in.Role, Description: in.Description, PackageType: in.PackageType, Timeout: in.Timeout, MemorySize: in.MemorySize,
		Environment: in.Environment, Architectures: in.Architectures, Tags: in.Tags}
	if f.PackageType == "" {
		f.PackageType = "Zip"
	}
	if f.Timeout == 0 {
		f.Timeout = 3
	}
	if f.MemorySize == 0 {
		f.MemorySize = 128
	}
	if len(f.Architectures) == 0 {
		f.Architectures = []string{"x86_64"}
	}
	code, err := s.prepareCode(f, in.ZipFile, in.ImageURI)
	if err != nil {
		return nil, err
	}
	f.LastModified = s.cfg.Now().UTC()
	f.RevisionID = newID()
	b, _ := json.Marshal(f)
	puts := map[string][]byte{fnKey(sc, f.Name): b}
	if code != nil {
		puts[f.CodeKey] = code
	}
	s.ctlM.Lock()
	defer s.ctlM.Unlock()
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{fnKey(sc, f.Name): 0}, puts, nil)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Err: err}
	}
	if !ok {
		return nil, errorf(KindConflict, "Function already exist: %s", f.Name)
	}
	s.cfg.Logger.Info("function created", "function", f.ARN(), "kind", f.Kind)
	return f, nil
}

// prepareCode decides the function's kind from its runtime and package
// type, checks its code, and returns the bytes to store (nil for url).
func (s *Service) prepareCode(f *Function, zipFile []byte, imageURI string) ([]byte, error) {
	switch {
	case f.PackageType == "Image":
		if !strings.HasPrefix(imageURI, "http://") && !strings.HasPrefix(imageURI, "https://") {
			return nil, errorf(KindInvalidParameter, "Rheos runs Image functions by URL: Code.ImageUri must be http(s)://host:port of a server speaking the Lambda Invoke API (the Runtime Interface Emulator, SAM local, another Lambda endpoint); got %q.", imageURI)
		}
		f.Kind, f.ImageURI = KindURL, strings.TrimRight(imageURI, "/")
		sum := sha256.Sum256([]byte(f.ImageURI))
		f.CodeSHA256, f.CodeSize = base64.StdEncoding.EncodeToString(sum[:]), 0
		return nil, nil
	case f.Runtime == RuntimeJQ:
		if len(zipFile) == 0 {
			return nil, errorf(KindInvalidParameter, "Runtime %s needs Code.ZipFile: a zip holding the jq program named by Handler.", RuntimeJQ)
		}
		if int64(len(zipFile)) > s.cfg.MaxCodeBytes {
			return nil, errorf(KindTooLarge, "Unzipped size must be smaller than %d bytes", s.cfg.MaxCodeBytes)
		}
		src, err := jqSource(zipFile, f.Handler)
		if err != nil {
			return nil, err
		}
		if _, err := compileJQ(src); err != nil {
			return nil, errorf(KindInvalidParameter, "The jq program %s does not compile: %v", f.Handler, err)
		}
		f.Kind = KindJQ
		sum := sha256.Sum256(zipFile)
		f.CodeSHA256, f.CodeSize = base64.StdEncoding.EncodeToString(sum[:]), int64(len(zipFile))
		f.CodeKey = prefixCode + hex.EncodeToString(sum[:])
		return zipFile, nil
	case f.Runtime == "":
		return nil, errorf(KindInvalidParameter, "Runtime is required for .zip file based functions.")
	}
	interp, _, ok := interpreter(f.Runtime)
	if !ok {
		return nil, errorf(KindUnsupported, "Runtime %s is not served by this endpoint: it runs nodejs*, python3* and provided* handlers, Runtime %s (a jq program), and PackageType Image functions by http(s) Code.ImageUri.", f.Runtime, RuntimeJQ)
	}
	if !s.cfg.Exec {
		return nil, errorf(KindUnsupported, "Runtime %s runs the handler as a subprocess of the server, which is off: start it with --functions-exec (config functions.exec) to allow it. Creating such a function is remote code execution by design; enable it with authentication on, or on a trusted machine.", f.Runtime)
	}
	if interp != "" {
		if _, err := exec.LookPath(interp); err != nil {
			return nil, errorf(KindInvalidParameter, "Runtime %s needs %s on the server's PATH, which it lacks.", f.Runtime, interp)
		}
	}
	if len(zipFile) == 0 {
		return nil, errorf(KindInvalidParameter, "Runtime %s needs Code.ZipFile (the handler's code as a zip).", f.Runtime)
	}
	if int64(len(zipFile)) > s.cfg.MaxCodeBytes {
		return nil, errorf(KindTooLarge, "Unzipped size must be smaller than %d bytes", s.cfg.MaxCodeBytes)
	}
	if _, err := zip.NewReader(bytes.NewReader(zipFile), int64(len(zipFile))); err != nil {
		return nil, errorf(KindInvalidParameter, "Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	f.Kind = KindZip
	sum := sha256.Sum256(zipFile)
	f.CodeSHA256, f.CodeSize = base64.StdEncoding.EncodeToString(sum[:]), int64(len(zipFile))
	f.CodeKey = prefixCode + hex.EncodeToString(sum[:])
	return zipFile, nil
}

// jqSource returns the file named handler from a zip.
func jqSource(zipFile []byte, handler string) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipFile), int64(len(zipFile)))
	if err != nil {
		return "", errorf(KindInvalidParameter, "Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	for _, zf := range zr.File {
		if zf.Name != handler {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return "", errorf(KindInvalidParameter, "Could not unzip uploaded file. Please check your file, then try to upload again.")
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		if err != nil {
			return "", errorf(KindInvalidParameter, "Could not unzip uploaded file. Please check your file, then try to upload again.")
		}
		return string(b), nil
	}
	return "", errorf(KindInvalidParameter, "Handler %q names no file of the code zip (a %s function's Handler is the jq program's file name).", handler, RuntimeJQ)
}

// Get returns a function.
func (s *Service) Get(ctx context.Context, sc Scope, ref string) (*Function, error) {
	sc, name, derr := ResolveName(s.scope(sc), ref)
	if derr != nil {
		return nil, derr
	}
	f, _, err := s.load(ctx, sc, name)
	return f, err
}

func (s *Service) load(ctx context.Context, sc Scope, name string) (*Function, uint64, error) {
	b, rev, err := s.meta.Get(ctx, fnKey(sc, name))
	if err != nil {
		return nil, 0, &Error{Kind: KindInternal, Err: err}
	}
	if b == nil {
		return nil, 0, errorf(KindNotFound, "Function not found: arn:aws:lambda:%s:%s:function:%s", sc.Region, sc.Account, name)
	}
	var f Function
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, 0, &Error{Kind: KindInternal, Err: fmt.Errorf("function %s: %w", name, err)}
	}
	return &f, rev, nil
}

// List returns the functions of the scope in name order, from after
// marker (a name), at most max.
func (s *Service) List(ctx context.Context, sc Scope, marker string, max int) (fns []*Function, next string, err error) {
	sc = s.scope(sc)
	prefix := prefixFunctions + sc.Account + "/" + sc.Region + "/"
	err = s.meta.Scan(ctx, prefix, func(key string, value []byte, _ uint64) error {
		name := strings.TrimPrefix(key, prefix)
		if name <= marker {
			return nil
		}
		var f Function
		if err := json.Unmarshal(value, &f); err != nil {
			return fmt.Errorf("function %s: %w", name, err)
		}
		fns = append(fns, &f)
		return nil
	})
	if err != nil {
		return nil, "", &Error{Kind: KindInternal, Err: err}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	if max > 0 && len(fns) > max {
		fns, next = fns[:max], fns[max-1].Name
	}
	return fns, next, nil
}

// Delete removes a function (its code too, when no other function shares
// it).
func (s *Service) Delete(ctx context.Context, sc Scope, ref string) error {
	sc, name, derr := ResolveName(s.scope(sc), ref)
	if derr != nil {
		return derr
	}
	s.ctlM.Lock()
	defer s.ctlM.Unlock()
	f, rev, err := s.load(ctx, sc, name)
	if err != nil {
		return err
	}
	deletes := []string{fnKey(sc, name)}
	if f.CodeKey != "" && !s.codeShared(ctx, f) {
		deletes = append(deletes, f.CodeKey)
	}
	ok, _, cerr := s.meta.Commit(ctx, map[string]uint64{fnKey(sc, name): rev}, nil, deletes)
	if cerr != nil {
		return &Error{Kind: KindInternal, Err: cerr}
	}
	if !ok {
		return errorf(KindConflict, "The function %s was changed while being deleted; retry.", name)
	}
	s.dropPool(f.ARN())
	return nil
}

// codeShared reports whether another function stores the same code.
func (s *Service) codeShared(ctx context.Context, f *Function) bool {
	shared := false
	s.meta.Scan(ctx, prefixFunctions, func(key string, value []byte, _ uint64) error {
		var o Function
		if json.Unmarshal(value, &o) == nil && o.CodeKey == f.CodeKey && o.ARN() != f.ARN() {
			shared = true
		}
		return nil
	})
	return shared
}

// ConfigUpdate is UpdateFunctionConfiguration's input; nil fields keep
// their value.
type ConfigUpdate struct {
	Description, Handler, Role, Runtime *string
	Timeout, MemorySize                 *int
	Environment                         map[string]string
	EnvironmentSet                      bool
}

// UpdateConfiguration changes a function's configuration.
func (s *Service) UpdateConfiguration(ctx context.Context, sc Scope, ref string, u ConfigUpdate) (*Function, error) {
	return s.update(ctx, sc, ref, func(f *Function) error {
		if u.Runtime != nil && *u.Runtime != f.Runtime {
			if f.Kind == KindURL || *u.Runtime != RuntimeJQ {
				return errorf(KindUnsupported, "Changing Runtime from %q to %q is not served by this endpoint.", f.Runtime, *u.Runtime)
			}
		}
		if u.Handler != nil && *u.Handler != f.Handler && f.Kind == KindJQ {
			code, _, err := s.meta.Get(ctx, f.CodeKey)
			if err != nil {
				return &Error{Kind: KindInternal, Err: err}
			}
			src, err := jqSource(code, *u.Handler)
			if err != nil {
				return err
			}
			if _, err := compileJQ(src); err != nil {
				return errorf(KindInvalidParameter, "The jq program %s does not compile: %v", *u.Handler, err)
			}
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&f.Description, u.Description)
		set(&f.Handler, u.Handler)
		set(&f.Role, u.Role)
		if u.Timeout != nil {
			f.Timeout = *u.Timeout
		}
		if u.MemorySize != nil {
			f.MemorySize = *u.MemorySize
		}
		if u.EnvironmentSet {
			f.Environment = u.Environment
		}
		return nil
	}, nil)
}

// SetConcurrency sets (n != nil) or removes a function's reserved
// concurrency: the size of its process pool; 0 throttles it.
func (s *Service) SetConcurrency(ctx context.Context, sc Scope, ref string, n *int) (*Function, error) {
	return s.update(ctx, sc, ref, func(f *Function) error {
		f.ReservedConcurrency = n
		return nil
	}, nil)
}

// Tag adds tags to and removes keys from a function (by ARN or name).
func (s *Service) Tag(ctx context.Context, sc Scope, ref string, add map[string]string, remove []string) (*Function, error) {
	return s.update(ctx, sc, ref, func(f *Function) error {
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		for k, v := range add {
			f.Tags[k] = v
		}
		for _, k := range remove {
			delete(f.Tags, k)
		}
		return nil
	}, nil)
}

// UpdateCode replaces a function's code (a zip for jq, a URL for url).
func (s *Service) UpdateCode(ctx context.Context, sc Scope, ref string, zipFile []byte, imageURI string) (*Function, error) {
	var code []byte
	return s.update(ctx, sc, ref, func(f *Function) error {
		var err error
		code, err = s.prepareCode(f, zipFile, imageURI)
		return err
	}, func(f *Function, puts map[string][]byte) {
		if code != nil {
			puts[f.CodeKey] = code
		}
	})
}

func (s *Service) update(ctx context.Context, sc Scope, ref string, change func(*Function) error, more func(*Function, map[string][]byte)) (*Function, error) {
	sc, name, derr := ResolveName(s.scope(sc), ref)
	if derr != nil {
		return nil, derr
	}
	s.ctlM.Lock()
	defer s.ctlM.Unlock()
	f, rev, err := s.load(ctx, sc, name)
	if err != nil {
		return nil, err
	}
	oldCode := f.CodeKey
	if err := change(f); err != nil {
		return nil, err
	}
	f.LastModified = s.cfg.Now().UTC()
	f.RevisionID = newID()
	b, _ := json.Marshal(f)
	puts := map[string][]byte{fnKey(sc, name): b}
	if more != nil {
		more(f, puts)
	}
	var deletes []string
	if oldCode != "" && oldCode != f.CodeKey {
		old := *f
		old.CodeKey = oldCode
		if !s.codeShared(ctx, &old) {
			deletes = append(deletes, oldCode)
		}
	}
	ok, _, cerr := s.meta.Commit(ctx, map[string]uint64{fnKey(sc, name): rev}, puts, deletes)
	if cerr != nil {
		return nil, &Error{Kind: KindInternal, Err: cerr}
	}
	if !ok {
		return nil, errorf(KindConflict, "The function %s was changed concurrently; retry.", name)
	}
	return f, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
