package server_test

// Validation fidelity: the "validations" cases of every kinesalite test file
// (recorded against AWS), each named after its kinesalite test, with AWS's
// constraint texts and counts, and the rule that front-end validation comes
// before any existence check (most cases name a stream that does not
// exist). Where today's AWS model differs from what kinesalite recorded
// years ago, the case says how and follows the model:
//
//   - StreamName became optional when StreamARN was added (and CreateStream's
//     ShardCount when ON_DEMAND was), so "Value null at 'streamName'" and
//     "Value null at 'shardCount'" are no longer listed;
//   - RetentionPeriodHours' upper bound is 8760 (365 days), not 168;
//   - AddTagsToStream takes up to 200 tags (the model's TagMap), ListTagsForStream's
//     Limit and RemoveTagsFromStream's TagKeys go up to 50 (kinesalite: 10).
//
// The sequence-number cases of putRecord.js and getShardIterator.js are in
// fidelity_seqnum_test.go.

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fidelityCase is one kinesalite validation test.
type fidelityCase struct {
	test     string // kinesalite's test name (its describe block is the file)
	op, body string
	// Exactly one of the following expectations.
	validation []string // a ValidationException listing these, in any order
	pattern    string   // a ValidationException whose message matches
	errType    string   // another exception, with msg exactly
	msg        string
}

func (c fidelityCase) check(t *testing.T, ts *testServer) {
	t.Helper()
	r := ts.raw(t, c.op, c.body)
	switch {
	case c.validation != nil:
		wantValidation(t, r, c.validation...)
	case c.pattern != "":
		if r.status != 400 || r.typ != "ValidationException" || !regexp.MustCompile(c.pattern).MatchString(r.message) {
			t.Fatalf("got %d %s %q, want ValidationException matching %s", r.status, r.typ, r.message, c.pattern)
		}
	default:
		if r.status != 400 || r.typ != c.errType || r.message != c.msg {
			t.Fatalf("got %d %s %q\nwant 400 %s %q", r.status, r.typ, r.message, c.errType, c.msg)
		}
	}
}

