package streamtest

import (
	"fmt"
	"net/http"
)

// Stream error codes the emulator answers with (spec §4.2). The HTTP status
// that goes with each is in the comment.
const (
	CodeInternal            = -1 // 500
	CodeAccessKey           = 2  // 401: wrong or missing api_key
	CodeInput               = 4  // 400: validation failures
	CodeAuthentication      = 5  // 401: missing or malformed token
	CodeRateLimit           = 9  // 429
	CodeDoesNotExist        = 16 // 404
	CodeNotAllowed          = 17 // 403: permission denied for a user token
	CodeMessageTooLong      = 20 // 400: text above max_message_length
	CodeMultipleNesting     = 21 // 400: reply to a reply
	CodePayloadTooBig       = 22 // 413: body or upload too large
	CodeTokenExpired        = 40 // 401: exp in the past
	CodeTokenNotValidYet    = 41 // 401: nbf in the future
	CodeTokenUsedBeforeIAT  = 42 // 401: iat in the future
	CodeTokenSignatureWrong = 43 // 401: HMAC mismatch
)

const moreInfoURL = "https://getstream.io/chat/docs/api_errors_response"

// apiError is an error the emulator turns into Stream's error envelope.
type apiError struct {
	status  int
	code    int
	message string
	fields  map[string]string
}

func (e *apiError) Error() string { return e.message }

// opError builds an error whose message follows Stream's form
// `<Operation> failed with error: "<reason>"`.
func opError(status, code int, op, format string, args ...any) *apiError {
	reason := fmt.Sprintf(format, args...)
	return &apiError{status: status, code: code, message: fmt.Sprintf("%s failed with error: %q", op, reason)}
}

func (c *reqCtx) inputErr(format string, args ...any) *apiError {
	return opError(http.StatusBadRequest, CodeInput, c.route.op, format, args...)
}

func (c *reqCtx) notFound(format string, args ...any) *apiError {
	return opError(http.StatusNotFound, CodeDoesNotExist, c.route.op, format, args...)
}

func (c *reqCtx) tooBig(format string, args ...any) *apiError {
	return opError(http.StatusRequestEntityTooLarge, CodePayloadTooBig, c.route.op, format, args...)
}

// notAllowed is the 403 a user token gets for an action its role may not
// perform, worded as Stream words it.
func (c *reqCtx) notAllowed(action, scope string) *apiError {
	return opError(http.StatusForbidden, CodeNotAllowed, c.route.op,
		"User '%s' with role '%s' is not allowed to perform action %s in scope '%s'",
		c.auth.userID, c.userRole(), action, scope)
}

// forbidden is a 403 with a free-form reason.
func (c *reqCtx) forbidden(format string, args ...any) *apiError {
	return opError(http.StatusForbidden, CodeNotAllowed, c.route.op, format, args...)
}

func defaultCodeForStatus(status int) int {
	switch {
	case status == http.StatusTooManyRequests:
		return CodeRateLimit
	case status == http.StatusNotFound:
		return CodeDoesNotExist
	case status == http.StatusForbidden:
		return CodeNotAllowed
	case status == http.StatusUnauthorized:
		return CodeAuthentication
	case status == http.StatusRequestEntityTooLarge:
		return CodePayloadTooBig
	case status >= 500:
		return CodeInternal
	default:
		return CodeInput
	}
}

func envelope(e *apiError, duration string) map[string]any {
	m := map[string]any{
		"code":       e.code,
		"message":    e.message,
		"StatusCode": e.status,
		"duration":   duration,
		"more_info":  moreInfoURL,
		"details":    []any{},
	}
	if len(e.fields) > 0 {
		m["exception_fields"] = e.fields
	}
	return m
}
