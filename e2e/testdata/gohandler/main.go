// Command gohandler is a plain Go Lambda handler built with
// github.com/aws/aws-lambda-go, unchanged from what runs on AWS: the e2e
// tests build it as the bootstrap of a provided.al2023 function. Invoked
// directly it answers with what it was given and what its context says;
// invoked by a Kinesis event source mapping it appends each record to the
// file named by OUT_FILE.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Name    string                      `json:"name"`
	Fail    bool                        `json:"fail"`
	Records []events.KinesisEventRecord `json:"Records"`
}

type response struct {
	Greeting     string `json:"greeting"`
	RequestID    string `json:"requestId"`
	FunctionArn  string `json:"functionArn"`
	FunctionName string `json:"functionName"`
	HasDeadline  bool   `json:"hasDeadline"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, err
	}
	if len(req.Records) > 0 {
		return handleKinesis(req.Records)
	}
	if req.Fail {
		return nil, errors.New("asked to fail")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	dl, ok := ctx.Deadline()
	fmt.Println("hello from go", req.Name)
	return response{Greeting: "hello " + req.Name, RequestID: lc.AwsRequestID, FunctionArn: lc.InvokedFunctionArn,
		FunctionName: lambdacontext.FunctionName, HasDeadline: ok && time.Until(dl) > 0}, nil
}

func handleKinesis(recs []events.KinesisEventRecord) (events.KinesisEventResponse, error) {
	f, err := os.OpenFile(os.Getenv("OUT_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return events.KinesisEventResponse{}, err
	}
	defer f.Close()
	for _, r := range recs {
		fmt.Fprintf(f, "%s %s %s\n", r.EventID, r.Kinesis.PartitionKey, r.Kinesis.Data)
	}
	return events.KinesisEventResponse{}, f.Sync()
}

func main() { lambda.Start(handle) }
