package signalingapi

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/rheos/rheos/internal/signaling"
)

// maxFrame bounds a client's frame: a 10 KB payload and its envelope, with
// room to spare. A larger frame closes the connection (1009).
const maxFrame = 64 << 10

// clientFrame is a message from a client (ConnectAsMaster/Viewer's
// SendSdpOffer, SendSdpAnswer, SendIceCandidate).
type clientFrame struct {
	Action            string `json:"action"`
	RecipientClientID string `json:"recipientClientId,omitempty"`
	MessagePayload    string `json:"messagePayload"`
	CorrelationID     string `json:"correlationId,omitempty"`
}

// event is a message to a client (AWS's "Asynchronous message reception").
type event struct {
	SenderClientID string          `json:"senderClientId,omitempty"`
	MessageType    string          `json:"messageType"`
	MessagePayload string          `json:"messagePayload,omitempty"`
	StatusResponse *statusResponse `json:"statusResponse,omitempty"`
}

type statusResponse struct {
	CorrelationID string `json:"correlationId"`
	ErrorType     string `json:"errorType,omitempty"`
	StatusCode    string `json:"statusCode,omitempty"`
	Description   string `json:"description,omitempty"`
}

// encodeEvent frames a relay message as AWS's event.
func encodeEvent(m signaling.Message) []byte {
	e := event{SenderClientID: m.SenderClientID, MessageType: m.Type, MessagePayload: m.Payload}
	b, _ := json.Marshal(e)
	return b
}

// statusFor is the STATUS_RESPONSE of a refused message.
func statusFor(correlationID string, err error) []byte {
	st := &statusResponse{CorrelationID: correlationID, ErrorType: "InternalFailure", StatusCode: "500", Description: err.Error()}
	var de *signaling.Error
	if errors.As(err, &de) {
		if ex, ok := errorOf[de.Kind]; ok {
			st.ErrorType, st.StatusCode, st.Description = ex.Name, strconv.Itoa(ex.RESTStatus), de.Msg
		}
	}
	b, _ := json.Marshal(event{MessageType: signaling.StatusResponse, StatusResponse: st})
	return b
}

// decodeFrame reads a client's frame; ok=false for one that is not a JSON
// object (dropped: there is no correlationId to answer).
func decodeFrame(b []byte) (clientFrame, bool) {
	var f clientFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return f, false
	}
	return f, true
}

// relay runs one connection: a reader goroutine hands the client's frames
// to the relay (answering refusals that carry a correlationId with a
// STATUS_RESPONSE), this goroutine writes the relay's messages, until the
// client goes, the relay ends the connection (replaced, expired, idle,
// shutdown: what is queued, GO_AWAY included, is sent first) or the
// server drains.
func (a *API) relay(ctx context.Context, ws *websocket.Conn, conn *signaling.Conn, draining <-chan struct{}) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			typ, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageText {
				continue
			}
			f, ok := decodeFrame(b)
			if !ok {
				continue
			}
			err = conn.Send(signaling.Inbound{Action: f.Action, RecipientClientID: f.RecipientClientID, Payload: f.MessagePayload,
				CorrelationID: f.CorrelationID})
			if err != nil && f.CorrelationID != "" {
				if a.write(ctx, ws, statusFor(f.CorrelationID, err)) != nil {
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-readDone }()
	for {
		select {
		case m := <-conn.Out():
			if a.write(ctx, ws, encodeEvent(m)) != nil {
				return
			}
		case <-conn.Done():
		drain:
			for {
				select {
				case m := <-conn.Out():
					if a.write(ctx, ws, encodeEvent(m)) != nil {
						return
					}
				default:
					break drain
				}
			}
			reason := "closed"
			if err := conn.Reason(); err != nil {
				reason = strings.TrimPrefix(err.Error(), "signaling: ")
			}
			ws.Close(websocket.StatusNormalClosure, reason)
			return
		case <-draining:
			a.write(ctx, ws, encodeEvent(signaling.Message{Type: signaling.GoAway}))
			ws.Close(websocket.StatusGoingAway, "the server is shutting down")
			return
		case <-readDone:
			return
		}
	}
}

func (a *API) write(ctx context.Context, ws *websocket.Conn, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, a.WriteTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, b)
}
