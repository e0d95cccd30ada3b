// Package pythia implements Virgil's Pythia "BrainKey" protocol on BLS12-381,
// client and server side, byte for byte compatible with the WASM libpythia
// that e3kit-node 2.5.1 uses (virgil-crypto-c with RELIC 0.4.x).
//
// # What BrainKey is
//
// e3kit derives a key pair from a password through an oblivious PRF keyed by a
// server secret kw: the server never sees the password, and whoever steals the
// encrypted backup cannot run an offline dictionary attack on it without the
// server's cooperation (which it can rate-limit). BrainKey uses no Pythia
// proofs; the client cannot verify the server's answer beyond its form.
//
//	client                                      server (kw, tweak per user)
//	x, s := Blind(password)         x  ──►      seed := Transform(x, tweak, key)
//	u := Deblind(seed, s)           ◄── seed
//
// u = e(kw·H₁(password), H₂(tweak)) does not depend on the blinding. e3kit feeds
// all 384 bytes of u to virgil-crypto's generateKeysFromKeyMaterial
// (e3.GenerateKeyFromMaterial in this module) to get the Ed25519 "BrainKey"
// that encrypts the Keyknox private-key backup.
//
// On the wire (POST {apiUrl}/pythia/v1/brainkey, JWT context pythia/seed): the
// request is {"blinded_password": base64std(x)} with x 49 bytes ([G1Size]);
// the answer is {"seed": base64std(seed)} with seed 384 bytes ([SeedSize]).
// e3kit never sends "brainkey_id". The HTTP client and the e3test endpoint are
// built on this package elsewhere; this package does no I/O.
//
// # Definitions (RELIC 0.4.x, as libpythia builds it)
//
// Curve BLS12-381 (E: y² = x³ + 4 over Fp, M-type twist y² = x³ + 4(1+i) over
// Fp2), group order q, optimal ate pairing. The tower Fp2 = Fp[i]/(i²+1),
// Fp6 = Fp2[v]/(v³−(1+i)), Fp12 = Fp6[w]/(w²−v) is gnark-crypto's E12, and
// gnark's Pair returns exactly RELIC's value.
//
//   - H₁(password): x = SHA-384(password) mod p; increment x until x³+4 is a
//     square; y = (x³+4)^((p+1)/4); the point is h₁·(x, y) with h₁ the full G1
//     cofactor (x−1)²/3. Not RFC 9380 hash-to-curve, and not gnark's
//     ClearCofactor, which multiplies by 1−x.
//   - H₂(tweak): x = (SHA-384(tweak) mod p) + 0·i; increment the real part
//     until RELIC's Fp2 square root of x³ + 4(1+i) exists; clear the cofactor
//     (RELIC's ψ-based method equals gnark's G2 ClearCofactor).
//   - Blind: x = r·H₁(password) for a random r in [1, q); the client keeps
//     r⁻¹ mod q. Deblind: u = seed^(r⁻¹).
//   - Transformation key: kw = HMAC-SHA384(key = pythiaSecret,
//     msg = scopeSecret ‖ keyId) mod q; public key kw·G1. Transform:
//     seed = e(kw·x, H₂(tweak)).
//   - G1 wire form (49 bytes): (0x02 | b) ‖ x, x big-endian canonical, where b
//     is bit 0 of y's Montgomery representation y·2³⁸⁴ mod p — not bit 0 of y.
//     They differ for about half of all points; getting it wrong negates the
//     point and silently yields a wrong u.
//   - GT wire form (384 bytes): the Fp2 coefficients C0.B1 ‖ C0.B2 ‖ C1.B0 ‖
//     C1.B2, each c0 ‖ c1, each Fp 48-byte big-endian canonical. C0.B0 and
//     C1.B1 are recovered by Karabina decompression. Not gnark's GT.Bytes.
//   - Scalars (blinding secret, transformation private key) in libpythia's
//     buffers: a sign byte (0x00 or 0x01) and the minimal big-endian
//     magnitude; see [ParseBlindingSecret] and [ParseTransformationKey].
//   - Passwords and tweaks are 1..128 bytes ([MaxInputSize]); so are the
//     pythia secret, scope secret and key id.
//
// # Compatibility hazard: virgil-crypto-c v0.17.0
//
// virgil-crypto-c v0.17.0 (2023-08-09) moved libpythia to RELIC 0.6.0, whose
// blind() produces different values; v0.17.1 (2023-08-13) went back to RELIC
// 0.4.1 "to restore backward compatibility". A native Virgil SDK built on
// v0.17.0 derives different BrainKeys and cannot restore backups made by
// e3kit-js 2.5.1, nor can this package restore its backups. This package
// implements the 0.4.x definitions: those of e3kit-js 2.5.1 and of every
// backup made with it.
//
// # Validation
//
// [Transform] decodes the blinded point strictly: 49 bytes, flag 0x02/0x03,
// canonical x, on the curve, in G1. libpythia is more lenient: it reduces a
// non-canonical x modulo p and performs no subgroup check. Honest clients
// always send canonical G1 points, so the strict checks change no honest
// answer. Accepting on-curve points outside G1 would leak nothing either (the
// pairing ignores their cofactor component; the tests show it on libpythia's
// own non-subgroup answers), but a strict server is simpler to reason about.
//
// [Deblind] validates the seed completely before using the secret: 384 bytes,
// at most 24 zero bytes (libpythia's rule, which also makes both degenerate
// Karabina cases unreachable), canonical coefficients, and a decompressed
// value in the order-q subgroup GT other than 1. libpythia only checks the
// first three, so this is stricter, never looser, for honest seeds.
//
// Every rejection is an [*InputError] whose Unwrap is [ErrLength],
// [ErrMalformed] or [ErrNotInGroup]. A server maps them to HTTP 400. Errors
// never contain input bytes.
//
// # Side channels
//
// Client secrets are the password, H₁(password) (a deterministic, unsalted
// password hash: anyone holding it can run an offline dictionary attack), the
// blinding scalar r and r⁻¹ (with the public blinded point they give
// H₁(password); with the seed they give u), and u itself. The server's secret
// is kw, exercised by remote callers on points of their choice.
//
// gnark-crypto's own scalar multiplication (GLV, windowed) and GT
// exponentiation (NAF, GLV) choose their operations from the scalar's digits,
// so this package does not use them on secrets. Instead:
//
//   - r·H₁, h₁·(x, y) and kw·x use a fixed 4-bit window over all 256 (or 128)
//     scalar bits with the complete projective formulas of Renes, Costello and
//     Batina: every window costs the same operations, table entries are read
//     with a constant-time scan, and the additions and subtractions are this
//     package's branch-free code. Affine conversion uses Fermat inversion.
//   - u = seed^(r⁻¹) uses a fixed 4-bit window of cyclotomic squarings and
//     multiplications with a constant-time table scan.
//   - r is drawn by rejection sampling (the number of rejections is
//     independent of the accepted value); r⁻¹ = r^(q−2) by exponentiation
//     with the public exponent; the SHA-384 digest is reduced modulo p with a
//     fixed number of conditional subtractions.
//
// What remains:
//
//   - The number of try-and-increment steps in H₁ (0–8) depends on the
//     password, and so does the running time. This is inherent in RELIC's map
//     and cannot be changed without breaking compatibility. A local observer
//     who can time H₁ learns a few bits about the password hash.
//   - Field multiplication and squaring are gnark's. On amd64 with ADX (and
//     its Fp2 additions on amd64) they are assembly with CMOV-based reduction.
//     On amd64 without ADX, on other architectures and with the purego build
//     tag, gnark's Go code ends some field operations with a data-dependent
//     conditional subtraction. The Fp12 arithmetic behind Deblind is built
//     on those operations, so there Deblind is only as constant-time as
//     gnark's field code: a small per-operation leak, far weaker than
//     scalar-dependent operation sequences, but not nothing.
//   - NewTransformationKey, ParseTransformationKey and ParseBlindingSecret
//     reduce with math/big (variable time). They run once per key, not per
//     request.
//   - Secrets are not zeroized: Go's garbage collector may copy them, and
//     nothing here pretends otherwise.
//
// # Performance
//
// A client derivation (hash, blind, deblind) and a server transform each take
// about 1 ms in pure Go (see the benchmarks, which compare the constant-time
// scalar multiplication and exponentiation with gnark's variable-time ones in
// the same run); the WASM libpythia takes about 18 ms and 27 ms.
package pythia
