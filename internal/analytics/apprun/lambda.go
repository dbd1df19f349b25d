package apprun

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/rheos/rheos/internal/analytics"
)

// The Lambda contracts of Kinesis Data Analytics (SQL developer guide,
// "Preprocessing Data Using a Lambda Function" and "Using a Lambda Function
// as Output").

// preprocessFailure is a record the preprocessor failed.
type preprocessFailure struct {
	rec Record
	msg string
}

// preprocess runs the input's Lambda preprocessor over records: each comes
// back Ok (with new data), Dropped, or ProcessingFailed (an error_stream
// row). An invocation that fails is retried 3 times, then its records
// fail.
func (r *Runner) preprocess(ctx context.Context, run *running, streamARN, shard string, recs []Record) ([]Record, []preprocessFailure) {
	run.mu.Lock()
	app := run.app
	run.mu.Unlock()
	if len(app.Inputs) == 0 || app.Inputs[0].InputProcessingConfiguration == nil || app.Inputs[0].InputProcessingConfiguration.InputLambdaProcessor == nil {
		return recs, nil
	}
	fn := app.Inputs[0].InputProcessingConfiguration.InputLambdaProcessor.ResourceARN
	type meta struct {
		SequenceNumber              string `json:"sequenceNumber"`
		PartitionKey                string `json:"partitionKey"`
		ShardID                     string `json:"shardId"`
		ApproximateArrivalTimestamp int64  `json:"approximateArrivalTimestamp"`
	}
	type evRecord struct {
		RecordID string `json:"recordId"`
		Meta     meta   `json:"kinesisStreamRecordMetadata"`
		Data     string `json:"data"`
	}
	ev := struct {
		InvocationID   string     `json:"invocationId"`
		ApplicationArn string     `json:"applicationArn"`
		StreamArn      string     `json:"streamArn"`
		Records        []evRecord `json:"records"`
	}{InvocationID: uuid.NewString(), ApplicationArn: app.ARN(), StreamArn: streamARN}
	for i, rec := range recs {
		ev.Records = append(ev.Records, evRecord{RecordID: strconv.Itoa(i), Data: base64.StdEncoding.EncodeToString(rec.Data),
			Meta: meta{rec.SequenceNumber, rec.PartitionKey, shard, rec.ArrivalTime.UnixMilli()}})
	}
	payload, _ := json.Marshal(ev)
	var ans struct {
		Records []struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
			Data     string `json:"data"`
		} `json:"records"`
	}
	err := r.invoke(ctx, app, fn, payload, &ans)
	if err != nil {
		failed := make([]preprocessFailure, len(recs))
		for i, rec := range recs {
			failed[i] = preprocessFailure{rec, err.Error()}
		}
		return nil, failed
	}
	byID := map[string]int{}
	for i, a := range ans.Records {
		byID[a.RecordID] = i
	}
	var out []Record
	var failed []preprocessFailure
	for i, rec := range recs {
		j, ok := byID[strconv.Itoa(i)]
		if !ok {
			failed = append(failed, preprocessFailure{rec, "the preprocessor's response has no record " + strconv.Itoa(i)})
			continue
		}
		switch a := ans.Records[j]; a.Result {
		case "Ok":
			d, err := base64.StdEncoding.DecodeString(a.Data)
			if err != nil {
				failed = append(failed, preprocessFailure{rec, "the preprocessor's data is not base64"})
				continue
			}
			rec.Data = d
			out = append(out, rec)
		case "Dropped":
		case "ProcessingFailed":
			failed = append(failed, preprocessFailure{rec, "the preprocessor returned ProcessingFailed"})
		default:
			failed = append(failed, preprocessFailure{rec, "the preprocessor returned result " + strconv.Quote(a.Result)})
		}
	}
	return out, failed
}

// deliverLambda invokes a Lambda output with records; it returns the
// records to try again (answered DeliveryFailed or missing), with an error
// when there are any.
func (r *Runner) deliverLambda(ctx context.Context, app *analytics.Application, fn string, recs [][]byte, attempt int) ([][]byte, error) {
	type meta struct {
		RetryHint int `json:"retryHint"`
	}
	type evRecord struct {
		RecordID string `json:"recordId"`
		Meta     meta   `json:"lambdaDeliveryRecordMetadata"`
		Data     string `json:"data"`
	}
	ev := struct {
		InvocationID   string     `json:"invocationId"`
		ApplicationArn string     `json:"applicationArn"`
		Records        []evRecord `json:"records"`
	}{InvocationID: uuid.NewString(), ApplicationArn: app.ARN()}
	for i, rec := range recs {
		ev.Records = append(ev.Records, evRecord{RecordID: strconv.Itoa(i), Meta: meta{attempt}, Data: base64.StdEncoding.EncodeToString(rec)})
	}
	payload, _ := json.Marshal(ev)
	var ans struct {
		Records []struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
		} `json:"records"`
	}
	if err := r.invoke(ctx, app, fn, payload, &ans); err != nil {
		return recs, err
	}
	ok := map[string]bool{}
	for _, a := range ans.Records {
		ok[a.RecordID] = a.Result == "Ok"
	}
	var again [][]byte
	for i, rec := range recs {
		if !ok[strconv.Itoa(i)] {
			again = append(again, rec)
		}
	}
	if len(again) > 0 {
		return again, fmt.Errorf("%d of %d records not delivered (DeliveryFailed or missing)", len(again), len(recs))
	}
	return nil, nil
}

// invoke calls a function, up to 4 attempts, and decodes its answer.
func (r *Runner) invoke(ctx context.Context, app *analytics.Application, fn string, payload []byte, ans any) error {
	if r.cfg.Functions == nil {
		return errors.New("no functions service on this server")
	}
	var last error
	for attempt := 0; attempt < 4 && ctx.Err() == nil; attempt++ {
		resp, fnErr, err := r.cfg.Functions.Invoke(ctx, app.Account, app.Region, fn, payload)
		switch {
		case err != nil:
			last = err
		case fnErr != "":
			last = fmt.Errorf("the function returned an error: %s", resp)
		default:
			if err := json.Unmarshal(resp, ans); err != nil {
				return fmt.Errorf("the function's response is not JSON: %w", err)
			}
			return nil
		}
		sleep(ctx, time.Duration(200*(attempt+1))*time.Millisecond)
	}
	return last
}
