package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// QUIC versions with known Initial salts.
const (
	Version1 uint32 = 0x00000001
	Version2 uint32 = 0x6b3343cf
	// VersionDraft29 stands for the drafts 29 to 34 (0xff00001d to
	// 0xff000022), deployed by browsers in 2020 and 2021; drafts 23 to 28
	// are accepted as well.
	VersionDraft29 uint32 = 0xff00001d
)

var (
	saltV1      = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2      = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	saltDraft29 = []byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
	saltDraft23 = []byte{0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02}
)

// params returns the salt and label prefix of a version; ok is false for
// versions this package cannot decrypt.
func params(v uint32) (salt []byte, prefix string, ok bool) {
	switch {
	case v == Version1:
		return saltV1, "quic ", true
	case v == Version2:
		return saltV2, "quicv2 ", true
	case v >= 0xff00001d && v <= 0xff000022:
		return saltDraft29, "quic ", true
	case v >= 0xff000017 && v <= 0xff00001c:
		return saltDraft23, "quic ", true
	}
	return nil, "", false
}

// Supported reports whether Initial packets of version v can be decrypted.
func Supported(v uint32) bool {
	_, _, ok := params(v)
	return ok
}

// initialType is the long-header packet type of Initial packets: 0 in v1,
// 1 in v2 (RFC 9369 section 3.2).
func initialType(v uint32) byte {
	if v == Version2 {
		return 1
	}
	return 0
}

// Keys are the packet protection keys of one direction at the Initial
// encryption level (AEAD_AES_128_GCM).
type Keys struct {
	Key [16]byte
	IV  [12]byte
	HP  [16]byte
}

// ClientInitialKeys derives the keys protecting the client's Initial
// packets from the Destination Connection ID of its first Initial.
func ClientInitialKeys(version uint32, dcid []byte) (Keys, error) {
	return initialKeys(version, dcid, "client in")
}

func initialKeys(version uint32, dcid []byte, side string) (Keys, error) {
	var k Keys
	salt, prefix, ok := params(version)
	if !ok {
		return k, fmt.Errorf("quic: version %#08x: %w", version, ErrUnsupportedVersion)
	}
	initial, err := hkdf.Extract(sha256.New, dcid, salt)
	if err != nil {
		return k, err
	}
	secret, err := expandLabel(initial, side, 32)
	if err != nil {
		return k, err
	}
	for _, f := range []struct {
		label string
		dst   []byte
	}{{prefix + "key", k.Key[:]}, {prefix + "iv", k.IV[:]}, {prefix + "hp", k.HP[:]}} {
		b, err := expandLabel(secret, f.label, len(f.dst))
		if err != nil {
			return k, err
		}
		copy(f.dst, b)
	}
	return k, nil
}

// expandLabel is HKDF-Expand-Label of RFC 8446 section 7.1 with an empty
// context.
func expandLabel(secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = append(info, byte(n>>8), byte(n), byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(sha256.New, secret, string(info), n)
}

// cipherState is Keys made ready to use.
type cipherState struct {
	aead cipher.AEAD
	hp   cipher.Block
	iv   [12]byte
}

func newCipherState(k Keys) (*cipherState, error) {
	block, err := aes.NewCipher(k.Key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	hp, err := aes.NewCipher(k.HP[:])
	if err != nil {
		return nil, err
	}
	return &cipherState{aead: aead, hp: hp, iv: k.IV}, nil
}

func (c *cipherState) nonce(pn uint64) [12]byte {
	n := c.iv
	for i := 0; i < 8; i++ {
		n[11-i] ^= byte(pn >> (8 * i))
	}
	return n
}
