package e3

import "errors"

// Sentinel errors. Every error returned by this package's cryptographic
// operations matches one of them with [errors.Is], or is a [*ParseError]
// (which matches [ErrMalformed]).
var (
	// ErrAuthFailed reports that a GCM tag, an ECIES MAC or a signature did
	// not verify: the input was altered, is truncated, was not made for this
	// key, or was not signed by the expected key. Never use any output of a
	// call that failed with it. ErrSignerNotFound and ErrNotSigned also
	// match ErrAuthFailed.
	ErrAuthFailed = errors.New("e3: message authentication failed")

	// ErrNotRecipient reports that the ciphertext has no recipient entry
	// whose key identifier equals the key's identifier. Keys whose
	// identifier scheme differs from the sender's (see
	// [PublicKey.WithSHA256ID]) also end here.
	ErrNotRecipient = errors.New("e3: no recipient entry for this key")

	// ErrSignerNotFound reports that none of the given verification keys
	// has the signer identifier the ciphertext names. It matches
	// ErrAuthFailed too.
	ErrSignerNotFound error = &chainedError{"e3: signer key not found among the given keys", ErrAuthFailed}

	// ErrNotSigned reports that a verifying decryption got a ciphertext
	// that carries no signature. It matches ErrAuthFailed too.
	ErrNotSigned error = &chainedError{"e3: ciphertext is not signed", ErrAuthFailed}

	// ErrKeyType reports an operation the key's type cannot do, such as
	// signing or verifying with a Curve25519 key, or decrypting an entry
	// made for another key algorithm.
	ErrKeyType = errors.New("e3: operation not possible with this key type")

	// ErrMalformed reports structurally invalid input: bad DER, a wrong
	// version, an unknown algorithm, inconsistent lengths or padding. It is
	// always returned wrapped in a [*ParseError] saying what was malformed.
	ErrMalformed = errors.New("e3: malformed input")
)

// chainedError is a sentinel that also matches a more general sentinel.
type chainedError struct {
	msg    string
	parent error
}

func (e *chainedError) Error() string { return e.msg }
func (e *chainedError) Unwrap() error { return e.parent }

// ParseError reports malformed input. What names the structure ("private
// key", "public key", "message info", "signature", "footer", "padding",
// "key material", ...); Err says what is wrong with it and never contains
// the input bytes. errors.Is(err, ErrMalformed) is true for every
// *ParseError.
type ParseError struct {
	What string
	Err  error
}

// Error returns "e3: malformed <What>: <Err>".
func (e *ParseError) Error() string {
	if e.Err == nil {
		return "e3: malformed " + e.What
	}
	return "e3: malformed " + e.What + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMalformed.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

func parseError(what string, err error) error {
	return &ParseError{What: what, Err: err}
}

func parseErrorf(what, msg string) error {
	return &ParseError{What: what, Err: errors.New(msg)}
}
