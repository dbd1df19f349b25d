package analytics

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strings"
)

// CreateInput is a CreateApplication request, decoded.
type CreateInput struct {
	Name, Description, Code string
	Inputs                  []Input
	Outputs                 []Output
	References              []ReferenceDataSource
	Logging                 []LoggingOption
	Tags                    []Tag
	// Runtime and ServiceExecutionRole come from the v2 API ("" from v1:
	// RuntimeSQL).
	Runtime, ServiceExecutionRole string
}

// Create creates an application (READY, version 1).
func (s *Service) Create(ctx context.Context, sc Scope, in CreateInput) (*Application, error) {
	sc = s.scope(sc)
	if !namePattern.MatchString(in.Name) {
		return nil, errorf(KindInvalidArgument, "Application name %q is invalid: it must match [a-zA-Z0-9_.-]+ and be 1 to 128 characters long.", in.Name)
	}
	if len([]rune(in.Description)) > MaxDescription {
		return nil, errorf(KindInvalidArgument, "ApplicationDescription must be at most %d characters long.", MaxDescription)
	}
	if in.Runtime == "" {
		in.Runtime = RuntimeSQL
	}
	if in.Runtime != RuntimeSQL {
		return nil, errorf(KindUnsupported, "Runtime environment %s is not supported by this endpoint: only %s (Kinesis Data Analytics for SQL) applications are served.", in.Runtime, RuntimeSQL)
	}
	if len(in.Inputs) > MaxInputs {
		return nil, errorf(KindInvalidArgument, "An application can have at most %d input (it was given %d).", MaxInputs, len(in.Inputs))
	}
	if len(in.Outputs) > MaxOutputs {
		return nil, errorf(KindInvalidArgument, "An application can have at most %d outputs (it was given %d).", MaxOutputs, len(in.Outputs))
	}
	if len(in.References) > MaxReferences {
		return nil, errorf(KindInvalidArgument, "An application can have at most %d reference data source.", MaxReferences)
	}
	if len(in.Tags) > MaxTags {
		return nil, errorf(KindTooManyTags, "An application can have at most %d tags.", MaxTags)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.validateCode(in.Code); err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixMilli()
	a := &Application{Name: in.Name, Account: sc.Account, Region: sc.Region, Description: in.Description, Code: in.Code,
		Status: StatusReady, VersionID: 1, CreatedMs: now, UpdatedMs: now, Runtime: in.Runtime,
		ServiceExecutionRole: in.ServiceExecutionRole, Tags: in.Tags}
	for _, x := range in.Inputs {
		if err := normalizeInput(&x); err != nil {
			return nil, err
		}
		x.InputID = nextID(&a.NextInput)
		a.Inputs = append(a.Inputs, x)
	}
	for _, o := range in.Outputs {
		if err := checkOutput(&o); err != nil {
			return nil, err
		}
		o.OutputID = nextID(&a.NextOutput)
		a.Outputs = append(a.Outputs, o)
	}
	for _, r := range in.References {
		if err := checkReference(&r); err != nil {
			return nil, err
		}
		r.ReferenceID = nextID(&a.NextReference)
		a.References = append(a.References, r)
	}
	for _, l := range in.Logging {
		if l.LogStreamARN == "" {
			return nil, errorf(KindInvalidArgument, "CloudWatchLoggingOption needs a LogStreamARN.")
		}
		l.CloudWatchLoggingOptionID = nextID(&a.NextLogging)
		a.Logging = append(a.Logging, l)
	}
	key := appKey(sc, in.Name)
	n := 0
	if err := s.meta.Scan(ctx, appPrefix(sc), func(string, []byte, uint64) error { n++; return nil }); err != nil {
		return nil, internal("metadata read failed", err)
	}
	if n >= s.cfg.ApplicationLimit {
		return nil, errorf(KindLimitExceeded, "You have reached the limit of %d applications in this account and region.", s.cfg.ApplicationLimit)
	}
	b, _ := json.Marshal(a)
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: 0}, map[string][]byte{key: b}, nil)
	if err != nil {
		return nil, internal("metadata commit failed", err)
	}
	if !ok {
		return nil, errorf(KindInUse, "Application %s already exists.", in.Name)
	}
	return a, nil
}

func notFound(sc Scope, name string) *Error {
	return errorf(KindNotFound, "Application %s not found in account %s.", name, sc.Account)
}

