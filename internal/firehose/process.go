package firehose

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Invoker runs a function through the server's one invoker (internal/
// functions): the payload is the event JSON; a non-empty functionError
// means the response is the function's error object.
type Invoker interface {
	Invoke(ctx context.Context, account, region, function string, payload []byte) (response []byte, functionError string, err error)
}

// failure is a record that could not be processed, for the
// processing-failed error prefix.
type failure struct {
	rec      LogRecord
	code     string
	msg      string
	attempts int
}

// processor is a delivery stream's Lambda processor, if any.
type processor struct {
	arn       string
	retries   int
	sizeBytes int
}

func lambdaProcessor(m *streamMeta) *processor { return lambdaProcessorOf(m.Dest) }

// lambdaProcessorOf is the Lambda processor of a destination configuration.
func lambdaProcessorOf(dest map[string]any) *processor {
	pc := mapOf(dest, "ProcessingConfiguration")
	if pc["Enabled"] != true {
		return nil
	}
	for _, p := range listOf(pc, "Processors") {
		pm, _ := p.(map[string]any)
		if str(pm, "Type") != "Lambda" {
			continue
		}
		params := processorParams(pm)
		lp := &processor{arn: params["LambdaArn"], retries: 3, sizeBytes: 1 << 20}
		if n, err := strconv.Atoi(params["NumberOfRetries"]); err == nil {
			lp.retries = n
		}
		if f, err := strconv.ParseFloat(params["BufferSizeInMBs"], 64); err == nil && f > 0 {
			lp.sizeBytes = int(f * (1 << 20))
		}
		return lp
	}
	return nil
}

// keyedRecord is a processed record with the partition keys its Lambda
// processor returned (metadata.partitionKeys), its Iceberg routing
// (metadata.otfMetadata), and the record it came from.
type keyedRecord struct {
	data []byte
	keys map[string]string
	otf  map[string]string
	src  LogRecord
}

// transformKeyed runs the Lambda processor over records, in sub-batches of
// its buffer size, as AWS's contract says: an event of records with ids, a
// response naming each id with Ok (new data), Dropped or ProcessingFailed.
// Invocations that fail are retried NumberOfRetries times, then their
// records fail. Without a Lambda processor the records pass unchanged.
// Each output keeps the metadata the processor gave and its source record.
func (s *Service) transformKeyed(ctx context.Context, m *streamMeta, recs []LogRecord) ([]keyedRecord, []failure) {
	lp := lambdaProcessor(m)
	if lp == nil {
		out := make([]keyedRecord, len(recs))
		for i, r := range recs {
			out[i] = keyedRecord{data: r.Data, src: r}
		}
		return out, nil
	}
	var out []keyedRecord
	var failed []failure
	for start := 0; start < len(recs); {
		end, size := start, 0
		for end < len(recs) && (end == start || size+len(recs[end].Data)*4/3+200 <= lp.sizeBytes) {
			size += len(recs[end].Data)*4/3 + 200
			end++
		}
		o, f := s.invokeProcessor(ctx, m, lp, recs[start:end])
		out, failed = append(out, o...), append(failed, f...)
		start = end
	}
	return out, failed
}

