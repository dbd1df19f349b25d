// Package analytics owns Kinesis Data Analytics SQL applications'
// definitions and lifecycle: an application's code, its one streaming input
// (in-application stream names, parallelism, schema), up to three outputs,
// its reference data source, CloudWatch logging options and tags, with
// AWS's limits and identifiers (InputId "1.1", ApplicationVersionId 1, +1
// per change), optimistic concurrency on the version, and the statuses
// READY, STARTING, RUNNING, STOPPING, UPDATING and DELETING. Applications
// are stored in the metadata store under "analytics/", per account and
// region. It also infers input schemas from sample records
// (DiscoverInputSchema).
//
// It does not run SQL: starting, stopping and live updates go through the
// Runner the SQL engine supplies (a no-op that accepts until one is set),
// and code is checked by the CodeValidator the engine's parser supplies
// (anything is accepted until one is set). It knows no HTTP API and no other
// service: analyticsapi maps its error kinds to AWS's exceptions, and the
// server adapts Data Streams and S3 to the small readers it declares.
package analytics

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MetaStore is the durable metadata the service needs (metastore.Store
// satisfies it). Scan callbacks must not call the store.
type MetaStore interface {
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
}

// Scope is an account and a region (each has its own applications).
type Scope struct{ Account, Region string }

// AppRef names one application.
type AppRef struct{ Account, Region, Name string }

// Runner runs applications' SQL; the SQL engine implements it. Calls for
// one application are serialised by the service's status transitions (a
// Start is followed by Updates and one Stop); calls for different
// applications may run concurrently. Each call returns when the engine has
// acted on it.
type Runner interface {
	// Start starts app reading its input from positions (InputId →
	// NOW, TRIM_HORIZON or LAST_STOPPED_POINT; for the last, the positions
	// the runner saved with Service.SavePositions are in
	// app.StoppedPositions). The runner must not keep app's slices and maps
	// beyond the call without copying them.
	Start(ctx context.Context, app *Application, positions map[string]string) error
	// Stop stops the application (its positions saved before it returns).
	Stop(ctx context.Context, app AppRef) error
	// Update applies a changed definition to a running application.
	Update(ctx context.Context, app *Application) error
}

// CodeValidator checks application code; nil means valid. Errors should
// say where (a *CodeError has the line and column); their text becomes the
// CodeValidationException's message.
type CodeValidator func(code string) error

// CodeError is a code validation error at a position (1-based).
type CodeError struct {
	Line, Column int
	Msg          string
}

func (e *CodeError) Error() string {
	return fmt.Sprintf("Error at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// noRunner accepts everything: the control plane works before the SQL
// engine is attached.
type noRunner struct{}

func (noRunner) Start(context.Context, *Application, map[string]string) error { return nil }
func (noRunner) Stop(context.Context, AppRef) error                           { return nil }
func (noRunner) Update(context.Context, *Application) error                   { return nil }

// Kind classifies an error; analyticsapi maps each to one AWS exception.
type Kind int

// Error kinds.
const (
	KindNotFound Kind = iota + 1
	KindInUse
	KindInvalidArgument
	KindConcurrentModification
	KindCodeValidation
	KindLimitExceeded
	KindTooManyTags
	KindUnsupported
	KindUnableToDetectSchema
	KindInvalidConfiguration
	KindUnavailable
	KindInternal
)

// Error is a domain error.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

func internal(msg string, err error) *Error { return &Error{Kind: KindInternal, Msg: msg, Err: err} }

// Limits (AWS's, SQL developer guide).
const (
	MaxApplications = 50     // per account and region
	MaxCodeLength   = 102400 // characters
	MaxDescription  = 1024   // characters
	MaxInputs       = 1      // streaming sources
	MaxOutputs      = 3      // destinations
	MaxReferences   = 1      // reference data sources
	MaxTags         = 50     // user tags
	MaxParallelism  = 64     // in-application input streams
)

// Config configures the service.
type Config struct {
	// Account is the default account (calls with no account). Required.
	Account string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// ApplicationLimit is the number of applications per account and
	// region. Default MaxApplications.
	ApplicationLimit int
	// Streams reads Data Streams for DiscoverInputSchema; nil: discovery
	// from streams is unavailable.
	Streams StreamSampler
	// Objects reads S3 objects for DiscoverInputSchema; nil: discovery from
	// S3 is unavailable.
	Objects ObjectReader
}

// Service is the applications' control plane. It is safe for concurrent
// use: every change is a compare-and-swap commit of one application record.
type Service struct {
	cfg  Config
	meta MetaStore

	mu        sync.Mutex // guards runner and validator
	runner    Runner
	validator CodeValidator
}

// New returns the service over the metadata store.
func New(cfg Config, meta MetaStore) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ApplicationLimit <= 0 {
		cfg.ApplicationLimit = MaxApplications
	}
	return &Service{cfg: cfg, meta: meta, runner: noRunner{}}
}

// SetRunner attaches the SQL engine (nil: the no-op runner).
func (s *Service) SetRunner(r Runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r == nil {
		r = noRunner{}
	}
	s.runner = r
}

// SetCodeValidator attaches the code checker (nil: accept all code).
func (s *Service) SetCodeValidator(v CodeValidator) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validator = v
}

func (s *Service) getRunner() Runner {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runner
}

func (s *Service) validateCode(code string) error {
	s.mu.Lock()
	v := s.validator
	s.mu.Unlock()
	if len([]rune(code)) > MaxCodeLength {
		return errorf(KindInvalidArgument, "ApplicationCode must be at most %d characters long.", MaxCodeLength)
	}
	if v == nil || code == "" {
		return nil
	}
	if err := v(code); err != nil {
		return &Error{Kind: KindCodeValidation, Msg: err.Error(), Err: err}
	}
	return nil
}

func (s *Service) scope(sc Scope) Scope {
	if sc.Account == "" {
		sc.Account = s.cfg.Account
	}
	return sc
}
