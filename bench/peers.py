"""cfimap's peers in `make bench`: its jobs done with Python's imaplib and with IMAPClient.

    python3 bench/peers.py {imaplib|imapclient} {headers|all} --host H --port P --user U
                           --folder F --out FILE [--attachments DIR] [--header NAME:TEXT]
    python3 bench/peers.py {imaplib|imapclient} folders --host H --port P --user U --out FILE

The password comes from CFIMAP_PASSWORD (never the command line). Each run logs in (plain
LOGIN), EXAMINEs the folder, sends ONE `UID FETCH` of every message with the items cfimap sends
(imaplib: `1:*`; IMAPClient: the UIDs of a `UID SEARCH ALL`, as cfimap does, 10,000 a FETCH
since it cannot send ranges and Dovecot limits a command line to 64 KiB), and turns
every message into the row cfimap gives, decoded with the email package (policy.default:
RFC 2047 in any charset, RFC 2231 parameters, address lists, dates): one JSON object per line
into --out.

- headers (cfimap getHeaderOnly): UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER] BODY;
  LINES from the BODY structure (single text parts only, as cfimap).
- all (cfimap getAll --attachmentpath): UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[];
  the bodies too, and every attachment saved into --attachments.
- --header NAME:TEXT (cfimap --filter header=NAME:TEXT): only the messages whose header NAME
  contains TEXT, found by one `UID SEARCH HEADER NAME TEXT`, then fetched by UID.
- folders (cfimap listAllFolders --recurse): `LIST "" "*"`, then `STATUS (MESSAGES UNSEEN
  RECENT)` of every selectable folder, one command at a time (neither library pipelines);
  one row per folder with cfimap's columns. No EXAMINE and no --folder.

Nothing here is slowed down on purpose, and nothing is skipped that cfimap does: it is what a
careful Python programmer writes with each library's ordinary API.
"""

import argparse
import datetime
import email
import email.policy
import imaplib
import json
import os
import re
import sys

HEADER_ITEMS = ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[HEADER]", "BODY"]
ALL_ITEMS = ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]"]
POLICY = email.policy.default

# ---- rows, the same for both libraries ---------------------------------------------------


def address_list(msg, name):
    """An address header as `Name <addr>` joined by ', ' (a bare address without a name)."""
    header = msg[name]
    if header is None:
        return ""
    out = []
    for a in header.addresses:
        name_part = a.display_name.strip()
        if name_part and any(c in name_part for c in ',;<>"@:'):
            name_part = '"' + name_part.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(f"{name_part} <{a.addr_spec}>" if name_part else a.addr_spec)
    return ", ".join(out)


def sent_date(msg):
    """The Date header as ISO 8601 (RFC 3339), None if missing or invalid."""
    header = msg["date"]
    if header is None or header.datetime is None:
        return None
    return header.datetime.isoformat()


def header_block(raw):
    """Everything before the empty line that ends the header (the header itself if none)."""
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[: end + 2]


def header_columns(msg, raw_header):
    subject = msg["subject"]
    frm = address_list(msg, "from")
    date = sent_date(msg)
    message_id = msg.get("message-id")
    return {
        "SUBJECT": None if subject is None else str(subject),
        "FROM": frm,
        "TO": address_list(msg, "to"),
        "CC": address_list(msg, "cc"),
        "REPLYTO": address_list(msg, "reply-to") or frm,
        "MESSAGEID": "" if message_id is None else " ".join(str(message_id).split()),
        "DATE": date,
        "SENTDATE": date,
        "HEADER": raw_header.decode("utf-8", "replace"),
    }


SYSTEM_FLAGS = {"\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Recent", "\\Seen"}


def flag_columns(flags):
    flags = [f.decode() if isinstance(f, bytes) else f for f in flags]
    return {
        "ANSWERED": "\\Answered" in flags,
        "DELETED": "\\Deleted" in flags,
        "DRAFT": "\\Draft" in flags,
        "FLAGGED": "\\Flagged" in flags,
        "RECENT": "\\Recent" in flags,
        "SEEN": "\\Seen" in flags,
        "USER": [f for f in flags if f not in SYSTEM_FLAGS and not f.startswith("\\")],
    }


UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')


def safe_name(name, n):
    """A file name that stays in the directory: path separators and controls replaced."""
    base = UNSAFE.sub("_", os.path.basename(name or "")).strip(" .")
    return base[:200] or f"attachment-{n}"


def body_columns(msg, raw, directory):
    def content(kind):
        part = msg.get_body(preferencelist=(kind,))
        return None if part is None else part.get_content()

    text = content("plain")
    html = content("html")
    names, paths = [], []
    for n, part in enumerate(msg.iter_attachments()):
        name = part.get_filename() or f"attachment-{n}"
        names.append(name)
        if directory:
            data = part.get_payload(decode=True) or b""
            path = os.path.join(directory, safe_name(name, n))
            with open(path, "wb") as f:
                f.write(data)
            paths.append(os.path.abspath(path))
    head = header_block(raw)
    return {
        "BODY": text if text is not None else html,
        "TEXTBODY": text,
        "HTMLBODY": html,
        "ATTACHMENTS": names,
        "ATTACHMENTFILES": paths,
        # Line ends of the body, as the server counts them for BODY's line count.
        "LINES": raw.count(b"\n", len(head) + 2),
    }


