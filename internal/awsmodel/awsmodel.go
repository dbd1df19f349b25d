// Package awsmodel owns the types of an AWS service model as Rheos needs it:
// a service's identity and protocol, its operations (HTTP binding, input and
// output shapes, the exceptions each may return) and its shapes with AWS's
// constraints (required members, min/max, pattern, enum values, member
// locations, streaming and event-stream traits). The models themselves are
// generated from AWS's published models (botocore's service-2.json) into one
// subpackage per service (kinesismodel, firehosemodel, ...) by ./gen.
//
// The package is data and lookup helpers only: it imports nothing but the
// standard library, knows no wire protocol, and decodes or validates no
// request. Shapes refer to each other by name (as the published models do),
// so recursive shapes need no pointers and a model is a plain value literal.
// A Service is immutable after initialisation and safe for concurrent reads.
package awsmodel

//go:generate go run ./gen

import (
	"fmt"
	"sort"
)

// Protocol is a service's wire protocol, as the model's metadata names it.
type Protocol string

// Protocols of the services Rheos models.
const (
	// JSON is AWS JSON 1.0/1.1: POST / with an X-Amz-Target header naming
	// TargetPrefix.Operation and the input as a JSON body.
	JSON Protocol = "json"
	// RESTJSON binds members to the URI, query string and headers and
	// carries the rest (or the payload member) as a JSON body.
	RESTJSON Protocol = "rest-json"
	// RESTXML is REST-JSON's binding with XML bodies (S3).
	RESTXML Protocol = "rest-xml"
)

// Type is a shape's type, spelled as in the model.
type Type string

// Shape types.
const (
	Structure Type = "structure"
	List      Type = "list"
	Map       Type = "map"
	String    Type = "string"
	Integer   Type = "integer"
	Long      Type = "long"
	Boolean   Type = "boolean"
	Timestamp Type = "timestamp"
	Blob      Type = "blob"
	Double    Type = "double"
	Float     Type = "float"
)

// Location is where a REST request or response carries a member (the
// model's "location" trait). JSON-protocol members are all in the body.
type Location string

// Member locations.
const (
	Body       Location = ""            // the body (or the payload member's body)
	URI        Location = "uri"         // a {Name} or greedy {Name+} label of the request URI
	Query      Location = "querystring" // a query-string parameter (a map: every parameter)
	Header     Location = "header"      // one HTTP header
	Headers    Location = "headers"     // a map of headers sharing the LocationName prefix
	StatusCode Location = "statusCode"  // the response's HTTP status
)

// Service is one service's model.
type Service struct {
	// Name is the model's name in botocore (its data directory), e.g.
	// "kinesis" or "kinesis-video-archived-media".
	Name string
	// ID is the model's serviceId, e.g. "Kinesis Video Archived Media".
	ID string
	// FullName is the model's serviceFullName, e.g. "Amazon Kinesis".
	FullName string
	// APIVersion is the model's API version, e.g. "2013-12-02".
	APIVersion string
	// Protocol is the wire protocol.
	Protocol Protocol
	// SigningName is the SigV4 service name of the credential scope: the
	// model's signingName, or its endpointPrefix when it gives none (the
	// rule the SDKs apply).
	SigningName string
	// EndpointPrefix is the model's endpointPrefix (the host name's
	// service part).
	EndpointPrefix string
	// TargetPrefix is the X-Amz-Target prefix of a JSON-protocol service
	// (e.g. "Kinesis_20131202"); empty for REST protocols.
	TargetPrefix string
	// JSONVersion is the JSON protocol version ("1.0", "1.1"), when the
	// model gives one; it sets the Content-Type application/x-amz-json-1.1.
	JSONVersion string
	// Operations are the operations modelled, by name.
	Operations map[string]*Operation
	// Shapes are the shapes the operations reach (inputs, outputs and
	// errors, transitively), by name.
	Shapes map[string]*Shape
	// Omitted lists, sorted, the operations of the published model that
	// were left out of this one (it is restricted to what Rheos serves);
	// empty when the model is complete.
	Omitted []string
}

