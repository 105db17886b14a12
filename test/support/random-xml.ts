/**
 * Random namespace-well-formed XML fragments for the canonicalization differential tests: default
 * namespaces declared and undeclared (`xmlns=""`), prefixes that differ only in case, several
 * prefixes for one namespace, namespaced and unnamespaced attributes with every character C14N
 * escapes, character references to CR and TAB, processing instructions (empty ones too), comments
 * and CDATA. Deterministic in the seed, so that a failing case can be rebuilt from it.
 */

/** mulberry32: a small, good-enough PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOCAL_NAMES = ['a', 'b', 'Ng', 'x-y', 'Tệp', 'z.1'];
const PREFIXES = ['a', 'B', 'ab', 'p', 'xmlnsq'];
const URIS = ['urn:u', 'urn:v', 'http://x.example/y?a=1;b=(2)', 'urn:%C3%9C#frag'];
const DEFAULTS = ['', 'urn:u', 'urn:d'];
const ATTRIBUTE_NAMES = ['id', 'n', 'xmlnsX', 'Z'];
const VALUE_PIECES = ['v', ' ', '&amp;', '&lt;', '&gt;', '&quot;', "'", '&#x9;', '&#xA;', '&#xD;', '\t', 'đồng', '&#233;'];
const TEXT_PIECES = ['t', ' ', '\n', '&amp;', '&lt;', '&gt;', '"', '&#xD;', '&#9;', 'Không', ']]&gt;', '&#x1F600;'];

export function randomFragment(seed: number): string {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const pieces = (from: readonly string[], max: number) => Array.from({ length: Math.floor(rnd() * max) }, () => pick(from)).join('');

  const element = (depth: number, scope: ReadonlyMap<string, string>): string => {
    const inScope = new Map(scope);
    let attrs = '';
    if (chance(0.35)) attrs += ` xmlns="${pick(DEFAULTS)}"`;
    const declared = new Set<string>();
    for (let k = Math.floor(rnd() * 3); k > 0; k--) {
      const prefix = pick(PREFIXES);
      if (declared.has(prefix)) continue;
      declared.add(prefix);
      const uri = pick(URIS);
      inScope.set(prefix, uri);
      attrs += ` xmlns:${prefix}="${uri}"`;
    }
    const prefixes = [...inScope.keys()];
    const prefix = prefixes.length > 0 && chance(0.5) ? pick(prefixes) : undefined;
    const name = `${prefix ? `${prefix}:` : ''}${pick(LOCAL_NAMES)}`;
    const used = new Set<string>();
    for (let k = Math.floor(rnd() * 4); k > 0; k--) {
      const attrPrefix = prefixes.length > 0 && chance(0.5) ? pick(prefixes) : undefined;
      const local = pick(ATTRIBUTE_NAMES);
      const expanded = `${attrPrefix ? inScope.get(attrPrefix) : ''} ${local}`;
      if (used.has(expanded)) continue;
      used.add(expanded);
      attrs += ` ${attrPrefix ? `${attrPrefix}:` : ''}${local}="${pieces(VALUE_PIECES, 5)}"`;
    }
    let content = '';
    for (let k = Math.floor(rnd() * 4); k > 0; k--) {
      const kind = rnd();
      if (kind < 0.35) content += pieces(TEXT_PIECES, 5);
      else if (kind < 0.6 && depth < 3) content += element(depth + 1, inScope);
      else if (kind < 0.75) content += chance(0.3) ? '<?empty?>' : `<?pi-${pick(LOCAL_NAMES).replace(/[^a-z]/gi, 'q')} ${pieces(['d', ' ', '&', '<', 'ý'], 4)}x?>`;
      else if (kind < 0.88) content += '<!-- comment -->';
      else content += '<![CDATA[a<b&c\r\nd]]>';
    }
    return content === '' && chance(0.5) ? `<${name}${attrs}/>` : `<${name}${attrs}>${content}</${name}>`;
  };
  return element(0, new Map());
}