func (s *Service) load(ctx context.Context, sc Scope, name string) (*Application, uint64, error) {
	b, rev, err := s.meta.Get(ctx, appKey(sc, name))
	if err != nil {
		return nil, 0, internal("metadata read failed", err)
	}
	if b == nil {
		return nil, 0, notFound(sc, name)
	}
	var a Application
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, 0, internal("corrupt application metadata", err)
	}
	return &a, rev, nil
}

// Get returns an application.
func (s *Service) Get(ctx context.Context, sc Scope, name string) (*Application, error) {
	a, _, err := s.load(ctx, s.scope(sc), name)
	return a, err
}

// List returns the applications after exclusiveStart in name order, at
// most limit of them, and whether there are more.
func (s *Service) List(ctx context.Context, sc Scope, exclusiveStart string, limit int) ([]*Application, bool, error) {
	sc = s.scope(sc)
	var out []*Application
	err := s.meta.Scan(ctx, appPrefix(sc), func(_ string, v []byte, _ uint64) error {
		var a Application
		if json.Unmarshal(v, &a) != nil {
			return nil
		}
		if a.Name > exclusiveStart {
			out = append(out, &a)
		}
		return nil
	})
	if err != nil {
		return nil, false, internal("metadata read failed", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if limit <= 0 {
		limit = MaxApplications
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// NoVersionCheck, as the expected version, skips the version check.
const NoVersionCheck = -1

// change applies fn to the stored application by compare-and-swap,
// retrying on a concurrent commit (fn is then run on the newer record, so
// a version check inside sees the new version). version, unless
// NoVersionCheck, must be the application's current version; bump adds one
// to it.
func (s *Service) change(ctx context.Context, sc Scope, name string, version int64, bump bool, fn func(a *Application) error) (*Application, error) {
	sc = s.scope(sc)
	for attempt := 0; ; attempt++ {
		a, rev, err := s.load(ctx, sc, name)
		if err != nil {
			return nil, err
		}
		if version != NoVersionCheck && a.VersionID != version {
			return nil, errorf(KindConcurrentModification, "The application %s's current version is %d, not %d: describe it again and retry with the current version.", name, a.VersionID, version)
		}
		if err := fn(a); err != nil {
			return nil, err
		}
		if bump {
			a.VersionID++
			a.UpdatedMs = s.cfg.Now().UnixMilli()
		}
		b, _ := json.Marshal(a)
		key := appKey(sc, name)
		ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
		if err != nil {
			return nil, internal("metadata commit failed", err)
		}
		if ok {
			return a, nil
		}
		if attempt >= 20 {
			return nil, errorf(KindConcurrentModification, "Another request changed application %s at the same time; retry.", name)
		}
	}
}

func inTransition(a *Application) error {
	switch a.Status {
	case StatusReady, StatusRunning:
		return nil
	}
	return errorf(KindInUse, "Application %s is in the %s state: it cannot be changed until that completes.", a.Name, a.Status)
}

// reconfigure applies a versioned definition change; a running
// application goes through UPDATING while the runner applies it. A runner
// failure leaves the change committed (as on AWS, where the update is
// applied asynchronously) and is returned.
func (s *Service) reconfigure(ctx context.Context, sc Scope, name string, version int64, fn func(a *Application) error) (*Application, error) {
	running := false
	a, err := s.change(ctx, sc, name, version, true, func(a *Application) error {
		if err := inTransition(a); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		running = a.Status == StatusRunning
		if running {
			a.Status = StatusUpdating
		}
		return nil
	})
	if err != nil || !running {
		return a, err
	}
	rerr := s.getRunner().Update(ctx, a)
	a, err = s.setStatus(ctx, sc, name, StatusUpdating, StatusRunning)
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return a, &Error{Kind: KindInvalidConfiguration, Msg: "The running application could not apply the update: " + rerr.Error(), Err: rerr}
	}
	return a, nil
}

// setStatus moves the application from one status to another (nothing if
// it is no longer in from).
func (s *Service) setStatus(ctx context.Context, sc Scope, name, from, to string) (*Application, error) {
	return s.change(ctx, sc, name, NoVersionCheck, false, func(a *Application) error {
		if a.Status == from {
			a.Status = to
		}
		return nil
	})
}

// ApplicationUpdate is UpdateApplication's ApplicationUpdate (the v2
// API's SqlApplicationConfigurationUpdate maps onto it), with AWS's
// member names.
type ApplicationUpdate struct {
	ApplicationCodeUpdate          *string           `json:"ApplicationCodeUpdate,omitempty"`
	InputUpdates                   []InputUpdate     `json:"InputUpdates,omitempty"`
	OutputUpdates                  []OutputUpdate    `json:"OutputUpdates,omitempty"`
	ReferenceDataSourceUpdates     []ReferenceUpdate `json:"ReferenceDataSourceUpdates,omitempty"`
	CloudWatchLoggingOptionUpdates []LoggingUpdate   `json:"CloudWatchLoggingOptionUpdates,omitempty"`
	// ServiceExecutionRoleUpdate is the v2 API's.
	ServiceExecutionRoleUpdate string `json:"ServiceExecutionRoleUpdate,omitempty"`
}

// ResourceUpdate changes a Resource.
type ResourceUpdate struct {
	ResourceARNUpdate string `json:"ResourceARNUpdate,omitempty"`
	RoleARNUpdate     string `json:"RoleARNUpdate,omitempty"`
}

func (u *ResourceUpdate) apply(r *Resource) *Resource {
	if r == nil {
		r = &Resource{}
	}
	if u.ResourceARNUpdate != "" {
		r.ResourceARN = u.ResourceARNUpdate
	}
	if u.RoleARNUpdate != "" {
		r.RoleARN = u.RoleARNUpdate
	}
	return r
}

// InputUpdate changes the input.
type InputUpdate struct {
	InputID                            string          `json:"InputId"`
	NamePrefixUpdate                   string          `json:"NamePrefixUpdate,omitempty"`
	KinesisStreamsInputUpdate          *ResourceUpdate `json:"KinesisStreamsInputUpdate,omitempty"`
	KinesisFirehoseInputUpdate         *ResourceUpdate `json:"KinesisFirehoseInputUpdate,omitempty"`
	InputProcessingConfigurationUpdate *struct {
		InputLambdaProcessorUpdate *ResourceUpdate `json:"InputLambdaProcessorUpdate"`
	} `json:"InputProcessingConfigurationUpdate,omitempty"`
	InputSchemaUpdate *struct {
		RecordFormatUpdate   *RecordFormat  `json:"RecordFormatUpdate,omitempty"`
		RecordEncodingUpdate string         `json:"RecordEncodingUpdate,omitempty"`
		RecordColumnUpdates  []RecordColumn `json:"RecordColumnUpdates,omitempty"`
	} `json:"InputSchemaUpdate,omitempty"`
	InputParallelismUpdate *struct {
		CountUpdate int `json:"CountUpdate"`
	} `json:"InputParallelismUpdate,omitempty"`
}

// OutputUpdate changes an output.
type OutputUpdate struct {
	OutputID                    string             `json:"OutputId"`
	NameUpdate                  string             `json:"NameUpdate,omitempty"`
	KinesisStreamsOutputUpdate  *ResourceUpdate    `json:"KinesisStreamsOutputUpdate,omitempty"`
	KinesisFirehoseOutputUpdate *ResourceUpdate    `json:"KinesisFirehoseOutputUpdate,omitempty"`
	LambdaOutputUpdate          *ResourceUpdate    `json:"LambdaOutputUpdate,omitempty"`
	DestinationSchemaUpdate     *DestinationSchema `json:"DestinationSchemaUpdate,omitempty"`
}

// ReferenceUpdate changes the reference data source.
type ReferenceUpdate struct {
	ReferenceID                 string `json:"ReferenceId"`
	TableNameUpdate             string `json:"TableNameUpdate,omitempty"`
	S3ReferenceDataSourceUpdate *struct {
		BucketARNUpdate        string `json:"BucketARNUpdate,omitempty"`
		FileKeyUpdate          string `json:"FileKeyUpdate,omitempty"`
		ReferenceRoleARNUpdate string `json:"ReferenceRoleARNUpdate,omitempty"`
	} `json:"S3ReferenceDataSourceUpdate,omitempty"`
	ReferenceSchemaUpdate *SourceSchema `json:"ReferenceSchemaUpdate,omitempty"`
}

// LoggingUpdate changes a CloudWatch logging option.
type LoggingUpdate struct {
	CloudWatchLoggingOptionID string `json:"CloudWatchLoggingOptionId"`
	LogStreamARNUpdate        string `json:"LogStreamARNUpdate,omitempty"`
	RoleARNUpdate             string `json:"RoleARNUpdate,omitempty"`
}

// Update applies an ApplicationUpdate; version must be the current one.
func (s *Service) Update(ctx context.Context, sc Scope, name string, version int64, u ApplicationUpdate) (*Application, error) {
	if u.ApplicationCodeUpdate != nil {
		if err := s.validateCode(*u.ApplicationCodeUpdate); err != nil {
			return nil, err
		}
	}
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		if u.ApplicationCodeUpdate != nil {
			a.Code = *u.ApplicationCodeUpdate
		}
		if u.ServiceExecutionRoleUpdate != "" {
			a.ServiceExecutionRole = u.ServiceExecutionRoleUpdate
		}
		for _, iu := range u.InputUpdates {
			if err := applyInputUpdate(a, iu); err != nil {
				return err
			}
		}
		for _, ou := range u.OutputUpdates {
			i := indexOf(len(a.Outputs), func(i int) bool { return a.Outputs[i].OutputID == ou.OutputID })
			if i < 0 {
				return errorf(KindInvalidArgument, "Output %s not found in application %s.", ou.OutputID, a.Name)
			}
			o := a.Outputs[i]
			if ou.NameUpdate != "" {
				o.Name = ou.NameUpdate
			}
			if ou.DestinationSchemaUpdate != nil {
				o.DestinationSchema = *ou.DestinationSchemaUpdate
			}
			switch {
			case ou.KinesisStreamsOutputUpdate != nil:
				o.KinesisStreamsOutput, o.KinesisFirehoseOutput, o.LambdaOutput = ou.KinesisStreamsOutputUpdate.apply(o.KinesisStreamsOutput), nil, nil
			case ou.KinesisFirehoseOutputUpdate != nil:
				o.KinesisStreamsOutput, o.KinesisFirehoseOutput, o.LambdaOutput = nil, ou.KinesisFirehoseOutputUpdate.apply(o.KinesisFirehoseOutput), nil
			case ou.LambdaOutputUpdate != nil:
				o.KinesisStreamsOutput, o.KinesisFirehoseOutput, o.LambdaOutput = nil, nil, ou.LambdaOutputUpdate.apply(o.LambdaOutput)
			}
			if err := checkOutput(&o); err != nil {
				return err
			}
			a.Outputs[i] = o
		}
		for _, ru := range u.ReferenceDataSourceUpdates {
			i := indexOf(len(a.References), func(i int) bool { return a.References[i].ReferenceID == ru.ReferenceID })
			if i < 0 {
				return errorf(KindInvalidArgument, "Reference data source %s not found in application %s.", ru.ReferenceID, a.Name)
			}
			r := a.References[i]
			if ru.TableNameUpdate != "" {
				r.TableName = ru.TableNameUpdate
			}
			if su := ru.S3ReferenceDataSourceUpdate; su != nil {
				if su.BucketARNUpdate != "" {
					r.S3ReferenceDataSource.BucketARN = su.BucketARNUpdate
				}
				if su.FileKeyUpdate != "" {
					r.S3ReferenceDataSource.FileKey = su.FileKeyUpdate
				}
				if su.ReferenceRoleARNUpdate != "" {
					r.S3ReferenceDataSource.ReferenceRoleARN = su.ReferenceRoleARNUpdate
				}
			}
			if ru.ReferenceSchemaUpdate != nil {
				r.ReferenceSchema = *ru.ReferenceSchemaUpdate
			}
			if err := checkReference(&r); err != nil {
				return err
			}
			a.References[i] = r
		}
		for _, lu := range u.CloudWatchLoggingOptionUpdates {
			i := indexOf(len(a.Logging), func(i int) bool { return a.Logging[i].CloudWatchLoggingOptionID == lu.CloudWatchLoggingOptionID })
			if i < 0 {
				return errorf(KindInvalidArgument, "CloudWatch logging option %s not found in application %s.", lu.CloudWatchLoggingOptionID, a.Name)
			}
			if lu.LogStreamARNUpdate != "" {
				a.Logging[i].LogStreamARN = lu.LogStreamARNUpdate
			}
			if lu.RoleARNUpdate != "" {
				a.Logging[i].RoleARN = lu.RoleARNUpdate
			}
		}
		return nil
	})
}

func applyInputUpdate(a *Application, iu InputUpdate) error {
	i := indexOf(len(a.Inputs), func(i int) bool { return a.Inputs[i].InputID == iu.InputID })
	if i < 0 {
		return errorf(KindInvalidArgument, "Input %s not found in application %s.", iu.InputID, a.Name)
	}
	in := a.Inputs[i]
	if iu.NamePrefixUpdate != "" {
		in.NamePrefix = iu.NamePrefixUpdate
	}
	switch {
	case iu.KinesisStreamsInputUpdate != nil:
		in.KinesisStreamsInput, in.KinesisFirehoseInput = iu.KinesisStreamsInputUpdate.apply(in.KinesisStreamsInput), nil
	case iu.KinesisFirehoseInputUpdate != nil:
		in.KinesisStreamsInput, in.KinesisFirehoseInput = nil, iu.KinesisFirehoseInputUpdate.apply(in.KinesisFirehoseInput)
	}
	if pu := iu.InputProcessingConfigurationUpdate; pu != nil && pu.InputLambdaProcessorUpdate != nil {
		var cur *Resource
		if in.InputProcessingConfiguration != nil {
			cur = in.InputProcessingConfiguration.InputLambdaProcessor
		}
		in.InputProcessingConfiguration = &Processing{InputLambdaProcessor: pu.InputLambdaProcessorUpdate.apply(cur)}
	}
	if su := iu.InputSchemaUpdate; su != nil {
		if su.RecordFormatUpdate != nil {
			in.InputSchema.RecordFormat = *su.RecordFormatUpdate
		}
		if su.RecordEncodingUpdate != "" {
			in.InputSchema.RecordEncoding = su.RecordEncodingUpdate
		}
		if su.RecordColumnUpdates != nil {
			in.InputSchema.RecordColumns = su.RecordColumnUpdates
		}
	}
	if pu := iu.InputParallelismUpdate; pu != nil {
		in.InputParallelism = &Parallelism{Count: pu.CountUpdate}
	}
	if err := normalizeInput(&in); err != nil {
		return err
	}
	a.Inputs[i] = in
	return nil
}

func indexOf(n int, match func(int) bool) int {
	for i := 0; i < n; i++ {
		if match(i) {
			return i
		}
	}
	return -1
}

// AddInput adds the streaming source (an application has at most one).
func (s *Service) AddInput(ctx context.Context, sc Scope, name string, version int64, in Input) (*Application, error) {
	if err := normalizeInput(&in); err != nil {
		return nil, err
	}
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		if len(a.Inputs) >= MaxInputs {
			return errorf(KindInvalidArgument, "Application %s already has an input: an application can have only %d.", a.Name, MaxInputs)
		}
		in.InputID = nextID(&a.NextInput)
		a.Inputs = append(a.Inputs, in)
		return nil
	})
}

