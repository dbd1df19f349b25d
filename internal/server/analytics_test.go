package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ka "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics"
	kat "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics/types"
	ka2 "github.com/aws/aws-sdk-go-v2/service/kinesisanalyticsv2"
	ka2t "github.com/aws/aws-sdk-go-v2/service/kinesisanalyticsv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rheos/rheos/internal/sdktest"
)

func (ts *testServer) analyticsClients() (*ka.Client, *ka2.Client) {
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	return ka.New(ka.Options{Region: region, BaseEndpoint: aws.String(ts.url), Credentials: creds, Retryer: aws.NopRetryer{}, HTTPClient: sdktest.HTTPClient(nil)}),
		ka2.New(ka2.Options{Region: region, BaseEndpoint: aws.String(ts.url), Credentials: creds, Retryer: aws.NopRetryer{}, HTTPClient: sdktest.HTTPClient(nil)})
}

func analyticsInput(streamARN string) kat.Input {
	return kat.Input{NamePrefix: aws.String("SOURCE_SQL_STREAM"),
		KinesisStreamsInput: &kat.KinesisStreamsInput{ResourceARN: aws.String(streamARN), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")},
		InputParallelism:    &kat.InputParallelism{Count: aws.Int32(2)},
		InputSchema: &kat.SourceSchema{
			RecordFormat: &kat.RecordFormat{RecordFormatType: kat.RecordFormatTypeJson,
				MappingParameters: &kat.MappingParameters{JSONMappingParameters: &kat.JSONMappingParameters{RecordRowPath: aws.String("$")}}},
			RecordColumns: []kat.RecordColumn{{Name: aws.String("TICKER"), SqlType: aws.String("VARCHAR(4)"), Mapping: aws.String("$.TICKER")}},
		}}
}

func analyticsOutput(name string) kat.Output {
	return kat.Output{Name: aws.String(name), DestinationSchema: &kat.DestinationSchema{RecordFormatType: kat.RecordFormatTypeJson},
		KinesisStreamsOutput: &kat.KinesisStreamsOutput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/out"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")}}
}

