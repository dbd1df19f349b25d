package awsproto

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/rheos/rheos/internal/awserr"
)

// WriteJSONError writes AWS's JSON error envelope ({"__type", "message"}
// and the x-amzn-ErrorType header) with the given content type and status.
// SerializationException carries "Message", as Coral writes it.
func WriteJSONError(w http.ResponseWriter, contentType string, status int, e *awserr.Error) {
	body := map[string]string{"__type": e.Name}
	if e.Message != "" {
		if e.Name == awserr.Serialization.Name {
			body["Message"] = e.Message
		} else {
			body["message"] = e.Message
		}
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("x-amzn-ErrorType", e.Name)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// WriteXMLError writes the XML error AWS's front door gives requests it
// cannot attribute to an operation.
func WriteXMLError(w http.ResponseWriter, status int, typ, msg string) {
	b := "<" + typ + ">\n  <Message>" + msg + "</Message>\n</" + typ + ">\n"
	w.Header()["Content-Type"] = nil // AWS sends none; nil stops net/http's sniffing
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	io.WriteString(w, b)
}

// WriteXMLStatus writes an empty XML error element.
func WriteXMLStatus(w http.ResponseWriter, status int, typ string) {
	b := "<" + typ + "/>\n"
	w.Header()["Content-Type"] = nil
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	io.WriteString(w, b)
}
