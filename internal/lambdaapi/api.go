// Package lambdaapi owns the Lambda API subset Rheos serves (REST-JSON,
// signing name "lambda", API version 2015-03-31) on the shared port:
// CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
// UpdateFunctionConfiguration, UpdateFunctionCode, DeleteFunction and
// Invoke. Routes, input members and constraints come from AWS's model
// (internal/awsmodel/lambdamodel); the exception catalog takes each
// exception's status from the model; one table maps the functions domain's
// error kinds to exceptions. It imports the protocol layer and its one
// domain, internal/functions.
package lambdaapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/lambdamodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/functions"
)

// SigningName is the SigV4 service name of the Lambda API.
const SigningName = "lambda"

// PathPrefixes route unsigned requests to Lambda.
var PathPrefixes = []string{"/2015-03-31/functions", "/2015-03-31/event-source-mappings", "/2017-03-31/tags", "/2017-10-31/functions", "/2019-09-30/functions"}

// exception returns the model's exception with its REST status.
func exception(name string) awserr.Exception { return restjson.ModelException(name, lambdamodel.Model) }

var (
	exResourceNotFound      = exception("ResourceNotFoundException")
	exResourceConflict      = exception("ResourceConflictException")
	exInvalidParameterValue = exception("InvalidParameterValueException")
	exRequestTooLarge       = exception("RequestTooLargeException")
	exService               = exception("ServiceException")
	exTooManyRequests       = exception("TooManyRequestsException")
)

// Exceptions is the catalog of the exceptions this API answers.
var Exceptions = awserr.NewCatalog(SigningName, exResourceNotFound, exResourceConflict, exInvalidParameterValue, exRequestTooLarge, exService, exTooManyRequests)

// exceptionOf is the one table from domain error kinds to exceptions.
var exceptionOf = map[functions.Kind]awserr.Exception{
	functions.KindNotFound:         exResourceNotFound,
	functions.KindConflict:         exResourceConflict,
	functions.KindInvalidParameter: exInvalidParameterValue,
	functions.KindUnsupported:      exInvalidParameterValue,
	functions.KindTooLarge:         exRequestTooLarge,
	functions.KindThrottled:        exTooManyRequests,
	functions.KindInternal:         exService,
}

func toAWS(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var de *functions.Error
	if errors.As(err, &de) {
		ex, ok := exceptionOf[de.Kind]
		if !ok {
			ex = exService
		}
		msg := de.Msg
		if ex.Status >= 500 {
			msg = ""
		}
		return &awserr.Error{Exception: ex, Message: msg, Cause: err}
	}
	return &awserr.Error{Exception: exService, Cause: err}
}

// API binds the functions service to the wire.
type API struct {
	svc            *functions.Service
	defaultAccount string
}

// New returns the REST-JSON service of the Lambda API.
func New(svc *functions.Service, defaultAccount string) *restjson.Service {
	a := &API{svc: svc, defaultAccount: defaultAccount}
	handlers := map[string]restjson.Handler{
		"CreateFunction":              a.createFunction,
		"GetFunction":                 a.getFunction,
		"GetFunctionConfiguration":    a.getFunctionConfiguration,
		"ListFunctions":               a.listFunctions,
		"UpdateFunctionConfiguration": a.updateFunctionConfiguration,
		"UpdateFunctionCode":          a.updateFunctionCode,
		"DeleteFunction":              a.deleteFunction,
		"Invoke":                      a.invoke,
		"CreateEventSourceMapping":    a.createEventSourceMapping,
		"GetEventSourceMapping":       a.getEventSourceMapping,
		"ListEventSourceMappings":     a.listEventSourceMappings,
		"UpdateEventSourceMapping":    a.updateEventSourceMapping,
		"DeleteEventSourceMapping":    a.deleteEventSourceMapping,
		"PutFunctionConcurrency":      a.putFunctionConcurrency,
		"GetFunctionConcurrency":      a.getFunctionConcurrency,
		"DeleteFunctionConcurrency":   a.deleteFunctionConcurrency,
		"TagResource":                 a.tagResource,
		"UntagResource":               a.untagResource,
		"ListTags":                    a.listTags,
	}
	for op, h := range handlers {
		handlers[op] = a.wrap(op, h)
	}
	routes, err := restjson.RoutesFromModel(lambdamodel.Model, handlers)
	if err != nil {
		panic(err) // the generated model and this table disagree: a build-time bug
	}
	for _, r := range routes {
		// Rheos's extension: the jq runtime is a Runtime value AWS's enum
		// does not list.
		for i := range r.Input {
			if f := &r.Input[i]; f.Name == "Runtime" && len(f.Shape.Enum) > 0 {
				sh := *f.Shape
				sh.Enum = append(slices.Clone(sh.Enum), functions.RuntimeJQ)
				f.Shape = &sh
			}
		}
		switch r.Op {
		case "CreateFunction", "UpdateFunctionCode":
			r.MaxBody = 70 << 20 // a 50 MB zip, base64-encoded in JSON
		case "Invoke":
			r.MaxBody = functions.MaxPayload + 1
		}
	}
	return restjson.New(SigningName, PathPrefixes, routes...)
}

