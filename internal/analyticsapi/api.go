// Package analyticsapi owns the Kinesis Data Analytics wire APIs (AWS JSON
// 1.1, signing name kinesisanalytics): all 20 operations of the SQL API
// (KinesisAnalytics_20150814) and the v2 API (KinesisAnalytics_20180523)
// for RuntimeEnvironment SQL-1_0 mapped onto the same applications, with
// input shapes and validation from AWS's published models
// (internal/awsmodel/analyticsmodel, analyticsv2model), the handlers over
// the analytics domain, and the one table that maps domain error kinds to
// AWS exceptions. Both APIs share one signing name, so they are served by
// one router endpoint that picks the API by the X-Amz-Target prefix.
package analyticsapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel"
	"github.com/rheos/rheos/internal/awsmodel/analyticsmodel"
	"github.com/rheos/rheos/internal/awsmodel/analyticsv2model"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/jsonrpc"
)

// SigningName is the SigV4 service name of both Analytics APIs.
const SigningName = "kinesisanalytics"

// Target prefixes of the two APIs.
const (
	TargetPrefixV1 = "KinesisAnalytics_20150814"
	TargetPrefixV2 = "KinesisAnalytics_20180523"
)

// The Kinesis Analytics exceptions. The models give them no status: they
// are 400s, except ServiceUnavailableException, a retryable 503.
var (
	exResourceNotFound       = awserr.Exception{Name: "ResourceNotFoundException", Status: 400}
	exResourceInUse          = awserr.Exception{Name: "ResourceInUseException", Status: 400}
	exInvalidArgument        = awserr.Exception{Name: "InvalidArgumentException", Status: 400}
	exConcurrentModification = awserr.Exception{Name: "ConcurrentModificationException", Status: 400}
	exCodeValidation         = awserr.Exception{Name: "CodeValidationException", Status: 400}
	exLimitExceeded          = awserr.Exception{Name: "LimitExceededException", Status: 400}
	exUnsupportedOperation   = awserr.Exception{Name: "UnsupportedOperationException", Status: 400}
	exTooManyTags            = awserr.Exception{Name: "TooManyTagsException", Status: 400}
	exUnableToDetectSchema   = awserr.Exception{Name: "UnableToDetectSchemaException", Status: 400}
	exInvalidConfiguration   = awserr.Exception{Name: "InvalidApplicationConfigurationException", Status: 400}
	exThroughputExceeded     = awserr.Exception{Name: "ResourceProvisionedThroughputExceededException", Status: 400}
	exInvalidRequest         = awserr.Exception{Name: "InvalidRequestException", Status: 400} // v2 only
	exServiceUnavailable     = awserr.Exception{Name: "ServiceUnavailableException", Status: 503, Retryable: true}

	exceptionOf = map[analytics.Kind]awserr.Exception{
		analytics.KindNotFound:               exResourceNotFound,
		analytics.KindInUse:                  exResourceInUse,
		analytics.KindInvalidArgument:        exInvalidArgument,
		analytics.KindConcurrentModification: exConcurrentModification,
		analytics.KindCodeValidation:         exCodeValidation,
		analytics.KindLimitExceeded:          exLimitExceeded,
		analytics.KindTooManyTags:            exTooManyTags,
		analytics.KindUnsupported:            exUnsupportedOperation,
		analytics.KindUnableToDetectSchema:   exUnableToDetectSchema,
		analytics.KindInvalidConfiguration:   exInvalidConfiguration,
		analytics.KindUnavailable:            exServiceUnavailable,
		analytics.KindInternal:               awserr.InternalFailure,
	}
)

// Exceptions is the catalog of every exception the Analytics APIs answer.
var Exceptions = awserr.NewCatalog(SigningName, exResourceNotFound, exResourceInUse, exInvalidArgument,
	exConcurrentModification, exCodeValidation, exLimitExceeded, exUnsupportedOperation, exTooManyTags,
	exUnableToDetectSchema, exInvalidConfiguration, exThroughputExceeded, exInvalidRequest, exServiceUnavailable)

type handler func(context.Context, *awsproto.Call) (any, error)

type api struct {
	svc            *analytics.Service
	defaultAccount string
}

// New returns the router endpoint serving both Analytics APIs over svc.
func New(svc *analytics.Service, defaultAccount string) (awsproto.Endpoint, error) {
	a := &api{svc: svc, defaultAccount: defaultAccount}
	v1, err := a.service(analyticsmodel.Model, a.v1Handlers(), nil)
	if err != nil {
		return awsproto.Endpoint{}, err
	}
	v2, err := a.service(analyticsv2model.Model, a.v2Handlers(), a.v2Unsupported)
	if err != nil {
		return awsproto.Endpoint{}, err
	}
	return awsproto.Endpoint{SigningName: SigningName, TargetPrefixes: []string{TargetPrefixV1, TargetPrefixV2},
		Handler: byTarget{v1: v1, v2: v2}}, nil
}

