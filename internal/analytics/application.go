package analytics

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Metadata layout (part of the metadata format):
//
//	analytics/apps/<account>/<region>/<name>  Application as JSON
const prefixApp = "analytics/apps/"

func appPrefix(sc Scope) string { return prefixApp + sc.Account + "/" + sc.Region + "/" }
func appKey(sc Scope, name string) string {
	return appPrefix(sc) + name
}

// Statuses.
const (
	StatusReady    = "READY"
	StatusStarting = "STARTING"
	StatusRunning  = "RUNNING"
	StatusStopping = "STOPPING"
	StatusUpdating = "UPDATING"
	StatusDeleting = "DELETING"
)

// Starting positions.
const (
	PositionNow              = "NOW"
	PositionTrimHorizon      = "TRIM_HORIZON"
	PositionLastStoppedPoint = "LAST_STOPPED_POINT"
)

// RuntimeSQL is the one runtime served (the v2 API's RuntimeEnvironment).
const RuntimeSQL = "SQL-1_0"

// The definition types carry AWS's member names (the request shapes of
// KinesisAnalytics_20150814, which the v2 API shares), so that the API
// decodes requests straight into them and the stored JSON reads like the
// API.

// Resource is an ARN and the role to reach it (v2 gives no role).
type Resource struct {
	ResourceARN string `json:"ResourceARN"`
	RoleARN     string `json:"RoleARN,omitempty"`
}

// RecordColumn maps one element of a record to a column.
type RecordColumn struct {
	Name    string `json:"Name"`
	Mapping string `json:"Mapping,omitempty"`
	SqlType string `json:"SqlType"` //nolint:revive // AWS's name
}

// JSONMapping is JSONMappingParameters.
type JSONMapping struct {
	RecordRowPath string `json:"RecordRowPath"`
}

// CSVMapping is CSVMappingParameters.
type CSVMapping struct {
	RecordRowDelimiter    string `json:"RecordRowDelimiter"`
	RecordColumnDelimiter string `json:"RecordColumnDelimiter"`
}

// MappingParameters says how records map to rows.
type MappingParameters struct {
	JSONMappingParameters *JSONMapping `json:"JSONMappingParameters,omitempty"`
	CSVMappingParameters  *CSVMapping  `json:"CSVMappingParameters,omitempty"`
}

// RecordFormat is a record format (JSON or CSV).
type RecordFormat struct {
	RecordFormatType  string             `json:"RecordFormatType"`
	MappingParameters *MappingParameters `json:"MappingParameters,omitempty"`
}

// SourceSchema is an input's or a reference table's schema.
type SourceSchema struct {
	RecordFormat   RecordFormat   `json:"RecordFormat"`
	RecordEncoding string         `json:"RecordEncoding,omitempty"`
	RecordColumns  []RecordColumn `json:"RecordColumns"`
}

// Parallelism is InputParallelism.
type Parallelism struct {
	Count int `json:"Count"`
}

// Processing is InputProcessingConfiguration (a Lambda preprocessor).
type Processing struct {
	InputLambdaProcessor *Resource `json:"InputLambdaProcessor"`
}

// StartingPosition is InputStartingPositionConfiguration.
type StartingPosition struct {
	InputStartingPosition string `json:"InputStartingPosition,omitempty"`
}

// Input is the streaming source.
type Input struct {
	InputID                      string            `json:"InputId,omitempty"`
	NamePrefix                   string            `json:"NamePrefix"`
	InAppStreamNames             []string          `json:"InAppStreamNames,omitempty"`
	InputSchema                  SourceSchema      `json:"InputSchema"`
	KinesisStreamsInput          *Resource         `json:"KinesisStreamsInput,omitempty"`
	KinesisFirehoseInput         *Resource         `json:"KinesisFirehoseInput,omitempty"`
	InputParallelism             *Parallelism      `json:"InputParallelism,omitempty"`
	InputProcessingConfiguration *Processing       `json:"InputProcessingConfiguration,omitempty"`
	StartingPosition             *StartingPosition `json:"InputStartingPositionConfiguration,omitempty"`
}