// wrap authorizes the call and maps domain errors.
func (a *API) wrap(op string, h restjson.Handler) restjson.Handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Authorize != nil {
			if aerr := a.authorize(ctx, op, c); aerr != nil {
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

// authorize checks the call against the caller's permissions on what it
// acts on (issue 20): the function (FunctionName, or Resource for the tags
// operations), the event source mapping a UUID names (its account is the
// mapping's, so another account's mapping is out of reach), or "*" for
// account-level calls. An event source mapping reads its stream and writes
// failures to its destination with the creator's rights, so creating or
// changing one also needs the Kinesis read actions on the source stream
// (and DescribeStreamConsumer and SubscribeToShard on a consumer it reads
// through), PutRecord on a Kinesis destination, and s3:PutObject (on the
// bucket's objects) and s3:ListBucket on an S3 destination (AWS asks the
// same of the function's execution role).
func (a *API) authorize(ctx context.Context, op string, c *awsproto.Call) *awserr.Error {
	resource := "*"
	name, _ := c.Input["FunctionName"].(string)
	if name == "" {
		name, _ = c.Input["Resource"].(string) // the tags operations
	}
	if uuid, _ := c.Input["UUID"].(string); uuid != "" {
		if m, _, err := a.svc.GetMapping(ctx, uuid); err == nil {
			resource = m.ARN()
		}
	} else if name != "" {
		if sc, n, derr := functions.ResolveName(a.scope(c), name); derr == nil {
			resource = "arn:aws:lambda:" + sc.Region + ":" + sc.Account + ":function:" + n
		}
	}
	if aerr := c.Authorize(ctx, "lambda:"+op, resource); aerr != nil {
		return aerr
	}
	if op != "CreateEventSourceMapping" && op != "UpdateEventSourceMapping" {
		return nil
	}
	if src, _ := c.Input["EventSourceArn"].(string); src != "" {
		stream, _, consumer := strings.Cut(src, "/consumer/")
		for _, action := range []string{"kinesis:DescribeStream", "kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"} {
			if aerr := c.Authorize(ctx, action, stream); aerr != nil {
				return aerr
			}
		}
		if consumer { // an enhanced fan-out consumer: its own actions on its ARN
			for _, action := range []string{"kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"} {
				if aerr := c.Authorize(ctx, action, src); aerr != nil {
					return aerr
				}
			}
		}
	}
	if dc, ok := c.Input["DestinationConfig"].(map[string]any); ok {
		if of, ok := dc["OnFailure"].(map[string]any); ok {
			dest, _ := of["Destination"].(string)
			switch {
			case strings.Contains(dest, ":kinesis:"):
				if aerr := c.Authorize(ctx, "kinesis:PutRecord", dest); aerr != nil {
					return aerr
				}
			case strings.HasPrefix(dest, "arn:aws:s3:::"):
				// AWS asks s3:PutObject and s3:ListBucket of the role for
				// an S3 destination; the objects go under aws/lambda/.
				if aerr := c.Authorize(ctx, "s3:PutObject", dest+"/*"); aerr != nil {
					return aerr
				}
				if aerr := c.Authorize(ctx, "s3:ListBucket", dest); aerr != nil {
					return aerr
				}
			}
		}
	}
	return nil
}

func (a *API) scope(c *awsproto.Call) functions.Scope {
	acct := c.Account
	if acct == "" {
		acct = a.defaultAccount
	}
	return functions.Scope{Account: acct, Region: c.Region}
}

func str(c *awsproto.Call, k string) string { s, _ := c.Input[k].(string); return s }

func intOf(m map[string]any, k string) (int, bool) {
	v, ok := m[k].(int64)
	return int(v), ok
}

func strMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		out[k], _ = x.(string)
	}
	return out
}

