// Package firehoseapi owns the Amazon Data Firehose wire API
// (Firehose_20150804.*, AWS JSON 1.1, signing name firehose): the input
// schemas of all 12 operations, taken from AWS's published model
// (internal/awsmodel/firehosemodel) so that validation and its messages
// follow AWS; the handlers over the firehose domain; and the one table that
// maps domain errors to AWS exceptions.
package firehoseapi

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/rheos/rheos/internal/arn"
	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/firehosemodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/jsonrpc"
	"github.com/rheos/rheos/internal/firehose"
)

// TargetPrefix is the X-Amz-Target prefix of the Firehose API.
const TargetPrefix = "Firehose_20150804"

// SigningName is the SigV4 service name of the Firehose API.
const SigningName = "firehose"

// The Firehose exceptions. The model gives them no status, so they are 400s,
// except ServiceUnavailableException, sent as 503 so that the SDKs' default
// retryers retry it.
var (
	exInvalidArgument        = awserr.Exception{Name: "InvalidArgumentException", Status: 400}
	exResourceNotFound       = awserr.Exception{Name: "ResourceNotFoundException", Status: 400}
	exResourceInUse          = awserr.Exception{Name: "ResourceInUseException", Status: 400}
	exLimitExceeded          = awserr.Exception{Name: "LimitExceededException", Status: 400}
	exConcurrentModification = awserr.Exception{Name: "ConcurrentModificationException", Status: 400}
	exInvalidKMSResource     = awserr.Exception{Name: "InvalidKMSResourceException", Status: 400}
	exInvalidSource          = awserr.Exception{Name: "InvalidSourceException", Status: 400}
	exServiceUnavailable503  = awserr.ServiceUnavailable
	exceptionOf              = map[firehose.Kind]awserr.Exception{
		firehose.KindInvalidArgument:        exInvalidArgument,
		firehose.KindNotFound:               exResourceNotFound,
		firehose.KindInUse:                  exResourceInUse,
		firehose.KindLimitExceeded:          exLimitExceeded,
		firehose.KindConcurrentModification: exConcurrentModification,
		firehose.KindUnavailable:            exServiceUnavailable503,
		firehose.KindInternal:               awserr.InternalFailure,
	}
)

// Exceptions is the catalog of every exception the Firehose API answers.
var Exceptions = awserr.NewCatalog("firehose", exInvalidArgument, exResourceNotFound, exResourceInUse,
	exLimitExceeded, exConcurrentModification, exInvalidKMSResource, exInvalidSource)

// API binds the domain to the wire.
type API struct {
	svc            *firehose.Service
	defaultAccount string
}

// New returns the JSON-RPC service of the Firehose API.
func New(svc *firehose.Service, defaultAccount string) (*jsonrpc.Service, error) {
	a := &API{svc: svc, defaultAccount: defaultAccount}
	handlers := map[string]func(context.Context, *awsproto.Call) (any, error){
		"CreateDeliveryStream":          a.create,
		"DescribeDeliveryStream":        a.describe,
		"ListDeliveryStreams":           a.list,
		"DeleteDeliveryStream":          a.delete,
		"PutRecord":                     a.putRecord,
		"PutRecordBatch":                a.putRecordBatch,
		"UpdateDestination":             a.updateDestination,
		"StartDeliveryStreamEncryption": a.encryption(true),
		"StopDeliveryStreamEncryption":  a.encryption(false),
		"TagDeliveryStream":             a.tag,
		"UntagDeliveryStream":           a.untag,
		"ListTagsForDeliveryStream":     a.listTags,
	}
	ops := map[string]*jsonrpc.Operation{}
	for name, op := range firehosemodel.Model.Operations {
		h, ok := handlers[name]
		if !ok {
			return nil, errors.New("firehoseapi: no handler for " + name)
		}
		fields, err := awsproto.FieldsFromModel(firehosemodel.Model, op.Input)
		if err != nil {
			return nil, err
		}
		allowPlainHTTP(fields)
		o := &jsonrpc.Operation{Input: fields, Handle: a.wrap(name, h)}
		switch name {
		case "PutRecordBatch":
			o.MaxBody = 6 << 20 // 4 MiB of records, base64 in JSON
			o.Fast = fastPutRecordBatch
		case "PutRecord":
			o.MaxBody = 1400 << 10
			o.Fast = fastPutRecord
		}
		ops[name] = o
	}
	return &jsonrpc.Service{SigningName: SigningName, TargetPrefix: TargetPrefix, Operations: ops}, nil
}

// allowPlainHTTP relaxes the model's https-only endpoint URL patterns (AWS
// delivers only to https on 443, a self-hosted Firehose also to receivers on
// plain http and any port) and the Redshift JDBC URL's host pattern (any
// PostgreSQL-protocol warehouse): deliberate differences, in the README.
func allowPlainHTTP(fields []awsproto.Field) {
	for i := range fields {
		relax(fields[i].Shape)
	}
}

