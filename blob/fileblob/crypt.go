package fileblob

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/landfall/landfall/errcode"
)

// Encrypted file layout:
//
//	header: "LFBLOBE1" | chunk size (uint32, big-endian) | 4 zero bytes | 32-byte salt
//	chunks: AES-256-GCM(plaintext chunk), chunkSize+16 bytes each, the last shorter
//
// The per-file key is HKDF-SHA256(configured key, salt, hkdfInfo). Chunk i's
// 12-byte nonce is i (uint64, big-endian) followed by 1 for the last chunk
// and 0 for the others; the header is each chunk's additional data. The
// last chunk holds at least one byte unless the content is empty, in which
// case it is the only chunk and holds none.
const (
	magic      = "LFBLOBE1"
	headerLen  = 48
	chunkSize  = 64 << 10
	tagLen     = 16
	hkdfInfo   = "landfall blob file encryption v1"
	sealedSize = chunkSize + tagLen
)

type cipherKey struct {
	key []byte
}

func newCipherKey(k []byte) (*cipherKey, error) {
	if len(k) != 32 {
		return nil, errcode.New(errcode.Invalid, "fileblob: encryption key is %d bytes; AES-256 needs 32", len(k))
	}
	return &cipherKey{key: append([]byte(nil), k...)}, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("not base64")
}

func (c *cipherKey) aead(salt []byte) (cipher.AEAD, error) {
	fk, err := hkdf.Key(sha256.New, c.key, salt, hkdfInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(fk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func nonce(buf *[12]byte, i uint64, last bool) []byte {
	binary.BigEndian.PutUint64(buf[:8], i)
	var f uint32
	if last {
		f = 1
	}
	binary.BigEndian.PutUint32(buf[8:], f)
	return buf[:]
}

// plainSize returns the content size of an encrypted file of fileSize bytes.
func plainSize(fileSize int64, key string) (int64, error) {
	body := fileSize - headerLen
	if body < tagLen {
		return 0, errcode.New(errcode.MediaCorrupt, "fileblob: %q is not an encrypted object (%d bytes is shorter than the header)", key, fileSize)
	}
	n := (body + sealedSize - 1) / sealedSize
	last := body - (n-1)*sealedSize - tagLen
	if last < 0 || (last == 0 && n > 1) {
		return 0, errcode.New(errcode.MediaCorrupt, "fileblob: encrypted object %q is truncated (%d bytes)", key, fileSize)
	}
	return (n-1)*chunkSize + last, nil
}

// encWriter seals content chunk by chunk. It holds back one full chunk
// until it knows whether more follows, so that the last chunk is marked.
type encWriter struct {
	w      io.Writer
	aead   cipher.AEAD
	header []byte
	buf    []byte // plaintext of the chunk being filled
	out    []byte
	index  uint64
	nb     [12]byte
}

func (c *cipherKey) newWriter(w io.Writer) (*encWriter, error) {
	h := make([]byte, headerLen)
	copy(h, magic)
	binary.BigEndian.PutUint32(h[8:], chunkSize)
	rand.Read(h[16:])
	a, err := c.aead(h[16:])
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &encWriter{w: w, aead: a, header: h, buf: make([]byte, 0, chunkSize), out: make([]byte, 0, sealedSize)}, nil
}

func (e *encWriter) seal(last bool) error {
	e.out = e.aead.Seal(e.out[:0], nonce(&e.nb, e.index, last), e.buf, e.header)
	e.index++
	e.buf = e.buf[:0]
	_, err := e.w.Write(e.out)
	return err
}

func (e *encWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if len(e.buf) == chunkSize {
			if err := e.seal(false); err != nil {
				return n, err
			}
		}
		k := copy(e.buf[len(e.buf):chunkSize], p)
		e.buf = e.buf[:len(e.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

// Close seals the last chunk.
func (e *encWriter) Close() error { return e.seal(true) }

// decReader opens the chunks of an encrypted file that a range covers.
type decReader struct {
	r       io.Reader
	key     string
	aead    cipher.AEAD
	header  []byte
	index   uint64
	lastIdx uint64
	skip    int   // plaintext bytes to drop from the first chunk
	remain  int64 // plaintext bytes still to return
	sealed  []byte
	plain   []byte
	pos     int
	nb      [12]byte
}

func (c *cipherKey) newReader(f io.ReadSeeker, fileSize int64, key string, offset, length int64) (io.Reader, error) {
	h := make([]byte, headerLen)
	if _, err := io.ReadFull(f, h); err != nil || string(h[:8]) != magic {
		return nil, errcode.New(errcode.MediaCorrupt, "fileblob: %q is not an encrypted object (no %s header); was it put in the folder by hand?", key, magic)
	}
	if cs := binary.BigEndian.Uint32(h[8:]); cs != chunkSize {
		return nil, errcode.New(errcode.MediaCorrupt, "fileblob: %q: unsupported chunk size %d", key, cs)
	}
	size, err := plainSize(fileSize, key)
	if err != nil {
		return nil, err
	}
	a, err := c.aead(h[16:])
	if err != nil {
		return nil, err
	}
	d := &decReader{key: key, aead: a, header: h, remain: length, sealed: make([]byte, sealedSize)}
	d.lastIdx = uint64(max(size-1, 0) / chunkSize)
	d.index = uint64(offset / chunkSize)
	d.skip = int(offset % chunkSize)
	if _, err := f.Seek(headerLen+int64(d.index)*sealedSize, io.SeekStart); err != nil {
		return nil, err
	}
	d.r = f
	return d, nil
}

func (d *decReader) corrupt(detail string) error {
	return errcode.New(errcode.MediaCorrupt, "fileblob: encrypted object %q: chunk %d %s (altered, truncated or reordered)", d.key, d.index, detail)
}

func (d *decReader) next() error {
	if d.index > d.lastIdx {
		return io.EOF
	}
	n, err := io.ReadFull(d.r, d.sealed)
	last := d.index == d.lastIdx
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		if !last {
			return d.corrupt("is missing")
		}
	case err != nil:
		return err
	case n == sealedSize && !last:
	}
	if last && err == nil {
		// A full-size last chunk: make sure nothing follows it.
		var one [1]byte
		if k, _ := d.r.Read(one[:]); k > 0 {
			return d.corrupt("is followed by extra data")
		}
	}
	p, oerr := d.aead.Open(d.plain[:0], nonce(&d.nb, d.index, last), d.sealed[:n], d.header)
	if oerr != nil {
		return d.corrupt("fails authentication")
	}
	d.plain = p
	d.pos = 0
	if d.skip > 0 {
		d.pos = min(d.skip, len(p))
		d.skip = 0
	}
	d.index++
	return nil
}

func (d *decReader) Read(p []byte) (int, error) {
	if d.remain <= 0 {
		return 0, io.EOF
	}
	for d.pos >= len(d.plain) {
		if err := d.next(); err != nil {
			if err == io.EOF && d.remain > 0 {
				return 0, d.corrupt(fmt.Sprintf("ends %d bytes early", d.remain))
			}
			return 0, err
		}
	}
	n := copy(p, d.plain[d.pos:])
	if int64(n) > d.remain {
		n = int(d.remain)
	}
	d.pos += n
	d.remain -= int64(n)
	return n, nil
}