// service builds one API's operations from its model; an operation with no
// handler gets fallback (nil: a missing handler is a programming error).
func (a *api) service(m *awsmodel.Service, handlers map[string]handler, fallback func(op string) handler) (*jsonrpc.Service, error) {
	ops := map[string]*jsonrpc.Operation{}
	for name, op := range m.Operations {
		h, ok := handlers[name]
		if !ok {
			if fallback == nil {
				return nil, errors.New("analyticsapi: no handler for " + m.TargetPrefix + "." + name)
			}
			h = fallback(name)
		}
		fields, err := awsproto.FieldsFromModel(m, op.Input)
		if err != nil {
			return nil, err
		}
		ops[name] = &jsonrpc.Operation{Input: fields, Handle: a.wrap(name, h)}
	}
	return &jsonrpc.Service{SigningName: SigningName, TargetPrefix: m.TargetPrefix, Operations: ops}, nil
}

// byTarget sends each request to the API its X-Amz-Target names (v1 for
// anything else, which then answers in its protocol).
type byTarget struct{ v1, v2 *jsonrpc.Service }

func (b byTarget) pick(r *http.Request) *jsonrpc.Service {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), TargetPrefixV2+".") {
		return b.v2
	}
	return b.v1
}

func (b byTarget) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	b.pick(r).ServeAWS(w, r, req)
}

func (b byTarget) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	b.pick(r).WriteError(w, r, e)
}

// wrap authorizes the call on the application it names and maps domain
// errors.
func (a *api) wrap(op string, h handler) handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Authorize != nil {
			resource := "*"
			if name := str(c, "ApplicationName"); name != "" {
				sc := a.scope(c)
				resource = (&analytics.Application{Name: name, Account: sc.Account, Region: sc.Region}).ARN()
			} else if arn := str(c, "ResourceARN"); arn != "" && op != "DiscoverInputSchema" {
				resource = arn
			}
			if aerr := c.Authorize(ctx, "kinesisanalytics:"+op, resource); aerr != nil {
				return nil, aerr
			}
		}
		out, err := h(ctx, c)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

func toAWS(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var de *analytics.Error
	if errors.As(err, &de) {
		ex, ok := exceptionOf[de.Kind]
		if !ok {
			ex = awserr.InternalFailure
		}
		msg := de.Msg
		if ex.Name == awserr.InternalFailure.Name {
			msg = ""
		}
		return &awserr.Error{Exception: ex, Message: msg, Cause: err}
	}
	return &awserr.Error{Exception: awserr.InternalFailure, Cause: err}
}

func (a *api) scope(c *awsproto.Call) analytics.Scope {
	acct := c.Account
	if acct == "" {
		acct = a.defaultAccount
	}
	return analytics.Scope{Account: acct, Region: c.Region}
}

// ref resolves a ResourceARN naming an application of the caller's
// account.
func (a *api) ref(c *awsproto.Call) (analytics.AppRef, error) {
	arn := str(c, "ResourceARN")
	ref, ok := analytics.ParseARN(arn)
	if !ok {
		return ref, awserr.New(exInvalidArgument, "ResourceARN "+arn+" is not a Kinesis Analytics application ARN.")
	}
	if sc := a.scope(c); ref.Account != sc.Account {
		return ref, awserr.New(exResourceNotFound, "Application "+ref.Name+" not found in account "+sc.Account+".")
	}
	return ref, nil
}

func str(c *awsproto.Call, k string) string { s, _ := c.Input[k].(string); return s }

func intIn(c *awsproto.Call, k string, def int64) int64 {
	if v, ok := c.Input[k].(int64); ok {
		return v
	}
	return def
}

func mapIn(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }

// decode converts checked input (maps of the model's members) into a
// domain type carrying the same member names.
func decode(v, out any) error {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return awserr.New(exInvalidArgument, "Invalid input: "+err.Error())
	}
	return nil
}

func seconds(ms int64) float64 { return float64(ms) / 1000 }

func tagsIn(c *awsproto.Call) ([]analytics.Tag, error) {
	var tags []analytics.Tag
	return tags, decode(c.Input["Tags"], &tags)
}