def row(seq, uid, flags, size, internaldate, raw, lines, job, directory):
    msg = email.message_from_bytes(raw, policy=POLICY)
    out = {"MESSAGENUMBER": seq, "UID": uid}
    out.update(header_columns(msg, header_block(raw)))
    out.update({"RXDDATE": internaldate, "SIZE": size, "LINES": lines})
    out.update(flag_columns(flags))
    if job == "all":
        out.update(body_columns(msg, raw, directory))
    return out


def write_row(out, values):
    out.write(json.dumps(values, ensure_ascii=False))
    out.write("\n")


# ---- imaplib ------------------------------------------------------------------------------

# The non-literal parts of one FETCH response: imaplib leaves them to its caller.
META = re.compile(
    rb'^(\d+) \(|UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE "([^"]+)"|FLAGS \(([^)]*)\)'
)
# A single text part's BODY structure: ("text" "subtype" (params) id desc encoding size lines
TEXT_BODY = re.compile(rb'BODY \("text" "[^"]*" (?:\([^)]*\)|NIL) \S+ \S+ \S+ \d+ (\d+)', re.I)


def iso_internaldate(value):
    return datetime.datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S %z").isoformat()


def run_imaplib(args, out):
    conn = imaplib.IMAP4(args.host, args.port)
    conn.login(args.user, os.environ["CFIMAP_PASSWORD"])
    # imaplib sends arguments as given: a mailbox name needs its quotes from the caller.
    quoted = '"' + args.folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
    typ, data = conn.select(quoted, readonly=True)
    if typ != "OK":
        raise SystemExit(f"EXAMINE {args.folder}: {data}")
    items = "(" + " ".join(HEADER_ITEMS if args.job == "headers" else ALL_ITEMS) + ")"
    uids = "1:*"
    if args.header:
        name, text = args.header.split(":", 1)
        typ, found = conn.uid("SEARCH", "HEADER", name, '"' + text + '"')
        if typ != "OK":
            raise SystemExit(f"UID SEARCH: {typ} {found}")
        uids = b",".join(found[0].split()).decode()
        if not uids:
            conn.logout()
            return
    typ, data = conn.uid("FETCH", uids, items)
    if typ != "OK":
        raise SystemExit(f"UID FETCH: {typ} {data}")
    # Each message: a (text up to the literal, literal) tuple, then the rest of its line.
    for i, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        meta, raw = item
        rest = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b""
        whole = meta + rest
        seq = uid = size = internaldate = None
        flags = []
        for m in META.finditer(whole):
            if m.group(1):
                seq = int(m.group(1))
            elif m.group(2):
                uid = int(m.group(2))
            elif m.group(3):
                size = int(m.group(3))
            elif m.group(4):
                internaldate = iso_internaldate(m.group(4).decode())
            elif m.group(5) is not None:
                flags = m.group(5).split()
        lines = None
        if args.job == "headers":
            m = TEXT_BODY.search(whole)
            lines = int(m.group(1)) if m else None
        write_row(out, row(seq, uid, flags, size, internaldate, raw, lines, args.job, args.attachments))
    conn.logout()


# A LIST answer as imaplib returns it: (attributes) "delimiter" name, the name an atom or a
# quoted string (a name sent as a literal comes as a tuple, handled in run_imaplib_folders).
LIST_LINE = re.compile(rb'^\(([^)]*)\) (NIL|"(?:\\.|[^"\\])*") (.*)$')
# A STATUS answer's counts.
STATUS_COUNT = re.compile(rb"(MESSAGES|UNSEEN|RECENT) (\d+)")


def unquote(value):
    """An IMAP atom or quoted string as text (quoted: its backslash escapes undone)."""
    if value.startswith(b'"') and value.endswith(b'"'):
        value = re.sub(rb"\\(.)", rb"\1", value[1:-1])
    return value.decode("utf-8", "replace")


def folder_row(name, delimiter, attributes, counts):
    """cfimap's listAllFolders row of one folder."""
    special = [a for a in attributes if a in ("\\All", "\\Archive", "\\Drafts", "\\Flagged",
                                             "\\Junk", "\\Sent", "\\Trash")]
    parent, _, leaf = name.rpartition(delimiter) if delimiter else ("", "", name)
    return {
        "NAME": leaf,
        "FULLNAME": name,
        "PARENT": parent,
        "DELIMITER": delimiter,
        "TOTALMESSAGES": counts.get("MESSAGES"),
        "UNREAD": counts.get("UNSEEN"),
        "NEW": counts.get("RECENT"),
        "SPECIALUSE": special[0] if special else None,
        "ATTRIBUTES": attributes,
    }


def selectable(attributes):
    """Whether a folder with these LIST attributes has counts (not \\Noselect, \\NonExistent)."""
    lowered = [a.lower() for a in attributes]
    return "\\noselect" not in lowered and "\\nonexistent" not in lowered


