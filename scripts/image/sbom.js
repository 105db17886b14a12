#!/usr/bin/env node
// Writes the image's SBOM as CycloneDX 1.5 JSON to standard output, from what scripts/image.sh
// read out of the image: DPKG_LIST (dpkg-query lines: package, version, architecture, source
// package, source version, status) and NPM_LIST (scripts/image/list-node-modules.js's JSON).
//   node scripts/image/sbom.js --name vdxp-connector --version 0.1.0 --revision <git> --image-id <id> --base <image>
'use strict';
const crypto = require('crypto');

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`sbom.js: expected --key value, got ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

/** purl segments: percent-encode what is not unreserved (the purl spec's rule). */
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function debComponents(list, distro) {
  const components = [];
  for (const line of list.split('\n')) {
    if (!line.trim()) continue;
    const [name, version, arch, srcName, srcVersion, status] = line.split('\t');
    // "ii" installed; anything else (rc: removed, config files left) is not in the image.
    if (!status || !status.startsWith('ii')) continue;
    const purl = `pkg:deb/debian/${enc(name)}@${enc(version)}?arch=${enc(arch)}&distro=${enc(distro)}`;
    const c = { type: 'library', 'bom-ref': purl, name, version, purl, properties: [{ name: 'vdxp:package-manager', value: 'dpkg' }] };
    if (srcName && srcName !== name) c.properties.push({ name: 'vdxp:deb-source', value: `${srcName} ${srcVersion || version}` });
    components.push(c);
  }
  return components;
}

function npmComponents(packages) {
  const seen = new Set();
  const components = [];
  for (const p of packages) {
    if (!p.name || !p.version) continue;
    // npm reads "v3.6.1" in a package.json as 3.6.1 (node-rdkafka writes it so); the purl takes npm's form.
    const version = String(p.version).replace(/^v(?=\d)/, '');
    const [scope, bare] = p.name.startsWith('@') ? p.name.split('/') : [undefined, p.name];
    const purl = `pkg:npm/${scope ? `${enc(scope)}/` : ''}${enc(bare)}@${enc(version)}`;
    // The same name@version installed twice (nested) is one component with both paths.
    if (seen.has(purl)) {
      components.find((c) => c.purl === purl).properties.push({ name: 'vdxp:path', value: p.path });
      continue;
    }
    seen.add(purl);
    const c = { type: 'library', 'bom-ref': purl, name: p.name, version, purl, properties: [{ name: 'vdxp:package-manager', value: 'npm' }, { name: 'vdxp:path', value: p.path }] };
    if (p.license) c.licenses = [/^[A-Za-z0-9.+-]+$/.test(p.license) ? { license: { id: p.license } } : { expression: p.license }];
    components.push(c);
  }
  return components;
}

function main() {
  const a = args(process.argv.slice(2));
  for (const key of ['name', 'version', 'revision', 'image-id']) if (!a[key]) throw new Error(`sbom.js: --${key} is required`);
  const npm = JSON.parse(process.env.NPM_LIST || 'null');
  if (!npm || !Array.isArray(npm.packages)) throw new Error('sbom.js: NPM_LIST is not the JSON of list-node-modules.js');
  const dpkg = process.env.DPKG_LIST || '';
  const distro = `debian-${npm.os.VERSION_ID || 'unknown'}`;
  const deb = debComponents(dpkg, distro);
  if (deb.length === 0) throw new Error('sbom.js: DPKG_LIST lists no installed package');
  const mods = npmComponents(npm.packages);
  const imageRef = `pkg:oci/${enc(a.name)}@${enc(`sha256:${a['image-id'].replace(/^sha256:/, '')}`)}`;
  const bom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${crypto.randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: { components: [{ type: 'application', name: 'vdxp scripts/image/sbom.js', version: a.version }] },
      component: {
        type: 'container', 'bom-ref': imageRef, name: a.name, version: a.version, purl: imageRef,
        properties: [{ name: 'vdxp:revision', value: a.revision }, { name: 'vdxp:base-image', value: a.base || '' }],
      },
    },
    components: [
      { type: 'operating-system', 'bom-ref': `os:${distro}`, name: npm.os.ID || 'debian', version: npm.os.VERSION_ID || '', description: npm.os.PRETTY_NAME || '' },
      { type: 'platform', 'bom-ref': `pkg:generic/node@${npm.node}`, name: 'node', version: npm.node, purl: `pkg:generic/node@${enc(npm.node)}`, licenses: [{ license: { id: 'MIT' } }] },
      { type: 'application', 'bom-ref': `pkg:npm/${enc(npm.app.name)}@${enc(npm.app.version)}`, name: npm.app.name, version: npm.app.version, purl: `pkg:npm/${enc(npm.app.name)}@${enc(npm.app.version)}` },
      ...deb,
      ...mods,
    ],
  };
  process.stdout.write(JSON.stringify(bom, null, 2) + '\n');
}

main();
