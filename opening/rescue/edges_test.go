package rescue

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/cloudflare/circl/group"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// The tests in this file pin limits and decoders at their edges, by value rather than
// through the constants (make mutate found these unpinned).

// TestLimitValues: the limits RESCUE.md states, by value.
func TestLimitValues(t *testing.T) {
	for name, c := range map[string]struct{ got, want int }{
		"MinThreshold":  {MinThreshold, 2},
		"MaxHolders":    {MaxHolders, 32},
		"pointSize":     {pointSize, 65},
		"scalarSize":    {scalarSize, 32},
		"proofSize":     {proofSize, 64},
		"maxEnvelopeID": {maxEnvelopeID, 64},
		"shareSize":     {shareSize, 86},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", name, c.got, c.want)
		}
	}
}

// TestSplitBounds: 2 of 2 and 2 of 32 are accepted, 33 holders refused.
func TestSplitBounds(t *testing.T) {
	ths := mustHolders(t, 33)
	for _, c := range []struct{ k, n int }{{2, 2}, {2, 32}, {32, 32}} {
		s, err := Split(rand.Reader, c.k, c.n, holdersOf(ths[:c.n]))
		if err != nil {
			t.Fatalf("Split(%d of %d): %v", c.k, c.n, err)
		}
		if s.Threshold() != c.k || len(s.Shares) != c.n {
			t.Fatalf("Split(%d of %d): threshold %d, %d shares", c.k, c.n, s.Threshold(), len(s.Shares))
		}
		for i, es := range s.Shares {
			if es.Index != i+1 {
				t.Fatalf("share %d has index %d", i, es.Index)
			}
		}
	}
	_, err := Split(rand.Reader, 2, 33, holdersOf(ths))
	wantCode(t, err, kaiping.KindInvalid, CodeHolderCount)
	_, err = Split(rand.Reader, 1, 1, holdersOf(ths[:1]))
	wantCode(t, err, kaiping.KindInvalid, CodeThreshold)
	_, err = Split(rand.Reader, 2, 1, holdersOf(ths[:1]))
	wantCode(t, err, kaiping.KindInvalid, CodeHolderCount)
}

// TestParsePublicKeyRefuses: anything but a 65-byte uncompressed point on P-256 is
// rescue.setup_invalid, never a panic.
func TestParsePublicKeyRefuses(t *testing.T) {
	s := mustSplit(t, 2, mustHolders(t, 2))
	good := s.PublicKey.Bytes()
	if pub, err := ParsePublicKey(good); err != nil || !pub.Equal(s.PublicKey) {
		t.Fatalf("ParsePublicKey(a good key): %v", err)
	}
	offCurve := bytes.Clone(good)
	offCurve[64] ^= 1
	compressed := append([]byte{2 + good[64]&1}, good[1:33]...)
	for name, b := range map[string][]byte{
		"nil":               nil,
		"empty":             {},
		"one byte":          {0x04},
		"64 bytes":          good[:64],
		"66 bytes":          append(bytes.Clone(good), 0),
		"compressed":        compressed,
		"prefix 0x02":       append([]byte{0x02}, good[1:]...),
		"prefix 0x00":       append([]byte{0x00}, good[1:]...),
		"off the curve":     offCurve,
		"PEM":               []byte("-----BEGIN PUBLIC KEY-----\n" + strings.Repeat("A", 64) + "\n-----END PUBLIC KEY-----\n"),
		"the point at zero": append([]byte{0x04}, make([]byte, 64)...),
	} {
		t.Run(name, func(t *testing.T) {
			pub, err := ParsePublicKey(b)
			wantCode(t, err, kaiping.KindInvalid, CodeSetupInvalid)
			if pub != nil {
				t.Fatal("a refused key was returned")
			}
		})
	}
}