// configuration is a FunctionConfiguration as Lambda returns it.
func configuration(f *functions.Function) map[string]any {
	out := map[string]any{
		"FunctionName": f.Name, "FunctionArn": f.ARN(), "Role": f.Role, "CodeSize": f.CodeSize,
		"Description": f.Description, "Timeout": f.Timeout, "MemorySize": f.MemorySize,
		"LastModified": f.LastModified.UTC().Format("2006-01-02T15:04:05.000-0700"),
		"CodeSha256":   f.CodeSHA256, "Version": "$LATEST", "RevisionId": f.RevisionID,
		"State": "Active", "LastUpdateStatus": "Successful", "PackageType": f.PackageType,
		"Architectures":    f.Architectures,
		"TracingConfig":    map[string]string{"Mode": "PassThrough"},
		"EphemeralStorage": map[string]int{"Size": 512},
		"LoggingConfig":    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + f.Name},
		"SnapStart":        map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
	}
	if f.PackageType != "Image" {
		out["Runtime"], out["Handler"] = f.Runtime, f.Handler
	}
	if f.Environment != nil {
		out["Environment"] = map[string]any{"Variables": f.Environment}
	}
	return out
}

func (a *API) createFunction(ctx context.Context, c *awsproto.Call) (any, error) {
	code, _ := c.Input["Code"].(map[string]any)
	in := functions.CreateInput{Name: str(c, "FunctionName"), Runtime: str(c, "Runtime"), Handler: str(c, "Handler"),
		Role: str(c, "Role"), Description: str(c, "Description"), PackageType: str(c, "PackageType"),
		Tags: strMap(c.Input["Tags"])}
	if code != nil {
		in.ZipFile, _ = code["ZipFile"].([]byte)
		in.ImageURI, _ = code["ImageUri"].(string)
		if _, s3 := code["S3Bucket"]; s3 {
			return nil, &functions.Error{Kind: functions.KindUnsupported, Msg: "Code.S3Bucket: this endpoint takes the code as Code.ZipFile (or Code.ImageUri for Image functions)."}
		}
	}
	in.Timeout, _ = intOf(c.Input, "Timeout")
	in.MemorySize, _ = intOf(c.Input, "MemorySize")
	if env, ok := c.Input["Environment"].(map[string]any); ok {
		in.Environment = strMap(env["Variables"])
	}
	if arch, ok := c.Input["Architectures"].([]any); ok {
		for _, x := range arch {
			s, _ := x.(string)
			in.Architectures = append(in.Architectures, s)
		}
	}
	f, err := a.svc.Create(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return configuration(f), nil
}

func (a *API) getFunction(ctx context.Context, c *awsproto.Call) (any, error) {
	f, err := a.svc.Get(ctx, a.scope(c), str(c, "FunctionName"))
	if err != nil {
		return nil, err
	}
	code := map[string]string{"RepositoryType": "S3", "Location": ""}
	if f.Kind == functions.KindURL {
		code = map[string]string{"RepositoryType": "ECR", "ImageUri": f.ImageURI}
	}
	out := map[string]any{"Configuration": configuration(f), "Code": code}
	if len(f.Tags) > 0 {
		out["Tags"] = f.Tags
	}
	return out, nil
}

func (a *API) getFunctionConfiguration(ctx context.Context, c *awsproto.Call) (any, error) {
	f, err := a.svc.Get(ctx, a.scope(c), str(c, "FunctionName"))
	if err != nil {
		return nil, err
	}
	return configuration(f), nil
}

func (a *API) listFunctions(ctx context.Context, c *awsproto.Call) (any, error) {
	max, ok := intOf(c.Input, "MaxItems")
	if !ok {
		max = 50
	}
	fns, next, err := a.svc.List(ctx, a.scope(c), str(c, "Marker"), max)
	if err != nil {
		return nil, err
	}
	list := make([]any, len(fns))
	for i, f := range fns {
		list[i] = configuration(f)
	}
	out := map[string]any{"Functions": list}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

func (a *API) updateFunctionConfiguration(ctx context.Context, c *awsproto.Call) (any, error) {
	var u functions.ConfigUpdate
	opt := func(k string) *string {
		if v, ok := c.Input[k].(string); ok {
			return &v
		}
		return nil
	}
	u.Description, u.Handler, u.Role, u.Runtime = opt("Description"), opt("Handler"), opt("Role"), opt("Runtime")
	if n, ok := intOf(c.Input, "Timeout"); ok {
		u.Timeout = &n
	}
	if n, ok := intOf(c.Input, "MemorySize"); ok {
		u.MemorySize = &n
	}
	if env, ok := c.Input["Environment"].(map[string]any); ok {
		u.Environment, u.EnvironmentSet = strMap(env["Variables"]), true
	}
	f, err := a.svc.UpdateConfiguration(ctx, a.scope(c), str(c, "FunctionName"), u)
	if err != nil {
		return nil, err
	}
	return configuration(f), nil
}

func (a *API) updateFunctionCode(ctx context.Context, c *awsproto.Call) (any, error) {
	zipFile, _ := c.Input["ZipFile"].([]byte)
	f, err := a.svc.UpdateCode(ctx, a.scope(c), str(c, "FunctionName"), zipFile, str(c, "ImageUri"))
	if err != nil {
		return nil, err
	}
	return configuration(f), nil
}

func (a *API) deleteFunction(ctx context.Context, c *awsproto.Call) (any, error) {
	if q := str(c, "Qualifier"); q != "" && q != "$LATEST" {
		return nil, &functions.Error{Kind: functions.KindUnsupported, Msg: "Qualifier " + q + ": this endpoint serves $LATEST only."}
	}
	if err := a.svc.Delete(ctx, a.scope(c), str(c, "FunctionName")); err != nil {
		return nil, err
	}
	return nil, nil
}

// invoke runs the function: RequestResponse answers 200 with the function's
// response (a function error keeps 200 and sets X-Amz-Function-Error),
// DryRun answers 204 once the function exists.
func (a *API) invoke(ctx context.Context, c *awsproto.Call) (any, error) {
	name := str(c, "FunctionName")
	if q := str(c, "Qualifier"); q != "" && q != "$LATEST" {
		return nil, &functions.Error{Kind: functions.KindUnsupported, Msg: "Qualifier " + q + ": this endpoint serves $LATEST only (no published versions or aliases)."}
	}
	switch str(c, "InvocationType") {
	case "DryRun":
		if _, err := a.svc.Get(ctx, a.scope(c), name); err != nil {
			return nil, err
		}
		return &restjson.Response{Status: http.StatusNoContent}, nil
	case "Event":
		payload, _ := c.Input["Payload"].([]byte)
		if err := a.svc.Enqueue(ctx, a.scope(c), name, payload); err != nil {
			return nil, err
		}
		return &restjson.Response{Status: http.StatusAccepted}, nil
	}
	payload, _ := c.Input["Payload"].([]byte)
	res, err := a.svc.Invoke(ctx, a.scope(c), name, payload, functions.InvokeOptions{ClientContext: str(c, "ClientContext"), Tail: str(c, "LogType") == "Tail", RefuseWhenBusy: true})
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if str(c, "LogType") == "Tail" {
		log := res.Log
		if len(log) > 4096 {
			log = log[len(log)-4096:]
		}
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(log)))
	}
	return &restjson.Response{Status: http.StatusOK, Header: h, Payload: res.Payload, ContentType: "application/json"}, nil
}

