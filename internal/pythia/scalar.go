package pythia

import (
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// libpythia stores scalars (the blinding secret r⁻¹ and the transformation
// private key kw) as one sign byte (0x00 = positive, 0x01 = negative) followed
// by the minimal big-endian magnitude. It accepts 2..50 bytes. Its blinding
// secrets come out negative about half the time (an extended-GCD artefact);
// ours are always the positive representative in [1, q).

const (
	minScalarBuf = 2
	maxScalarBuf = 50
)

// parseScalar reads a libpythia scalar buffer and reduces it modulo q. A value
// that is zero modulo q is rejected. It uses math/big, which is not constant
// time; it only runs on key material loaded once (interop, tests, key files).
func parseScalar(what string, b []byte) (fr.Element, error) {
	var s fr.Element
	if len(b) < minScalarBuf || len(b) > maxScalarBuf {
		return s, inputErr(what, "want 2..50 bytes", ErrLength)
	}
	if b[0] > 1 {
		return s, inputErr(what, "sign byte is not 0x00 or 0x01", ErrMalformed)
	}
	v := new(big.Int).SetBytes(b[1:])
	if b[0] == 1 {
		v.Neg(v)
	}
	v.Mod(v, fr.Modulus())
	if v.Sign() == 0 {
		return s, inputErr(what, "scalar is zero modulo the group order", ErrNotInGroup)
	}
	s.SetBigInt(v)
	return s, nil
}

// encodeScalar writes s (in [1, q)) in libpythia's format with a positive
// sign: 0x00 ‖ minimal big-endian magnitude (33 bytes, fewer when the top bytes
// are zero).
func encodeScalar(s *fr.Element) []byte {
	b := s.Bytes()
	i := 0
	for i < len(b)-1 && b[i] == 0 {
		i++
	}
	out := make([]byte, 0, 1+len(b)-i)
	out = append(out, 0x00)
	return append(out, b[i:]...)
}
