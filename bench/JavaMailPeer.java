// cfimap's JavaMail peer in `make bench`: its message jobs done with Jakarta Mail (JavaMail 2),
// the library ColdFusion's <cfimap> runs on.
//
//     javac -cp MAIL_JARS -d DIR bench/JavaMailPeer.java
//     java -cp MAIL_JARS:DIR JavaMailPeer {headers|all} --host H --port P --user U --folder F
//                                         --out FILE [--attachments DIR] [--header NAME:TEXT]
//
// The password comes from CFIMAP_PASSWORD (never the command line). Each run logs in over
// plaintext, opens the folder read-only, and has JavaMail fetch every message in one
// `FetchProfile` (one FETCH command of all of them, as cfimap sends), then turns each into the
// row cfimap gives, one JSON object per line into --out:
//
// - headers (cfimap getHeaderOnly): ENVELOPE, FLAGS, BODYSTRUCTURE (CONTENT_INFO), UID and the
//   header (IMAPFolder.FetchProfileItem.HEADERS): what a <cfimap action="getHeaderOnly"> built on
//   JavaMail asks for; the columns come from JavaMail's getters.
// - all (cfimap getAll --attachmentpath): the whole message (IMAPFolder.FetchProfileItem.MESSAGE)
//   with its FLAGS and UID, parsed by JavaMail: the text and HTML bodies, every attachment saved
//   into --attachments.
// - --header NAME:TEXT (cfimap --filter header=NAME:TEXT): only the messages a server-side
//   `SEARCH HEADER NAME TEXT` finds (JavaMail's HeaderTerm), then fetched as above.
//
// Nothing here is slowed down on purpose, and nothing is skipped that cfimap does: it is what a
// careful Java programmer writes with JavaMail's ordinary API. Each run is a whole process, its
// JVM's start included, as every tool of the bench is.