// js encodes v as JSON for a request body.
func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFidelityValidation(t *testing.T) {
	ts := newServer(t)
	ts.createStream(t, fidelityStream, 3)
	const missing = "fidelity_missing_stream"
	long := strings.Repeat("a", 129)
	at := func(value, member, constraint string) string {
		if value != "null" {
			value = "'" + value + "'"
		}
		return "Value " + value + " at '" + member + "' failed to satisfy constraint: " + constraint
	}
	nameRE := "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
	min1 := "Member must have length greater than or equal to 1"
	max128 := "Member must have length less than or equal to 128"
	notNull := "Member must not be null"
	notFound := func(name string) string { return "Stream " + name + " under account " + acct + " not found." }
	noShard := func(shard, name string) string {
		return "Could not find shard " + shard + " in stream " + name + " under account " + acct + "."
	}
	badChars := "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @."
	illegal := func(verb string) string {
		return "Failed to " + verb + " stream " + fidelityStream + " under account " + acct +
			" because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
	}

	cases := map[string][]fidelityCase{
		"addTagsToStream.js": {
			{test: "should return ValidationException for no StreamName", op: "AddTagsToStream", body: `{}`,
				validation: []string{at("null", "tags", notNull)}},
			{test: "should return ValidationException for empty StreamName", op: "AddTagsToStream", body: `{"StreamName":"","Tags":{}}`,
				validation: []string{at("{}", "tags", min1), at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for long StreamName", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": long, "Tags": map[string]string{"a;b": "b"}}),
				validation: []string{at(long, "streamName", max128)}},
			{test: "should return ValidationException for long tag key", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": missing, "Tags": map[string]string{"a": "1", "b": "2", long: "3"}}),
				pattern: `^1 validation error detected: Value '\{[ab12, =]*` + long + `=3[ab12, =]*\}' at 'tags' failed to satisfy constraint: ` +
					`Map keys must satisfy constraint: \[Member must have length less than or equal to 128, Member must have length greater than or equal to 1\]$`},
			{test: "should return ValidationException for long tag value", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": missing, "Tags": map[string]string{"a": "1", "b": "2", "c": strings.Repeat("a", 257)}}),
				pattern: `^1 validation error detected: Value '\{[ab12, =]*c=` + strings.Repeat("a", 257) + `[ab12, =]*\}' at 'tags' failed to satisfy constraint: ` +
					`Map value must satisfy constraint: \[Member must have length less than or equal to 256, Member must have length greater than or equal to 0\]$`},
			// kinesalite recorded at most 10 tags; the model's TagMap
			// allows 200, so 11 pass validation and the missing stream is
			// reported; 201 are refused.
			{test: "should return ValidationException for too many tags (model: 200)", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": missing, "Tags": manyTags(201)}),
				pattern: `^1 validation error detected: Value '\{[a-z0-9, =]+\}' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 200$`},
			{test: "should return ValidationException for too many tags (11 now pass)", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": missing, "Tags": manyTags(11)}),
				errType: "ResourceNotFoundException", msg: notFound(missing)},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": missing, "Tags": map[string]string{"a": "b"}}),
				errType: "ResourceNotFoundException", msg: notFound(missing)},
			{test: "should return InvalidArgumentException if ; in tag key", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"abc;def": "1"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if tab in tag key", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"abc\tdef": "1"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if newline in tag key", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"abc\ndef": "1"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if comma in tag key", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"abc,def": "1"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if % in tag key", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"abc%def": "1"}}),
				errType: "InvalidArgumentException", msg: illegal("add tags to")},
			{test: "should return InvalidArgumentException if ; in tag value", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"a": "abc;def"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if tab in tag value", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"a": "abc\tdef"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if newline in tag value", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"a": "abc\ndef"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if comma in tag value", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"a": "abc,def"}}),
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if % in tag value", op: "AddTagsToStream", body: js(t, map[string]any{"StreamName": fidelityStream, "Tags": map[string]string{"a": "abc%def"}}),
				errType: "InvalidArgumentException", msg: illegal("add tags to")},
		},
		"createStream.js": {
			// ShardCount and StreamName: only StreamName is required today.
			{test: "should return ValidationException for no StreamName", op: "CreateStream", body: `{}`,
				validation: []string{at("null", "streamName", notNull)}},
			{test: "should return ValidationException for empty StreamName", op: "CreateStream", body: `{"StreamName":"","ShardCount":0}`,
				validation: []string{at("0", "shardCount", "Member must have value greater than or equal to 1"), at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for long StreamName", op: "CreateStream", body: `{"StreamName":"` + long + `","ShardCount":100000000000}`,
				validation: []string{at("2147483647", "shardCount", "Member must have value less than or equal to 100000"), at(long, "streamName", max128)}},
			{test: "should return LimitExceededException for large ShardCount", op: "CreateStream", body: `{"StreamName":"` + missing + `","ShardCount":1000}`,
				errType: "LimitExceededException", msg: "This request would exceed the shard limit for the account " + acct + " in " + region +
					". Current shard count for the account: 3. Limit: 500. Number of additional shards that would have resulted from this request: 1000. " +
					"Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits."},
			{test: "should return ResourceInUseException if stream already exists", op: "CreateStream", body: `{"StreamName":"` + fidelityStream + `","ShardCount":1}`,
				errType: "ResourceInUseException", msg: "Stream " + fidelityStream + " under account " + acct + " already exists."},
		},
		"decreaseStreamRetentionPeriod.js": retentionCases("DecreaseStreamRetentionPeriod", at, nameRE, min1, max128, notFound(missing), missing, fidelityStream),
		"increaseStreamRetentionPeriod.js": retentionCases("IncreaseStreamRetentionPeriod", at, nameRE, min1, max128, notFound(missing), missing, fidelityStream),
		"deleteStream.js": {
			{test: "should return ValidationException for empty StreamName", op: "DeleteStream", body: `{"StreamName":""}`,
				validation: []string{at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for long StreamName", op: "DeleteStream", body: `{"StreamName":"` + long + `"}`,
				validation: []string{at(long, "streamName", max128)}},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "DeleteStream", body: `{"StreamName":"` + missing + `"}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
		},
		"describeStream.js": {
			{test: "should return ValidationException for empty StreamName", op: "DescribeStream", body: `{"StreamName":"","Limit":0,"ExclusiveStartShardId":""}`,
				validation: []string{at("0", "limit", "Member must have value greater than or equal to 1"), at("", "exclusiveStartShardId", nameRE), at("", "exclusiveStartShardId", min1),
					at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for long StreamName", op: "DescribeStream", body: `{"StreamName":"` + long + `","Limit":100000,"ExclusiveStartShardId":"` + long + `"}`,
				validation: []string{at("100000", "limit", "Member must have value less than or equal to 10000"), at(long, "exclusiveStartShardId", max128), at(long, "streamName", max128)}},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "DescribeStream", body: `{"StreamName":"` + missing + `"}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
		},
		"describeStreamSummary.js": {
			{test: "should return ValidationException for empty StreamName", op: "DescribeStreamSummary", body: `{"StreamName":""}`,
				validation: []string{at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for long StreamName", op: "DescribeStreamSummary", body: `{"StreamName":"` + long + `"}`,
				validation: []string{at(long, "streamName", max128)}},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "DescribeStreamSummary", body: `{"StreamName":"` + missing + `"}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
		},
		"getRecords.js": {
			{test: "should return ValidationException for no ShardIterator", op: "GetRecords", body: `{}`,
				validation: []string{at("null", "shardIterator", notNull)}},
			{test: "should return ValidationException for empty ShardIterator", op: "GetRecords", body: `{"ShardIterator":"","Limit":0}`,
				validation: []string{at("0", "limit", "Member must have value greater than or equal to 1"), at("", "shardIterator", min1)}},
			{test: "should return ValidationException for long ShardIterator", op: "GetRecords", body: `{"ShardIterator":"` + strings.Repeat("a", 513) + `","Limit":100000}`,
				validation: []string{at("100000", "limit", "Member must have value less than or equal to 10000"), at(strings.Repeat("a", 513), "shardIterator", "Member must have length less than or equal to 512")}},
			{test: "should return InvalidArgumentException if ShardIterator is incorrect format", op: "GetRecords", body: `{"ShardIterator":"` + missing + `"}`,
				errType: "InvalidArgumentException", msg: "Invalid ShardIterator."},
		},
		"getShardIterator.js": {
			{test: "should return ValidationException for no StreamName", op: "GetShardIterator", body: `{}`,
				validation: []string{at("null", "shardId", notNull), at("null", "shardIteratorType", notNull)}},
			{test: "should return ValidationException for empty StreamName", op: "GetShardIterator", body: `{"StreamName":"","ShardIteratorType":"","ShardId":"","StartingSequenceNumber":""}`,
				validation: []string{at("", "shardId", nameRE), at("", "shardId", min1),
					at("", "shardIteratorType", "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"),
					at("", "startingSequenceNumber", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,128})`), at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for long StreamName", op: "GetShardIterator", body: `{"StreamName":"` + long + `","ShardId":"` + long + `","ShardIteratorType":"LATEST"}`,
				validation: []string{at(long, "shardId", max128), at(long, "streamName", max128)}},
			{test: "should return ResourceNotFoundException if unknown stream and shard ID just small enough", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"2147483647","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: "Shard shardId-002147483647 in stream " + missing + " under account " + acct + " does not exist"},
			{test: "should return ResourceNotFoundException if unknown stream and random shard name", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"` + missing + `-2147483647","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: "Shard shardId-002147483647 in stream " + missing + " under account " + acct + " does not exist"},
			{test: "should return ResourceNotFoundException if unknown stream and short prefix", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"a-00002147483647","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: "Shard shardId-002147483647 in stream " + missing + " under account " + acct + " does not exist"},
			{test: "should return ResourceNotFoundException if unknown stream and no prefix", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"-00002147483647","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: "Shard shardId-002147483647 in stream " + missing + " under account " + acct + " does not exist"},
			{test: "should return ResourceNotFoundException if unknown stream and shard ID too big", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"2147483648","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: noShard("2147483648", missing)},
			{test: "should return ResourceNotFoundException if unknown stream and raw shard ID too big", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"shardId-002147483648","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: noShard("shardId-002147483648", missing)},
			{test: "should return ResourceNotFoundException if unknown stream and string shard ID", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"ABKLFD8","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: noShard("ABKLFD8", missing)},
			{test: "should return ResourceNotFoundException if unknown stream and exponent shard ID", op: "GetShardIterator", body: `{"StreamName":"` + missing + `","ShardId":"2.14E4","ShardIteratorType":"LATEST"}`,
				errType: "ResourceNotFoundException", msg: noShard("2.14E4", missing)},
		},
		"listShards.js": {
			{test: "should return InvalidArgumentException for no StreamName or NextToken", op: "ListShards", body: `{}`,
				errType: "InvalidArgumentException", msg: "Either NextToken or StreamName should be provided."},
			{test: "should return ValidationException for empty StreamName", op: "ListShards", body: `{"StreamName":"","NextToken":"","MaxResults":0,"ExclusiveStartShardId":""}`,
				validation: []string{at("0", "maxResults", "Member must have value greater than or equal to 1"), at("", "exclusiveStartShardId", nameRE), at("", "exclusiveStartShardId", min1),
					at("", "streamName", nameRE), at("", "streamName", min1), at("", "nextToken", min1)}},
			{test: "should return ValidationException for long StreamName", op: "ListShards", body: `{"StreamName":"` + long + `","MaxResults":100000,"ExclusiveStartShardId":"` + long + `"}`,
				validation: []string{at("100000", "maxResults", "Member must have value less than or equal to 10000"), at(long, "exclusiveStartShardId", max128), at(long, "streamName", max128)}},
			{test: "should return InvalidArgumentException if both StreamName and NextToken", op: "ListShards", body: `{"StreamName":"` + missing + `","NextToken":"` + missing + `"}`,
				errType: "InvalidArgumentException", msg: "NextToken and StreamName cannot be provided together."},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "ListShards", body: `{"StreamName":"` + missing + `"}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
		},
		"listStreams.js": {
			{test: "should return ValidationException for empty ExclusiveStartStreamName", op: "ListStreams", body: `{"ExclusiveStartStreamName":"","Limit":0}`,
				validation: []string{at("0", "limit", "Member must have value greater than or equal to 1"), at("", "exclusiveStartStreamName", nameRE), at("", "exclusiveStartStreamName", min1)}},
			{test: "should return ValidationException for long ExclusiveStartStreamName", op: "ListStreams", body: `{"ExclusiveStartStreamName":"` + long + `","Limit":1000000}`,
				validation: []string{at("1000000", "limit", "Member must have value less than or equal to 10000"), at(long, "exclusiveStartStreamName", max128)}},
		},
		"listTagsForStream.js": {
			{test: "should return ValidationException for empty StreamName", op: "ListTagsForStream", body: `{"StreamName":"","ExclusiveStartTagKey":"","Limit":0}`,
				validation: []string{at("0", "limit", "Member must have value greater than or equal to 1"), at("", "exclusiveStartTagKey", min1), at("", "streamName", nameRE), at("", "streamName", min1)}},
			// kinesalite recorded Limit ≤ 10; the model says 50.
			{test: "should return ValidationException for long StreamName", op: "ListTagsForStream", body: `{"StreamName":"` + long + `","ExclusiveStartTagKey":"` + long + `","Limit":100}`,
				validation: []string{at("100", "limit", "Member must have value less than or equal to 50"), at(long, "exclusiveStartTagKey", max128), at(long, "streamName", max128)}},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "ListTagsForStream", body: `{"StreamName":"` + missing + `","ExclusiveStartTagKey":"a","Limit":1}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
		},
		"mergeShards.js": mergeCases(at, nameRE, min1, max128, notNull, notFound, noShard, missing, fidelityStream),
		"putRecord.js": {
			{test: "should return ValidationException for no StreamName", op: "PutRecord", body: `{}`,
				validation: []string{at("null", "partitionKey", notNull), at("null", "data", notNull)}},
			{test: "should return ValidationException for empty StreamName", op: "PutRecord", body: `{"StreamName":"","PartitionKey":"","Data":"","ExplicitHashKey":"","SequenceNumberForOrdering":""}`,
				validation: []string{at("", "sequenceNumberForOrdering", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,128})`), at("", "partitionKey", min1),
					at("", "explicitHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`), at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "PutRecord", body: `{"StreamName":"` + missing + `","PartitionKey":"x","Data":""}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
			{test: "should return InvalidArgumentException for out of bounds ExplicitHashKey", op: "PutRecord", body: `{"StreamName":"` + fidelityStream + `","PartitionKey":"a","Data":"","ExplicitHashKey":"` + hkTooBig + `"}`,
				errType: "InvalidArgumentException", msg: "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was " + hkTooBig},
		},
		"putRecords.js": {
			{test: "should return ValidationException for no StreamName", op: "PutRecords", body: `{}`,
				validation: []string{at("null", "records", notNull)}},
			{test: "should return ValidationException for empty StreamName", op: "PutRecords", body: `{"StreamName":"","Records":[]}`,
				validation: []string{at("[]", "records", min1), at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for empty PartitionKey", op: "PutRecords", body: `{"StreamName":"","Records":[{"PartitionKey":"","Data":"","ExplicitHashKey":""}]}`,
				validation: []string{at("", "records.1.member.partitionKey", min1), at("", "records.1.member.explicitHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`),
					at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "PutRecords", body: `{"StreamName":"` + missing + `","Records":[{"PartitionKey":"a","Data":""}]}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
			{test: "should return InvalidArgumentException for out of bounds ExplicitHashKey", op: "PutRecords", body: `{"StreamName":"` + fidelityStream + `","Records":[{"PartitionKey":"a","Data":"","ExplicitHashKey":"` + hkTooBig + `"},{"PartitionKey":"a","Data":""}]}`,
				errType: "InvalidArgumentException", msg: "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was " + hkTooBig},
		},
		"removeTagsFromStream.js": {
			{test: "should return ValidationException for no StreamName", op: "RemoveTagsFromStream", body: `{}`,
				validation: []string{at("null", "tagKeys", notNull)}},
			{test: "should return ValidationException for empty StreamName", op: "RemoveTagsFromStream", body: `{"StreamName":"","TagKeys":[]}`,
				validation: []string{at("[]", "tagKeys", min1), at("", "streamName", nameRE), at("", "streamName", min1)}},
			{test: "should return ValidationException for long StreamName", op: "RemoveTagsFromStream", body: `{"StreamName":"` + long + `","TagKeys":["a"]}`,
				validation: []string{at(long, "streamName", max128)}},
			{test: "should return ValidationException for long TagKey", op: "RemoveTagsFromStream", body: `{"StreamName":"` + missing + `","TagKeys":["a","` + long + `","b"]}`,
				validation: []string{at("[a, "+long+", b]", "tagKeys", "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]")}},
			// kinesalite recorded at most 10 TagKeys; the model says 50.
			{test: "should return ValidationException for too many TagKeys", op: "RemoveTagsFromStream", body: js(t, map[string]any{"StreamName": missing, "TagKeys": numbered(51)}),
				validation: []string{at("["+strings.Join(numbered(51), ", ")+"]", "tagKeys", "Member must have length less than or equal to 50")}},
			{test: "should return ResourceNotFoundException if stream does not exist", op: "RemoveTagsFromStream", body: `{"StreamName":"` + missing + `","TagKeys":[";"]}`,
				errType: "ResourceNotFoundException", msg: notFound(missing)},
			{test: "should return InvalidArgumentException if ; in TagKeys", op: "RemoveTagsFromStream", body: `{"StreamName":"` + fidelityStream + `","TagKeys":["abc;def"]}`,
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if tab in TagKeys", op: "RemoveTagsFromStream", body: `{"StreamName":"` + fidelityStream + `","TagKeys":["abc\tdef"]}`,
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if newline in TagKeys", op: "RemoveTagsFromStream", body: `{"StreamName":"` + fidelityStream + `","TagKeys":["abc\ndef"]}`,
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if comma in TagKeys", op: "RemoveTagsFromStream", body: `{"StreamName":"` + fidelityStream + `","TagKeys":["abc,def"]}`,
				errType: "InvalidArgumentException", msg: badChars},
			{test: "should return InvalidArgumentException if % in TagKeys", op: "RemoveTagsFromStream", body: `{"StreamName":"` + fidelityStream + `","TagKeys":["abc%def"]}`,
				errType: "InvalidArgumentException", msg: illegal("remove tags from")},
		},
		"splitShard.js": splitCases(at, nameRE, min1, max128, notNull, notFound, noShard, missing, fidelityStream),
	}
	for file, cs := range cases {
		for _, c := range cs {
			t.Run(file+" "+c.test, func(t *testing.T) { c.check(t, ts) })
		}
	}
}

// manyTags returns n distinct tags.
func manyTags(n int) map[string]string {
	m := map[string]string{}
	for _, k := range numbered(n) {
		m["k"+k] = k
	}
	return m
}

// numbered returns "1", "2", ... "n".
func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i + 1)
	}
	return out
}

func retentionCases(op string, at func(string, string, string) string, nameRE, min1, max128, notFound, missing, stream string) []fidelityCase {
	cs := []fidelityCase{
		{test: "should return ValidationException for no StreamName", op: op, body: `{}`,
			validation: []string{at("null", "retentionPeriodHours", "Member must not be null")}},
		{test: "should return ValidationException for empty StreamName", op: op, body: `{"StreamName":"","RetentionPeriodHours":-1}`,
			validation: []string{at("-1", "retentionPeriodHours", "Member must have value greater than or equal to 1"), at("", "streamName", nameRE), at("", "streamName", min1)}},
		{test: "should return ValidationException for long StreamName", op: op, body: `{"StreamName":"` + strings.Repeat("a", 129) + `","RetentionPeriodHours":24}`,
			validation: []string{at(strings.Repeat("a", 129), "streamName", max128)}},
		// kinesalite recorded 168; the bound is 8760 since retention went to 365 days.
		{test: "should return ValidationException for retention period greater than 168 (now 8760)", op: op, body: `{"StreamName":"a","RetentionPeriodHours":8761}`,
			validation: []string{at("8761", "retentionPeriodHours", "Member must have value less than or equal to 8760")}},
		{test: "should return InvalidArgumentException for retention period less than 24", op: op, body: `{"StreamName":"` + stream + `","RetentionPeriodHours":23}`,
			errType: "InvalidArgumentException", msg: "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short."},
		{test: "should return ResourceNotFoundException if stream does not exist", op: op, body: `{"StreamName":"` + missing + `","RetentionPeriodHours":25}`,
			errType: "ResourceNotFoundException", msg: notFound},
	}
	if op == "DecreaseStreamRetentionPeriod" {
		cs = append(cs, fidelityCase{test: "should return InvalidArgumentException for retention period greater than current", op: op, body: `{"StreamName":"` + stream + `","RetentionPeriodHours":25}`,
			errType: "InvalidArgumentException", msg: "Requested retention period (25 hours) for stream " + stream + " can not be longer than existing retention period (24 hours). Use IncreaseRetentionPeriod API."})
	}
	return cs
}

func mergeCases(at func(string, string, string) string, nameRE, min1, max128, notNull string, notFound func(string) string, noShard func(string, string) string, missing, stream string) []fidelityCase {
	long := strings.Repeat("a", 129)
	body := func(name, shard, adj string) string {
		return `{"StreamName":"` + name + `","ShardToMerge":"` + shard + `","AdjacentShardToMerge":"` + adj + `"}`
	}
	cs := []fidelityCase{
		{test: "should return ValidationException for no StreamName", op: "MergeShards", body: `{}`,
			validation: []string{at("null", "shardToMerge", notNull), at("null", "adjacentShardToMerge", notNull)}},
		{test: "should return ValidationException for empty StreamName", op: "MergeShards", body: body("", "", ""),
			validation: []string{at("", "shardToMerge", nameRE), at("", "shardToMerge", min1), at("", "adjacentShardToMerge", nameRE), at("", "adjacentShardToMerge", min1),
				at("", "streamName", nameRE), at("", "streamName", min1)}},
		{test: "should return ValidationException for long StreamName", op: "MergeShards", body: body(long, long, long),
			validation: []string{at(long, "shardToMerge", max128), at(long, "adjacentShardToMerge", max128), at(long, "streamName", max128)}},
		{test: "should return ResourceNotFoundException if known stream and raw shard ID does not exist", op: "MergeShards", body: body(stream, "shardId-5", missing+"-0"),
			errType: "ResourceNotFoundException", msg: noShard("shardId-000000000005", stream)},
		{test: "should return ResourceNotFoundException if known stream and raw shard ID does not exist ADJ", op: "MergeShards", body: body(stream, missing+"-0", "shardId-5"),
			errType: "ResourceNotFoundException", msg: noShard("shardId-000000000005", stream)},
		{test: "should return InvalidArgumentException if shards not adjacent", op: "MergeShards", body: body(stream, missing+"-0", missing+"-2"),
			errType: "InvalidArgumentException", msg: "Shards shardId-000000000000 and shardId-000000000002 in stream " + stream + " under account " + acct + " are not an adjacent pair of shards eligible for merging"},
	}
	for _, adj := range []bool{false, true} {
		sfx := ""
		if adj {
			sfx = " ADJ"
		}
		for _, s := range []struct{ test, id, msg string }{
			{"should return ResourceNotFoundException if unknown stream and shard ID just small enough", "2147483647", notFound(missing)},
			{"should return ResourceNotFoundException if unknown stream and random shard name", missing + "-2147483647", notFound(missing)},
			{"should return ResourceNotFoundException if unknown stream and short prefix", "a-00002147483647", notFound(missing)},
			{"should return ResourceNotFoundException if unknown stream and no prefix", "-00002147483647", notFound(missing)},
			{"should return ResourceNotFoundException if unknown stream and shard ID too big", "2147483648", noShard("2147483648", missing)},
			{"should return ResourceNotFoundException if unknown stream and raw shard ID too big", "shardId-002147483648", noShard("shardId-002147483648", missing)},
			{"should return ResourceNotFoundException if unknown stream and string shard ID", "ABKLFD8", noShard("ABKLFD8", missing)},
			{"should return ResourceNotFoundException if unknown stream and exponent shard ID", "2.14E4", noShard("2.14E4", missing)},
		} {
			b := body(missing, s.id, missing+"-0")
			if adj {
				b = body(missing, missing+"-0", s.id)
			}
			cs = append(cs, fidelityCase{test: s.test + sfx, op: "MergeShards", body: b, errType: "ResourceNotFoundException", msg: s.msg})
		}
	}
	return cs
}

func splitCases(at func(string, string, string) string, nameRE, min1, max128, notNull string, notFound func(string) string, noShard func(string, string) string, missing, stream string) []fidelityCase {
	long := strings.Repeat("a", 129)
	body := func(name, shard, key string) string {
		return `{"StreamName":"` + name + `","ShardToSplit":"` + shard + `","NewStartingHashKey":"` + key + `"}`
	}
	tooFar := func(key, shard, start, end string) string {
		return "NewStartingHashKey " + key + " used in SplitShard() on shard " + shard + " in stream " + stream + " under account " + acct +
			" is not both greater than one plus the shard's StartingHashKey " + start + " and less than the shard's EndingHashKey " + end + "."
	}
	cs := []fidelityCase{
		{test: "should return ValidationException for no StreamName", op: "SplitShard", body: `{}`,
			validation: []string{at("null", "newStartingHashKey", notNull), at("null", "shardToSplit", notNull)}},
		{test: "should return ValidationException for empty StreamName", op: "SplitShard", body: body("", "", ""),
			validation: []string{at("", "newStartingHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`), at("", "streamName", nameRE), at("", "streamName", min1),
				at("", "shardToSplit", nameRE), at("", "shardToSplit", min1)}},
		{test: "should return ValidationException for long StreamName", op: "SplitShard", body: body(long, long, "0"),
			validation: []string{at(long, "streamName", max128), at(long, "shardToSplit", max128)}},
		{test: "should return ResourceNotFoundException if known stream and raw shard ID does not exist", op: "SplitShard", body: body(stream, "shardId-5", "0"),
			errType: "ResourceNotFoundException", msg: noShard("shardId-000000000005", stream)},
		{test: "should return InvalidArgumentException for hash too small", op: "SplitShard", body: body(stream, "shard-0", "1"),
			errType: "InvalidArgumentException", msg: tooFar("1", "shardId-000000000000", "0", hk3End0)},
		{test: "should return InvalidArgumentException for hash too big", op: "SplitShard", body: body(stream, "shard-0", hk3End0),
			errType: "InvalidArgumentException", msg: tooFar(hk3End0, "shardId-000000000000", "0", hk3End0)},
		{test: "should return InvalidArgumentException for hash much too big", op: "SplitShard", body: body(stream, "shard-2", "999999999999999999999999999999999999999"),
			errType: "InvalidArgumentException", msg: tooFar("999999999999999999999999999999999999999", "shardId-000000000002", hk3Start2, hkMax)},
	}
	for _, s := range []struct{ test, id, msg string }{
		{"should return ResourceNotFoundException if unknown stream and shard ID just small enough", "2147483647", notFound(missing)},
		{"should return ResourceNotFoundException if unknown stream and random shard name", missing + "-2147483647", notFound(missing)},
		{"should return ResourceNotFoundException if unknown stream and short prefix", "a-00002147483647", notFound(missing)},
		{"should return ResourceNotFoundException if unknown stream and no prefix", "-00002147483647", notFound(missing)},
		{"should return ResourceNotFoundException if unknown stream and shard ID too big", "2147483648", noShard("2147483648", missing)},
		{"should return ResourceNotFoundException if unknown stream and raw shard ID too big", "shardId-002147483648", noShard("shardId-002147483648", missing)},
		{"should return ResourceNotFoundException if unknown stream and string shard ID", "ABKLFD8", noShard("ABKLFD8", missing)},
		{"should return ResourceNotFoundException if unknown stream and exponent shard ID", "2.14E4", noShard("2.14E4", missing)},
	} {
		cs = append(cs, fidelityCase{test: s.test, op: "SplitShard", body: body(missing, s.id, "0"), errType: "ResourceNotFoundException", msg: s.msg})
	}
	return cs
}
