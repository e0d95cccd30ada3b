package main

// These tests build the quickstart and run it as a user would: a separate
// process, its output read from its standard streams. One run uses the
// embedded services (what `go run ./examples/quickstart` does); the others
// point it, through the environment, at an e3test server and a Stream
// emulator started by the test, as if they were the real services, so
// that the test can look at what the program left behind.

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/testprog"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// quickstartBinary is the command under test, built once per test run.
var quickstartBinary = &testprog.Binary{Pkg: ".", Name: "quickstart"}

func TestMain(m *testing.M) { testprog.Main(m, quickstartBinary) }

// testEnv is the environment without any variable the quickstart (or
// stream-chat-go) reads, so that a developer's real credentials never reach
// a test run; then extra.
func testEnv(extra ...string) []string {
	return testprog.Env([]string{"STREAM_", "VIRGIL_"}, extra...)
}

// runQuickstart runs the built quickstart with env and returns its exit
// code, standard output and standard error.
func runQuickstart(t *testing.T, env ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, quickstartBinary.Path(t))
	cmd.Env = testEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the quickstart did not finish in time\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

var (
	// The table rows of step 3: from, alice reads, bob reads, stored.
	rowRE = regexp.MustCompile(`^   (alice|bob) +(.+?) {2,}(.+?) {2,}(\S+…\S+) \((\d+) chars\)$`)
	// Identities of a run on "real" services: "alice (identity alice-xxxxxxxx)".
	identityRE = regexp.MustCompile(`^   (alice|bob) \(identity ((?:alice|bob)-[a-z2-7]{8})\) card [0-9a-f]{16}…`)
	channelRE  = regexp.MustCompile(`Create the Stream channel messaging:(care-team-[a-z2-7]{8}) `)
)

// The texts of the run, as the program sends them.
var (
	texts = []string{
		"Hi Bob, the lab results are in.",
		"Thanks. Anything out of range?",
		"Full report attached.",
		"Potassium 4.3, slightly high.",
	}
	report    = "CBC normal. Potassium 4.3 mmol/L (ref 3.5-4.2)."
	plaintext = append(texts[:len(texts):len(texts)], report, "Potassium 4.1, normal.", "lab-report.txt")
)

// checkOutput checks what every run prints, whatever the services.
func checkOutput(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > 45 {
		t.Errorf("the output has %d lines; it should stay short", len(lines))
	}
	// Step 3: four rows, what alice and bob read side by side, and a
	// ciphertext excerpt that shows none of the text.
	var rows [][]string
	for _, l := range lines {
		if m := rowRE.FindStringSubmatch(l); m != nil {
			rows = append(rows, m)
		}
	}
	if len(rows) != 4 {
		t.Fatalf("found %d message rows in step 3, want 4:\n%s", len(rows), out)
	}
	wantFrom := []string{"alice", "bob", "alice", "alice"}
	for i, r := range rows {
		from, aliceReads, bobReads, stored := r[1], r[2], r[3], r[4]
		if from != wantFrom[i] {
			t.Errorf("row %d is from %s, want %s", i, from, wantFrom[i])
		}
		for who, read := range map[string]string{"alice": aliceReads, "bob": bobReads} {
			if !strings.HasPrefix(read, texts[i]) {
				t.Errorf("row %d: %s reads %q, want %q", i, who, read, texts[i])
			}
		}
		if !strings.HasPrefix(stored, "MIIC") || strings.Contains(stored, texts[i][:8]) {
			t.Errorf("row %d: stored excerpt %q is not a base64 ciphertext", i, stored)
		}
	}
	if !strings.HasSuffix(rows[3][2], "*") || !strings.Contains(rows[2][2], "[+1 file]") {
		t.Errorf("the edited message and the file are not marked:\n%s", out)
	}
	mustContain(t, out,
		`* edited; the first version read "Potassium 4.1, normal."`,
		`lab-report.txt (text/plain, 47 bytes), opened by alice and bob: "`+report+`"`,
		`Stream stored "e3go.sealed"`,
		// Step 4.
		"for the 7 plaintexts (texts, draft, file content and name): found nowhere",
		// Step 6: nothing readable before the restore, everything after.
		"before restoring: 0 of 4 messages readable",
		"restore with a wrong password: refused (e3.ErrWrongPassword)",
		"restore with her password: done; the new device reads all 4 messages:",
		"   alice  "+texts[0]+"\n   bob    "+texts[1]+"\n   alice  "+texts[2]+` [lab-report.txt: "`+report+`"]`+"\n   alice  "+texts[3]+" (edited)\n",
		// Step 7.
		"revoked both cards; deleted the key backup, the file, the channel and the Stream users",
		"Done: alice and bob exchanged 4 messages and a file end to end",
	)
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
}

// The default run: no environment, embedded services, exit 0, no log
// noise on standard error.
func TestQuickstartEmbedded(t *testing.T) {
	code, out, errOut := runQuickstart(t)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if errOut != "" {
		t.Errorf("standard error should stay empty, got:\n%s", errOut)
	}
	checkOutput(t, out)
	mustContain(t, out,
		"Stream    embedded emulator (streamtest) at http://127.0.0.1:",
		"Virgil    embedded Virgil-compatible server (e3test) at http://127.0.0.1:",
		"searched every byte the Stream emulator stored, received or sent",
		"Create the Stream channel messaging:care-team with alice and bob as members",
	)
}