// SetInputProcessing sets (p non-nil) or removes (nil) an input's Lambda
// preprocessor.
func (s *Service) SetInputProcessing(ctx context.Context, sc Scope, name string, version int64, inputID string, p *Processing) (*Application, error) {
	if p != nil && (p.InputLambdaProcessor == nil || p.InputLambdaProcessor.ResourceARN == "") {
		return nil, errorf(KindInvalidArgument, "InputProcessingConfiguration needs an InputLambdaProcessor.")
	}
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		i := indexOf(len(a.Inputs), func(i int) bool { return a.Inputs[i].InputID == inputID })
		if i < 0 {
			return errorf(KindNotFound, "Input %s not found in application %s.", inputID, a.Name)
		}
		if p != nil && a.Inputs[i].InputProcessingConfiguration != nil {
			return errorf(KindInvalidArgument, "Input %s already has an input processing configuration.", inputID)
		}
		a.Inputs[i].InputProcessingConfiguration = p
		return nil
	})
}

// AddOutput adds a destination (at most three).
func (s *Service) AddOutput(ctx context.Context, sc Scope, name string, version int64, o Output) (*Application, error) {
	if err := checkOutput(&o); err != nil {
		return nil, err
	}
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		if len(a.Outputs) >= MaxOutputs {
			return errorf(KindInvalidArgument, "Application %s already has %d outputs, the most an application can have.", a.Name, MaxOutputs)
		}
		o.OutputID = nextID(&a.NextOutput)
		a.Outputs = append(a.Outputs, o)
		return nil
	})
}

