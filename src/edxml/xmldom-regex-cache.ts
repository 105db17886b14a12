/**
 * @xmldom/xmldom 0.9 builds a new RegExp from the same grammar pieces for every end tag it parses
 * (`g.reg('^', g.QName_group, g.S_OPT, '$')` in lib/sax.js): about 5% of the sending connector's
 * CPU in `npm run bench` (issue 7). Its `reg` is a pure function of constant grammar pieces and
 * returns an expression without the `g`/`y` flags (no lastIndex state), so the result can be
 * reused. This keeps the results of `reg` for the few distinct argument lists it is called with.
 *
 * If xmldom's internals change, nothing here is required: the module is looked up defensively and
 * a missing `reg` leaves the parser as it is. Parsing results are the same either way.
 */
const MAX_CACHED = 64;

interface Grammar {
  reg: (...parts: Array<string | RegExp>) => RegExp;
}

export function cacheXmldomRegexes(): boolean {
  let grammar: Grammar;
  try {
    grammar = require('@xmldom/xmldom/lib/grammar') as Grammar;
  } catch {
    return false;
  }
  const original = grammar.reg;
  if (typeof original !== 'function' || (original as { cached?: boolean }).cached) return typeof original === 'function';
  const cache = new Map<string, RegExp>();
  const cached = function (this: unknown, ...parts: Array<string | RegExp>): RegExp {
    const key = parts.map((p) => (typeof p === 'string' ? `s${p}` : `r${p.source}/${p.flags}`)).join('\u0000');
    let expression = cache.get(key);
    if (expression) return expression;
    expression = original.apply(this, parts);
    if (expression.global || expression.sticky || cache.size >= MAX_CACHED) return expression;
    cache.set(key, expression);
    return expression;
  };
  (cached as { cached?: boolean }).cached = true;
  grammar.reg = cached;
  return true;
}
