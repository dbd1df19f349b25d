package modelgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/rheos/rheos/internal/awsmodel"
)

// The raw botocore model. Top level and metadata are read leniently (they
// carry much the server has no use for); operations, shapes, members and
// references that are kept are read strictly (see strict). Fields typed
// json.RawMessage and commented "ignored" are traits known to carry no
// meaning for a server; any other unknown key fails generation.
type rawModel struct {
	Metadata   rawMetadata                `json:"metadata"`
	Operations map[string]json.RawMessage `json:"operations"`
	Shapes     map[string]json.RawMessage `json:"shapes"`
}

type rawMetadata struct {
	APIVersion      string `json:"apiVersion"`
	EndpointPrefix  string `json:"endpointPrefix"`
	JSONVersion     string `json:"jsonVersion"`
	Protocol        string `json:"protocol"`
	ServiceFullName string `json:"serviceFullName"`
	ServiceID       string `json:"serviceId"`
	SigningName     string `json:"signingName"`
	TargetPrefix    string `json:"targetPrefix"`
}

type rawOperation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input  *rawRef  `json:"input"`
	Output *rawRef  `json:"output"`
	Errors []rawRef `json:"errors"`
	Doc    ignored  `json:"documentation"`
	DocURL ignored  `json:"documentationUrl"`
	Depr   ignored  `json:"deprecated"`
	DeprM  ignored  `json:"deprecatedMessage"`
	Static ignored  `json:"staticContextParams"` // SDK endpoint-resolution parameters
	RO     ignored  `json:"readonly"`
	Idem   ignored  `json:"idempotent"`
	Sum    ignored  `json:"httpChecksum"` // which checksum headers SDKs send; servers accept any
	Compr  ignored  `json:"requestcompression"`
}

type rawRef struct {
	Shape        string  `json:"shape"`
	LocationName string  `json:"locationName"`
	Doc          ignored `json:"documentation"`
}

type rawNamespace struct {
	URI string `json:"uri"`
}

type rawShape struct {
	Type            string        `json:"type"`
	Members         rawMembers    `json:"members"`
	Required        []string      `json:"required"`
	Min             *json.Number  `json:"min"`
	Max             *json.Number  `json:"max"`
	Pattern         string        `json:"pattern"`
	Enum            []string      `json:"enum"`
	Member          *rawRef       `json:"member"`
	Key             *rawRef       `json:"key"`
	Value           *rawRef       `json:"value"`
	Payload         string        `json:"payload"`
	Streaming       bool          `json:"streaming"`
	EventStream     bool          `json:"eventstream"`
	Event           bool          `json:"event"`
	Union           bool          `json:"union"`
	Document        bool          `json:"document"`
	Exception       bool          `json:"exception"`
	Fault           bool          `json:"fault"`
	Error           *rawError     `json:"error"`
	TimestampFormat string        `json:"timestampFormat"`
	Flattened       bool          `json:"flattened"`
	LocationName    string        `json:"locationName"`
	XMLNamespace    *rawNamespace `json:"xmlNamespace"`
	Doc             ignored       `json:"documentation"`
	Box             ignored       `json:"box"` // Java boxing
	Sensitive       ignored       `json:"sensitive"`
	Depr            ignored       `json:"deprecated"`
	DeprM           ignored       `json:"deprecatedMessage"`
	Synthetic       ignored       `json:"synthetic"`
}

// rawError is an exception's error trait. A "code" differing from the
// shape's name (the awsQuery protocols) is unknown on purpose: it would
// change the exception's name on the wire.
type rawError struct {
	HTTPStatusCode int  `json:"httpStatusCode"`
	SenderFault    bool `json:"senderFault"`
}

type rawMember struct {
	Shape            string        `json:"shape"`
	Location         string        `json:"location"`
	LocationName     string        `json:"locationName"`
	Streaming        bool          `json:"streaming"`
	EventPayload     bool          `json:"eventpayload"`
	IdempotencyToken bool          `json:"idempotencyToken"`
	Flattened        bool          `json:"flattened"`
	XMLAttribute     bool          `json:"xmlAttribute"`
	XMLNamespace     *rawNamespace `json:"xmlNamespace"`
	Doc              ignored       `json:"documentation"`
	Depr             ignored       `json:"deprecated"`
	DeprM            ignored       `json:"deprecatedMessage"`
	Box              ignored       `json:"box"`
	ContextParam     ignored       `json:"contextParam"` // SDK endpoint-resolution parameter
}

