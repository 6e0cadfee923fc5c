package testcorpus

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

const mxHost = "mx.example.org"

// formatDate renders the Date header in one of the forms seen in the wild;
// all of them parse with net/mail.ParseDate.
func formatDate(t time.Time, style int) string {
	name, off := t.Zone()
	switch {
	case style < 10:
		return t.Format("Mon, 2 Jan 2006 15:04:05 -0700")
	case style < 15:
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
	case style < 18 && name != "":
		return t.Format("Mon, 2 Jan 2006 15:04:05 -0700") + " (" + name + ")"
	case style == 18:
		return t.Format("2 Jan 2006 15:04:05 -0700")
	case style == 19 && off == 0:
		return t.Format("Mon, 2 Jan 2006 15:04:05 -0000")
	}
	return t.Format("Mon, 2 Jan 2006 15:04:05 -0700")
}

func rcvDate(t time.Time) string {
	return t.UTC().Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)")
}

func domainOf(addr string) string { return addr[strings.IndexByte(addr, '@')+1:] }

// render builds a normal message from its spec. variant renders the near-dup
// copy: list headers, [list] prefix and footer toggled.
func (g *gen) render(s *spec, variant bool) (*Message, error) {
	f := g.folders[s.folder]
	isList := f.role == roleList
	list := isList != variant
	listName := f.listName
	if !isList {
		listName = "golang-nuts"
		if g.list >= 0 {
			listName = g.folders[g.list].listName
		}
	}

	body, tags, err := g.body(g.rng(s.i, streamBody), bodyOpts{s: s, list: list, listName: listName})
	if err != nil {
		return nil, err
	}

	subject := s.root
	esubj, err := encodeText(s.root, s.subjCS, s.subjEnc, s.subjMin)
	if err != nil {
		return nil, err
	}
	if list {
		subject, esubj = "["+listName+"] "+subject, "["+listName+"] "+esubj
	}
	if s.reply {
		subject, esubj = "Re: "+subject, "Re: "+esubj
	}
	if !isASCII(s.root) {
		tags = append(tags, fmt.Sprintf("subject:%s-%c", s.subjCS, s.subjEnc+'a'-'A'))
	}
	if strings.Contains(subject, needleSubject) {
		tags = append(tags, "needle:"+needleSubject)
	}
	if s.reply {
		tags = append(tags, "reply")
	}
	if list {
		tags = append(tags, "list")
	}

	r := g.rng(s.i, streamEnv)
	rv := g.rng(s.i, streamVariant)
	internal := s.date.Add(time.Duration(s.delay) * time.Second).UTC()
	var b bytes.Buffer
	b.Grow(body.size() + 2048)
	user := owner.addr
	dom := domainOf(s.from.addr)
	if !s.outgoing {
		writeHeader(&b, "Return-Path", "<"+s.from.addr+">")
		writeHeader(&b, "Delivered-To", user)
		if list {
			fmt.Fprintf(&b, "Received: from lists.example.com (lists.example.com [203.0.113.7])\r\n"+
				"\tby %s (Postfix) with ESMTPS id L%09X\r\n\tfor <%s>; %s\r\n", mxHost, rv.Int64N(1<<36), user, rcvDate(internal))
		}
		host := fmt.Sprintf("mail-%d.%s", r.IntN(99), dom)
		fmt.Fprintf(&b, "Received: from %s (%s [198.51.100.%d])\r\n"+
			"\tby %s (Postfix) with ESMTPS id %010X\r\n\tfor <%s>; %s\r\n",
			host, host, 1+r.IntN(253), mxHost, r.Int64N(1<<40), user, rcvDate(internal.Add(-time.Second)))
		if r.IntN(10) < 6 {
			ip := 1 + r.IntN(253)
			fmt.Fprintf(&b, "Received: from [192.0.2.%d] (unknown [192.0.2.%d])\r\n\tby mail.%s with ESMTPSA; %s\r\n",
				ip, ip, dom, s.date.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
		}
		if r.IntN(10) < 4 {
			bh := base64.StdEncoding.EncodeToString(randBytes(r, 32))
			sig := base64.StdEncoding.EncodeToString(randBytes(r, 256))
			var folded []string
			for len(sig) > 70 {
				folded = append(folded, sig[:70])
				sig = sig[70:]
			}
			folded = append(folded, sig)
			fmt.Fprintf(&b, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=s%d;\r\n"+
				"\th=from:to:subject:date:message-id:mime-version;\r\n\tbh=%s;\r\n\tb=%s\r\n",
				dom, 2015+r.IntN(10), bh, strings.Join(folded, "\r\n\t "))
		}
		if r.IntN(10) < 3 {
			writeHeader(&b, "Authentication-Results", fmt.Sprintf("%s; dkim=pass header.d=%s; spf=pass smtp.mailfrom=%s", mxHost, dom, s.from.addr))
		}
		if r.IntN(10) < 2 {
			writeHeader(&b, "X-Spam-Status", fmt.Sprintf("No, score=-%d.%d required=5.0 tests=BAYES_00,DKIM_SIGNED autolearn=ham", r.IntN(5), r.IntN(10)))
		}
	}
	if list {
		writeHeader(&b, "List-Id", fmt.Sprintf("%s <%s.lists.example.com>", listName, listName))
		writeHeader(&b, "List-Unsubscribe", fmt.Sprintf("<mailto:%s+unsubscribe@lists.example.com>, <https://lists.example.com/%s/unsubscribe>", listName, listName))
		writeHeader(&b, "List-Archive", "<https://lists.example.com/"+listName+"/>")
		writeHeader(&b, "Precedence", "list")
	}
	from, err := formatAddr(s.from, s.nameEnc, s.nameQuot)
	if err != nil {
		return nil, err
	}
	if s.from.cs != "" {
		if s.nameQuot {
			tags = append(tags, "name:quoted-2047")
		}
		tags = append(tags, fmt.Sprintf("name:%s-%c", s.from.cs, nameEncoding(s.from, s.nameEnc)+'a'-'A'))
	}
	writeHeader(&b, "From", from)
	var to []string
	for _, p := range s.to {
		a, err := formatAddr(p, s.nameEnc, false)
		if err != nil {
			return nil, err
		}
		to = append(to, a)
	}
	if s.toList != "" {
		to = append(to, s.toList)
	}
	writeHeader(&b, "To", strings.Join(to, ", "))
	if len(s.cc) > 0 {
		var cc []string
		for _, p := range s.cc {
			a, err := formatAddr(p, s.nameEnc, false)
			if err != nil {
				return nil, err
			}
			cc = append(cc, a)
		}
		writeHeader(&b, "Cc", strings.Join(cc, ", "))
	}
	writeHeader(&b, "Subject", esubj)
	writeHeader(&b, "Date", formatDate(s.date, s.dateFmt))
	writeHeader(&b, "Message-ID", s.mid)
	if s.reply {
		writeHeader(&b, "In-Reply-To", s.refs[len(s.refs)-1])
		writeHeader(&b, "References", strings.Join(s.refs, " "))
	}
	ua := userAgents[r.IntN(len(userAgents))]
	if strings.Contains(ua, "Outlook") {
		writeHeader(&b, "Thread-Index", base64.StdEncoding.EncodeToString(randBytes(r, 22)))
	}
	if len(body.hdr) > 0 { // not a plain RFC 822 message
		writeHeader(&b, "MIME-Version", "1.0")
	}
	body.writeHeaders(&b)
	if f.role == roleDrafts && r.IntN(2) == 0 {
		writeHeader(&b, "X-Mozilla-Draft-Info", "internal/draft; vcard=0; receipt=0; DSN=0; uuencode=0; attachmentreminder=0; deliveryformat=4")
	}
	b.WriteString(ua + "\r\n")
	b.WriteString("\r\n")
	body.writeBody(&b)

	return &Message{
		Seq:          s.i,
		Folder:       f.name,
		InternalDate: internal.Truncate(time.Second),
		MessageID:    s.mid,
		From:         s.from.addr,
		Subject:      subject,
		Date:         s.date,
		DupGroup:     s.i,
		Tags:         addTags(nil, tags...),
		Raw:          b.Bytes(),
	}, nil
}

// bigMessage is message 0 when Options.BigMessage > 0: a base64 disk image
// of about that many bytes in total.
func (g *gen) bigMessage(i int) (*Message, error) {
	r := g.rng(i, streamBytes)
	t := time.Date(2018, 6, 1, 12, 0, 0, 0, time.FixedZone("", -7*3600))
	raw := randBytes(r, int(max(0, g.opts.BigMessage-4000)*57/78))
	text, _ := leaf(r, "plain", "Hi Alice,\n\nthe full disk image is attached.\n\n-- \nKen\n", "us-ascii", "7bit")
	img := &entity{body: appendBase64(make([]byte, 0, len(raw)*78/57+80), raw)}
	img.add("Content-Type", `application/octet-stream; name="disk.img"`)
	img.add("Content-Transfer-Encoding", "base64")
	img.add("Content-Disposition", `attachment; filename="disk.img"`)
	top := &entity{hdr: [][2]string{{"Content-Type", `multipart/mixed; boundary="big-boundary-0001"`}},
		boundary: "big-boundary-0001", parts: []*entity{text, img}}
	var b bytes.Buffer
	b.Grow(len(img.body) + 4096)
	internal := t.Add(5 * time.Second).UTC()
	fmt.Fprintf(&b, "Return-Path: <ken@example.com>\r\nDelivered-To: %s\r\n", owner.addr)
	fmt.Fprintf(&b, "Received: from mail-1.example.com (mail-1.example.com [198.51.100.7])\r\n\tby %s (Postfix) with ESMTPS id BIG0001\r\n\tfor <%s>; %s\r\n", mxHost, owner.addr, rcvDate(internal))
	writeHeader(&b, "From", "Ken Thompson <ken@example.com>")
	writeHeader(&b, "To", owner.name+" <"+owner.addr+">")
	writeHeader(&b, "Subject", "Disk image")
	writeHeader(&b, "Date", formatDate(t, 0))
	writeHeader(&b, "Message-ID", "<big-disk-image@example.com>")
	writeHeader(&b, "MIME-Version", "1.0")
	top.writeHeaders(&b)
	b.WriteString("\r\n")
	top.writeBody(&b)
	return &Message{
		Seq: i, Folder: g.folders[g.archive].name, Flags: []string{`\Seen`},
		InternalDate: internal, MessageID: "<big-disk-image@example.com>", From: "ken@example.com",
		Subject: "Disk image", Date: t, DupGroup: i,
		Tags: []string{"attach:bin", "big", "fname:ascii", "mime:mixed"}, Raw: b.Bytes(),
	}, nil
}