def run_imaplib_folders(args, out):
    conn = imaplib.IMAP4(args.host, args.port)
    conn.login(args.user, os.environ["CFIMAP_PASSWORD"])
    typ, data = conn.list('""', '"*"')
    if typ != "OK":
        raise SystemExit(f"LIST: {typ} {data}")
    for item in data:
        if isinstance(item, tuple):
            # The name came as a literal: the text before it, then the name.
            head, literal = item
            m = LIST_LINE.match(head.rstrip() + b" x")
            name = literal.decode("utf-8", "replace")
        else:
            m = LIST_LINE.match(item)
            name = unquote(m.group(3)) if m else None
        if not m:
            raise SystemExit(f"LIST: cannot read {item!r}")
        attributes = [a.decode() for a in m.group(1).split()]
        delimiter = None if m.group(2) == b"NIL" else unquote(m.group(2))
        if not selectable(attributes):
            write_row(out, folder_row(name, delimiter, attributes, {}))
            continue
        quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        typ, status = conn.status(quoted, "(MESSAGES UNSEEN RECENT)")
        if typ != "OK":
            raise SystemExit(f"STATUS {name}: {typ} {status}")
        counts = {k.decode(): int(v) for k, v in STATUS_COUNT.findall(status[0])}
        write_row(out, folder_row(name, delimiter, attributes, counts))
    conn.logout()


# ---- IMAPClient ---------------------------------------------------------------------------


# UIDs of up to 6 digits and their commas: 10,000 of them fit a 64 KiB command line.
FETCH_BATCH = 10_000


def run_imapclient(args, out):
    from imapclient import IMAPClient

    client = IMAPClient(args.host, port=args.port, ssl=False, use_uid=True)
    # INTERNALDATE with its offset, as cfimap gives it.
    client.normalise_times = False
    client.login(args.user, os.environ["CFIMAP_PASSWORD"])
    client.select_folder(args.folder, readonly=True)
    if args.job == "headers":
        items, key = HEADER_ITEMS, b"BODY[HEADER]"
    else:
        items, key = ALL_ITEMS, b"BODY[]"
    # IMAPClient 4 keeps only the answers for the message ids it was given, as ints, so a
    # range such as "1:*" fails; like cfimap, it asks for the UIDs first (one UID SEARCH ALL)
    # and fetches them. It sends them one by one, never as ranges, and Dovecot refuses a
    # command line over 64 KiB: so at most FETCH_BATCH UIDs a UID FETCH (one FETCH for up to
    # 10,000 messages, as for folder (a); ten for the 100,000 of the scale rows).
    if args.header:
        name, text = args.header.split(":", 1)
        uids = client.search(["HEADER", name, text])
    else:
        uids = client.search("ALL")
    for start in range(0, len(uids), FETCH_BATCH):
        fetch_batch(client, uids[start : start + FETCH_BATCH], items, key, args, out)
    client.logout()


def fetch_batch(client, uids, items, key, args, out):
    """One UID FETCH of `uids`, a row for each message."""
    for uid, data in client.fetch(uids, items).items():
        lines = None
        structure = data.get(b"BODY")
        if structure is not None and not structure.is_multipart and structure[0].lower() == b"text":
            lines = structure[7]
        internaldate = data.get(b"INTERNALDATE")
        write_row(
            out,
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
            ),
        )


def run_imapclient_folders(args, out):
    from imapclient import IMAPClient

    client = IMAPClient(args.host, port=args.port, ssl=False, use_uid=True)
    client.login(args.user, os.environ["CFIMAP_PASSWORD"])
    for flags, delimiter, name in client.list_folders("", "*"):
        attributes = [f.decode() if isinstance(f, bytes) else f for f in flags]
        delimiter = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
        counts = {}
        if selectable(attributes):
            status = client.folder_status(name, [b"MESSAGES", b"UNSEEN", b"RECENT"])
            counts = {k.decode(): v for k, v in status.items()}
        write_row(out, folder_row(name, delimiter, attributes, counts))
    client.logout()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("library", choices=["imaplib", "imapclient"])
    p.add_argument("job", choices=["headers", "all", "folders"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--folder", help="headers, all: the folder to read")
    p.add_argument("--out", required=True, help="the NDJSON rows")
    p.add_argument("--attachments", help="all: save attachments here")
    p.add_argument("--header", help="headers, all: only messages whose header NAME contains TEXT")
    args = p.parse_args()
    if "CFIMAP_PASSWORD" not in os.environ:
        p.error("set CFIMAP_PASSWORD")
    if args.job != "folders" and not args.folder:
        p.error(f"{args.job} needs --folder")
    if args.attachments:
        os.makedirs(args.attachments, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as out:
        if args.job == "folders":
            if args.library == "imaplib":
                run_imaplib_folders(args, out)
            else:
                run_imapclient_folders(args, out)
        elif args.library == "imaplib":
            run_imaplib(args, out)
        else:
            run_imapclient(args, out)


if __name__ == "__main__":
    sys.exit(main())
