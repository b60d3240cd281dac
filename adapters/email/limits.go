package email

// Limits bound everything a message can make the decoder do. Every bound
// that trips rejects the message with a reason that names the limit.
type Limits struct {
	// MaxMessageBytes bounds a message as received.
	MaxMessageBytes int64
	// MaxDecryptedBytes bounds the plaintext of any one OpenPGP message,
	// and so what a compressed packet may expand to
	// (MaxDecompressedMessageSize), and the decrypted data of a whole
	// message together.
	MaxDecryptedBytes int64
	// MaxParts bounds the MIME entities and inline OpenPGP blocks of a
	// message, decrypted ones included.
	MaxParts int
	// MaxDepth bounds the nesting of multiparts and encryption layers.
	MaxDepth int
	// MaxAttachments and MaxAttachmentBytes bound the files.
	MaxAttachments     int
	MaxAttachmentBytes int64
	// MaxHeaderBytes bounds one entity's header.
	MaxHeaderBytes int
	// MaxRecipients bounds the encrypted session keys of one OpenPGP
	// message, and those naming the team key (or no key) in a whole mail:
	// each of those costs a private-key operation.
	MaxRecipients int
}

// DefaultLimits are generous for reports (a few KB of text and some
// screenshots or a proof of concept) and small for a server.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:    25 << 20,
		MaxDecryptedBytes:  50 << 20,
		MaxParts:           200,
		MaxDepth:           12,
		MaxAttachments:     30,
		MaxAttachmentBytes: 20 << 20,
		MaxHeaderBytes:     256 << 10,
		MaxRecipients:      64,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = d.MaxMessageBytes
	}
	if l.MaxDecryptedBytes <= 0 {
		l.MaxDecryptedBytes = d.MaxDecryptedBytes
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = d.MaxAttachments
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = d.MaxAttachmentBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxRecipients <= 0 {
		l.MaxRecipients = d.MaxRecipients
	}
	return l
}
