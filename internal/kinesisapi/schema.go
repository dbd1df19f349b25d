package kinesisapi

import (
	. "github.com/rheos/rheos/internal/awsproto" //nolint:revive // schema literals read best unqualified
)

// Member shapes shared by operations, with AWS's constraints.
var (
	streamNameReq = &Shape{Type: String, Required: true, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	streamName    = &Shape{Type: String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	streamARN     = &Shape{Type: String, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}
	shardIDReq    = &Shape{Type: String, Required: true, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	shardIDOpt    = &Shape{Type: String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	partitionKey  = &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(256)}
	explicitHash  = &Shape{Type: String, Pattern: "0|([1-9]\\d{0,38})"}
	seqNumOpt     = &Shape{Type: String, Pattern: "0|([1-9]\\d{0,128})"}
	// Data is capped at the largest MaxRecordSizeInKiB (10 MiB); the stream's
	// own limit is applied by the domain.
	data           = &Shape{Type: Blob, Required: true, MaxLen: Len(10 << 20)}
	retentionHours = &Shape{Type: Integer, Required: true, Min: I64(1), Max: I64(8760)}
	// tagMap is the model's TagMap: 1..200 entries per call (the 50-tag
	// limit of a stream is the domain's, an InvalidArgumentException).
	tagMap    = &Shape{Type: Map, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(200), KeyLen: &[2]int{1, 128}, ValueLen: &[2]int{0, 256}}
	tagMapReq = &Shape{Type: Map, Required: true, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(200), KeyLen: &[2]int{1, 128}, ValueLen: &[2]int{0, 256}}
	// resourceARN is a stream or consumer ARN (the model's ResourceARN).
	resourceARN = &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:.*stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}
	// streamID is the model's StreamId, "Not Implemented. Reserved for
	// future use." (the API reference): validated, then ignored.
	streamID  = &Shape{Type: String, Pattern: "[a-z0-9]{20}-[a-z0-9]{3}", MinLen: Len(1), MaxLen: Len(24)}
	nextToken = &Shape{Type: String, MinLen: Len(1), MaxLen: Len(1048576)}
)

var (
	consumerNameReq  = &Shape{Type: String, Required: true, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	consumerName     = &Shape{Type: String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	consumerARNShape = &Shape{Type: String, Pattern: "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+", MinLen: Len(1), MaxLen: Len(2048)}
)

var (
	streamARNReq     = &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}
	monitoringSchema = []Field{
		F("StreamName", streamName),
		// Validate checks no enum on a list of strings: monitoring() checks
		// the elements (checkMetricNames), with the same message format.
		F("ShardLevelMetrics", &Shape{Type: List, Required: true, MinLen: Len(1), MaxLen: Len(7), Member: &Shape{Type: String, Enum: metricNames}}),
		F("StreamARN", streamARN),
	}
)

// metricNames is the model's MetricsName enum, in its order.
var metricNames = []string{"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
	"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds", "ALL"}

// withStreamID returns fields with the model's StreamId member added.
func withStreamID(fields []Field) []Field {
	return append(append([]Field(nil), fields...), F("StreamId", streamID))
}

var encryptionSchema = []Field{
	F("StreamName", streamName),
	F("EncryptionType", &Shape{Type: String, Required: true, Enum: []string{"NONE", "KMS"}}),
	F("KeyId", &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(2048)}),
	F("StreamARN", streamARN),
}

var streamModeDetails = &Shape{Type: Structure, Fields: []Field{
	F("StreamMode", &Shape{Type: String, Required: true, Enum: []string{"PROVISIONED", "ON_DEMAND"}}),
}}

var schemas = map[string][]Field{
	"CreateStream": {
		F("ShardCount", &Shape{Type: Integer, Min: I64(1), Max: I64(100000)}),
		F("StreamName", streamNameReq),
		F("StreamModeDetails", streamModeDetails),
		F("Tags", tagMap),
		F("MaxRecordSizeInKiB", &Shape{Type: Integer, Min: I64(1024), Max: I64(10240)}),
		F("WarmThroughputMiBps", &Shape{Type: Integer, Min: I64(0)}),
	},
	"DeleteStream": {
		F("StreamName", streamName),
		F("EnforceConsumerDeletion", &Shape{Type: Boolean}),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"DescribeStream": {
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("ExclusiveStartShardId", shardIDOpt),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"DescribeStreamSummary": {
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"ListStreams": {
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("ExclusiveStartStreamName", streamName),
		F("NextToken", nextToken),
	},
	"ListShards": {
		F("ExclusiveStartShardId", shardIDOpt),
		F("MaxResults", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("NextToken", nextToken),
		F("StreamCreationTimestamp", &Shape{Type: Timestamp}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("ShardFilter", &Shape{Type: Structure, Fields: []Field{
			F("Type", &Shape{Type: String, Required: true, Enum: []string{"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP"}}),
			F("ShardId", shardIDOpt),
			F("Timestamp", &Shape{Type: Timestamp}),
		}}),
		F("StreamId", streamID),
	},
	"PutRecord": {
		F("DryRun", &Shape{Type: Boolean}),
		F("SequenceNumberForOrdering", seqNumOpt),
		F("PartitionKey", partitionKey),
		F("ExplicitHashKey", explicitHash),
		F("Data", data),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"PutRecords": {
		F("DryRun", &Shape{Type: Boolean}),
		F("Records", &Shape{Type: List, Required: true, MinLen: Len(1), MaxLen: Len(500),
			MemberStr: "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310",
			Member: &Shape{Type: Structure, Fields: []Field{
				F("PartitionKey", partitionKey),
				F("ExplicitHashKey", explicitHash),
				F("Data", data),
			}}}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"GetShardIterator": {
		F("DryRun", &Shape{Type: Boolean}),
		F("ShardId", shardIDReq),
		F("ShardIteratorType", &Shape{Type: String, Required: true, Enum: []string{"AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"}}),
		F("StartingSequenceNumber", seqNumOpt),
		F("StreamName", streamName),
		F("Timestamp", &Shape{Type: Timestamp}),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"GetRecords": {
		F("DryRun", &Shape{Type: Boolean}),
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("ShardIterator", &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(512)}),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"IncreaseStreamRetentionPeriod": {
		F("RetentionPeriodHours", retentionHours),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"DecreaseStreamRetentionPeriod": {
		F("RetentionPeriodHours", retentionHours),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"AddTagsToStream": {
		F("Tags", tagMapReq),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"RemoveTagsFromStream": {
		F("TagKeys", &Shape{Type: List, Required: true, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(50), KeyLen: &[2]int{1, 128}}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"ListTagsForStream": {
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(50)}),
		F("ExclusiveStartTagKey", &Shape{Type: String, MinLen: Len(1), MaxLen: Len(128)}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"TagResource": {
		F("Tags", tagMapReq),
		F("ResourceARN", resourceARN),
		F("StreamId", streamID),
	},
	"UntagResource": {
		F("TagKeys", &Shape{Type: List, Required: true, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(50), KeyLen: &[2]int{1, 128}}),
		F("ResourceARN", resourceARN),
		F("StreamId", streamID),
	},
	"ListTagsForResource": {
		F("ResourceARN", resourceARN),
		F("StreamId", streamID),
	},
	"DescribeLimits": {},
	"UpdateMaxRecordSize": {
		F("StreamARN", streamARN),
		F("MaxRecordSizeInKiB", &Shape{Type: Integer, Required: true, Min: I64(1024), Max: I64(10240)}),
		F("StreamId", streamID),
	},
	"SplitShard": {
		F("StreamName", streamName),
		F("ShardToSplit", shardIDReq),
		F("NewStartingHashKey", &Shape{Type: String, Required: true, Pattern: "0|([1-9]\\d{0,38})"}),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"MergeShards": {
		F("StreamName", streamName),
		F("ShardToMerge", shardIDReq),
		F("AdjacentShardToMerge", shardIDReq),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"UpdateShardCount": {
		F("StreamName", streamName),
		F("TargetShardCount", &Shape{Type: Integer, Required: true, Min: I64(1), Max: I64(100000)}),
		F("ScalingType", &Shape{Type: String, Required: true, Enum: []string{"UNIFORM_SCALING"}}),
		F("StreamARN", streamARN),
		F("StreamId", streamID),
	},
	"RegisterStreamConsumer": {
		F("StreamARN", &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}),
		F("ConsumerName", consumerNameReq),
		// Tags are validated (the model's TagMap) and not stored: the
		// domain keeps no consumer tags (TagResource on a consumer ARN is
		// ResourceNotFoundException), so they are accepted and dropped.
		F("Tags", tagMap),
		F("StreamId", streamID),
	},
	"DeregisterStreamConsumer": {
		F("StreamARN", streamARN),
		F("ConsumerName", consumerName),
		F("ConsumerARN", consumerARNShape),
		F("StreamId", streamID),
	},
	"DescribeStreamConsumer": {
		F("StreamARN", streamARN),
		F("ConsumerName", consumerName),
		F("ConsumerARN", consumerARNShape),
		F("StreamId", streamID),
	},
	"ListStreamConsumers": {
		F("StreamARN", &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}),
		F("NextToken", nextToken),
		F("MaxResults", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("StreamCreationTimestamp", &Shape{Type: Timestamp}),
		F("StreamId", streamID),
	},
	"SubscribeToShard": {
		F("DryRun", &Shape{Type: Boolean}),
		F("ConsumerARN", &Shape{Type: String, Required: true, Pattern: "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+", MinLen: Len(1), MaxLen: Len(2048)}),
		F("ShardId", shardIDReq),
		F("StartingPosition", &Shape{Type: Structure, Required: true, Fields: []Field{
			F("Type", &Shape{Type: String, Required: true, Enum: []string{"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"}}),
			F("SequenceNumber", seqNumOpt),
			F("Timestamp", &Shape{Type: Timestamp}),
		}}),
		F("StreamId", streamID),
	},
	"EnableEnhancedMonitoring":  withStreamID(monitoringSchema),
	"DisableEnhancedMonitoring": withStreamID(monitoringSchema),
	"UpdateStreamMode": {
		F("StreamARN", streamARNReq),
		F("StreamModeDetails", &Shape{Type: Structure, Required: true, Fields: []Field{
			F("StreamMode", &Shape{Type: String, Required: true, Enum: []string{"PROVISIONED", "ON_DEMAND"}}),
		}}),
		F("WarmThroughputMiBps", &Shape{Type: Integer, Min: I64(0)}),
		F("StreamId", streamID),
	},
	"UpdateStreamWarmThroughput": {
		F("StreamARN", streamARN),
		F("StreamName", streamName),
		F("WarmThroughputMiBps", &Shape{Type: Integer, Required: true, Min: I64(0)}),
		F("StreamId", streamID),
	},
	"UpdateStreamRecordDistributionStrategy": {
		F("StreamARN", streamARNReq),
		F("RecordDistributionStrategy", &Shape{Type: String, Required: true, Enum: []string{"USER_PARTITION_KEY", "AUTO"}}),
	},
	"PutResourcePolicy": {
		F("ResourceARN", resourceARN),
		F("Policy", &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(20480)}),
		F("StreamId", streamID),
	},
	"GetResourcePolicy":       {F("ResourceARN", resourceARN), F("StreamId", streamID)},
	"DeleteResourcePolicy":    {F("ResourceARN", resourceARN), F("StreamId", streamID)},
	"DescribeAccountSettings": {},
	"UpdateAccountSettings": {
		F("MinimumThroughputBillingCommitment", &Shape{Type: Structure, Required: true, Fields: []Field{
			F("Status", &Shape{Type: String, Required: true, Enum: []string{"ENABLED", "DISABLED"}}),
		}}),
	},
	"CreateChannel":         {},
	"DescribeChannel":       {},
	"ListChannels":          {},
	"UpdateChannel":         {},
	"DeleteChannel":         {},
	"StartStreamEncryption": withStreamID(encryptionSchema),
	"StopStreamEncryption":  withStreamID(encryptionSchema),
}