func relax(sh *awsproto.Shape) {
	if sh == nil {
		return
	}
	if strings.HasPrefix(sh.Pattern, "jdbc:(redshift|postgresql)://") {
		// Any PostgreSQL-protocol warehouse, not only *.redshift.* hosts.
		sh.Pattern = `jdbc:(redshift|postgresql)://[^/\s]+/[a-zA-Z0-9_$-]+`
	}
	switch sh.Pattern {
	case "https://.*":
		sh.Pattern = "https?://.*"
	case "https:.*":
		sh.Pattern = "https?:.*"
	}
	relax(sh.Member)
	for i := range sh.Fields {
		relax(sh.Fields[i].Shape)
	}
}

// wrap authorizes the call on the delivery stream it names and maps domain
// errors.
func (a *API) wrap(op string, h func(context.Context, *awsproto.Call) (any, error)) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Authorize != nil {
			resource := "*"
			if name := streamName(c); name != "" {
				sc := a.scope(c)
				resource = arn.New("firehose", arn.Scope{Account: sc.Account, Region: sc.Region}, "deliverystream/"+name).String()
			}
			if aerr := c.Authorize(ctx, "firehose:"+op, resource); aerr != nil {
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
	var de *firehose.Error
	if errors.As(err, &de) {
		ex, ok := exceptionOf[de.Kind]
		if !ok {
			ex = awserr.InternalFailure
		}
		msg := de.Msg
		if ex.Status >= 500 && ex.Name != exServiceUnavailable503.Name {
			msg = ""
		}
		return &awserr.Error{Exception: ex, Message: msg, Cause: err}
	}
	return &awserr.Error{Exception: awserr.InternalFailure, Cause: err}
}

func (a *API) scope(c *awsproto.Call) firehose.Scope {
	acct := c.Account
	if acct == "" {
		acct = a.defaultAccount
	}
	return firehose.Scope{Account: acct, Region: c.Region}
}

func str(c *awsproto.Call, k string) string { s, _ := c.Input[k].(string); return s }

// streamName is the DeliveryStreamName of a call, decoded by either path.
func streamName(c *awsproto.Call) string {
	if in, ok := c.Typed.(*putInput); ok {
		return in.Name
	}
	return str(c, "DeliveryStreamName")
}

// putInputOf is the records of a PutRecord or PutRecordBatch call, decoded
// by either path.
func putInputOf(c *awsproto.Call, single bool) *putInput {
	if in, ok := c.Typed.(*putInput); ok {
		return in
	}
	in := &putInput{Name: str(c, "DeliveryStreamName")}
	if single {
		rec := mapIn(c, "Record")
		in.Records = [][]byte{blob(rec["Data"])}
		return in
	}
	l, _ := c.Input["Records"].([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		in.Records = append(in.Records, blob(m["Data"]))
	}
	return in
}

func intOr(c *awsproto.Call, k string, def int) int {
	if v, ok := c.Input[k].(int64); ok {
		return int(v)
	}
	return def
}

func mapIn(c *awsproto.Call, k string) map[string]any { m, _ := c.Input[k].(map[string]any); return m }

func tagsIn(v any) []firehose.Tag {
	l, _ := v.([]any)
	out := make([]firehose.Tag, 0, len(l))
	for _, x := range l {
		m, _ := x.(map[string]any)
		k, _ := m["Key"].(string)
		val, _ := m["Value"].(string)
		out = append(out, firehose.Tag{Key: k, Value: val})
	}
	return out
}

func (a *API) create(ctx context.Context, c *awsproto.Call) (any, error) {
	in := firehose.CreateInput{Name: str(c, "DeliveryStreamName"), Type: str(c, "DeliveryStreamType"),
		Destinations: map[string]map[string]any{}, Tags: tagsIn(c.Input["Tags"])}
	for k, v := range c.Input {
		if kind, ok := strings.CutSuffix(k, "DestinationConfiguration"); ok {
			m, _ := v.(map[string]any)
			in.Destinations[kind] = m
		}
	}
	switch {
	case mapIn(c, "KinesisStreamSourceConfiguration") != nil:
		in.Source = mapIn(c, "KinesisStreamSourceConfiguration")
	case mapIn(c, "DirectPutSourceConfiguration") != nil:
		in.Source = mapIn(c, "DirectPutSourceConfiguration")
	case mapIn(c, "MSKSourceConfiguration") != nil, mapIn(c, "DatabaseSourceConfiguration") != nil:
		return nil, awserr.New(exInvalidArgument, "MSK and database sources are not served by this endpoint.")
	}
	if enc := mapIn(c, "DeliveryStreamEncryptionConfigurationInput"); enc != nil {
		in.KeyType, _ = enc["KeyType"].(string)
		in.KeyARN, _ = enc["KeyARN"].(string)
	}
	arnOut, err := a.svc.Create(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"DeliveryStreamARN": arnOut}, nil
}

func (a *API) describe(ctx context.Context, c *awsproto.Call) (any, error) {
	d, err := a.svc.Describe(ctx, a.scope(c), str(c, "DeliveryStreamName"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"DeliveryStreamDescription": d}, nil
}

func (a *API) list(ctx context.Context, c *awsproto.Call) (any, error) {
	names, more, err := a.svc.List(ctx, a.scope(c), str(c, "DeliveryStreamType"), str(c, "ExclusiveStartDeliveryStreamName"), intOr(c, "Limit", 10))
	if err != nil {
		return nil, err
	}
	if names == nil {
		names = []string{}
	}
	return map[string]any{"DeliveryStreamNames": names, "HasMoreDeliveryStreams": more}, nil
}

func (a *API) delete(ctx context.Context, c *awsproto.Call) (any, error) {
	return map[string]any{}, a.svc.Delete(ctx, a.scope(c), str(c, "DeliveryStreamName"))
}

func blob(v any) []byte {
	switch b := v.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	return nil
}

func (a *API) putRecord(ctx context.Context, c *awsproto.Call) (any, error) {
	in := putInputOf(c, true)
	res, encrypted, err := a.svc.Put(ctx, a.scope(c), in.Name, in.Records)
	if err != nil {
		return nil, err
	}
	return map[string]any{"RecordId": res[0].RecordID, "Encrypted": encrypted}, nil
}

func (a *API) putRecordBatch(ctx context.Context, c *awsproto.Call) (any, error) {
	in := putInputOf(c, false)
	res, encrypted, err := a.svc.Put(ctx, a.scope(c), in.Name, in.Records)
	if err != nil {
		return nil, err
	}
	return awsproto.RawJSON(appendBatchOutput(make([]byte, 0, 64+len(res)*130), res, encrypted)), nil
}

// appendBatchOutput writes PutRecordBatch's answer (the hot path: no maps,
// no reflection). Record ids are hex and error texts plain ASCII; anything
// else is JSON-escaped.
func appendBatchOutput(b []byte, res []firehose.PutResult, encrypted bool) []byte {
	failed := 0
	for _, r := range res {
		if r.ErrorCode != "" {
			failed++
		}
	}
	b = append(b, `{"Encrypted":`...)
	b = strconv.AppendBool(b, encrypted)
	b = append(b, `,"FailedPutCount":`...)
	b = strconv.AppendInt(b, int64(failed), 10)
	b = append(b, `,"RequestResponses":[`...)
	for i, r := range res {
		if i > 0 {
			b = append(b, ',')
		}
		if r.ErrorCode != "" {
			b = append(b, `{"ErrorCode":`...)
			b = strconv.AppendQuote(b, r.ErrorCode)
			b = append(b, `,"ErrorMessage":`...)
			b = strconv.AppendQuote(b, r.ErrorMessage)
			b = append(b, '}')
			continue
		}
		b = append(b, `{"RecordId":"`...)
		b = append(b, r.RecordID...)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

func (a *API) updateDestination(ctx context.Context, c *awsproto.Call) (any, error) {
	kind, update := "", map[string]any(nil)
	for k, v := range c.Input {
		if kk, ok := strings.CutSuffix(k, "DestinationUpdate"); ok {
			if kind != "" {
				return nil, awserr.New(exInvalidArgument, "Exactly one destination update must be provided.")
			}
			kind, update = kk, v.(map[string]any)
		}
	}
	if kind == "" {
		return nil, awserr.New(exInvalidArgument, "Exactly one destination update must be provided.")
	}
	err := a.svc.UpdateDestination(ctx, a.scope(c), str(c, "DeliveryStreamName"), str(c, "CurrentDeliveryStreamVersionId"),
		str(c, "DestinationId"), kind, update)
	return map[string]any{}, err
}

func (a *API) encryption(on bool) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		enc := mapIn(c, "DeliveryStreamEncryptionConfigurationInput")
		kt, _ := enc["KeyType"].(string)
		ka, _ := enc["KeyARN"].(string)
		return map[string]any{}, a.svc.SetEncryption(ctx, a.scope(c), str(c, "DeliveryStreamName"), on, kt, ka)
	}
}

func (a *API) tag(ctx context.Context, c *awsproto.Call) (any, error) {
	return map[string]any{}, a.svc.Tag(ctx, a.scope(c), str(c, "DeliveryStreamName"), tagsIn(c.Input["Tags"]))
}

func (a *API) untag(ctx context.Context, c *awsproto.Call) (any, error) {
	l, _ := c.Input["TagKeys"].([]any)
	keys := make([]string, len(l))
	for i, x := range l {
		keys[i], _ = x.(string)
	}
	return map[string]any{}, a.svc.Untag(ctx, a.scope(c), str(c, "DeliveryStreamName"), keys)
}

func (a *API) listTags(ctx context.Context, c *awsproto.Call) (any, error) {
	tags, more, err := a.svc.Tags(ctx, a.scope(c), str(c, "DeliveryStreamName"), str(c, "ExclusiveStartTagKey"), intOr(c, "Limit", 50))
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []firehose.Tag{}
	}
	return map[string]any{"Tags": tags, "HasMoreTags": more}, nil
}
