// Package functions owns Rheos's functions: a registry of functions (what
// the Lambda API creates, stored in the metadata store under "lambda/") and
// the one Invoker every caller goes through (the Lambda Invoke API now;
// event source mappings, Firehose processors and Analytics later), never a
// runtime directly. Kinds of function:
//
//   - url: any server speaking the Lambda Invoke contract (the Runtime
//     Interface Emulator, SAM local, another Lambda endpoint), declared as
//     PackageType Image with an http(s) ImageUri;
//   - jq: a jq program (gojq) run in-process on the event JSON, declared as
//     Runtime "rheos.jq" with the program in the code zip (Handler names the
//     file);
//   - zip (nodejs*, python*, provided*): a user's unchanged handler as a
//     warm subprocess behind a built-in Lambda Runtime API on its own
//     loopback listener (runtime.go), run only when the operator enables
//     process execution (--functions-exec).
//
// It knows no HTTP API and no AWS error envelope: it returns domain errors
// with a Kind that the API maps in one table.
package functions

import (
	"fmt"
	"time"
)

// Kind classifies a domain error; the API maps each to an exception.
type Kind int

// Error kinds.
const (
	KindNotFound Kind = iota + 1
	KindConflict
	KindInvalidParameter
	KindUnsupported // valid on AWS, not served by this Rheos
	KindTooLarge
	KindThrottled // reserved concurrency 0: every invocation is refused
	KindInternal
)

// Error is a domain error with the message AWS would give.
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

// Scope is where a function lives.
type Scope struct{ Account, Region string }

// Function kinds.
const (
	KindURL = "url"
	KindJQ  = "jq"
)

// RuntimeJQ is the Runtime that declares a jq function.
const RuntimeJQ = "rheos.jq"

// Function is a function's configuration as stored.
type Function struct {
	Name, Account, Region string
	Kind                  string // KindURL or KindJQ
	Runtime, Handler      string
	Role, Description     string
	PackageType           string // Zip or Image
	ImageURI              string // url kind
	Timeout               int    // seconds, 1–900
	MemorySize            int    // MB (stored only)
	Environment           map[string]string
	Architectures         []string
	CodeSHA256            string // base64 of the code's SHA-256, as Lambda reports it
	CodeSize              int64
	CodeKey               string // metadata key of the code (zip kinds)
	RevisionID            string
	LastModified          time.Time
	Tags                  map[string]string
	// ReservedConcurrency, when set, sizes the function's process pool
	// (PutFunctionConcurrency); 0 throttles every invocation.
	ReservedConcurrency *int `json:",omitempty"`
}

// ARN is the function's ARN.
func (f *Function) ARN() string {
	return "arn:aws:lambda:" + f.Region + ":" + f.Account + ":function:" + f.Name
}

// Result is what an invocation returned.
type Result struct {
	// Payload is the function's response, or its error object.
	Payload []byte
	// FunctionError is "" on success, "Unhandled" (or "Handled") when
	// Payload is an error object.
	FunctionError string
	// Log is the invocation's log (START/END/REPORT lines and the
	// function's output), for X-Amz-Log-Result.
	Log string
	// ExecutedVersion is "$LATEST".
	ExecutedVersion string
}