// DeleteOutput removes a destination.
func (s *Service) DeleteOutput(ctx context.Context, sc Scope, name string, version int64, outputID string) (*Application, error) {
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		i := indexOf(len(a.Outputs), func(i int) bool { return a.Outputs[i].OutputID == outputID })
		if i < 0 {
			return errorf(KindNotFound, "Output %s not found in application %s.", outputID, a.Name)
		}
		a.Outputs = append(a.Outputs[:i], a.Outputs[i+1:]...)
		return nil
	})
}

// AddReference adds the reference data source (at most one).
func (s *Service) AddReference(ctx context.Context, sc Scope, name string, version int64, r ReferenceDataSource) (*Application, error) {
	if err := checkReference(&r); err != nil {
		return nil, err
	}
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		if len(a.References) >= MaxReferences {
			return errorf(KindInvalidArgument, "Application %s already has a reference data source: an application can have only %d.", a.Name, MaxReferences)
		}
		r.ReferenceID = nextID(&a.NextReference)
		a.References = append(a.References, r)
		return nil
	})
}

// DeleteReference removes the reference data source.
func (s *Service) DeleteReference(ctx context.Context, sc Scope, name string, version int64, id string) (*Application, error) {
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		i := indexOf(len(a.References), func(i int) bool { return a.References[i].ReferenceID == id })
		if i < 0 {
			return errorf(KindNotFound, "Reference data source %s not found in application %s.", id, a.Name)
		}
		a.References = append(a.References[:i], a.References[i+1:]...)
		return nil
	})
}