// TestParseShare: a share plaintext is exactly 86 bytes and starts with the prefix.
func TestParseShare(t *testing.T) {
	good, err := Share{KeyID: strings.Repeat("ab", 32), Index: 32, Value: bytes.Repeat([]byte{7}, 32)}.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(good) != 86 {
		t.Fatalf("a share plaintext of %d bytes", len(good))
	}
	s, ok := parseShare(good)
	if !ok || s.KeyID != strings.Repeat("ab", 32) || s.Index != 32 || !bytes.Equal(s.Value, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("parseShare = %+v, %v", s, ok)
	}
	otherPrefix := bytes.Clone(good)
	otherPrefix[0] ^= 1
	for name, b := range map[string][]byte{
		"one byte short":   good[:85],
		"one byte more":    append(bytes.Clone(good), 0),
		"another prefix":   otherPrefix,
		"the prefix alone": []byte(sharePrefix),
		"empty":            nil,
	} {
		if _, ok := parseShare(b); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, bad := range []Share{
		{KeyID: strings.Repeat("ab", 32), Index: 0, Value: make([]byte, 32)},
		{KeyID: strings.Repeat("ab", 32), Index: 33, Value: make([]byte, 32)},
		{KeyID: strings.Repeat("ab", 31), Index: 1, Value: make([]byte, 32)},
		{KeyID: strings.Repeat("ab", 32), Index: 1, Value: make([]byte, 31)},
	} {
		_, err := bad.marshal()
		wantCode(t, err, kaiping.KindInvalid, CodeShareInvalid)
	}
}

// TestErrorsNameTheIndex: a share or partial error names its index only when it is a
// plausible one (1 to 32), in the message and in the ShareError.
func TestErrorsNameTheIndex(t *testing.T) {
	for _, c := range []struct {
		index, want int
		name        string
	}{{-1, 0, ""}, {0, 0, ""}, {1, 1, "第 1 号份额"}, {32, 32, "第 32 号份额"}, {33, 0, ""}} {
		for _, err := range []error{errShare(c.index, "原因", nil), errPartial(c.index, "原因")} {
			var se *ShareError
			if !errors.As(err, &se) || se.Index != c.want {
				t.Errorf("index %d: %v names %+v, want %d", c.index, err, se, c.want)
			}
			var ke *kaiping.Error
			errors.As(err, &ke)
			if named := strings.Contains(ke.Message, "号份额"); named != (c.name != "") || c.name != "" && !strings.Contains(ke.Message, c.name) {
				t.Errorf("index %d: message %q", c.index, ke.Message)
			}
		}
	}
	for n, want := range map[int]string{1: "应为 2 至 32 人", 33: "应为 2 至 32 人", 2: "不一致", 32: "不一致"} {
		err := errHolderCount(n, 3)
		var ke *kaiping.Error
		if !errors.As(err, &ke) || ke.Code != CodeHolderCount || !strings.Contains(ke.Message, want) {
			t.Errorf("errHolderCount(%d, 3) = %v, want a message with %q", n, err, want)
		}
	}
}

// twoOfTwo is a 2-of-2 split with both holders' shares and an E to decrypt for.
func twoOfTwo(tb testing.TB) (Setup, []Share, []byte) {
	tb.Helper()
	ths := mustHolders(tb, 2)
	s := mustSplit(tb, 2, ths)
	return s, mustShares(tb, s, ths), mustPeer(tb).PublicKey().Bytes()
}

// editPartial is p with f applied to a copy of it.
func editPartial(p Partial, f func(*Partial)) Partial {
	p.Point, p.Proof = bytes.Clone(p.Point), bytes.Clone(p.Proof)
	f(&p)
	return p
}

// TestPartialDecryptRefuses: a share out of range, a value that is not a non-zero scalar,
// an envelope ID empty or over 64 bytes, or a bad E is rescue.partial_invalid.
func TestPartialDecryptRefuses(t *testing.T) {
	_, shares, eph := twoOfTwo(t)
	share := shares[0]
	env := kaiping.NewID()
	with := func(f func(*Share)) Share {
		c := share
		c.Value = bytes.Clone(share.Value)
		f(&c)
		return c
	}
	for name, c := range map[string]struct {
		s   Share
		env kaiping.ID
		eph []byte
	}{
		"index 0":               {with(func(s *Share) { s.Index = 0 }), env, eph},
		"index -1":              {with(func(s *Share) { s.Index = -1 }), env, eph},
		"index 33":              {with(func(s *Share) { s.Index = 33 }), env, eph},
		"a 31-byte value":       {with(func(s *Share) { s.Value = s.Value[:31] }), env, eph},
		"a zero value":          {with(func(s *Share) { s.Value = make([]byte, 32) }), env, eph},
		"a value above n":       {with(func(s *Share) { s.Value = bytes.Repeat([]byte{0xff}, 32) }), env, eph},
		"no envelope":           {share, "", eph},
		"a 65-byte envelope ID": {share, kaiping.ID(strings.Repeat("e", 65)), eph},
		"a compressed E":        {share, env, append([]byte{2 + eph[64]&1}, eph[1:33]...)},
		"no E":                  {share, env, nil},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := PartialDecrypt(rand.Reader, c.s, c.env, c.eph)
			wantCode(t, err, kaiping.KindInvalid, CodePartialInvalid)
			if p.Point != nil {
				t.Fatal("a refused partial has a point")
			}
		})
	}
	for _, c := range []struct {
		s   Share
		env kaiping.ID
	}{{share, kaiping.ID(strings.Repeat("e", 64))}, {with(func(s *Share) { s.Index = 32 }), env}} {
		if _, err := PartialDecrypt(rand.Reader, c.s, c.env, eph); err != nil {
			t.Errorf("index %d, envelope of %d bytes: %v", c.s.Index, len(c.env), err)
		}
	}
}

