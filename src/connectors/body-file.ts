/** Reading a VendorMessage's `bodyFile` (a body too large for memory) as a stream of chunks. */
import * as fs from 'node:fs';
import type { BodyFile } from './types';

/**
 * The file's bytes in chunks; throws unless it holds exactly the `length` the message says (a file
 * that changed under the message must not be delivered as if it were the package).
 */
export async function* bodyFileChunks(file: BodyFile): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of fs.createReadStream(file.path) as AsyncIterable<Buffer>) {
    read += chunk.length;
    if (read > file.length) throw new Error(`body file ${file.path} holds more than the ${file.length} bytes the message says`);
    yield chunk;
  }
  if (read !== file.length) throw new Error(`body file ${file.path} holds ${read} bytes, the message says ${file.length}`);
}
