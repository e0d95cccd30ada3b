package groupsession

import (
	"errors"
	"math/bits"
	"strconv"
)

// The protobuf (proto2) encoding of virgil-crypto's vscf_GroupMessage.proto,
// written by hand. nanopb writes the fields of a message in field-number
// order, every required field always (a zero epoch or version included), no
// optional field that is absent and nothing else; the decoder here accepts
// exactly that canonical form (see parseFields), so whatever parses
// re-marshals to the same bytes.

// Protobuf wire types used here.
const (
	wireVarint = 0
	wireBytes  = 2
)

// Field numbers.
const (
	// GroupMessage
	fieldVersion        = 1
	fieldGroupInfo      = 2
	fieldRegularMessage = 3

	// MessageGroupInfo and RegularGroupMessageHeader share 1 and 2.
	fieldSessionID = 1
	fieldEpoch     = 2
	fieldKey       = 3 // MessageGroupInfo
	fieldSalt      = 3 // RegularGroupMessageHeader

	// RegularGroupMessage
	fieldHeader     = 1
	fieldSignature  = 2
	fieldCipherText = 3
)

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func varintLen(v uint64) int {
	return (bits.Len64(v|1) + 6) / 7
}

func appendTag(b []byte, field, wire int) []byte {
	return append(b, byte(field<<3|wire)) // field numbers here are < 16
}

func appendUint32Field(b []byte, field int, v uint32) []byte {
	return appendVarint(appendTag(b, field, wireVarint), uint64(v))
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = appendVarint(appendTag(b, field, wireBytes), uint64(len(v)))
	return append(b, v...)
}

// bytesFieldLen is the encoded size of a bytes field of n bytes.
func bytesFieldLen(n int) int { return 1 + varintLen(uint64(n)) + n }

// uint32FieldLen is the encoded size of a uint32 field.
func uint32FieldLen(v uint32) int { return 1 + varintLen(uint64(v)) }

// fieldSpec describes one field a message may hold.
type fieldSpec struct {
	num      int
	wire     int
	required bool
	// For bytes fields: the exact length (fixed > 0), or the largest one
	// (max > 0); neither means any length the input allows.
	fixed, max int
	name       string
}

// fieldValue is one decoded field.
type fieldValue struct {
	present bool
	u32     uint32 // varint fields
	bytes   []byte // bytes fields: a sub-slice of the input
}

var (
	errTruncated    = errors.New("truncated")
	errVarint       = errors.New("bad varint")
	errNonMinimal   = errors.New("varint not minimally encoded")
	errUint32       = errors.New("integer does not fit in uint32")
	errOrder        = errors.New("fields out of order or repeated")
	errUnknownField = errors.New("unknown field")
	errWireType     = errors.New("wrong wire type")

	errInputTooLarge error = &chainedError{"longer than " + strconv.Itoa(MaxMessageSize) + " bytes", ErrTooLarge}
)

// readVarint decodes a minimally encoded varint of at most 64 bits.
func readVarint(b []byte) (v uint64, n int, err error) {
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, 0, errVarint // more than 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i > 0 && c == 0 {
				return 0, 0, errNonMinimal
			}
			return v, i + 1, nil
		}
	}
	if len(b) < 10 {
		return 0, 0, errTruncated
	}
	return 0, 0, errVarint
}

