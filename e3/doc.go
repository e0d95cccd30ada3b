// Package e3 is e3go's cryptographic core: Virgil-compatible keys,
// signatures and ciphertexts, byte for byte what virgil-crypto (and so
// e3kit in browsers and on phones) reads and writes.
//
// # Key management
//
// Keys are Ed25519 (Virgil's and e3kit's default; it signs, and encrypts
// through its X25519 form) or Curve25519 (X25519 only). [GenerateKey] makes
// a random Ed25519 key; [GenerateKeyFromMaterial] derives one
// deterministically from key material exactly as virgil-crypto's
// generateKeysFromKeyMaterial does (e3kit's BrainKey backups rely on it).
// [PrivateKey.Export] and [ParsePrivateKey] use PKCS#8 DER, the 48 bytes
// virgil-crypto's exportPrivateKey writes (e3kit stores them base64-encoded);
// [PublicKey.Export] and [ParsePublicKey] use the 44-byte
// SubjectPublicKeyInfo that Virgil cards carry.
//
// Every key has an identifier, [PublicKey.ID]: the first 8 bytes of SHA-512
// over the exported public key, or, for keys made with
// [PublicKey.WithSHA256ID] (e3kit's useSha256Identifiers option), all 32
// bytes of SHA-256. Ciphertexts address recipients and name signers by
// identifier, so sender and recipient must use the same scheme.
//
// A [PrivateKey] never prints its secret: it redacts itself under every fmt
// verb and in log/slog, and has no String, MarshalText or MarshalJSON
// method. e3 does not promise to wipe key bytes from memory (the Go runtime
// may copy them); keep exported keys in a keyring, not in logs or files.
//
// # Compatibility with e3kit/virgil-crypto
//
// The formats are those of virgil-crypto 5.1.2 and of 4.2.2, which
// @virgilsecurity/e3kit-node 2.5.1 and e3kit-browser 2.5.1 bundle; both
// produce identical bytes. [Sign] and [Verify] are calculateSignature and
// verifySignature: Ed25519 over SHA-512 of the data, in an 83-byte DER
// structure (the "VEDS512" of Virgil JWTs and the card signatures).
//
// Where Virgil is lax, e3 is strict: [Verify] with a Curve25519 key fails
// (virgil-crypto returns true for any signature in that case), and
// crypto/ed25519 rejects non-canonical signature scalars that Virgil's ref10
// code accepts. Honest Virgil signatures are unaffected by either.
//
// # Errors
//
// Failures match a sentinel with [errors.Is]: [ErrAuthFailed] for any tag,
// MAC or signature failure (also matched by [ErrSignerNotFound] and
// [ErrNotSigned]), [ErrNotRecipient], [ErrKeyType], and [ErrMalformed] for
// structurally invalid input, always wrapped in a [*ParseError] naming what
// was malformed. Errors never contain secret input. Malformed or hostile
// input never panics.
//
// # Concurrency
//
// Keys are immutable and safe for concurrent use; all functions are safe to
// call from multiple goroutines. Randomness comes from crypto/rand only.
//
// # What is not encrypted
//
// A signature does not hide the data it signs.
package e3
