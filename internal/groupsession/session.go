package groupsession

import (
	"cmp"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
)

// Session is a group session: the epochs of one session id that a member
// holds, at most [MaxEpochs] of them, sorted by number. Encrypt uses the
// newest; Decrypt and Open find a message's epoch. It is virgil-crypto's
// GroupSession (importGroupSession, addNewEpoch, encrypt, decrypt, export).
//
// The zero Session is empty: AddEpoch gives it its session id. A Session
// is safe for concurrent use. It redacts itself under fmt and log/slog.
type Session struct {
	mu     sync.RWMutex
	id     [SessionIDSize]byte
	epochs []*Epoch // ascending by number, at most MaxEpochs; pointers, so fmt never reaches a key
}

// Generate starts the session of groupID with a fresh epoch 0 whose key is
// read from random (crypto/rand when nil), as virgil-crypto's
// generateGroupSession (and e3kit's createGroup). groupID must be at least
// [MinGroupIDSize] bytes.
func Generate(random io.Reader, groupID []byte) (*Session, error) {
	if len(groupID) < MinGroupIDSize {
		return nil, ErrGroupIDTooShort
	}
	e, err := NewEpoch(random, SessionID(groupID))
	if err != nil {
		return nil, err
	}
	return &Session{id: e.sessionID, epochs: []*Epoch{e}}, nil
}

// NewSession returns the session holding the given epochs, which must
// share one session id (else ErrWrongSession) and have distinct numbers
// (else ErrDuplicateEpoch). Of more than [MaxEpochs] epochs it keeps the
// newest. It is virgil-crypto's importGroupSession with parsed tickets; see
// [Import] for serialized ones.
func NewSession(epochs ...*Epoch) (*Session, error) {
	if len(epochs) == 0 {
		return nil, ErrNoEpochs
	}
	for _, e := range epochs {
		if !e.valid() {
			return nil, fmt.Errorf("%w: nil epoch", ErrNoEpochs)
		}
	}
	sorted := slices.Clone(epochs)
	slices.SortStableFunc(sorted, func(a, b *Epoch) int { return cmp.Compare(a.number, b.number) })
	s := &Session{}
	for _, e := range sorted {
		if err := s.AddEpoch(e); err != nil {
			return nil, err
		}
	}
	for i := 1; i < len(sorted); i++ { // also among epochs already evicted
		if sorted[i].number == sorted[i-1].number {
			return nil, ErrDuplicateEpoch
		}
	}
	return s, nil
}

// Import parses epoch tickets and returns the session holding them (see
// NewSession).
func Import(tickets ...[]byte) (*Session, error) {
	epochs := make([]*Epoch, len(tickets))
	for i, t := range tickets {
		e, err := ParseEpoch(t)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return nil, &ParseError{What: pe.What + " (ticket " + strconv.Itoa(i) + ")", Err: pe.Err}
			}
			return nil, err
		}
		epochs[i] = e
	}
	return NewSession(epochs...)
}

// ID returns the session id (all zeros for an empty session).
func (s *Session) ID() [SessionIDSize]byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.id
}

// Len returns the number of epochs the session holds.
func (s *Session) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.epochs)
}

// CurrentEpoch returns the newest epoch's number, the one Encrypt uses (0
// for an empty session, as virgil-crypto).
func (s *Session) CurrentEpoch() uint32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.epochs) == 0 {
		return 0
	}
	return s.epochs[len(s.epochs)-1].number
}

// Epochs returns the session's epochs, oldest first (virgil-crypto's
// export, with Marshal).
func (s *Session) Epochs() []*Epoch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.epochs)
}

// Epoch returns the epoch with the given number, if the session holds it.
func (s *Session) Epoch(number uint32) (*Epoch, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.find(number)
	if !ok {
		return nil, false
	}
	return s.epochs[i], true
}

func (s *Session) find(number uint32) (int, bool) {
	return slices.BinarySearchFunc(s.epochs, number, func(e *Epoch, n uint32) int { return cmp.Compare(e.number, n) })
}