// DestinationSchema is an output's record format.
type DestinationSchema struct {
	RecordFormatType string `json:"RecordFormatType"`
}

// Output is a destination of an in-application stream.
type Output struct {
	OutputID              string            `json:"OutputId,omitempty"`
	Name                  string            `json:"Name"`
	DestinationSchema     DestinationSchema `json:"DestinationSchema"`
	KinesisStreamsOutput  *Resource         `json:"KinesisStreamsOutput,omitempty"`
	KinesisFirehoseOutput *Resource         `json:"KinesisFirehoseOutput,omitempty"`
	LambdaOutput          *Resource         `json:"LambdaOutput,omitempty"`
}

// S3Reference is S3ReferenceDataSource.
type S3Reference struct {
	BucketARN        string `json:"BucketARN"`
	FileKey          string `json:"FileKey"`
	ReferenceRoleARN string `json:"ReferenceRoleARN,omitempty"`
}

// ReferenceDataSource is the reference table read from S3.
type ReferenceDataSource struct {
	ReferenceID           string       `json:"ReferenceId,omitempty"`
	TableName             string       `json:"TableName"`
	S3ReferenceDataSource S3Reference  `json:"S3ReferenceDataSource"`
	ReferenceSchema       SourceSchema `json:"ReferenceSchema"`
}

// LoggingOption is a CloudWatch logging option.
type LoggingOption struct {
	CloudWatchLoggingOptionID string `json:"CloudWatchLoggingOptionId,omitempty"`
	LogStreamARN              string `json:"LogStreamARN"`
	RoleARN                   string `json:"RoleARN,omitempty"`
}

// Tag is a key/value pair.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value,omitempty"`
}

// Application is an application as stored.
type Application struct {
	Name, Account, Region string
	Description           string `json:",omitempty"`
	Code                  string `json:",omitempty"`
	Status                string
	VersionID             int64
	CreatedMs, UpdatedMs  int64
	// Runtime is RuntimeSQL; ServiceExecutionRole is the v2 API's role.
	Runtime              string                `json:",omitempty"`
	ServiceExecutionRole string                `json:",omitempty"`
	Inputs               []Input               `json:",omitempty"`
	Outputs              []Output              `json:",omitempty"`
	References           []ReferenceDataSource `json:",omitempty"`
	Logging              []LoggingOption       `json:",omitempty"`
	Tags                 []Tag                 `json:",omitempty"`
	// StoppedPositions are the per-shard positions the runner saved
	// (InputId → shard id → the last sequence number read), for
	// LAST_STOPPED_POINT.
	StoppedPositions map[string]map[string]string `json:",omitempty"`
	// Next* are the counters of the ids' first component ("2.1" is the
	// second input ever added).
	NextInput, NextOutput, NextReference, NextLogging int
}

// ARN is the application's ARN.
func (a *Application) ARN() string {
	return "arn:aws:kinesisanalytics:" + a.Region + ":" + a.Account + ":application/" + a.Name
}

// Ref names the application.
func (a *Application) Ref() AppRef { return AppRef{Account: a.Account, Region: a.Region, Name: a.Name} }

