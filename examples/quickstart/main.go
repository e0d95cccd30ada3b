// Command quickstart is e3go's whole flow in one program: two users of a
// health app, alice and bob, chat through Stream Chat end to end encrypted,
// with their keys managed exactly as Virgil's e3kit manages them, so that
// browsers and phones running e3kit could join the same channel.
//
//	go run ./examples/quickstart
//
// With no environment it needs no account and no network: it starts an
// in-process Virgil-compatible server (package e3test) and Stream Chat
// emulator (package streamtest). Then it
//
//  1. registers alice and bob with Virgil: each gets a key pair, whose
//     private half stays in the user's keyring and whose public half is
//     published as a card;
//  2. creates a Stream channel with both as members;
//  3. exchanges messages through package streamenc, which seals each one
//     (signs and encrypts it for every member) before Stream sees it and
//     opens it on receipt: texts, a file and an edit;
//  4. checks that Stream holds no plaintext at all;
//  5. backs alice's private key up, encrypted under her password;
//  6. restores it on a second device (a new client with an empty keyring),
//     which then reads the whole history;
//  7. removes everything it created.
//
// It prints what each user reads beside what Stream stored, and exits 0; on
// any failure it says which step failed and exits 1.
//
// # Real services
//
// With STREAM_API_KEY and STREAM_API_SECRET set it uses that Stream app;
// with VIRGIL_APP_ID, VIRGIL_APP_KEY (the base64 private key from Virgil's
// dashboard) and VIRGIL_APP_KEY_ID set, that Virgil app (each service
// independently). A real run creates two Virgil cards, a private key backup,
// two Stream users, a channel and an uploaded file, all named with a random
// suffix of its own (alice-xxxxxxxx, care-team-xxxxxxxx), and removes them
// in step 7: the cards are revoked (Virgil keeps revoked cards; its dashboard
// lists them), the backup, the file, the channel and the users are deleted.
// If a run is interrupted before step 7, it still cleans up what it had
// created; if it is killed, delete the users and channel named in its output
// from Stream's dashboard, and revoke the cards (or leave them: nothing can
// be encrypted for a card whose private key is gone, but they stay findable).
//
// For a Virgil-compatible server of your own, also set VIRGIL_API_URL and,
// if its cards are countersigned by a key other than Virgil's,
// VIRGIL_SERVICE_KEY (base64 public key). STREAM_CHAT_URL sets Stream's API
// origin, as for any stream-chat-go program.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/streamenc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart: FAILED:", err)
		os.Exit(1)
	}
}