// mappingOut is an EventSourceMappingConfiguration as Lambda returns it.
func mappingOut(m *functions.Mapping) map[string]any {
	out := map[string]any{
		"UUID": m.UUID, "BatchSize": m.BatchSize, "MaximumBatchingWindowInSeconds": m.MaximumBatchingWindowInSeconds,
		"ParallelizationFactor": m.ParallelizationFactor, "EventSourceArn": m.EventSourceARN, "FunctionArn": m.FunctionARN,
		"LastModified": float64(m.LastModified.UnixMilli()) / 1000, "LastProcessingResult": m.LastProcessingResult,
		"State": m.State, "StateTransitionReason": m.StateTransitionReason,
		"DestinationConfig": destinationOut(m.OnFailure), "MaximumRecordAgeInSeconds": m.MaximumRecordAgeInSeconds,
		"BisectBatchOnFunctionError": m.BisectBatchOnFunctionError, "MaximumRetryAttempts": m.MaximumRetryAttempts,
		"TumblingWindowInSeconds": m.TumblingWindowInSeconds, "FunctionResponseTypes": m.FunctionResponseTypes,
		"StartingPosition": m.StartingPosition, "EventSourceMappingArn": m.ARN(),
	}
	if len(m.FilterPatterns) > 0 {
		filters := make([]any, len(m.FilterPatterns))
		for i, p := range m.FilterPatterns {
			filters[i] = map[string]string{"Pattern": p}
		}
		out["FilterCriteria"] = map[string]any{"Filters": filters}
	}
	if m.StartingPositionTimestamp != nil {
		out["StartingPositionTimestamp"] = float64(m.StartingPositionTimestamp.UnixMilli()) / 1000
	}
	return out
}