var (
	namePattern   = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)
	appARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:kinesisanalytics:([a-z0-9-]+):(\d{12}|[^:]+):application/([a-zA-Z0-9_.-]{1,128})$`)
)

// ParseARN resolves an application ARN.
func ParseARN(s string) (AppRef, bool) {
	m := appARNPattern.FindStringSubmatch(s)
	if m == nil {
		return AppRef{}, false
	}
	return AppRef{Region: m[1], Account: m[2], Name: m[3]}, true
}

func nextID(counter *int) string {
	*counter++
	return strconv.Itoa(*counter) + ".1"
}

// inAppNames are an input's in-application stream names.
func inAppNames(prefix string, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%03d", prefix, i+1)
	}
	return out
}

func checkSchema(what string, sc *SourceSchema) error {
	switch sc.RecordFormat.RecordFormatType {
	case "JSON", "CSV":
	default:
		return errorf(KindInvalidArgument, "%s RecordFormatType must be JSON or CSV, not %q.", what, sc.RecordFormat.RecordFormatType)
	}
	if len(sc.RecordColumns) == 0 || len(sc.RecordColumns) > 1000 {
		return errorf(KindInvalidArgument, "%s must have between 1 and 1000 RecordColumns.", what)
	}
	seen := map[string]bool{}
	for _, c := range sc.RecordColumns {
		if c.Name == "" || c.SqlType == "" {
			return errorf(KindInvalidArgument, "%s RecordColumns need a Name and a SqlType.", what)
		}
		if seen[strings.ToUpper(c.Name)] {
			return errorf(KindInvalidArgument, "%s has the column %s twice.", what, c.Name)
		}
		seen[strings.ToUpper(c.Name)] = true
	}
	return nil
}

// normalizeInput checks an input and fills in AWS's defaults (parallelism
// 1, UTF-8) and the in-application stream names.
func normalizeInput(in *Input) error {
	if in.NamePrefix == "" || len(in.NamePrefix) > 32 {
		return errorf(KindInvalidArgument, "Input NamePrefix must be 1 to 32 characters long.")
	}
	if (in.KinesisStreamsInput == nil) == (in.KinesisFirehoseInput == nil) {
		return errorf(KindInvalidArgument, "Exactly one of KinesisStreamsInput or KinesisFirehoseInput must be provided.")
	}
	if in.InputParallelism == nil {
		in.InputParallelism = &Parallelism{Count: 1}
	}
	if c := in.InputParallelism.Count; c < 1 || c > MaxParallelism {
		return errorf(KindInvalidArgument, "InputParallelism Count must be between 1 and %d, not %d.", MaxParallelism, c)
	}
	if err := checkSchema("InputSchema", &in.InputSchema); err != nil {
		return err
	}
	if in.InputSchema.RecordEncoding == "" {
		in.InputSchema.RecordEncoding = "UTF-8"
	}
	if p := in.InputProcessingConfiguration; p != nil && (p.InputLambdaProcessor == nil || p.InputLambdaProcessor.ResourceARN == "") {
		return errorf(KindInvalidArgument, "InputProcessingConfiguration needs an InputLambdaProcessor.")
	}
	in.InAppStreamNames = inAppNames(in.NamePrefix, in.InputParallelism.Count)
	return nil
}

func checkOutput(o *Output) error {
	if o.Name == "" || len(o.Name) > 32 {
		return errorf(KindInvalidArgument, "Output Name must be 1 to 32 characters long.")
	}
	n := 0
	for _, r := range []*Resource{o.KinesisStreamsOutput, o.KinesisFirehoseOutput, o.LambdaOutput} {
		if r != nil {
			n++
		}
	}
	if n != 1 {
		return errorf(KindInvalidArgument, "Exactly one of KinesisStreamsOutput, KinesisFirehoseOutput or LambdaOutput must be provided.")
	}
	switch o.DestinationSchema.RecordFormatType {
	case "JSON", "CSV":
	default:
		return errorf(KindInvalidArgument, "DestinationSchema RecordFormatType must be JSON or CSV, not %q.", o.DestinationSchema.RecordFormatType)
	}
	return nil
}

func checkReference(r *ReferenceDataSource) error {
	if r.TableName == "" || len(r.TableName) > 32 {
		return errorf(KindInvalidArgument, "Reference TableName must be 1 to 32 characters long.")
	}
	if !strings.HasPrefix(r.S3ReferenceDataSource.BucketARN, "arn:") || r.S3ReferenceDataSource.FileKey == "" {
		return errorf(KindInvalidArgument, "S3ReferenceDataSource needs a BucketARN and a FileKey.")
	}
	if err := checkSchema("ReferenceSchema", &r.ReferenceSchema); err != nil {
		return err
	}
	if r.ReferenceSchema.RecordEncoding == "" {
		r.ReferenceSchema.RecordEncoding = "UTF-8"
	}
	return nil
}

func checkTags(tags []Tag) error {
	for _, t := range tags {
		if strings.HasPrefix(t.Key, "aws:") {
			return errorf(KindInvalidArgument, "Tag keys must not start with aws: (%s).", t.Key)
		}
	}
	return nil
}
