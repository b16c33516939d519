package synth

// glyphs is a 3×5 pixel font for silkscreen and package markings: 15 bits, row-major from the
// top-left, bit 14 first.
var glyphs = map[rune]uint16{
	'0': g("111101101101111"), '1': g("010110010010111"), '2': g("111001111100111"),
	'3': g("111001111001111"), '4': g("101101111001001"), '5': g("111100111001111"),
	'6': g("111100111101111"), '7': g("111001001001001"), '8': g("111101111101111"),
	'9': g("111101111001111"),
	'A': g("010101111101101"), 'B': g("110101110101110"), 'C': g("011100100100011"),
	'D': g("110101101101110"), 'E': g("111100110100111"), 'F': g("111100110100100"),
	'G': g("011100101101011"), 'H': g("101101111101101"), 'I': g("111010010010111"),
	'J': g("001001001101010"), 'K': g("101101110101101"), 'L': g("100100100100111"),
	'M': g("101111111101101"), 'N': g("110101101101101"), 'O': g("010101101101010"),
	'P': g("110101110100100"), 'Q': g("010101101110011"), 'R': g("110101110101101"),
	'S': g("011100010001110"), 'T': g("111010010010010"), 'U': g("101101101101111"),
	'V': g("101101101101010"), 'W': g("101101111111101"), 'X': g("101101010101101"),
	'Y': g("101101010010010"), 'Z': g("111001010100111"),
	'-': g("000000111000000"), '.': g("000000000000010"), '+': g("000010111010000"),
	'/': g("001001010100100"), ':': g("000010000010000"),
}

func g(bits string) uint16 {
	var v uint16
	for _, c := range bits {
		v <<= 1
		if c == '1' {
			v |= 1
		}
	}
	return v
}

// textRuns calls run(col, row, n) for every horizontal run of n set cells of s laid out in a
// grid of 4 cells per character (3 glyph cells + 1 space) and 5 rows.
func textRuns(s string, run func(col, row, n int)) {
	for i, ch := range s {
		bits, ok := glyphs[ch]
		if !ok {
			continue
		}
		for row := 0; row < 5; row++ {
			start := -1
			for c := 0; c <= 3; c++ {
				on := c < 3 && bits&(1<<(14-(row*3+c))) != 0
				if on && start < 0 {
					start = c
				}
				if !on && start >= 0 {
					run(i*4+start, row, c-start)
					start = -1
				}
			}
		}
	}
}
