/**
 * @xmldom/xmldom 0.9 builds a new RegExp from the same grammar pieces for every end tag it parses
 * (`g.reg('^', g.QName_group, g.S_OPT, '$')` in lib/sax.js): about 5% of the sending connector's
 * CPU in `npm run bench` (issue 7). Its `reg` is a pure function of constant grammar pieces and
 * returns an expression without the `g`/`y` flags (no lastIndex state), so the result can be
 * reused. This keeps the results of `reg` for the few distinct argument lists it is called with (a
 * RegExp part is the same object each time, so identity is the key).
 *
 * If xmldom's internals change, nothing here is required: the module is looked up defensively and
 * a missing `reg` leaves the parser as it is. Parsing results are the same either way.
 */
const MAX_CACHED = 256;

interface TrieNode {
  next: Map<string | RegExp, TrieNode>;
  expression?: RegExp;
}

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
  // Keyed by the parts themselves (the grammar's constant RegExp objects and strings), in a trie:
  // building a string key from their long sources cost as much as the RegExp it saved.
  const root: TrieNode = { next: new Map() };
  let size = 0;
  const cached = function (this: unknown, ...parts: Array<string | RegExp>): RegExp {
    let node = root;
    for (const part of parts) {
      let child = node.next.get(part);
      if (!child) {
        if (size >= MAX_CACHED) return original.apply(this, parts);
        child = { next: new Map() };
        node.next.set(part, child);
        size++;
      }
      node = child;
    }
    if (node.expression) return node.expression;
    const expression = original.apply(this, parts);
    if (!expression.global && !expression.sticky) node.expression = expression;
    return expression;
  };
  (cached as { cached?: boolean }).cached = true;
  grammar.reg = cached;
  return true;
}