func destinationOut(onFailure string) map[string]any {
	d := map[string]any{}
	if onFailure != "" {
		d["Destination"] = onFailure
	}
	return map[string]any{"OnFailure": d}
}

// mappingInput reads the settings common to Create and Update.
func mappingInput(c *awsproto.Call) (functions.MappingInput, error) {
	in := functions.MappingInput{FunctionName: str(c, "FunctionName"), EventSourceARN: str(c, "EventSourceArn"),
		StartingPosition: str(c, "StartingPosition"), Tags: strMap(c.Input["Tags"])}
	intp := func(k string) *int {
		if v, ok := intOf(c.Input, k); ok {
			return &v
		}
		return nil
	}
	boolp := func(k string) *bool {
		if v, ok := c.Input[k].(bool); ok {
			return &v
		}
		return nil
	}
	in.BatchSize, in.MaximumBatchingWindowInSeconds = intp("BatchSize"), intp("MaximumBatchingWindowInSeconds")
	in.ParallelizationFactor, in.MaximumRetryAttempts = intp("ParallelizationFactor"), intp("MaximumRetryAttempts")
	in.MaximumRecordAgeInSeconds, in.TumblingWindowInSeconds = intp("MaximumRecordAgeInSeconds"), intp("TumblingWindowInSeconds")
	in.Enabled, in.BisectBatchOnFunctionError = boolp("Enabled"), boolp("BisectBatchOnFunctionError")
	if ts, ok := c.Input["StartingPositionTimestamp"].(float64); ok {
		t := time.UnixMilli(int64(ts * 1000))
		in.StartingPositionTimestamp = &t
	}
	if l, ok := c.Input["FunctionResponseTypes"].([]any); ok {
		in.FunctionResponseTypes = []string{}
		for _, x := range l {
			s, _ := x.(string)
			in.FunctionResponseTypes = append(in.FunctionResponseTypes, s)
		}
	}
	if dc, ok := c.Input["DestinationConfig"].(map[string]any); ok {
		dest := ""
		if of, ok := dc["OnFailure"].(map[string]any); ok {
			dest, _ = of["Destination"].(string)
		}
		if _, success := dc["OnSuccess"]; success {
			return in, &functions.Error{Kind: functions.KindInvalidParameter, Msg: "Unsupported DestinationConfig parameter for given event source mapping type."}
		}
		in.OnFailure = &dest
	}
	if fc, ok := c.Input["FilterCriteria"].(map[string]any); ok {
		patterns := []string{}
		if l, ok := fc["Filters"].([]any); ok {
			for _, x := range l {
				f, _ := x.(map[string]any)
				if p, _ := f["Pattern"].(string); p != "" {
					patterns = append(patterns, p)
				}
			}
		}
		in.FilterPatterns = &patterns
	}
	for _, k := range []string{"Topics", "Queues",
		"SourceAccessConfigurations", "SelfManagedEventSource", "AmazonManagedKafkaEventSourceConfig",
		"SelfManagedKafkaEventSourceConfig", "ScalingConfig", "DocumentDBEventSourceConfig", "ProvisionedPollerConfig"} {
		v, set := c.Input[k]
		if !set || v == nil {
			continue
		}
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			continue
		}
		return in, &functions.Error{Kind: functions.KindUnsupported, Msg: k + " is not served by this endpoint's event source mappings yet."}
	}
	return in, nil
}