// realEnv is the environment that makes the quickstart treat virgil and
// st as the real services.
func realEnv(virgil *e3test.Server, st *streamtest.Server) []string {
	gen := virgil.JWTGenerator()
	return []string{
		"STREAM_API_KEY=" + st.APIKey,
		"STREAM_API_SECRET=" + st.APISecret,
		"STREAM_CHAT_URL=" + st.URL,
		"VIRGIL_APP_ID=" + gen.AppID,
		"VIRGIL_APP_KEY=" + base64.StdEncoding.EncodeToString(gen.AppKey.Export()),
		"VIRGIL_APP_KEY_ID=" + gen.AppKeyID,
		"VIRGIL_API_URL=" + virgil.URL,
		"VIRGIL_SERVICE_KEY=" + base64.StdEncoding.EncodeToString(virgil.ServiceKey().Export()),
	}
}

// identities returns the identities a run printed in step 1.
func identities(t *testing.T, out string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if m := identityRE.FindStringSubmatch(l); m != nil {
			ids[m[1]] = m[2]
		}
	}
	if len(ids) != 2 || !strings.HasPrefix(ids["alice"], "alice-") || !strings.HasPrefix(ids["bob"], "bob-") {
		t.Fatalf("identities %v in:\n%s", ids, out)
	}
	return ids
}

// With credentials the same program runs against "real" services (here
// the test's own), under names of its own, and removes everything it
// created. Two runs on the same services do not collide.
func TestQuickstartRealServices(t *testing.T) {
	virgil := e3test.NewServer()
	defer virgil.Close()
	st := streamtest.NewServer()
	defer st.Close()

	seen := map[string]bool{}
	for run := 0; run < 2; run++ {
		code, out, errOut := runQuickstart(t, realEnv(virgil, st)...)
		if code != 0 {
			t.Fatalf("run %d: exit %d\nstdout:\n%s\nstderr:\n%s", run, code, out, errOut)
		}
		if errOut != "" {
			t.Errorf("run %d: standard error should stay empty, got:\n%s", run, errOut)
		}
		checkOutput(t, out)
		mustContain(t, out,
			"Stream    app "+st.APIKey+" at "+st.URL,
			"Virgil    app "+virgil.AppID()+" at "+virgil.URL,
			"searched the channel as Stream returns it (4 messages with custom data) and 1 uploaded file(s)",
		)
		ids := identities(t, out)
		m := channelRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("run %d: no channel name in:\n%s", run, out)
		}
		for _, name := range []string{ids["alice"], ids["bob"], m[1]} {
			if seen[name] {
				t.Errorf("run %d reused the name %s", run, name)
			}
			seen[name] = true
		}

		// What the run left on Virgil's side: revoked cards, no backup.
		for _, id := range ids {
			cards := virgil.Cards(id)
			if len(cards) != 1 || !cards[0].Revoked {
				t.Errorf("run %d: %s has cards %+v, want one, revoked", run, id, cards)
			}
		}
		if kk, ok := virgil.KeyknoxV1(ids["alice"]); !ok || len(kk.Value) != 0 || kk.Version < 2 {
			t.Errorf("run %d: alice's Keyknox entry after the run: %+v (written %v), want written then emptied", run, kk, ok)
		}
	}
	// And on Stream's: no channel, no file, users deleted.
	if chs := st.Channels(); len(chs) != 0 {
		t.Errorf("channels left on Stream: %+v", chs)
	}
	if ups := st.Uploads(); len(ups) != 0 {
		t.Errorf("uploads left on Stream: %d", len(ups))
	}
	deletes := 0
	for _, r := range st.Requests() {
		if r.Method == "DELETE" && strings.HasPrefix(r.Path, "/users/") && strings.Contains(r.RawQuery, "hard_delete=true") && r.Status == 200 {
			deletes++
		}
	}
	if deletes != 4 {
		t.Errorf("%d users hard-deleted from Stream, want 4", deletes)
	}
	for _, u := range st.Users() { // hard-deleted users are gone
		if u.DeletedAt == nil {
			t.Errorf("Stream user %s was not deleted", u.ID)
		}
	}
	// Nothing Stream ever received (requests included) holds a plaintext.
	for _, p := range plaintext {
		if where := st.Find([]byte(p)); len(where) > 0 {
			t.Errorf("plaintext %q reached Stream at %v", p, where)
		}
	}
}

// A failure stops the program with a clear message and a nonzero exit, and
// what it had created is still removed.
func TestQuickstartFailure(t *testing.T) {
	t.Run("half the credentials", func(t *testing.T) {
		code, out, errOut := runQuickstart(t, "STREAM_API_KEY=key-without-secret")
		if code != 1 {
			t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		want := "quickstart: FAILED: setting up the services: set both STREAM_API_KEY and STREAM_API_SECRET, or neither\n"
		if errOut != want {
			t.Errorf("stderr %q, want %q", errOut, want)
		}
	})

	t.Run("Stream unreachable", func(t *testing.T) {
		virgil := e3test.NewServer()
		defer virgil.Close()
		st := streamtest.NewServer()
		defer st.Close()
		// A port nothing listens on.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + ln.Addr().String()
		ln.Close()
		env := append(realEnv(virgil, st), "STREAM_CHAT_URL="+dead)
		code, out, errOut := runQuickstart(t, env...)
		if code != 1 {
			t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.HasPrefix(errOut, "quickstart: FAILED: step 2, creating the Stream user alice: ") ||
			!strings.Contains(errOut, "connection refused") && !strings.Contains(errOut, "connect") {
			t.Errorf("stderr:\n%s", errOut)
		}
		// Step 1 had registered both users: their cards are revoked again.
		for _, id := range identities(t, out) {
			cards := virgil.Cards(id)
			if len(cards) != 1 || !cards[0].Revoked {
				t.Errorf("%s has cards %+v after the failed run, want one, revoked", id, cards)
			}
		}
	})
}
