package datastream

import "fmt"

// Kind classifies a domain error. The API layer maps each kind to an AWS
// exception in one table.
type Kind int

// Error kinds.
const (
	KindNotFound Kind = iota + 1
	KindInUse
	KindInvalidArgument
	KindLimitExceeded
	KindExpiredIterator
	KindExpiredNextToken
	KindValidation
	KindUnavailable // storage refuses writes (failed fsync, closing)
	KindThroughput  // a per-shard throughput limit was exceeded
	KindKMSNotFound
	KindKMSAccessDenied
	KindKMSInvalidState
	KindDryRun // the call would have succeeded; DryRun was set
	KindInternal
)

// Error is a domain error with the message AWS would give.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // underlying cause, if any
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

func notFound(name, account string) *Error {
	return errorf(KindNotFound, "Stream %s under account %s not found.", name, account)
}

func notActive(name, account, status string) *Error {
	return errorf(KindInUse, "Stream %s under account %s not ACTIVE, instead in state %s", name, account, status)
}

// dryRun is the answer to a data-plane call made with DryRun that would
// have succeeded.
func dryRun() *Error {
	return errorf(KindDryRun, "Request would have succeeded, but DryRun flag is set.")
}
