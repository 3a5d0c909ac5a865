//! Reading `cfimap run` scripts: one action per line, written as the tag or
//! as a JSON object, each turned into the words of a command line so that
//! a script line and a command line are checked by the same parser.
//!
//! ```text
//! <cfimap action="open" connection="c" server="imap.example.com" username="alice">
//! <cfimap action="getHeaderOnly" connection="c" folder="INBOX" maxRows="10" name="recent">
//! <cfimap action="getAll" connection="c" name="unread">
//!   <cfimapfilter name="flag" value="unseen">
//! </cfimap>
//! {"action": "markRead", "connection": "c", "uid": [1, 2, 3]}
//! <cfimap action="close" connection="c">
//! ```
//!
//! Attribute values are static: ColdFusion would evaluate `#expressions#`,
//! which a script cannot, so a lone `#` is an error naming the line (`##`
//! is a literal `#`, as in CFML). A getHeaderOnly or getAll tag that ends
//! in `>` rather than `/>` may have a body of `<cfimapfilter>` lines, closed
//! by `</cfimap>`; the line after such a tag is read before the action runs,
//! so a program driving `cfimap run` line by line writes `/>` or JSON.

use std::io::BufRead;

use super::args::Action;

/// One action of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The line it starts on, from 1.
    pub line: usize,
    /// The `action` attribute.
    pub action: Action,
    /// The `connection` attribute.
    pub connection: Option<String>,
    /// The `name` attribute: what the result is called.
    pub name: Option<String>,
    /// Every other attribute as a `--name=value` word, filters as
    /// `--filter=NAME=VALUE`.
    pub words: Vec<String>,
}

/// A line that is not a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// The statements of a script, read as they are needed.
pub struct Script<R> {
    reader: R,
    line: usize,
    /// A line read ahead (after a tag that may have a body) and not part of
    /// it.
    pending: Option<(usize, String)>,
    /// Reading failed: the script ends.
    broken: bool,
}

