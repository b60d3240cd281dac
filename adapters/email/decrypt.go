package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/sectriage/sectriage/bot"
)

// opened is an OpenPGP message read to its end, integrity checked and, if
// signed, its signature checked. Nothing reads plain before that.
type opened struct {
	plain     []byte
	encrypted bool
	sig       bot.Signature
}

// Armor block types.
const (
	armorMessage = "PGP MESSAGE"
	armorSigned  = "PGP SIGNED MESSAGE"
	armorKey     = "PGP PUBLIC KEY BLOCK"
	armorSig     = "PGP SIGNATURE"
)

// armorType returns the type of the armor block data starts with (after
// white space), or "".
func armorType(data []byte) string {
	s := bytes.TrimLeft(data, " \t\r\n")
	const begin = "-----BEGIN "
	if !bytes.HasPrefix(s, []byte(begin)) {
		return ""
	}
	s = s[len(begin):]
	i := bytes.Index(s, []byte("-----"))
	if i < 0 || i > 40 {
		return ""
	}
	for _, t := range []string{armorMessage, armorSigned, armorKey, armorSig} {
		if string(s[:i]) == t { // no copy for the types we know
			return t
		}
	}
	return string(s[:i])
}

// isBinaryMessage reports whether data starts with a packet that begins an
// OpenPGP message: an encrypted session key, encrypted data, a one-pass
// signature, compressed or literal data.
func isBinaryMessage(data []byte) bool {
	switch packetTag(data) {
	case 1, 3, 4, 8, 9, 11, 18, 20:
		return true
	}
	return false
}

// packetTag is the tag of the OpenPGP packet data starts with, or -1.
func packetTag(data []byte) int {
	if len(data) < 2 || data[0]&0x80 == 0 {
		return -1
	}
	if data[0]&0x40 == 0 {
		return int(data[0]>>2) & 0x0f
	}
	return int(data[0] & 0x3f)
}

// isEncryptedMessage reports whether data, armored or binary, is an
// OpenPGP message that starts with encryption (session keys or encrypted
// data), not with signed, compressed or literal data.
func isEncryptedMessage(data []byte) bool {
	if armorType(data) == armorMessage {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return false
		}
		head := make([]byte, 2)
		n, _ := io.ReadFull(block.Body, head)
		data = head[:n]
	}
	switch packetTag(data) {
	case 1, 3, 9, 18, 20:
		return true
	}
	return false
}

// packetInfo is what a message says about itself before decryption.
type packetInfo struct {
	recipients []uint64 // key IDs of the public-key encrypted session keys
	ours       int      // of them, those naming a team key or nobody: each costs a private-key operation
	passphrase bool     // a session key encrypted with a passphrase
	encrypted  bool
}

// scanPackets reads the packets before the encrypted data: to refuse
// unprotected encryption with a clear reason, to bound the public-key work
// a message can ask for, and to name the keys a message was encrypted to
// when it was not the team's.
func scanPackets(raw []byte, maxRecipients int, ours map[uint64]bool) (packetInfo, error) {
	var info packetInfo
	pr := packet.NewReader(bytes.NewReader(raw))
	for {
		p, err := pr.Next()
		if err != nil {
			if err == io.EOF && info.encrypted {
				return info, nil
			}
			return info, bot.Reject(bot.RejectMalformedOpenPGP, "not a valid OpenPGP message (%s)", pgpError(err))
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			info.recipients = append(info.recipients, p.KeyId)
			if p.KeyId == 0 || ours[p.KeyId] {
				info.ours++
			}
			if len(info.recipients) > maxRecipients {
				return info, bot.Reject(bot.RejectTooManyRecipients, "the message names more than %d recipients", maxRecipients)
			}
		case *packet.SymmetricKeyEncrypted:
			info.passphrase = true
		case *packet.SymmetricallyEncrypted:
			if !p.IntegrityProtected {
				return info, bot.Reject(bot.RejectNoIntegrity,
					"the message is encrypted without integrity protection (no MDC): it could have been modified on the way; ask the reporter to use a current OpenPGP program")
			}
			info.encrypted = true
			return info, nil
		case *packet.AEADEncrypted:
			info.encrypted = true
			return info, nil
		default:
			// Signed or literal data: not encrypted at all.
			return info, nil
		}
	}
}

