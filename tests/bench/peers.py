"""cfimap's peers in the bench: the same two jobs with Python's imaplib and with IMAPClient.

    peers.py {imaplib|imapclient} {headers|all} --port P --user U --folder F [--attachments DIR]

The password comes from CFIMAP_PASSWORD. Each job logs in, EXAMINEs the folder, sends ONE
`UID FETCH 1:*` with the items cfimap sends, decodes the same columns cfimap gives with the
email package (policy.default: RFC 2047 in any charset, addresses, dates), and writes one JSON
object per message to stdout. `all` also decodes the bodies and saves every attachment into
--attachments. Nothing here is slowed down on purpose: it is what a careful Python user writes.
"""

import argparse
import email
import email.policy
import imaplib
import json
import os
import re
import sys

HEADER_ITEMS = "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER] BODY)"
ALL_ITEMS = "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])"
POLICY = email.policy.default


def addresses(msg, name):
    """`Name <addr>` joined by ', ', as cfimap shows an address header."""
    try:
        header = msg[name]
        if header is None:
            return ""
        out = []
        for a in header.addresses:
            addr = a.addr_spec
            out.append(f"{a.display_name} <{addr}>" if a.display_name else addr)
        return ", ".join(out)
    except Exception:
        return str(msg.get(name, ""))


def header_columns(msg, raw_header):
    try:
        subject = msg["subject"]
        subject = None if subject is None else str(subject)
    except Exception:
        subject = None
    try:
        date = msg["date"].datetime.isoformat() if msg["date"] is not None else None
    except Exception:
        date = None
    frm = addresses(msg, "from")
    reply = addresses(msg, "reply-to") or frm
    return {
        "SUBJECT": subject,
        "FROM": frm,
        "TO": addresses(msg, "to"),
        "CC": addresses(msg, "cc"),
        "REPLYTO": reply,
        "MESSAGEID": (msg.get("message-id") or "").strip(),
        "DATE": date,
        "SENTDATE": date,
        "HEADER": raw_header.decode("utf-8", "replace"),
    }


def flag_columns(flags):
    flags = [f.decode() if isinstance(f, bytes) else f for f in flags]
    system = {"\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Recent", "\\Seen"}
    return {
        "ANSWERED": "\\Answered" in flags,
        "DELETED": "\\Deleted" in flags,
        "DRAFT": "\\Draft" in flags,
        "FLAGGED": "\\Flagged" in flags,
        "RECENT": "\\Recent" in flags,
        "SEEN": "\\Seen" in flags,
        "USER": [f for f in flags if f not in system],
    }


def header_block(raw):
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[: end + 2]


SAFE = re.compile(r"[^\w.\- ]+")


def save_attachments(msg, directory):
    names, paths = [], []
    for n, part in enumerate(msg.iter_attachments()):
        name = part.get_filename() or f"part{n}"
        safe = SAFE.sub("_", os.path.basename(name)).strip(". ") or f"attachment{n}"
        if part.get_content_type() == "message/rfc822":
            data = part.get_payload(0).as_bytes()
        else:
            data = part.get_payload(decode=True) or b""
        path = os.path.join(directory, safe[:200])
        with open(path, "wb") as f:
            f.write(data)
        names.append(name)
        paths.append(path)
    return names, paths


def body_columns(msg, raw, directory):
    def text_of(kinds):
        try:
            part = msg.get_body(preferencelist=kinds)
            return None if part is None else part.get_content()
        except Exception:
            return None

    text = text_of(("plain",))
    html = text_of(("html",))
    names, paths = save_attachments(msg, directory) if directory else ([], [])
    head = header_block(raw)
    return {
        "BODY": text if text is not None else html,
        "TEXTBODY": text,
        "HTMLBODY": html,
        "ATTACHMENTS": names,
        "ATTACHMENTFILES": paths,
        "LINES": raw[len(head) + 2 :].count(b"\n"),
    }


