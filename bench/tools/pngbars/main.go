// Command pngbars counts the pixels of the report's bar colour in a PNG
// screenshot, per horizontal band, so a script can tell that every chart
// of 'mailark stats --html' was drawn (a blank chart area has none).
package main

import (
	"fmt"
	"image/png"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pngbars FILE.png")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	img, err := png.Decode(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The bar colour, #3b7dd8, with some tolerance for anti-aliasing.
	b := img.Bounds()
	rows := 0
	total := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, 0x3b) && near(g>>8, 0x7d) && near(bl>>8, 0xd8) {
				n++
			}
		}
		if n > 0 {
			rows++
			total += n
		}
	}
	fmt.Printf("bar_pixels=%d bar_rows=%d height=%d\n", total, rows, b.Dy())
}

func near(a uint32, b uint32) bool { return a+12 >= b && a <= b+12 }