func (a *api) tagResource(ctx context.Context, c *awsproto.Call) (any, error) {
	ref, err := a.ref(c)
	if err != nil {
		return nil, err
	}
	tags, err := tagsIn(c)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, a.svc.Tag(ctx, ref, tags)
}

func (a *api) untagResource(ctx context.Context, c *awsproto.Call) (any, error) {
	ref, err := a.ref(c)
	if err != nil {
		return nil, err
	}
	var keys []string
	if err := decode(c.Input["TagKeys"], &keys); err != nil {
		return nil, err
	}
	return map[string]any{}, a.svc.Untag(ctx, ref, keys)
}

func (a *api) listTags(ctx context.Context, c *awsproto.Call) (any, error) {
	ref, err := a.ref(c)
	if err != nil {
		return nil, err
	}
	tags, err := a.svc.Tags(ctx, ref)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": tags}, nil
}

// discover serves DiscoverInputSchema for both APIs (v2 names the S3
// role in ServiceExecutionRole; neither role is assumed here).
func (a *api) discover(ctx context.Context, c *awsproto.Call) (any, error) {
	in := analytics.DiscoverInput{ResourceARN: str(c, "ResourceARN")}
	if p := mapIn(c.Input, "InputStartingPositionConfiguration"); p != nil {
		in.Position, _ = p["InputStartingPosition"].(string)
	}
	if s3 := mapIn(c.Input, "S3Configuration"); s3 != nil {
		in.BucketARN, _ = s3["BucketARN"].(string)
		in.FileKey, _ = s3["FileKey"].(string)
	}
	if p := mapIn(c.Input, "InputProcessingConfiguration"); p != nil {
		in.Processing = &analytics.Processing{}
		if err := decode(p, in.Processing); err != nil {
			return nil, err
		}
	}
	d, err := a.svc.Discover(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"InputSchema": d.InputSchema, "ParsedInputRecords": d.ParsedInputRecords,
		"RawInputRecords": d.RawInputRecords, "ProcessedInputRecords": d.ProcessedInputRecords}, nil
}

// The description shapes (…Description members) of both APIs.

func resourceDesc(r *analytics.Resource) map[string]any {
	m := map[string]any{"ResourceARN": r.ResourceARN}
	if r.RoleARN != "" {
		m["RoleARN"] = r.RoleARN
	}
	return m
}

func inputDescs(a *analytics.Application) []any {
	out := []any{}
	for _, in := range a.Inputs {
		d := map[string]any{"InputId": in.InputID, "NamePrefix": in.NamePrefix, "InAppStreamNames": in.InAppStreamNames,
			"InputSchema": in.InputSchema, "InputParallelism": in.InputParallelism}
		if in.KinesisStreamsInput != nil {
			d["KinesisStreamsInputDescription"] = resourceDesc(in.KinesisStreamsInput)
		}
		if in.KinesisFirehoseInput != nil {
			d["KinesisFirehoseInputDescription"] = resourceDesc(in.KinesisFirehoseInput)
		}
		if p := in.InputProcessingConfiguration; p != nil && p.InputLambdaProcessor != nil {
			d["InputProcessingConfigurationDescription"] = map[string]any{"InputLambdaProcessorDescription": resourceDesc(p.InputLambdaProcessor)}
		}
		if in.StartingPosition != nil {
			d["InputStartingPositionConfiguration"] = in.StartingPosition
		}
		out = append(out, d)
	}
	return out
}

func outputDescs(a *analytics.Application) []any {
	out := []any{}
	for _, o := range a.Outputs {
		d := map[string]any{"OutputId": o.OutputID, "Name": o.Name, "DestinationSchema": o.DestinationSchema}
		if o.KinesisStreamsOutput != nil {
			d["KinesisStreamsOutputDescription"] = resourceDesc(o.KinesisStreamsOutput)
		}
		if o.KinesisFirehoseOutput != nil {
			d["KinesisFirehoseOutputDescription"] = resourceDesc(o.KinesisFirehoseOutput)
		}
		if o.LambdaOutput != nil {
			d["LambdaOutputDescription"] = resourceDesc(o.LambdaOutput)
		}
		out = append(out, d)
	}
	return out
}

func referenceDescs(a *analytics.Application) []any {
	out := []any{}
	for _, r := range a.References {
		out = append(out, map[string]any{"ReferenceId": r.ReferenceID, "TableName": r.TableName,
			"S3ReferenceDataSourceDescription": r.S3ReferenceDataSource, "ReferenceSchema": r.ReferenceSchema})
	}
	return out
}

func loggingDescs(a *analytics.Application) []any {
	out := []any{}
	for _, l := range a.Logging {
		out = append(out, l)
	}
	return out
}