// TestPartialNonce: the proof's nonce is r = H(s_i || 32 random bytes || statement) under
// the nonce tag (RESCUE.md §2.2), recovered here from the proof as r = z - c·s_i.
func TestPartialNonce(t *testing.T) {
	s, shares, eph := twoOfTwo(t)
	share := shares[1]
	env := kaiping.NewID()
	noise := bytes.Repeat([]byte{0x5a}, 32)
	p, err := PartialDecrypt(bytes.NewReader(noise), share, env, eph)
	if err != nil {
		t.Fatal(err)
	}
	si, c, z := group.P256.NewScalar(), group.P256.NewScalar(), group.P256.NewScalar()
	if si.UnmarshalBinary(share.Value) != nil || c.UnmarshalBinary(p.Proof[:32]) != nil || z.UnmarshalBinary(p.Proof[32:]) != nil {
		t.Fatal("scalars")
	}
	r := group.P256.NewScalar().Sub(z, group.P256.NewScalar().Mul(c, si))
	e, _ := parsePoint(eph)
	d, _ := parsePoint(p.Point)
	st := statement{keyID: s.KeyID, envelope: env, index: share.Index, y: group.P256.NewElement().MulGen(si), e: e, d: d}
	seed := append(append(bytes.Clone(share.Value), noise...), st.encode(nil, nil)...)
	if want := group.P256.HashToScalar(seed, []byte(nonceDST)); !r.IsEqual(want) {
		t.Fatal("the proof's nonce is not H(s_i || noise || statement)")
	}
	// The statement alone: label, the IDs with their lengths, the index, then G, Y_i, E, D_i.
	enc := st.encode(nil, nil)
	if want := len(transcriptLabel) + 2 + 64 + 2 + len(env) + 1 + 4*65; len(enc) != want {
		t.Fatalf("statement of %d bytes, want %d", len(enc), want)
	}
	if _, err := PartialDecrypt(io.LimitReader(bytes.NewReader(noise), 31), share, env, eph); err == nil || kaiping.CodeOf(err) != "internal" {
		t.Fatalf("a random source that runs dry: %v", err)
	}
}

