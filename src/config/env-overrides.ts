/**
 * Environment variables that override single keys of the agency config (DESIGN.md §7):
 * `VDXP__A__B__0__C=value` sets `a.b[0].c`. Segments match existing keys case-insensitively (env
 * names are upper case, config keys camelCase; `_` inside a segment is ignored); the value is read
 * as a YAML scalar or flow collection, so numbers, booleans and `[a, b]` lists work.
 *
 * `null` (or `~`) removes the key instead: `VDXP__KAFKA__SASL=null` runs the same file without
 * SASL. Removing a key that is not there changes nothing.
 */
import * as YAML from 'yaml';
import { AGENCY_CONFIG_SCHEMA } from './schema';
import { CONNECTOR_OPTION_SCHEMAS } from '../connectors/option-schemas';
import type { ConfigProblem } from './load';

export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv, prefix: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (typeof raw !== 'object' || raw === null) return problems;
  // Sorted, so that the outcome does not depend on the order the environment lists them in.
  for (const name of Object.keys(env).sort()) {
    const text = env[name];
    if (!name.startsWith(prefix) || text === undefined) continue;
    const segments = name.slice(prefix.length).split('__').filter(Boolean);
    if (segments.length === 0) continue;
    let value: unknown;
    try {
      value = YAML.parse(text);
    } catch (err) {
      problems.push({ path: `(environment ${name})`, expected: 'a YAML value', found: (err as Error).message.split('\n')[0] ?? 'invalid YAML' });
      continue;
    }
    const removing = value === null && text.trim() !== '';
    let node = raw as Record<string, unknown>;
    for (let i = 0; i < segments.length; i++) {
      const key = matchKey(node, segments[i]!);
      if (i === segments.length - 1) {
        if (!removing) node[key] = value;
        else if (Array.isArray(node)) {
          problems.push({ path: `(environment ${name})`, expected: 'null to remove a key of an object; list items cannot be removed one by one', found: 'null for a list item' });
        } else delete node[key];
        break;
      }
      if (typeof node[key] !== 'object' || node[key] === null) {
        if (removing) break; // nothing there to remove
        node[key] = /^\d+$/.test(segments[i + 1]!) ? [] : {};
      }
      node = node[key] as Record<string, unknown>;
    }
  }
  return problems;
}

function matchKey(node: Record<string, unknown>, segment: string): string {
  if (Array.isArray(node) || /^\d+$/.test(segment)) return segment;
  const lower = segment.toLowerCase().replace(/_/g, '');
  const existing = Object.keys(node).find((k) => k.toLowerCase() === lower);
  if (existing) return existing;
  const known = knownKeys().find((k) => k.toLowerCase() === lower);
  return known ?? segment.toLowerCase();
}

let knownKeyCache: string[] | undefined;
function knownKeys(): string[] {
  if (!knownKeyCache) {
    const keys = new Set<string>();
    const walk = (schema: unknown) => {
      if (typeof schema !== 'object' || schema === null) return;
      const props = (schema as { properties?: Record<string, unknown> }).properties;
      if (props) for (const [k, v] of Object.entries(props)) (keys.add(k), walk(v));
      walk((schema as { items?: unknown }).items);
      walk((schema as { additionalProperties?: unknown }).additionalProperties);
    };
    walk(AGENCY_CONFIG_SCHEMA);
    for (const sides of Object.values(CONNECTOR_OPTION_SCHEMAS)) Object.values(sides).forEach(walk);
    knownKeyCache = [...keys];
  }
  return knownKeyCache;
}
