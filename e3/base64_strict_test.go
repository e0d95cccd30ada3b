package e3_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/e3go/e3go/e3"
)

// lineBroken returns b64 with line breaks inserted as a MIME or PEM encoder
// would, and a few other ways: encoding/base64 skips \r and \n even in
// strict mode, so each decodes to the same bytes unless refused.
func lineBroken(b64 string) []string {
	wrap := func(n int, sep string) string {
		var sb strings.Builder
		for i := 0; i < len(b64); i += n {
			if i > 0 {
				sb.WriteString(sep)
			}
			sb.WriteString(b64[i:min(i+n, len(b64))])
		}
		return sb.String()
	}
	return []string{wrap(76, "\r\n"), wrap(64, "\n"), b64 + "\n", "\r" + b64, b64[:5] + "\r" + b64[5:],
		strings.TrimRight(b64, "=") + "\n"}
}

// Base64 strings with line breaks are refused like any other non-standard
// base64 (e3kit-js never writes them; streamenc refuses them too).
func TestDecryptStringRefusesLineBreaks(t *testing.T) {
	srv := newServer(t)
	alice := registered(t, srv, "alice")
	bob := registered(t, srv, "bob")
	aliceCard := mustFind(t, bob, "alice")
	text := strings.Repeat("line breaks are not base64. ", 8)
	s, err := alice.AuthEncryptString(text, mustFind(t, alice, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	g := groupOf(t, alice, "base64-line-breaks", mustFind(t, alice, "bob"))
	gs, err := g.EncryptString(text)
	if err != nil {
		t.Fatal(err)
	}
	bgrp := loadOf(t, bob, "base64-line-breaks", alice)
	if pt, err := bob.AuthDecryptString(s, aliceCard); err != nil || pt != text {
		t.Fatalf("AuthDecryptString: %v", err)
	}
	if pt, err := bgrp.DecryptString(gs, aliceCard); err != nil || pt != text {
		t.Fatalf("DecryptString: %v", err)
	}
	var pe *e3.ParseError
	for _, bad := range lineBroken(s) {
		if pt, err := bob.AuthDecryptString(bad, aliceCard); !errors.Is(err, e3.ErrMalformed) || !errors.As(err, &pe) || pt != "" {
			t.Errorf("AuthDecryptString(%q...): %q, %v", bad[:10], pt, err)
		}
		if pt, err := bob.AuthDecryptStringAt(bad, aliceCard, aliceCard.CreatedAt); !errors.Is(err, e3.ErrMalformed) || pt != "" {
			t.Errorf("AuthDecryptStringAt(%q...): %v", bad[:10], err)
		}
	}
	for _, bad := range lineBroken(gs) {
		if pt, err := bgrp.DecryptString(bad, aliceCard); !errors.Is(err, e3.ErrMalformed) || pt != "" {
			t.Errorf("Group.DecryptString(%q...): %q, %v", bad[:10], pt, err)
		}
	}
}
