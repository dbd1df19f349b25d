package config

import (
	"errors"
	"time"
)

// Limits bounds what callers can make the server hold: memory for request
// bodies and answers, and time. docs/SECURITY.md ("Limits") explains them.
// A zero field takes its default.
type Limits struct {
	// InflightBytes bounds the request body bytes received and the answer
	// bytes being written, across all calls. Default 268435456 (256 MiB).
	InflightBytes int64 `json:"inflightBytes"`
	// PrincipalBytes bounds what one principal may hold of InflightBytes:
	// an access key in auth mode verify, a remote IP in mode none. Default
	// a quarter of InflightBytes.
	PrincipalBytes int64 `json:"principalBytes"`
	// BodyTimeout bounds the time to receive a buffered request body once
	// its headers are in. Default "60s".
	BodyTimeout Duration `json:"bodyTimeout"`
	// MinDataRate (bytes per second) is the slowest a request body may
	// arrive, averaged from its start once BodyGrace has passed, and the rate
	// a response's write deadline allows for. Default 65536 (64 KiB/s).
	MinDataRate int64 `json:"minDataRate"`
	// BodyGrace is how long a body may arrive slower than MinDataRate.
	// Default "5s".
	BodyGrace Duration `json:"bodyGrace"`
	// WriteTimeout: a client must take an answer within WriteTimeout plus
	// its size at MinDataRate (each event of an event stream, each chunk of
	// a streamed answer, likewise), else its connection is closed. Default
	// "30s".
	WriteTimeout Duration `json:"writeTimeout"`
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{InflightBytes: 256 << 20, PrincipalBytes: 64 << 20, BodyTimeout: Duration(60 * time.Second),
		MinDataRate: 64 << 10, BodyGrace: Duration(5 * time.Second), WriteTimeout: Duration(30 * time.Second)}
}

// validate checks the limits.
func (l Limits) validate() []error {
	var errs []error
	if l.InflightBytes < 0 || l.PrincipalBytes < 0 || l.MinDataRate < 0 || l.BodyTimeout < 0 || l.BodyGrace < 0 || l.WriteTimeout < 0 {
		errs = append(errs, errors.New("limits: no limit may be negative"))
	}
	if l.InflightBytes > 0 && l.PrincipalBytes > l.InflightBytes {
		errs = append(errs, errors.New("limits.principalBytes must be at most limits.inflightBytes"))
	}
	return errs
}
