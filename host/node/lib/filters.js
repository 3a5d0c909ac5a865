// `<cfimapfilter>` as text: `NAME=VALUE`, the names and values of the Rust
// CLI's `--filter` (host/cli/src/filter.rs), turned into the WIT record
// `filter`. The names are the tag's (subject, from, to, flag, timeReceived,
// timeSent) and the extensions' (cc, body, text, header, keyword, larger,
// smaller, uid), in any case.

/** The names a filter takes, for help and errors. */
export const FILTER_NAMES =
  'subject, from, to, flag, timeReceived, timeSent, cc, body, text, header, keyword, larger, smaller, uid';

const FLAGS = [
  'answered',
  'flagged',
  'seen',
  'unanswered',
  'undeleted',
  'undraft',
  'unseen',
  'deleted',
  'draft',
  'unflagged',
  'recent',
];

/**
 * One `NAME=VALUE` as a WIT filter; `negated` for `--exclude`. Throws a
 * `TypeError` saying which part is wrong and what was expected.
 * @param {string} spec
 * @param {boolean} negated
 */
export function parseFilter(spec, negated = false) {
  const flagName = negated ? '--exclude' : '--filter';
  const eq = spec.indexOf('=');
  if (eq < 0) {
    throw new TypeError(
      `invalid ${flagName} ${JSON.stringify(spec)}: expected NAME=VALUE, NAME one of ${FILTER_NAMES}`,
    );
  }
  const name = spec.slice(0, eq).trim();
  const value = spec.slice(eq + 1);
  const bad = (why) => new TypeError(`invalid ${flagName} ${JSON.stringify(spec)}: ${why}`);
  const text = () => {
    if (value === '') throw bad('the text to find is empty');
    return value;
  };
  const wrap = (f) => {
    try {
      return f();
    } catch (e) {
      throw bad(e.message);
    }
  };
  let criterion;
  switch (name.toLowerCase()) {
    case 'subject':
    case 'from':
    case 'to':
    case 'cc':
    case 'body':
    case 'text':
      criterion = { tag: name.toLowerCase(), val: text() };
      break;
    case 'flag': {
      const state = value.trim().toLowerCase();
      if (!FLAGS.includes(state)) {
        throw bad(
          `unknown flag ${JSON.stringify(state)}; expected seen, unseen, answered, unanswered, flagged, ` +
            'unflagged, deleted, undeleted, draft, undraft or recent',
        );
      }
      criterion = { tag: 'flag', val: state };
      break;
    }
    case 'timereceived':
      criterion = { tag: 'time-received', val: wrap(() => days(value)) };
      break;
    case 'timesent':
      criterion = { tag: 'time-sent', val: wrap(() => days(value)) };
      break;
    case 'header': {
      const colon = value.indexOf(':');
      if (colon < 0) throw bad('expected header=Name:text (Name: alone matches any value)');
      criterion = {
        tag: 'header',
        val: { name: value.slice(0, colon).trim(), value: value.slice(colon + 1).trimStart() },
      };
      break;
    }
    case 'keyword':
      criterion = { tag: 'keyword', val: value.trim() };
      break;
    case 'larger':
    case 'smaller':
      criterion = { tag: name.toLowerCase(), val: wrap(() => bytes(value)) };
      break;
    case 'uid':
      criterion = { tag: 'uid', val: wrap(() => uidRanges(value)) };
      break;
    default:
      throw bad(`unknown filter ${JSON.stringify(name)}; the filters are ${FILTER_NAMES}`);
  }
  return { criterion, negated };
}

/** `A..B`, `A..`, `..B` or `A` (that day only). */
function days(value) {
  const v = value.trim();
  const dots = v.indexOf('..');
  const [from, to] = dots < 0 ? [v, v] : [v.slice(0, dots).trim(), v.slice(dots + 2).trim()];
  if (from === '' && to === '') {
    throw new Error('expected FIRST..LAST (days as YYYY-MM-DD; either side may be empty)');
  }
  return { from: from === '' ? undefined : day(from), to: to === '' ? undefined : day(to) };
}

/** `YYYY-MM-DD`; whether the day exists is the component's to check. */
function day(s) {
  const m = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$/.exec(s);
  if (!m) throw new Error(`${JSON.stringify(s)} is not a day; expected YYYY-MM-DD`);
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

function bytes(value) {
  const v = value.trim();
  if (!/^\+?[0-9]+$/.test(v) || Number(v) > 0xffffffff) {
    throw new Error(`${JSON.stringify(v)} is not a number of bytes`);
  }
  return Number(v);
}

/** `1:100,200,300-310`. */
function uidRanges(value) {
  const ranges = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = part.search(/[:-]/);
    const [a, b] = at < 0 ? [part, part] : [part.slice(0, at), part.slice(at + 1)];
    const number = (s) => {
      const t = s.trim();
      if (!/^\+?[0-9]+$/.test(t) || Number(t) > 0xffffffff) {
        throw new Error(`${JSON.stringify(part)} is not a UID or a range of UIDs (a:b)`);
      }
      return Number(t);
    };
    ranges.push({ first: number(a), last: number(b) });
  }
  if (ranges.length === 0) throw new Error('expected UIDs, e.g. 1:100,200');
  return ranges;
}