// AddLogging adds a CloudWatch logging option (one per log stream).
func (s *Service) AddLogging(ctx context.Context, sc Scope, name string, version int64, l LoggingOption) (*Application, error) {
	if l.LogStreamARN == "" {
		return nil, errorf(KindInvalidArgument, "CloudWatchLoggingOption needs a LogStreamARN.")
	}
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		for _, x := range a.Logging {
			if x.LogStreamARN == l.LogStreamARN {
				return errorf(KindInvalidArgument, "Application %s already logs to %s.", a.Name, l.LogStreamARN)
			}
		}
		l.CloudWatchLoggingOptionID = nextID(&a.NextLogging)
		a.Logging = append(a.Logging, l)
		return nil
	})
}

// DeleteLogging removes a CloudWatch logging option.
func (s *Service) DeleteLogging(ctx context.Context, sc Scope, name string, version int64, id string) (*Application, error) {
	return s.reconfigure(ctx, sc, name, version, func(a *Application) error {
		i := indexOf(len(a.Logging), func(i int) bool { return a.Logging[i].CloudWatchLoggingOptionID == id })
		if i < 0 {
			return errorf(KindNotFound, "CloudWatch logging option %s not found in application %s.", id, a.Name)
		}
		a.Logging = append(a.Logging[:i], a.Logging[i+1:]...)
		return nil
	})
}

