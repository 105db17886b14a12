/** The declarative vendor mapping: field paths, date formats, code tables, OrganId lookups, named hooks. */
export * from './fields';
export * from './errors';
export * from './paths';
export * from './spec';
export * from './engine';
export { registerMappingHook, mappingHook, mappingHookNames, type MappingHook } from './hooks';
export { parseWithPattern, formatWithPattern } from './date-format';
export * from './package';
export * from './profile-kit';
export * from './conformance';
export * from './reference-packages';