impl<R: BufRead> Script<R> {
    /// A script read from `reader`.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: 0,
            pending: None,
            broken: false,
        }
    }

    /// The next line that is not blank or a comment.
    fn next_line(&mut self) -> Option<Result<(usize, String), ScriptError>> {
        if let Some(pending) = self.pending.take() {
            return Some(Ok(pending));
        }
        if self.broken {
            return None;
        }
        loop {
            let mut text = String::new();
            self.line += 1;
            match self.reader.read_line(&mut text) {
                Ok(0) => return None,
                Ok(_) => {
                    let trimmed = text.trim();
                    if trimmed.is_empty() || trimmed.starts_with('#') {
                        continue;
                    }
                    return Some(Ok((self.line, trimmed.to_owned())));
                }
                Err(e) => {
                    // The same error would come again: say it once and end.
                    self.broken = true;
                    return Some(Err(ScriptError {
                        line: self.line,
                        message: format!("cannot read the script: {e}"),
                    }));
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for Script<R> {
    type Item = Result<Statement, ScriptError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (line, text) = match self.next_line()? {
            Ok(next) => next,
            Err(e) => return Some(Err(e)),
        };
        let fail = |message: String| Some(Err(ScriptError { line, message }));
        if text.starts_with('{') {
            return Some(json_statement(line, &text));
        }
        let tag = match Tag::parse(&text) {
            Ok(tag) => tag,
            Err(message) => return fail(message),
        };
        match tag.name.as_str() {
            "cfimap" => {}
            "cfimapfilter" => {
                return fail(
                    "a <cfimapfilter> belongs inside a getHeaderOnly or getAll tag".into(),
                );
            }
            _ => return fail(format!("expected a <cfimap> tag, found <{}>", tag.name)),
        }
        if tag.closing {
            return fail("</cfimap> closes no open <cfimap> tag".into());
        }
        let mut statement = match statement(line, tag.attributes) {
            Ok(s) => s,
            Err(message) => return fail(message),
        };
        let reads = matches!(statement.action, Action::GetHeaderOnly | Action::GetAll);
        if reads && !tag.self_closing {
            // The body: <cfimapfilter> lines, then </cfimap>.
            loop {
                let (next_line, next) = match self.next_line() {
                    None => break,
                    Some(Ok(next)) => next,
                    Some(Err(e)) => return Some(Err(e)),
                };
                // A body ends at </cfimap>, or at the next statement. Any
                // other line fails the statement: a read must never run
                // without a filter its script meant it to have.
                let in_body = |message: String| {
                    Some(Err(ScriptError {
                        line: next_line,
                        message: format!("in the body of the tag on line {line}: {message}"),
                    }))
                };
                if next.starts_with('{') {
                    self.pending = Some((next_line, next));
                    break;
                }
                match Tag::parse(&next) {
                    Ok(t) if t.name == "cfimapfilter" && !t.closing => {
                        match filter_word(t.attributes) {
                            Ok(word) => statement.words.push(word),
                            Err(message) => return in_body(message),
                        }
                    }
                    Ok(t) if t.name == "cfimap" && t.closing => break,
                    Ok(t) if t.name == "cfimap" => {
                        self.pending = Some((next_line, next));
                        break;
                    }
                    Ok(t) => {
                        return in_body(format!("expected <cfimapfilter>, found <{}>", t.name));
                    }
                    Err(message) => return in_body(message),
                }
            }
        }
        Some(Ok(statement))
    }
}

/// One tag of a line: `<name attr="value" …>`, `<name … />` or `</name>`.
struct Tag {
    /// Lower case.
    name: String,
    closing: bool,
    self_closing: bool,
    attributes: Vec<(String, String)>,
}

impl Tag {
    fn parse(text: &str) -> Result<Tag, String> {
        let not_a_tag = || "expected a <cfimap …> tag or a JSON object".to_owned();
        let inner = text
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .ok_or_else(not_a_tag)?;
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let (self_closing, inner) = match inner.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let end = inner
            .find(|c: char| c.is_whitespace())
            .unwrap_or(inner.len());
        let name = inner[..end].to_ascii_lowercase();
        if name.is_empty() {
            return Err(not_a_tag());
        }
        let attributes = attributes(&inner[end..])?;
        if closing && (self_closing || !attributes.is_empty()) {
            return Err(format!("</{name}> takes no attributes"));
        }
        Ok(Tag {
            name,
            closing,
            self_closing,
            attributes,
        })
    }
}

/// `name="value" name='value' name=value`, names in lower case; `""` inside
/// double quotes (and `''` inside single ones) is the quote itself, as in
/// CFML.
fn attributes(mut text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok(out);
        }
        let end = text
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(text.len());
        let name = text[..end].to_ascii_lowercase();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "expected an attribute name at {:?}",
                first_word(text)
            ));
        }
        text = text[end..].trim_start();
        let Some(rest) = text.strip_prefix('=') else {
            return Err(format!(
                "attribute {name} has no value (write {name}=\"…\")"
            ));
        };
        text = rest.trim_start();
        let raw;
        match text.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let mut value = String::new();
                let mut chars = text[1..].char_indices();
                let mut closed = None;
                while let Some((i, c)) = chars.next() {
                    if c == quote {
                        if text[1 + i + 1..].starts_with(quote) {
                            value.push(quote);
                            chars.next();
                            continue;
                        }
                        closed = Some(1 + i + 1);
                        break;
                    }
                    value.push(c);
                }
                let Some(after) = closed else {
                    return Err(format!("the value of {name} has no closing {quote}"));
                };
                raw = value;
                text = &text[after..];
                if text.starts_with(|c: char| !c.is_whitespace()) {
                    return Err(format!("expected a space after the value of {name}"));
                }
            }
            _ => {
                let end = text.find(|c: char| c.is_whitespace()).unwrap_or(text.len());
                raw = text[..end].to_owned();
                text = &text[end..];
            }
        }
        let value = static_value(&name, &raw)?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("attribute {name} is given twice"));
        }
        out.push((name, value));
    }
}

fn first_word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or(text)
}

/// A value with CFML's `##` read as `#`; a lone `#` starts an expression,
/// which a script cannot evaluate.
fn static_value(name: &str, raw: &str) -> Result<String, String> {
    let mut value = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('#') {
        value.push_str(&rest[..at]);
        if rest[at..].starts_with("##") {
            value.push('#');
            rest = &rest[at + 2..];
        } else {
            return Err(format!(
                "attribute {name} holds a CFML expression ({raw:?}), which cfimap run cannot \
                 evaluate: write the value itself (## for a literal #)"
            ));
        }
    }
    value.push_str(rest);
    Ok(value)
}