func (s *Service) invokeProcessor(ctx context.Context, m *streamMeta, lp *processor, recs []LogRecord) ([]keyedRecord, []failure) {
	type evRecord struct {
		RecordID                    string `json:"recordId"`
		ApproximateArrivalTimestamp int64  `json:"approximateArrivalTimestamp"`
		Data                        string `json:"data"`
	}
	ids := make([]string, len(recs))
	ev := struct {
		InvocationID      string     `json:"invocationId"`
		DeliveryStreamArn string     `json:"deliveryStreamArn"`
		Region            string     `json:"region"`
		Records           []evRecord `json:"records"`
	}{InvocationID: uuid.NewString(), DeliveryStreamArn: m.arn(), Region: m.Region}
	for i, r := range recs {
		ids[i] = recordID(m.LogKey, r.Seq)
		ev.Records = append(ev.Records, evRecord{ids[i], r.Timestamp, base64.StdEncoding.EncodeToString(r.Data)})
	}
	payload, _ := json.Marshal(ev)
	failAll := func(code, msg string, attempts int) ([]keyedRecord, []failure) {
		f := make([]failure, len(recs))
		for i, r := range recs {
			f[i] = failure{rec: r, code: code, msg: msg, attempts: attempts}
		}
		return nil, f
	}
	if s.cfg.Functions == nil {
		return failAll("Lambda.InvokeError", "No functions service is available on this server.", 1)
	}
	var resp []byte
	attempts := 0
	for {
		attempts++
		r, fnErr, err := s.cfg.Functions.Invoke(ctx, m.Account, m.Region, lp.arn, payload)
		switch {
		case err == nil && fnErr == "":
			resp = r
		case attempts > lp.retries || ctx.Err() != nil:
			if err != nil {
				return failAll("Lambda.InvokeError", err.Error(), attempts)
			}
			return failAll("Lambda.FunctionError", "The Lambda function was successfully invoked but it returned an error result: "+string(r), attempts)
		default:
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempts) * 200 * time.Millisecond):
			}
			continue
		}
		break
	}
	var ans struct {
		Records []struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
			Data     string `json:"data"`
			Metadata struct {
				PartitionKeys map[string]string `json:"partitionKeys"`
				OTFMetadata   map[string]string `json:"otfMetadata"`
			} `json:"metadata"`
		} `json:"records"`
	}
	if err := json.Unmarshal(resp, &ans); err != nil {
		return failAll("Lambda.JsonProcessingException", "The Lambda function's response is not valid JSON: "+err.Error(), attempts)
	}
	byID := map[string]int{}
	for i, r := range ans.Records {
		byID[r.RecordID] = i
	}
	var out []keyedRecord
	var failed []failure
	for i, r := range recs {
		j, ok := byID[ids[i]]
		if !ok {
			failed = append(failed, failure{rec: r, code: "Lambda.MissingRecordId", msg: "Record ID " + ids[i] + " is missing in the Lambda response.", attempts: attempts})
			continue
		}
		ar := ans.Records[j]
		switch ar.Result {
		case "Ok":
			d, err := base64.StdEncoding.DecodeString(ar.Data)
			if err != nil {
				failed = append(failed, failure{rec: r, code: "Lambda.JsonProcessingException", msg: "The data of record " + ids[i] + " is not base64.", attempts: attempts})
				continue
			}
			out = append(out, keyedRecord{data: d, keys: ar.Metadata.PartitionKeys, otf: ar.Metadata.OTFMetadata, src: r})
		case "Dropped":
		case "ProcessingFailed":
			failed = append(failed, failure{rec: r, code: "Lambda.ProcessingFailedStatus", msg: "ProcessingFailed status set for record", attempts: attempts})
		default:
			failed = append(failed, failure{rec: r, code: "Lambda.InvalidResult", msg: "Invalid result " + ar.Result + " for record " + ids[i] + ".", attempts: attempts})
		}
	}
	return out, failed
}

// failedLines renders failures as AWS's processing-failed JSON lines.
func (s *Service) failedLines(lp *processor, failed []failure) [][]byte {
	now := s.cfg.Now().UnixMilli()
	lines := make([][]byte, len(failed))
	for i, f := range failed {
		rec := map[string]any{"attemptsMade": f.attempts, "arrivalTimestamp": f.rec.Timestamp, "errorCode": f.code,
			"errorMessage": f.msg, "attemptEndingTimestamp": now, "rawData": base64.StdEncoding.EncodeToString(f.rec.Data)}
		if lp != nil {
			rec["lambdaArn"] = lp.arn
		}
		b, _ := json.Marshal(rec)
		lines[i] = append(b, '\n')
	}
	return lines
}

// conversionFailedLines renders format conversion failures as AWS's
// format-conversion-failed records: lastErrorCode and lastErrorMessage, the
// record's position, and the Glue table it was converted against.
func (s *Service) conversionFailedLines(m *streamMeta, failed []failure) [][]byte {
	sc := mapOf(mapOf(m.Dest, "DataFormatConversionConfiguration"), "SchemaConfiguration")
	catalog, region := str(sc, "CatalogId"), str(sc, "Region")
	if catalog == "" {
		catalog = m.Account
	}
	if region == "" {
		region = m.Region
	}
	table := map[string]any{"catalogId": catalog, "databaseName": str(sc, "DatabaseName"), "tableName": str(sc, "TableName"),
		"region": region, "versionId": str(sc, "VersionId"),
		"catalogArn": "arn:aws:glue:" + region + ":" + catalog + ":catalog"}
	now := s.cfg.Now().UnixMilli()
	lines := make([][]byte, len(failed))
	for i, f := range failed {
		b, _ := json.Marshal(map[string]any{"attemptsMade": f.attempts, "arrivalTimestamp": f.rec.Timestamp, "lastErrorCode": f.code,
			"lastErrorMessage": f.msg, "attemptEndingTimestamp": now, "rawData": base64.StdEncoding.EncodeToString(f.rec.Data),
			"sequenceNumber": strconv.FormatUint(f.rec.Seq, 10), "subSequenceNumber": nil, "dataCatalogTable": table})
		lines[i] = append(b, '\n')
	}
	return lines
}
