// Run by scripts/image.sh inside the image (node -e): prints as JSON what the image carries
// besides Debian's packages: every package under /app/node_modules (nested ones too), the Node
// runtime and /etc/os-release. scripts/image/sbom.js turns it into the SBOM.
const fs = require('fs');
const path = require('path');
const packages = [];
function walk(dir) {
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.name.startsWith('@')) { walk(full); continue; }
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(full, 'package.json'), 'utf8'));
      const license = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type;
      packages.push({ name: pkg.name, version: pkg.version, license, path: path.relative('/app', full) });
    } catch { /* a folder without package.json is not a package */ }
    walk(path.join(full, 'node_modules'));
  }
}
walk('/app/node_modules');
const app = JSON.parse(fs.readFileSync('/app/package.json', 'utf8'));
const osRelease = Object.fromEntries(fs.readFileSync('/etc/os-release', 'utf8').split('\n').filter((l) => l.includes('='))
  .map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1).replace(/^"|"$/g, '')]; }));
process.stdout.write(JSON.stringify({ app: { name: app.name, version: app.version, license: app.license }, node: process.versions.node, os: osRelease, packages }));