// Operation is one operation of a service.
type Operation struct {
	// Name is the operation's name, e.g. "PutRecords".
	Name string
	// Method and RequestURI are the HTTP binding ("POST", "/" for the JSON
	// protocol; e.g. "PUT", "/{Bucket}/{Key+}?uploads" for REST ones).
	Method, RequestURI string
	// ResponseCode is the success status the model states; 0 when it
	// states none (see SuccessCode).
	ResponseCode int
	// Input and Output name the input and output shapes; empty when the
	// operation has none.
	Input, Output string
	// Errors name the exception shapes the operation may return, in model
	// order.
	Errors []string
}

// SuccessCode is the HTTP status of a successful response: ResponseCode,
// or 200 when the model states none.
func (o *Operation) SuccessCode() int {
	if o.ResponseCode != 0 {
		return o.ResponseCode
	}
	return 200
}

// Shape is one named shape.
type Shape struct {
	// Name is the shape's name in the model.
	Name string
	// Type is the shape's type.
	Type Type
	// Members are a structure's members, in model order.
	Members []Member
	// Payload names the member carried as the whole body of a REST
	// request or response (a structure, a blob or a streaming blob).
	Payload string
	// Min and Max bound a string's length in characters, a blob's in
	// bytes, a list's or map's number of entries, or a number's value;
	// nil when the model gives no bound.
	Min, Max *int64
	// Pattern is the regular expression a string must match, as the model
	// spells it (unanchored unless the model anchors it).
	Pattern string
	// Enum lists a string's allowed values in model order.
	Enum []string
	// ListMember is a list's element.
	ListMember *Ref
	// Key and Value are a map's key and value.
	Key, Value *Ref
	// Streaming marks a blob sent or received as a stream of unknown
	// length (GetMedia's Payload, Invoke's response stream).
	Streaming bool
	// EventStream marks a union of events sent as an event stream
	// (SubscribeToShard's output); Event marks one of its events.
	EventStream, Event bool
	// Union marks a structure of which exactly one member is set.
	Union bool
	// Document marks a structure holding untyped JSON.
	Document bool
	// Exception marks an error shape; Fault marks a server-side one.
	Exception, Fault bool
	// ErrorStatus is the HTTP status of an error shape when the model
	// states it (error.httpStatusCode); 0 otherwise.
	ErrorStatus int
	// SenderFault is the model's error.senderFault (the caller is at
	// fault).
	SenderFault bool
	// TimestampFormat overrides a timestamp's protocol default
	// ("iso8601", "rfc822", "unixTimestamp").
	TimestampFormat string
	// Flattened marks a list serialised without a wrapper element (XML).
	Flattened bool
	// LocationName is the shape's XML element name when it differs from
	// the member's name.
	LocationName string
	// XMLNamespace is the XML namespace URI of the shape's element.
	XMLNamespace string
}

// Ref names the shape of a list element or a map key or value.
type Ref struct {
	// Shape is the referenced shape's name.
	Shape string
	// LocationName is the element's XML name, when the model gives one.
	LocationName string
}

// Member is one member of a structure.
type Member struct {
	// Name is the member's name (its JSON key).
	Name string
	// Shape is the member's shape's name.
	Shape string
	// Required is true when the structure's "required" list names the
	// member.
	Required bool
	// Location is where a REST message carries the member.
	Location Location
	// LocationName is the member's name on the wire where it differs from
	// Name: a URI label, query parameter, header (or header prefix) or XML
	// element name.
	LocationName string
	// Streaming marks a streaming blob member.
	Streaming bool
	// EventPayload marks the member of an event carried as the event's
	// payload.
	EventPayload bool
	// IdempotencyToken marks a member clients fill with a fresh token.
	IdempotencyToken bool
	// Flattened marks a list member serialised without a wrapper (XML).
	Flattened bool
	// XMLAttribute marks a member serialised as an XML attribute.
	XMLAttribute bool
	// XMLNamespace is the XML namespace URI of the member's element.
	XMLNamespace string
}

