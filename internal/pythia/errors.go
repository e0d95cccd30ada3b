package pythia

import "errors"

// Error categories. Every error returned by this package for bad input is an
// [*InputError] whose Unwrap yields exactly one of these sentinels, so callers
// can branch with errors.Is and still get a precise reason with errors.As.
var (
	// ErrLength reports an input whose length is outside what the protocol
	// allows: a password or tweak outside 1..128 bytes, a key secret outside
	// 1..128 bytes, a blinded point that is not 49 bytes, a seed that is not
	// 384 bytes, or a scalar buffer outside 2..50 bytes.
	ErrLength = errors.New("pythia: invalid length")

	// ErrMalformed reports bytes that are not a valid encoding: an unknown
	// flag byte, a field element that is not canonical (≥ p), an x coordinate
	// with no point on the curve, a seed with more than 24 zero bytes, or a
	// scalar buffer with a bad sign byte.
	ErrMalformed = errors.New("pythia: malformed encoding")

	// ErrNotInGroup reports a well-formed encoding of an element outside the
	// prime-order group the protocol works in: a blinded point on the curve
	// but outside G1, a seed outside GT (not in the order-q cyclotomic
	// subgroup), the identity of GT, or a scalar that is zero modulo q.
	ErrNotInGroup = errors.New("pythia: element not in the prime-order group")
)

// InputError describes why an input was rejected. It never contains the input
// bytes themselves (passwords, secrets and key buffers are secret).
type InputError struct {
	// Input names the rejected input: "password", "tweak", "blinded point",
	// "seed", "blinding secret", "transformation key", "pythia secret",
	// "scope secret" or "key id".
	Input string
	// Reason is a short human-readable explanation.
	Reason string
	// Err is one of ErrLength, ErrMalformed or ErrNotInGroup.
	Err error
}

func (e *InputError) Error() string {
	return "pythia: invalid " + e.Input + ": " + e.Reason
}

// Unwrap returns the error category (ErrLength, ErrMalformed or ErrNotInGroup).
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(input, reason string, kind error) error {
	return &InputError{Input: input, Reason: reason, Err: kind}
}
