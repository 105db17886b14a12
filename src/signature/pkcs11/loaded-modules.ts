/**
 * PKCS#11 modules loaded in this process, one per path. A module is initialised once per process
 * (C_Initialize a second time answers CKR_CRYPTOKI_ALREADY_INITIALIZED), so every token key of
 * the same module shares one handle. `generation` counts re-initialisations: a session opened in
 * an earlier generation is gone, and its holder opens a new one without initialising again (two
 * holders would otherwise take turns finalising each other's sessions).
 */
import * as pkcs11js from 'pkcs11js';
import { ckrOf } from './ckr';
import { TokenError } from './token-failure';

export interface LoadedModule {
  readonly path: string;
  readonly lib: pkcs11js.PKCS11;
  generation: number;
  users: number;
}

const loaded = new Map<string, LoadedModule>();

/** The module at `path`, loaded and initialised; every call must be matched by `releaseModule`. */
export function acquireModule(path: string): LoadedModule {
  const existing = loaded.get(path);
  if (existing) {
    existing.users++;
    return existing;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(path);
  } catch (err) {
    throw new TokenError('module-unavailable', `cannot load the PKCS#11 module ${path}: ${(err as Error).message}`);
  }
  try {
    initialize(lib);
  } catch (err) {
    try {
      lib.close();
    } catch {
      // already failing
    }
    throw new TokenError('module-unavailable', `the PKCS#11 module ${path} did not initialise: ${(err as Error).message}`, ckrOf(err)?.name);
  }
  const module: LoadedModule = { path, lib, generation: 1, users: 1 };
  loaded.set(path, module);
  return module;
}

/**
 * Finalises and initialises the module again, so that it looks for its tokens afresh (SoftHSM
 * sees a restored token directory only after this). Sessions of every holder are closed.
 */
export function reinitializeModule(module: LoadedModule): void {
  try {
    module.lib.C_Finalize();
  } catch {
    // not initialised any more: initialising is what we want anyway
  }
  module.generation++;
  try {
    initialize(module.lib);
  } catch (err) {
    throw new TokenError('module-unavailable', `the PKCS#11 module ${module.path} did not initialise again: ${(err as Error).message}`, ckrOf(err)?.name);
  }
}

/** The last holder finalises and unloads the module, so that loading it again reads the file afresh. */
export function releaseModule(module: LoadedModule): void {
  if (--module.users > 0) return;
  loaded.delete(module.path);
  try {
    module.lib.C_Finalize();
  } catch {
    // a module that lost its token may refuse; it is unloaded all the same
  }
  try {
    module.lib.close();
  } catch {
    // nothing more to release
  }
}

function initialize(lib: pkcs11js.PKCS11): void {
  try {
    lib.C_Initialize();
  } catch (err) {
    if (ckrOf(err)?.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
  }
}
