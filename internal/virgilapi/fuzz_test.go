package virgilapi

import (
	"errors"
	"testing"
)

func FuzzParseKeyknox(f *testing.F) {
	for _, s := range []string{
		`{"meta":"","value":"","version":"1.0"}`,
		`{"meta":"MIIB4QIBADCC","value":"zQmI","version":"2.0"}`,
		`{"owner":"alice","root":"group-sessions","path":"8e55","key":"0","identities":["alice","bob"],"meta":"AQ==","value":"Ag=="}`,
		`{"meta":null,"value":null}`, `{}`, `[]`, `null`, `{"meta":"!"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v1, err := ParseKeyknoxV1(b)
		if (v1 == nil) == (err == nil) || err != nil && !errors.Is(err, ErrMalformedResponse) {
			t.Fatalf("v1: %v, %v", v1, err)
		}
		v2, err := ParseKeyknoxV2(b)
		if (v2 == nil) == (err == nil) || err != nil && !errors.Is(err, ErrMalformedResponse) {
			t.Fatalf("v2: %v, %v", v2, err)
		}
	})
}
