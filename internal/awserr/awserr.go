// Package awserr owns the catalog of AWS exceptions Rheos can return: each
// exception's name, HTTP status and whether clients retry it, kept as data.
// It knows no service and no transport.
package awserr

// Exception is a catalog entry.
type Exception struct {
	Name      string
	Status    int
	Retryable bool
}

// The catalog.
var (
	AccessDenied                  = Exception{"AccessDeniedException", 400, false}
	ExpiredIterator               = Exception{"ExpiredIteratorException", 400, false}
	ExpiredNextToken              = Exception{"ExpiredNextTokenException", 400, false}
	InternalFailure               = Exception{"InternalFailure", 500, true}
	InvalidArgument               = Exception{"InvalidArgumentException", 400, false}
	LimitExceeded                 = Exception{"LimitExceededException", 400, true}
	ProvisionedThroughputExceeded = Exception{"ProvisionedThroughputExceededException", 400, true}
	ResourceInUse                 = Exception{"ResourceInUseException", 400, false}
	ResourceNotFound              = Exception{"ResourceNotFoundException", 400, false}
	Validation                    = Exception{"ValidationException", 400, false}
	Serialization                 = Exception{"SerializationException", 400, false}
	UnknownOperation              = Exception{"UnknownOperationException", 400, false}
	ServiceUnavailable            = Exception{"ServiceUnavailable", 503, true}
	// The signature errors are 400 in the JSON and CBOR protocols (as
	// kinesalite recorded from AWS); only non-JSON requests get the XML 403s.
	MissingAuthenticationToken = Exception{"MissingAuthenticationTokenException", 400, false}
	IncompleteSignature        = Exception{"IncompleteSignatureException", 400, false}
	InvalidSignature           = Exception{"InvalidSignatureException", 400, false}
	UnrecognizedClient         = Exception{"UnrecognizedClientException", 400, false}
	RequestEntityTooLarge      = Exception{"RequestEntityTooLarge", 413, false}
	DryRunOperation            = Exception{"DryRunOperationException", 400, false}
	KMSNotFound                = Exception{"KMSNotFoundException", 400, false}
	KMSAccessDenied            = Exception{"KMSAccessDeniedException", 400, false}
	KMSInvalidState            = Exception{"KMSInvalidStateException", 400, false}
)

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