// TestVerifyPartialSaysWhy: an index out of range and a proof scalar not below the order
// are refused for what they are, before any proof arithmetic.
func TestVerifyPartialSaysWhy(t *testing.T) {
	s, shares, eph := twoOfTwo(t)
	good := mustPartials(t, shares, kaiping.NewID(), eph)[0]
	edit := func(f func(*Partial)) Partial { return editPartial(good, f) }
	for _, c := range []struct {
		name string
		p    Partial
		why  string
	}{
		{"index 0", edit(func(p *Partial) { p.Index = 0 }), "份额编号超出范围"},
		{"index 33", edit(func(p *Partial) { p.Index = 33 }), "份额编号超出范围"},
		{"no envelope", edit(func(p *Partial) { p.Envelope = "" }), "投标文件标识为空或过长"},
		{"a 65-byte envelope ID", edit(func(p *Partial) { p.Envelope = kaiping.ID(strings.Repeat("e", 65)) }), "投标文件标识为空或过长"},
		{"a response not below the order", edit(func(p *Partial) { copy(p.Proof[32:], bytes.Repeat([]byte{0xff}, 32)) }), "不是有效的 P-256 标量"},
		{"a challenge not below the order", edit(func(p *Partial) { copy(p.Proof, bytes.Repeat([]byte{0xff}, 32)) }), "不是有效的 P-256 标量"},
		{"a 65-byte proof", edit(func(p *Partial) { p.Proof = append(p.Proof, 0) }), "证明长度不对"},
		{"a compressed D_i", edit(func(p *Partial) { p.Point = p.Point[:33] }), "部分解密值不是 65 字节的未压缩 P-256 点"},
		{"D_i off the curve", edit(func(p *Partial) { p.Point[64] ^= 1 }), "部分解密值不是 65 字节的未压缩 P-256 点"},
	} {
		err := VerifyPartial(c.p, eph, s.Commitments, s.PublicKey)
		var ke *kaiping.Error
		if !errors.As(err, &ke) || ke.Code != CodePartialInvalid || !strings.Contains(ke.Message, c.why) {
			t.Errorf("%s: %v, want %q", c.name, err, c.why)
		}
	}
	badE := bytes.Clone(eph)
	badE[64] ^= 1
	for _, e := range [][]byte{badE, eph[:33], nil} {
		err := VerifyPartial(good, e, s.Commitments, s.PublicKey)
		var ke *kaiping.Error
		if !errors.As(err, &ke) || ke.Code != CodePartialInvalid || !strings.Contains(ke.Message, "临时公钥不是有效的 P-256 点") {
			t.Errorf("a bad E of %d bytes: %v", len(e), err)
		}
	}
	for _, index := range []int{0, 33} {
		if _, err := HolderKey(s.Commitments, s.PublicKey, index); kaiping.CodeOf(err) != CodePartialInvalid {
			t.Errorf("HolderKey(%d): %v", index, err)
		}
	}
	if _, err := HolderKey(s.Commitments, s.PublicKey, 32); err != nil {
		t.Errorf("HolderKey(32): %v", err)
	}
}

// TestVerifyShareSaysWhy: a decrypted share with an index out of range is refused for that,
// before the Feldman check.
func TestVerifyShareSaysWhy(t *testing.T) {
	s, shares, _ := twoOfTwo(t)
	share := shares[0]
	keyID, points, err := parseSetup(s.Commitments, s.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, index := range []int{0, 33, -1} {
		bad := share
		bad.Index = index
		_, err := verifyShare(bad, keyID, points)
		var ke *kaiping.Error
		if !errors.As(err, &ke) || ke.Code != CodeShareInvalid || !strings.Contains(ke.Message, "份额编号超出范围") {
			t.Errorf("index %d: %v", index, err)
		}
	}
	if _, err := verifyShare(share, keyID, points); err != nil {
		t.Fatal(err)
	}
}

// TestStanzaPointRefuses: only a rescue-p256 stanza with the key's ID and a decodable E
// gives a point.
func TestStanzaPointRefuses(t *testing.T) {
	s, _, eph := twoOfTwo(t)
	b64 := base64.RawStdEncoding.EncodeToString
	fp := strings.Repeat("0", 64)
	for name, st := range map[string]seal.Stanza{
		"another type":              {Type: seal.TypeX509P256, Args: []string{s.KeyID, b64(eph)}},
		"one argument":              {Type: seal.TypeRescueP256, Args: []string{s.KeyID}},
		"three arguments":           {Type: seal.TypeRescueP256, Args: []string{s.KeyID, b64(eph), "x"}},
		"E not base64":              {Type: seal.TypeRescueP256, Args: []string{s.KeyID, "!!"}},
		"E of 64 bytes":             {Type: seal.TypeRescueP256, Args: []string{s.KeyID, b64(eph[:64])}},
		"another key's stanza only": {Type: seal.TypeRescueP256, Args: []string{fp, b64(eph)}},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := StanzaPoint(&seal.Header{Stanzas: []seal.Stanza{st}}, s.KeyID)
			wantCode(t, err, kaiping.KindInvalid, CodePartialInvalid)
			if e != nil {
				t.Fatal("a refused stanza gave a point")
			}
		})
	}
	e, err := StanzaPoint(&seal.Header{Stanzas: []seal.Stanza{{Type: seal.TypeRescueP256, Args: []string{s.KeyID, b64(eph)}}}}, s.KeyID)
	if err != nil || !bytes.Equal(e, eph) {
		t.Fatalf("StanzaPoint: %x, %v", e, err)
	}
}

