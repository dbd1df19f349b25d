package analytics

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/metastore"
)

var sc = Scope{Account: "123456789012", Region: "us-east-1"}

func newService(t *testing.T) *Service {
	t.Helper()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	var mu sync.Mutex
	clock := time.UnixMilli(1_700_000_000_123)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	return New(Config{Account: sc.Account, Now: now}, meta)
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func wantKind(t *testing.T, err error, k Kind) {
	t.Helper()
	if kindOf(err) != k {
		t.Fatalf("error %v (kind %d), want kind %d", err, kindOf(err), k)
	}
}

func jsonInput(prefix string, count int) Input {
	return Input{NamePrefix: prefix, KinesisStreamsInput: &Resource{ResourceARN: "arn:aws:kinesis:us-east-1:123456789012:stream/in", RoleARN: "arn:aws:iam::123456789012:role/r"},
		InputParallelism: &Parallelism{Count: count},
		InputSchema: SourceSchema{RecordFormat: RecordFormat{RecordFormatType: "JSON", MappingParameters: &MappingParameters{JSONMappingParameters: &JSONMapping{RecordRowPath: "$"}}},
			RecordColumns: []RecordColumn{{Name: "TICKER", Mapping: "$.TICKER", SqlType: "VARCHAR(4)"}}}}
}

func streamOutput(name string) Output {
	return Output{Name: name, DestinationSchema: DestinationSchema{RecordFormatType: "JSON"},
		KinesisStreamsOutput: &Resource{ResourceARN: "arn:aws:kinesis:us-east-1:123456789012:stream/out", RoleARN: "arn:aws:iam::123456789012:role/r"}}
}

func TestCreateDescribeIDsAndNames(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	a, err := s.Create(ctx, sc, CreateInput{Name: "app.1_x-y", Code: "CREATE STREAM x;", Inputs: []Input{jsonInput("SOURCE_SQL_STREAM", 3)},
		Outputs: []Output{streamOutput("DEST")}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ARN() != "arn:aws:kinesisanalytics:us-east-1:123456789012:application/app.1_x-y" || a.Status != StatusReady || a.VersionID != 1 {
		t.Fatalf("created %+v (ARN %s)", a, a.ARN())
	}
	got, err := s.Get(ctx, sc, "app.1_x-y")
	if err != nil {
		t.Fatal(err)
	}
	in := got.Inputs[0]
	if in.InputID != "1.1" || !reflect.DeepEqual(in.InAppStreamNames, []string{"SOURCE_SQL_STREAM_001", "SOURCE_SQL_STREAM_002", "SOURCE_SQL_STREAM_003"}) ||
		in.InputSchema.RecordEncoding != "UTF-8" {
		t.Fatalf("input %+v", in)
	}
	if got.Outputs[0].OutputID != "1.1" {
		t.Fatalf("output id %s", got.Outputs[0].OutputID)
	}
	if ref, ok := ParseARN(a.ARN()); !ok || ref != a.Ref() {
		t.Fatalf("ParseARN %v %v", ref, ok)
	}
	_, err = s.Create(ctx, sc, CreateInput{Name: "app.1_x-y"})
	wantKind(t, err, KindInUse)
	_, err = s.Get(ctx, sc, "nope")
	wantKind(t, err, KindNotFound)
}

func TestCreateLimits(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	long := strings.Repeat("a", 129)
	cases := []struct {
		name string
		in   CreateInput
		kind Kind
	}{
		{"bad name", CreateInput{Name: "a b"}, KindInvalidArgument},
		{"long name", CreateInput{Name: long}, KindInvalidArgument},
		{"long description", CreateInput{Name: "a", Description: strings.Repeat("d", 1025)}, KindInvalidArgument},
		{"long code", CreateInput{Name: "a", Code: strings.Repeat("c", 102401)}, KindInvalidArgument},
		{"two inputs", CreateInput{Name: "a", Inputs: []Input{jsonInput("A", 1), jsonInput("B", 1)}}, KindInvalidArgument},
		{"four outputs", CreateInput{Name: "a", Outputs: []Output{streamOutput("A"), streamOutput("B"), streamOutput("C"), streamOutput("D")}}, KindInvalidArgument},
		{"parallelism 65", CreateInput{Name: "a", Inputs: []Input{jsonInput("A", 65)}}, KindInvalidArgument},
		{"no source", CreateInput{Name: "a", Inputs: []Input{{NamePrefix: "A", InputSchema: jsonInput("A", 1).InputSchema}}}, KindInvalidArgument},
		{"51 tags", CreateInput{Name: "a", Tags: make([]Tag, 51)}, KindTooManyTags},
		{"aws: tag", CreateInput{Name: "a", Tags: []Tag{{Key: "aws:x"}}}, KindInvalidArgument},
		{"flink", CreateInput{Name: "a", Runtime: "FLINK-1_15"}, KindUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Create(ctx, sc, c.in)
			wantKind(t, err, c.kind)
		})
	}
	s.cfg.ApplicationLimit = 2
	for i := range 2 {
		if _, err := s.Create(ctx, sc, CreateInput{Name: fmt.Sprint("app", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Create(ctx, sc, CreateInput{Name: "app9"})
	wantKind(t, err, KindLimitExceeded)
	// Another region has its own quota.
	if _, err := s.Create(ctx, Scope{Account: sc.Account, Region: "eu-west-1"}, CreateInput{Name: "app9"}); err != nil {
		t.Fatal(err)
	}
}

func TestVersionsAndConcurrentModification(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, sc, CreateInput{Name: "v"}); err != nil {
		t.Fatal(err)
	}
	code := "-- v2"
	a, err := s.Update(ctx, sc, "v", 1, ApplicationUpdate{ApplicationCodeUpdate: &code})
	if err != nil || a.VersionID != 2 || a.Code != code {
		t.Fatalf("update: %+v %v", a, err)
	}
	_, err = s.Update(ctx, sc, "v", 1, ApplicationUpdate{ApplicationCodeUpdate: &code})
	wantKind(t, err, KindConcurrentModification)
	a, err = s.AddInput(ctx, sc, "v", 2, jsonInput("SRC", 1))
	if err != nil || a.VersionID != 3 || a.Inputs[0].InputID != "1.1" {
		t.Fatalf("add input: %+v %v", a, err)
	}
	_, err = s.AddInput(ctx, sc, "v", 3, jsonInput("SRC2", 1))
	wantKind(t, err, KindInvalidArgument)
	for i, name := range []string{"A", "B", "C"} {
		a, err = s.AddOutput(ctx, sc, "v", a.VersionID, streamOutput(name))
		if err != nil || a.Outputs[i].OutputID != fmt.Sprintf("%d.1", i+1) {
			t.Fatalf("add output %d: %+v %v", i, a, err)
		}
	}
	_, err = s.AddOutput(ctx, sc, "v", a.VersionID, streamOutput("D"))
	wantKind(t, err, KindInvalidArgument)
	a, err = s.DeleteOutput(ctx, sc, "v", a.VersionID, "2.1")
	if err != nil || len(a.Outputs) != 2 {
		t.Fatalf("delete output: %v", err)
	}
	// Ids are never reused.
	a, err = s.AddOutput(ctx, sc, "v", a.VersionID, streamOutput("E"))
	if err != nil || a.Outputs[2].OutputID != "4.1" {
		t.Fatalf("re-add output: %+v %v", a.Outputs, err)
	}
	_, err = s.DeleteOutput(ctx, sc, "v", a.VersionID, "9.1")
	wantKind(t, err, KindNotFound)
	// Input update: parallelism renames the in-app streams.
	a, err = s.Update(ctx, sc, "v", a.VersionID, ApplicationUpdate{InputUpdates: []InputUpdate{{InputID: "1.1", NamePrefixUpdate: "IN",
		InputParallelismUpdate: &struct {
			CountUpdate int `json:"CountUpdate"`
		}{2}}}})
	if err != nil || !reflect.DeepEqual(a.Inputs[0].InAppStreamNames, []string{"IN_001", "IN_002"}) {
		t.Fatalf("input update: %+v %v", a.Inputs, err)
	}
	p := &Processing{InputLambdaProcessor: &Resource{ResourceARN: "arn:aws:lambda:us-east-1:123456789012:function:f"}}
	v := a.VersionID
	if a, err = s.SetInputProcessing(ctx, sc, "v", v, "1.1", p); err != nil || a.Inputs[0].InputProcessingConfiguration == nil {
		t.Fatal(err)
	}
	if a, err = s.SetInputProcessing(ctx, sc, "v", a.VersionID, "1.1", nil); err != nil || a.Inputs[0].InputProcessingConfiguration != nil {
		t.Fatal(err)
	}
	ref := ReferenceDataSource{TableName: "T", S3ReferenceDataSource: S3Reference{BucketARN: "arn:aws:s3:::b", FileKey: "k"}, ReferenceSchema: jsonInput("X", 1).InputSchema}
	if a, err = s.AddReference(ctx, sc, "v", a.VersionID, ref); err != nil || a.References[0].ReferenceID != "1.1" {
		t.Fatal(err)
	}
	_, err = s.AddReference(ctx, sc, "v", a.VersionID, ref)
	wantKind(t, err, KindInvalidArgument)
	if a, err = s.DeleteReference(ctx, sc, "v", a.VersionID, "1.1"); err != nil {
		t.Fatal(err)
	}
	if a, err = s.AddLogging(ctx, sc, "v", a.VersionID, LoggingOption{LogStreamARN: "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s"}); err != nil || a.Logging[0].CloudWatchLoggingOptionID != "1.1" {
		t.Fatal(err)
	}
	if a, err = s.DeleteLogging(ctx, sc, "v", a.VersionID, "1.1"); err != nil || len(a.Logging) != 0 {
		t.Fatal(err)
	}
}

type fakeRunner struct {
	mu      sync.Mutex
	calls   []string
	fail    error
	started *Application
}

func (f *fakeRunner) Start(_ context.Context, a *Application, pos map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start "+a.Status+" "+pos["1.1"])
	f.started = a
	return f.fail
}
func (f *fakeRunner) Stop(_ context.Context, r AppRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+r.Name)
	return nil
}
func (f *fakeRunner) Update(_ context.Context, a *Application) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "update "+a.Status)
	return nil
}

func TestLifecycleThroughRunner(t *testing.T) {
	s := newService(t)
	r := &fakeRunner{}
	s.SetRunner(r)
	ctx := context.Background()
	if _, err := s.Create(ctx, sc, CreateInput{Name: "l"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Start(ctx, sc, "l", map[string]string{"1.1": "NOW"})
	wantKind(t, err, KindInvalidConfiguration) // no input
	if _, err := s.AddInput(ctx, sc, "l", 1, jsonInput("S", 1)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Start(ctx, sc, "l", map[string]string{"2.1": "NOW"})
	wantKind(t, err, KindInvalidArgument)
	_, err = s.Stop(ctx, sc, "l")
	wantKind(t, err, KindInUse)
	a, err := s.Start(ctx, sc, "l", map[string]string{"1.1": "TRIM_HORIZON"})
	if err != nil || a.Status != StatusRunning || a.Inputs[0].StartingPosition.InputStartingPosition != "TRIM_HORIZON" {
		t.Fatalf("start: %+v %v", a, err)
	}
	_, err = s.Start(ctx, sc, "l", map[string]string{"1.1": "NOW"})
	wantKind(t, err, KindInUse)
	// A live update goes through UPDATING back to RUNNING.
	code := "-- new"
	if a, err = s.Update(ctx, sc, "l", a.VersionID, ApplicationUpdate{ApplicationCodeUpdate: &code}); err != nil || a.Status != StatusRunning {
		t.Fatalf("update: %+v %v", a, err)
	}
	if err := s.SavePositions(ctx, a.Ref(), "1.1", map[string]string{"shardId-000000000000": "49"}); err != nil {
		t.Fatal(err)
	}
	if a, err = s.Stop(ctx, sc, "l"); err != nil || a.Status != StatusReady {
		t.Fatalf("stop: %+v %v", a, err)
	}
	if a, err = s.Start(ctx, sc, "l", map[string]string{"1.1": "LAST_STOPPED_POINT"}); err != nil {
		t.Fatal(err)
	}
	if got := r.started.StoppedPositions["1.1"]["shardId-000000000000"]; got != "49" {
		t.Fatalf("stopped positions not handed to the runner: %v", r.started.StoppedPositions)
	}
	if a.VersionID != 3 { // create 1, add input 2, update 3
		t.Fatalf("start/stop/positions changed the version: %d", a.VersionID)
	}
	want := []string{"start STARTING TRIM_HORIZON", "update UPDATING", "stop l", "start STARTING LAST_STOPPED_POINT"}
	if !reflect.DeepEqual(r.calls, want) {
		t.Fatalf("runner calls %q, want %q", r.calls, want)
	}
	// A failing start leaves the application READY.
	if _, err = s.Stop(ctx, sc, "l"); err != nil {
		t.Fatal(err)
	}
	r.fail = errors.New("boom")
	_, err = s.Start(ctx, sc, "l", map[string]string{"1.1": "NOW"})
	wantKind(t, err, KindInvalidConfiguration)
	if a, _ = s.Get(ctx, sc, "l"); a.Status != StatusReady {
		t.Fatalf("status after failed start %s", a.Status)
	}
}

func TestDeleteNeedsCreateTimestamp(t *testing.T) {
	s := newService(t)
	r := &fakeRunner{}
	s.SetRunner(r)
	ctx := context.Background()
	a, err := s.Create(ctx, sc, CreateInput{Name: "d", Inputs: []Input{jsonInput("S", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.Delete(ctx, sc, "d", a.CreatedMs+1), KindConcurrentModification)
	wantKind(t, s.Delete(ctx, sc, "d", (a.CreatedMs/1000+1)*1000), KindConcurrentModification)
	if !sameCreateTime(a.CreatedMs, a.CreatedMs/1000*1000) {
		t.Fatal("the creation time in whole seconds (the AWS CLI's) does not match")
	}
	if _, err := s.Start(ctx, sc, "d", map[string]string{"1.1": "NOW"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, sc, "d", MillisOf(float64(a.CreatedMs)/1000)); err != nil {
		t.Fatal(err)
	}
	if r.calls[len(r.calls)-1] != "stop d" {
		t.Fatalf("running application not stopped before deletion: %q", r.calls)
	}
	_, err = s.Get(ctx, sc, "d")
	wantKind(t, err, KindNotFound)
	wantKind(t, s.Delete(ctx, sc, "d", a.CreatedMs), KindNotFound)
}

func TestCodeValidator(t *testing.T) {
	s := newService(t)
	s.SetCodeValidator(func(code string) error {
		if strings.Contains(code, "bad") {
			return &CodeError{Line: 2, Column: 5, Msg: "unexpected bad"}
		}
		return nil
	})
	ctx := context.Background()
	_, err := s.Create(ctx, sc, CreateInput{Name: "c", Code: "ok\n    bad"})
	wantKind(t, err, KindCodeValidation)
	if !strings.Contains(err.Error(), "line 2, column 5") {
		t.Fatalf("message %q", err)
	}
	var ce *CodeError
	if !errors.As(err, &ce) {
		t.Fatal("the CodeError is not reachable")
	}
	if _, err := s.Create(ctx, sc, CreateInput{Name: "c", Code: "fine"}); err != nil {
		t.Fatal(err)
	}
	bad := "bad"
	_, err = s.Update(ctx, sc, "c", 1, ApplicationUpdate{ApplicationCodeUpdate: &bad})
	wantKind(t, err, KindCodeValidation)
}

func TestListAndTags(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	for _, n := range []string{"c", "a", "b"} {
		if _, err := s.Create(ctx, sc, CreateInput{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	l, more, err := s.List(ctx, sc, "", 2)
	if err != nil || !more || len(l) != 2 || l[0].Name != "a" || l[1].Name != "b" {
		t.Fatalf("list %v %v %v", l, more, err)
	}
	l, more, _ = s.List(ctx, sc, "b", 2)
	if more || len(l) != 1 || l[0].Name != "c" {
		t.Fatalf("second page %v %v", l, more)
	}
	ref := AppRef{Account: sc.Account, Region: sc.Region, Name: "a"}
	if err := s.Tag(ctx, ref, []Tag{{Key: "z", Value: "1"}, {Key: "k", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, ref, []Tag{{Key: "k", Value: "3"}}); err != nil {
		t.Fatal(err)
	}
	tags, _ := s.Tags(ctx, ref)
	if !reflect.DeepEqual(tags, []Tag{{Key: "k", Value: "3"}, {Key: "z", Value: "1"}}) {
		t.Fatalf("tags %v", tags)
	}
	many := make([]Tag, 49)
	for i := range many {
		many[i] = Tag{Key: fmt.Sprint("t", i)}
	}
	wantKind(t, s.Tag(ctx, ref, many), KindTooManyTags)
	if err := s.Untag(ctx, ref, []string{"z"}); err != nil {
		t.Fatal(err)
	}
	tags, _ = s.Tags(ctx, ref)
	if len(tags) != 1 {
		t.Fatalf("after untag %v", tags)
	}
	wantKind(t, s.Tag(ctx, AppRef{Account: sc.Account, Region: sc.Region, Name: "zz"}, nil), KindNotFound)
}

func TestConcurrentUpdatesOneWins(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, sc, CreateInput{Name: "race"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := fmt.Sprint("-- ", i)
			_, err := s.Update(ctx, sc, "race", 1, ApplicationUpdate{ApplicationCodeUpdate: &code})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if kindOf(err) != KindConcurrentModification {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d updates of version 1 won", wins)
	}
}

type failingStop struct{ fakeRunner }

func (f *failingStop) Stop(context.Context, AppRef) error { return errors.New("stuck") }

func TestDeleteKeepsARunningApplicationThatWillNotStop(t *testing.T) {
	s := newService(t)
	s.SetRunner(&failingStop{})
	ctx := context.Background()
	a, err := s.Create(ctx, sc, CreateInput{Name: "d", Inputs: []Input{jsonInput("S", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, sc, "d", map[string]string{"1.1": "NOW"}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.Delete(ctx, sc, "d", a.CreatedMs), KindUnavailable)
	if a, _ = s.Get(ctx, sc, "d"); a.Status != StatusRunning {
		t.Fatalf("status %s", a.Status)
	}
}

// A process that stopped mid-transition leaves transient statuses; the
// next one settles them.
func TestRecoverSettlesTransientStatuses(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	for _, st := range []string{StatusStarting, StatusStopping, StatusUpdating, StatusDeleting, StatusRunning, StatusReady} {
		if _, err := s.Create(ctx, sc, CreateInput{Name: st}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.change(ctx, sc, st, NoVersionCheck, false, func(a *Application) error { a.Status = st; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	running, err := s.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range running {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "RUNNING,UPDATING" {
		t.Fatalf("running after recovery: %v", names)
	}
	for name, want := range map[string]string{StatusStarting: StatusReady, StatusStopping: StatusReady, StatusUpdating: StatusRunning, StatusReady: StatusReady} {
		if a, _ := s.Get(ctx, sc, name); a.Status != want {
			t.Errorf("%s: %s, want %s", name, a.Status, want)
		}
	}
	_, err = s.Get(ctx, sc, StatusDeleting)
	wantKind(t, err, KindNotFound)
}