/// A statement from its attributes (names in lower case).
fn statement(line: usize, attributes: Vec<(String, String)>) -> Result<Statement, String> {
    let mut action = None;
    let mut connection = None;
    let mut name = None;
    let mut words = Vec::new();
    for (key, value) in attributes {
        match key.as_str() {
            "action" => {
                action = Some(Action::named(&value).ok_or_else(|| {
                    let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
                    format!(
                        "unknown action {value:?}; the actions are {}",
                        names.join(", ")
                    )
                })?);
            }
            "connection" => connection = Some(value).filter(|v| !v.trim().is_empty()),
            "name" => name = Some(value),
            _ => words.push(format!("--{key}={value}")),
        }
    }
    let action = action.ok_or_else(|| "no action attribute".to_owned())?;
    Ok(Statement {
        line,
        action,
        connection,
        name,
        words,
    })
}

/// `<cfimapfilter name="…" value="…">` as a `--filter=NAME=VALUE` word.
fn filter_word(attributes: Vec<(String, String)>) -> Result<String, String> {
    let mut name = None;
    let mut value = None;
    for (key, v) in attributes {
        match key.as_str() {
            "name" => name = Some(v),
            "value" => value = Some(v),
            other => return Err(format!("<cfimapfilter> has no attribute {other}")),
        }
    }
    match (name, value) {
        (Some(name), Some(value)) => Ok(format!("--filter={name}={value}")),
        _ => Err("<cfimapfilter> needs name and value".into()),
    }
}