// user is one person of the demo on one device: their e3 client (their
// identity and private key) and their view of the channel.
type user struct {
	name   string             // what the output calls them
	e3     *e3.Client         // identity, private key, other users' cards
	stream *streamenc.Channel // the channel, sealing and opening for this user
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	out := &printer{w: stdout}
	svc, err := connect(getenv)
	if err != nil {
		return fmt.Errorf("setting up the services: %w", err)
	}
	defer svc.Close()

	out.line("e3go quickstart: end-to-end encrypted chat on Stream, keys compatible with Virgil's e3kit")
	for _, b := range svc.Banner {
		out.line("  " + b)
	}

	// Everything created on the services is removed at the end (step 7), or
	// when a step fails; undo runs in reverse order of creation.
	var undo cleanup
	defer undo.run(ctx, nil)

	// On the real services, this run's users and channel get names of their
	// own, so that runs never collide with each other or with real users.
	suffix := ""
	if svc.Real {
		suffix = "-" + strings.ToLower(rand.Text()[:8])
	}

	// 1. Register alice and bob with Virgil. e3.New needs an access token
	// source (in an app: the backend, which signs the user in and then
	// issues tokens for their identity) and a keyring for the private key;
	// Register generates the key pair and publishes the card.
	out.step(1, "Register alice and bob with Virgil (a key pair each; the public key published as a card)")
	alice, bob := &user{name: "alice"}, &user{name: "bob"}
	for _, u := range []*user{alice, bob} {
		if u.e3, err = e3.New(ctx, svc.newE3Config(u.name+suffix)); err != nil {
			return fmt.Errorf("step 1, %s: %w", u.name, err)
		}
		if err := u.e3.Register(ctx); err != nil {
			return fmt.Errorf("step 1, registering %s: %w", u.name, err)
		}
		undo.add("revoke "+u.name+"'s card", u.e3.Unregister)
		card, err := u.e3.FindUser(ctx, u.e3.Identity()) // the card everyone else finds
		if err != nil {
			return fmt.Errorf("step 1, finding %s: %w", u.name, err)
		}
		who := u.name
		if u.e3.Identity() != u.name {
			who += " (identity " + u.e3.Identity() + ")"
		}
		out.linef("   %-6s card %s…  private key in %s's keyring", who, card.ID[:16], u.name)
	}

	// 2. Create the Stream channel. Stream users and channels are made
	// server side with stream-chat-go, as usual; streamenc.NewChannel then
	// wraps the channel for one participant: it seals what that user sends
	// and opens what they receive.
	channelID := "care-team" + suffix
	out.step(2, "Create the Stream channel messaging:"+channelID+" with alice and bob as members")
	for _, u := range []*user{alice, bob} {
		id := u.e3.Identity() // Stream user id = Virgil identity: how senders are verified
		if _, err := svc.Stream.UpsertUser(ctx, &stream.User{ID: id, Name: u.name}); err != nil {
			return fmt.Errorf("step 2, creating the Stream user %s: %w", u.name, err)
		}
		undo.add("delete the Stream user "+u.name, func(ctx context.Context) error {
			_, err := svc.Stream.DeleteUser(ctx, id, stream.DeleteUserWithHardDelete())
			return err
		})
	}
	created, err := svc.Stream.CreateChannel(ctx, "messaging", channelID, alice.e3.Identity(),
		&stream.ChannelRequest{Members: []string{alice.e3.Identity(), bob.e3.Identity()}})
	if err != nil {
		return fmt.Errorf("step 2, creating the channel: %w", err)
	}
	undo.add("delete the channel", func(ctx context.Context) error {
		_, err := created.Channel.Delete(ctx)
		return err
	})
	// StreamClient is needed for edits (stream-chat-go makes them client
	// calls); SendMessage and Query work without it.
	opts := &streamenc.ChannelOptions{StreamClient: svc.Stream}
	alice.stream = streamenc.NewChannel(created.Channel, alice.e3, opts)
	bob.stream = streamenc.NewChannel(created.Channel, bob.e3, opts)

	// 3. Send, edit and read. SendMessage seals the text for every member's
	// card (and the sender's own key) and sends the ciphertext; files are
	// encrypted as they stream and uploaded under a meaningless name.
	out.step(3, "Exchange messages: sealed on send for every member, opened on receipt")
	const (
		report     = "CBC normal. Potassium 4.3 mmol/L (ref 3.5-4.2)."
		reportName = "lab-report.txt"
		draft      = "Potassium 4.1, normal."
		corrected  = "Potassium 4.3, slightly high."
	)
	if _, err := alice.stream.SendMessage(ctx, &stream.Message{Text: "Hi Bob, the lab results are in."}, ""); err != nil {
		return fmt.Errorf("step 3, alice sends: %w", err)
	}
	if _, err := bob.stream.SendMessage(ctx, &stream.Message{Text: "Thanks. Anything out of range?"}, ""); err != nil {
		return fmt.Errorf("step 3, bob sends: %w", err)
	}
	withFile, err := alice.stream.SendMessage(ctx, &stream.Message{Text: "Full report attached."}, "",
		streamenc.File{Name: reportName, MIMEType: "text/plain", Size: int64(len(report)), Body: strings.NewReader(report)})
	if err != nil {
		return fmt.Errorf("step 3, alice sends a file: %w", err)
	}
	fileURL := withFile.Attachments[0].URL
	undo.add("delete the uploaded file", func(ctx context.Context) error {
		_, err := created.Channel.DeleteFile(ctx, fileURL)
		return err
	})
	draftMsg, err := alice.stream.SendMessage(ctx, &stream.Message{Text: draft}, "")
	if err != nil {
		return fmt.Errorf("step 3, alice sends: %w", err)
	}
	// An edit is sealed again, for the members of the channel at that time.
	if _, err := alice.stream.UpdateMessage(ctx, &stream.Message{ID: draftMsg.ID, Text: corrected}, ""); err != nil {
		return fmt.Errorf("step 3, alice edits her message: %w", err)
	}

	// Each user reads the channel. Query returns the messages opened: Text
	// is only ever set when the message decrypted and its signature
	// verified against the sender's card; otherwise Err says why.
	aliceReads, err := readAll(ctx, alice)
	if err != nil {
		return fmt.Errorf("step 3: %w", err)
	}
	bobReads, err := readAll(ctx, bob)
	if err != nil {
		return fmt.Errorf("step 3: %w", err)
	}
	if len(aliceReads) != 4 || len(bobReads) != 4 {
		return fmt.Errorf("step 3: alice reads %d messages and bob %d, want 4 each", len(aliceReads), len(bobReads))
	}
	out.linef("   %-6s %-32s %-32s %s", "from", "alice reads", "bob reads", "Stream stored (text field)")
	for i, m := range aliceReads {
		b := bobReads[i]
		if m.Text != b.Text || m.SenderID != b.SenderID {
			return fmt.Errorf("step 3: alice and bob read message %s differently", m.ID)
		}
		out.linef("   %-6s %-32s %-32s %s", nameOf(m, alice, bob),
			cell(m.Text+marks(m), 32), cell(b.Text+marks(b), 32), excerpt(m.Raw.Text)) // Raw: what Stream returned
	}
	out.linef("   * edited; the first version read %q", draft)

	// The file: each user downloads and opens it (decrypted and verified as
	// it streams; its name and type were sealed inside the message).
	for _, u := range []struct {
		name string
		msg  *streamenc.Message
	}{{"alice", aliceReads[2]}, {"bob", bobReads[2]}} {
		a := u.msg.Attachments[0]
		content, err := openAttachment(ctx, a)
		if err != nil {
			return fmt.Errorf("step 3, %s opens the file: %w", u.name, err)
		}
		if content != report {
			return fmt.Errorf("step 3, %s read a different file", u.name)
		}
		if u.name == "alice" {
			out.linef("   file   %s (%s, %d bytes), opened by alice and bob: %q", a.Name, a.MIMEType, a.Size, content)
		}
	}
	stored, err := download(ctx, fileURL)
	if err != nil {
		return fmt.Errorf("step 3, downloading the stored file: %w", err)
	}
	out.linef("          Stream stored %q, %d bytes: % x …", storedName(withFile), len(stored), stored[:min(len(stored), 8)])

	// 4. Prove it: search Stream's side for every plaintext of the run.
	out.step(4, "Check that Stream holds ciphertext only")
	secrets := []string{"lab results are in", "Anything out of range", "Full report", draft, corrected, report, reportName}
	leaks, scope, err := svc.findStored(ctx, created.Channel.CID, []string{fileURL}, secrets)
	if err != nil {
		return fmt.Errorf("step 4: %w", err)
	}
	if len(leaks) > 0 {
		return fmt.Errorf("step 4: plaintext found on Stream's side: %s", strings.Join(leaks, "; "))
	}
	out.linef("   searched %s", scope)
	out.linef("   for the %d plaintexts (texts, draft, file content and name): found nowhere", len(secrets))

	// 5. Back the private key up. Derive the backup password from the
	// user's password on the device: the login password goes to your
	// backend, the backup password never leaves the device, so the backend
	// cannot open the backup. The backup is encrypted with a key that
	// Virgil's BrainKey service derives from that password without seeing
	// it, and stored in Virgil's Keyknox.
	out.step(5, "Back alice's private key up, encrypted under her password")
	const alicesPassword = "correct horse battery staple"
	_, backupKey := e3.DerivePasswords(alicesPassword)
	backupPassword := base64.StdEncoding.EncodeToString(backupKey)
	if err := alice.e3.BackupPrivateKey(ctx, backupPassword); err != nil {
		return fmt.Errorf("step 5: %w", err)
	}
	undo.add("delete alice's key backup", alice.e3.ResetPrivateKeyBackup)
	out.line("   stored in Virgil's Keyknox; only her password opens it")

	// 6. A second device: the same identity, an empty keyring. It cannot
	// read anything until it restores the key.
	out.step(6, "Second device: alice signs in on a new client with an empty keyring")
	phone := &user{name: "alice"}
	if phone.e3, err = e3.New(ctx, svc.newE3Config(alice.e3.Identity())); err != nil {
		return fmt.Errorf("step 6: %w", err)
	}
	phone.stream = streamenc.NewChannel(created.Channel, phone.e3, opts)
	before, err := phone.stream.Query(ctx, nil)
	if err != nil {
		return fmt.Errorf("step 6: %w", err)
	}
	out.linef("   before restoring: %d of %d messages readable (no private key here)", countOpened(before), len(before))
	if err := phone.e3.RestorePrivateKey(ctx, "not her password"); !errors.Is(err, e3.ErrWrongPassword) {
		return fmt.Errorf("step 6: restoring with a wrong password: got %v, want e3.ErrWrongPassword", err)
	}
	out.line("   restore with a wrong password: refused (e3.ErrWrongPassword)")
	_, backupKey = e3.DerivePasswords(alicesPassword) // on the new device, from what she types
	if err := phone.e3.RestorePrivateKey(ctx, base64.StdEncoding.EncodeToString(backupKey)); err != nil {
		return fmt.Errorf("step 6, restoring with her password: %w", err)
	}
	history, err := readAll(ctx, phone)
	if err != nil {
		return fmt.Errorf("step 6: %w", err)
	}
	out.linef("   restore with her password: done; the new device reads all %d messages:", len(history))
	for i, m := range history {
		if m.Text != aliceReads[i].Text {
			return fmt.Errorf("step 6: the new device read message %s differently", m.ID)
		}
		line := m.Text
		if _, edited := m.Raw.ExtraData["message_text_updated_at"]; edited {
			line += " (edited)"
		}
		if len(m.Attachments) > 0 {
			content, err := openAttachment(ctx, m.Attachments[0])
			if err != nil {
				return fmt.Errorf("step 6, opening the file: %w", err)
			}
			line += fmt.Sprintf(" [%s: %q]", m.Attachments[0].Name, content)
		}
		out.linef("   %-6s %s", nameOf(m, alice, bob), line)
	}

	// 7. Clean up: revoke the cards, delete the backup, the file, the
	// channel and the Stream users. (With the embedded services this only
	// shows how; they vanish when the program exits anyway.)
	out.step(7, "Clean up")
	if err := undo.run(ctx, out); err != nil {
		return fmt.Errorf("step 7: %w", err)
	}
	out.line("   revoked both cards; deleted the key backup, the file, the channel and the Stream users")
	out.line("")
	out.line("Done: alice and bob exchanged 4 messages and a file end to end; Stream only ever held ciphertext.")
	if out.err != nil {
		return fmt.Errorf("writing the output: %w", out.err)
	}
	return nil
}