// Int64 returns a pointer to v (for Min and Max in model literals).
func Int64(v int64) *int64 { return &v }

// Operation returns the named operation, or nil.
func (s *Service) Operation(name string) *Operation { return s.Operations[name] }

// Shape returns the named shape, or nil (also for the empty name of an
// operation without input or output).
func (s *Service) Shape(name string) *Shape { return s.Shapes[name] }

// OperationNames returns the names of the modelled operations, sorted.
func (s *Service) OperationNames() []string {
	names := make([]string, 0, len(s.Operations))
	for n := range s.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Input returns the input shape of the named operation, or nil when there
// is no such operation or it has no input.
func (s *Service) Input(op string) *Shape {
	o := s.Operations[op]
	if o == nil {
		return nil
	}
	return s.Shapes[o.Input]
}

// ErrorStatus returns the HTTP status the model states for the named
// exception (its error.httpStatusCode), and whether it states one.
func (s *Service) ErrorStatus(exception string) (int, bool) {
	sh := s.Shapes[exception]
	if sh == nil || sh.ErrorStatus == 0 {
		return 0, false
	}
	return sh.ErrorStatus, true
}

// Member returns the named member of a structure and whether it exists.
func (sh *Shape) Member(name string) (Member, bool) {
	for _, m := range sh.Members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// Check verifies that the model is closed and consistent: every operation
// is filed under its name, every shape it names exists, errors are
// exception shapes, structures' member shapes and payloads exist, lists
// and maps have their element shapes. It returns the first problem found.
func (s *Service) Check() error {
	ref := func(where, name string) error {
		if name == "" {
			return fmt.Errorf("%s: %s: empty shape name", s.Name, where)
		}
		if s.Shapes[name] == nil {
			return fmt.Errorf("%s: %s: shape %q is not in the model", s.Name, where, name)
		}
		return nil
	}
	for _, name := range s.OperationNames() {
		o := s.Operations[name]
		if o.Name != name {
			return fmt.Errorf("%s: operation %q filed as %q", s.Name, o.Name, name)
		}
		for _, n := range []string{o.Input, o.Output} {
			if n != "" {
				if err := ref("operation "+name, n); err != nil {
					return err
				}
			}
		}
		for _, e := range o.Errors {
			if err := ref("operation "+name+" errors", e); err != nil {
				return err
			}
			if !s.Shapes[e].Exception {
				return fmt.Errorf("%s: operation %s: error %q is not an exception shape", s.Name, name, e)
			}
		}
	}
	names := make([]string, 0, len(s.Shapes))
	for n := range s.Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		sh := s.Shapes[name]
		if sh.Name != name {
			return fmt.Errorf("%s: shape %q filed as %q", s.Name, sh.Name, name)
		}
		where := "shape " + name
		switch sh.Type {
		case Structure:
			for _, m := range sh.Members {
				if err := ref(where+" member "+m.Name, m.Shape); err != nil {
					return err
				}
			}
			if _, ok := sh.Member(sh.Payload); sh.Payload != "" && !ok {
				return fmt.Errorf("%s: %s: payload %q is not a member", s.Name, where, sh.Payload)
			}
		case List:
			if sh.ListMember == nil {
				return fmt.Errorf("%s: %s: list without a member shape", s.Name, where)
			}
			if err := ref(where+" member", sh.ListMember.Shape); err != nil {
				return err
			}
		case Map:
			if sh.Key == nil || sh.Value == nil {
				return fmt.Errorf("%s: %s: map without key or value shape", s.Name, where)
			}
			if err := ref(where+" key", sh.Key.Shape); err != nil {
				return err
			}
			if err := ref(where+" value", sh.Value.Shape); err != nil {
				return err
			}
		case String, Integer, Long, Boolean, Timestamp, Blob, Double, Float:
		default:
			return fmt.Errorf("%s: %s: unknown type %q", s.Name, where, sh.Type)
		}
	}
	return nil
}
