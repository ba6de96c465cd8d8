/**
 * A pipeline worker thread (threads.ts starts them): parses runs of whole NDJSON lines and
 * prepares each record (prepare.ts: transform, migrated index through shared memory, schema check,
 * serialisation, keys), and sends the outcomes back in compact form. Everything that depends on
 * the records before it stays with the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MigratedIndex } from './migrated-index.js';
import { createPieceProcessor } from './piece.js';
import type { PieceRequest, PieceResult, ThreadSetup } from './thread-protocol.js';

const setup = workerData as ThreadSetup;
const processPiece = createPieceProcessor(
  setup,
  setup.migrated === undefined ? undefined : MigratedIndex.fromShared(setup.migrated),
);

parentPort!.on('message', (request: PieceRequest) => {
  try {
    const input = Buffer.from(request.buf.buffer, request.buf.byteOffset, request.buf.byteLength);
    const result: PieceResult = { seq: request.seq, ...processPiece(input) };
    parentPort!.postMessage(result, [
      result.input.buffer as ArrayBuffer,
      result.json.buffer as ArrayBuffer,
      result.kind.buffer as ArrayBuffer,
      result.line.buffer as ArrayBuffer,
      result.from.buffer as ArrayBuffer,
      result.to.buffer as ArrayBuffer,
      result.jsonEnd.buffer as ArrayBuffer,
      result.keys.buffer as ArrayBuffer,
      result.hasId.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    // Anything thrown here is a fault of this code, not of the input: hand it to the main thread.
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({ seq: request.seq, error: { message: e.message, stack: e.stack } });
  }
});