// TestSetupJSONRefusesBadCommitments: a stored setup whose commitments are missing is
// refused even when its key ID and shares are empty too.
func TestSetupJSONRefusesBadCommitments(t *testing.T) {
	s := mustSplit(t, 2, mustHolders(t, 2))
	for name, edit := range map[string]func(*setupJSON){
		"no commitments, no key ID": func(j *setupJSON) { j.Commitments = Commitments{}; j.KeyID = ""; j.Shares = nil },
		"one commitment":            func(j *setupJSON) { j.Commitments.Points = j.Commitments.Points[:1] },
		"another key ID":            func(j *setupJSON) { j.KeyID = strings.Repeat("0", 64) },
		"a share of another key":    func(j *setupJSON) { j.Shares[1].KeyID = strings.Repeat("0", 64) },
	} {
		t.Run(name, func(t *testing.T) {
			j := setupJSON{KeyID: s.KeyID, PublicKey: s.PublicKey.Bytes(), Commitments: s.Commitments, Shares: append([]EncryptedShare(nil), s.Shares...)}
			edit(&j)
			data, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			var back Setup
			wantCode(t, json.Unmarshal(data, &back), kaiping.KindInvalid, CodeSetupInvalid)
			if back.PublicKey != nil {
				t.Fatal("a refused setup was loaded")
			}
		})
	}
}

// TestSplitScalarTries: a random source that only gives scalars out of range is given up on
// after exactly 64 draws of 32 bytes.
func TestSplitScalarTries(t *testing.T) {
	ff := &countingReader{r: ffReader{}}
	_, err := Split(ff, 2, 2, holdersOf(mustHolders(t, 2)))
	wantCode(t, err, kaiping.KindInternal, "internal")
	if ff.n != 64*32 {
		t.Fatalf("read %d bytes, want %d", ff.n, 64*32)
	}
}

type ffReader struct{}