// Start starts an application (READY → STARTING → RUNNING). positions
// maps InputId to NOW, TRIM_HORIZON or LAST_STOPPED_POINT; every input
// must be named.
func (s *Service) Start(ctx context.Context, sc Scope, name string, positions map[string]string) (*Application, error) {
	sc = s.scope(sc)
	a, err := s.change(ctx, sc, name, NoVersionCheck, false, func(a *Application) error {
		if a.Status != StatusReady {
			return errorf(KindInUse, "Application %s is in the %s state: only a READY application can be started.", a.Name, a.Status)
		}
		if len(a.Inputs) == 0 {
			return errorf(KindInvalidConfiguration, "Application %s has no input to start from: add one with AddApplicationInput.", a.Name)
		}
		for id, p := range positions {
			i := indexOf(len(a.Inputs), func(i int) bool { return a.Inputs[i].InputID == id })
			if i < 0 {
				return errorf(KindInvalidArgument, "Input %s not found in application %s.", id, a.Name)
			}
			switch p {
			case PositionNow, PositionTrimHorizon, PositionLastStoppedPoint:
			case "":
				p = PositionNow
			default:
				return errorf(KindInvalidArgument, "InputStartingPosition must be NOW, TRIM_HORIZON or LAST_STOPPED_POINT, not %s.", p)
			}
			a.Inputs[i].StartingPosition = &StartingPosition{InputStartingPosition: p}
		}
		for _, in := range a.Inputs {
			if _, ok := positions[in.InputID]; !ok {
				return errorf(KindInvalidArgument, "No input configuration was given for input %s.", in.InputID)
			}
		}
		a.Status = StatusStarting
		return nil
	})
	if err != nil {
		return nil, err
	}
	start := map[string]string{}
	for _, in := range a.Inputs {
		start[in.InputID] = in.StartingPosition.InputStartingPosition
	}
	if rerr := s.getRunner().Start(ctx, a, start); rerr != nil {
		if _, err := s.setStatus(ctx, sc, name, StatusStarting, StatusReady); err != nil {
			return nil, err
		}
		return nil, &Error{Kind: KindInvalidConfiguration, Msg: "Application " + name + " could not be started: " + rerr.Error(), Err: rerr}
	}
	return s.setStatus(ctx, sc, name, StatusStarting, StatusRunning)
}

