package e3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/e3go/e3go/internal/groupsession"
)

// Internal tests of groups: the local record parsers (with fuzz targets),
// ticket chunking, Keyknox epoch keys, keyring names, and the bounded
// parallel loop.

const testGroupID = "care-team:ward-7"

func testRecord() *groupRecord {
	sid := groupsession.SessionID([]byte(testGroupID))
	return &groupRecord{
		Version: groupRecordVersion, GroupID: testGroupID, SessionID: hexString(sid[:]), Initiator: "alice",
		Participants: []string{"alice", "bob"}, Epochs: []uint32{0, 1, 7}, MaxParticipants: 100,
		PendingRevocations: []string{"carol"},
	}
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func TestParseGroupRecord(t *testing.T) {
	good, err := json.Marshal(testRecord())
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseGroupRecord(good, testGroupID)
	if err != nil || r.Initiator != "alice" || len(r.Epochs) != 3 || r.PendingRevocations[0] != "carol" {
		t.Fatalf("parseGroupRecord: %+v, %v", r, err)
	}
	if _, err := parseGroupRecord(good, "another-group-id"); !errors.Is(err, ErrMalformed) {
		t.Errorf("another group's record: %v", err)
	}
	bad := map[string]func(*groupRecord){
		"version":            func(r *groupRecord) { r.Version = 2 },
		"session":            func(r *groupRecord) { r.SessionID = strings.Repeat("0", 64) },
		"initiator":          func(r *groupRecord) { r.Initiator = "" },
		"no participants":    func(r *groupRecord) { r.Participants = nil },
		"repeated":           func(r *groupRecord) { r.Participants = []string{"bob", "bob"} },
		"bad identity":       func(r *groupRecord) { r.Participants = []string{"a\nb"} },
		"no epochs":          func(r *groupRecord) { r.Epochs = nil },
		"epochs not sorted":  func(r *groupRecord) { r.Epochs = []uint32{1, 0} },
		"epochs repeated":    func(r *groupRecord) { r.Epochs = []uint32{1, 1} },
		"limit 0":            func(r *groupRecord) { r.MaxParticipants = 0 },
		"limit 1001":         func(r *groupRecord) { r.MaxParticipants = 1001 },
		"pending repeated":   func(r *groupRecord) { r.PendingRevocations = []string{"x", "x"} },
		"1001 participants":  func(r *groupRecord) { r.Participants = make([]string, 1001) },
		"invalid pending id": func(r *groupRecord) { r.PendingRevocations = []string{""} },
	}
	for name, mod := range bad {
		r := testRecord()
		mod(r)
		b, _ := json.Marshal(r)
		if _, err := parseGroupRecord(b, testGroupID); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, b := range []string{"", "null", "{}", `{"v":1,"x":2}`, string(good) + "{}", string(good[:len(good)-1])} {
		if _, err := parseGroupRecord([]byte(b), testGroupID); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", b, err)
		}
	}
}

func TestParseTicketRecord(t *testing.T) {
	sid := groupsession.SessionID([]byte(testGroupID))
	e := groupsession.NewEpochWithKey(sid, 7, [32]byte{1, 2, 3})
	rec := marshalTicketRecord(e)
	if !strings.Contains(string(rec), `"groupSessionMessage":{"epochNumber":7,"sessionId":"`+hexString(sid[:])+`","data":"`) {
		t.Fatalf("record %s", rec)
	}
	got, err := parseTicketRecord(rec, sid, 7)
	if err != nil || !got.Equal(e) {
		t.Fatalf("parseTicketRecord: %v", err)
	}
	if _, err := parseTicketRecord(rec, sid, 8); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong epoch: %v", err)
	}
	if _, err := parseTicketRecord(rec, groupsession.SessionID([]byte("another-group-id")), 7); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong group: %v", err)
	}
	// A record whose fields say epoch 7 around a ticket of epoch 8.
	var r ticketRecord
	json.Unmarshal(rec, &r)
	r.Message.Data = groupsession.NewEpochWithKey(sid, 8, [32]byte{}).Marshal()
	b, _ := json.Marshal(&r)
	if _, err := parseTicketRecord(b, sid, 7); !errors.Is(err, ErrMalformed) {
		t.Errorf("mismatched ticket: %v", err)
	}
	r.Message.Data = r.Message.Data[:20]
	b, _ = json.Marshal(&r)
	if _, err := parseTicketRecord(b, sid, 7); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated ticket: %v", err)
	}
}

