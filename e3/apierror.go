package e3

import (
	"strconv"

	"github.com/e3go/e3go/internal/virgilapi"
)

// APIError is an error answer from a Virgil service (Cards, Keyknox, Pythia)
// or a compatible server such as e3test: a non-2xx HTTP status with, in the
// body, Virgil's {"code": <int>, "message": "<text>"}. Code is 0 and Message
// the HTTP status text when the body carries neither.
//
// Codes clients react to: 20304 (401, the access token expired: the request
// was retried once with a fresh token and still failed), 50010 (Keyknox: the
// entry changed since it was read), 60007 (BrainKey throttling, after one
// retry), 10001 (entity not found).
type APIError struct {
	StatusCode int
	Code       int
	Message    string
}

// Error returns "e3: Virgil service error <status> (code <code>): <message>".
func (e *APIError) Error() string {
	s := "e3: Virgil service error " + strconv.Itoa(e.StatusCode)
	if e.Code != 0 {
		s += " (code " + strconv.Itoa(e.Code) + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// newAPIError is the virgilapi hook that makes every service error an
// *APIError for callers of this package.
func newAPIError(e *virgilapi.Error) error {
	return &APIError{StatusCode: e.StatusCode, Code: e.Code, Message: e.Message}
}
