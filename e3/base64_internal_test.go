package e3

import (
	"encoding/base64"
	"errors"
	"testing"
)

// FuzzDecodeBase64Message: what decodeBase64Message accepts is exactly the
// standard base64 of its output, padded or not, on one line; everything
// else is a *ParseError matching ErrMalformed.
func FuzzDecodeBase64Message(f *testing.F) {
	for _, s := range []string{"", "TQ==", "TQ", "TWFu", "TWE=", "TWE", "TQ==\n", "TW\r\nFu", "TWFu\n", "TQ=", "TR==", "T-8_", "!!!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decodeBase64Message(s)
		if err != nil {
			var pe *ParseError
			if b != nil || !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
				t.Fatalf("%q: %v, %v", s, b, err)
			}
			return
		}
		if s != base64.StdEncoding.EncodeToString(b) && s != base64.RawStdEncoding.EncodeToString(b) {
			t.Fatalf("%q accepted, but decodes to %x", s, b)
		}
	})
}