// ignored is a trait read and dropped.
type ignored = json.RawMessage

// rawMembers keeps a structure's members in model order, which Go maps
// lose.
type rawMembers struct {
	names  []string
	byName map[string]rawMember
}

func (r *rawMembers) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("members: not an object")
	}
	r.byName = map[string]rawMember{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("members: %w", err)
		}
		name, _ := t.(string)
		var m rawMember
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		if _, dup := r.byName[name]; dup {
			return fmt.Errorf("member %s twice", name)
		}
		r.names = append(r.names, name)
		r.byName[name] = m
	}
	return nil
}

// strict decodes v from b refusing unknown keys at every level.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var (
	protocols = map[string]awsmodel.Protocol{
		"json":      awsmodel.JSON,
		"rest-json": awsmodel.RESTJSON,
		"rest-xml":  awsmodel.RESTXML,
	}
	types     = map[string]awsmodel.Type{}
	locations = map[string]awsmodel.Location{}
)

func init() {
	for _, t := range []awsmodel.Type{awsmodel.Structure, awsmodel.List, awsmodel.Map, awsmodel.String,
		awsmodel.Integer, awsmodel.Long, awsmodel.Boolean, awsmodel.Timestamp, awsmodel.Blob,
		awsmodel.Double, awsmodel.Float} {
		types[string(t)] = t
	}
	for _, l := range []awsmodel.Location{awsmodel.Body, awsmodel.URI, awsmodel.Query,
		awsmodel.Header, awsmodel.Headers, awsmodel.StatusCode} {
		locations[string(l)] = l
	}
}

// Convert turns the botocore model raw (a service-2.json) into the
// awsmodel.Service of target t: t's operations (all when t lists none) and
// the shapes their inputs, outputs and errors reach.
func Convert(raw []byte, t Target) (*awsmodel.Service, error) {
	var m rawModel
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("modelgen: %s: %w", t.Service, err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("modelgen: %s: "+format, append([]any{t.Service}, args...)...)
	}
	md := m.Metadata
	proto, ok := protocols[md.Protocol]
	if !ok {
		return nil, fail("protocol %q is not one Rheos models", md.Protocol)
	}
	if md.APIVersion != t.Version {
		return nil, fail("model's apiVersion %q, target's %q", md.APIVersion, t.Version)
	}
	svc := &awsmodel.Service{
		Name:           t.Service,
		ID:             md.ServiceID,
		FullName:       md.ServiceFullName,
		APIVersion:     md.APIVersion,
		Protocol:       proto,
		SigningName:    md.SigningName,
		EndpointPrefix: md.EndpointPrefix,
		TargetPrefix:   md.TargetPrefix,
		JSONVersion:    md.JSONVersion,
		Operations:     map[string]*awsmodel.Operation{},
		Shapes:         map[string]*awsmodel.Shape{},
	}
	if svc.SigningName == "" {
		svc.SigningName = md.EndpointPrefix
	}

	keep := t.Operations
	if keep == nil {
		for name := range m.Operations {
			keep = append(keep, name)
		}
	}
	kept := map[string]bool{}
	for _, name := range keep {
		if kept[name] {
			return nil, fail("operation %s listed twice", name)
		}
		kept[name] = true
	}
	for name := range m.Operations {
		if !kept[name] {
			svc.Omitted = append(svc.Omitted, name)
		}
	}
	sort.Strings(svc.Omitted)
	sort.Strings(keep)

	var queue []string
	need := func(name string) {
		if _, seen := svc.Shapes[name]; !seen {
			svc.Shapes[name] = nil // placeholder until converted
			queue = append(queue, name)
		}
	}
	for _, name := range keep {
		b, ok := m.Operations[name]
		if !ok {
			return nil, fail("operation %s is not in the model", name)
		}
		var ro rawOperation
		if err := strict(b, &ro); err != nil {
			return nil, fail("operation %s: %v", name, err)
		}
		if ro.Name != name {
			return nil, fail("operation %s is named %q", name, ro.Name)
		}
		op := &awsmodel.Operation{
			Name:         name,
			Method:       ro.HTTP.Method,
			RequestURI:   ro.HTTP.RequestURI,
			ResponseCode: ro.HTTP.ResponseCode,
		}
		for _, r := range []struct {
			ref *rawRef
			to  *string
		}{{ro.Input, &op.Input}, {ro.Output, &op.Output}} {
			if r.ref == nil {
				continue
			}
			if r.ref.LocationName != "" {
				return nil, fail("operation %s: input or output with a locationName", name)
			}
			*r.to = r.ref.Shape
			need(r.ref.Shape)
		}
		for _, e := range ro.Errors {
			if e.LocationName != "" {
				return nil, fail("operation %s: error with a locationName", name)
			}
			op.Errors = append(op.Errors, e.Shape)
			need(e.Shape)
		}
		svc.Operations[name] = op
	}

	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		b, ok := m.Shapes[name]
		if !ok {
			return nil, fail("shape %s is referenced but not in the model", name)
		}
		sh, refs, err := convertShape(name, b)
		if err != nil {
			return nil, fail("shape %s: %v", name, err)
		}
		svc.Shapes[name] = sh
		for _, r := range refs {
			need(r)
		}
	}
	if err := svc.Check(); err != nil {
		return nil, fmt.Errorf("modelgen: %w", err)
	}
	return svc, nil
}

