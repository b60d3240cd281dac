package email

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/sectriage/sectriage/bot"
)

// attachment reads a file. Whether it is encrypted is decided by its
// content and name, never by its Content-Type label, which clients and
// mime.types get wrong (.asc is often "application/pgp-keys").
func (w *walker) attachment(e *entity, enc bool) error {
	w.attachments++
	if w.attachments > w.d.limits.MaxAttachments {
		return bot.Reject(bot.RejectTooManyAttachments, "the message has more than %d attachments ([intake] max_attachments)", w.d.limits.MaxAttachments)
	}
	name := e.filename()
	data, err := e.content(w.d.limits.MaxAttachmentBytes)
	if err != nil {
		return bot.Reject(bot.RejectAttachmentTooLarge, "an attachment is larger than %d bytes ([intake] max_attachment_size)", w.d.limits.MaxAttachmentBytes)
	}
	pgpName := hasPGPExtension(name)
	switch t := armorType(data); {
	case t == armorMessage || (t == "" && isBinaryMessage(data) && (pgpName || e.mediaType == "application/pgp-encrypted")):
		op, err := w.open(data)
		if err != nil {
			return err
		}
		if int64(len(op.plain)) > w.d.limits.MaxAttachmentBytes {
			return bot.Reject(bot.RejectAttachmentTooLarge, "a decrypted attachment is larger than %d bytes ([intake] max_attachment_size)", w.d.limits.MaxAttachmentBytes)
		}
		if armorType(op.plain) == armorKey {
			w.keys = append(w.keys, publicKeys(op.plain, keySource(true))...)
		}
		w.addFile(strings.TrimSuffix(name, path.Ext(name)), "", op.plain, enc || op.encrypted, w.register(op.sig), op.encrypted)
	case t == armorSigned:
		if err := w.count(); err != nil {
			return err
		}
		text, sig, err := w.d.clearSigned(data)
		if err != nil {
			return err
		}
		w.addFile(name, "", []byte(text), enc, w.register(sig), false)
	case t == armorKey || (t == "" && pgpName):
		keys := publicKeys(data, keySource(enc))
		if len(keys) == 0 && t == "" {
			w.addFile(name, e.mediaType, data, enc, -1, false)
			return nil
		}
		w.keys = append(w.keys, keys...)
		w.addKeyFile(name, keys, len(data), enc)
	default:
		w.addFile(name, e.mediaType, decodeTextFile(data, e), enc, -1, false)
	}
	return nil
}

func (w *walker) addKeyFile(name string, keys []keyCandidate, size int, enc bool) {
	var fps []string
	for _, k := range keys {
		fps = append(fps, fmt.Sprintf("%X", k.entity.PrimaryKey.Fingerprint))
	}
	text := "OpenPGP public key " + strings.Join(fps, ", ")
	if len(fps) == 0 {
		text = "an OpenPGP key that cannot encrypt (or could not be read)"
	}
	w.addPart(bot.ReportPart{Kind: bot.PartAttachment, Encrypted: enc, Name: name,
		MediaType: "application/pgp-keys", Text: text, Size: size}, -1, false)
}

// addFile records a file, with its text when it is text; sig and
// decrypted are as for addPart.
func (w *walker) addFile(name, mediaType string, data []byte, enc bool, sig int, decrypted bool) {
	p := bot.ReportPart{Kind: bot.PartAttachment, Encrypted: enc, Name: name, MediaType: mediaType, Size: len(data)}
	if looksText(data) {
		p.Text = tidyCharset(data, "")
	} else {
		p.Binary = true
	}
	w.addPart(p, sig, decrypted)
}

// decodeTextFile converts a text attachment's declared charset.
func decodeTextFile(data []byte, e *entity) []byte {
	if strings.HasPrefix(e.mediaType, "text/") && e.params["charset"] != "" && !utf8.Valid(data) {
		return []byte(decodeCharset(data, e.params["charset"]))
	}
	return data
}

func hasPGPExtension(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".asc", ".pgp", ".gpg":
		return true
	}
	return false
}

// looksText reports whether data is text a person can read: no NUL bytes
// and hardly any control characters.
func looksText(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return false
	}
	control := 0
	for _, c := range data {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 0x1b {
			control++
		}
	}
	return control*100 <= len(data)
}
