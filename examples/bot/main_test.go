package main

// These tests build the bot and run it as a user would: a separate process
// on a loopback port, reached over HTTP, its output read from its standard
// streams. One runs the embedded demo; the other points the bot, through the
// environment, at an e3test server and a Stream emulator started by the
// test (as if they were the real services), plays the patient, and sends
// the bot genuine, forged and replayed webhooks.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/e3/e3test"
	"github.com/e3go/e3go/internal/testprog"
	"github.com/e3go/e3go/streamenc"
	"github.com/e3go/e3go/streamenc/streamtest"
)

// botBinary is the command under test, built once per test run.
var botBinary = &testprog.Binary{Pkg: ".", Name: "bot"}

func TestMain(m *testing.M) { testprog.Main(m, botBinary) }

// testEnv is the environment without any variable the bot reads; then extra.
func testEnv(extra ...string) []string {
	return testprog.Env([]string{"STREAM_", "VIRGIL_", "BOT_"}, extra...)
}

// records parses the JSON lines of the bot's standard error.
func records(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("standard error has a line that is not JSON: %q", line)
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

// audits returns the audit records with action.
func audits(recs []map[string]any, action string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == "audit" && r["action"] == action {
			out = append(out, r)
		}
	}
	return out
}

// noPHI checks that none of the phrases appears in the logs.
func noPHI(t *testing.T, logs string, phrases ...string) {
	t.Helper()
	for _, p := range phrases {
		if strings.Contains(strings.ToLower(logs), strings.ToLower(p)) {
			t.Errorf("the log holds %q:\n%s", p, logs)
		}
	}
}

// The default experience: `bot -demo` on the embedded services plays the
// conversation and exits 0.
func TestBotDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, botBinary.Path(t), "-demo", "-addr", "127.0.0.1:0")
	cmd.Env = testEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"Demo: maria (a patient) and the bot in messaging:care-maria\n",
		"  maria     When is my appointment?\n",
		" at 10:30 with Dr. Chen.\n",
		"  maria     Where is it?\n",
		"  care-bot  Your appointment with Dr. Chen is in Room 4B, second floor, east wing. (in the thread)\n",
		"  Stream stored the reply as MIIC",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	recs := records(t, stderr.String())
	if n := len(audits(recs, "replied")); n != 2 {
		t.Errorf("%d replied records, want 2:\n%s", n, stderr.String())
	}
	noPHI(t, stderr.String(), "appointment", "where is it", "Dr. Chen", "10:30", "Room 4B")
}

// botProcess is a running bot.
type botProcess struct {
	*testprog.Process
	addr string
}

