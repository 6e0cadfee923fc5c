"""Drive mailark's IMAP server with Python's imaplib, as a real client does.

Usage: python3 imaplib_check.py HOST PORT USER PASSWORD
Prints one line per check and exits non-zero on the first failure.
"""
import imaplib
import sys


def check(cond, what):
    if not cond:
        print("FAIL: " + what)
        sys.exit(1)
    print("ok: " + what)


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    m = imaplib.IMAP4(host, port)
    typ, _ = m.login(user, password)
    check(typ == "OK", "LOGIN")

    typ, data = m.list()
    names = [line.decode().rsplit(' "/" ', 1)[1].strip('"') for line in data]
    check(typ == "OK" and "INBOX" in names and "Tests" in names, "LIST: %s" % ", ".join(names))

    # SELECT answers [READ-ONLY]: imaplib refuses to treat the mailbox as
    # writable and says so; EXAMINE (readonly=True) is what it wants.
    try:
        m.select("Tests")
        check(False, "SELECT answers READ-ONLY")
    except imaplib.IMAP4.readonly:
        check(True, "SELECT answers READ-ONLY")
    typ, data = m.select("Tests", readonly=True)
    check(typ == "OK" and data == [b"2"], "EXAMINE Tests: %r" % data)

    typ, data = m.search(None, "TEXT", "quokka")
    check(typ == "OK" and data == [b"2"], "SEARCH TEXT quokka: %r" % data)
    typ, data = m.uid("SEARCH", "FLAGGED")
    check(typ == "OK" and data == [b"2"], "UID SEARCH FLAGGED: %r" % data)

    typ, data = m.fetch("2", "(BODYSTRUCTURE)")
    check(typ == "OK" and b'"mixed"' in data[0] and b'"octet-stream"' in data[0], "FETCH BODYSTRUCTURE")
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    body = data[0][1]
    check(typ == "OK" and body.startswith(b"From: Ann") and b"\r\nline two\r\n" in body, "FETCH BODY.PEEK[]")

    for name, call in [
        ("STORE", lambda: m.store("1", "+FLAGS", "\\Deleted")),
        ("COPY", lambda: m.copy("1", "INBOX")),
        ("EXPUNGE", lambda: m.expunge()),
        ("CREATE", lambda: m.create("New")),
        ("DELETE", lambda: m.delete("Tests")),
        ("RENAME", lambda: m.rename("Tests", "Other")),
        ("SUBSCRIBE", lambda: m.subscribe("Tests")),
        ("APPEND", lambda: m.append("INBOX", None, None, b"Subject: x\r\n\r\nx\r\n")),
    ]:
        try:
            typ, data = call()
        except imaplib.IMAP4.error as e:
            typ, data = "NO", [str(e).encode()]
        check(typ == "NO", "%s refused: %s" % (name, data[0].decode(errors="replace")))

    typ, _ = m.close()
    check(typ == "OK", "CLOSE")
    typ, data = m.select("Tests", readonly=True)
    check(data == [b"2"], "still 2 messages")
    typ, data = m.fetch("2", "(FLAGS)")
    check(b"\\Deleted" not in data[0] and b"\\Seen" not in data[0], "flags unchanged: %r" % data[0])
    m.logout()
    print("imaplib: all checks passed")


main()