// open decrypts and checks one OpenPGP message, armored or binary. budget
// bounds its plaintext, before and after decompression; keyOps is what is
// left of the message's private-key operations (a message of many blocks,
// each with many session keys for the team key, would otherwise cost
// seconds of RSA).
func (d *Decoder) open(data []byte, budget int64, keyOps *int) (*opened, error) {
	raw := data
	if t := armorType(data); t != "" {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, bot.Reject(bot.RejectBadArmor, "the ASCII armor of an OpenPGP message is damaged (%s)", pgpError(err))
		}
		if block.Type != armorMessage {
			return nil, bot.Reject(bot.RejectMalformedOpenPGP, "expected an OpenPGP message, found a %q block", truncate(block.Type, 40))
		}
		// go-crypto does not insist on the end line; a block without one
		// was cut off (a length limit, a bad copy and paste).
		if !bytes.Contains(data, []byte("-----END "+armorMessage+"-----")) {
			return nil, bot.Reject(bot.RejectBadArmor, "the ASCII armor of an OpenPGP message is truncated (no END line)")
		}
		// The armor's checksum and end line are checked at the end of the
		// body: read all of it before parsing any packet. Being base64,
		// it decodes to at most three quarters of its length.
		if raw, err = readAllSized(block.Body, int64(len(data)), len(data)/4*3+3); err != nil {
			return nil, bot.Reject(bot.RejectBadArmor, "the ASCII armor of an OpenPGP message is truncated or corrupted (%s)", pgpError(err))
		}
	}
	info, err := scanPackets(raw, d.limits.MaxRecipients, d.teamKeyIDs)
	if err != nil {
		return nil, err
	}
	if *keyOps -= info.ours; *keyOps < 0 {
		return nil, bot.Reject(bot.RejectTooManyRecipients, "the message holds more than %d encrypted session keys for the team key", d.limits.MaxRecipients)
	}
	// Only the keys the message names are unlocked, before go-crypto
	// looks at them; a wrong passphrase is the operator's problem, not
	// the message's: not a rejection, so the message is tried again.
	if err := d.team.UnlockFor(info.recipients); err != nil {
		return nil, err
	}
	limit := budget
	cfg := &packet.Config{MaxDecompressedMessageSize: &limit}
	input := &countingReader{r: bytes.NewReader(raw)}
	md, err := openpgp.ReadMessage(input, d.keyring, nil, cfg)
	if err != nil {
		if d.stopsAtCap(raw, limit, input.n, err) {
			return nil, tooLargeDecompressed(limit)
		}
		return nil, d.classify(err, info)
	}
	// go-crypto turns every error inside decrypted data, its decompression
	// limit included, into one generic "parsing error" (against oracle
	// attacks). Watch the literal data's reader, below that rewriting: it
	// is where the limit shows while the body is read, whatever the packet
	// framing around the data adds to the count.
	spy := &capSpy{r: md.LiteralData.Body}
	md.LiteralData.Body = spy
	plain, err := readAllSized(md.UnverifiedBody, limit+1, int(min(plainSizeHint(len(raw)), limit)))
	if n := int64(len(plain)); n > limit {
		return nil, bot.Reject(bot.RejectDecryptedTooLarge, "the decrypted message is larger than %d bytes ([intake] max_decrypted_size)", limit)
	}
	if err != nil {
		if spy.hit || errors.Is(err, pgperrors.ErrMessageTooLarge) {
			return nil, tooLargeDecompressed(limit)
		}
		if !info.encrypted {
			return nil, bot.Reject(bot.RejectMalformedOpenPGP, "the OpenPGP data is damaged (%s)", pgpError(err))
		}
		return nil, bot.Reject(bot.RejectIntegrity, "the integrity check failed: the encrypted message was modified or damaged on the way")
	}
	// The whole body was read and its integrity checked (MDC/AEAD at EOF):
	// only now may anything of it, or its signature, be used.
	return &opened{plain: plain, encrypted: md.IsEncrypted && info.encrypted, sig: d.messageSignature(md)}, nil
}

// plainSizeHint guesses the size of the plaintext of an OpenPGP message of
// n bytes, for the buffer it is read into: a compressed report (as GnuPG
// sends it) grows three or four times, up to a megabyte more; larger ones,
// or ones grown more, take a few more copies.
func plainSizeHint(n int) int64 {
	return int64(min(4*n, n+1<<20)) + 4096
}