/// A JSON object of attributes. Values are strings, numbers or booleans;
/// a list is comma-joined (`"uid": [1, 2]`), except under `filter` and
/// `exclude`, where each item is one filter.
fn json_statement(line: usize, text: &str) -> Result<Statement, ScriptError> {
    use serde_json::Value;
    let fail = |message: String| ScriptError { line, message };
    let object: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|e| fail(format!("invalid JSON: {e}")))?;
    let scalar = |key: &str, v: &Value| -> Result<Option<String>, ScriptError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            _ => Err(fail(format!(
                "attribute {key} must be a string, number or boolean"
            ))),
        }
    };
    let mut attributes = Vec::new();
    let mut filters = Vec::new();
    for (key, value) in &object {
        let key = key.to_ascii_lowercase();
        if attributes.iter().any(|(k, _): &(String, String)| *k == key) {
            return Err(fail(format!("attribute {key} is given twice")));
        }
        let items = match value {
            Value::Array(items) => items
                .iter()
                .map(|v| scalar(&key, v))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect(),
            v => scalar(&key, v)?.into_iter().collect::<Vec<_>>(),
        };
        if key == "filter" || key == "exclude" {
            filters.extend(items.into_iter().map(|i| format!("--{key}={i}")));
        } else if matches!(value, Value::Array(_)) {
            attributes.push((key, items.join(",")));
        } else if let Some(v) = items.into_iter().next() {
            attributes.push((key, v));
        }
    }
    let mut statement = statement(line, attributes).map_err(fail)?;
    statement.words.extend(filters);
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(text: &str) -> Vec<Result<Statement, ScriptError>> {
        Script::new(text.as_bytes()).collect()
    }

    fn ok(text: &str) -> Vec<Statement> {
        statements(text)
            .into_iter()
            .map(|s| s.expect("a statement"))
            .collect()
    }

    #[test]
    fn tags_with_every_quoting() {
        let s = ok(concat!(
            "# a comment\n",
            "\n",
            "<cfimap action=\"open\" connection=\"c\" server='imap.example.com' port=993 />\n",
            "  <CFIMAP ACTION=\"GetHeaderOnly\" Connection=\"c\" folder=\"say \"\"hi\"\"\" maxRows=\"10\" name=\"recent\">\n",
        ));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line, 3);
        assert_eq!(s[0].action, Action::Open);
        assert_eq!(s[0].connection.as_deref(), Some("c"));
        assert_eq!(s[0].words, ["--server=imap.example.com", "--port=993"]);
        assert_eq!(s[1].line, 4);
        assert_eq!(s[1].action, Action::GetHeaderOnly);
        assert_eq!(s[1].name.as_deref(), Some("recent"));
        assert_eq!(s[1].words, ["--folder=say \"hi\"", "--maxrows=10"]);
    }

    #[test]
    fn a_body_of_filters() {
        let s = ok(concat!(
            "<cfimap action=\"getAll\" connection=\"c\">\n",
            "  <cfimapfilter name=\"flag\" value=\"unseen\">\n",
            "  <cfimapfilter name=\"timeReceived\" value=\"2024-01-01..\" />\n",
            "</cfimap>\n",
            "<cfimap action=\"getHeaderOnly\" connection=\"c\">\n",
            "<cfimap action=\"close\" connection=\"c\">\n",
        ));
        assert_eq!(
            s[0].words,
            ["--filter=flag=unseen", "--filter=timeReceived=2024-01-01.."]
        );
        assert!(s[1].words.is_empty(), "a tag without a body");
        assert_eq!((s[2].line, s[2].action), (6, Action::Close));
    }

    #[test]
    fn a_broken_body_line_fails_its_read() {
        for bad in [
            "  <cfimapfilter name=\"flag\" value=\"#x#\">",
            "  <cfimapfiltr name=\"flag\" value=\"seen\">",
            "  <cfimapfilter name=\"flag\" value=\"seen>",
            "  flag=seen",
        ] {
            let got = statements(&format!(
                "<cfimap action=\"getAll\" connection=\"c\" attachmentPath=\"/tmp\">\n{bad}\n</cfimap>\n"
            ));
            let e = got[0].clone().expect_err(bad);
            assert_eq!(e.line, 2, "{bad}");
            assert!(
                e.message.starts_with("in the body of the tag on line 1"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn expressions_are_refused_and_double_hashes_kept() {
        let s = ok("<cfimap action=\"createFolder\" folder=\"Issue ##42\">");
        assert_eq!(s[0].words, ["--folder=Issue #42"]);
        let e = statements("\n<cfimap action=\"getAll\" folder=\"#form.folder#\">")
            .remove(0)
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("CFML expression"), "{}", e.message);
        assert!(e.message.contains("folder"), "{}", e.message);
    }

    #[test]
    fn json_lines() {
        let s = ok(concat!(
            "{\"action\": \"markRead\", \"connection\": \"c\", \"uid\": [1, 2, 3], \"stopOnError\": false}\n",
            "{\"ACTION\": \"getHeaderOnly\", \"filter\": [\"flag=unseen\", \"from=boss\"], \"exclude\": \"subject=x\", \"folder\": null}\n",
        ));
        assert_eq!(s[0].action, Action::MarkRead);
        // (serde_json's objects are sorted by key.)
        assert_eq!(s[0].words, ["--stoponerror=false", "--uid=1,2,3"]);
        assert_eq!(
            s[1].words,
            [
                "--exclude=subject=x",
                "--filter=flag=unseen",
                "--filter=from=boss"
            ]
        );
    }

    #[test]
    fn mistakes_name_their_line() {
        for (text, want) in [
            ("getAll --folder x", "expected a <cfimap"),
            ("<cfimap folder=\"x\">", "no action attribute"),
            ("<cfimap action=\"fetch\">", "unknown action \"fetch\""),
            (
                "<cfimap action=\"open\" server=\"a\" SERVER=\"b\">",
                "given twice",
            ),
            ("<cfimap action=\"open\" server=\"a>", "no closing"),
            ("<cfimap action=\"open\" server>", "has no value"),
            (
                "<cfimapfilter name=\"flag\" value=\"seen\">",
                "belongs inside",
            ),
            ("</cfimap>", "closes no open"),
            ("<cfmail to=\"x\">", "expected a <cfimap> tag"),
            (
                "{\"action\": \"open\", \"port\": {}}",
                "string, number or boolean",
            ),
            ("{\"action\": ", "invalid JSON"),
        ] {
            let e = statements(&format!("\n\n{text}\n")).remove(0).unwrap_err();
            assert_eq!(e.line, 3, "{text}");
            assert!(e.message.contains(want), "{text}: {}", e.message);
        }
    }
}
