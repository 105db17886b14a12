/**
 * Files that travel beside a document (multipart parts, a side folder) are taken by name by the
 * profile that reads the document. A file the document does not list would otherwise be dropped
 * without a word; the send pipeline asks which were not taken and refuses the message instead
 * (`unlisted-attachment`), so nothing the legacy system handed over is lost silently.
 */
import type { SideFile, VendorMessage } from '../connectors/types';

const TAKEN = new WeakMap<VendorMessage, Set<SideFile>>();

/** The side file named `name`, noted as taken by the document. */
export function takeSideFile(message: VendorMessage, name: string): SideFile | undefined {
  const file = message.sideFiles.find((s) => s.name === name && !TAKEN.get(message)?.has(s)) ?? message.sideFiles.find((s) => s.name === name);
  if (file) {
    let taken = TAKEN.get(message);
    if (!taken) TAKEN.set(message, (taken = new Set()));
    taken.add(file);
  }
  return file;
}

/** The side files of `message` that no call of takeSideFile asked for, in the order they came. */
export function sideFilesNotTaken(message: VendorMessage): SideFile[] {
  const taken = TAKEN.get(message);
  return message.sideFiles.filter((s) => !taken?.has(s));
}