// parseFields decodes a message with the given fields, accepting only the
// canonical encoding: each field at most once, in increasing field-number
// order, with its declared wire type and length, minimal varints, no unknown
// fields, and every required field present. The input must be consumed
// exactly. The returned values line up with specs.
//
// nanopb (virgil-crypto's decoder) is laxer: it takes fields in any order,
// lets a repeated field overwrite the earlier one, skips unknown fields,
// and reads an empty fixed-length bytes field as all zeros. No Virgil
// writer produces any of those, so refusing them loses no real message
// while keeping one encoding per message (and no all-zero key or session
// id slipping in as "empty").
func parseFields(what string, b []byte, specs []fieldSpec, out []fieldValue) error {
	last := 0
	for len(b) > 0 {
		tag, n, err := readVarint(b)
		if err != nil {
			return &ParseError{What: what, Err: err}
		}
		b = b[n:]
		num, wire := tag>>3, int(tag&7)
		i := -1
		for j := range specs {
			if uint64(specs[j].num) == num {
				i = j
				break
			}
		}
		if i < 0 {
			return &ParseError{What: what, Err: errUnknownField}
		}
		s := &specs[i]
		if s.num <= last {
			return &ParseError{What: what, Err: errOrder}
		}
		last = s.num
		if wire != s.wire {
			return &ParseError{What: what, Err: errWireType}
		}
		v, n, err := readVarint(b)
		if err != nil {
			return &ParseError{What: what, Err: err}
		}
		b = b[n:]
		switch wire {
		case wireVarint:
			if v > 0xffffffff {
				return &ParseError{What: what, Err: errUint32}
			}
			out[i] = fieldValue{present: true, u32: uint32(v)}
		case wireBytes:
			if v > uint64(len(b)) {
				return &ParseError{What: what, Err: errTruncated}
			}
			l := int(v)
			switch {
			case s.fixed > 0 && l != s.fixed:
				return parseErrorf(what, s.name+": want "+strconv.Itoa(s.fixed)+" bytes, got "+strconv.Itoa(l))
			case s.max > 0 && l > s.max:
				return parseErrorf(what, s.name+": longer than "+strconv.Itoa(s.max)+" bytes")
			}
			out[i] = fieldValue{present: true, bytes: b[:l:l]}
			b = b[l:]
		}
	}
	for i := range specs {
		if specs[i].required && !out[i].present {
			return parseErrorf(what, "missing required field "+specs[i].name)
		}
	}
	return nil
}

var groupMessageSpecs = []fieldSpec{
	{num: fieldVersion, wire: wireVarint, required: true, name: "version"},
	{num: fieldGroupInfo, wire: wireBytes, name: "group_info"},
	{num: fieldRegularMessage, wire: wireBytes, name: "regular_message"},
}

var groupInfoSpecs = []fieldSpec{
	{num: fieldSessionID, wire: wireBytes, required: true, fixed: SessionIDSize, name: "session_id"},
	{num: fieldEpoch, wire: wireVarint, required: true, name: "epoch"},
	{num: fieldKey, wire: wireBytes, required: true, fixed: KeySize, name: "key"},
}

var regularSpecs = []fieldSpec{
	{num: fieldHeader, wire: wireBytes, required: true, max: MaxHeaderSize, name: "header"},
	{num: fieldSignature, wire: wireBytes, required: true, fixed: SignatureSize, name: "signature"},
	{num: fieldCipherText, wire: wireBytes, required: true, name: "cipher_text"},
}

var headerSpecs = []fieldSpec{
	{num: fieldSessionID, wire: wireBytes, required: true, fixed: SessionIDSize, name: "session_id"},
	{num: fieldEpoch, wire: wireVarint, required: true, name: "epoch"},
	{num: fieldSalt, wire: wireBytes, required: true, fixed: SaltSize, name: "salt"},
}

// decoded is a parsed GroupMessage: exactly one of info and regular is set.
type decoded struct {
	version uint32
	info    *fieldValue // group_info payload
	regular *fieldValue // regular_message payload
}

// decodeGroupMessage parses the outer GroupMessage.
func decodeGroupMessage(b []byte) (decoded, error) {
	const what = "group message"
	if len(b) > MaxMessageSize {
		return decoded{}, &ParseError{What: what, Err: errInputTooLarge}
	}
	var v [3]fieldValue
	if err := parseFields(what, b, groupMessageSpecs, v[:]); err != nil {
		return decoded{}, err
	}
	d := decoded{version: v[0].u32}
	switch {
	case v[1].present && v[2].present:
		return decoded{}, parseErrorf(what, "both group_info and regular_message present")
	case v[1].present:
		d.info = &v[1]
	case v[2].present:
		d.regular = &v[2]
	default:
		return decoded{}, parseErrorf(what, "neither group_info nor regular_message present")
	}
	return d, nil
}
