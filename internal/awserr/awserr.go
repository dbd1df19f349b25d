// Package awserr owns how AWS exceptions are described: an exception's name,
// its HTTP status in each wire protocol and whether clients retry it, kept as
// data, and the exceptions every AWS front end shares (signature, protocol
// and internal errors). Each service declares its own exceptions in a Catalog
// in its API package: a REST-JSON service answers ResourceNotFoundException
// with 404 where Kinesis's JSON protocol answers 400. The package knows no
// service and no transport.
package awserr

import (
	"fmt"
	"sort"
)

// Protocol is an AWS wire protocol family, as far as error statuses differ.
type Protocol int

// Protocols.
const (
	// JSONRPC is AWS JSON 1.0/1.1 and CBOR 1.1 (X-Amz-Target): client
	// errors are 400 whatever their kind.
	JSONRPC Protocol = iota
	// REST covers REST-JSON and REST-XML: each exception has its own status.
	REST
)

// Exception is a catalog entry.
type Exception struct {
	Name string
	// Status is the HTTP status in the JSON-RPC protocols.
	Status int
	// RESTStatus is the HTTP status in the REST protocols; 0 means Status.
	RESTStatus int
	Retryable  bool
}

// StatusIn returns the exception's HTTP status in protocol p.
func (e Exception) StatusIn(p Protocol) int {
	if p == REST && e.RESTStatus != 0 {
		return e.RESTStatus
	}
	return e.Status
}

// The exceptions every AWS front end shares.
var (
	AccessDenied          = Exception{Name: "AccessDeniedException", Status: 400, RESTStatus: 403}
	InternalFailure       = Exception{Name: "InternalFailure", Status: 500, Retryable: true}
	Validation            = Exception{Name: "ValidationException", Status: 400}
	Serialization         = Exception{Name: "SerializationException", Status: 400}
	UnknownOperation      = Exception{Name: "UnknownOperationException", Status: 400, RESTStatus: 404}
	ServiceUnavailable    = Exception{Name: "ServiceUnavailable", Status: 503, Retryable: true}
	RequestEntityTooLarge = Exception{Name: "RequestEntityTooLarge", Status: 413}
	// The signature errors are 400 in the JSON and CBOR protocols (as
	// kinesalite recorded from AWS) and 403 in the REST protocols.
	MissingAuthenticationToken = Exception{Name: "MissingAuthenticationTokenException", Status: 400, RESTStatus: 403}
	IncompleteSignature        = Exception{Name: "IncompleteSignatureException", Status: 400, RESTStatus: 403}
	InvalidSignature           = Exception{Name: "InvalidSignatureException", Status: 400, RESTStatus: 403}
	UnrecognizedClient         = Exception{Name: "UnrecognizedClientException", Status: 400, RESTStatus: 403}
	// UnknownService answers a request whose credential scope, target or
	// path names no service this endpoint serves. AWS has no such answer
	// (each service has its own host name); the name follows its pattern.
	UnknownService = Exception{Name: "UnknownServiceException", Status: 400}
)

// Catalog is the set of exceptions one service may answer, by name.
type Catalog struct {
	service string
	byName  map[string]Exception
}

// NewCatalog returns the catalog of service holding the shared exceptions
// and those given. A name given twice is a programming error (panic).
func NewCatalog(service string, exceptions ...Exception) *Catalog {
	c := &Catalog{service: service, byName: map[string]Exception{}}
	for _, e := range []Exception{AccessDenied, InternalFailure, Validation, Serialization, UnknownOperation,
		ServiceUnavailable, RequestEntityTooLarge, MissingAuthenticationToken, IncompleteSignature,
		InvalidSignature, UnrecognizedClient, UnknownService} {
		c.byName[e.Name] = e
	}
	for _, e := range exceptions {
		if _, dup := c.byName[e.Name]; dup {
			panic(fmt.Sprintf("awserr: %s: exception %s declared twice", service, e.Name))
		}
		c.byName[e.Name] = e
	}
	return c
}

// Service is the name of the service the catalog belongs to.
func (c *Catalog) Service() string { return c.service }

// Lookup returns the exception named name.
func (c *Catalog) Lookup(name string) (Exception, bool) {
	e, ok := c.byName[name]
	return e, ok
}

// Names returns every exception name of the catalog, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.byName))
	for n := range c.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Error is an AWS exception with its message.
type Error struct {
	Exception
	Message string
	// Cause is an internal error behind the exception (logged, never sent).
	Cause error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error of the exception with a message.
func New(ex Exception, msg string) *Error { return &Error{Exception: ex, Message: msg} }