// startBot runs the bot with env and waits for its "listening" record.
func startBot(t *testing.T, env []string, args ...string) *botProcess {
	t.Helper()
	cmd := exec.Command(botBinary.Path(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = testEnv(env...)
	b := &botProcess{Process: testprog.Start(t, cmd)}
	b.addr, _ = b.Listening["addr"].(string)
	return b
}

// stop interrupts the bot and returns its exit code.
func (b *botProcess) stop(t *testing.T) int {
	t.Helper()
	b.Interrupt(t)
	return b.Wait(t)
}

// postWebhook sends body to the bot as Stream would, signed with sig.
func postWebhook(t *testing.T, url string, body []byte, sig string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", sig)
	req.Header.Set("X-Webhook-Id", "test-delivery")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// serviceEnv makes the bot treat virgil and st as the real services.
func serviceEnv(virgil *e3test.Server, st *streamtest.Server) []string {
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

// The bot on "real" services (the test's): a genuine webhook gets a sealed
// reply the patient opens, in the thread when asked in one; forged
// webhooks are refused and get no reply; a replayed one gets no second
// reply; the audit log names actions and ids, never the text.
func TestBotWebhooks(t *testing.T) {
	ctx := context.Background()
	virgil := e3test.NewServer()
	defer virgil.Close()
	st := streamtest.NewServer()
	defer st.Close()
	env := serviceEnv(virgil, st)
	bot := startBot(t, env, "-identity", "care-bot")
	hookURL := "http://" + bot.addr + "/webhook"
	st.SetWebhookURL(hookURL)
	// Stream sends webhooks for every event of the app; the bot registered
	// with Virgil and created its Stream user before listening.
	if cards := virgil.Cards("care-bot"); len(cards) != 1 {
		t.Fatalf("the bot has %d cards", len(cards))
	}

	// The patient, maria, as her app would act.
	maria, err := e3.New(ctx, virgil.ClientConfig("maria"))
	if err != nil {
		t.Fatal(err)
	}
	if err := maria.Register(ctx); err != nil {
		t.Fatal(err)
	}
	sc := st.Client()
	if _, err := sc.UpsertUser(ctx, &stream.User{ID: "maria"}); err != nil {
		t.Fatal(err)
	}
	created, err := sc.CreateChannel(ctx, "messaging", "care-maria", "maria",
		&stream.ChannelRequest{Members: []string{"maria", "care-bot"}})
	if err != nil {
		t.Fatal(err)
	}
	ch := streamenc.NewChannel(created.Channel, maria, nil)
	count := func() int { return len(st.Messages(ch.CID())) }

	// A genuine question, through Stream's webhook.
	q, err := ch.SendMessage(ctx, &stream.Message{Text: "When is my appointment?"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := ch.Query(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages in the channel, want the question and a reply\nbot stderr:\n%s", len(msgs), bot.Stderr.String())
	}
	reply := msgs[1]
	if reply.Err != nil || reply.Sender.Identity != "care-bot" || reply.Raw.ParentID != "" ||
		!strings.HasPrefix(reply.Text, "Your next appointment is on ") || !strings.HasSuffix(reply.Text, " at 10:30 with Dr. Chen.") {
		t.Fatalf("maria reads %q from %s (parent %q, err %v)", reply.Text, reply.SenderID, reply.Raw.ParentID, reply.Err)
	}
	stored, _ := st.Message(reply.ID)
	if !strings.HasPrefix(stored.Text, "MIIC") || strings.Contains(stored.Text, "Dr. Chen") {
		t.Errorf("Stream stored the reply as %q", stored.Text)
	}

	// The delivery of the question, as Stream sent it.
	var genuine streamtest.WebhookDelivery
	for _, d := range st.WebhookDeliveries() {
		if d.EventType == "message.new" && bytes.Contains(d.Body, []byte(q.ID)) && !bytes.Contains(d.Body, []byte("reply-"+q.ID)) {
			genuine = d
		}
	}
	if !genuine.Delivered || genuine.Attempts[len(genuine.Attempts)-1].Status != 200 {
		t.Fatalf("the question's delivery: %+v", genuine)
	}
	n := count()

	// Forged: the genuine body with a signature made with another secret,
	// a body naming another message signed with another secret, no
	// signature at all. Each is refused and nothing is sent.
	forgedBody := bytes.Replace(genuine.Body, []byte(q.ID), []byte("forged-"+q.ID[7:]), -1)
	for i, f := range []struct {
		body []byte
		sig  string
	}{
		{genuine.Body, sign("not the app secret", genuine.Body)},
		{forgedBody, sign("not the app secret", forgedBody)},
		{forgedBody, genuine.Signature}, // a signature of other bytes
		{forgedBody, ""},
	} {
		if status := postWebhook(t, hookURL, f.body, f.sig); status != http.StatusUnauthorized {
			t.Errorf("forgery %d: status %d, want 401", i, status)
		}
	}
	if got := count(); got != n {
		t.Errorf("the forged webhooks made %d messages", got-n)
	}

	// Replayed: the genuine delivery, byte for byte, signature included.
	// Accepted as a duplicate (200, so that Stream stops retrying), not
	// answered again.
	for i := 0; i < 2; i++ {
		if status := postWebhook(t, hookURL, genuine.Body, genuine.Signature); status != http.StatusOK {
			t.Errorf("replay %d: status %d, want 200", i, status)
		}
	}
	if got := count(); got != n {
		t.Errorf("the replayed webhook made %d messages", got-n)
	}

	// A question in the thread of the reply gets its answer in the thread.
	q2, err := ch.SendMessage(ctx, &stream.Message{Text: "Where is it?", ParentID: reply.ID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	thread, err := ch.GetReplies(ctx, reply.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(thread) != 2 || thread[0].ID != q2.ID || thread[1].Err != nil || thread[1].SenderID != "care-bot" ||
		thread[1].Text != "Your appointment with Dr. Chen is in Room 4B, second floor, east wing." {
		for _, m := range thread {
			t.Logf("thread: %s from %s: %q (%v)", m.ID, m.SenderID, m.Text, m.Err)
		}
		t.Fatal("the thread does not hold the question and the bot's answer")
	}
	// A message sent in clear (not through e3kit or streamenc) is not acted
	// on: the bot cannot verify who wrote it.
	n = count()
	if _, err := created.Channel.SendMessage(ctx, &stream.Message{Text: "my appointment, date of birth 1 April 1970"}, "maria"); err != nil {
		t.Fatal(err)
	}
	if err := st.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != n+1 {
		t.Errorf("the clear message made %d replies", got-n-1)
	}

	// Plaintext nowhere on Stream's side.
	for _, p := range []string{"When is my appointment", "Where is it", "Dr. Chen", "Room 4B"} {
		if where := st.Find([]byte(p)); len(where) > 0 {
			t.Errorf("%q reached Stream at %v", p, where)
		}
	}

	if code := bot.stop(t); code != 0 {
		t.Errorf("the bot exited %d after SIGINT", code)
	}
	logs := bot.Stderr.String()
	recs := records(t, logs)
	replied := audits(recs, "replied")
	if len(replied) != 2 || replied[0]["message_id"] != q.ID || replied[0]["cid"] != "messaging:care-maria" ||
		replied[0]["sender"] != "maria" || replied[0]["reply_id"] != reply.ID ||
		replied[1]["message_id"] != q2.ID || replied[1]["thread"] != reply.ID {
		t.Errorf("replied records: %v", replied)
	}
	reasons := map[any]int{}
	for _, r := range audits(recs, "webhook_rejected") {
		reasons[r["reason"]]++
	}
	if reasons["bad_signature"] != 4 || reasons["replay"] != 2 || len(reasons) != 2 {
		t.Errorf("rejections by reason: %v", reasons)
	}
	if u := audits(recs, "unreadable"); len(u) != 1 || u[0]["reason"] != "not_sealed" || u[0]["sender"] != "maria" {
		t.Errorf("unreadable records: %v", u)
	}
	noPHI(t, logs, "appointment", "where is it", "Dr. Chen", "10:30", "Room 4B", "date of birth", "1970")
}

// With -keyring the bot's key survives a restart (one card); without, a
// restart publishes a new card and says so.
func TestBotKeyring(t *testing.T) {
	virgil := e3test.NewServer()
	defer virgil.Close()
	st := streamtest.NewServer()
	defer st.Close()
	dir := filepath.Join(t.TempDir(), "keyring")
	env := append(serviceEnv(virgil, st), "BOT_KEYRING_PASSPHRASE=test passphrase")
	for i := 0; i < 2; i++ {
		b := startBot(t, env, "-keyring", dir)
		if code := b.stop(t); code != 0 {
			t.Fatalf("start %d: exit %d\n%s", i, code, b.Stderr.String())
		}
		if cards := virgil.Cards("care-bot"); len(cards) != 1 {
			t.Fatalf("start %d with the keyring: %d cards", i, len(cards))
		}
	}
	b := startBot(t, serviceEnv(virgil, st)) // no keyring: the key is not here
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, b.Stderr.String())
	}
	cards := virgil.Cards("care-bot")
	if len(cards) != 2 || cards[1].PreviousCardID != cards[0].ID {
		t.Errorf("after a start without the keyring: cards %+v, want a rotation", cards)
	}
	if !strings.Contains(b.Stderr.String(), "publishing a new card (use -keyring to keep it)") {
		t.Errorf("no warning about the new card:\n%s", b.Stderr.String())
	}
}

// Half the credentials is a configuration error (exit 2), and -demo needs
// the embedded services.
func TestBotConfiguration(t *testing.T) {
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"STREAM_API_KEY=k", "STREAM_API_SECRET=s"}, nil, "or none of them"},
		{[]string{"STREAM_API_KEY=k", "STREAM_API_SECRET=s", "VIRGIL_APP_ID=a", "VIRGIL_APP_KEY=b", "VIRGIL_APP_KEY_ID=c"}, []string{"-demo"}, "-demo runs on the embedded services only"},
		{[]string{"STREAM_API_KEY=k", "STREAM_API_SECRET=s", "VIRGIL_APP_ID=a", "VIRGIL_APP_KEY=!!", "VIRGIL_APP_KEY_ID=c"}, nil, "VIRGIL_APP_KEY is not base64"},
	} {
		cmd := exec.Command(botBinary.Path(t), append([]string{"-addr", "127.0.0.1:0"}, c.args...)...)
		cmd.Env = testEnv(c.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("env %v args %v: %v, stderr %q (want exit 2 and %q)", c.env, c.args, err, stderr.String(), c.want)
		}
	}
}
