package testcorpus

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"
)

func runtimeCPUs() int { return runtime.GOMAXPROCS(0) }

// spec is everything about a normal message that other messages may need
// (threads refer to their parent's Message-ID, subject and date). It is a
// pure function of (options, index).
type spec struct {
	i        int
	folder   int
	outgoing bool
	lang     int
	date     time.Time // Date header, in the sender's zone
	dateFmt  int
	delay    int // seconds from Date to delivery (internal date)
	from     person
	to       []person
	toList   string // list address when sent to a list
	cc       []person
	root     string // root subject, without Re: or [list]
	subjCS   string // charset for encoded-words in Subject
	subjEnc  byte   // 'B' or 'Q'
	subjMin  bool   // encode only the non-ASCII span
	reply    bool
	mid      string
	refs     []string // References; the last is the parent
	parentAt time.Time
	parentBy string // parent's sender address
	quokka   bool
	fwd      bool // forwards a message (message/rfc822)
	nameEnc  byte
	nameQuot bool
}

var epochLo = time.Date(yearFirst, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
var epochHi = time.Date(yearLast+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func yearRange(lo, hi int) (int64, int64) {
	return time.Date(lo, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(hi+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
}

func pickPerson(r *rand.Rand) person {
	// Zipf-like: weight 1/(k+1)^0.8, via rejection on a cheap proposal.
	for {
		k := r.IntN(len(people))
		if r.Float64() < 1/math.Pow(float64(k+1), 0.8) {
			return people[k]
		}
	}
}

func pickLang(r *rand.Rand, role role) int {
	switch role {
	case roleChinese:
		if r.IntN(10) < 6 {
			return lZhHans
		}
		return lZhHant
	case roleBilling:
		return []int{lEN, lDE, lFR, lDE}[r.IntN(4)]
	case roleList, roleReviews:
		return lEN
	}
	t := 0
	for _, w := range langWeights {
		t += w
	}
	x := r.IntN(t)
	for l, w := range langWeights {
		if x < w {
			return l
		}
		x -= w
	}
	return lEN
}

// zoneFor returns the fixed zone a person writes from at time t.
func zoneFor(p person, t time.Time) *time.Location {
	z := zones[p.tz]
	off, name := z.off, z.name
	if z.dst {
		// Crude northern-hemisphere DST: April to October.
		if m := t.UTC().Month(); m >= time.April && m <= time.October {
			off += 60
			name = dstNames[z.name]
		}
	}
	return time.FixedZone(name, off*60)
}

// spec computes the spec of normal message i (also for a copy's original).
func (g *gen) spec(i int) *spec {
	r := g.rng(i, streamSpec)
	s := &spec{i: i}
	s.folder = g.pickFolder(r)
	f := g.folders[s.folder]
	s.outgoing = f.role == roleSent || f.role == roleDrafts
	s.dateFmt = r.IntN(20)
	s.nameEnc = 'B'
	if r.IntN(10) < 3 {
		s.nameEnc = 'Q'
	}
	s.nameQuot = r.IntN(25) == 0
	s.quokka = r.IntN(1000) < 15
	s.fwd = r.IntN(100) < 3 && f.role != roleList

	// Correspondent: the other side of the conversation.
	var other person
	switch f.role {
	case roleBilling:
		other = billingPeople[r.IntN(len(billingPeople))]
	case roleReviews:
		other = reviewPeople[r.IntN(len(reviewPeople))]
	default:
		other = pickPerson(r)
	}

	// Reply to an earlier message of the same kind (list or not)?
	var parent *spec
	if r.IntN(100) < 35 && f.role != roleBilling && i > 0 {
		for range 3 {
			j := g.pickEarlier(r, i, 120)
			if j < 0 {
				break
			}
			p := g.spec(j)
			if (g.folders[p.folder].role == roleList) != (f.role == roleList) {
				continue
			}
			at := p.date.Add(time.Duration(300+r.IntN(3*86400)) * time.Second)
			if at.Unix() >= epochHi || !g.fits(s.folder, at) {
				continue
			}
			parent = p
			s.date = at
			break
		}
	}
	if parent != nil {
		s.reply = true
		s.lang = parent.lang
		s.root, s.subjCS, s.subjEnc, s.subjMin = parent.root, parent.subjCS, parent.subjEnc, parent.subjMin
		s.refs = append(append([]string{}, parent.refs...), parent.mid)
		if len(s.refs) > 10 {
			s.refs = append(s.refs[:1], s.refs[len(s.refs)-9:]...)
		}
		s.parentAt, s.parentBy = parent.date, parent.from.addr
		if !parent.outgoing && f.role != roleList {
			other = parent.from
		}
	} else {
		lo, hi := epochLo, epochHi
		if f.yearLo != 0 {
			lo, hi = yearRange(f.yearLo, f.yearHi)
		}
		s.date = time.Unix(lo+r.Int64N(hi-lo), 0)
		s.lang = pickLang(r, f.role)
		if other.cs != "" && r.IntN(3) == 0 {
			// People often write in their own language.
			switch other.cs {
			case "gbk":
				s.lang = lZhHans
			case "big5":
				s.lang = lZhHant
			case "iso-2022-jp":
				s.lang = lJA
			case "euc-kr":
				s.lang = lKO
			case "koi8-r":
				s.lang = lRU
			}
		}
		var pool []string
		switch f.role {
		case roleList:
			pool = listSubjects
		case roleReviews:
			pool = reviewSubjects
		case roleBilling:
			pool = billingSubjects
		default:
			pool = langs[s.lang].subjects
		}
		subj := pool[r.IntN(len(pool))]
		subj = strings.ReplaceAll(subj, "{n}", fmt.Sprint(2+r.IntN(9998)))
		subj = strings.ReplaceAll(subj, "{d}", s.date.UTC().Format("02.01.2006"))
		if r.IntN(100) == 0 {
			subj = needleSubject + " sightings: " + subj
		}
		s.root = subj
		s.subjCS = weighted(r, subjectCharsets[s.lang])
		if !isASCII(subj) {
			if _, err := encodeCharset(s.subjCS, subj); err != nil {
				s.subjCS = "utf-8" // e.g. an en dash in an ISO-8859-1 subject
			}
		}
		s.subjEnc = 'B'
		if s.subjCS == "iso-8859-1" && r.IntN(10) < 7 || s.subjCS == "utf-8" && r.IntN(10) < 4 {
			s.subjEnc = 'Q'
		}
		s.subjMin = r.IntN(10) < 3
	}
	zoneOf := other
	if s.outgoing {
		zoneOf = owner
	}
	s.date = s.date.In(zoneFor(zoneOf, s.date))

	switch {
	case s.outgoing:
		s.from, s.to = owner, []person{other}
	case f.role == roleList:
		s.from = other
		s.toList = f.listName + "@lists.example.com"
	default:
		s.from, s.to = other, []person{owner}
	}
	if r.IntN(100) < 18 {
		for k := 1 + r.IntN(3); k > 0; k-- {
			s.cc = append(s.cc, pickPerson(r))
		}
	}
	if !s.outgoing {
		s.delay = 2 + r.IntN(400)
		if r.IntN(50) == 0 {
			s.delay += r.IntN(86400) // greylisting, queued retries
		}
	}
	s.mid = messageID(r, i, s.date, s.from.addr)
	return s
}

// messageID returns a unique Message-ID in one of a few real-world styles.
// Uniqueness comes from a bijective scramble of the index.
func messageID(r *rand.Rand, i int, t time.Time, from string) string {
	// Each step is a bijection on 48 bits, so distinct i give distinct u.
	const mask = 1<<48 - 1
	u := (uint64(i) + 1) * 0x9e3779b97f4a7c15 & mask
	u ^= u >> 24
	u = u * 0xbf58476d1ce5 & mask
	u ^= u >> 21
	dom := from[strings.IndexByte(from, '@')+1:]
	switch r.IntN(5) {
	case 0: // Gmail
		var b [30]byte
		for k := range 6 {
			b[k] = byte(u >> (8 * k))
		}
		for k := 6; k < len(b); k++ {
			b[k] = byte(r.Uint32())
		}
		return "<CA" + base64.RawStdEncoding.EncodeToString(b[:]) + "@mail.gmail.com>"
	case 1: // UUID-ish
		return fmt.Sprintf("<%012x-%04x-4%03x-%04x-%012x@%s>", u, r.IntN(1<<16), r.IntN(1<<12), 0x8000|r.IntN(1<<14), r.Int64N(1<<48), dom)
	case 2: // Outlook
		host := fmt.Sprintf("AM%dPR%02dMB%04d", r.IntN(9), r.IntN(99), r.IntN(9999))
		return fmt.Sprintf("<%s%012X@%s.eurprd%02d.prod.outlook.com>", host, u, host, r.IntN(10))
	default:
		return fmt.Sprintf("<%s.%012x@mail.%s>", t.UTC().Format("20060102150405"), u, dom)
	}
}
