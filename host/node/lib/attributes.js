// The tag's attribute values as the command line and the API take them,
// read by the rules of the Rust CLI (host/cli/src/plan.rs).

import { InvalidArgumentError } from './errors.js';

/** The most numbers one list may name once its ranges are counted out. */
export const MAX_LISTED = 1_000_000;

/** One past the largest UID: "beyond any message". */
const BEYOND = 2 ** 32;

/**
 * A list of message numbers or UIDs: an array of numbers, or text of
 * numbers and ranges (`1,2,3`, `1:3`, `1-3`) separated by commas, spaces or
 * newlines. `5:3` is read as `3:5`, as IMAP does. A number past any UID
 * matches nothing; a range ending there runs to the largest UID.
 *
 * @param {string} attribute the attribute's name, for the error
 * @param {string | number | number[]} list
 * @returns {number[]}
 */
export function numberList(attribute, list) {
  const invalid = (entry, why) =>
    new InvalidArgumentError({
      attribute,
      reason:
        `${JSON.stringify(entry)} ${why} (expected numbers and ranges like 1:3 or 1-3, ` +
        'separated by commas, spaces or newlines)',
    });
  const text = Array.isArray(list) ? list.join(',') : String(list);
  const number = (entry, digits) => {
    if (!/^[0-9]+$/.test(digits)) throw invalid(entry, 'is not a number');
    const n = Number(digits);
    return Number.isSafeInteger(n) && n < BEYOND ? n : BEYOND;
  };
  const out = [];
  let listed = 0;
  for (const entry of text.split(/[,\s]+/).filter(Boolean)) {
    const colon = entry.indexOf(':');
    const at = colon >= 0 ? colon : entry.indexOf('-');
    if (at < 0) {
      const n = number(entry, entry);
      if (n === BEYOND) continue;
      out.push(n);
      listed += 1;
    } else {
      const a = number(entry, entry.slice(0, at));
      const b = number(entry, entry.slice(at + 1));
      const first = Math.min(a, b);
      const last = Math.min(Math.max(a, b), BEYOND - 1);
      if (first === BEYOND) continue;
      listed += last - first + 1;
      if (listed > MAX_LISTED) throw invalid(entry, `makes the list longer than ${MAX_LISTED} numbers`);
      for (let n = first; n <= last; n++) out.push(n);
      continue;
    }
    if (listed > MAX_LISTED) throw invalid(entry, `makes the list longer than ${MAX_LISTED} numbers`);
  }
  return out;
}
