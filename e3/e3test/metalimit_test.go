package e3test_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/e3go/e3go/e3/e3test"
)

// Options.KeyknoxMaxMetaSize refuses longer metas with Virgil's 50005 and
// stores nothing; metas of exactly the limit, and every meta without the
// option, are accepted.
func TestKeyknoxMaxMetaSize(t *testing.T) {
	const limit = 400
	srv, err := e3test.NewServerWithOptions(e3test.Options{KeyknoxMaxMetaSize: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	open := e3test.NewServer()
	defer open.Close()

	meta := func(chars int) string { // base64 of exactly chars characters
		return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("m", chars/4*3)))
	}
	v2 := func(key, m string) []byte {
		return []byte(fmt.Sprintf(`{"root":"group-sessions","path":"p","key":%q,"identities":["bob"],"meta":%q,"value":"dmFsdWU="}`, key, m))
	}
	v1 := func(m string) []byte { return []byte(fmt.Sprintf(`{"meta":%q,"value":"dmFsdWU="}`, m)) }

	tok := token(t, srv, "alice")
	if status, code, body, _ := do(t, srv, "POST", "/keyknox/v2/push", tok, v2("0", meta(limit))); status != 200 {
		t.Fatalf("v2 push at the limit: %d/%d %s", status, code, body)
	}
	if status, code, _, _ := do(t, srv, "POST", "/keyknox/v2/push", tok, v2("1", meta(limit+4))); status != 400 || code != e3test.CodeKeyknoxTooLarge {
		t.Fatalf("v2 push over the limit: %d/%d", status, code)
	}
	if _, ok := srv.KeyknoxV2("alice", "group-sessions", "p", "1"); ok {
		t.Fatal("a refused v2 push stored an entry")
	}
	if status, code, _, _ := do(t, srv, "PUT", "/keyknox/v1", tok, v1(meta(limit+4))); status != 400 || code != e3test.CodeKeyknoxTooLarge {
		t.Fatalf("v1 push over the limit: %d/%d", status, code)
	}
	if r, ok := srv.KeyknoxV1("alice"); ok && len(r.Meta) > 0 {
		t.Fatal("a refused v1 push stored a meta")
	}
	if status, code, body, _ := do(t, srv, "PUT", "/keyknox/v1", tok, v1(meta(limit))); status >= 400 {
		t.Fatalf("v1 push at the limit: %d/%d %s", status, code, body)
	}

	// Without the option there is no limit.
	if status, code, _, _ := do(t, open, "POST", "/keyknox/v2/push", token(t, open, "alice"), v2("0", meta(40000))); status != 200 {
		t.Fatalf("unlimited server refused a 40000-character meta: %d/%d", status, code)
	}
}