def row(seq, uid, flags, size, internaldate, raw, lines, job, directory):
    msg = email.message_from_bytes(raw, policy=POLICY)
    out = {"MESSAGENUMBER": seq, "UID": uid}
    out.update(header_columns(msg, raw if job == "headers" else header_block(raw)))
    out.update({"RXDDATE": internaldate, "SIZE": size, "LINES": lines})
    out.update(flag_columns(flags))
    if job == "all":
        out.update(body_columns(msg, raw, directory))
    return out


# ---- imaplib -------------------------------------------------------------------------------

META = re.compile(
    rb"^(\d+) \(|UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"|FLAGS \(([^)]*)\)"
)
TEXT_LINES = re.compile(rb'BODY \("text" "[^"]*" .*? (\d+) (\d+)\)', re.IGNORECASE)


def run_imaplib(args, out):
    conn = imaplib.IMAP4("127.0.0.1", args.port)
    conn.login(args.user, os.environ["CFIMAP_PASSWORD"])
    conn.select(f'"{args.folder}"', readonly=True)
    items = HEADER_ITEMS if args.job == "headers" else ALL_ITEMS
    typ, data = conn.uid("FETCH", "1:*", items)
    if typ != "OK":
        raise SystemExit(f"FETCH: {typ} {data}")
    # imaplib gives (meta, literal) tuples, with the rest of each response in the next bytes item.
    i = 0
    while i < len(data):
        item = data[i]
        if not isinstance(item, tuple):
            i += 1
            continue
        meta, raw = item
        rest = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b""
        whole = meta + b" " + rest
        seq = uid = size = None
        internaldate = None
        flags = []
        for m in META.finditer(whole):
            if m.group(1):
                seq = int(m.group(1))
            elif m.group(2):
                uid = int(m.group(2))
            elif m.group(3):
                size = int(m.group(3))
            elif m.group(4):
                internaldate = m.group(4).decode()
            elif m.group(5) is not None:
                flags = m.group(5).split()
        lines = None
        if args.job == "headers":
            m = TEXT_LINES.search(whole)
            lines = int(m.group(2)) if m else None
        out.write(json.dumps(row(seq, uid, flags, size, internaldate, raw, lines, args.job, args.attachments)))
        out.write("\n")
        i += 2
    conn.logout()


# ---- IMAPClient ----------------------------------------------------------------------------


def run_imapclient(args, out):
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=args.port, ssl=False, use_uid=True)
    client.login(args.user, os.environ["CFIMAP_PASSWORD"])
    client.select_folder(args.folder, readonly=True)
    if args.job == "headers":
        items = ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[HEADER]", "BODY"]
        key = b"BODY[HEADER]"
    else:
        items = ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]"]
        key = b"BODY[]"
    # IMAPClient fetches the messages it is given: the UIDs come from a SEARCH, as cfimap's do.
    for uid, data in client.fetch(client.search("ALL"), items).items():
        lines = None
        structure = data.get(b"BODY")
        if structure is not None and not structure.is_multipart:
            if structure[0].lower() == b"text" and len(structure) > 7:
                lines = structure[7]
        internaldate = data.get(b"INTERNALDATE")
        out.write(
            json.dumps(
                row(
                    data.get(b"SEQ"),
                    uid,
                    data.get(b"FLAGS", ()),
                    data.get(b"RFC822.SIZE"),
                    internaldate.isoformat() if internaldate else None,
                    data[key],
                    lines,
                    args.job,
                    args.attachments,
                )
            )
        )
        out.write("\n")
    client.logout()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("library", choices=["imaplib", "imapclient"])
    p.add_argument("job", choices=["headers", "all"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--folder", required=True)
    p.add_argument("--attachments")
    args = p.parse_args()
    if args.attachments:
        os.makedirs(args.attachments, exist_ok=True)
    out = sys.stdout
    if args.library == "imaplib":
        run_imaplib(args, out)
    else:
        run_imapclient(args, out)
    out.flush()


if __name__ == "__main__":
    main()
