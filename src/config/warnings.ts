/**
 * What a valid agency config may still get wrong without breaking a rule: an OrganId in no known
 * form, a sending agency with nowhere to put the statuses that come back. `vdxp config check`
 * prints these and `vdxp run` logs them at start; neither refuses the config for them.
 */
import { QCVN102_ORGAN_ID, QD20_ORGAN_ID } from '../edxml/organ-id';
import type { AgencyConfig } from './types';

export interface ConfigWarning {
  path: string;
  message: string;
}

/**
 * QCVN 102:2016 (`000.00.00.H53`) or Decision 20/2020 with at least one group below the top level
 * (`H53.02`). A bare top-level code (`H53`) names a province or ministry block, not an agency:
 * it is usually a truncated `000.00.00.H53`.
 */
export function isKnownOrganIdForm(id: string): boolean {
  return QCVN102_ORGAN_ID.test(id) || (QD20_ORGAN_ID.test(id) && id.includes('.'));
}

export function organIdWarning(path: string, id: string): ConfigWarning | undefined {
  if (isKnownOrganIdForm(id)) return undefined;
  return {
    path,
    message:
      `${JSON.stringify(id)} is in no known OrganId form: QCVN 102 is DDD.DD.DD.Xnn (e.g. 000.00.00.H53), ` +
      'Decision 20/2020 is Xnn.DD[.DD…] (e.g. H53.02); check it against the axis agency list (SPEC §11). ' +
      'Partners address this agency by it, and its topics are named after it.',
  };
}

export function configWarnings(config: AgencyConfig): ConfigWarning[] {
  return [...organIdWarnings(config), ...statusWarnings(config)];
}

function organIdWarnings(config: AgencyConfig): ConfigWarning[] {
  const found: Array<ConfigWarning | undefined> = [organIdWarning('organId', config.organId)];
  for (const id of Object.keys(config.trust?.partners ?? {})) found.push(organIdWarning(`trust.partners.${id}`, id));
  for (const id of Object.keys(config.trust?.organBindings ?? {})) found.push(organIdWarning(`trust.organBindings.${id}`, id));
  (config.trust?.identityRules ?? []).forEach((rule, i) => {
    for (const id of typeof rule.organId === 'string' ? [rule.organId] : rule.organId) found.push(organIdWarning(`trust.identityRules[${i}].organId`, id));
  });
  config.connectors.forEach((c, i) => {
    const table = (c.profileOptions ?? {}).organIds;
    if (typeof table !== 'object' || table === null) return;
    for (const [code, id] of Object.entries(table)) {
      if (typeof id === 'string') found.push(organIdWarning(`connectors[${i}].profileOptions.organIds.${code}`, id));
    }
  });
  return found.filter((w): w is ConfigWarning => w !== undefined);
}

/**
 * Statuses about the documents an agency sends (01 arrived, 02 rejected, 03 accepted…) come back
 * on its status topic and reach its legacy system through a sink. A sender without one never
 * hears of them; an HTTP sink without `statusUrl` posts them to its document `url`.
 */
function statusWarnings(config: AgencyConfig): ConfigWarning[] {
  const sources = config.connectors.filter((c) => c.direction === 'source');
  if (sources.length === 0) return [];
  const sinks = config.connectors.map((c, i) => ({ c, i })).filter(({ c }) => c.direction === 'sink');
  if (sinks.length === 0) {
    return [
      {
        path: 'connectors',
        message:
          `this agency sends documents (${sources.map((s) => s.name).join(', ')}) but has no sink: the statuses partners send back ` +
          `(01 arrived, 02 rejected, 03 accepted, …) wait unread in vdxp.status.${config.organId}. Add a sink that takes them (docs/VENDOR-GUIDE.md, Statuses).`,
      },
    ];
  }
  return sinks
    .filter(({ c }) => c.type === 'http' && !c.options.statusUrl)
    .map(({ c, i }) => ({
      path: `connectors[${i}].options.statusUrl`,
      message:
        `sink ${c.name} has no statusUrl: statuses about this agency's documents are POSTed to its url ${String(c.options.url)} ` +
        '(with X-Vdxp-Kind: status). Set statusUrl to the endpoint that takes statuses, unless that url does (docs/VENDOR-GUIDE.md, Statuses).',
    }));
}