// readAll returns the channel's messages as u reads them, failing if any
// cannot be opened.
func readAll(ctx context.Context, u *user) ([]*streamenc.Message, error) {
	msgs, err := u.stream.Query(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s reads the channel: %w", u.name, err)
	}
	for _, m := range msgs {
		if m.Err != nil {
			return nil, fmt.Errorf("%s cannot open a message: %w", u.name, m.Err)
		}
	}
	return msgs, nil
}

// openAttachment downloads, decrypts and verifies a file. The reader must be
// read to io.EOF (io.ReadAll does) before its content can be trusted.
func openAttachment(ctx context.Context, a *streamenc.Attachment) (string, error) {
	r, err := a.Open(ctx)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func countOpened(msgs []*streamenc.Message) int {
	n := 0
	for _, m := range msgs {
		if m.Err == nil {
			n++
		}
	}
	return n
}

// nameOf is the demo name of a message's verified sender.
func nameOf(m *streamenc.Message, users ...*user) string {
	for _, u := range users {
		if m.Sender.Identity == u.e3.Identity() {
			return u.name
		}
	}
	return m.SenderID
}

// marks flags edited messages (Stream records when a text was edited) and
// messages with files.
func marks(m *streamenc.Message) string {
	s := ""
	if _, edited := m.Raw.ExtraData["message_text_updated_at"]; edited {
		s += "*"
	}
	if n := len(m.Attachments); n > 0 {
		s += fmt.Sprintf(" [+%d file]", n)
	}
	return s
}

// storedName is the name Stream stored for a message's first file.
func storedName(m *streamenc.Message) string {
	u, err := url.Parse(m.Attachments[0].URL)
	if err != nil {
		return "?"
	}
	return path.Base(u.Path)
}

// excerpt shows the start and the end of a long ciphertext, and its length.
// (The start is the same for every message: a DER header and the
// recipients' key ids.)
func excerpt(s string) string {
	if len(s) <= 24 {
		return s
	}
	return fmt.Sprintf("%s…%s (%d chars)", s[:10], s[len(s)-10:], len(s))
}

// cell cuts s to n characters.
func cell(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// cleanup is a stack of things to undo.
type cleanup struct {
	steps []cleanupStep
}

type cleanupStep struct {
	what string
	do   func(context.Context) error
}

func (c *cleanup) add(what string, do func(context.Context) error) {
	c.steps = append(c.steps, cleanupStep{what, do})
}

// run undoes everything, newest first, even after ctx was cancelled. Without
// out (a run that failed) it reports failures to stderr itself.
func (c *cleanup) run(ctx context.Context, out *printer) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var errs []error
	for i := len(c.steps) - 1; i >= 0; i-- {
		s := c.steps[i]
		err := s.do(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.what, err))
			if out == nil {
				fmt.Fprintf(os.Stderr, "quickstart: cleanup: %s: %v\n", s.what, err)
			}
		}
	}
	c.steps = nil
	return errors.Join(errs...)
}

// printer writes the output and remembers the first write error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, s)
	}
}

func (p *printer) linef(format string, a ...any) { p.line(fmt.Sprintf(format, a...)) }

func (p *printer) step(n int, title string) {
	p.line("")
	p.linef("%d. %s", n, title)
}