// Stop stops a running application (RUNNING → STOPPING → READY).
func (s *Service) Stop(ctx context.Context, sc Scope, name string) (*Application, error) {
	sc = s.scope(sc)
	a, err := s.change(ctx, sc, name, NoVersionCheck, false, func(a *Application) error {
		if a.Status != StatusRunning {
			return errorf(KindInUse, "Application %s is in the %s state: only a RUNNING application can be stopped.", a.Name, a.Status)
		}
		a.Status = StatusStopping
		return nil
	})
	if err != nil {
		return nil, err
	}
	rerr := s.getRunner().Stop(ctx, a.Ref())
	a, err = s.setStatus(ctx, sc, name, StatusStopping, StatusReady)
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return a, &Error{Kind: KindUnavailable, Msg: "Application " + name + " did not stop cleanly: " + rerr.Error(), Err: rerr}
	}
	return a, nil
}

// SavePositions records where the runner stopped reading an input (shard
// id → last sequence number read), for LAST_STOPPED_POINT. It does not
// change the application's version.
func (s *Service) SavePositions(ctx context.Context, ref AppRef, inputID string, shards map[string]string) error {
	_, err := s.change(ctx, Scope{Account: ref.Account, Region: ref.Region}, ref.Name, NoVersionCheck, false, func(a *Application) error {
		if a.StoppedPositions == nil {
			a.StoppedPositions = map[string]map[string]string{}
		}
		cp := make(map[string]string, len(shards))
		for k, v := range shards {
			cp[k] = v
		}
		a.StoppedPositions[inputID] = cp
		return nil
	})
	return err
}

// Delete deletes an application; createMs must be its creation time (unix
// ms, as DescribeApplication gave it, or its whole second). A running application is stopped
// first.
func (s *Service) Delete(ctx context.Context, sc Scope, name string, createMs int64) error {
	sc = s.scope(sc)
	was := ""
	a, err := s.change(ctx, sc, name, NoVersionCheck, false, func(a *Application) error {
		if !sameCreateTime(a.CreatedMs, createMs) {
			return errorf(KindConcurrentModification, "The CreateTimestamp given does not match application %s's: describe it again and retry with its CreateTimestamp.", a.Name)
		}
		switch a.Status {
		case StatusStarting, StatusStopping, StatusUpdating, StatusDeleting:
			return errorf(KindInUse, "Application %s is in the %s state: it cannot be deleted until that completes.", a.Name, a.Status)
		}
		was = a.Status
		a.Status = StatusDeleting
		return nil
	})
	if err != nil {
		return err
	}
	if was == StatusRunning {
		if err := s.getRunner().Stop(ctx, a.Ref()); err != nil {
			// Still running: it stays, as it was.
			if _, serr := s.setStatus(ctx, sc, name, StatusDeleting, StatusRunning); serr != nil {
				return serr
			}
			return &Error{Kind: KindUnavailable, Msg: "Application " + name + " could not be stopped for deletion: " + err.Error(), Err: err}
		}
	}
	if _, _, err := s.meta.Commit(ctx, nil, nil, []string{appKey(sc, name)}); err != nil {
		return internal("metadata commit failed", err)
	}
	return nil
}

