#!/usr/bin/env node
// Copies the agency-config JSON Schema of the config loader (src/config/schema.ts, compiled to
// dist/) into the chart's values.schema.json under properties.config, so `helm install` refuses
// the same configs `vdxp run` would. Run after `npx tsc -p tsconfig.json` whenever the loader's
// schema changes; test/integration/helm-chart.test.ts fails while the two differ.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const { AGENCY_CONFIG_SCHEMA } = require(path.join(root, 'dist', 'src', 'config', 'schema.js'));
const file = path.join(root, 'helm', 'vdxp-connector', 'values.schema.json');
const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
schema.properties.config = {
  description: 'The agency config (DESIGN.md §7), rendered verbatim into the ConfigMap. Generated from src/config/schema.ts by helm/tools/sync-config-schema.js.',
  ...AGENCY_CONFIG_SCHEMA,
};
fs.writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
console.log(`updated ${path.relative(root, file)}`);
