/** Agencies whose legacy system is on the VXP SDK: a `vxp` connector and nothing else. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { prepareAgency, type AgencyDirs } from './agency';
import { pickPort } from './ports';
import { VxpSdkClient, type SdkVersion } from './vxp-sdk';

export interface VxpAgency extends AgencyDirs {
  vxpPort: number;
  secret: string;
  endpoint: string;
}

/** Writes the agency's config: one vxp connector whose client is the agency's own systemId (its OrganId). */
export function prepareVxpAgency(base: string, organId: string, options: { vxp?: Record<string, unknown>; vxpPort?: number; extra?: Record<string, unknown> } = {}): VxpAgency {
  const dirs = prepareAgency(base, organId);
  const secret = `secret-of-${organId}-${Math.random().toString(36).slice(2)}`;
  const secretFile = path.join(dirs.root, 'vxp-secret');
  fs.writeFileSync(secretFile, secret, { mode: 0o600 });
  const vxpPort = options.vxpPort ?? pickPort();
  const config = YAML.parse(fs.readFileSync(dirs.configPath, 'utf8')) as Record<string, unknown>;
  config.connectors = [
    {
      name: 'vxp',
      type: 'vxp',
      direction: 'source',
      profile: 'edxml',
      options: { port: vxpPort, host: '127.0.0.1', allowPlainHttp: true, clients: [{ systemId: organId, secretFile, organIds: [organId] }], ...options.vxp },
    },
  ];
  Object.assign(config, options.extra ?? {});
  fs.writeFileSync(dirs.configPath, YAML.stringify(config));
  return { ...dirs, vxpPort, secret, endpoint: `http://127.0.0.1:${vxpPort}` };
}

/** The agency's legacy system: the real SDK pointed at the agency's connector. */
export function sdkFor(agency: VxpAgency, version: SdkVersion, overrides: Partial<ConstructorParameters<typeof VxpSdkClient>[0]> = {}): VxpSdkClient {
  return new VxpSdkClient({ version, endpoint: agency.endpoint, systemId: agency.organId, secret: agency.secret, ...overrides });
}