// sameCreateTime reports whether given names the creation time created:
// the same millisecond, or, given in whole seconds (as the AWS CLI sends
// timestamps), the same second.
func sameCreateTime(created, given int64) bool {
	return given == created || given%1000 == 0 && given/1000 == created/1000
}

// MillisOf converts an API timestamp (seconds, with milliseconds as the
// fraction) to unix milliseconds.
func MillisOf(seconds float64) int64 { return int64(math.Round(seconds * 1000)) }

// Tag adds or replaces tags (at most MaxTags in all).
func (s *Service) Tag(ctx context.Context, ref AppRef, tags []Tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	_, err := s.change(ctx, Scope{Account: ref.Account, Region: ref.Region}, ref.Name, NoVersionCheck, false, func(a *Application) error {
		for _, t := range tags {
			i := indexOf(len(a.Tags), func(i int) bool { return a.Tags[i].Key == t.Key })
			if i >= 0 {
				a.Tags[i].Value = t.Value
				continue
			}
			a.Tags = append(a.Tags, t)
		}
		if len(a.Tags) > MaxTags {
			return errorf(KindTooManyTags, "Application %s would have %d tags; an application can have at most %d.", a.Name, len(a.Tags), MaxTags)
		}
		return nil
	})
	return err
}

// Untag removes tags by key.
func (s *Service) Untag(ctx context.Context, ref AppRef, keys []string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, "aws:") {
			return errorf(KindInvalidArgument, "Tag keys must not start with aws: (%s).", k)
		}
	}
	_, err := s.change(ctx, Scope{Account: ref.Account, Region: ref.Region}, ref.Name, NoVersionCheck, false, func(a *Application) error {
		drop := map[string]bool{}
		for _, k := range keys {
			drop[k] = true
		}
		kept := a.Tags[:0]
		for _, t := range a.Tags {
			if !drop[t.Key] {
				kept = append(kept, t)
			}
		}
		a.Tags = kept
		return nil
	})
	return err
}

// Tags lists an application's tags in key order.
func (s *Service) Tags(ctx context.Context, ref AppRef) ([]Tag, error) {
	a, _, err := s.load(ctx, Scope{Account: ref.Account, Region: ref.Region}, ref.Name)
	if err != nil {
		return nil, err
	}
	tags := append([]Tag{}, a.Tags...)
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	return tags, nil
}

// Recover settles what a previous process left in a transient status
// (it stopped between two commits of a transition): STARTING and STOPPING
// become READY (nothing runs them now), UPDATING becomes RUNNING (the
// update is committed), DELETING finishes. It returns the RUNNING
// applications, which the SQL engine restarts from their stopped
// positions once it is attached. Called once at startup, before serving.
func (s *Service) Recover(ctx context.Context) ([]*Application, error) {
	type fix struct {
		sc   Scope
		name string
		from string
	}
	var fixes []fix
	err := s.meta.Scan(ctx, prefixApp, func(_ string, v []byte, _ uint64) error {
		var a Application
		if json.Unmarshal(v, &a) != nil {
			return nil
		}
		switch a.Status {
		case StatusStarting, StatusStopping, StatusUpdating, StatusDeleting:
			fixes = append(fixes, fix{Scope{Account: a.Account, Region: a.Region}, a.Name, a.Status})
		}
		return nil
	})
	if err != nil {
		return nil, internal("metadata read failed", err)
	}
	for _, f := range fixes {
		switch f.from {
		case StatusDeleting:
			if _, _, err := s.meta.Commit(ctx, nil, nil, []string{appKey(f.sc, f.name)}); err != nil {
				return nil, internal("metadata commit failed", err)
			}
		case StatusUpdating:
			if _, err := s.setStatus(ctx, f.sc, f.name, f.from, StatusRunning); err != nil {
				return nil, err
			}
		default:
			if _, err := s.setStatus(ctx, f.sc, f.name, f.from, StatusReady); err != nil {
				return nil, err
			}
		}
	}
	var running []*Application
	err = s.meta.Scan(ctx, prefixApp, func(_ string, v []byte, _ uint64) error {
		var a Application
		if json.Unmarshal(v, &a) == nil && a.Status == StatusRunning {
			running = append(running, &a)
		}
		return nil
	})
	if err != nil {
		return nil, internal("metadata read failed", err)
	}
	return running, nil
}
