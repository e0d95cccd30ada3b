package e3

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// secretForms returns every rendering of the key's secret bytes a leak could
// take: raw, hex (both cases), and as printed by %v / %d of a byte slice.
func secretForms(k *PrivateKey) []string {
	var out []string
	for _, b := range [][]byte{k.k.sec.raw[:], k.k.sec.ed[:], k.k.sec.xs[:], k.Export()} {
		out = append(out, string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			fmt.Sprint(b), fmt.Sprintf("%d", b), fmt.Sprintf("%x", b[:8]), strings.TrimSuffix(fmt.Sprint(b[:6]), "]"))
	}
	return out
}

type exportedHolder struct {
	Key  *PrivateKey
	Val  PrivateKey
	Name string
}

type unexportedHolder struct {
	key  *PrivateKey
	val  PrivateKey
	name string
}

func TestPrivateKeyRedaction(t *testing.T) {
	for _, typ := range []KeyType{Ed25519, Curve25519} {
		k, err := GenerateKeyOfType(typ)
		if err != nil {
			t.Fatal(err)
		}
		forms := secretForms(k)
		check := func(desc, out string) {
			t.Helper()
			for _, f := range forms {
				if strings.Contains(out, f) {
					t.Fatalf("%v %s leaks key bytes: %q", typ, desc, out)
				}
			}
		}
		verbs := []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T %v", "%p"}
		args := map[string]any{
			"pointer":             k,
			"value":               *k,
			"exported holder":     exportedHolder{Key: k, Val: *k, Name: "n"},
			"exported holder ptr": &exportedHolder{Key: k, Val: *k, Name: "n"},
			"unexported holder":   unexportedHolder{key: k, val: *k, name: "n"},
			"slice":               []*PrivateKey{k, k},
			"map":                 map[string]*PrivateKey{"a": k},
			"any slice":           []any{k, *k},
		}
		for desc, a := range args {
			for _, verb := range verbs {
				check(desc+" "+verb, fmt.Sprintf(verb, a))
			}
		}
		if got := fmt.Sprintf("%v|%+v|%#v|%s|%d|%x", k, k, k, k, k, k); got != strings.Repeat(redacted+"|", 5)+redacted {
			t.Errorf("direct formatting = %q", got)
		}
		if got := fmt.Sprint(*k); got != redacted {
			t.Errorf("value formatting = %q", got)
		}
		check("Sprint", fmt.Sprint(k, *k))
		check("Sprintln", fmt.Sprintln(k, *k))
		check("error wrap", fmt.Errorf("failed with %v", k).Error())

		for _, newHandler := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			l := slog.New(newHandler(&buf))
			l.Info("key", "k", k, "v", *k, "holder", exportedHolder{Key: k, Val: *k},
				"uholder", unexportedHolder{key: k, val: *k}, slog.Any("any", k), slog.Group("g", "k", k))
			out := buf.String()
			check("slog", out)
			if !strings.Contains(out, redacted) {
				t.Errorf("slog output lacks the redaction marker: %s", out)
			}
		}
	}
}
