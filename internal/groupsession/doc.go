// Package groupsession implements virgil-crypto's group sessions, the
// cryptography under e3kit's groups, byte for byte: epoch tickets, group
// messages, their encryption and their signatures. Messages made here are
// read by virgil-crypto 5.1.2 and 4.2.2 (the version e3kit-node and
// e3kit-browser 2.5.1 bundle), and the other way round.
//
// It is the low level of e3go's groups: the e3 package adapts its keys and
// errors to it and distributes the tickets (through Keyknox, as e3kit).
//
// # Sessions and epochs
//
// A group's session id is the first 32 bytes of SHA-512 over its group id
// ([SessionID]). A session advances in epochs: each has a number and a
// fresh random 32-byte key, unrelated to the other epochs' keys. Epoch 0 is
// made with the session ([Generate]); e3kit makes the next one when a
// member is removed ([Session.AddNewEpoch]). An epoch travels as a ticket
// ([Epoch.Marshal], [ParseEpoch]), and a [Session] holds the newest
// [MaxEpochs] (50) epochs of one session id, sorted. Every message is
// encrypted in the newest epoch; a receiver needs that exact epoch's
// ticket (an older one can be opened with [Epoch.Open] directly).
//
// # Format
//
// Everything is protobuf (proto2, as nanopb writes it in virgil-crypto-c):
//
//	GroupMessage               { 1: version uint32 (required), 2: group_info, 3: regular_message }
//	MessageGroupInfo           { 1: session_id (32), 2: epoch uint32, 3: key (32) }   all required
//	RegularGroupMessage        { 1: header (≤ 74), 2: signature (64), 3: cipher_text } all required
//	RegularGroupMessageHeader  { 1: session_id (32), 2: epoch uint32, 3: salt (32) }  all required
//
// A GroupMessage holds exactly one of group_info (a ticket: 74 bytes for
// epochs below 128) and regular_message (a message: 322 bytes for a 69-byte
// plaintext). The version is 0 on the wire: virgil-crypto-c sets it to 1,
// then zeroes the struct when it sets the message type, so every known
// writer emits 08 00. This package writes 0 and accepts any value (it is not
// authenticated), keeping what it read so that parsed input re-marshals to
// the same bytes.
//
// To encrypt a plaintext of L bytes in epoch (n, key):
//
//	salt    = 32 random bytes
//	header  = RegularGroupMessageHeader{session id, n, salt}         (the GCM additional data)
//	padded  = plaintext ‖ random ‖ uint32_le(L)                      (a multiple of 160, ≥ L+5)
//	k ‖ iv  = HKDF-SHA512(IKM = key, salt, info = "VIRGIL_GROUP_SESSION_KDF_CIPHER_INFO\0", 44)
//	ct      = AES-256-GCM(k, iv, padded, header)                     (ciphertext ‖ 16-byte tag)
//	sig     = Ed25519(sender's key, ct)                               (pure Ed25519 over the ciphertext)
//
// The padding stores the plaintext length (unlike virgil-crypto's CMS
// padding, which stores the padding length); on decryption the length n
// must be below len(padded) − 4. Decryption checks the session id, finds
// the exact epoch, checks the GCM tag, verifies the signature with the key
// of the member the caller says sent the message (the format names no
// sender), and removes the padding; it returns no plaintext unless all of
// that passes.
//
// # Limits
//
//   - A serialized message or ticket is at most [MaxMessageSize] (30188)
//     bytes; the parsers refuse longer input, as virgil-crypto does.
//   - Encrypt takes at most [MaxPlaintextSize] = 29915 bytes.
//     virgil-crypto's limit is 30000, but a plaintext of 29916 to 30000
//     bytes pads to a 30244-byte message that virgil-crypto itself (and
//     this package) refuses to parse; Encrypt fails with ErrTooLarge
//     instead of making it.
//   - A session keeps the newest [MaxEpochs] (50) epochs; older messages
//     need their epoch's ticket from storage (e3kit keeps every ticket).
//   - Group ids are at least [MinGroupIDSize] (10) bytes, as e3kit and
//     virgil-crypto require (Generate checks it; SessionID hashes anything).
//   - Epoch numbers are uint32: after 4294967295 AddNewEpoch fails.
//
// # Strictness
//
// The parsers take only the canonical encoding that nanopb writes: every
// field at most once and in field-number order, minimal varints, no unknown
// fields, exact lengths for ids, keys, salts and signatures, and the input
// consumed exactly. So whatever parses re-marshals to the same bytes.
// virgil-crypto's nanopb decoder is laxer (measured with both versions): it
// skips unknown fields, takes fields in any order and a repeated field's
// last value, accepts non-minimal varints, and reads an empty session id as
// 32 zero bytes (nanopb's rule for fixed-length bytes, which would make an
// empty key an all-zero key); 4.2.2 also stops at a zero byte where a field
// tag should be and ignores the rest. No Virgil writer produces any of
// that, so the stricter parser loses no real message. Both refuse missing
// required fields, wrong lengths, epochs over 32 bits, both or neither of
// ticket and message, and input over 30188 bytes.
//
// # Security notes
//
//   - The epoch key is shared by every member holding the ticket, so any of
//     them can read every message of that epoch and can make ciphertexts
//     that pass the GCM tag. Only the signature, made with the sender's own
//     Ed25519 key over the ciphertext, tells members apart: always decrypt
//     with the claimed sender's key (there is no unauthenticated decrypt
//     here). ErrBadSignature means "decrypts, but not sent by that key".
//   - The signature covers the ciphertext, which includes the GCM tag over
//     the header, so session id, epoch and salt are bound too; only the
//     outer version field is not authenticated.
//   - A removed member keeps the tickets it had: it can still read every
//     message sent in those epochs, including ones sent after its removal
//     by members that had not yet moved to the new epoch. It cannot read
//     messages of epochs made after its removal: their keys are fresh random
//     keys, not derived from earlier ones. Epoch keys are independent, so
//     losing one exposes exactly one epoch; there is no forward secrecy
//     within an epoch.
//   - There is no replay protection: a message decrypts every time it is
//     presented. Callers deduplicate (e.g. by the transport's message id).
//   - Message lengths leak to within the 160-byte padding frame.
//   - A signed message proves to anyone holding the epoch key (and the
//     sender's public key) that the sender wrote it.
//
// Epoch and Session redact their keys under every fmt verb and in
// log/slog; errors never contain input bytes. Randomness comes from the
// io.Reader the caller passes, crypto/rand when it is nil (tests pass a
// deterministic reader to reproduce virgil-crypto's output exactly).
package groupsession