// convertShape converts one shape and returns the shapes it refers to.
func convertShape(name string, b []byte) (*awsmodel.Shape, []string, error) {
	var rs rawShape
	if err := strict(b, &rs); err != nil {
		return nil, nil, err
	}
	typ, ok := types[rs.Type]
	if !ok {
		return nil, nil, fmt.Errorf("type %q is not one Rheos models", rs.Type)
	}
	sh := &awsmodel.Shape{
		Name:            name,
		Type:            typ,
		Payload:         rs.Payload,
		Pattern:         rs.Pattern,
		Enum:            rs.Enum,
		Streaming:       rs.Streaming,
		EventStream:     rs.EventStream,
		Event:           rs.Event,
		Union:           rs.Union,
		Document:        rs.Document,
		Exception:       rs.Exception,
		Fault:           rs.Fault,
		TimestampFormat: rs.TimestampFormat,
		Flattened:       rs.Flattened,
		LocationName:    rs.LocationName,
	}
	if rs.XMLNamespace != nil {
		sh.XMLNamespace = rs.XMLNamespace.URI
	}
	if rs.Error != nil {
		sh.ErrorStatus = rs.Error.HTTPStatusCode
		sh.SenderFault = rs.Error.SenderFault
	}
	var err error
	if sh.Min, err = bound(rs.Min); err != nil {
		return nil, nil, fmt.Errorf("min: %w", err)
	}
	if sh.Max, err = bound(rs.Max); err != nil {
		return nil, nil, fmt.Errorf("max: %w", err)
	}
	var refs []string
	ref := func(r *rawRef) *awsmodel.Ref {
		if r == nil {
			return nil
		}
		refs = append(refs, r.Shape)
		return &awsmodel.Ref{Shape: r.Shape, LocationName: r.LocationName}
	}
	sh.ListMember = ref(rs.Member)
	sh.Key = ref(rs.Key)
	sh.Value = ref(rs.Value)
	required := map[string]bool{}
	for _, r := range rs.Required {
		if _, ok := rs.Members.byName[r]; !ok {
			return nil, nil, fmt.Errorf("required member %s is not a member", r)
		}
		required[r] = true
	}
	for _, mn := range rs.Members.names {
		rm := rs.Members.byName[mn]
		loc, ok := locations[rm.Location]
		if !ok {
			return nil, nil, fmt.Errorf("member %s: location %q is not one Rheos models", mn, rm.Location)
		}
		mem := awsmodel.Member{
			Name:             mn,
			Shape:            rm.Shape,
			Required:         required[mn],
			Location:         loc,
			LocationName:     rm.LocationName,
			Streaming:        rm.Streaming,
			EventPayload:     rm.EventPayload,
			IdempotencyToken: rm.IdempotencyToken,
			Flattened:        rm.Flattened,
			XMLAttribute:     rm.XMLAttribute,
		}
		if rm.XMLNamespace != nil {
			mem.XMLNamespace = rm.XMLNamespace.URI
		}
		sh.Members = append(sh.Members, mem)
		refs = append(refs, rm.Shape)
	}
	return sh, refs, nil
}

// bound converts a min or max. The models give integers (doubles' bounds
// as 0.0 or 100.0); a fractional bound fails rather than being rounded.
func bound(n *json.Number) (*int64, error) {
	if n == nil {
		return nil, nil
	}
	if v, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return &v, nil
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return nil, fmt.Errorf("%s is not an int64", n)
	}
	v := int64(f)
	return &v, nil
}