func TestAnalyticsV1Lifecycle(t *testing.T) {
	ts := newServer(t)
	ts.createStream(t, "in", 1) // the input StartApplication reads
	c, _ := ts.analyticsClients()
	ctx := context.Background()
	out, err := c.CreateApplication(ctx, &ka.CreateApplicationInput{ApplicationName: aws.String("app1"), ApplicationCode: aws.String("-- code"),
		Inputs: []kat.Input{analyticsInput("arn:aws:kinesis:us-east-1:000000000000:stream/in")}, Outputs: []kat.Output{analyticsOutput("DEST")},
		Tags: []kat.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	s := out.ApplicationSummary
	if aws.ToString(s.ApplicationARN) != "arn:aws:kinesisanalytics:us-east-1:000000000000:application/app1" || s.ApplicationStatus != kat.ApplicationStatusReady {
		t.Fatalf("summary %+v", s)
	}
	_, err = c.CreateApplication(ctx, &ka.CreateApplicationInput{ApplicationName: aws.String("app1")})
	var inUse *kat.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("second create: %v", err)
	}
	d, err := c.DescribeApplication(ctx, &ka.DescribeApplicationInput{ApplicationName: aws.String("app1")})
	if err != nil {
		t.Fatal(err)
	}
	det := d.ApplicationDetail
	in := det.InputDescriptions[0]
	if aws.ToInt64(det.ApplicationVersionId) != 1 || aws.ToString(in.InputId) != "1.1" || strings.Join(in.InAppStreamNames, ",") != "SOURCE_SQL_STREAM_001,SOURCE_SQL_STREAM_002" ||
		aws.ToString(det.OutputDescriptions[0].OutputId) != "1.1" || aws.ToString(det.ApplicationCode) != "-- code" || det.CreateTimestamp == nil {
		t.Fatalf("detail %+v", det)
	}
	if aws.ToString(in.KinesisStreamsInputDescription.ResourceARN) != "arn:aws:kinesis:us-east-1:000000000000:stream/in" || aws.ToString(in.InputSchema.RecordColumns[0].Mapping) != "$.TICKER" {
		t.Fatalf("input %+v", in)
	}
	// A stale version is refused.
	_, err = c.UpdateApplication(ctx, &ka.UpdateApplicationInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(7),
		ApplicationUpdate: &kat.ApplicationUpdate{ApplicationCodeUpdate: aws.String("-- v2")}})
	var cme *kat.ConcurrentModificationException
	if !errors.As(err, &cme) {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := c.UpdateApplication(ctx, &ka.UpdateApplicationInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(1),
		ApplicationUpdate: &kat.ApplicationUpdate{ApplicationCodeUpdate: aws.String("-- v2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddApplicationOutput(ctx, &ka.AddApplicationOutputInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(2), Output: ptr(analyticsOutput("DEST2"))}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddApplicationInput(ctx, &ka.AddApplicationInputInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(3), Input: ptr(analyticsInput("arn:aws:kinesis:us-east-1:000000000000:stream/in"))})
	var inv *kat.InvalidArgumentException
	if !errors.As(err, &inv) {
		t.Fatalf("second input: %v", err)
	}
	if _, err := c.AddApplicationCloudWatchLoggingOption(ctx, &ka.AddApplicationCloudWatchLoggingOptionInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(3),
		CloudWatchLoggingOption: &kat.CloudWatchLoggingOption{LogStreamARN: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:s"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddApplicationReferenceDataSource(ctx, &ka.AddApplicationReferenceDataSourceInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(4),
		ReferenceDataSource: &kat.ReferenceDataSource{TableName: aws.String("REF"), ReferenceSchema: analyticsInput("").InputSchema,
			S3ReferenceDataSource: &kat.S3ReferenceDataSource{BucketARN: aws.String("arn:aws:s3:::b"), FileKey: aws.String("k"), ReferenceRoleARN: aws.String("arn:aws:iam::000000000000:role/r")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddApplicationInputProcessingConfiguration(ctx, &ka.AddApplicationInputProcessingConfigurationInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(5), InputId: aws.String("1.1"),
		InputProcessingConfiguration: &kat.InputProcessingConfiguration{InputLambdaProcessor: &kat.InputLambdaProcessor{ResourceARN: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")}}}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeApplication(ctx, &ka.DescribeApplicationInput{ApplicationName: aws.String("app1")})
	det = d.ApplicationDetail
	if aws.ToInt64(det.ApplicationVersionId) != 6 || len(det.OutputDescriptions) != 2 || aws.ToString(det.OutputDescriptions[1].OutputId) != "2.1" ||
		aws.ToString(det.CloudWatchLoggingOptionDescriptions[0].CloudWatchLoggingOptionId) != "1.1" || aws.ToString(det.ReferenceDataSourceDescriptions[0].ReferenceId) != "1.1" ||
		det.InputDescriptions[0].InputProcessingConfigurationDescription == nil {
		t.Fatalf("after adds %+v", det)
	}
	for _, step := range []func() error{
		func() error {
			_, err := c.DeleteApplicationInputProcessingConfiguration(ctx, &ka.DeleteApplicationInputProcessingConfigurationInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(6), InputId: aws.String("1.1")})
			return err
		},
		func() error {
			_, err := c.DeleteApplicationReferenceDataSource(ctx, &ka.DeleteApplicationReferenceDataSourceInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(7), ReferenceId: aws.String("1.1")})
			return err
		},
		func() error {
			_, err := c.DeleteApplicationCloudWatchLoggingOption(ctx, &ka.DeleteApplicationCloudWatchLoggingOptionInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(8), CloudWatchLoggingOptionId: aws.String("1.1")})
			return err
		},
		func() error {
			_, err := c.DeleteApplicationOutput(ctx, &ka.DeleteApplicationOutputInput{ApplicationName: aws.String("app1"), CurrentApplicationVersionId: aws.Int64(9), OutputId: aws.String("1.1")})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	// Start and stop (the SQL engine runs the code against the input stream).
	if _, err := c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("app1"), InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
		InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionTrimHorizon}}}}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeApplication(ctx, &ka.DescribeApplicationInput{ApplicationName: aws.String("app1")})
	if d.ApplicationDetail.ApplicationStatus != kat.ApplicationStatusRunning ||
		d.ApplicationDetail.InputDescriptions[0].InputStartingPositionConfiguration.InputStartingPosition != kat.InputStartingPositionTrimHorizon {
		t.Fatalf("after start %+v", d.ApplicationDetail)
	}
	_, err = c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("app1"), InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
		InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionNow}}}})
	if !errors.As(err, &inUse) {
		t.Fatalf("second start: %v", err)
	}
	if _, err := c.StopApplication(ctx, &ka.StopApplicationInput{ApplicationName: aws.String("app1")}); err != nil {
		t.Fatal(err)
	}
	// Tags by ARN.
	arn := aws.String("arn:aws:kinesisanalytics:us-east-1:000000000000:application/app1")
	if _, err := c.TagResource(ctx, &ka.TagResourceInput{ResourceARN: arn, Tags: []kat.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &ka.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &ka.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	many := make([]kat.Tag, 50)
	for i := range many {
		many[i] = kat.Tag{Key: aws.String(strings.Repeat("k", i+1))}
	}
	_, err = c.TagResource(ctx, &ka.TagResourceInput{ResourceARN: arn, Tags: many})
	var tooMany *kat.TooManyTagsException
	if !errors.As(err, &tooMany) {
		t.Fatalf("51 tags: %v", err)
	}
	// List, then delete with the wrong and the right CreateTimestamp.
	list, err := c.ListApplications(ctx, &ka.ListApplicationsInput{})
	if err != nil || len(list.ApplicationSummaries) != 1 || aws.ToBool(list.HasMoreApplications) {
		t.Fatalf("list %+v %v", list, err)
	}
	created := *d.ApplicationDetail.CreateTimestamp
	_, err = c.DeleteApplication(ctx, &ka.DeleteApplicationInput{ApplicationName: aws.String("app1"), CreateTimestamp: aws.Time(created.Add(-1e9))})
	if !errors.As(err, &cme) {
		t.Fatalf("delete with a wrong timestamp: %v", err)
	}
	if _, err := c.DeleteApplication(ctx, &ka.DeleteApplicationInput{ApplicationName: aws.String("app1"), CreateTimestamp: aws.Time(created)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeApplication(ctx, &ka.DescribeApplicationInput{ApplicationName: aws.String("app1")})
	var nf *kat.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("describe after delete: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestAnalyticsDiscoverInputSchema(t *testing.T) {
	ts := newServer(t)
	c, c2 := ts.analyticsClients()
	ctx := context.Background()
	ts.createStream(t, "ticks", 2)
	for _, r := range []string{`{"TICKER_SYMBOL":"AMZN","SECTOR":"TECHNOLOGY","CHANGE":-0.05,"PRICE":84.51}`, `{"TICKER_SYMBOL":"WMT","SECTOR":"RETAIL","CHANGE":1.5,"PRICE":12.25}`} {
		if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ticks"), PartitionKey: aws.String(r[18:22]), Data: []byte(r)}); err != nil {
			t.Fatal(err)
		}
	}
	streamARN := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/ticks")
	out, err := c.DiscoverInputSchema(ctx, &ka.DiscoverInputSchemaInput{ResourceARN: streamARN, RoleARN: aws.String("arn:aws:iam::000000000000:role/r"),
		InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionTrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, rc := range out.InputSchema.RecordColumns {
		cols = append(cols, aws.ToString(rc.Name)+" "+aws.ToString(rc.SqlType)+" "+aws.ToString(rc.Mapping))
	}
	if got := strings.Join(cols, ", "); got != "TICKER_SYMBOL VARCHAR(4) $.TICKER_SYMBOL, SECTOR VARCHAR(16) $.SECTOR, CHANGE REAL $.CHANGE, PRICE REAL $.PRICE" {
		t.Fatalf("columns %s", got)
	}
	if out.InputSchema.RecordFormat.RecordFormatType != kat.RecordFormatTypeJson || len(out.RawInputRecords) != 2 || len(out.ParsedInputRecords) != 2 || len(out.ProcessedInputRecords) != 2 {
		t.Fatalf("discovery %+v", out)
	}
	// An empty stream: nothing to infer from.
	ts.createStream(t, "empty", 1)
	_, err = c.DiscoverInputSchema(ctx, &ka.DiscoverInputSchemaInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/empty"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r"),
		InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionTrimHorizon}})
	var unable *kat.UnableToDetectSchemaException
	if !errors.As(err, &unable) {
		t.Fatalf("empty stream: %v", err)
	}
	// An S3 object in the built-in S3, through v2.
	s3c := ts.s3Client(t, true, "AKIDTEST", "secret")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("refdata")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("refdata"), Key: aws.String("t.csv"), Body: strings.NewReader("AMZN,Amazon,1994\nWMT,Walmart,1962\n")}); err != nil {
		t.Fatal(err)
	}
	o2, err := c2.DiscoverInputSchema(ctx, &ka2.DiscoverInputSchemaInput{ServiceExecutionRole: aws.String("arn:aws:iam::000000000000:role/r"),
		S3Configuration: &ka2t.S3Configuration{BucketARN: aws.String("arn:aws:s3:::refdata"), FileKey: aws.String("t.csv")}})
	if err != nil {
		t.Fatal(err)
	}
	if o2.InputSchema.RecordFormat.RecordFormatType != ka2t.RecordFormatTypeCsv || len(o2.InputSchema.RecordColumns) != 3 ||
		aws.ToString(o2.InputSchema.RecordColumns[2].SqlType) != "INTEGER" || o2.ParsedInputRecords[1][1] != "Walmart" {
		t.Fatalf("S3 discovery %+v", o2)
	}
}

func TestAnalyticsV2SQL(t *testing.T) {
	ts := newServer(t)
	ts.createStream(t, "in", 1)
	c, c2 := ts.analyticsClients()
	ctx := context.Background()
	out, err := c2.CreateApplication(ctx, &ka2.CreateApplicationInput{ApplicationName: aws.String("v2app"), RuntimeEnvironment: ka2t.RuntimeEnvironmentSql10,
		ServiceExecutionRole: aws.String("arn:aws:iam::000000000000:role/r"),
		ApplicationConfiguration: &ka2t.ApplicationConfiguration{
			ApplicationCodeConfiguration: &ka2t.ApplicationCodeConfiguration{CodeContentType: ka2t.CodeContentTypePlaintext, CodeContent: &ka2t.CodeContent{TextContent: aws.String("-- sql")}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	det := out.ApplicationDetail
	if det.RuntimeEnvironment != ka2t.RuntimeEnvironmentSql10 || aws.ToInt64(det.ApplicationVersionId) != 1 ||
		aws.ToString(det.ApplicationConfigurationDescription.ApplicationCodeConfigurationDescription.CodeContentDescription.TextContent) != "-- sql" {
		t.Fatalf("v2 detail %+v", det)
	}
	in, err := c2.AddApplicationInput(ctx, &ka2.AddApplicationInputInput{ApplicationName: aws.String("v2app"), CurrentApplicationVersionId: aws.Int64(1),
		Input: &ka2t.Input{NamePrefix: aws.String("SRC"), KinesisStreamsInput: &ka2t.KinesisStreamsInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/in")},
			InputSchema: &ka2t.SourceSchema{RecordFormat: &ka2t.RecordFormat{RecordFormatType: ka2t.RecordFormatTypeCsv,
				MappingParameters: &ka2t.MappingParameters{CSVMappingParameters: &ka2t.CSVMappingParameters{RecordRowDelimiter: aws.String("\n"), RecordColumnDelimiter: aws.String(",")}}},
				RecordColumns: []ka2t.RecordColumn{{Name: aws.String("A"), SqlType: aws.String("INTEGER")}}}}})
	if err != nil || aws.ToInt64(in.ApplicationVersionId) != 2 || in.InputDescriptions[0].InAppStreamNames[0] != "SRC_001" {
		t.Fatalf("v2 add input %+v %v", in, err)
	}
	if _, err := c2.StartApplication(ctx, &ka2.StartApplicationInput{ApplicationName: aws.String("v2app"), RunConfiguration: &ka2t.RunConfiguration{
		SqlRunConfigurations: []ka2t.SqlRunConfiguration{{InputId: aws.String("1.1"), InputStartingPositionConfiguration: &ka2t.InputStartingPositionConfiguration{InputStartingPosition: ka2t.InputStartingPositionNow}}}}}); err != nil {
		t.Fatal(err)
	}
	// The same application through v1.
	d, err := c.DescribeApplication(ctx, &ka.DescribeApplicationInput{ApplicationName: aws.String("v2app")})
	if err != nil || d.ApplicationDetail.ApplicationStatus != kat.ApplicationStatusRunning || aws.ToString(d.ApplicationDetail.ApplicationCode) != "-- sql" {
		t.Fatalf("v1 view %+v %v", d, err)
	}
	if _, err := c2.StopApplication(ctx, &ka2.StopApplicationInput{ApplicationName: aws.String("v2app")}); err != nil {
		t.Fatal(err)
	}
	up, err := c2.UpdateApplication(ctx, &ka2.UpdateApplicationInput{ApplicationName: aws.String("v2app"), CurrentApplicationVersionId: aws.Int64(2),
		ApplicationConfigurationUpdate: &ka2t.ApplicationConfigurationUpdate{ApplicationCodeConfigurationUpdate: &ka2t.ApplicationCodeConfigurationUpdate{
			CodeContentUpdate: &ka2t.CodeContentUpdate{TextContentUpdate: aws.String("-- new")}}}})
	if err != nil || aws.ToInt64(up.ApplicationDetail.ApplicationVersionId) != 3 {
		t.Fatalf("v2 update %+v %v", up, err)
	}
	list, err := c2.ListApplications(ctx, &ka2.ListApplicationsInput{})
	if err != nil || len(list.ApplicationSummaries) != 1 || list.ApplicationSummaries[0].RuntimeEnvironment != ka2t.RuntimeEnvironmentSql10 {
		t.Fatalf("v2 list %+v %v", list, err)
	}
	// Flink runtimes and operations with no SQL meaning are unsupported.
	_, err = c2.CreateApplication(ctx, &ka2.CreateApplicationInput{ApplicationName: aws.String("flink"), RuntimeEnvironment: ka2t.RuntimeEnvironmentFlink118,
		ServiceExecutionRole: aws.String("arn:aws:iam::000000000000:role/r")})
	var unsup *ka2t.UnsupportedOperationException
	if !errors.As(err, &unsup) || !strings.Contains(err.Error(), "FLINK-1_18") {
		t.Fatalf("flink: %v", err)
	}
	_, err = c2.ListApplicationSnapshots(ctx, &ka2.ListApplicationSnapshotsInput{ApplicationName: aws.String("v2app")})
	if !errors.As(err, &unsup) {
		t.Fatalf("snapshots: %v", err)
	}
	_, err = c2.ListApplicationVersions(ctx, &ka2.ListApplicationVersionsInput{ApplicationName: aws.String("nope")})
	var nf *ka2t.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("versions of a missing application: %v", err)
	}
	if _, err := c2.DeleteApplication(ctx, &ka2.DeleteApplicationInput{ApplicationName: aws.String("v2app"), CreateTimestamp: det.CreateTimestamp}); err != nil {
		t.Fatal(err)
	}
}