func FuzzParseGroupRecord(f *testing.F) {
	good, err := json.Marshal(testRecord())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseGroupRecord(b, testGroupID)
		if err != nil {
			if r != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with a record, or not ErrMalformed", err)
			}
			return
		}
		// What parses, re-marshals to a record that parses the same.
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := parseGroupRecord(again, testGroupID)
		if err != nil || r2.Initiator != r.Initiator || len(r2.Epochs) != len(r.Epochs) || len(r2.Participants) != len(r.Participants) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseTicketRecord(f *testing.F) {
	sid := groupsession.SessionID([]byte(testGroupID))
	f.Add(marshalTicketRecord(groupsession.NewEpochWithKey(sid, 7, [32]byte{1})))
	f.Add(marshalTicketRecord(groupsession.NewEpochWithKey(sid, 300, [32]byte{2})))
	f.Add([]byte(`{"groupSessionMessage":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range []uint32{7, 300} {
			e, err := parseTicketRecord(b, sid, n)
			if err != nil {
				if e != nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v with an epoch, or not ErrMalformed", err)
				}
				continue
			}
			if e.Number() != n || e.SessionID() != sid {
				t.Fatalf("parsed epoch %d of another session", e.Number())
			}
			if e2, err := parseTicketRecord(marshalTicketRecord(e), sid, n); err != nil || !e2.Equal(e) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

func TestParseEpochKey(t *testing.T) {
	for key, want := range map[string]uint32{"0": 0, "1": 1, "4294967295": 4294967295, "50": 50} {
		if n, err := parseEpochKey(key); err != nil || n != want {
			t.Errorf("%q: %d, %v", key, n, err)
		}
	}
	for _, key := range []string{"", "01", "-1", "+1", "1.0", "4294967296", "abc", " 1", "1e3"} {
		if _, err := parseEpochKey(key); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", key, err)
		}
	}
}

func TestEncryptTicketChunks(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	lk := &localKey{priv: k, pub: k.Public()}
	ticket := groupsession.NewEpochWithKey(groupsession.SessionID([]byte(testGroupID)), 0, [32]byte{5}).Marshal()
	recips := func(n int, sha bool) []groupRecipient {
		out := make([]groupRecipient, n)
		for i := range out {
			k, _ := GenerateKey()
			pub := k.Public()
			if sha {
				pub = pub.WithSHA256ID()
			}
			out[i] = groupRecipient{identity: "m" + string(rune('A'+i%26)) + string(rune('a'+i/26)), key: pub}
		}
		return out
	}
	for _, c := range []struct {
		n, sha256, chunks int
	}{{0, 0, 1}, {1, 0, 1}, {27, 0, 1}, {28, 0, 2}, {54, 0, 2}, {55, 0, 3}, {149, 0, 6}, {24, 1, 1}, {25, 1, 2}} {
		lk := lk
		if c.sha256 == 1 {
			k := k.WithSHA256ID()
			lk = &localKey{priv: k, pub: k.Public()}
		}
		rs := recips(c.n, c.sha256 == 1)
		chunks, err := encryptTicketChunks(lk, ticket, rs)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != c.chunks {
			t.Errorf("%d recipients (sha256 %d): %d chunks, want %d", c.n, c.sha256, len(chunks), c.chunks)
		}
		var all []string
		for _, ch := range chunks {
			if !metaFits(len(ch.meta)) {
				t.Errorf("%d recipients: a meta of %d base64 characters", c.n, base64.StdEncoding.EncodedLen(len(ch.meta)))
			}
			// Each chunk opens with the initiator's key and with each of
			// its recipients' (checked for the first and last).
			if data, _, err := keyknoxDecrypt(ch.meta, ch.value, lk.priv, lk.pub); err != nil || string(data) != string(ticket) {
				t.Fatalf("initiator's copy: %v", err)
			}
			all = append(all, ch.identities...)
		}
		if len(all) != c.n {
			t.Errorf("%d recipients in the chunks, want %d", len(all), c.n)
		}
		for i, r := range rs {
			if all[i] != r.identity {
				t.Fatalf("recipient %d is %s, want %s", i, all[i], r.identity)
			}
		}
	}
}

func TestGroupNames(t *testing.T) {
	if got := groupNames("alice"); got != "%group/alice/" {
		t.Errorf("groupNames = %q", got)
	}
	if got := groupNames("dr alice%"); got != "%group/dr%20alice%25/" {
		t.Errorf("groupNames = %q", got)
	}
	long := groupNames(strings.Repeat("x", 161))
	if !strings.HasPrefix(long, "%group/~") || len(long) != len("%group/~")+32+1 {
		t.Errorf("long identity: %q", long)
	}
	for _, tc := range []struct {
		n    uint32
		want string
	}{{0, "!1!0"}, {9, "!1!9"}, {10, "!2!10"}, {4294967295, "!a!4294967295"}} {
		if got := groupTicketSuffix(tc.n); got != tc.want {
			t.Errorf("groupTicketSuffix(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	// The longest name fits the keyring's 255 bytes.
	name := groupNames(strings.Repeat("x", 160)) + strings.Repeat("f", 64) + groupTicketSuffix(4294967295)
	if len(name) > 255 {
		t.Errorf("longest name is %d bytes", len(name))
	}
}

func TestForEachLimit(t *testing.T) {
	var running, peak atomic.Int32
	err := forEachLimit(context.Background(), 40, true, func(ctx context.Context, i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		return nil
	})
	if err != nil || peak.Load() > maxParallelKeyknox {
		t.Fatalf("err %v, peak %d", err, peak.Load())
	}
	boom := errors.New("boom")
	var calls atomic.Int32
	err = forEachLimit(context.Background(), 100, true, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 3 {
			return boom
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, boom) || calls.Load() >= 100 {
		t.Fatalf("stop on error: %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	err = forEachLimit(context.Background(), 20, false, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i%2 == 0 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 20 {
		t.Fatalf("no stop: %v after %d calls", err, calls.Load())
	}
}

func TestGroupErrorMapping(t *testing.T) {
	for _, c := range []struct {
		in   error
		want error
	}{
		{groupsession.ErrBadSignature, ErrAuthFailed},
		{groupsession.ErrAuthFailed, ErrAuthFailed},
		{&groupsession.ParseError{What: "padding", Err: errors.New("x")}, ErrMalformed},
		{&groupsession.UnknownEpochError{Epoch: 9, Oldest: 0, Newest: 3}, ErrGroupOutdated},
		{&groupsession.UnknownEpochError{Epoch: 0, Oldest: 1, Newest: 3}, ErrUnknownEpoch},
		{groupsession.ErrWrongSession, ErrNotFromGroup},
		{groupsession.ErrTooLarge, ErrMessageTooLarge},
		{groupsession.ErrInvalidKey, ErrKeyType},
		{groupsession.ErrGroupIDTooShort, ErrInvalidGroupID},
	} {
		got := groupError(c.in)
		if !errors.Is(got, c.want) || !strings.HasPrefix(got.Error(), "e3: ") {
			t.Errorf("groupError(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	var pe *ParseError
	if err := groupError(&groupsession.ParseError{What: "padding", Err: errors.New("x")}); !errors.As(err, &pe) || pe.What != "group padding" {
		t.Errorf("ParseError mapping: %v", err)
	}
	if groupError(nil) != nil {
		t.Error("groupError(nil)")
	}
	e := &GroupEpochError{Epoch: 0, Oldest: 1, Newest: 3}
	if errors.Is(e, ErrGroupOutdated) || !strings.Contains(e.Error(), "unknown") {
		t.Errorf("%v", e)
	}
	pc := &ParticipantCountError{Count: 101, Max: 100}
	if !strings.Contains(pc.Error(), "GroupOptions.MaxParticipants") || !errors.Is(pc, ErrTooManyParticipants) {
		t.Errorf("%v", pc)
	}
}
