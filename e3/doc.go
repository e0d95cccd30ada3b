// Package e3 is e3go's cryptographic core: Virgil-compatible keys,
// signatures and ciphertexts, byte for byte what virgil-crypto (and so
// e3kit in browsers and on phones) reads and writes.
//
// The operations mirror virgil-crypto's methods of the same names:
//
//   - [SignAndEncrypt] / [DecryptAndVerify]: e3kit's authEncrypt /
//     authDecrypt, the recommended format. The signature travels encrypted,
//     the body is padded to a multiple of 160 bytes.
//   - [SignThenEncrypt] / [DecryptThenVerify]: e3kit's encrypt / decrypt.
//     The detached forms ([SignThenEncryptDetached],
//     [DecryptThenVerifyDetached]) are what Keyknox stores.
//   - [Encrypt] / [Decrypt]: encryption without a signature. Decrypt opens
//     every format but checks no signature.
//   - [Sign] / [Verify]: detached signatures (calculateSignature /
//     verifySignature), also used by Virgil cards and JWTs.
//   - [EncryptStream], [DecryptStream], [SignAndEncryptStream],
//     [DecryptAndVerifyStream]: io.Writer / io.Reader forms for attachments
//     and files, with output byte-identical to the one-shot forms and memory
//     that stays flat (one 64 KiB window) whatever the size.
//
// Every encryption takes any number of recipients; on the wire they are
// sorted by key identifier, as Virgil does, and a recipient finds its entry
// by identifier.
//
// # Client
//
// [Client] is the Go counterpart of e3kit's EThree, for apps and servers
// whose users talk to e3kit users. [New] takes a [Config]: a
// [TokenProvider] of Virgil access tokens (the identity is their subject;
// a participant that holds the App Key uses [JWTGenerator.TokenProvider]),
// the services' URL (Virgil's cloud, or a compatible server such as
// package e3test, which also runs in-process for tests), and a
// keyring.Store for the private key. Its methods are e3kit's: Register,
// FindUsers (cards verified, cached and linked to the cards they replaced),
// AuthEncrypt/AuthDecrypt (the [SignAndEncrypt] format, the sender an
// implicit recipient; AuthDecryptAt for messages signed before a key
// rotation; base64 string and streaming forms), BackupPrivateKey,
// RestorePrivateKey and ChangePassword (BrainKey and Keyknox, v1 and named
// backups, readable by e3kit and the other way round), RotatePrivateKey,
// Unregister and Cleanup. Its errors ([ErrNotRegistered], [ErrNoLocalKey],
// [ErrWrongPassword], [*UsersNotFoundError], ...) say what to do next, an
// [AuditSink] receives every key event (never plaintext or key material),
// and it is safe for concurrent use.
//
// # Groups
//
// [Client.CreateGroup], [Client.LoadGroup], [Client.GetGroup] and
// [Client.DeleteGroup] are e3kit's groups, compatible both ways with
// e3kit 2.5.1: each message is encrypted once ([Group.Encrypt]: one
// AES-GCM and one Ed25519 signature; the plaintext padded to a multiple of
// 160 bytes, plus 162, whatever the number of participants) with the
// current epoch key of a virgil-crypto group session. The initiator (the creator) stores
// each epoch's 74-byte ticket in its own Keyknox v2 space (root
// "group-sessions", path the hex session id SHA-512(group id)[:32], key
// the decimal epoch number), signed by itself and encrypted for each
// participant, whose copy only they read; the entry's recipient list is
// the participant list. Participants get the tickets with LoadGroup and
// [Group.Update]; [Group.Add] shares every epoch (new members read the
// whole history); [Group.Remove] starts a new epoch with a fresh random
// key for the others, then deletes the removed members' copies of the
// earlier tickets; [Group.ReAdd] re-encrypts them for a participant's new
// card after a key rotation. Only the initiator changes participants.
// The group and every ticket are kept on the device in the Client's
// keyring, encrypted for (and signed by) the local private key, so
// [Client.GetGroup] works offline and after a restart; the newest 50
// epochs stay in memory, older messages are decrypted with their ticket
// from the keyring.
//
// What a removed member can still read: every message of the epochs it
// held, until it calls Update (which, as in e3kit, deletes the group from
// its device; a modified client would keep the tickets). That includes
// messages sent after the removal by participants that have not updated
// yet and still encrypt in the old epoch: call Update before sending, or
// when Decrypt reports [ErrGroupOutdated]. It cannot read anything sent in
// a later epoch: epoch keys are random, not derived from one another.
// [Group.Decrypt] authenticates the sender's key, not its membership.
//
// Limits, and what e3go does at each:
//
//   - Group ids are at least [MinGroupIDSize] (10) bytes of UTF-8
//     ([ErrInvalidGroupID]).
//   - A group has at most [E3kitMaxGroupParticipants] (100) participants,
//     the initiator included ([*ParticipantCountError]): e3kit refuses to
//     load or update a larger group. [GroupOptions].MaxParticipants (and
//     [Group.SetMaxParticipants]) raise it to [MaxGroupParticipants]
//     (1000) for groups only e3go reads; such a group stays readable by
//     e3kit while it has 100 participants or fewer.
//   - Virgil's Keyknox refuses a meta over "10 KB" (code 50005). A
//     ticket's meta is 231 bytes plus 254 per recipient (279 with SHA-256
//     identifiers), so e3kit, which pushes a ticket for every participant
//     at once, cannot store a group of more than 28 to 39 participants,
//     depending on how Virgil counts 10 KB (29 for 10240 base64
//     characters, the users' "more than 30" of e3kit-js#160). e3go
//     pushes at most [KeyknoxMaxMetaSize] (10000) characters at a time: the
//     initiator and 27 others per push, the next pushes to the same entry
//     adding the others (the previous-hash chain of Keyknox v2, as e3kit's
//     own add does), which e3kit reads like one push. e3test refuses longer
//     metas as Virgil does (400, code 50005) only when its
//     Options.KeyknoxMaxMetaSize is set (off by default);
//     [ErrKeyknoxValueTooLarge] is the typed error should a single recipient
//     not fit.
//   - Plaintexts are at most [MaxGroupPlaintextSize] (29915) bytes
//     ([ErrMessageTooLarge]): virgil-crypto accepts up to 30000 but cannot
//     decrypt its own messages of 29916 bytes or more.
//   - A message from an epoch newer than the group's fails with
//     [ErrGroupOutdated] (call Update); one from an epoch this device never
//     held with [ErrUnknownEpoch]; another group's with [ErrNotFromGroup];
//     Add/Remove/ReAdd by a participant with [ErrNotGroupInitiator];
//     adding participants with [ErrAlreadyParticipant], removing others
//     with [ErrNotParticipant]; losing access (removed, deleted, wrong
//     initiator) with [ErrGroupNoAccess]; a creation that exists with
//     [ErrGroupExists]. Tampered messages and tickets fail with
//     [ErrAuthFailed] or [ErrMalformed], as everywhere.
//
// Cost: Add pulls and pushes every epoch's ticket (a request pair per
// epoch); Remove encrypts one ticket for the remaining participants (one
// ECIES per participant, about 10 ms for 100) and sends one push per 27
// of them plus a reset per removed member; Update pulls every epoch.
//
// # Key management
//
// Keys are Ed25519 (Virgil's and e3kit's default; it signs, and encrypts
// through its X25519 form) or Curve25519 (X25519 only: it can decrypt but
// not sign). [GenerateKey] makes a random Ed25519 key;
// [GenerateKeyFromMaterial] derives one deterministically from key material
// exactly as virgil-crypto's generateKeysFromKeyMaterial does (e3kit's
// BrainKey backups rely on it). [PrivateKey.Export] and [ParsePrivateKey]
// use PKCS#8 DER, the 48 bytes virgil-crypto's exportPrivateKey writes
// (e3kit stores them base64-encoded); [PublicKey.Export] and
// [ParsePublicKey] use the 44-byte SubjectPublicKeyInfo that Virgil cards
// carry.
//
// Every key has an identifier, [PublicKey.ID]: the first 8 bytes of SHA-512
// over the exported public key, or, for keys made with
// [PublicKey.WithSHA256ID] / [PrivateKey.WithSHA256ID] (e3kit's
// useSha256Identifiers option), all 32 bytes of SHA-256. Ciphertexts address
// recipients and name signers by identifier, so sender and recipient must
// use the same scheme; a mismatch shows up as [ErrNotRecipient] or
// [ErrSignerNotFound].
//
// A [PrivateKey] never prints its secret: it redacts itself under every fmt
// verb and in log/slog, and has no String, MarshalText or MarshalJSON
// method; [PrivateKey.Export] is the only way to the bytes. e3 does not
// promise to wipe key bytes from memory (the Go runtime may copy them).
//
// # Compatibility with e3kit/virgil-crypto
//
// The formats are those of virgil-crypto 5.1.2 and of 4.2.2, which
// @virgilsecurity/e3kit-node 2.5.1 and e3kit-browser 2.5.1 bundle; both
// produce identical bytes. The package's tests decrypt and verify
// ciphertexts made by both versions, and, fed virgil-crypto's deterministic
// KeyMaterialRng instead of crypto/rand, reproduce its ciphertexts byte for
// byte (the recipient order on the wire and the order of random draws
// included). Only Ed25519 and Curve25519 keys are supported (not Virgil's
// RSA, NIST P-256, compound or post-quantum key types), and only the
// algorithms virgil-crypto writes (ECIES with KDF2-SHA384, HMAC-SHA384 and
// AES-256-CBC; AES-256-GCM bodies; HKDF-SHA512).
//
// Where Virgil is lax, e3 is strict, which only matters for altered or
// hostile input:
//
//   - [Verify] and the verifying decryptions fail with a Curve25519 key;
//     virgil-crypto reports any signature as valid in that case.
//   - Ed25519 verification is crypto/ed25519's, which rejects signature
//     scalars S ≥ ℓ that Virgil's ref10 code accepts.
//   - Padding whose length field is inconsistent is rejected (virgil-crypto
//     ignores the error), as are message-info versions that do not match the
//     fields present, recipient or signer entries whose algorithm differs
//     from the key's, password recipients, duplicate custom parameters,
//     non-canonical ECIES ephemeral keys and trailing bytes.
//   - A signAndEncrypt ciphertext whose message-info nonce differs from the
//     one derived from the key is rejected.
//
// Like virgil-crypto, [DecryptThenVerify] given exactly one verification
// key uses it whatever signer identifier the ciphertext names (e3kit passes
// one key, the sender's), and decoders accept recipient and parameter sets
// in any order.
//
// # Errors
//
// Failures match a sentinel with [errors.Is]:
//
//   - [ErrAuthFailed]: a GCM tag, the ECIES MAC or a signature did not
//     verify, or the ciphertext is truncated. [ErrSignerNotFound] (no given
//     key has the signer's identifier) and [ErrNotSigned] (the ciphertext
//     carries no signature) match ErrAuthFailed too.
//   - [ErrNotRecipient]: the ciphertext has no entry for the key.
//   - [ErrKeyType]: the key's type cannot do the operation.
//   - [ErrMalformed]: structurally invalid input, always wrapped in a
//     [*ParseError] naming what was malformed ("message info", "footer",
//     "padding", "signature", "private key", ...).
//
// Errors never contain secret input, a failed decryption never returns
// plaintext, and malformed or hostile input never panics (every parser is
// fuzzed).
//
// A stream reader cannot check the GCM tag at the end of a long message
// before it returns the earlier plaintext. It returns io.EOF only after the
// tag (and the signature) verified, and otherwise the same error from every
// Read; callers must discard what they read unless the reader ended with
// io.EOF (write to a temporary file and keep it only then).
//
// # Concurrency
//
// Keys are immutable and safe for concurrent use; all functions are safe to
// call from multiple goroutines. The stream writers and readers are not
// safe for concurrent use. Randomness comes from crypto/rand only.
//
// # What is not encrypted
//
// The ciphertext formats are Virgil's, and what they leave in the clear is
// visible to the chat service, to the backend, and to anyone holding the
// message:
//
//   - The number of recipients and each recipient's key identifier (a hash
//     of its public key), so anyone who knows the recipients' public keys
//     (Virgil cards are public) can tell who a message is for.
//   - The length of the message: exactly with [Encrypt] and
//     [SignThenEncrypt], rounded up to a multiple of 160 bytes with
//     [SignAndEncrypt] (whose footer length also reveals the signer
//     identifier's length).
//   - With [SignThenEncrypt], the signer's identifier and the signature in
//     clear: anyone can tell who sent the message, and confirm a guess of
//     its content with the sender's public key. [SignAndEncrypt] encrypts
//     both.
//   - [Encrypt] does not authenticate the sender at all: anyone with the
//     recipient's public key can make a valid ciphertext.
//   - A signature made by [Sign] does not hide the data it signs.
//
// Metadata outside the ciphertext (who talks to whom and when, channel and
// user names, attachment file names) is not protected by this package.
package e3