func (a *API) createEventSourceMapping(ctx context.Context, c *awsproto.Call) (any, error) {
	in, err := mappingInput(c)
	if err != nil {
		return nil, err
	}
	m, err := a.svc.CreateMapping(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return mappingOut(m), nil
}

func (a *API) getEventSourceMapping(ctx context.Context, c *awsproto.Call) (any, error) {
	m, _, err := a.svc.GetMapping(ctx, str(c, "UUID"))
	if err != nil {
		return nil, err
	}
	return mappingOut(m), nil
}

func (a *API) listEventSourceMappings(ctx context.Context, c *awsproto.Call) (any, error) {
	max, _ := intOf(c.Input, "MaxItems")
	ms, next, err := a.svc.ListMappings(ctx, a.scope(c), str(c, "EventSourceArn"), str(c, "FunctionName"), str(c, "Marker"), max)
	if err != nil {
		return nil, err
	}
	list := make([]any, len(ms))
	for i, m := range ms {
		list[i] = mappingOut(m)
	}
	out := map[string]any{"EventSourceMappings": list}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

func (a *API) updateEventSourceMapping(ctx context.Context, c *awsproto.Call) (any, error) {
	in, err := mappingInput(c)
	if err != nil {
		return nil, err
	}
	m, err := a.svc.UpdateMapping(ctx, str(c, "UUID"), in)
	if err != nil {
		return nil, err
	}
	return mappingOut(m), nil
}

func (a *API) deleteEventSourceMapping(ctx context.Context, c *awsproto.Call) (any, error) {
	m, err := a.svc.DeleteMapping(ctx, str(c, "UUID"))
	if err != nil {
		return nil, err
	}
	return mappingOut(m), nil
}

func (a *API) putFunctionConcurrency(ctx context.Context, c *awsproto.Call) (any, error) {
	n, _ := intOf(c.Input, "ReservedConcurrentExecutions")
	if _, err := a.svc.SetConcurrency(ctx, a.scope(c), str(c, "FunctionName"), &n); err != nil {
		return nil, err
	}
	return map[string]int{"ReservedConcurrentExecutions": n}, nil
}

func (a *API) getFunctionConcurrency(ctx context.Context, c *awsproto.Call) (any, error) {
	f, err := a.svc.Get(ctx, a.scope(c), str(c, "FunctionName"))
	if err != nil {
		return nil, err
	}
	if f.ReservedConcurrency == nil {
		return map[string]any{}, nil
	}
	return map[string]int{"ReservedConcurrentExecutions": *f.ReservedConcurrency}, nil
}

func (a *API) deleteFunctionConcurrency(ctx context.Context, c *awsproto.Call) (any, error) {
	_, err := a.svc.SetConcurrency(ctx, a.scope(c), str(c, "FunctionName"), nil)
	return nil, err
}

func (a *API) tagResource(ctx context.Context, c *awsproto.Call) (any, error) {
	_, err := a.svc.Tag(ctx, a.scope(c), str(c, "Resource"), strMap(c.Input["Tags"]), nil)
	return nil, err
}

func (a *API) untagResource(ctx context.Context, c *awsproto.Call) (any, error) {
	var keys []string
	if l, ok := c.Input["TagKeys"].([]any); ok {
		for _, x := range l {
			k, _ := x.(string)
			keys = append(keys, k)
		}
	}
	_, err := a.svc.Tag(ctx, a.scope(c), str(c, "Resource"), nil, keys)
	return nil, err
}

func (a *API) listTags(ctx context.Context, c *awsproto.Call) (any, error) {
	f, err := a.svc.Get(ctx, a.scope(c), str(c, "Resource"))
	if err != nil {
		return nil, err
	}
	tags := f.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"Tags": tags}, nil
}