func (ffReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestStanzaKeyAnswersOnlyItsE: the combined secret answers ECDH for its own E only, with
// rescue.wrong_stanza for any other point or none, and Wipe zeroes it in place.
func TestStanzaKeyAnswersOnlyItsE(t *testing.T) {
	s, shares, eph := twoOfTwo(t)
	key, err := CombinePartials(mustPartials(t, shares, kaiping.NewID(), eph), eph, s.Commitments, s.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	own, err := ecdh.P256().NewPublicKey(eph)
	if err != nil {
		t.Fatal(err)
	}
	if x, err := key.ECDH(own); err != nil || len(x) != 32 {
		t.Fatalf("ECDH with its own E: %x, %v", x, err)
	}
	for name, peer := range map[string]*ecdh.PublicKey{"another E": mustPeer(t).PublicKey(), "no E": nil} {
		x, err := key.ECDH(peer)
		wantCode(t, err, kaiping.KindInvalid, CodeWrongStanza)
		if x != nil {
			t.Fatalf("%s: a secret was returned", name)
		}
	}
	x := key.x
	key.Wipe()
	if !bytes.Equal(x, make([]byte, len(x))) {
		t.Fatal("Wipe left the secret in memory")
	}
	_, err = key.ECDH(own)
	wantCode(t, err, kaiping.KindConflict, CodeKeyWiped)
}

// TestSplitPassesTheSourceError: a random source that fails at once fails Split with that
// error in the chain.
func TestSplitPassesTheSourceError(t *testing.T) {
	unplugged := errors.New("unplugged")
	_, err := Split(errReader{unplugged}, 2, 2, holdersOf(mustHolders(t, 2)))
	if !errors.Is(err, unplugged) || kaiping.CodeOf(err) != "internal" {
		t.Fatalf("Split: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestVerifyShareKeepsTheCause: a share that does not decrypt names seal's reason in its
// ShareError.
func TestVerifyShareKeepsTheCause(t *testing.T) {
	ths := mustHolders(t, 2)
	s := mustSplit(t, 2, ths)
	_, err := VerifyShare(s.Shares[0], mustIdentity(t, ths[1]), s.Commitments, s.PublicKey)
	wantCode(t, err, kaiping.KindInvalid, CodeShareInvalid)
	var se *ShareError
	if !errors.As(err, &se) || se.Index != 1 || se.Err == nil || !strings.HasPrefix(kaiping.CodeOf(se.Err), "seal.") {
		t.Fatalf("%v: ShareError %+v", err, se)
	}
}

// TestSetupCommitmentMessages: a commitment off the curve is named by its position and
// reason; ShareError says the cause when there is one.
func TestSetupCommitmentMessages(t *testing.T) {
	s, _, _ := twoOfTwo(t)
	off := Commitments{Points: [][]byte{s.Commitments.Points[0], bytes.Clone(s.Commitments.Points[1])}}
	off.Points[1][64] ^= 1
	_, _, err := parseSetup(off, s.PublicKey)
	var ke *kaiping.Error
	if !errors.As(err, &ke) || ke.Code != CodeSetupInvalid || !strings.Contains(ke.Message, "第 1 个承诺值不在 P-256 曲线上") {
		t.Fatalf("%v", err)
	}
	cause := errors.New("cause")
	if got := (&ShareError{Index: 3, Err: cause}).Error(); got != "share 3: cause" {
		t.Errorf("ShareError with a cause: %q", got)
	}
	if got := (&ShareError{Index: 3}).Error(); got != "share 3" {
		t.Errorf("ShareError without a cause: %q", got)
	}
}

// TestRescueMessages: a share that decrypts to something else, a compressed commitment and
// bad public parameters given to CombinePartials are each refused for what they are.
func TestRescueMessages(t *testing.T) {
	ths := mustHolders(t, 2)
	s := mustSplit(t, 2, ths)
	garbage := s.Shares[0]
	st, err := seal.WrapSecret(rand.Reader, ths[0].Certificate, []byte("not a share"))
	if err != nil {
		t.Fatal(err)
	}
	garbage.Stanza = st
	_, err = VerifyShare(garbage, mustIdentity(t, ths[0]), s.Commitments, s.PublicKey)
	wantMessage(t, err, CodeShareInvalid, "解密后的份额格式错误")

	compressed := Commitments{Points: [][]byte{s.Commitments.Points[0], s.Commitments.Points[1][:33]}}
	compressed.Points[1] = append([]byte{2 + s.Commitments.Points[1][64]&1}, s.Commitments.Points[1][1:33]...)
	_, _, err = parseSetup(compressed, s.PublicKey)
	wantMessage(t, err, CodeSetupInvalid, "第 1 个承诺值不是 65 字节的未压缩 P-256 点")

	eph := mustPeer(t).PublicKey().Bytes()
	ps := mustPartials(t, mustShares(t, s, ths), kaiping.NewID(), eph)
	_, err = CombinePartials(ps, eph, Commitments{Points: s.Commitments.Points[:1]}, s.PublicKey)
	wantCode(t, err, kaiping.KindInvalid, CodeSetupInvalid)
}

// wantMessage fails unless err has the code and its message contains want.
func wantMessage(tb testing.TB, err error, code, want string) {
	tb.Helper()
	var ke *kaiping.Error
	if !errors.As(err, &ke) || ke.Code != code || !strings.Contains(ke.Message, want) {
		tb.Fatalf("%v: want %s saying %q", err, code, want)
	}
}
