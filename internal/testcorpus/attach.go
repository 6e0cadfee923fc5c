package testcorpus

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// randBytes returns n pseudo-random bytes seeded from r (ChaCha8 is fast
// enough for megabytes of attachment filler).
func randBytes(r *rand.Rand, n int) []byte {
	var seed [32]byte
	for k := 0; k < 32; k += 8 {
		v := r.Uint64()
		for b := range 8 {
			seed[k+b] = byte(v >> (8 * b))
		}
	}
	out := make([]byte, n)
	rand.NewChaCha8(seed).Read(out)
	return out
}

// fakePDF is a small valid-looking PDF: a real header, object table and
// xref, with an incompressible filler stream to reach about size bytes.
func fakePDF(r *rand.Rand, size int, title string) []byte {
	var ascii []byte
	for _, c := range []byte(title) {
		if c >= 0x20 && c < 0x7f && c != '(' && c != ')' && c != '\\' {
			ascii = append(ascii, c)
		}
	}
	text := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", ascii)
	filler := randBytes(r, max(0, size-900))
	objs := [][]byte{
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"),
		fmt.Appendf(nil, "<< /Length %d >>\nstream\n%s\nendstream", len(text), text),
		[]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
		append(append(fmt.Appendf(nil, "<< /Length %d /Filter /FlateDecode >>\nstream\n", len(filler)), filler...), "\nendstream"...),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	var offs []int
	for k, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n", k+1)
		b.Write(o)
		b.WriteString("\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

var zipTime = time.Date(2020, 5, 17, 12, 0, 0, 0, time.UTC)

// fakeZip is a real zip archive: a README and a CSV (deflated) and a stored
// random blob that brings it to about size bytes.
func fakeZip(r *rand.Rand, size int) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	z.RegisterCompressor(zip.Deflate, pooledDeflate)
	add := func(name string, method uint16, data []byte) {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: zipTime})
		if err == nil {
			w.Write(data)
		}
	}
	// Deflate only the small text members, with a pooled compressor: a fresh
	// flate writer per message costs more than the rest of the message.
	add("README.txt", zip.Deflate, []byte(wordsText(r, &langs[lEN], 600)))
	add("data/records.csv", zip.Deflate, fakeCSV(r, 1500))
	add("data/blob.bin", zip.Store, randBytes(r, max(16, size-2000)))
	z.Close()
	return b.Bytes()
}

var deflaters sync.Pool

type pooledWriter struct{ *flate.Writer }

func (p pooledWriter) Close() error {
	err := p.Writer.Close()
	deflaters.Put(p.Writer)
	return err
}

func pooledDeflate(w io.Writer) (io.WriteCloser, error) {
	if fw, ok := deflaters.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return pooledWriter{fw}, nil
	}
	fw, err := flate.NewWriter(w, flate.DefaultCompression)
	return pooledWriter{fw}, err
}

func fakeCSV(r *rand.Rand, size int) []byte {
	b := make([]byte, 0, size+64)
	b = append(b, "id;name;amount;date\n"...)
	words := langs[lEN].words
	for k := 1; len(b) < size; k++ {
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(append(append(append(b, ';'), words[r.IntN(len(words))]...), ' '), words[r.IntN(len(words))]...)
		b = append(strconv.AppendInt(append(b, ';'), int64(r.IntN(10000)), 10), '.')
		c := r.IntN(100)
		b = append(append(b, byte('0'+c/10), byte('0'+c%10)), ';')
		b = time.Unix(epochLo+r.Int64N(epochHi-epochLo), 0).UTC().AppendFormat(b, "2006-01-02")
		b = append(b, '\n')
	}
	return b
}

// pngs caches a few small PNGs: encoding one per message would dominate the
// generation time, and real mail repeats its logos anyway.
var pngs = sync.OnceValue(func() [][]byte {
	var out [][]byte
	r := rand.New(rand.NewPCG(1, 2))
	for k := range 16 {
		out = append(out, makePNG(r, 8+k*5, 8+(k*7)%48))
	}
	return out
})

func fakePNG(r *rand.Rand) []byte {
	return pngs()[r.IntN(len(pngs()))]
}

func makePNG(r *rand.Rand, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	base := color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	for y := range h {
		for x := range w {
			c := base
			c.R += uint8(x * 5)
			c.G += uint8(y * 3)
			c.B += uint8(r.IntN(16))
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// fakeJPEG has JPEG start/end markers around random bytes: enough for type
// sniffing, not for decoding.
func fakeJPEG(r *rand.Rand, size int) []byte {
	head := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00")
	return append(append(head, randBytes(r, max(0, size-len(head)-2))...), 0xff, 0xd9)
}
