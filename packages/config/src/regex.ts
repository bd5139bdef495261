/**
 * Regular expressions in Gateway API and Istio are RE2 and match the whole value. They run here as
 * JavaScript RegExps anchored at both ends, compiled once at config time.
 */
export function compileRegex(source: string): { regex?: RegExp; error?: string } {
  try {
    return { regex: new RegExp(`^(?:${source})$`, 'u') };
  } catch (e) {
    return { error: `invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}` };
  }
}