// AddEpoch adds an epoch (an imported ticket). Its session id must be the
// session's (ErrWrongSession), unless the session is empty, and its number
// new (ErrDuplicateEpoch). When the session then holds more than
// [MaxEpochs] epochs, the oldest is dropped, which is e itself when e is
// older than all of a full session's epochs (as virgil-crypto does).
func (s *Session) AddEpoch(e *Epoch) error {
	if !e.valid() {
		return fmt.Errorf("%w: nil epoch", ErrNoEpochs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(e)
}

func (s *Session) addLocked(e *Epoch) error {
	if len(s.epochs) == 0 {
		s.id = e.sessionID
	} else if e.sessionID != s.id {
		return ErrWrongSession
	}
	i, found := s.find(e.number)
	if found {
		return ErrDuplicateEpoch
	}
	s.epochs = slices.Insert(s.epochs, i, e)
	if len(s.epochs) > MaxEpochs {
		s.epochs[0] = nil
		s.epochs = slices.Delete(s.epochs, 0, 1)
	}
	return nil
}

// AddNewEpoch makes the next epoch (newest number + 1) with a fresh key
// read from random (crypto/rand when nil), adds it and returns it: its
// ticket (Marshal) is what the group's members need. It is virgil-crypto's
// addNewEpoch, what e3kit does when a member is removed.
func (s *Session) AddNewEpoch(random io.Reader) (*Epoch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.epochs) == 0 {
		return nil, ErrNoEpochs
	}
	last := s.epochs[len(s.epochs)-1].number
	if last == ^uint32(0) {
		return nil, ErrEpochOverflow
	}
	e, err := newEpoch(random, s.id, last+1)
	if err != nil {
		return nil, err
	}
	if err := s.addLocked(e); err != nil {
		return nil, err
	}
	return e, nil
}

// Encrypt encrypts plaintext (at most [MaxPlaintextSize] = 29915 bytes,
// else ErrTooLarge) in the newest epoch and signs the ciphertext with signer,
// the sender's Ed25519 key. The salt and the padding are read from random
// (crypto/rand when nil). The result is a serialized regular group
// message, 322 bytes for 69 bytes of plaintext.
func (s *Session) Encrypt(random io.Reader, plaintext []byte, signer ed25519.PrivateKey) ([]byte, error) {
	s.mu.RLock()
	if len(s.epochs) == 0 {
		s.mu.RUnlock()
		return nil, ErrNoEpochs
	}
	e := s.epochs[len(s.epochs)-1]
	s.mu.RUnlock()
	return e.seal(random, plaintext, signer)
}

// Decrypt parses a serialized regular group message and opens it (see
// Open).
func (s *Session) Decrypt(msg []byte, sender ed25519.PublicKey) ([]byte, error) {
	m, err := ParseMessage(msg)
	if err != nil {
		return nil, err
	}
	return s.Open(m, sender)
}

// Open decrypts a parsed message and verifies that sender signed it: the
// session id must be the session's (ErrWrongSession), the session must
// hold the message's exact epoch (else an *UnknownEpochError with the
// session's range), then see [Epoch.Open].
func (s *Session) Open(m *Message, sender ed25519.PublicKey) ([]byte, error) {
	s.mu.RLock()
	if len(s.epochs) == 0 {
		s.mu.RUnlock()
		return nil, ErrNoEpochs
	}
	if m.SessionID != s.id {
		s.mu.RUnlock()
		return nil, ErrWrongSession
	}
	i, ok := s.find(m.Epoch)
	if !ok {
		err := &UnknownEpochError{Epoch: m.Epoch, Oldest: s.epochs[0].number, Newest: s.epochs[len(s.epochs)-1].number}
		s.mu.RUnlock()
		return nil, err
	}
	e := s.epochs[i]
	s.mu.RUnlock()
	return e.Open(m, sender)
}

func (s *Session) String() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	str := "groupsession.Session(" + hex.EncodeToString(s.id[:4]) + "…, " + strconv.Itoa(len(s.epochs)) + " epochs"
	if len(s.epochs) > 0 {
		str += " " + strconv.FormatUint(uint64(s.epochs[0].number), 10) + ".." + strconv.FormatUint(uint64(s.epochs[len(s.epochs)-1].number), 10)
	}
	return str + ", keys REDACTED)"
}

// Format implements fmt.Formatter: every verb prints the session id
// prefix and the epoch range, never a key.
func (s *Session) Format(f fmt.State, verb rune) {
	io.WriteString(f, s.String())
}

// LogValue implements slog.LogValuer, without keys.
func (s *Session) LogValue() slog.Value {
	return slog.StringValue(s.String())
}
