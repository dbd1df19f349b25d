package modelgen

// Target is one generated model: a botocore service model, the Go package
// it becomes and, for services larger than Rheos needs, the operations kept.
type Target struct {
	// Service and Version locate the model in botocore:
	// data/<Service>/<Version>/service-2.json[.gz].
	Service, Version string
	// Package is the Go package name and its directory under
	// internal/awsmodel.
	Package string
	// Operations restricts the model to these operations (and the shapes
	// they reach); nil keeps every operation.
	Operations []string
	// Why says, for a restricted model, why these operations (it goes into
	// the package comment).
	Why string
}

// Targets are the models generated, in the order gen writes them. Their
// packages are the directories under internal/awsmodel.
var Targets = []Target{
	{Service: "kinesis", Version: "2013-12-02", Package: "kinesismodel"},
	{Service: "firehose", Version: "2015-08-04", Package: "firehosemodel"},
	{Service: "kinesisanalytics", Version: "2015-08-14", Package: "analyticsmodel"},
	{Service: "kinesisanalyticsv2", Version: "2018-05-23", Package: "analyticsv2model"},
	{Service: "kinesisvideo", Version: "2017-09-30", Package: "videomodel"},
	{Service: "kinesis-video-archived-media", Version: "2017-09-30", Package: "videoarchivemodel"},
	{Service: "kinesis-video-media", Version: "2017-09-30", Package: "videomediamodel"},
	{Service: "kinesis-video-signaling", Version: "2019-12-04", Package: "videosignalingmodel"},
	{Service: "kinesis-video-webrtc-storage", Version: "2018-05-10", Package: "videowebrtcmodel"},
	{
		Service: "lambda", Version: "2015-03-31", Package: "lambdamodel",
		Operations: []string{
			"CreateFunction", "GetFunction", "GetFunctionConfiguration", "ListFunctions",
			"UpdateFunctionCode", "UpdateFunctionConfiguration", "DeleteFunction",
			"Invoke",
			"CreateEventSourceMapping", "GetEventSourceMapping", "ListEventSourceMappings",
			"UpdateEventSourceMapping", "DeleteEventSourceMapping",
			"PutFunctionConcurrency", "GetFunctionConcurrency", "DeleteFunctionConcurrency",
			"TagResource", "UntagResource", "ListTags",
		},
		Why: "the functions Firehose's data transformation and Analytics' preprocessing invoke " +
			"(create, read, update, delete, Invoke, concurrency, tags) and the event source " +
			"mappings that read Kinesis streams",
	},
	{
		Service: "glue", Version: "2017-03-31", Package: "gluemodel",
		Operations: []string{
			"CreateDatabase", "GetDatabase", "GetDatabases", "DeleteDatabase",
			"CreateTable", "GetTable", "GetTables", "UpdateTable", "DeleteTable",
		},
		Why: "the Data Catalog calls Firehose's record format conversion makes (the schema of " +
			"its Parquet and ORC output) and the database and table life cycle around them; " +
			"the whole of Glue is over 250 operations",
	},
	{
		Service: "s3", Version: "2006-03-01", Package: "s3model",
		Operations: []string{
			"CreateBucket", "HeadBucket", "ListBuckets", "DeleteBucket",
			"PutObject", "GetObject", "HeadObject", "DeleteObject", "DeleteObjects",
			"ListObjectsV2",
			"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload",
		},
		Why: "the bucket and object calls of Firehose's S3 destination and backup (and of " +
			"Video Streams' and Analytics' S3 sources): buckets, objects, listing and " +
			"multipart upload",
	},
	{
		Service: "kms", Version: "2014-11-01", Package: "kmsmodel",
		Operations: []string{
			"CreateKey", "DescribeKey", "ListKeys",
			"CreateAlias", "ListAliases", "DeleteAlias",
			"Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
		},
		Why: "the key and alias calls behind server-side encryption (KeyId values of " +
			"StartStreamEncryption and Firehose's DeliveryStreamEncryptionConfiguration) and the " +
			"envelope calls that wrap data keys",
	},
}
