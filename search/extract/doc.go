// Package extract turns one raw RFC 5322 message into the text a
// full-text index needs: decoded header fields, the readable text of the
// body, and the names and sizes of attachments.
//
// Extract never fails on malformed mail. Whatever can be recovered is
// returned, and each repair is listed in Doc.Problems. It fails only when
// the reader it is given fails.
//
// # Streaming and limits
//
// The message is read once, line by line, through a 32 KiB buffer. Part
// bodies are decoded on the fly; text is kept up to Options.MaxBodyText
// bytes and Options.MaxBodyWords words (the index's memory and phrase
// matching grow with words, not bytes); everything else is read and
// discarded, so attachment sizes are still counted. MIME nesting is
// walked with an explicit stack of open multiparts instead of recursion,
// and Options.MaxDepth, MaxParts and MaxHeaderBytes bound the work on
// hostile input. Memory therefore depends
// on the options, not on the size of the message.
//
// # Charsets
//
// Every output string is valid UTF-8 without NUL bytes. Text is decoded
// from its declared charset through go-message's charset registry, which
// this package extends at init with labels common in mail but missing
// there (euc-cn, x-big5, x-gbk, cp932, utf-7, unknown-8bit, ...); gb2312
// and gbk are read as GB18030 and iso-8859-1 as windows-1252, their
// supersets in practice. Text in an unknown charset, or 8-bit text
// labelled ASCII or not labelled at all, is read as UTF-8 while it is
// valid and as windows-1252 from the first invalid byte on.
//
// Header fields with raw 8-bit bytes (against RFC 5322, but common in
// Chinese mail) are decoded with the first charset any part declares, or
// else by a heuristic: well-formed GB18030 made mostly of GB2312-range
// byte pairs is read as GB18030, anything else as windows-1252.
//
// # Body text
//
// Body holds the text of every text/plain part and of text/html parts
// converted to text. Of a multipart/alternative only one alternative is
// indexed: the first text/plain one with text, else the first other one
// with text (usually the HTML). Embedded messages (message/rfc822) are
// walked too, and their From, To, Cc, Date and Subject are written into
// Body before their text, so a forwarded message is found by them.
//
// # Attachments
//
// A part is listed as an attachment when its disposition is attachment,
// when it has a file name (so named inline images count), or when it is
// neither readable text nor a container nor an unnamed inline part. Its
// name comes from Content-Disposition filename (RFC 2231 filename*,
// continuations, RFC 2047 words inside quotes, raw 8-bit) or Content-Type
// name; RFC 2231 values in charsets other than UTF-8 (e.g. gb2312) are
// decoded here, as go-message returns "" for them.
package extract
