import { setFlagsFromString } from 'node:v8';

/**
 * Regular expressions in Gateway API and Istio are RE2: linear-time, no backreferences or lookaround,
 * matching the whole value. Here they run as JavaScript RegExps anchored at both ends, compiled once at
 * config time, with two guarantees taken from V8:
 *
 * - a pattern is accepted only if V8's linear-time engine can run it, which rejects what RE2 rejects
 *   (backreferences, lookahead and lookbehind);
 * - matching starts on the fast backtracking engine and, after a bounded number of backtracks, V8 runs
 *   the same match again on the linear-time engine, so a pattern like `(a+)+b` cannot stall the event loop
 *   whatever the request carries.
 *
 * The flags are V8's own (`--enable-experimental-regexp-engine-on-excessive-backtracks`); they take
 * effect for RegExps created after this module loads, which is before any config is compiled.
 */
const BACKTRACKS_BEFORE_LINEAR = 10_000;
setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACKS_BEFORE_LINEAR}`);

/** `\p{…}` / `\P{…}`: without the `u` flag JavaScript would read them as the letter p, so they are refused. */
const UNICODE_CLASS = /(?:^|[^\\])(?:\\\\)*\\[pP]/;

/** Lookahead or lookbehind, which RE2 lacks; V8's linear engine runs some lookbehinds, so it is checked here. */
const LOOKAROUND = /(?:^|[^\\])\(\?<?[=!]/;

/**
 * RE2 syntax JavaScript spells differently: `(?P<name>` groups, and a leading `(?i)` / `(?s)`. Case
 * folding is written into the pattern (`a` → `[aA]`) rather than set as the `i` flag, because V8's
 * linear-time engine, the bound on backtracking, does not run case-insensitive patterns.
 */
function toJavaScript(source: string): { body: string; flags: string } {
  let body = source.replaceAll('(?P<', '(?<');
  let flags = '';
  const leading = /^\(\?([is]+)\)/.exec(body);
  if (leading) {
    body = body.slice(leading[0].length);
    if (leading[1]!.includes('s')) flags = 's';
    if (leading[1]!.includes('i')) body = foldCase(body);
  }
  return { body, flags };
}

const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const swapCase = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());

/** Makes every ASCII letter of a pattern match both cases. Escapes (`\w`, `\p{L}`, `\x41`) stay as written: an escaped letter keeps its case. */
function foldCase(pattern: string): string {
  let out = '';
  let i = 0;
  const escape = (): string => {
    const start = i;
    i += 2;
    const kind = pattern[start + 1];
    if ((kind === 'p' || kind === 'P' || kind === 'u') && pattern[i] === '{') i = pattern.indexOf('}', i) + 1 || pattern.length;
    else if (kind === 'x') i += 2;
    else if (kind === 'u') i += 4;
    else if (kind === 'c') i += 1;
    return pattern.slice(start, i);
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') out += escape();
    else if (c === '[') {
      // A character class: each letter and each letter range gains its other case.
      let cls = '[';
      let extra = '';
      i++;
      if (pattern[i] === '^') cls += pattern[i++];
      if (pattern[i] === ']') cls += pattern[i++];
      while (i < pattern.length && pattern[i] !== ']') {
        if (pattern[i] === '\\') {
          cls += escape();
          continue;
        }
        const a = pattern[i]!;
        if (pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']') {
          const b = pattern[i + 2]!;
          cls += `${a}-${b}`;
          if (isLetter(a) && isLetter(b) && (a <= 'Z') === (b <= 'Z')) extra += `${swapCase(a)}-${swapCase(b)}`;
          i += 3;
        } else {
          cls += a;
          if (isLetter(a)) extra += swapCase(a);
          i++;
        }
      }
      out += `${cls}${extra}]`;
      i++;
    } else if (isLetter(c)) {
      out += `[${c}${swapCase(c)}]`;
      i++;
    } else if (c === '(' && pattern[i + 1] === '?' && pattern[i + 2] === '<' && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') {
      // A group name is not text to match.
      const end = pattern.indexOf('>', i);
      out += pattern.slice(i, end + 1);
      i = end + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export function compileRegex(source: string): { regex?: RegExp; error?: string } {
  const { body, flags } = toJavaScript(source);
  const anchored = `^(?:${body})$`;
  try {
    new RegExp(anchored, flags);
  } catch (e) {
    return { error: `invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}` };
  }
  let linear = true;
  try {
    new RegExp(anchored, `${flags}l`);
  } catch {
    linear = false;
  }
  if (UNICODE_CLASS.test(body)) {
    return { error: `regular expression ${JSON.stringify(source)} uses a Unicode class (\\p or \\P), which is not supported here` };
  }
  if (!linear || LOOKAROUND.test(body)) {
    return { error: `regular expression ${JSON.stringify(source)} uses a backreference or lookaround, which RE2 (Envoy's regex engine) does not support` };
  }
  return { regex: new RegExp(anchored, flags) };
}
