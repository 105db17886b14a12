/** Reads examples out of the docs, so that the tests check what a reader actually copies. */
import { strict as assert } from 'node:assert';

/** The fenced blocks of `lang` in the section whose heading starts with `heading` (up to the next heading of its level or above). */
export function blocksUnder(markdown: string, heading: string, lang: string): string[] {
  return [...sectionOf(markdown, heading).matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/** The text of the section whose heading starts with `heading`; `#` lines inside fenced code are not headings. */
export function sectionOf(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  assert.ok(start >= 0, `no section ${heading}`);
  const level = /^#+/.exec(heading)![0].length;
  let fenced = false;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i]!.startsWith('```')) fenced = !fenced;
    const m = /^(#+) /.exec(lines[i]!);
    if (!fenced && m && m[1]!.length <= level) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end).join('\n');
}
