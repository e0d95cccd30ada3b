package groupsession

import "slices"

// Message is a parsed regular group message: GroupMessage{version,
// regular_message: RegularGroupMessage{header, signature, cipher_text}}
// whose header is RegularGroupMessageHeader{session_id, epoch, salt}.
//
// The format names no sender: the receiver must know who sent a message
// (in e3kit, the caller passes the sender's card) and verifies the
// signature with that member's key. SessionID and Epoch say which group
// and which epoch ticket the message needs.
type Message struct {
	Version   uint32              // outer version field: 0 from every known writer; not authenticated
	SessionID [SessionIDSize]byte // from the header
	Epoch     uint32              // from the header
	Salt      [SaltSize]byte      // from the header: HKDF salt of this message
	// Header is the serialized header exactly as received: the AES-GCM
	// additional data.
	Header     []byte
	Signature  [SignatureSize]byte // Ed25519 over Ciphertext
	Ciphertext []byte              // AES-256-GCM ciphertext ‖ 16-byte tag
}

// ParseMessage parses a regular group message (not a ticket: see
// [ParseEpoch]). It fails with a [*ParseError] on anything but the
// canonical encoding, on a header longer than 74 bytes and on input longer
// than [MaxMessageSize] (also matching [ErrTooLarge]). The Message does not
// share memory with b.
func ParseMessage(b []byte) (*Message, error) {
	d, err := decodeGroupMessage(b)
	if err != nil {
		return nil, err
	}
	if d.regular == nil {
		return nil, parseErrorf("group message", "is an epoch ticket, not a regular message")
	}
	var r [3]fieldValue
	if err := parseFields("regular message", d.regular.bytes, regularSpecs, r[:]); err != nil {
		return nil, err
	}
	var h [3]fieldValue
	if err := parseFields("message header", r[0].bytes, headerSpecs, h[:]); err != nil {
		return nil, err
	}
	m := &Message{
		Version:    d.version,
		Epoch:      h[1].u32,
		Header:     slices.Clone(r[0].bytes),
		Ciphertext: slices.Clone(r[2].bytes),
	}
	if m.Ciphertext == nil {
		m.Ciphertext = []byte{}
	}
	copy(m.SessionID[:], h[0].bytes)
	copy(m.Salt[:], h[2].bytes)
	copy(m.Signature[:], r[1].bytes)
	return m, nil
}

// marshalHeader encodes RegularGroupMessageHeader: 70 bytes for epochs
// below 128, at most 74.
func marshalHeader(sessionID *[SessionIDSize]byte, epoch uint32, salt *[SaltSize]byte) []byte {
	b := make([]byte, 0, 2*bytesFieldLen(32)+uint32FieldLen(epoch))
	b = appendBytesField(b, fieldSessionID, sessionID[:])
	b = appendUint32Field(b, fieldEpoch, epoch)
	return appendBytesField(b, fieldSalt, salt[:])
}

// Marshal encodes the message. For a parsed message the result is the
// input; Header is written as it is (it is not re-encoded from SessionID,
// Epoch and Salt).
func (m *Message) Marshal() []byte {
	return marshalRegular(m.Version, m.Header, &m.Signature, m.Ciphertext)
}

func marshalRegular(version uint32, header []byte, sig *[SignatureSize]byte, ct []byte) []byte {
	regLen := bytesFieldLen(len(header)) + bytesFieldLen(SignatureSize) + bytesFieldLen(len(ct))
	b := make([]byte, 0, uint32FieldLen(version)+bytesFieldLen(regLen))
	b = appendUint32Field(b, fieldVersion, version)
	b = appendTag(b, fieldRegularMessage, wireBytes)
	b = appendVarint(b, uint64(regLen))
	b = appendBytesField(b, fieldHeader, header)
	b = appendBytesField(b, fieldSignature, sig[:])
	return appendBytesField(b, fieldCipherText, ct)
}