import com.sun.mail.imap.IMAPFolder;
import com.sun.mail.imap.IMAPMessage;
import jakarta.mail.Address;
import jakarta.mail.FetchProfile;
import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.UIDFolder;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.search.HeaderTerm;
import java.io.BufferedWriter;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public final class JavaMailPeer {
    private JavaMailPeer() {}

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        if (argv.length < 1 || !(argv[0].equals("headers") || argv[0].equals("all"))) {
            usage();
        }
        String job = argv[0];
        for (int i = 1; i + 1 < argv.length; i += 2) {
            args.put(argv[i], argv[i + 1]);
        }
        String password = System.getenv("CFIMAP_PASSWORD");
        if (password == null || !args.containsKey("--port") || !args.containsKey("--user")
                || !args.containsKey("--folder") || !args.containsKey("--out")) {
            usage();
        }
        String attachments = args.get("--attachments");
        if (attachments != null) {
            new File(attachments).mkdirs();
        }

        Properties props = new Properties();
        props.put("mail.imap.ssl.enable", "false");
        Session session = Session.getInstance(props);
        Store store = session.getStore("imap");
        store.connect(args.getOrDefault("--host", "127.0.0.1"),
                Integer.parseInt(args.get("--port")), args.get("--user"), password);
        IMAPFolder folder = (IMAPFolder) store.getFolder(args.get("--folder"));
        folder.open(Folder.READ_ONLY);

        Message[] messages;
        String header = args.get("--header");
        if (header != null) {
            String[] nameText = header.split(":", 2);
            messages = folder.search(new HeaderTerm(nameText[0], nameText[1]));
        } else {
            messages = folder.getMessages();
        }
        FetchProfile profile = new FetchProfile();
        profile.add(FetchProfile.Item.FLAGS);
        profile.add(UIDFolder.FetchProfileItem.UID);
        profile.add(IMAPFolder.FetchProfileItem.INTERNALDATE);
        profile.add(IMAPFolder.FetchProfileItem.SIZE);
        if (job.equals("headers")) {
            profile.add(FetchProfile.Item.ENVELOPE);
            profile.add(FetchProfile.Item.CONTENT_INFO);
            profile.add(IMAPFolder.FetchProfileItem.HEADERS);
        } else {
            profile.add(IMAPFolder.FetchProfileItem.MESSAGE);
        }
        folder.fetch(messages, profile);

        try (Writer out = new BufferedWriter(new OutputStreamWriter(
                new FileOutputStream(args.get("--out")), StandardCharsets.UTF_8))) {
            for (Message m : messages) {
                Map<String, Object> row = row(folder, (IMAPMessage) m);
                if (job.equals("all")) {
                    bodies((IMAPMessage) m, row, attachments);
                }
                writeJson(out, row);
                out.write('\n');
            }
        }
        folder.close(false);
        store.close();
    }

    private static void usage() {
        System.err.println("usage: JavaMailPeer {headers|all} --host H --port P --user U --folder F"
                + " --out FILE [--attachments DIR] [--header NAME:TEXT] (password in CFIMAP_PASSWORD)");
        System.exit(2);
    }

    private static final DateTimeFormatter ISO =
            DateTimeFormatter.ISO_OFFSET_DATE_TIME.withZone(ZoneOffset.UTC);

    private static String iso(Date date) {
        return date == null ? null : ISO.format(date.toInstant());
    }

    /** An address list as `Name <addr>` joined by ", " (a bare address without a name). */
    private static String addresses(Address[] list) {
        if (list == null) {
            return "";
        }
        StringBuilder s = new StringBuilder();
        for (Address a : list) {
            if (s.length() > 0) {
                s.append(", ");
            }
            s.append(a instanceof InternetAddress ? ((InternetAddress) a).toUnicodeString()
                    : a.toString());
        }
        return s.toString();
    }

    /** The header columns and flags of cfimap's getHeaderOnly row. */
    private static Map<String, Object> row(IMAPFolder folder, IMAPMessage m) throws Exception {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("MESSAGENUMBER", m.getMessageNumber());
        row.put("UID", folder.getUID(m));
        row.put("SUBJECT", m.getSubject());
        String from = addresses(m.getFrom());
        row.put("FROM", from);
        row.put("TO", addresses(m.getRecipients(Message.RecipientType.TO)));
        row.put("CC", addresses(m.getRecipients(Message.RecipientType.CC)));
        String replyTo = addresses(m.getReplyTo());
        row.put("REPLYTO", replyTo.isEmpty() ? from : replyTo);
        row.put("MESSAGEID", m.getMessageID());
        String sent = iso(m.getSentDate());
        row.put("DATE", sent);
        row.put("SENTDATE", sent);
        StringBuilder header = new StringBuilder();
        for (Enumeration<String> lines = m.getAllHeaderLines(); lines.hasMoreElements(); ) {
            header.append(lines.nextElement()).append("\r\n");
        }
        row.put("HEADER", header.toString());
        row.put("RXDDATE", iso(m.getReceivedDate()));
        row.put("SIZE", m.getSize());
        int lines = m.getLineCount();
        row.put("LINES", lines < 0 ? null : lines);
        Flags flags = m.getFlags();
        row.put("ANSWERED", flags.contains(Flags.Flag.ANSWERED));
        row.put("DELETED", flags.contains(Flags.Flag.DELETED));
        row.put("DRAFT", flags.contains(Flags.Flag.DRAFT));
        row.put("FLAGGED", flags.contains(Flags.Flag.FLAGGED));
        row.put("RECENT", flags.contains(Flags.Flag.RECENT));
        row.put("SEEN", flags.contains(Flags.Flag.SEEN));
        List<Object> user = new ArrayList<>();
        for (String f : flags.getUserFlags()) {
            user.add(f);
        }
        row.put("USER", user);
        return row;
    }

    /** getAll's columns: the bodies, and the attachments saved into `directory`. */
    private static void bodies(IMAPMessage m, Map<String, Object> row, String directory)
            throws Exception {
        Bodies b = new Bodies();
        walk(m, b, directory);
        row.put("BODY", b.text != null ? b.text : b.html);
        row.put("TEXTBODY", b.text);
        row.put("HTMLBODY", b.html);
        row.put("ATTACHMENTS", b.names);
        row.put("ATTACHMENTFILES", b.paths);
    }

    private static final class Bodies {
        String text;
        String html;
        final List<Object> names = new ArrayList<>();
        final List<Object> paths = new ArrayList<>();
    }

    private static void walk(Part part, Bodies b, String directory) throws Exception {
        if (part.isMimeType("multipart/*")) {
            Multipart mp = (Multipart) part.getContent();
            for (int i = 0; i < mp.getCount(); i++) {
                walk(mp.getBodyPart(i), b, directory);
            }
            return;
        }
        String name = part.getFileName();
        boolean attachment = Part.ATTACHMENT.equalsIgnoreCase(part.getDisposition()) || name != null;
        if (!attachment && part.isMimeType("text/plain") && b.text == null) {
            b.text = (String) part.getContent();
        } else if (!attachment && part.isMimeType("text/html") && b.html == null) {
            b.html = (String) part.getContent();
        } else if (attachment) {
            String shown = name != null ? name : "attachment-" + b.names.size();
            b.names.add(shown);
            if (directory != null && part instanceof MimeBodyPart) {
                File file = new File(directory, safeName(shown, b.names.size()));
                ((MimeBodyPart) part).saveFile(file);
                b.paths.add(file.getAbsolutePath());
            }
        }
    }

    /** A file name that stays in the directory: separators and controls replaced. */
    private static String safeName(String name, int n) {
        String base = new File(name).getName().replaceAll("[\\x00-\\x1f/\\\\:*?\"<>|]+", "_").trim();
        return base.isEmpty() ? "attachment-" + n : base;
    }

    // ---- JSON, for the rows (no JSON library is on Debian's classpath by default) --------

    private static void writeJson(Writer out, Object value) throws IOException {
        if (value == null) {
            out.write("null");
        } else if (value instanceof String) {
            writeString(out, (String) value);
        } else if (value instanceof Number || value instanceof Boolean) {
            out.write(value.toString());
        } else if (value instanceof Map) {
            out.write('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (!first) {
                    out.write(',');
                }
                first = false;
                writeString(out, e.getKey().toString());
                out.write(':');
                writeJson(out, e.getValue());
            }
            out.write('}');
        } else if (value instanceof List) {
            out.write('[');
            boolean first = true;
            for (Object item : (List<?>) value) {
                if (!first) {
                    out.write(',');
                }
                first = false;
                writeJson(out, item);
            }
            out.write(']');
        } else {
            writeString(out, value.toString());
        }
    }

    private static void writeString(Writer out, String s) throws IOException {
        out.write('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.write("\\\"");
                case '\\' -> out.write("\\\\");
                case '\n' -> out.write("\\n");
                case '\r' -> out.write("\\r");
                case '\t' -> out.write("\\t");
                default -> {
                    if (c < 0x20) {
                        out.write(String.format("\\u%04x", (int) c));
                    } else {
                        out.write(c);
                    }
                }
            }
        }
        out.write('"');
    }
}
