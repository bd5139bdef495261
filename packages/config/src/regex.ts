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

const QUANTIFIER_OPTIONAL = new Set(['*', '?', '{']);
const SYNTAX = new Set(['\\', '[', ']', '(', ')', '|', '.', '^', '$', '*', '+', '?', '{', '}']);
const ALNUM = /[0-9A-Za-z]/;

/** Where the escape at `body[at]` (a backslash and a letter or digit) ends. */
function escapeEnd(body: string, at: number): number {
  const kind = body[at + 1]!;
  const through = (close: string) => {
    const end = body.indexOf(close, at + 2);
    return end < 0 ? body.length : end + 1;
  };
  if (kind === 'x') return at + 4;
  if (kind === 'c') return at + 3;
  if (kind === 'u') return body[at + 2] === '{' ? through('}') : at + 6;
  if ((kind === 'p' || kind === 'P') && body[at + 2] === '{') return through('}');
  if (kind === 'k' && body[at + 2] === '<') return through('>');
  let end = at + 2;
  if (kind >= '0' && kind <= '9') while (end < body.length && body[end]! >= '0' && body[end]! <= '9') end++;
  return end;
}

/**
 * The longest run of characters that every string matching the JavaScript pattern `body` contains, or ''.
 * A cheap `includes` with it rules most values out before the RegExp runs, whose compiled code is cold
 * when a proxy has thousands of them. It errs only towards ''. Counted are characters at the top level of
 * the pattern (outside groups and classes) that no quantifier makes optional; a top-level alternation
 * gives ''. An escaped punctuation character is that character; any other escape (`\d`, `\x41`) breaks
 * the run.
 */
export function requiredLiteral(body: string): string {
  let best = '';
  let run = '';
  let depth = 0;
  const endRun = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    let literal: string | undefined;
    let next = i + 1;
    if (c === '\\') {
      const e = body[i + 1];
      if (e === undefined) return '';
      next = i + 2;
      if (!ALNUM.test(e)) literal = e;
      else next = escapeEnd(body, i);
    } else if (c === '[') {
      // A class: skipped whole (a leading ']' or '^]' is a member, escapes are skipped in pairs).
      next = i + 1;
      if (body[next] === '^') next++;
      if (body[next] === ']') next++;
      while (next < body.length && body[next] !== ']') next += body[next] === '\\' ? 2 : 1;
      if (next >= body.length) return '';
      next++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|') {
      if (depth === 0) return '';
    } else if (c === '{') {
      // A quantifier (or a literal brace): skipped to its end.
      const close = body.indexOf('}', i);
      if (close < 0) return '';
      next = close + 1;
    } else if (!SYNTAX.has(c)) literal = c;
    if (literal !== undefined && depth === 0) {
      const q = body[next];
      if (q !== undefined && QUANTIFIER_OPTIONAL.has(q)) endRun();
      else {
        run += literal;
        if (q === '+') endRun();
      }
    } else endRun();
    i = next;
  }
  endRun();
  return best;
}

/**
 * A pattern compiled for whole-value matching, with its required literal (see requiredLiteral), which a
 * caller may test first: `v.includes(literal) && regex.test(v)` decides as `regex.test(v)` alone.
 */
export function compileRegex(source: string): { regex?: RegExp; literal?: string; error?: string } {
  const { body, flags } = toJavaScript(source);
  const anchored = `^(?:${body})$`;
  let regex: RegExp;
  try {
    regex = new RegExp(anchored, flags);
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
  return { regex, literal: requiredLiteral(body) };
}

/** The required literal (see requiredLiteral) of an RE2 pattern, without compiling it. */
export function regexLiteral(source: string): string {
  return requiredLiteral(toJavaScript(source).body);
}

/** A whole-value test for a pattern that validation accepted: its required literal first, then the RegExp. */
export function regexTest(source: string): (value: string) => boolean {
  const { regex, literal } = compileRegex(source);
  if (!regex) throw new Error(`regex ${source} does not compile; validation should have rejected it`);
  return literal ? (v) => v.includes(literal) && regex.test(v) : (v) => regex.test(v);
}