func tooLargeDecompressed(limit int64) error {
	return bot.Reject(bot.RejectDecryptedTooLarge, "the message decompresses to more than %d bytes ([intake] max_decrypted_size)", limit)
}

// capSpy passes reads through and remembers whether go-crypto's
// decompression limit tripped.
type capSpy struct {
	r   io.Reader
	hit bool
}

func (s *capSpy) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && errors.Is(err, pgperrors.ErrMessageTooLarge) {
		s.hit = true
	}
	return n, err
}

// stopsAtCap tells, for a message that failed before its literal data
// (packets inside the compression that are not data, such as padding, can
// fill the limit too), whether the decompression limit was the cause: the
// error is the same generic one as for tampering. A failure of the data
// itself happens at the same place whatever the limit; one caused by the
// limit moves with it. So read it again with a larger limit (at most
// twice the work) and compare how far into the input each read got.
func (d *Decoder) stopsAtCap(raw []byte, limit, reached int64, err error) bool {
	var dec pgperrors.DecryptWithSessionKeyError
	if !errors.As(err, &dec) && !errors.Is(err, pgperrors.ErrMessageTooLarge) {
		return false
	}
	larger := 2*limit + 1<<20
	r := &countingReader{r: bytes.NewReader(raw)}
	_, err = openpgp.ReadMessage(r, d.keyring, nil, &packet.Config{MaxDecompressedMessageSize: &larger})
	return err == nil || r.n != reached
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// classify turns a ReadMessage error into a rejection.
func (d *Decoder) classify(err error, info packetInfo) error {
	switch {
	case errors.Is(err, pgperrors.ErrKeyIncorrect):
		return bot.Reject(bot.RejectWrongKey, "%s, not to the team key %s", recipientsText(info), d.teamKeyID)
	case strings.Contains(err.Error(), "integrity protected"):
		return bot.Reject(bot.RejectNoIntegrity, "the message is encrypted without integrity protection")
	}
	var dec pgperrors.DecryptWithSessionKeyError
	if errors.As(err, &dec) || errors.Is(err, pgperrors.ErrMDCHashMismatch) || errors.Is(err, pgperrors.ErrMDCMissing) {
		return bot.Reject(bot.RejectIntegrity, "the integrity check failed: the encrypted message was modified or damaged on the way")
	}
	return bot.Reject(bot.RejectMalformedOpenPGP, "not a valid OpenPGP message (%s)", pgpError(err))
}

func recipientsText(info packetInfo) string {
	var ids []string
	for _, id := range info.recipients {
		if id == 0 {
			ids = append(ids, "a hidden recipient")
		} else {
			ids = append(ids, fmt.Sprintf("%016X", id))
		}
	}
	switch {
	case len(ids) > 0:
		return "encrypted to " + strings.Join(ids, ", ")
	case info.passphrase:
		return "encrypted with a passphrase"
	default:
		return "encrypted to no known recipient"
	}
}

// pgpError is a library error made fit for a reason: short, one line, no
// control characters. go-crypto's errors never quote the message's data.
func pgpError(err error) string {
	return truncate(bot.EscapeControl(strings.TrimPrefix(err.Error(), "openpgp: "), false), 120)
}

// messageSignature judges the signature of a message that was read to its
// end (the only time go-crypto's verdict is final).
func (d *Decoder) messageSignature(md *openpgp.MessageDetails) bot.Signature {
	if !md.IsSigned {
		return bot.Signature{}
	}
	s := bot.Signature{KeyID: keyIDHex(md.SignedByKeyId)}
	switch {
	case md.SignedBy == nil:
		s.Status = bot.SigUnknownKey
	case md.SignatureError != nil:
		s.Status, s.Problem = bot.SigBad, pgpError(md.SignatureError)
	case md.Signature == nil:
		s.Status, s.Problem = bot.SigBad, "no signature after the data"
	default:
		s.Status = bot.SigVerified
		d.describeSigner(&s, md.SignedBy.Entity)
	}
	return s
}

func (d *Decoder) describeSigner(s *bot.Signature, e *openpgp.Entity) {
	if e == nil {
		return
	}
	s.Fingerprint = upperHex(e.PrimaryKey.Fingerprint)
	if id := e.PrimaryIdentity(); id != nil {
		s.Signer = id.Name
	}
	for _, id := range e.Identities {
		if id.UserId != nil && id.UserId.Email != "" {
			s.Emails = append(s.Emails, id.UserId.Email)
		}
	}
}
