package e3

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDerivePasswordsVector(t *testing.T) {
	// shared/vectors/virgil-crypto-5.1.2.json "derivePasswords" (e3kit's
	// EThree.derivePasswords).
	login, backup := DerivePasswords("correct horse battery staple")
	if got := hex.EncodeToString(login); got != "008d36e3c5c4b731fe4ce1f9455ed49bede8e2525aac916a3be0e6c2329143c5" {
		t.Errorf("login = %s", got)
	}
	if got := hex.EncodeToString(backup); got != "04cec32f7925969b80c73de13b5f622f819e8ce11d38a192a64f999b487695fc" {
		t.Errorf("backup = %s", got)
	}
	l2, b2 := DerivePasswords("correct horse battery staplf")
	if bytes.Equal(l2, login) || bytes.Equal(b2, backup) || bytes.Equal(login, backup) {
		t.Error("derived passwords collide")
	}
}

func TestKeyringName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":          "alice",
		"alice@example":  "alice@example",
		"Alice Smith":    "Alice%20Smith",
		"50%":            "50%25",
		"a %20":          "a%20%2520",
		"x%pending":      "x%25pending",
		"~!#$&'()*+,/:;": "~!#$&'()*+,/:;",
	} {
		if got := keyringName(in); got != want {
			t.Errorf("keyringName(%q) = %q, want %q", in, got, want)
		}
		if strings.HasSuffix(keyringName(in), pendingSuffix) {
			t.Errorf("keyringName(%q) ends with the pending suffix", in)
		}
	}
}

func TestKeyEntryEncoding(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	data := encodeKeyEntry(k)
	if string(data) != base64.StdEncoding.EncodeToString(k.Export()) {
		t.Fatal("the keyring data is not e3kit's base64 PKCS#8")
	}
	for _, in := range [][]byte{data, k.Export()} {
		got, err := decodeKeyEntry(in)
		if err != nil || !got.Equal(k) {
			t.Fatalf("decodeKeyEntry: %v", err)
		}
	}
	for _, bad := range [][]byte{nil, []byte("not a key"), data[:len(data)-4], k.Export()[:40]} {
		if _, err := decodeKeyEntry(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("decodeKeyEntry(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestCloudEntries(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	// What @virgilsecurity/keyknox writes, with a foreign entry that must
	// survive untouched.
	in := `{"other":{"data":"AAAA","meta":{"x":"y"},"creation_date":1,"name":"other","modification_date":2,"extra":true}}`
	ce, err := parseCloudEntries([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if ce.get("alice") != nil {
		t.Fatal("found an entry that is not there")
	}
	now := time.UnixMilli(1_796_413_028_651)
	if err := ce.add("alice", k, now); err != nil {
		t.Fatal(err)
	}
	out, err := ce.marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"other":{"data":"AAAA","meta":{"x":"y"},"creation_date":1,"name":"other","modification_date":2,"extra":true},` +
		`"alice":{"data":"` + base64.StdEncoding.EncodeToString(k.Export()) + `","creation_date":1796413028651,"name":"alice","modification_date":1796413028651}}`
	if string(out) != want {
		t.Fatalf("marshal =\n%s\nwant\n%s", out, want)
	}
	if !json.Valid(out) {
		t.Fatal("invalid JSON")
	}
	back, err := parseCloudEntries(out)
	if err != nil {
		t.Fatal(err)
	}
	e := back.get("alice")
	if e == nil || e.Name != "alice" || e.CreationDate != "1796413028651" {
		t.Fatalf("round trip: %+v", e)
	}
	if len(back.list) != 2 || back.list[0].Name != "other" {
		t.Fatalf("order lost: %+v", back.list)
	}

	if ce, err := parseCloudEntries(nil); err != nil || len(ce.names) != 0 {
		t.Fatalf("empty plaintext: %v", err)
	}
	for _, bad := range []string{`[]`, `{`, `{"a":}`, `{"a":1}x`, `"s"`, `{"a":1}{}`} {
		if _, err := parseCloudEntries([]byte(bad)); !errors.Is(err, ErrBackupCorrupted) {
			t.Errorf("parseCloudEntries(%s) = %v, want ErrBackupCorrupted", bad, err)
		}
	}
}

func FuzzParseCloudEntries(f *testing.F) {
	f.Add([]byte(`{"alice":{"data":"MC4CAQAwBQYDK2VwBCIEIA==","creation_date":1,"name":"alice","modification_date":2}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"a":{"meta":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ce, err := parseCloudEntries(b)
		if err != nil {
			if !errors.Is(err, ErrBackupCorrupted) {
				t.Fatalf("error %v does not match ErrBackupCorrupted", err)
			}
			return
		}
		out, err := ce.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && !json.Valid(out) {
			t.Fatalf("marshal of a parsed object is not JSON: %s", out)
		}
		again, err := parseCloudEntries(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(again.names) != len(ce.names) {
			t.Fatalf("re-parse found %d entries, want %d", len(again.names), len(ce.names))
		}
	})
}
