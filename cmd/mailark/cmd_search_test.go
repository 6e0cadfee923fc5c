package main

import (
	"strings"
	"testing"
)

// TestClip: clip gives what joining the fields and cutting to n runes
// gives, whatever the white space, for its fast path and its slow one.
func TestClip(t *testing.T) {
	ref := func(s string, n int) string {
		s = strings.Join(strings.Fields(s), " ")
		r := []rune(s)
		if len(r) <= n {
			return s
		}
		return string(r[:n-1]) + "…"
	}
	parts := []string{"a", "Zoë", " ", "  ", "\t", "\n", "\u00a0", "協議", "x y", "", "long-word-here"}
	var cases []string
	for _, a := range parts {
		for _, b := range parts {
			for _, c := range parts {
				cases = append(cases, a+b+c)
			}
		}
	}
	for _, s := range cases {
		for _, n := range []int{1, 2, 3, 5, 8, 30} {
			if got, want := clip(s, n), ref(s, n); got != want {
				t.Errorf("clip(%q, %d) = %q, want %q", s, n, got, want)
			}
		}
	}
}
